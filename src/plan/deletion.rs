//! Deleting what the account holds and the spec no longer wants (a stray pod role, a removed
//! instance group's IAM, or everything in a teardown): only what this cluster's tags prove
//! it owns, part by part under each part's lifecycle, in the order IAM needs (the stages
//! come from `operation::Operation::deletes_object`).

use std::collections::BTreeSet;

use super::compare::{route, Outcome};
use super::value::{FieldChange, Plan, Problem};
use crate::model::{
    ActualInstanceProfile, ActualOidcProvider, ActualRole, ActualState, DesiredState, Lifecycle,
    Owner, ResourceId, ResourceType,
};
use crate::operation::Operation;

/// One object's deletion: its id, lifecycle, the fields shown, and the call.
pub(super) type Part = (ResourceId, Lifecycle, Vec<FieldChange>, Operation);

/// The lifecycle of an object the plan may delete: the spec's object's (overrides applied),
/// else its object override, else its type's, else Sync. An inline policy the spec does not
/// name falls back to its role's object override before its type's.
pub(super) fn lifecycle_of(
    desired: &DesiredState,
    id: &ResourceId,
    role: Option<&str>,
) -> Lifecycle {
    if let Some(lifecycle) = desired.lifecycle_of(id) {
        return lifecycle;
    }
    let overrides = &desired.overrides;
    let role_override = role.and_then(|r| {
        let role_id = ResourceId::new(ResourceType::IamRole, r);
        overrides
            .by_object
            .get(&role_id)
            .copied()
            .or_else(|| desired.lifecycle_of(&role_id))
    });
    overrides
        .by_object
        .get(id)
        .copied()
        .or(role_override.filter(|_| id.kind == ResourceType::IamRolePolicy))
        .or_else(|| overrides.by_type.get(&id.kind).copied())
        .unwrap_or_default()
}

/// The parts of deleting an owned role: each inline policy, each attachment (under the
/// role's lifecycle) and the role itself. The role is deleted only with everything on it.
pub(super) fn role_parts(desired: &DesiredState, role: &ActualRole, reason: &str) -> Vec<Part> {
    let role_id = ResourceId::new(ResourceType::IamRole, &role.name);
    let role_lifecycle = lifecycle_of(desired, &role_id, None);
    let mut parts: Vec<Part> = Vec::new();
    for policy in role.inline_policies.iter().flatten() {
        let id = ResourceId::new(ResourceType::IamRolePolicy, policy);
        parts.push((
            id.clone(),
            lifecycle_of(desired, &id, Some(&role.name)),
            vec![FieldChange::value("Role", &role.name)],
            Operation::DeleteRolePolicy {
                role: role.name.clone(),
                name: policy.clone(),
            },
        ));
    }
    // Only detached: a managed policy (kops's, AWS's, the user's) is never deleted.
    for arn in role.managed_policies.iter().flatten() {
        parts.push((
            ResourceId::new(
                ResourceType::IamRolePolicyAttachment,
                format!("{}/{arn}", role.name),
            ),
            role_lifecycle,
            vec![FieldChange::value("PolicyARN", arn)],
            Operation::DetachRolePolicy {
                role: role.name.clone(),
                policy_arn: arn.clone(),
            },
        ));
    }
    parts.push((
        role_id,
        role_lifecycle,
        vec![FieldChange::value("Reason", reason)],
        Operation::DeleteRole {
            name: role.name.clone(),
        },
    ));
    parts
}

/// The parts of deleting an owned instance profile: each role taken out of it (under the
/// link's lifecycle, which kops names after the profile), then the profile.
pub(super) fn profile_parts(
    desired: &DesiredState,
    profile: &ActualInstanceProfile,
    reason: &str,
) -> Vec<Part> {
    let link = ResourceId::new(ResourceType::IamInstanceProfileRole, &profile.name);
    let mut parts: Vec<Part> = Vec::new();
    for role in &profile.roles {
        parts.push((
            link.clone(),
            lifecycle_of(desired, &link, None),
            vec![FieldChange::value("Role", role)],
            Operation::RemoveRoleFromInstanceProfile {
                profile: profile.name.clone(),
                role: role.clone(),
            },
        ));
    }
    let id = ResourceId::new(ResourceType::IamInstanceProfile, &profile.name);
    parts.push((
        id.clone(),
        lifecycle_of(desired, &id, None),
        vec![FieldChange::value("Reason", reason)],
        Operation::DeleteInstanceProfile {
            name: profile.name.clone(),
        },
    ));
    parts
}

/// Whether every part may be deleted: one that may not keeps them all.
pub(super) fn all_deletable(parts: &[Part]) -> bool {
    parts.iter().all(|p| p.1.writes())
}

/// Routes the parts of one object's deletion: deleted when every part's lifecycle writes;
/// otherwise none is, and each is reported under its own lifecycle, or under the one that
/// keeps them (an ignored part keeps the rest too, which are then shown, not hidden).
pub(super) fn route_parts(plan: &mut Plan, parts: Vec<Part>) {
    let keep = parts
        .iter()
        .map(|p| p.1)
        .filter(|l| !l.writes())
        .min_by_key(|l| *l == Lifecycle::Ignore)
        .map(|l| match l {
            Lifecycle::Ignore => Lifecycle::ExistsAndWarnIfChanges,
            other => other,
        });
    for (id, mut lifecycle, fields, operation) in parts {
        if let Some(keep) = keep.filter(|_| lifecycle.writes()) {
            lifecycle = keep;
        }
        route(plan, &ActualState::default(), id, lifecycle, || {
            Outcome::Unwanted(fields, operation)
        });
    }
}

/// Why an object this cluster's tags do not prove it owns is left alone, for the plan's
/// "not owned" list.
pub(super) fn not_owned(id: ResourceId, owner: &Owner, cluster: &str, what: &str) -> Problem {
    let message = match owner {
        Owner::Other(owners) => format!(
            "{what}, but it belongs to cluster {} (it carries that cluster's ownership tags); rolecall leaves it alone",
            owners.join(", ")
        ),
        _ => format!(
            "{what}, but it is not tagged kubernetes.io/cluster/{cluster}=owned (kops does not tag the IAM it makes), so rolecall cannot prove it is this cluster's and leaves it and what is on it alone"
        ),
    };
    Problem { id, message }
}

/// Plans the deletion of roles and instance profiles, each only when this cluster's tags
/// prove it owns it, profiles emptied first. A role still in a profile that is not deleted
/// is kept (IAM refuses to delete it), and so is one whose policies could not be listed.
pub(super) fn plan_role_and_profile_deletions(
    desired: &DesiredState,
    actual: &ActualState,
    roles: &[&ActualRole],
    profiles: &[&ActualInstanceProfile],
    what: &str,
    plan: &mut Plan,
) {
    let cluster = &desired.cluster;
    let reason = format!("{what}; tagged as owned by this cluster");
    let mut emptied = BTreeSet::new();
    for profile in profiles {
        let id = ResourceId::new(ResourceType::IamInstanceProfile, &profile.name);
        let owner = Owner::of(&profile.tags, cluster);
        if owner != Owner::This {
            plan.not_owned.push(not_owned(id, &owner, cluster, what));
            continue;
        }
        let parts = profile_parts(desired, profile, &reason);
        if all_deletable(&parts) {
            emptied.insert(profile.name.as_str());
        }
        route_parts(plan, parts);
    }
    for role in roles {
        let id = ResourceId::new(ResourceType::IamRole, &role.name);
        let owner = Owner::of(&role.tags, cluster);
        if owner != Owner::This {
            plan.not_owned.push(not_owned(id, &owner, cluster, what));
            continue;
        }
        let holding = actual
            .instance_profiles
            .values()
            .find(|p| p.roles.contains(&role.name) && !emptied.contains(p.name.as_str()));
        if let Some(profile) = holding {
            plan.warnings.push(Problem {
                id,
                message: format!(
                    "{what}, but it is in instance profile {}, which rolecall does not delete; IAM deletes no role that is in a profile, so rolecall leaves it",
                    profile.name
                ),
            });
            continue;
        }
        if role.inline_policies.is_none() || role.managed_policies.is_none() {
            plan.warnings.push(Problem {
                id,
                message: format!(
                    "{what}, but its policies could not be listed; rolecall leaves it"
                ),
            });
            continue;
        }
        route_parts(plan, role_parts(desired, role, &reason));
    }
}

/// Plans the deletion of an OIDC provider when this cluster's tags prove it owns it; the
/// stages put it after the roles deleted with it.
pub(super) fn plan_provider_deletion(
    desired: &DesiredState,
    id: ResourceId,
    provider: &ActualOidcProvider,
    what: &str,
    plan: &mut Plan,
) {
    let owner = Owner::of(&provider.tags, &desired.cluster);
    if owner != Owner::This {
        plan.not_owned
            .push(not_owned(id, &owner, &desired.cluster, what));
        return;
    }
    let lifecycle = lifecycle_of(desired, &id, None);
    let fields = vec![FieldChange::value("ARN", &provider.arn)];
    let operation = Operation::DeleteOpenIdConnectProvider {
        arn: provider.arn.clone(),
    };
    route_parts(plan, vec![(id, lifecycle, fields, operation)]);
}
