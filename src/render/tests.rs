//! The text `update` prints, checked through the functions the CLI prints with.

use super::*;
use crate::apply::ApplyReport;
use crate::cloud::CloudError;
use crate::model::{ResourceId, ResourceType};
use crate::plan::{Operation, Problem};
use crate::rolling::StaleInstance;

const OLD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage"],"Resource":"*"}]}"#;
const NEW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"*"}]}"#;

/// A policy document field: `old` is the account's, `new` the spec's.
fn document(old: &str, new: &str) -> Vec<FieldChange> {
    vec![FieldChange {
        field: "PolicyDocument",
        old: Some(old.into()),
        new: Some(new.into()),
        document: true,
        optional: false,
    }]
}

/// The dry run as the CLI prints it, for a plan alone.
fn text(plan: Plan) -> String {
    let outcome = Outcome {
        plan,
        ..Outcome::default()
    };
    let text = render_plan(&outcome, Style::PLAIN);
    let header = generation_header(&outcome.generation);
    assert!(text.starts_with(&header), "{text}");
    text[header.len()..].to_string()
}

#[test]
fn the_plan_starts_by_naming_the_kops_generation_and_why() {
    let outcome = Outcome {
        generation: crate::spec::Chosen {
            generation: crate::spec::Generation::Kops136,
            reason: "inferred from spec.kubernetesVersion 1.31.0 at c.yaml:7:22".into(),
        },
        ..Outcome::default()
    };
    assert_eq!(
        render_plan(&outcome, Style::PLAIN),
        "IAM of kops 1.36 (inferred from spec.kubernetesVersion 1.31.0 at c.yaml:7:22)\n\nNo changes need to be applied\n"
    );
}

fn modify_policy() -> Change {
    Change {
        id: ResourceId::new(ResourceType::IamRolePolicy, "additional.nodes.c"),
        kind: ChangeKind::Modify,
        fields: document(OLD, NEW),
        operation: Operation::PutRolePolicy {
            role: "nodes.c".into(),
            name: "additional.nodes.c".into(),
            document: NEW.into(),
        },
        stage: 0,
    }
}

fn create_profile() -> Change {
    Change {
        id: ResourceId::new(ResourceType::IamInstanceProfile, "nodes.c"),
        kind: ChangeKind::Create,
        fields: vec![FieldChange {
            field: "Path",
            old: None,
            new: Some("/".into()),
            document: false,
            optional: false,
        }],
        operation: Operation::CreateInstanceProfile {
            name: "nodes.c".into(),
            path: "/".into(),
            tags: Default::default(),
        },
        stage: 0,
    }
}

#[test]
fn an_empty_plan_says_no_changes() {
    assert_eq!(text(Plan::default()), "No changes need to be applied\n");
}

#[test]
fn a_plan_is_rendered_in_kops_sections_with_a_unified_diff() {
    let plan = Plan {
        changes: vec![create_profile(), modify_policy()],
        ..Plan::default()
    };
    let expected = "Will create resources:
  IAMInstanceProfile/nodes.c
  \tPath                \t/

Will modify resources:
  IAMRolePolicy/additional.nodes.c
  \tPolicyDocument
  \t    --- actual
  \t    +++ desired
  \t    @@ -4,7 +4,8 @@
  \t         {
  \t           \"Effect\": \"Allow\",
  \t           \"Action\": [
  \t    -        \"sqs:ReceiveMessage\"
  \t    +        \"sqs:ReceiveMessage\",
  \t    +        \"sqs:DeleteMessage\"
  \t           ],
  \t           \"Resource\": \"*\"
  \t         }

Must specify --yes to apply changes
";
    assert_eq!(text(plan), expected);
}

#[test]
fn colour_marks_added_and_removed_lines_only_when_asked() {
    let plan = Plan {
        changes: vec![modify_policy()],
        ..Plan::default()
    };
    let outcome = Outcome {
        plan,
        ..Outcome::default()
    };
    let plain = render_plan(&outcome, Style::PLAIN);
    assert!(!plain.contains('\x1b'));
    let coloured = render_plan(&outcome, Style { color: true });
    assert!(coloured.contains("\x1b[32m+        \"sqs:DeleteMessage\"\x1b[0m"));
    assert!(coloured.contains("\x1b[31m-        \"sqs:ReceiveMessage\"\x1b[0m"));
}

#[test]
fn a_scalar_change_reads_old_arrow_new() {
    let mut change = create_profile();
    change.kind = ChangeKind::Modify;
    change.fields[0].old = Some("/old/".into());
    let plan = Plan {
        changes: vec![change],
        ..Plan::default()
    };
    assert!(text(plan).contains("\tPath                \t /old/ -> /\n"));
}

#[test]
fn plan_errors_are_listed_with_their_object() {
    let plan = Plan {
        errors: vec![Problem {
            id: ResourceId::new(ResourceType::IamInstanceProfileRole, "nodes.c"),
            message: "instance profile nodes.c holds role other".into(),
        }],
        ..Plan::default()
    };
    let out = text(plan);
    assert!(out.starts_with("Errors:\n  IAMInstanceProfileRole/nodes.c\n  \tinstance profile nodes.c holds role other\n"));
    assert!(
        out.ends_with("\nNothing was applied: fix the errors above first\n"),
        "{out}"
    );
}

#[test]
fn the_diff_ignores_key_order_differences() {
    let reordered = r#"{"Statement":[{"Resource":"*","Action":["sqs:ReceiveMessage"],"Effect":"Allow"}],"Version":"2012-10-17"}"#;
    assert_eq!(document_diff(OLD, reordered), "");
}

/// kops's legacy masters' policy holds `route53:ListHostedZones` twice: 9 statements, as
/// written and as sent, though IAM would read 8 distinct ones.
#[test]
fn a_new_policy_counts_its_statements_as_written_duplicates_included() {
    let list_zones = r#"{"Effect":"Allow","Action":["route53:ListHostedZones"],"Resource":["*"]}"#;
    let mut statements = vec![list_zones.to_string(); 2];
    statements.extend(
        (0..7).map(|i| {
            format!(r#"{{"Effect":"Allow","Action":["ec2:Action{i}"],"Resource":["*"]}}"#)
        }),
    );
    let document = format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    );
    let change = Change {
        id: ResourceId::new(ResourceType::IamRolePolicy, "masters.c"),
        kind: ChangeKind::Create,
        fields: vec![FieldChange {
            field: "PolicyDocument",
            old: None,
            new: Some(document.clone()),
            document: true,
            optional: false,
        }],
        operation: Operation::PutRolePolicy {
            role: "masters.c".into(),
            name: "masters.c".into(),
            document: document.clone(),
        },
        stage: 0,
    };
    let plan = Plan {
        changes: vec![change],
        ..Plan::default()
    };
    let line = format!(
        "  \tPolicyDocument      \t9 statement(s), {} characters\n",
        policy::compact_len(&document)
    );
    assert!(text(plan).contains(&line), "expected {line:?}");
    assert_eq!(statement_count(r#"{"Statement":{"Effect":"Allow"}}"#), 1);
    assert_eq!(
        statement_count("%7B%22Statement%22%3A%5B%7B%7D%2C%7B%7D%5D%7D"),
        2
    );
    assert_eq!(statement_count("not json"), 0);
}

#[test]
fn drift_reads_from_expected_to_actual() {
    use crate::model::Lifecycle;
    use crate::plan::Drift;
    let plan = Plan {
        drift: vec![Drift {
            id: ResourceId::new(ResourceType::IamRolePolicy, "nodes.c"),
            lifecycle: Lifecycle::ExistsAndWarnIfChanges,
            // old: the account's document; new: the expected one.
            fields: document(NEW, OLD),
        }],
        ..Plan::default()
    };
    let out = text(plan);
    assert!(
        out.starts_with("Drift in objects rolecall only checks (not changed):\n  IAMRolePolicy/nodes.c (ExistsAndWarnIfChanges)\n  \tPolicyDocument\n  \t    --- expected\n  \t    +++ actual\n"),
        "{out}"
    );
    assert!(
        out.contains("  \t    +        \"sqs:DeleteMessage\"\n"),
        "{out}"
    );
    assert!(out.ends_with("No changes need to be applied\n"));
}

#[test]
fn a_dry_run_prints_the_plan_then_the_kiam_note_then_the_instances_to_roll() {
    let outcome = Outcome {
        cluster: "c".into(),
        plan: Plan {
            changes: vec![create_profile()],
            ..Plan::default()
        },
        pods: PodRoleSummary {
            kiam_server_arn: Some("arn:aws:iam::123456789012:role/kiam-server.c".into()),
            ..PodRoleSummary::default()
        },
        stale: vec![StaleInstance {
            id: "i-1".into(),
            group: "nodes".into(),
            current: None,
            expected: "nodes.c".into(),
        }],
        generation: crate::spec::Chosen::default(),
        access: Vec::new(),
        effective: Vec::new(),
    };
    let expected = "Will create resources:
  IAMInstanceProfile/nodes.c
  \tPath                \t/

kiam: run the kiam server with --assume-role-arn=arn:aws:iam::123456789012:role/kiam-server.c
`rolecall annotations` prints the namespace annotations.

Instances that need a rolling update (their instance profile is not their group's):
  i-1 (nodes)\t(no instance profile) -> nodes.c

Must specify --yes to apply changes
";
    let header = generation_header(&outcome.generation);
    assert_eq!(
        render_plan(&outcome, Style::PLAIN),
        format!("{header}{expected}")
    );
    assert!(render_plan(&outcome, Style::PLAIN).starts_with(&render_body(&outcome, Style::PLAIN)));
}

#[test]
fn an_apply_ends_with_its_count_or_with_nothing_when_it_stopped() {
    let plan = Plan {
        changes: vec![create_profile(), modify_policy()],
        ..Plan::default()
    };
    let done = ApplyReport {
        applied: plan.changes.clone(),
        ..ApplyReport::default()
    };
    assert_eq!(render_ending(&plan, Some(&done)), "\nApplied 2 changes.\n");
    let stopped = ApplyReport {
        applied: vec![create_profile()],
        failed: vec![(
            modify_policy(),
            CloudError {
                operation: "PutRolePolicy",
                target: "role nodes.c".into(),
                code: Some("Throttling".into()),
                message: "Rate exceeded".into(),
            },
        )],
        not_started: vec![],
    };
    assert_eq!(render_ending(&plan, Some(&stopped)), "");
}

#[test]
fn the_json_document_is_one_pretty_document_and_a_newline() {
    let outcome = Outcome {
        cluster: "c".into(),
        ..Outcome::default()
    };
    let out = json::render(&outcome, None);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["cluster"], "c");
    assert_eq!(doc["has_changes"], false);
    assert!(doc.get("applied").is_none());
    assert_eq!(
        out,
        format!("{}\n", serde_json::to_string_pretty(&doc).unwrap())
    );
}

/// A role's boundary changing from `old` to `new` (`None`: no boundary).
fn boundary_change(old: Option<&str>, new: Option<&str>) -> Change {
    let role = "nodes.c".to_string();
    Change {
        id: ResourceId::new(ResourceType::IamRole, &role),
        kind: ChangeKind::Modify,
        fields: vec![FieldChange {
            field: "PermissionsBoundary",
            old: old.map(str::to_string),
            new: new.map(str::to_string),
            document: false,
            optional: true,
        }],
        operation: match new {
            Some(arn) => Operation::PutRolePermissionsBoundary {
                role,
                arn: arn.into(),
            },
            None => Operation::DeleteRolePermissionsBoundary { role },
        },
        stage: 0,
    }
}

#[test]
fn a_boundary_added_changed_or_removed_reads_old_arrow_new_with_none() {
    let (a, b) = ("arn:aws:iam::1:policy/a", "arn:aws:iam::1:policy/b");
    let plan = Plan {
        changes: vec![
            boundary_change(None, Some(a)),
            boundary_change(Some(a), Some(b)),
            boundary_change(Some(b), None),
        ],
        ..Plan::default()
    };
    let out = text(plan);
    assert!(
        out.starts_with(&format!(
            "Will modify resources:\n  IAMRole/nodes.c\n  \tPermissionsBoundary \t (none) -> {a}\n  IAMRole/nodes.c\n  \tPermissionsBoundary \t {a} -> {b}\n  IAMRole/nodes.c\n  \tPermissionsBoundary \t {b} -> (none)\n"
        )),
        "{out}"
    );
}

#[test]
fn a_boundary_in_drift_reads_expected_but_found_with_none() {
    use crate::model::Lifecycle;
    use crate::plan::Drift;
    let a = "arn:aws:iam::1:policy/a";
    let plan = Plan {
        drift: vec![Drift {
            id: ResourceId::new(ResourceType::IamRole, "nodes.c"),
            lifecycle: Lifecycle::ExistsAndWarnIfChanges,
            fields: boundary_change(Some(a), None).fields,
        }],
        ..Plan::default()
    };
    let out = text(plan);
    assert!(
        out.contains(&format!(
            "  IAMRole/nodes.c (ExistsAndWarnIfChanges)\n  \tPermissionsBoundary \t expected (none) but found {a}\n"
        )),
        "{out}"
    );
}

#[test]
fn a_boundary_in_json_is_a_role_field_with_null_for_none() {
    let a = "arn:aws:iam::1:policy/a";
    let outcome = Outcome {
        plan: Plan {
            changes: vec![boundary_change(Some(a), None)],
            ..Plan::default()
        },
        ..Outcome::default()
    };
    let doc = json::plan_document(&outcome, None);
    let change = &doc["changes"][0];
    assert_eq!(change["id"], "IAMRole/nodes.c");
    assert_eq!(change["action"], "modify");
    assert_eq!(change["operation"], "DeleteRolePermissionsBoundary");
    assert_eq!(
        change["fields"][0],
        serde_json::json!({"field": "PermissionsBoundary", "old": a, "new": null, "document": false})
    );
}

#[test]
fn the_effective_access_of_roles_others_own_follows_the_plan_and_goes_into_the_json() {
    use crate::access::effective::{compare, RoleAccess};
    let expected = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":"*"}]}"#;
    let actual = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","s3:GetObject"],"Resource":"*"}]}"#;
    let outcome = Outcome {
        effective: vec![RoleAccess {
            role: "hand-made".into(),
            access: compare(&[expected], &[actual], &crate::access::expand),
        }],
        ..Outcome::default()
    };
    let text = render_plan(&outcome, Style::PLAIN);
    assert!(
        text.contains("Effective access of roles others own:\n  IAMRole/hand-made\n  \tmissing: ec2:DescribeRegions on *\n  \textra: s3:GetObject on *\n\n"),
        "{text}"
    );
    let doc = json::plan_document(&outcome, None);
    let role = &doc["effective_access"][0];
    assert_eq!(role["id"], "IAMRole/hand-made");
    assert_eq!(
        role["access"]["missing"][0]["action"],
        "ec2:DescribeRegions"
    );
    assert_eq!(role["access"]["extra"][0]["action"], "s3:GetObject");
    // No roles of others: an empty list, and no section.
    let none = Outcome::default();
    assert_eq!(
        json::plan_document(&none, None)["effective_access"],
        serde_json::json!([])
    );
    assert!(!render_plan(&none, Style::PLAIN).contains("Effective access"));
}

#[test]
fn objects_not_provably_owned_have_their_own_section_and_json_list() {
    let problem = Problem {
        id: ResourceId::new(ResourceType::IamRole, "bastions.c"),
        message: "not tagged".into(),
    };
    let plan = Plan {
        not_owned: vec![problem],
        ..Plan::default()
    };
    assert_eq!(
        text(plan.clone()),
        "Not deleted: not provably this cluster's (no ownership tag):\n  IAMRole/bastions.c\n  \tnot tagged\n\nNo changes need to be applied\n"
    );
    let outcome = Outcome {
        cluster: "c".into(),
        plan,
        ..Outcome::default()
    };
    let doc = json::plan_document(&outcome, None);
    assert_eq!(
        doc["not_owned"],
        serde_json::json!([{"id": "IAMRole/bastions.c", "message": "not tagged"}])
    );
    // delete's dry run says when nothing is left.
    assert_eq!(
        render_teardown_ending(&outcome, None),
        "Nothing of cluster c is left that rolecall can delete\n"
    );
    let pending = Outcome {
        plan: Plan {
            changes: vec![create_profile()],
            ..Plan::default()
        },
        ..Outcome::default()
    };
    assert_eq!(
        render_teardown_ending(&pending, None),
        format!("{MUST_SPECIFY_YES}\n")
    );
}
