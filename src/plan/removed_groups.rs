//! The IAM of an instance-group kind the spec no longer has (no more bastions): deleted
//! under its lifecycles when this cluster's tags prove it owns it, as kops 1.36's
//! FindDeletions deletes owned roles; reported and left alone when untagged (kops made it,
//! and kops 1.10 deleted nothing) or another cluster's.

use super::deletion::plan_role_and_profile_deletions;
use super::value::Plan;
use crate::model::{ActualInstanceProfile, ActualRole, ActualState, DesiredState};

/// Why a removed group's objects are deleted, or listed.
const REMOVED: &str = "its instance group's kind is no longer in the spec";

pub(super) fn plan_removed_groups(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    let roles: Vec<&ActualRole> = actual.removed_group_roles.iter().collect();
    let profiles: Vec<&ActualInstanceProfile> = desired
        .removed_groups
        .iter()
        .filter_map(|name| actual.instance_profiles.get(name))
        .collect();
    plan_role_and_profile_deletions(desired, actual, &roles, &profiles, REMOVED, plan);
}
