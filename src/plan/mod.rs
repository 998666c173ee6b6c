//! Desired + actual -> a plan: the changes to make, each with the one IAM call that makes
//! it. Pure, so every rule is tested without a server; rendering and applying live
//! elsewhere. The value is in `value`, the comparison that fills it in `compare`,
//! `ownership` and `strays`, and its order in `stages`.

use crate::model::{ActualState, DesiredState};

mod compare;
mod ownership;
mod stages;
mod strays;
mod value;

use compare::{
    plan_attachments, plan_instance_profiles, plan_oidc_providers, plan_profile_roles,
    plan_role_policies, plan_roles,
};
use ownership::apply_ownership;
use stages::{assign_stages, check_dependencies};
use strays::{check_object_overrides, plan_stray_pod_roles};

pub use crate::operation::Operation;
pub use compare::trusted_principals;
pub use value::{Change, ChangeKind, Drift, FieldChange, Plan, Problem};

/// Compares the desired state with the account and lists what must change.
pub fn plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    let mut plan = Plan::default();
    let desired = &apply_ownership(desired, actual, &mut plan);
    plan_oidc_providers(desired, actual, &mut plan);
    plan_roles(desired, actual, &mut plan);
    plan_attachments(desired, actual, &mut plan);
    plan_stray_pod_roles(desired, actual, &mut plan);
    check_object_overrides(desired, actual, &mut plan);
    plan_role_policies(desired, actual, &mut plan);
    plan_instance_profiles(desired, actual, &mut plan);
    plan_profile_roles(desired, actual, &mut plan);
    check_dependencies(desired, actual, &mut plan);
    assign_stages(&mut plan.changes);
    plan.sort();
    plan
}

#[cfg(test)]
mod tests;
