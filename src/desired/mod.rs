//! Spec -> desired model. Pure: no I/O, so it is tested without any server.
//!
//! For each instance-group role (masters, nodes, bastions) kops makes a role with an EC2
//! trust policy, an inline policy of the same name, `additional.<role>` when the spec has
//! additional policies for it, an instance profile of the same name, and the link that
//! puts the role into the profile.

pub mod dns_zone;
pub(crate) mod gojson;
pub mod kops136;
pub mod kops_policy;
pub mod pod_roles;

use std::collections::BTreeMap;

use crate::model::{
    DesiredInstanceProfile, DesiredProfileRole, DesiredRole, DesiredRolePolicy, DesiredState,
    ExternalProfile, Lifecycle, Tags,
};
use crate::policy;
use crate::spec::kops136::Kops136Spec;
use crate::spec::{ClusterSpec, InputError, InputErrors, InstanceRole};

pub use kops_policy::{partition_for_region, BuildError};

/// IAM's fixed limits (reference_iam-quotas): checked before any call.
pub const MAX_ROLE_NAME: usize = 64;
pub const MAX_INSTANCE_PROFILE_NAME: usize = 128;
/// All inline policies of one role together, white space not counted.
pub const MAX_ROLE_INLINE_POLICY_SIZE: usize = 10_240;

/// kops's trust policy template (pkg/model/iam.go), kept to the byte so that roles kops
/// made compare equal without a rewrite.
fn ec2_trust_policy(service: &str) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Principal\": {{ \"Service\": \"{service}\"}},\n      \"Action\": \"sts:AssumeRole\"\n    }}\n  ]\n}}"
    )
}

/// Pretty JSON with two-space indent, keys in the order written.
pub(crate) fn pretty(value: &serde_json::Value) -> String {
    serde_json::to_string_pretty(value).expect("a JSON value always serialises")
}

/// `<prefix>.<cluster>`: the name of a role, its policy and its instance profile.
pub fn iam_name(role: InstanceRole, cluster: &str) -> String {
    format!("{}.{cluster}", role.iam_prefix())
}

/// The name of an instance-group role's IAM, as the spec's kops generation names it (kops
/// 1.36 truncates long names).
pub fn group_role_name(spec: &ClusterSpec, role: InstanceRole) -> String {
    match spec.generation.generation {
        crate::spec::Generation::Kops110 => iam_name(role, &spec.name),
        crate::spec::Generation::Kops136 => kops136::iam_name(role, &spec.name),
    }
}

/// The tags that mark what rolecall created for a cluster.
pub fn ownership_tags(cluster: &str) -> Tags {
    Tags::from([
        ("KubernetesCluster".to_string(), cluster.to_string()),
        (
            format!("kubernetes.io/cluster/{cluster}"),
            "owned".to_string(),
        ),
    ])
}

/// Builds everything the spec asks for, as the spec's kops generation builds it. Every
/// problem is collected, so the user sees all.
pub fn desired_state(spec: &ClusterSpec) -> Result<DesiredState, InputErrors> {
    let generation = Generation::of(spec);
    let trust = generation.ec2_trust_policy();
    let tags = ownership_tags(&spec.name);
    let mut state = DesiredState {
        cluster: spec.name.clone(),
        ..DesiredState::default()
    };
    let mut errors = Vec::new();

    for role in managed_roles(spec) {
        if let Generation::Kops136(k, ctx) = &generation {
            match kops136::group_role(spec, k, ctx, role, &trust) {
                Ok(objects) => {
                    let main = objects.policies[0].document.as_deref().unwrap_or("");
                    let additional = objects.policies[1].document.as_deref();
                    check_limits(
                        spec,
                        role,
                        &objects.role.name,
                        main,
                        additional,
                        &mut errors,
                    );
                    state.roles.push(objects.role);
                    state.role_policies.extend(objects.policies);
                    state.instance_profiles.push(objects.profile);
                    state.profile_roles.push(objects.link);
                }
                Err(e) => push_once(&mut errors, at_cluster(spec, &e.field, e.message)),
            }
            continue;
        }
        let name = iam_name(role, &spec.name);
        let main_policy = match kops_policy::role_policy(spec, role) {
            Ok(p) => p,
            Err(e) => {
                push_once(&mut errors, at_cluster(spec, &e.field, e.message));
                continue;
            }
        };
        let additional = kops_policy::additional_policy(spec, role);
        check_limits(
            spec,
            role,
            &name,
            &main_policy,
            additional.as_deref(),
            &mut errors,
        );

        state.roles.push(DesiredRole {
            name: name.clone(),
            path: "/".into(),
            trust_policy: trust.clone(),
            tags: tags.clone(),
            managed_policies: None,
            permissions_boundary: None,
            owned_only: false,
            lifecycle: Lifecycle::Sync,
            external: false,
        });
        state.role_policies.push(DesiredRolePolicy {
            role: name.clone(),
            name: name.clone(),
            document: Some(main_policy),
            lifecycle: Lifecycle::Sync,
            external: false,
        });
        // Always present: with no document it says "must not exist", so removing the
        // spec's entry deletes the policy rolecall wrote before.
        state.role_policies.push(DesiredRolePolicy {
            role: name.clone(),
            name: format!("additional.{name}"),
            document: additional,
            lifecycle: Lifecycle::Sync,
            external: false,
        });
        state.instance_profiles.push(DesiredInstanceProfile {
            name: name.clone(),
            path: "/".into(),
            tags: tags.clone(),
            lifecycle: Lifecycle::Sync,
            external: false,
        });
        state.profile_roles.push(DesiredProfileRole {
            profile: name.clone(),
            role: name,
            lifecycle: Lifecycle::Sync,
            external: false,
        });
    }

    state.external_profiles = external_profiles(spec, &generation, &trust, &mut errors);
    state.removed_groups = removed_groups(spec, &state);

    if errors.is_empty() {
        Ok(state)
    } else {
        Err(InputErrors(errors))
    }
}

/// The generation the spec is built with, and what its builder needs.
enum Generation<'s> {
    Kops110(&'s ClusterSpec),
    Kops136(&'s Kops136Spec, kops136::Context),
}

impl<'s> Generation<'s> {
    fn of(spec: &'s ClusterSpec) -> Generation<'s> {
        match (&spec.kops136, spec.generation.generation) {
            (Some(k), crate::spec::Generation::Kops136) => {
                let region = spec.region.clone().unwrap_or_default();
                let (partition, _) = kops136::partition(&region);
                let hosted_zone_id = spec.dns_zone.clone().filter(|_| k.publishes_dns_records());
                Generation::Kops136(
                    k,
                    kops136::Context {
                        partition: partition.to_string(),
                        region,
                        hosted_zone_id,
                    },
                )
            }
            _ => Generation::Kops110(spec),
        }
    }

    fn ec2_trust_policy(&self) -> String {
        match self {
            Generation::Kops110(spec) => {
                ec2_trust_policy(partition_for_region(spec.region.as_deref()).ec2_service)
            }
            // kops 1.36 writes 1.10's text, with the SDK's EC2 principal for the region.
            Generation::Kops136(_, ctx) => ec2_trust_policy(kops136::partition(&ctx.region).1),
        }
    }

    /// The inline policy and the additional policy of `role`.
    fn policies(
        &self,
        spec: &ClusterSpec,
        role: InstanceRole,
    ) -> Result<(String, Option<String>), BuildError> {
        match self {
            Generation::Kops110(_) => Ok((
                kops_policy::role_policy(spec, role)?,
                kops_policy::additional_policy(spec, role),
            )),
            Generation::Kops136(k, ctx) => Ok((
                kops136::role_policy(spec, k, ctx, role)?,
                spec.additional_policies
                    .get(&role)
                    .and_then(|p| kops136::additional::render(&p.statements)),
            )),
        }
    }
}

/// The instance profiles the spec names by ARN, one per profile. A profile holds one role,
/// so groups of different kops roles cannot share one.
fn external_profiles(
    spec: &ClusterSpec,
    generation: &Generation,
    trust: &str,
    errors: &mut Vec<InputError>,
) -> Vec<ExternalProfile> {
    let mut by_arn: BTreeMap<&str, Vec<&crate::spec::InstanceGroup>> = BTreeMap::new();
    for ig in &spec.instance_groups {
        if let Some(arn) = &ig.profile {
            by_arn.entry(arn.as_str()).or_default().push(ig);
        }
    }
    let mut out = Vec::new();
    for (arn, groups) in by_arn {
        let role = groups[0].role;
        if let Some(other) = groups.iter().find(|g| g.role != role) {
            errors.push(InputError::at(
                other.location.clone(),
                "spec.iam.profile",
                format!(
                    "instance groups {} ({}) and {} ({}) share the instance profile {arn}; a profile holds one role, so groups of different roles need different profiles",
                    groups[0].name, role, other.name, other.role
                ),
            ));
            continue;
        }
        let (policy, additional) = match generation.policies(spec, role) {
            Ok(p) => p,
            Err(e) => {
                push_once(errors, at_cluster(spec, &e.field, e.message));
                continue;
            }
        };
        out.push(ExternalProfile {
            arn: arn.to_string(),
            name: arn.rsplit('/').next().unwrap_or(arn).to_string(),
            groups: groups.iter().map(|g| g.name.clone()).collect(),
            role_kind: role.iam_prefix().to_string(),
            expected_trust_policy: trust.to_string(),
            expected_policy: policy,
            expected_additional_policy: additional,
        });
    }
    out
}

/// Roles with at least one instance group that does not bring its own instance profile.
/// The IAM names of the instance-group kinds the spec has no group of (kops 1.10 had no
/// API-server groups), less any name the desired state uses: a removed group's IAM to
/// delete when owned. A kind whose groups use an existing profile is not removed.
fn removed_groups(spec: &ClusterSpec, state: &DesiredState) -> Vec<String> {
    InstanceRole::ALL
        .into_iter()
        .filter(|r| {
            *r != InstanceRole::ApiServer
                || spec.generation.generation == crate::spec::Generation::Kops136
        })
        .filter(|r| !spec.instance_groups.iter().any(|ig| ig.role == *r))
        .map(|r| group_role_name(spec, r))
        .filter(|name| {
            !state.roles.iter().any(|d| d.name == *name)
                && !state.instance_profiles.iter().any(|p| p.name == *name)
        })
        .collect()
}

fn managed_roles(spec: &ClusterSpec) -> Vec<InstanceRole> {
    InstanceRole::ALL
        .into_iter()
        .filter(|r| {
            spec.instance_groups
                .iter()
                .any(|ig| ig.role == *r && ig.profile.is_none())
        })
        .collect()
}

fn check_limits(
    spec: &ClusterSpec,
    role: InstanceRole,
    name: &str,
    main_policy: &str,
    additional: Option<&str>,
    errors: &mut Vec<InputError>,
) {
    if name.chars().count() > MAX_ROLE_NAME {
        errors.push(at_cluster(
            spec,
            "metadata.name",
            format!(
                "the role name {name:?} is {} characters long; IAM allows at most {MAX_ROLE_NAME}",
                name.chars().count()
            ),
        ));
    }
    if name.chars().count() > MAX_INSTANCE_PROFILE_NAME {
        errors.push(at_cluster(
            spec,
            "metadata.name",
            format!(
                "the instance profile name {name:?} is {} characters long; IAM allows at most {MAX_INSTANCE_PROFILE_NAME}",
                name.chars().count()
            ),
        ));
    }
    let total = policy::compact_len(main_policy) + additional.map(policy::compact_len).unwrap_or(0);
    if total > MAX_ROLE_INLINE_POLICY_SIZE {
        let field = if additional.is_some() {
            format!("spec.additionalPolicies.{}", role.policy_key())
        } else {
            "spec".to_string()
        };
        let location = spec
            .additional_policies
            .get(&role)
            .map(|p| p.location.clone())
            .unwrap_or_else(|| spec.location.clone());
        errors.push(InputError::at(
            location,
            field,
            format!(
                "the inline policies of role {name} add up to {total} characters without white space; IAM allows at most {MAX_ROLE_INLINE_POLICY_SIZE}"
            ),
        ));
    }
}

/// The policies of several roles can fail for one cause (the hosted zone of a legacy
/// cluster, used by masters and nodes alike): the user reads it once.
fn push_once(errors: &mut Vec<InputError>, error: InputError) {
    if !errors.contains(&error) {
        errors.push(error);
    }
}

fn at_cluster(spec: &ClusterSpec, field: &str, message: String) -> InputError {
    InputError::at(spec.location.clone(), field, message)
}

#[cfg(test)]
mod tests;
