//! Desired + actual -> a plan: the changes to make, each with the one IAM call that makes
//! it. Pure, so every rule is tested without a server; rendering and applying live
//! elsewhere.

use std::collections::BTreeSet;

use crate::model::{ActualState, DesiredState, ResourceId, Tags};
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

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by resource id, as kops lists them.
    pub changes: Vec<Change>,
    /// Conflicts that stop an apply before anything is written.
    pub errors: Vec<Problem>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn changes_of(&self, kind: ChangeKind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }
}

/// Compares the desired state with the account and lists what must change.
pub fn plan(desired: &DesiredState, actual: &ActualState) -> Plan {
    let mut plan = Plan::default();
    plan_roles(desired, actual, &mut plan);
    plan_role_policies(desired, actual, &mut plan);
    plan_instance_profiles(desired, actual, &mut plan);
    plan_profile_roles(desired, actual, &mut plan);
    plan.changes.sort_by(|a, b| a.id.cmp(&b.id));
    plan.errors.sort_by(|a, b| a.id.cmp(&b.id));
    plan
}

fn plan_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &desired.roles {
        match actual.roles.get(&role.name) {
            None => plan.changes.push(Change {
                id: role.id(),
                kind: ChangeKind::Create,
                fields: vec![
                    FieldChange::value("Path", &role.path),
                    FieldChange::value("TrustedPrincipals", trusted_principals(&role.trust_policy)),
                ],
                operation: Operation::CreateRole {
                    name: role.name.clone(),
                    path: role.path.clone(),
                    trust_policy: role.trust_policy.clone(),
                    tags: role.tags.clone(),
                },
            }),
            // Changed in place: a deleted and recreated role gets a new id, which breaks
            // every trust policy that names it.
            Some(found) if !policy::equivalent(&found.trust_policy, &role.trust_policy) => {
                plan.changes.push(Change {
                    id: role.id(),
                    kind: ChangeKind::Modify,
                    fields: vec![FieldChange::document(
                        "TrustPolicy",
                        Some(&found.trust_policy),
                        Some(&role.trust_policy),
                    )],
                    operation: Operation::UpdateAssumeRolePolicy {
                        role: role.name.clone(),
                        trust_policy: role.trust_policy.clone(),
                    },
                })
            }
            Some(_) => {}
        }
    }
}

fn plan_role_policies(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for rp in &desired.role_policies {
        let found = actual
            .role_policies
            .get(&(rp.role.clone(), rp.name.clone()));
        let change = match (&rp.document, found) {
            (Some(doc), None) => Some((
                ChangeKind::Create,
                vec![
                    FieldChange::value("Role", &rp.role),
                    FieldChange::document("PolicyDocument", None, Some(doc)),
                ],
                Operation::PutRolePolicy {
                    role: rp.role.clone(),
                    name: rp.name.clone(),
                    document: doc.clone(),
                },
            )),
            (Some(doc), Some(have)) if !policy::equivalent(have, doc) => Some((
                ChangeKind::Modify,
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
            )),
            (None, Some(have)) => Some((
                ChangeKind::Delete,
                vec![
                    FieldChange::value("Role", &rp.role),
                    FieldChange::document("PolicyDocument", Some(have), None),
                ],
                Operation::DeleteRolePolicy {
                    role: rp.role.clone(),
                    name: rp.name.clone(),
                },
            )),
            _ => None,
        };
        if let Some((kind, fields, operation)) = change {
            plan.changes.push(Change {
                id: rp.id(),
                kind,
                fields,
                operation,
            });
        }
    }
}

fn plan_instance_profiles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for ip in &desired.instance_profiles {
        if !actual.instance_profiles.contains_key(&ip.name) {
            plan.changes.push(Change {
                id: ip.id(),
                kind: ChangeKind::Create,
                fields: vec![FieldChange::value("Path", &ip.path)],
                operation: Operation::CreateInstanceProfile {
                    name: ip.name.clone(),
                    path: ip.path.clone(),
                    tags: ip.tags.clone(),
                },
            });
        }
    }
}

fn plan_profile_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for link in &desired.profile_roles {
        let held: &[String] = actual
            .instance_profiles
            .get(&link.profile)
            .map(|p| p.roles.as_slice())
            .unwrap_or_default();
        if held.contains(&link.role) {
            continue;
        }
        if let Some(other) = held.first() {
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
        plan.changes.push(Change {
            id: link.id(),
            kind: ChangeKind::Create,
            fields: vec![
                FieldChange::value("InstanceProfile", &link.profile),
                FieldChange::value("Role", &link.role),
            ],
            operation: Operation::AddRoleToInstanceProfile {
                profile: link.profile.clone(),
                role: link.role.clone(),
            },
        });
    }
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
