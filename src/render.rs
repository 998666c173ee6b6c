//! What `update` prints for people, in kops's layout: sections of `Type/name` objects,
//! fields as `old -> new`, policy documents as unified diffs of pretty JSON, then the notes,
//! the instances to roll and the closing line. The CLI prints through these functions and
//! nothing else, so the tests of this module check the CLI's real output.

use std::fmt::Write as _;

pub mod json;

use anstyle::{AnsiColor, Style as Paint};
use similar::TextDiff;

use crate::access::AccessDiff;
use crate::apply::ApplyReport;
use crate::desired::pod_roles::PodRoleSummary;
use crate::plan::{Change, ChangeKind, FieldChange, Plan, Problem};
use crate::reconcile::Outcome;
use crate::{policy, rolling};

pub const MUST_SPECIFY_YES: &str = "Must specify --yes to apply changes";
pub const NO_CHANGES: &str = "No changes need to be applied";

/// Colour or not; the CLI asks anstream (a terminal, NO_COLOR, CLICOLOR_FORCE, --no-color).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    pub color: bool,
}

const RED: Paint = AnsiColor::Red.on_default();
const GREEN: Paint = AnsiColor::Green.on_default();
const YELLOW: Paint = AnsiColor::Yellow.on_default();
const CYAN: Paint = AnsiColor::Cyan.on_default();
const BOLD: Paint = Paint::new().bold();

impl Style {
    pub const PLAIN: Style = Style { color: false };

    fn paint(self, paint: Paint, text: &str) -> String {
        if self.color {
            format!("{paint}{text}{paint:#}")
        } else {
            text.to_string()
        }
    }
}

/// The whole text of a dry run, exactly as `rolecall update` prints it.
pub fn render_plan(outcome: &Outcome, style: Style) -> String {
    format!(
        "{}{}",
        render_body(outcome, style),
        render_ending(&outcome.plan, None)
    )
}

/// What `update` prints before it applies anything: the plan, what the pod roles need
/// outside IAM, and the instances to roll.
pub fn render_body(outcome: &Outcome, style: Style) -> String {
    format!(
        "{}{}{}{}{}",
        generation_header(&outcome.generation),
        render_changes(&outcome.plan, &outcome.access, style),
        render_effective(&outcome.effective, style),
        pod_role_notes(&outcome.pods),
        rolling::render(&outcome.stale)
    )
}

/// The first line: which kops release's IAM the plan builds, and why, so that a user
/// whose cluster runs another release sees it before anything else.
pub fn generation_header(chosen: &crate::spec::Chosen) -> String {
    format!("IAM of {} ({})\n\n", chosen.generation, chosen.reason)
}

/// What `update` prints last: kops's closing line after a dry run (`report` is `None`), the
/// count after an apply that succeeded, and nothing after one that stopped (the error says
/// it, on stderr).
pub fn render_ending(plan: &Plan, report: Option<&ApplyReport>) -> String {
    match report {
        None => format!("{}\n", closing_line(plan)),
        Some(r) if r.succeeded() => format!("\nApplied {} changes.\n", r.applied.len()),
        Some(_) => String::new(),
    }
}

/// The plan's body: the change sections and the plan's errors, without the closing line.
fn render_changes(plan: &Plan, access: &[Option<AccessDiff>], style: Style) -> String {
    let mut out = String::new();
    for (kind, title) in [
        (ChangeKind::Create, "Will create resources:"),
        (ChangeKind::Modify, "Will modify resources:"),
        (ChangeKind::Delete, "Will delete resources:"),
    ] {
        let changes: Vec<&Change> = plan.changes_of(kind).collect();
        if changes.is_empty() {
            continue;
        }
        let _ = writeln!(out, "{title}");
        for change in changes {
            render_change(&mut out, change, style);
        }
        out.push('\n');
    }
    render_access(&mut out, plan, access, style);
    if !plan.drift.is_empty() {
        let _ = writeln!(out, "Drift in objects rolecall only checks (not changed):");
        for d in &plan.drift {
            let _ = writeln!(out, "  {} ({})", d.id, d.lifecycle);
            for field in &d.fields {
                render_drift_field(&mut out, field, style);
            }
        }
        out.push('\n');
    }
    problems(&mut out, "Warnings:", YELLOW.bold(), &plan.warnings, style);
    problems(&mut out, "Errors:", RED.bold(), &plan.errors, style);
    if !plan.ignored.is_empty() {
        let _ = writeln!(out, "Ignored (lifecycle Ignore: neither read nor written):");
        for id in &plan.ignored {
            let _ = writeln!(out, "  {id}");
        }
        out.push('\n');
    }
    problems(&mut out, NOT_OWNED, YELLOW, &plan.not_owned, style);
    out
}

/// The title of the objects a deletion leaves alone because nothing proves them this
/// cluster's.
pub const NOT_OWNED: &str = "Not deleted: not provably this cluster's (no ownership tag):";

/// What `delete` prints last: as `update`, except that a plan with nothing to delete says
/// so in the teardown's words.
pub fn render_teardown_ending(outcome: &Outcome, report: Option<&ApplyReport>) -> String {
    let plan = &outcome.plan;
    if report.is_none() && plan.errors.is_empty() && !plan.has_changes() {
        return format!(
            "Nothing of cluster {} is left that rolecall can delete\n",
            outcome.cluster
        );
    }
    render_ending(plan, report)
}

/// The effective access of the roles others own (docs/access.md): per role, what kops
/// would grant that it lacks (red: the cluster may break) and what it has beyond that.
fn render_effective(roles: &[crate::access::effective::RoleAccess], style: Style) -> String {
    use crate::access::effective::summary;
    let mut out = String::new();
    if roles.is_empty() {
        return out;
    }
    let expand = &crate::access::expand;
    let _ = writeln!(out, "Effective access of roles others own:");
    for r in roles {
        let _ = writeln!(out, "  {}", r.id());
        let missing = summary(&r.access.missing, expand);
        let missing = if r.access.missing.is_empty() {
            missing
        } else {
            style.paint(RED, &missing)
        };
        let _ = writeln!(out, "  \tmissing: {missing}");
        let _ = writeln!(out, "  \textra: {}", summary(&r.access.extra, expand));
        for u in &r.access.unclear {
            let _ = writeln!(out, "  \tnot judged: {u}");
        }
    }
    out.push('\n');
    out
}

/// One line per change that grants or takes away access (docs/access.md), widening ones
/// in colour.
fn render_access(out: &mut String, plan: &Plan, access: &[Option<AccessDiff>], style: Style) {
    let lines: Vec<(&Change, &AccessDiff)> = plan
        .changes
        .iter()
        .zip(access)
        .filter_map(|(c, a)| a.as_ref().map(|a| (c, a)))
        .collect();
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(out, "Access:");
    for (change, diff) in lines {
        let text = crate::access::summary(diff, &crate::access::expand);
        let text = if diff.widens() {
            style.paint(YELLOW, &text)
        } else {
            text
        };
        let _ = writeln!(out, "  {}\t{}", change.id, text);
    }
    out.push('\n');
}

fn problems(out: &mut String, title: &str, color: Paint, list: &[Problem], style: Style) {
    if list.is_empty() {
        return;
    }
    let _ = writeln!(out, "{}", style.paint(color, title));
    for p in list {
        let _ = writeln!(out, "  {}\n  \t{}", p.id, p.message);
    }
    out.push('\n');
}

/// Drift reads from what the spec expects to what the account holds.
fn render_drift_field(out: &mut String, field: &FieldChange, style: Style) {
    let actual = field.old.as_deref();
    let expected = field.new.as_deref();
    if field.document {
        let _ = writeln!(out, "  \t{}", field.field);
        let diff = labelled_diff(
            expected.unwrap_or(""),
            actual.unwrap_or(""),
            "expected",
            "actual",
        );
        write_diff(out, &diff, style);
    } else if field.optional {
        let (a, e) = (or_none(actual), or_none(expected));
        let _ = writeln!(out, "  \t{:<20}\t expected {e} but found {a}", field.field);
    } else if let (Some(a), Some(e)) = (actual, expected) {
        let _ = writeln!(out, "  \t{:<20}\t expected {e} but found {a}", field.field);
    } else {
        // A descriptive field (the role a policy belongs to), not a difference.
        let value = actual.or(expected).unwrap_or_default();
        let _ = writeln!(out, "  \t{:<20}\t{value}", field.field);
    }
}

/// What the user must do outside IAM for the pod roles to work.
fn pod_role_notes(summary: &PodRoleSummary) -> String {
    match &summary.kiam_server_arn {
        Some(arn) => format!(
            "kiam: run the kiam server with --assume-role-arn={arn}\n`rolecall annotations` prints the namespace annotations.\n\n"
        ),
        None => String::new(),
    }
}

pub const NOT_APPLIED: &str = "Nothing was applied: fix the errors above first";

/// kops's last line of a dry run; a plan with errors is never applied, so it says that.
fn closing_line(plan: &Plan) -> &'static str {
    if !plan.errors.is_empty() {
        NOT_APPLIED
    } else if plan.has_changes() {
        MUST_SPECIFY_YES
    } else {
        NO_CHANGES
    }
}

fn render_change(out: &mut String, change: &Change, style: Style) {
    let _ = writeln!(out, "  {}", change.id);
    for field in &change.fields {
        render_field(out, change.kind, field, style);
    }
}

fn render_field(out: &mut String, kind: ChangeKind, field: &FieldChange, style: Style) {
    if field.document {
        match kind {
            // A new or deleted document is not repeated in full: its object says enough,
            // and a first apply would otherwise print every policy.
            ChangeKind::Create | ChangeKind::Delete => {
                let doc = field
                    .new
                    .as_deref()
                    .or(field.old.as_deref())
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "  \t{:<20}\t{} statement(s), {} characters",
                    field.field,
                    statement_count(doc),
                    policy::compact_len(doc)
                );
            }
            ChangeKind::Modify => {
                let _ = writeln!(out, "  \t{}", field.field);
                let diff = document_diff(
                    field.old.as_deref().unwrap_or(""),
                    field.new.as_deref().unwrap_or(""),
                );
                write_diff(out, &diff, style);
            }
        }
        return;
    }
    if field.optional && kind == ChangeKind::Modify {
        let (old, new) = (or_none(field.old.as_deref()), or_none(field.new.as_deref()));
        let _ = writeln!(out, "  \t{:<20}\t {old} -> {new}", field.field);
        return;
    }
    match (&field.old, &field.new) {
        (Some(old), Some(new)) => {
            let _ = writeln!(out, "  \t{:<20}\t {old} -> {new}", field.field);
        }
        (None, Some(v)) | (Some(v), None) => {
            let _ = writeln!(out, "  \t{:<20}\t{v}", field.field);
        }
        (None, None) => {}
    }
}

/// An optional setting's value, `(none)` when absent.
fn or_none(value: Option<&str>) -> &str {
    value.unwrap_or("(none)")
}

/// The statements as written. kops's legacy policies hold the same statement twice
/// (`route53:ListHostedZones`), which the canonical form, a set, would count once.
fn statement_count(doc: &str) -> usize {
    let value: serde_json::Value = match serde_json::from_str(&policy::decode_aws_document(doc)) {
        Ok(v) => v,
        Err(_) => return 0,
    };
    match value.get("Statement") {
        Some(serde_json::Value::Array(statements)) => statements.len(),
        Some(serde_json::Value::Object(_)) => 1,
        _ => 0,
    }
}

/// A unified diff, `actual` against `desired`, of the two documents in display form.
pub fn document_diff(actual: &str, desired: &str) -> String {
    labelled_diff(actual, desired, "actual", "desired")
}

fn labelled_diff(from: &str, to: &str, from_label: &str, to_label: &str) -> String {
    // A missing document is shown as empty, so the diff is all additions or removals.
    let show = |doc: &str| {
        if doc.is_empty() {
            String::new()
        } else {
            format!("{}\n", policy::display(doc))
        }
    };
    let (old, new) = (show(from), show(to));
    TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(from_label, to_label)
        .to_string()
}

/// A unified diff, each line indented under its field and painted.
fn write_diff(out: &mut String, diff: &str, style: Style) {
    for line in diff.lines() {
        let _ = writeln!(out, "  \t    {}", paint_diff_line(line, style));
    }
}

fn paint_diff_line(line: &str, style: Style) -> String {
    if line.starts_with("+++") || line.starts_with("---") {
        style.paint(BOLD, line)
    } else if line.starts_with('+') {
        style.paint(GREEN, line)
    } else if line.starts_with('-') {
        style.paint(RED, line)
    } else if line.starts_with("@@") {
        style.paint(CYAN, line)
    } else {
        line.to_string()
    }
}

#[cfg(test)]
mod tests;
