//! EC2: the cluster's running instances and the roles their instance profiles hold.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::{Filter, Instance};

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
        let target = || format!("{kind} instances of {cluster}");
        let tag = format!("k8s.io/role/{kind}");
        let profiles: BTreeSet<String> = self
            .running_instances(cluster, &tag, target)
            .await?
            .iter()
            .filter_map(|i| i.iam_instance_profile().and_then(|p| p.arn()))
            .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string())
            .collect();
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
        let target = || format!("instances of cluster {cluster}");
        let instances = self.running_instances(cluster, GROUP_TAG, target).await?;
        Ok(instances
            .iter()
            .filter_map(|instance| {
                let group = instance
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(GROUP_TAG))
                    .and_then(|t| t.value());
                Some(ClusterInstance {
                    id: instance.instance_id()?.to_string(),
                    group: group?.to_string(),
                    profile_arn: instance
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                })
            })
            .collect())
    }

    /// The running instances of `cluster` (tag `KubernetesCluster`) that carry the tag
    /// `tag_key`, every page of them.
    async fn running_instances(
        &self,
        cluster: &str,
        tag_key: &str,
        target: impl Fn() -> String + Copy,
    ) -> Result<Vec<Instance>, CloudError> {
        let filter = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter("tag:KubernetesCluster", cluster))
            .filters(filter("tag-key", tag_key))
            .filters(filter("instance-state-name", "running"))
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        while let Some(page) = self
            .next_page("DescribeInstances", target, pages.next())
            .await?
        {
            instances.extend(
                page.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .cloned(),
            );
        }
        Ok(instances)
    }
}
