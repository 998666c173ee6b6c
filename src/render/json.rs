//! The plan for machines: one JSON document (`--output json`), its schema in
//! docs/plan-json.md. Built field by field so that the schema is what this file says, not
//! whatever the internal types happen to hold.

use serde_json::{json, Value};

use crate::access::effective::RoleAccess;
use crate::access::AccessDiff;
use crate::apply::ApplyReport;
use crate::plan::{ChangeKind, FieldChange, Problem};
use crate::reconcile::Outcome;

/// Bumped on any change that could break a reader.
pub const FORMAT_VERSION: &str = "1";

fn fields(fields: &[FieldChange]) -> Value {
    fields
        .iter()
        .map(|f| json!({"field": f.field, "old": f.old, "new": f.new, "document": f.document}))
        .collect()
}

fn problems(list: &[Problem]) -> Value {
    list.iter()
        .map(|p| json!({"id": p.id.to_string(), "message": p.message}))
        .collect()
}

/// What a change grants and takes away, one action per entry; `null` for a change about no
/// access.
fn access_of(diff: Option<&AccessDiff>) -> Value {
    let Some(d) = diff else {
        return Value::Null;
    };
    let expand = &crate::access::expand;
    json!({
        "widens": d.widens(),
        "added": crate::access::entries(&d.added, expand),
        "removed": crate::access::entries(&d.removed, expand),
        "principals_added": d.principals_added,
        "principals_removed": d.principals_removed,
        "may_add": d.may_add,
    })
}

/// The effective access of the roles rolecall does not own, one action per entry.
fn effective_access(roles: &[RoleAccess]) -> Value {
    roles
        .iter()
        .map(|r| {
            json!({
                "id": r.id().to_string(),
                "access": {
                    "missing": crate::access::effective::entries(&r.access.missing),
                    "extra": crate::access::effective::entries(&r.access.extra),
                    "unclear": r.access.unclear,
                },
            })
        })
        .collect()
}

fn action(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Create => "create",
        ChangeKind::Modify => "modify",
        ChangeKind::Delete => "delete",
    }
}

/// The document as `update --output json` prints it: pretty, with a final newline.
pub fn render(outcome: &Outcome, applied: Option<&ApplyReport>) -> String {
    let doc = plan_document(outcome, applied);
    format!(
        "{}\n",
        serde_json::to_string_pretty(&doc).expect("JSON serialises")
    )
}

/// The whole document. `applied` is present after `--yes`.
pub fn plan_document(outcome: &Outcome, applied: Option<&ApplyReport>) -> Value {
    let Outcome {
        cluster,
        plan,
        pods,
        stale,
        generation,
        access,
        effective,
    } = outcome;
    let none = None;
    let changes: Vec<Value> = plan
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "id": c.id.to_string(),
                "type": c.id.kind.name(),
                "name": c.id.name,
                "action": action(c.kind),
                "operation": c.operation.action(),
                "stage": c.stage,
                "fields": fields(&c.fields),
                "access": access_of(access.get(i).unwrap_or(&none).as_ref()),
            })
        })
        .collect();
    let drift: Vec<Value> = plan
        .drift
        .iter()
        .map(|d| json!({"id": d.id.to_string(), "lifecycle": d.lifecycle.name(), "fields": fields(&d.fields)}))
        .collect();
    let roll: Vec<Value> = stale
        .iter()
        .map(|s| json!({"instance": s.id, "group": s.group, "current_profile": s.current, "expected_profile": s.expected}))
        .collect();
    let mut doc = json!({
        "format_version": FORMAT_VERSION,
        "cluster": cluster,
        "kops_version": generation.generation.version(),
        "kops_version_reason": generation.reason,
        "has_changes": plan.has_changes(),
        "changes": changes,
        "drift": drift,
        "warnings": problems(&plan.warnings),
        "errors": problems(&plan.errors),
        "ignored": plan.ignored.iter().map(|id| id.to_string()).collect::<Vec<_>>(),
        "not_owned": problems(&plan.not_owned),
        "instances_to_roll": roll,
        "kiam_assume_role_arn": pods.kiam_server_arn,
        "effective_access": effective_access(effective),
    });
    if let Some(report) = applied {
        doc["applied"] = applied_report(report);
    }
    doc
}

/// What an apply did: the document's `applied`.
pub fn applied_report(report: &ApplyReport) -> Value {
    json!({
        "succeeded": report.succeeded(),
        "done": report.applied.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
        "failed": report.failed.iter().map(|(c, e)| json!({"id": c.id.to_string(), "error": e.to_string()})).collect::<Vec<_>>(),
        "not_started": report.not_started.iter().map(|c| c.id.to_string()).collect::<Vec<_>>(),
    })
}
