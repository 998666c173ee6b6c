//! The comparison: each desired object against what the account holds, as an outcome
//! (in sync, missing, different, unwanted) that `route` turns into a change, drift, a
//! warning or an error by the object's lifecycle.

use std::collections::BTreeSet;

use super::value::{Change, ChangeKind, Drift, FieldChange, Plan, Problem};
use crate::model::{
    ActualRole, ActualState, DesiredRole, DesiredState, Lifecycle, ResourceId, ResourceType,
};
use crate::operation::Operation;
use crate::policy;

/// What comparing one object found, before its lifecycle decides what to do about it.
pub(super) enum Outcome {
    InSync,
    Missing(Vec<FieldChange>, Operation),
    Different(Vec<FieldChange>, Operation),
    /// Fields of one object that IAM changes by separate calls (a role's trust policy and
    /// its permissions boundary), each with its call: written, one change per call; not
    /// written, one drift for them all. None means in sync.
    DifferentParts(Vec<(Vec<FieldChange>, Operation)>),
    /// Present, but the spec says it must not exist.
    Unwanted(Vec<FieldChange>, Operation),
}

/// Turns an outcome into a change, drift, a warning or an error, by lifecycle.
pub(super) fn route(
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
    let (kind, parts) = match outcome() {
        Outcome::InSync => return,
        Outcome::Missing(f, op) => (ChangeKind::Create, vec![(f, op)]),
        Outcome::Different(f, op) => (ChangeKind::Modify, vec![(f, op)]),
        Outcome::DifferentParts(parts) if parts.is_empty() => return,
        Outcome::DifferentParts(parts) => (ChangeKind::Modify, parts),
        Outcome::Unwanted(f, op) => (ChangeKind::Delete, vec![(f, op)]),
    };
    if lifecycle.writes() {
        for (fields, operation) in parts {
            plan.changes.push(Change {
                id: id.clone(),
                kind,
                fields,
                operation,
                stage: 0,
            });
        }
        return;
    }
    let fields: Vec<FieldChange> = parts.into_iter().flat_map(|(f, _)| f).collect();
    match lifecycle {
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

pub(super) fn plan_oidc_providers(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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
                        thumbprints: provider.thumbprints.clone(),
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
                                optional: false,
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
pub(super) fn plan_attachments(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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
                let fields = vec![
                    FieldChange::value("Role", &role.name),
                    FieldChange::value("PolicyARN", arn),
                ];
                let (role, policy_arn) = (role.name.clone(), arn.clone());
                match (wanted.contains(arn), have.contains(arn)) {
                    (true, false) => {
                        Outcome::Missing(fields, Operation::AttachRolePolicy { role, policy_arn })
                    }
                    (false, true) => {
                        Outcome::Unwanted(fields, Operation::DetachRolePolicy { role, policy_arn })
                    }
                    _ => Outcome::InSync,
                }
            });
        }
    }
}

pub(super) fn plan_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    for role in &desired.roles {
        route(plan, actual, role.id(), role.lifecycle, || {
            match actual.roles.get(&role.name) {
                None => {
                    let mut fields = vec![
                        FieldChange::value("Path", &role.path),
                        FieldChange::value(
                            "TrustedPrincipals",
                            trusted_principals(&role.trust_policy),
                        ),
                    ];
                    if let Some(Some(arn)) = &role.permissions_boundary {
                        fields.push(FieldChange::value("PermissionsBoundary", arn));
                    }
                    Outcome::Missing(
                        fields,
                        Operation::CreateRole {
                            name: role.name.clone(),
                            path: role.path.clone(),
                            trust_policy: role.trust_policy.clone(),
                            tags: role.tags.clone(),
                            permissions_boundary: role.permissions_boundary.clone().flatten(),
                        },
                    )
                }
                // Changed in place: a deleted and recreated role gets a new id, which breaks
                // every trust policy that names it.
                Some(found) => Outcome::DifferentParts(
                    [trust_policy_part(role, found), boundary_part(role, found)]
                        .into_iter()
                        .flatten()
                        .collect(),
                ),
            }
        });
    }
}

/// The role's trust policy, updated when it is not equivalent to the spec's.
fn trust_policy_part(
    role: &DesiredRole,
    found: &ActualRole,
) -> Option<(Vec<FieldChange>, Operation)> {
    if policy::equivalent(&found.trust_policy, &role.trust_policy) {
        return None;
    }
    Some((
        vec![FieldChange::document(
            "TrustPolicy",
            Some(&found.trust_policy),
            Some(&role.trust_policy),
        )],
        Operation::UpdateAssumeRolePolicy {
            role: role.name.clone(),
            trust_policy: role.trust_policy.clone(),
        },
    ))
}

/// The role's permissions boundary, put or deleted as kops 1.36 does when the spec's
/// differs. Only where rolecall manages it; an external role's is never compared: the spec
/// does not describe a role it does not own, and such a role is only checked.
fn boundary_part(role: &DesiredRole, found: &ActualRole) -> Option<(Vec<FieldChange>, Operation)> {
    let wanted = role
        .permissions_boundary
        .as_ref()
        .filter(|_| !role.external)?;
    if found.permissions_boundary == *wanted {
        return None;
    }
    let operation = match wanted {
        Some(arn) => Operation::PutRolePermissionsBoundary {
            role: role.name.clone(),
            arn: arn.clone(),
        },
        None => Operation::DeleteRolePermissionsBoundary {
            role: role.name.clone(),
        },
    };
    let field = FieldChange::optional(
        "PermissionsBoundary",
        found.permissions_boundary.as_ref(),
        wanted.as_ref(),
    );
    Some((vec![field], operation))
}

pub(super) fn plan_role_policies(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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

pub(super) fn plan_instance_profiles(
    desired: &DesiredState,
    actual: &ActualState,
    plan: &mut Plan,
) {
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

pub(super) fn plan_profile_roles(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
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
