//! What a role rolecall manages holds beyond what the spec names: inline policies and
//! attachments it does not list, a permissions boundary it leaves alone, tags that differ
//! from rolecall's, a path it cannot change. Each is drift; only extra inline policies are
//! ever removed: on owned pod roles always, on instance-group roles only when asked
//! (`--remove-extra-inline-policies`), and never where ownership is not proven.

use super::compare::{route, Outcome};
use super::value::{Drift, FieldChange, Plan};
use super::PlanOptions;
use crate::model::{
    ActualRole, ActualState, DesiredRole, DesiredState, Lifecycle, Owner, ResourceId, ResourceType,
    Tags,
};
use crate::operation::Operation;

/// The extras of every managed role (not external, read) and the tags of every managed
/// instance profile.
pub(super) fn plan_extras(
    desired: &DesiredState,
    actual: &ActualState,
    options: PlanOptions,
    plan: &mut Plan,
) {
    for role in desired
        .roles
        .iter()
        .filter(|r| managed(r.lifecycle, r.external))
    {
        if actual.denied.contains_key(&role.id()) {
            continue;
        }
        let Some(found) = actual.roles.get(&role.name) else {
            continue;
        };
        add_drift(
            plan,
            role.id(),
            role.lifecycle,
            role_fields(role, found, &desired.cluster),
        );
        extra_attachments(role, found, plan);
        extra_inline_policies(desired, actual, role, found, options, plan);
    }
    for ip in desired
        .instance_profiles
        .iter()
        .filter(|p| managed(p.lifecycle, p.external))
    {
        if actual.denied.contains_key(&ip.id()) {
            continue;
        }
        if let Some(found) = actual.instance_profiles.get(&ip.name) {
            let fields = tags_field(&ip.tags, &found.tags, &desired.cluster)
                .into_iter()
                .collect();
            add_drift(plan, ip.id(), ip.lifecycle, fields);
        }
    }
}

fn managed(lifecycle: Lifecycle, external: bool) -> bool {
    !external && lifecycle != Lifecycle::Ignore
}

/// Adds fields to the object's drift, or starts it: a role whose trust policy drifted
/// under a checking lifecycle already has an entry.
fn add_drift(plan: &mut Plan, id: ResourceId, lifecycle: Lifecycle, fields: Vec<FieldChange>) {
    if fields.is_empty() {
        return;
    }
    match plan.drift.iter_mut().find(|d| d.id == id) {
        Some(d) => d.fields.extend(fields),
        None => plan.drift.push(Drift {
            id,
            lifecycle,
            fields,
        }),
    }
}

/// The role's own fields that rolecall reports and never changes.
fn role_fields(role: &DesiredRole, found: &ActualRole, cluster: &str) -> Vec<FieldChange> {
    let mut fields = Vec::new();
    if found.path != role.path {
        fields.push(FieldChange {
            field: "Path",
            old: Some(found.path.clone()),
            new: Some(role.path.clone()),
            document: false,
            optional: false,
        });
        fields.push(FieldChange {
            field: "Note",
            old: None,
            new: Some(
                "IAM cannot move a role to another path; recreating it would give it a new id and break the trust policies that name it, so rolecall leaves it".into(),
            ),
            document: false,
            optional: false,
        });
    }
    fields.extend(tags_field(&role.tags, &found.tags, cluster));
    // A boundary the spec leaves alone (kops 1.10's and pod roles) is reported, never removed:
    // an organisation may require it.
    if let (None, Some(arn)) = (&role.permissions_boundary, &found.permissions_boundary) {
        fields.push(FieldChange {
            field: "PermissionsBoundary",
            old: Some(arn.clone()),
            new: None,
            document: false,
            optional: false,
        });
    }
    fields
}

/// rolecall's tags (set at create) that are missing or different; others' extra tags are
/// fine. `old` holds what the account has of those keys, `new` what rolecall would set.
/// Only on an object that carries one of this cluster's tags: kops 1.10 tags none of its
/// IAM, and an untagged role it made would otherwise drift on every run for want of tags
/// rolecall never wrote there and does not rewrite.
fn tags_field(wanted: &Tags, have: &Tags, cluster: &str) -> Option<FieldChange> {
    let legacy = have.get("KubernetesCluster").is_some_and(|v| v == cluster);
    let owned = have
        .get(&format!("kubernetes.io/cluster/{cluster}"))
        .is_some_and(|v| v == "owned");
    if !legacy && !owned {
        return None;
    }
    let differing: Vec<(&String, &String)> = wanted
        .iter()
        .filter(|(k, v)| have.get(*k) != Some(*v))
        .collect();
    if differing.is_empty() {
        return None;
    }
    let old = differing
        .iter()
        .map(|(k, _)| match have.get(*k) {
            Some(v) => format!("{k}={v}"),
            None => format!("{k} (absent)"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let new = differing
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(FieldChange {
        field: "Tags",
        old: Some(old),
        new: Some(new),
        document: false,
        optional: false,
    })
}

/// Attachments on a role whose attachments the spec leaves alone (kops 1.10's roles): a
/// role with a set (kops 1.36's, pod roles) is kept exact by `plan_attachments`.
fn extra_attachments(role: &DesiredRole, found: &ActualRole, plan: &mut Plan) {
    if role.managed_policies.is_some() {
        return;
    }
    for arn in found.managed_policies.iter().flatten() {
        plan.drift.push(Drift {
            id: ResourceId::new(
                ResourceType::IamRolePolicyAttachment,
                format!("{}/{arn}", role.name),
            ),
            lifecycle: role.lifecycle,
            fields: vec![
                FieldChange::value("Role", &role.name),
                FieldChange {
                    field: "PolicyARN",
                    old: Some(arn.clone()),
                    new: None,
                    document: false,
                    optional: false,
                },
            ],
        });
    }
}

/// Whether rolecall writes, or may write, an inline policy of this name on the role: its
/// own, `additional.<role>`, the pod-identity grants, or any the desired state names.
fn rolecall_names(desired: &DesiredState, role: &str, name: &str) -> bool {
    let own = [
        role.to_string(),
        format!("additional.{role}"),
        format!("kube2iam.{role}"),
        format!("kiam.{role}"),
    ];
    own.iter().any(|n| n == name)
        || desired
            .role_policies
            .iter()
            .any(|p| p.role == role && p.name == name)
}

/// Inline policies the spec does not name. Deleted (under `route`, so by lifecycle) on an
/// owned pod role, or on an instance-group role with `--remove-extra-inline-policies`;
/// otherwise drift, shown with the document.
fn extra_inline_policies(
    desired: &DesiredState,
    actual: &ActualState,
    role: &DesiredRole,
    found: &ActualRole,
    options: PlanOptions,
    plan: &mut Plan,
) {
    let extras = found
        .inline_policies
        .iter()
        .flatten()
        .filter(|name| !rolecall_names(desired, &role.name, name));
    for name in extras {
        let id = ResourceId::new(ResourceType::IamRolePolicy, name);
        let document = actual.role_policies.get(&(role.name.clone(), name.clone()));
        let fields = vec![
            FieldChange::value("Role", &role.name),
            FieldChange::document("PolicyDocument", document.map(String::as_str), None),
        ];
        let lifecycle = extra_lifecycle(desired, role, found);
        if lifecycle == Lifecycle::Ignore {
            plan.ignored.push(id);
            continue;
        }
        if role.owned_only || options.remove_extra_inline_policies {
            let operation = Operation::DeleteRolePolicy {
                role: role.name.clone(),
                name: name.clone(),
            };
            route(plan, actual, id, lifecycle, || {
                Outcome::Unwanted(fields, operation)
            });
        } else {
            plan.drift.push(Drift {
                id,
                lifecycle,
                fields,
            });
        }
    }
}

/// An extra policy's lifecycle: its type's override, else its role's; but
/// only checked when the role is (another cluster's, someone else's pod role) or when this
/// cluster's ownership is not proven by tags (a pod role needs the owned tag; an
/// instance-group role without any cluster's tags is kops's, so managed).
fn extra_lifecycle(desired: &DesiredState, role: &DesiredRole, found: &ActualRole) -> Lifecycle {
    let proven = match Owner::of(&found.tags, &desired.cluster) {
        Owner::This => true,
        Owner::Unmarked => !role.owned_only,
        Owner::Other(_) => false,
    };
    // Not an object override: those are checked against the spec before the account is
    // read, and an extra policy's name is known only after.
    let chosen = match desired.overrides.by_type.get(&ResourceType::IamRolePolicy) {
        Some(&by_type) if role.lifecycle != Lifecycle::Ignore => by_type,
        _ => role.lifecycle,
    };
    if chosen.writes() && !proven {
        Lifecycle::ExistsAndWarnIfChanges
    } else {
        chosen
    }
}
