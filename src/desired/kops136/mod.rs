//! kops 1.36's IAM for a cluster, byte for byte: the instance-group roles (control plane,
//! API servers, nodes, bastions) with their trust policy, inline policy, `additional.`
//! policy, managed attachments (`spec.externalPolicies`), instance profile and tags.
//!
//! The facts come from kops's source at tag v1.36.2 (pkg/model/awsmodel/iam.go,
//! pkg/model/iam/, pkg/model/context.go, pkg/model/names.go); the code is rolecall's. The
//! submodules: [`policy`] (kops's policy type and its JSON), [`builder`] (the statements of
//! each role), [`s3`] (state and backup stores), [`additional`] (the user's statements).

pub(crate) mod additional;
pub(crate) mod builder;
pub(crate) mod policy;
pub(crate) mod s3;
pub mod service_accounts;

use std::collections::BTreeSet;

use crate::desired::pod_roles::truncate_role_name;
use crate::desired::BuildError;
use crate::model::{
    DesiredInstanceProfile, DesiredProfileRole, DesiredRole, DesiredRolePolicy, Lifecycle, Tags,
};
use crate::spec::kops136::Kops136Spec;
use crate::spec::{ClusterSpec, InstanceRole};

pub use builder::Context;

/// The AWS partition of a region as kops 1.36 resolves it (the SDK's partitions), and the
/// EC2 service principal its roles trust.
pub fn partition(region: &str) -> (&'static str, &'static str) {
    let prefixes: [(&str, &str, &str); 6] = [
        ("cn-", "aws-cn", "ec2.amazonaws.com.cn"),
        ("us-gov-", "aws-us-gov", "ec2.amazonaws.com"),
        ("us-isob-", "aws-iso-b", "ec2.amazonaws.com"),
        ("us-iso-", "aws-iso", "ec2.amazonaws.com"),
        ("eu-isoe-", "aws-iso-e", "ec2.amazonaws.com"),
        ("us-isof-", "aws-iso-f", "ec2.amazonaws.com"),
    ];
    prefixes
        .iter()
        .find(|(p, _, _)| region.starts_with(p))
        .map_or(("aws", "ec2.amazonaws.com"), |(_, part, svc)| (part, svc))
}

/// kops's `IAMName`: `<prefix>.<cluster>`, truncated to 64 characters with a hash.
pub fn iam_name(role: InstanceRole, cluster: &str) -> String {
    truncate_role_name(&format!("{}.{cluster}", role.iam_prefix()))
}

/// kops's `CloudTags(name, false)`: Name, the two cluster tags, then `spec.cloudLabels`
/// (which may overwrite them).
pub fn cloud_tags(k: &Kops136Spec, name: &str, cluster: &str) -> Tags {
    let mut tags = Tags::new();
    if !name.is_empty() {
        tags.insert("Name".into(), name.into());
    }
    tags.insert("KubernetesCluster".into(), cluster.into());
    tags.insert(format!("kubernetes.io/cluster/{cluster}"), "owned".into());
    for (key, value) in &k.cloud_labels {
        tags.insert(key.clone(), value.clone());
    }
    tags
}

/// Everything kops 1.36 makes for one instance-group role that rolecall manages.
pub struct GroupRoleObjects {
    pub role: DesiredRole,
    pub policies: Vec<DesiredRolePolicy>,
    pub profile: DesiredInstanceProfile,
    pub link: DesiredProfileRole,
}

/// Whether a group of `role` has a warm pool with a lifecycle hook (kops iterates the
/// groups of the role; control-plane and bastion groups take no cluster default).
pub fn lifecycle_hook(spec: &ClusterSpec, k: &Kops136Spec, role: InstanceRole) -> bool {
    let takes_default = matches!(role, InstanceRole::Node | InstanceRole::ApiServer);
    spec.instance_groups
        .iter()
        .filter(|ig| ig.role == role)
        .any(|ig| k.lifecycle_hook(&ig.name, takes_default))
}

/// The inline policy of `role`.
pub fn role_policy(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    ctx: &Context,
    role: InstanceRole,
) -> Result<String, BuildError> {
    builder::role_policy(spec, k, ctx, role, lifecycle_hook(spec, k, role))
}

/// The role, its policies, profile and link, for a role whose groups bring no profile.
pub fn group_role(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    ctx: &Context,
    role: InstanceRole,
    ec2_trust: &str,
) -> Result<GroupRoleObjects, BuildError> {
    let name = iam_name(role, &spec.name);
    let tags = cloud_tags(k, &name, &spec.name);
    let policy = role_policy(spec, k, ctx, role)?;
    let key = role.kops136_key();
    let additional = spec
        .additional_policies
        .get(&role)
        .and_then(|p| additional::render(&p.statements));
    // kops attaches exactly these and detaches any other managed policy.
    let managed: BTreeSet<String> = k
        .external_policies
        .get(key)
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let policy_of = |policy: String, document: Option<String>| DesiredRolePolicy {
        role: name.clone(),
        name: policy,
        document,
        lifecycle: Lifecycle::Sync,
        external: false,
    };
    Ok(GroupRoleObjects {
        role: DesiredRole {
            name: name.clone(),
            path: "/".into(),
            trust_policy: ec2_trust.to_string(),
            tags: tags.clone(),
            managed_policies: Some(managed),
            // kops 1.36 sets it, and removes one the spec no longer names.
            permissions_boundary: Some(k.permissions_boundary.clone()),
            owned_only: false,
            lifecycle: Lifecycle::Sync,
            external: false,
        },
        policies: vec![
            policy_of(name.clone(), Some(policy)),
            // Always there: without a document it deletes what an earlier spec wrote.
            policy_of(format!("additional.{name}"), additional),
        ],
        profile: DesiredInstanceProfile {
            name: name.clone(),
            path: "/".into(),
            tags,
            lifecycle: Lifecycle::Sync,
            external: false,
        },
        link: DesiredProfileRole {
            profile: name.clone(),
            role: name,
            lifecycle: Lifecycle::Sync,
            external: false,
        },
    })
}

#[cfg(test)]
mod tests;
