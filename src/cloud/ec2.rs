//! EC2: the cluster's running instances and the roles their instance profiles hold.

use std::collections::BTreeSet;

use super::error::cloud_error;
use super::{Cloud, CloudError, Read};
use crate::rolling::ClusterInstance;

/// The tag kops puts on every instance with its instance group's name.
const GROUP_TAG: &str = "kops.k8s.io/instancegroup";

impl Cloud {
    /// The roles a cluster's running instances of one kind use, found through their instance
    /// profiles (kops tags instances `k8s.io/role/node` or `k8s.io/role/master`). This is what
    /// the kube2iam and kiam guides do by hand when the spec does not name the role.
    pub async fn roles_of_running_instances(
        &self,
        cluster: &str,
        kind: &str,
    ) -> Result<Vec<String>, CloudError> {
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter("tag:KubernetesCluster", cluster))
            .filters(filter("tag-key", &format!("k8s.io/role/{kind}")))
            .filters(filter("instance-state-name", "running"))
            .into_paginator()
            .send();
        let mut profiles = BTreeSet::new();
        while let Some(page) = self.next_page("DescribeInstances", pages.next()).await {
            let page = page.map_err(|e| {
                cloud_error(
                    "DescribeInstances",
                    format!("{kind} instances of {cluster}"),
                    e,
                )
            })?;
            profiles.extend(
                page.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .filter_map(|i| i.iam_instance_profile().and_then(|p| p.arn()))
                    .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()),
            );
        }
        let mut roles = BTreeSet::new();
        for profile in profiles {
            if let Read::Found(p) = self.get_instance_profile(&profile).await? {
                roles.extend(p.roles);
            }
        }
        Ok(roles.into_iter().collect())
    }

    /// The cluster's running instances that kops launched for an instance group (tags
    /// `KubernetesCluster=<cluster>` and `kops.k8s.io/instancegroup`), with their profiles.
    pub async fn cluster_instances(
        &self,
        cluster: &str,
    ) -> Result<Vec<ClusterInstance>, CloudError> {
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter("tag:KubernetesCluster", cluster))
            .filters(filter("tag-key", GROUP_TAG))
            .filters(filter("instance-state-name", "running"))
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        loop {
            let page = self.next_page("DescribeInstances", pages.next()).await;
            let Some(page) = page else { break };
            let page = page.map_err(|e| {
                cloud_error(
                    "DescribeInstances",
                    format!("instances of cluster {cluster}"),
                    e,
                )
            })?;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                let group = instance
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(GROUP_TAG))
                    .and_then(|t| t.value());
                let (Some(id), Some(group)) = (instance.instance_id(), group) else {
                    continue;
                };
                instances.push(ClusterInstance {
                    id: id.to_string(),
                    group: group.to_string(),
                    profile_arn: instance
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                });
            }
        }
        Ok(instances)
    }
}
