//! Objects the account holds that the spec does not name: stray pod roles (deleted part
//! by part when this cluster owns them) and object overrides that name nothing.

use super::deletion::{role_parts, route_parts};
use super::value::{Plan, Problem};
use crate::model::{ActualState, DesiredState, Owner, ResourceId, ResourceType};

/// A pod role the spec no longer names: deleted, policies first, if this cluster's tags
/// prove it owns it and the lifecycles allow; otherwise reported and left alone.
pub(super) fn plan_stray_pod_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &actual.stray_pod_roles {
        let id = ResourceId::new(ResourceType::IamRole, &role.name);
        let message = match Owner::of(&role.tags, &desired.cluster) {
            Owner::This => {
                let reason = "no longer in the spec; tagged as owned by this cluster";
                route_parts(plan, role_parts(desired, role, reason));
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

/// An object override that names nothing the spec builds and no stray of the account is a
/// typo: say so before anything is written.
pub(super) fn check_object_overrides(
    desired: &DesiredState,
    actual: &ActualState,
    plan: &mut Plan,
) {
    for id in desired.overrides.by_object.keys() {
        let removed_group = desired.names_removed_group(id)
            && (actual
                .removed_group_roles
                .iter()
                .any(|r| id.name.contains(&r.name))
                || actual.instance_profiles.contains_key(&id.name));
        let stray = actual.stray_pod_roles.iter().any(|r| match id.kind {
            ResourceType::IamRole => r.name == id.name,
            ResourceType::IamRolePolicy => {
                r.inline_policies.iter().flatten().any(|p| *p == id.name)
            }
            _ => false,
        });
        if !stray && !removed_group && !desired.contains(id) {
            plan.errors.push(Problem {
                id: id.clone(),
                message: format!("{} names it, but it is neither an object of this cluster nor a pod role of this cluster's in the account", desired.overrides.source()),
            });
        }
    }
}
