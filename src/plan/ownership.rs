//! Ownership by tags: another cluster's objects are never written, and someone else's pod
//! roles and OIDC providers are only checked, before anything is compared.

use std::collections::BTreeSet;

use super::value::{Plan, Problem};
use crate::model::{ActualState, DesiredState, Lifecycle, Owner, ResourceId};

/// Tags decide who owns what the account holds; names never do. An object that carries
/// another cluster's ownership tags is never written: under a lifecycle that would write it
/// that is an error (the two clusters' names collide), found before any write, and either
/// way it and what hangs on it are only checked. A pod role or an OIDC provider found
/// without this cluster's owned tag was made by someone else and is only checked. An
/// untagged instance-group role or profile is managed: kops (which does not tag IAM) made it.
pub(super) fn apply_ownership(
    desired: &DesiredState,
    actual: &ActualState,
    plan: &mut Plan,
) -> DesiredState {
    let mut desired = desired.clone();
    let cluster = desired.cluster.clone();
    let mut checked_roles = BTreeSet::new();
    let mut checked_profiles = BTreeSet::new();
    for role in desired.roles.iter().filter(|r| !r.external) {
        let Some(found) = actual.roles.get(&role.name) else {
            continue;
        };
        match Owner::of(&found.tags, &cluster) {
            Owner::This => {}
            Owner::Other(owners) => {
                foreign(plan, role.id(), &owners, role.lifecycle);
                checked_roles.insert(role.name.clone());
            }
            Owner::Unmarked
                if role.owned_only
                    && (role.lifecycle.writes() || desired.writes_on_role(&role.name)) =>
            {
                plan.warnings.push(Problem {
                    id: role.id(),
                    message: format!(
                        "exists but is not tagged kubernetes.io/cluster/{cluster}=owned, so someone else made it: rolecall only checks it and its policies, and never changes or deletes them"
                    ),
                });
                checked_roles.insert(role.name.clone());
            }
            Owner::Unmarked => {}
        }
    }
    for profile in desired.instance_profiles.iter().filter(|p| !p.external) {
        let Some(found) = actual.instance_profiles.get(&profile.name) else {
            continue;
        };
        if let Owner::Other(owners) = Owner::of(&found.tags, &cluster) {
            foreign(plan, profile.id(), &owners, profile.lifecycle);
            checked_profiles.insert(profile.name.clone());
        }
    }
    for provider in desired.oidc_providers.iter_mut().filter(|p| !p.external) {
        let Some(found) = actual.oidc_providers.get(&provider.arn) else {
            continue;
        };
        match Owner::of(&found.tags, &cluster) {
            Owner::This => continue,
            Owner::Other(owners) => foreign(plan, provider.id(), &owners, provider.lifecycle),
            Owner::Unmarked if provider.lifecycle.writes() => plan.warnings.push(Problem {
                id: provider.id(),
                message: format!(
                    "exists but is not tagged kubernetes.io/cluster/{cluster}=owned, so someone else made it: rolecall only checks it (a missing audience is drift) and never changes it"
                ),
            }),
            Owner::Unmarked => continue,
        }
        only_check(&mut provider.lifecycle);
    }
    // What hangs on a checked role or profile is checked too.
    let role = |name: &str| checked_roles.contains(name);
    let profile = |name: &str| checked_profiles.contains(name);
    let roles = desired.roles.iter_mut().filter(|r| role(&r.name));
    roles.for_each(|r| only_check(&mut r.lifecycle));
    let policies = desired.role_policies.iter_mut().filter(|p| role(&p.role));
    policies.for_each(|p| only_check(&mut p.lifecycle));
    let profiles = desired.instance_profiles.iter_mut();
    profiles
        .filter(|p| profile(&p.name))
        .for_each(|p| only_check(&mut p.lifecycle));
    let links = desired.profile_roles.iter_mut();
    links
        .filter(|l| role(&l.role) || profile(&l.profile))
        .for_each(|l| only_check(&mut l.lifecycle));
    desired
}

/// Reports an object that carries other clusters' ownership tags: an error when its
/// lifecycle would write it, a warning when the user already made it only checked.
fn foreign(plan: &mut Plan, id: ResourceId, owners: &[String], lifecycle: Lifecycle) {
    let owners = owners.join(", ");
    if lifecycle.writes() {
        plan.errors.push(Problem {
            id,
            message: format!(
                "belongs to cluster {owners} (it carries that cluster's ownership tags), so rolecall never writes or deletes it: the two clusters' IAM names collide. Rename one cluster, or override this object's lifecycle to ExistsAndWarnIfChanges to only check it"
            ),
        });
    } else if lifecycle != Lifecycle::Ignore {
        plan.warnings.push(Problem {
            id,
            message: format!(
                "belongs to cluster {owners} (it carries that cluster's ownership tags): rolecall only checks it"
            ),
        });
    }
}

/// Makes a lifecycle that would write one that only checks.
fn only_check(lifecycle: &mut Lifecycle) {
    if lifecycle.writes() {
        *lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    }
}
