//! Desired + actual -> a plan: the changes to make, each with the one IAM call that makes
//! it. Pure, so every rule is tested without a server; rendering and applying live
//! elsewhere.

use std::collections::BTreeSet;

use crate::model::{ActualState, DesiredState, Lifecycle, ResourceId, ResourceType, Tags};
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

/// The IAM call that carries out a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    CreateRole {
        name: String,
        path: String,
        trust_policy: String,
        tags: Tags,
    },
    UpdateAssumeRolePolicy {
        role: String,
        trust_policy: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    CreateInstanceProfile {
        name: String,
        path: String,
        tags: Tags,
    },
    AddRoleToInstanceProfile {
        profile: String,
        role: String,
    },
}

impl Operation {
    /// The API action's name, as IAM spells it.
    pub fn action(&self) -> &'static str {
        match self {
            Operation::CreateRole { .. } => "CreateRole",
            Operation::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
            Operation::PutRolePolicy { .. } => "PutRolePolicy",
            Operation::DeleteRolePolicy { .. } => "DeleteRolePolicy",
            Operation::CreateInstanceProfile { .. } => "CreateInstanceProfile",
            Operation::AddRoleToInstanceProfile { .. } => "AddRoleToInstanceProfile",
        }
    }

    /// Operations of one stage depend only on earlier stages: a role and a profile exist
    /// before policies are put on the role and the role goes into the profile.
    pub fn stage(&self) -> u8 {
        match self {
            Operation::CreateRole { .. }
            | Operation::UpdateAssumeRolePolicy { .. }
            | Operation::CreateInstanceProfile { .. } => 0,
            Operation::PutRolePolicy { .. }
            | Operation::DeleteRolePolicy { .. }
            | Operation::AddRoleToInstanceProfile { .. } => 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: ResourceId,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
    pub operation: Operation,
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

    fn sort(&mut self) {
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
    plan_roles(desired, actual, &mut plan);
    plan_role_policies(desired, actual, &mut plan);
    plan_instance_profiles(desired, actual, &mut plan);
    plan_profile_roles(desired, actual, &mut plan);
    check_dependencies(desired, actual, &mut plan);
    plan.sort();
    plan
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
            // An ignored object was not read: whether it exists is unknown, so trust the user.
            if lifecycle == Some(Lifecycle::Ignore) || will_exist(kind, name, exists) {
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
