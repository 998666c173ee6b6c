//! The order of a plan: each change's stage from what its operation needs, and the
//! changes that need an object nothing will create, found before anything is written.

use super::value::{Change, ChangeKind, Plan, Problem};
use crate::model::{ActualState, DesiredState, ResourceId, ResourceType};
use crate::operation::{Need, Operation};

/// Orders the changes in stages by what each needs: a role before the policies on it and
/// before the trust policies that name it, an OIDC provider before the roles that trust
/// it; and for deletions the reverse: a role's policies, attachments and profile links
/// removed before the role is deleted, a profile emptied before it is deleted, and the
/// roles deleted before an OIDC provider (which they may trust).
pub(super) fn assign_stages(changes: &mut [Change]) {
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
            op if op.deletes_object() => changes
                .iter()
                .enumerate()
                .filter(|(j, o)| *j != i && must_go_first(&o.operation, op))
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

/// Whether `other` must be done before `delete`, an operation that deletes a whole object:
/// IAM refuses to delete a role that still has policies or a profile (DeleteConflict), and
/// a profile that still holds a role. IAM would delete a provider that roles trust, but
/// those roles would then trust nothing, so the provider goes last.
fn must_go_first(other: &Operation, delete: &Operation) -> bool {
    match delete {
        Operation::DeleteRole { name } => other.role() == Some(name.as_str()),
        Operation::DeleteInstanceProfile { name } => {
            matches!(other, Operation::RemoveRoleFromInstanceProfile { .. })
                && other.profile() == Some(name.as_str())
        }
        Operation::DeleteOpenIdConnectProvider { .. } => {
            matches!(other, Operation::DeleteRole { .. })
        }
        _ => false,
    }
}

/// A change that needs an object rolecall may not create, and that is missing, cannot be
/// made: say so now instead of failing half-way through an apply. The needs are the ones
/// that order the stages, less two kinds this check cannot judge: a deletion's (what it
/// removes was read, so what holds it was there), and a trust policy's principals (they
/// may be another account's, or roles rolecall never reads; IAM judges those).
pub(super) fn check_dependencies(desired: &DesiredState, actual: &ActualState, plan: &mut Plan) {
    let will_exist = |id: &ResourceId| {
        plan.changes
            .iter()
            .any(|c| c.id == *id && c.kind == ChangeKind::Create)
    };
    let mut problems = Vec::new();
    for change in plan.changes.iter().filter(|c| c.kind != ChangeKind::Delete) {
        for need in change.operation.needs() {
            let Need::Holder(id) = need else { continue };
            // An unreadable object's existence is unknown, so trust the user. An ignored role
            // or profile that something written needs is still read (for its owner), so its
            // absence is known.
            let unknown = actual.denied.contains_key(&id);
            if unknown || read_as_present(actual, &id) || will_exist(&id) {
                continue;
            }
            let lifecycle = desired.lifecycle_of(&id);
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

/// Whether the account was read to hold `id`. Only roles and instance profiles hold other
/// objects, so only they are looked up.
fn read_as_present(actual: &ActualState, id: &ResourceId) -> bool {
    match id.kind {
        ResourceType::IamRole => actual.roles.contains_key(&id.name),
        ResourceType::IamInstanceProfile => actual.instance_profiles.contains_key(&id.name),
        _ => false,
    }
}
