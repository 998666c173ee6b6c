//! Desired + actual -> a plan: the changes to make, each with the one IAM call that makes
//! it. Pure, so every rule is tested without a server; rendering and applying live
//! elsewhere. The value is in `value`, the comparison that fills it in `compare`,
//! `ownership`, `strays` and `removed_groups`, deletions part by part in `deletion`, the
//! plan of `delete` in `teardown`, and its order in `stages`.

use crate::model::{ActualState, DesiredState};

mod compare;
mod deletion;
mod extras;
mod ownership;
mod removed_groups;
mod stages;
mod strays;
mod teardown;
mod value;

use compare::{
    plan_attachments, plan_instance_profiles, plan_oidc_providers, plan_profile_roles,
    plan_role_policies, plan_roles,
};
use extras::plan_extras;
use ownership::apply_ownership;
use removed_groups::plan_removed_groups;
use stages::{assign_stages, check_dependencies};
use strays::{check_object_overrides, plan_stray_pod_roles};

pub use crate::operation::Operation;
pub use compare::trusted_principals;
pub use value::{Change, ChangeKind, Drift, FieldChange, Plan, Problem};

/// Choices the user makes about the plan, beyond the spec and the lifecycles.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PlanOptions {
    /// `--remove-extra-inline-policies`: inline policies the spec does not name on an
    /// instance-group role are deleted rather than only reported (owned pod roles' always
    /// are), as Terraform's `aws_iam_role_policies_exclusive`.
    pub remove_extra_inline_policies: bool,
    /// `delete`: plan the deletion of everything this cluster owns instead of the spec's
    /// objects (see `teardown`).
    pub teardown: bool,
}

/// Compares the desired state with the account and lists what must change, with the
/// default options.
pub fn plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    plan_with(desired, actual, PlanOptions::default())
}

/// Compares the desired state with the account and lists what must change.
pub fn plan_with(desired: &DesiredState, actual: &ActualState, options: PlanOptions) -> Plan {
    if options.teardown {
        return teardown::plan_teardown(desired, actual);
    }
    let mut plan = Plan::default();
    let desired = &apply_ownership(desired, actual, &mut plan);
    plan_oidc_providers(desired, actual, &mut plan);
    plan_roles(desired, actual, &mut plan);
    // After the roles, whose drift it extends.
    plan_extras(desired, actual, options, &mut plan);
    plan_attachments(desired, actual, &mut plan);
    plan_stray_pod_roles(desired, actual, &mut plan);
    plan_removed_groups(desired, actual, &mut plan);
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
