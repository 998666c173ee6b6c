//! Desired + actual -> a plan: the changes to make, each with the one IAM call that makes
//! it. Pure, so every rule is tested without a server; rendering and applying live
//! elsewhere.

use std::collections::BTreeSet;

use crate::model::{
    ActualRole, ActualState, DesiredState, Lifecycle, Owner, ResourceId, ResourceType,
};
pub use crate::operation::Operation;
use crate::policy;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    Create,
    Modify,
    Delete,
}

/// One field of a change, shown in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
    /// A policy document: shown as a diff rather than `old -> new`.
    pub document: bool,
}

impl FieldChange {
    fn value(field: &'static str, new: impl Into<String>) -> Self {
        FieldChange {
            field,
            old: None,
            new: Some(new.into()),
            document: false,
        }
    }

    fn document(field: &'static str, old: Option<&str>, new: Option<&str>) -> Self {
        FieldChange {
            field,
            old: old.map(str::to_string),
            new: new.map(str::to_string),
            document: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: ResourceId,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
    pub operation: Operation,
    /// Changes of one stage depend only on changes of earlier stages: apply runs the stages
    /// in order and the changes of a stage concurrently.
    pub stage: u8,
}

/// Something the plan cannot do, or must report, about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub id: ResourceId,
    pub message: String,
}

/// An object rolecall does not write that differs from what the spec expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub id: ResourceId,
    pub lifecycle: Lifecycle,
    /// `old` is the account's value, `new` the expected one.
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by resource id, as kops lists them.
    pub changes: Vec<Change>,
    /// Differences in objects whose lifecycle forbids writing them.
    pub drift: Vec<Drift>,
    /// Reported, but no reason to stop: a missing ExistsAndWarnIfChanges object, a read
    /// refused under WarnIfInsufficientAccess, a profile with no role.
    pub warnings: Vec<Problem>,
    /// Conflicts that stop an apply before anything is written.
    pub errors: Vec<Problem>,
    /// Objects with lifecycle Ignore: neither read nor written.
    pub ignored: Vec<ResourceId>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn changes_of(&self, kind: ChangeKind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }

    pub(crate) fn sort(&mut self) {
        self.changes.sort_by(|a, b| a.id.cmp(&b.id));
        self.drift.sort_by(|a, b| a.id.cmp(&b.id));
        self.warnings.sort_by(|a, b| a.id.cmp(&b.id));
        self.errors.sort_by(|a, b| a.id.cmp(&b.id));
        self.ignored.sort();
    }
}

/// What comparing one object found, before its lifecycle decides what to do about it.
enum Outcome {
    InSync,
    Missing(Vec<FieldChange>, Operation),
    Different(Vec<FieldChange>, Operation),
    /// Present, but the spec says it must not exist.
    Unwanted(Vec<FieldChange>, Operation),
}

/// Turns an outcome into a change, drift, a warning or an error, by lifecycle.
fn route(
    plan: &mut Plan,
    actual: &ActualState,
    id: ResourceId,
    lifecycle: Lifecycle,
    outcome: impl FnOnce() -> Outcome,
) {
    if lifecycle == Lifecycle::Ignore {
        plan.ignored.push(id);
        return;
    }
    if let Some(message) = actual.denied.get(&id) {
        if lifecycle == Lifecycle::WarnIfInsufficientAccess {
            plan.warnings.push(Problem {
                id,
                message: format!(
                    "could not be read ({message}); assuming it is correctly configured"
                ),
            });
        } else {
            plan.errors.push(Problem {
                id,
                message: format!(
                    "could not be read: {message} (lifecycle WarnIfInsufficientAccess makes this a warning)"
                ),
            });
        }
        return;
    }
    let (kind, fields, operation) = match outcome() {
        Outcome::InSync => return,
        Outcome::Missing(f, op) => (ChangeKind::Create, f, op),
        Outcome::Different(f, op) => (ChangeKind::Modify, f, op),
        Outcome::Unwanted(f, op) => (ChangeKind::Delete, f, op),
    };
    match lifecycle {
        Lifecycle::Sync | Lifecycle::WarnIfInsufficientAccess => plan.changes.push(Change {
            id,
            kind,
            fields,
            operation,
            stage: 0,
        }),
        Lifecycle::ExistsAndWarnIfChanges if kind == ChangeKind::Create => plan.warnings.push(Problem {
            id,
            message: "lifecycle ExistsAndWarnIfChanges, but the object was not found; rolecall does not create it".into(),
        }),
        Lifecycle::ExistsAndValidates if kind == ChangeKind::Create => plan.errors.push(Problem {
            id,
            message: "lifecycle ExistsAndValidates, but the object was not found".into(),
        }),
        Lifecycle::ExistsAndValidates => {
            plan.errors.push(Problem {
                id: id.clone(),
                message: "lifecycle ExistsAndValidates, but the object does not match the spec (see the drift above)".into(),
            });
            plan.drift.push(Drift { id, lifecycle, fields });
        }
        _ => plan.drift.push(Drift { id, lifecycle, fields }),
    }
}

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

/// Tags decide who owns what the account holds; names never do. An object that carries
/// another cluster's ownership tags is never written: under a lifecycle that would write it
/// that is an error (the two clusters' names collide), found before any write, and either
/// way it and what hangs on it are only checked. A pod role or an OIDC provider found
/// without this cluster's owned tag was made by someone else and is only checked. An
/// untagged instance-group role or profile is managed: kops (which does not tag IAM) made it.
fn apply_ownership(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) -> DesiredState {
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
    for role in desired
        .roles
        .iter_mut()
        .filter(|r| checked_roles.contains(&r.name))
    {
        only_check(&mut role.lifecycle);
    }
    for rp in desired
        .role_policies
        .iter_mut()
        .filter(|p| checked_roles.contains(&p.role))
    {
        only_check(&mut rp.lifecycle);
    }
    for profile in desired
        .instance_profiles
        .iter_mut()
        .filter(|p| checked_profiles.contains(&p.name))
    {
        only_check(&mut profile.lifecycle);
    }
    for link in desired
        .profile_roles
        .iter_mut()
        .filter(|l| checked_roles.contains(&l.role) || checked_profiles.contains(&l.profile))
    {
        only_check(&mut link.lifecycle);
    }
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

fn plan_oidc_providers(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for provider in &desired.oidc_providers {
        let found = actual.oidc_providers.get(&provider.arn);
        route(
            plan,
            actual,
            provider.id(),
            provider.lifecycle,
            || match found {
                None => Outcome::Missing(
                    vec![
                        FieldChange::value("URL", &provider.url),
                        FieldChange::value("ClientIDs", join(&provider.client_ids)),
                    ],
                    Operation::CreateOpenIdConnectProvider {
                        arn: provider.arn.clone(),
                        url: provider.url.clone(),
                        client_ids: provider.client_ids.iter().cloned().collect(),
                        tags: provider.tags.clone(),
                    },
                ),
                Some(have) => {
                    // Audiences others added are left alone: the provider may serve them too.
                    let missing: Vec<String> = provider
                        .client_ids
                        .difference(&have.client_ids)
                        .cloned()
                        .collect();
                    if missing.is_empty() {
                        Outcome::InSync
                    } else {
                        Outcome::Different(
                            vec![FieldChange {
                                field: "ClientIDs",
                                old: Some(join(&have.client_ids)),
                                new: Some(join(
                                    &have
                                        .client_ids
                                        .union(&provider.client_ids)
                                        .cloned()
                                        .collect(),
                                )),
                                document: false,
                            }],
                            Operation::AddClientIdToOpenIdConnectProvider {
                                arn: provider.arn.clone(),
                                client_ids: missing,
                            },
                        )
                    }
                }
            },
        );
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Managed policies are a set per role: what the spec lists is attached, the rest detached.
fn plan_attachments(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &desired.roles {
        let Some(wanted) = &role.managed_policies else {
            continue;
        };
        let have = actual
            .roles
            .get(&role.name)
            .and_then(|r| r.managed_policies.clone())
            .unwrap_or_default();
        for arn in wanted.union(&have) {
            let id = ResourceId::new(
                ResourceType::IamRolePolicyAttachment,
                format!("{}/{arn}", role.name),
            );
            route(plan, actual, id, role.lifecycle, || {
                match (wanted.contains(arn), have.contains(arn)) {
                    (true, false) => Outcome::Missing(
                        vec![
                            FieldChange::value("Role", &role.name),
                            FieldChange::value("PolicyARN", arn),
                        ],
                        Operation::AttachRolePolicy {
                            role: role.name.clone(),
                            policy_arn: arn.clone(),
                        },
                    ),
                    (false, true) => Outcome::Unwanted(
                        vec![
                            FieldChange::value("Role", &role.name),
                            FieldChange::value("PolicyARN", arn),
                        ],
                        Operation::DetachRolePolicy {
                            role: role.name.clone(),
                            policy_arn: arn.clone(),
                        },
                    ),
                    _ => Outcome::InSync,
                }
            });
        }
    }
}

/// A pod role the spec no longer names: deleted, policies first, if this cluster's tags
/// prove it owns it and the lifecycles allow; otherwise reported and left alone.
fn plan_stray_pod_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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
fn check_object_overrides(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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
                message: "--lifecycle-overrides names it, but it is neither an object of this cluster nor a pod role of this cluster's in the account".into(),
            });
        }
    }
}

/// Orders the changes in stages by what each needs: a role before the policies on it and
/// before the trust policies that name it, an OIDC provider before the roles that trust
/// it, and a role's policies removed before the role is deleted.
fn assign_stages(changes: &mut [Change]) {
    let creates: Vec<(ResourceId, usize)> = changes
        .iter()
        .enumerate()
        .filter(|(_, c)| c.kind == ChangeKind::Create)
        .map(|(i, c)| (c.id.clone(), i))
        .collect();
    let deps: Vec<Vec<usize>> = changes
        .iter()
        .enumerate()
        .map(|(i, c)| match &c.operation {
            Operation::DeleteRole { name } => changes
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && o.operation.role() == Some(name.as_str()))
                .map(|(j, _)| j)
                .collect(),
            op => op
                .needs()
                .iter()
                .filter_map(|need| {
                    creates
                        .iter()
                        .find(|(id, j)| id == need.id() && *j != i)
                        .map(|(_, j)| *j)
                })
                .collect(),
        })
        .collect();
    // Longest path in a small acyclic graph: repeat until nothing moves.
    for _ in 0..changes.len() {
        let mut moved = false;
        for i in 0..changes.len() {
            let stage = deps[i]
                .iter()
                .map(|&j| changes[j].stage + 1)
                .max()
                .unwrap_or(0);
            if stage > changes[i].stage {
                changes[i].stage = stage;
                moved = true;
            }
        }
        if !moved {
            break;
        }
    }
}

fn plan_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &desired.roles {
        route(plan, actual, role.id(), role.lifecycle, || {
            match actual.roles.get(&role.name) {
                None => Outcome::Missing(
                    vec![
                        FieldChange::value("Path", &role.path),
                        FieldChange::value(
                            "TrustedPrincipals",
                            trusted_principals(&role.trust_policy),
                        ),
                    ],
                    Operation::CreateRole {
                        name: role.name.clone(),
                        path: role.path.clone(),
                        trust_policy: role.trust_policy.clone(),
                        tags: role.tags.clone(),
                    },
                ),
                // Changed in place: a deleted and recreated role gets a new id, which breaks
                // every trust policy that names it.
                Some(found) if !policy::equivalent(&found.trust_policy, &role.trust_policy) => {
                    Outcome::Different(
                        vec![FieldChange::document(
                            "TrustPolicy",
                            Some(&found.trust_policy),
                            Some(&role.trust_policy),
                        )],
                        Operation::UpdateAssumeRolePolicy {
                            role: role.name.clone(),
                            trust_policy: role.trust_policy.clone(),
                        },
                    )
                }
                Some(_) => Outcome::InSync,
            }
        });
    }
}

fn plan_role_policies(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for rp in &desired.role_policies {
        route(plan, actual, rp.id(), rp.lifecycle, || {
            let found = actual
                .role_policies
                .get(&(rp.role.clone(), rp.name.clone()));
            match (&rp.document, found) {
                (Some(doc), None) => Outcome::Missing(
                    vec![
                        FieldChange::value("Role", &rp.role),
                        FieldChange::document("PolicyDocument", None, Some(doc)),
                    ],
                    Operation::PutRolePolicy {
                        role: rp.role.clone(),
                        name: rp.name.clone(),
                        document: doc.clone(),
                    },
                ),
                (Some(doc), Some(have)) if !policy::equivalent(have, doc) => Outcome::Different(
                    vec![FieldChange::document(
                        "PolicyDocument",
                        Some(have),
                        Some(doc),
                    )],
                    Operation::PutRolePolicy {
                        role: rp.role.clone(),
                        name: rp.name.clone(),
                        document: doc.clone(),
                    },
                ),
                (None, Some(have)) => Outcome::Unwanted(
                    vec![
                        FieldChange::value("Role", &rp.role),
                        FieldChange::document("PolicyDocument", Some(have), None),
                    ],
                    Operation::DeleteRolePolicy {
                        role: rp.role.clone(),
                        name: rp.name.clone(),
                    },
                ),
                _ => Outcome::InSync,
            }
        });
    }
}

fn plan_instance_profiles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for ip in &desired.instance_profiles {
        let found = actual.instance_profiles.get(&ip.name);
        if ip.external
            && ip.lifecycle != Lifecycle::Ignore
            && found.is_some_and(|p| p.roles.is_empty())
        {
            plan.warnings.push(Problem {
                id: ip.id(),
                message: format!(
                    "holds no role, so its instances get no IAM permissions; rolecall does not add a role to a profile it does not own ({})",
                    found.map(|p| p.arn.as_str()).unwrap_or_default()
                ),
            });
        }
        route(plan, actual, ip.id(), ip.lifecycle, || {
            if found.is_some() {
                Outcome::InSync
            } else {
                Outcome::Missing(
                    vec![FieldChange::value("Path", &ip.path)],
                    Operation::CreateInstanceProfile {
                        name: ip.name.clone(),
                        path: ip.path.clone(),
                        tags: ip.tags.clone(),
                    },
                )
            }
        });
    }
}

fn plan_profile_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for link in &desired.profile_roles {
        let held: &[String] = actual
            .instance_profiles
            .get(&link.profile)
            .map(|p| p.roles.as_slice())
            .unwrap_or_default();
        if let Some(other) = held.first().filter(|r| **r != link.role) {
            if link.lifecycle.writes() {
                // IAM allows one role per profile, and the role there is not ours to remove.
                plan.errors.push(Problem {
                    id: link.id(),
                    message: format!(
                        "instance profile {} holds role {other}, not {}; rolecall does not remove a role it did not put there. Remove it by hand (aws iam remove-role-from-instance-profile) if it is wrong",
                        link.profile, link.role
                    ),
                });
                continue;
            }
        }
        route(plan, actual, link.id(), link.lifecycle, || {
            if held.contains(&link.role) {
                Outcome::InSync
            } else {
                Outcome::Missing(
                    vec![
                        FieldChange::value("InstanceProfile", &link.profile),
                        FieldChange::value("Role", &link.role),
                    ],
                    Operation::AddRoleToInstanceProfile {
                        profile: link.profile.clone(),
                        role: link.role.clone(),
                    },
                )
            }
        });
    }
}

/// A change that needs an object rolecall may not create, and that is missing, cannot be
/// made: say so now instead of failing half-way through an apply.
fn check_dependencies(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    let will_exist = |kind: ResourceType, name: &str, exists: bool| {
        exists
            || plan
                .changes
                .iter()
                .any(|c| c.id.kind == kind && c.id.name == name && c.kind == ChangeKind::Create)
    };
    let mut problems = Vec::new();
    for change in &plan.changes {
        let needs: Vec<(ResourceType, &str, bool)> = match &change.operation {
            Operation::PutRolePolicy { role, .. } => {
                vec![(
                    ResourceType::IamRole,
                    role.as_str(),
                    actual.roles.contains_key(role),
                )]
            }
            Operation::AddRoleToInstanceProfile { profile, role } => vec![
                (
                    ResourceType::IamRole,
                    role.as_str(),
                    actual.roles.contains_key(role),
                ),
                (
                    ResourceType::IamInstanceProfile,
                    profile.as_str(),
                    actual.instance_profiles.contains_key(profile),
                ),
            ],
            _ => vec![],
        };
        for (kind, name, exists) in needs {
            let id = ResourceId::new(kind, name);
            let lifecycle = desired.lifecycle_of(&id);
            // An unreadable object's existence is unknown, so trust the user. An ignored role
            // or profile that something written needs is still read (for its owner), so its
            // absence is known.
            let unknown = actual.denied.contains_key(&id);
            if unknown || will_exist(kind, name, exists) {
                continue;
            }
            problems.push(Problem {
                id: change.id.clone(),
                message: format!(
                    "needs {id}, which does not exist and which rolecall will not create (lifecycle {})",
                    lifecycle.map(|l| l.name()).unwrap_or("unmanaged")
                ),
            });
        }
    }
    plan.errors.extend(problems);
}

/// A one-line summary of who may assume a role, such as `Service:ec2.amazonaws.com`.
pub fn trusted_principals(trust_policy: &str) -> String {
    let Ok(canon) = policy::canonical(trust_policy) else {
        return "(unreadable trust policy)".into();
    };
    let set: BTreeSet<String> = canon
        .statements
        .iter()
        .filter_map(|s| s.principal.as_ref())
        .flat_map(|p| {
            p.iter()
                .flat_map(|(kind, ids)| ids.iter().map(move |id| format!("{kind}:{id}")))
        })
        .collect();
    set.into_iter().collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests;
