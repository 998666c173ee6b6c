//! The stop-after-stage rule, against a fake executor that fails the operations it is told to.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::*;
use crate::model::{ResourceId, ResourceType, Tags};
use crate::plan::ChangeKind;

/// Fails the operations on the roles in `failing` at once; the others succeed after a
/// short wait, so that a failure is seen while the rest of its stage is still running.
#[derive(Clone, Default)]
struct Fake {
    failing: Arc<BTreeSet<String>>,
    attempted: Arc<Mutex<Vec<String>>>,
}

impl Fake {
    fn failing(roles: &[&str]) -> Fake {
        Fake {
            failing: Arc::new(roles.iter().map(|r| r.to_string()).collect()),
            ..Fake::default()
        }
    }

    fn attempted(&self) -> Vec<String> {
        self.attempted.lock().unwrap().clone()
    }
}

impl Executor for Fake {
    fn execute(&self, op: &Operation) -> impl Future<Output = Result<(), CloudError>> + Send {
        let role = op.role().unwrap_or_default().to_string();
        self.attempted.lock().unwrap().push(role.clone());
        let result = if self.failing.contains(&role) {
            Err(CloudError {
                operation: op.action(),
                target: op.target(),
                code: Some("AccessDenied".into()),
                message: "not allowed".into(),
            })
        } else {
            Ok(())
        };
        async move {
            if result.is_ok() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            result
        }
    }
}

/// A change that creates role `name` in `stage`.
fn create(name: &str, stage: u8) -> Change {
    Change {
        id: ResourceId::new(ResourceType::IamRole, name),
        kind: ChangeKind::Create,
        fields: vec![],
        operation: Operation::CreateRole {
            name: name.into(),
            path: "/".into(),
            trust_policy: "{}".into(),
            tags: Tags::new(),
            permissions_boundary: None,
        },
        stage,
    }
}

/// Stages 0, 1 and 2, listed out of stage order as a sorted plan may list them.
fn three_stages() -> Plan {
    Plan {
        changes: vec![
            create("c1", 2),
            create("b1", 1),
            create("a1", 0),
            create("b2", 1),
            create("a2", 0),
        ],
        ..Plan::default()
    }
}

async fn run(fake: &Fake, plan: &Plan) -> (ApplyReport, String) {
    let mut out = Vec::new();
    let report = apply(fake, plan, &mut out, false).await;
    (report, String::from_utf8(out).unwrap())
}

fn sorted(mut names: Vec<String>) -> Vec<String> {
    names.sort();
    names
}

/// The roles of `changes`, sorted: changes of one stage finish in any order.
fn names(changes: &[Change]) -> Vec<String> {
    sorted(changes.iter().map(|c| c.id.name.clone()).collect())
}

/// Applied, failed and not attempted.
fn counts(report: &ApplyReport) -> (usize, usize, usize) {
    (
        report.applied.len(),
        report.failed.len(),
        report.not_started.len(),
    )
}

/// The printed lines, sorted for the same reason.
fn sorted_lines(out: &str) -> Vec<String> {
    sorted(out.lines().map(str::to_string).collect())
}

/// The line apply prints for a role it created.
fn created(name: &str) -> String {
    format!("{:<26}IAMRole/{name}", "CreateRole")
}

/// Each name's stage, from its first letter (`a` is stage 0).
fn stage_of(name: &str) -> u8 {
    name.as_bytes()[0] - b'a'
}

#[tokio::test]
async fn success_applies_every_change_in_stage_order() {
    let fake = Fake::default();
    let (report, out) = run(&fake, &three_stages()).await;
    assert!(report.succeeded());
    assert_eq!(names(&report.applied), ["a1", "a2", "b1", "b2", "c1"]);
    assert!(report.failed.is_empty() && report.not_started.is_empty());
    let stages: Vec<u8> = fake.attempted().iter().map(|n| stage_of(n)).collect();
    assert!(
        stages.is_sorted(),
        "attempted out of stage order: {stages:?}"
    );
    assert_eq!(
        sorted_lines(&out),
        ["a1", "a2", "b1", "b2", "c1"].map(created)
    );
}

#[tokio::test]
async fn a_failure_leaves_every_later_stage_not_attempted() {
    let fake = Fake::failing(&["a1"]);
    let (report, out) = run(&fake, &three_stages()).await;
    assert!(!report.succeeded());
    let failed: Vec<Change> = report.failed.iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(names(&failed), ["a1"]);
    assert_eq!(names(&report.applied), ["a2"]);
    assert_eq!(names(&report.not_started), ["b1", "b2", "c1"]);
    assert_eq!(sorted(fake.attempted()), ["a1", "a2"]);
    let error = "Error: IAMRole/a1: CreateRole role a1: AccessDenied: not allowed";
    assert_eq!(sorted_lines(&out), [created("a2"), error.to_string()]);
}

#[tokio::test]
async fn a_failure_does_not_stop_the_rest_of_its_stage() {
    let fake = Fake::failing(&["b1"]);
    let (report, _) = run(&fake, &three_stages()).await;
    // b2 finishes after b1 has failed, and still counts as applied.
    assert_eq!(names(&report.applied), ["a1", "a2", "b2"]);
    assert_eq!(report.failed.len(), 1);
    assert_eq!(names(&report.not_started), ["c1"]);
    assert_eq!(
        report.failed[0].1.to_string(),
        "CreateRole role b1: AccessDenied: not allowed"
    );
}

#[tokio::test]
async fn every_failure_of_a_stage_is_reported() {
    let fake = Fake::failing(&["a1", "a2"]);
    let (report, _) = run(&fake, &three_stages()).await;
    assert_eq!(counts(&report), (0, 2, 3));
}

#[tokio::test]
async fn a_failure_in_the_last_stage_leaves_nothing_not_attempted() {
    let fake = Fake::failing(&["c1"]);
    let (report, _) = run(&fake, &three_stages()).await;
    assert!(!report.succeeded());
    assert_eq!(counts(&report), (4, 1, 0));
}

#[tokio::test]
async fn an_empty_plan_attempts_nothing_and_succeeds() {
    let fake = Fake::default();
    let (report, out) = run(&fake, &Plan::default()).await;
    assert!(report.succeeded() && report.applied.is_empty());
    assert!(fake.attempted().is_empty() && out.is_empty());
}

#[tokio::test]
async fn an_action_name_longer_than_the_column_is_still_followed_by_a_space() {
    let fake = Fake::default();
    let mut plan = Plan::default();
    for operation in [
        Operation::PutRolePermissionsBoundary {
            role: "r".into(),
            arn: "arn:aws:iam::000000000000:policy/b".into(),
        },
        Operation::DeleteRolePermissionsBoundary { role: "r".into() },
    ] {
        plan.changes.push(Change {
            id: ResourceId::new(ResourceType::IamRole, "r"),
            kind: ChangeKind::Modify,
            fields: vec![],
            operation,
            stage: 0,
        });
    }
    let (report, out) = run(&fake, &plan).await;
    assert!(report.succeeded());
    assert_eq!(
        sorted_lines(&out),
        [
            "DeleteRolePermissionsBoundary IAMRole/r",
            "PutRolePermissionsBoundary IAMRole/r",
        ]
    );
}
