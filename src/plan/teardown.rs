//! The plan of `delete`: every IAM object of the cluster that its tags prove it owns
//! (instance-group roles with their policies and profiles, pod roles with their grants'
//! roles, a removed group's IAM, stray pod roles, the OIDC provider), in the order IAM
//! needs, each under its lifecycle; what is not provably this cluster's is listed, never
//! touched. Externally named objects (profiles the spec names, the kiam server role an ARN
//! names) are not the cluster's and are not deleted.

use std::collections::BTreeSet;

use super::compare::{route, Outcome};
use super::deletion::{lifecycle_of, plan_provider_deletion, plan_role_and_profile_deletions};
use super::stages::assign_stages;
use super::strays::check_object_overrides;
use super::value::Plan;
use crate::model::{ActualInstanceProfile, ActualRole, ActualState, DesiredState, Lifecycle};

/// Why an object is deleted, or listed.
const TEARDOWN: &str = "is named as this cluster's IAM";

/// The teardown of everything the desired state names and the account holds, plus the
/// removed groups' IAM and stray pod roles.
pub(super) fn plan_teardown(desired: &DesiredState, actual: &ActualState) -> Plan {
    let mut plan = Plan::default();
    let mut seen = BTreeSet::new();
    let spec_roles = desired.roles.iter().filter(|r| !r.external);
    let mut roles: Vec<&ActualRole> = spec_roles
        .filter_map(|r| actual.roles.get(&r.name))
        .chain(&actual.removed_group_roles)
        .chain(&actual.stray_pod_roles)
        .filter(|r| seen.insert(r.name.as_str()))
        .collect();
    roles.sort_by(|a, b| a.name.cmp(&b.name));
    let mut seen = BTreeSet::new();
    let spec_profiles = desired.instance_profiles.iter().filter(|p| !p.external);
    let profiles: Vec<&ActualInstanceProfile> = spec_profiles
        .map(|p| &p.name)
        .chain(&desired.removed_groups)
        .filter_map(|name| actual.instance_profiles.get(name))
        .filter(|p| seen.insert(p.name.as_str()))
        .collect();
    plan_role_and_profile_deletions(desired, actual, &roles, &profiles, TEARDOWN, &mut plan);
    for provider in desired.oidc_providers.iter().filter(|p| !p.external) {
        if let Some(found) = actual.oidc_providers.get(&provider.arn) {
            plan_provider_deletion(desired, provider.id(), found, TEARDOWN, &mut plan);
        }
    }
    // What was not read: ignored (listed as such), or refused (an error, or a warning
    // under WarnIfInsufficientAccess, as in update).
    for id in desired.ids() {
        if lifecycle_of(desired, &id, None) == Lifecycle::Ignore && !plan.ignored.contains(&id) {
            plan.ignored.push(id);
        }
    }
    for id in actual.denied.keys() {
        let lifecycle = lifecycle_of(desired, id, None);
        route(&mut plan, actual, id.clone(), lifecycle, || Outcome::InSync);
    }
    check_object_overrides(desired, actual, &mut plan);
    assign_stages(&mut plan.changes);
    plan.sort();
    plan.ignored.dedup();
    plan
}
