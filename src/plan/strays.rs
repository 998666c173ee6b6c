//! Objects the account holds that the spec does not name: stray pod roles (deleted part
//! by part when this cluster owns them) and object overrides that name nothing.

use super::compare::{route, Outcome};
use super::value::{FieldChange, Plan, Problem};
use crate::model::{
    ActualRole, ActualState, DesiredState, Lifecycle, Owner, ResourceId, ResourceType,
};
use crate::operation::Operation;

/// A pod role the spec no longer names: deleted, policies first, if this cluster's tags
/// prove it owns it and the lifecycles allow; otherwise reported and left alone.
pub(super) fn plan_stray_pod_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &actual.stray_pod_roles {
        let id = ResourceId::new(ResourceType::IamRole, &role.name);
        let message = match Owner::of(&role.tags, &desired.cluster) {
            Owner::This => {
                plan_stray_deletion(desired, role, plan);
                continue;
            }
            Owner::Other(owners) => format!(
                "is named like a pod role of this cluster and is not in the spec, but belongs to cluster {} (it carries that cluster's ownership tags); rolecall leaves it alone",
                owners.join(", ")
            ),
            Owner::Unmarked => format!(
                "is named like a pod role of this cluster but is not in the spec and not tagged kubernetes.io/cluster/{}=owned; rolecall leaves it alone",
                desired.cluster
            ),
        };
        plan.warnings.push(Problem { id, message });
    }
}

/// The deletion of an owned stray, one change per policy, attachment and the role itself.
/// Each part has its lifecycle: its object override, else (for a policy) its role's object
/// override, else its type's, else Sync; an attachment follows its role. A role is deleted
/// only with everything on it, so one part that may not be deleted keeps every part, each
/// reported as drift under that lifecycle.
fn plan_stray_deletion(desired: &DesiredState, role: &ActualRole, plan: &mut Plan) {
    let overrides = &desired.overrides;
    let role_id = ResourceId::new(ResourceType::IamRole, &role.name);
    let role_lifecycle = overrides.lifecycle_of_undeclared(&role_id);
    let mut parts: Vec<(ResourceId, Lifecycle, Vec<FieldChange>, Operation)> = Vec::new();
    for policy in role.inline_policies.iter().flatten() {
        let id = ResourceId::new(ResourceType::IamRolePolicy, policy);
        let lifecycle = overrides
            .by_object
            .get(&id)
            .or_else(|| overrides.by_object.get(&role_id))
            .or_else(|| overrides.by_type.get(&ResourceType::IamRolePolicy))
            .copied()
            .unwrap_or_default();
        parts.push((
            id,
            lifecycle,
            vec![FieldChange::value("Role", &role.name)],
            Operation::DeleteRolePolicy {
                role: role.name.clone(),
                name: policy.clone(),
            },
        ));
    }
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
        vec![FieldChange::value(
            "Reason",
            "no longer in the spec; tagged as owned by this cluster",
        )],
        Operation::DeleteRole {
            name: role.name.clone(),
        },
    ));
    // An ignored part blocks the rest too, which are then shown, not hidden.
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

/// An object override that names nothing the spec builds and no stray of the account is a
/// typo: say so before anything is written.
pub(super) fn check_object_overrides(
    desired: &DesiredState,
    actual: &ActualState,
    plan: &mut Plan,
) {
    for id in desired.overrides.by_object.keys() {
        let stray = actual.stray_pod_roles.iter().any(|r| match id.kind {
            ResourceType::IamRole => r.name == id.name,
            ResourceType::IamRolePolicy => {
                r.inline_policies.iter().flatten().any(|p| *p == id.name)
            }
            _ => false,
        });
        if !stray && !desired.contains(id) {
            plan.errors.push(Problem {
                id: id.clone(),
                message: format!("{} names it, but it is neither an object of this cluster nor a pod role of this cluster's in the account", desired.overrides.source()),
            });
        }
    }
}
