use super::*;
use crate::model::{ResourceId, ResourceType};
use crate::plan::{Operation, Problem};

const OLD: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage"],"Resource":"*"}]}"#;
const NEW: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sqs:ReceiveMessage","sqs:DeleteMessage"],"Resource":"*"}]}"#;

fn modify_policy() -> Change {
    Change {
        id: ResourceId::new(ResourceType::IamRolePolicy, "additional.nodes.c"),
        kind: ChangeKind::Modify,
        fields: vec![FieldChange {
            field: "PolicyDocument",
            old: Some(OLD.into()),
            new: Some(NEW.into()),
            document: true,
        }],
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
    assert_eq!(
        render_plan(&Plan::default(), Style::PLAIN),
        "No changes need to be applied\n"
    );
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
    assert_eq!(render_plan(&plan, Style::PLAIN), expected);
}

#[test]
fn colour_marks_added_and_removed_lines_only_when_asked() {
    let plan = Plan {
        changes: vec![modify_policy()],
        ..Plan::default()
    };
    let plain = render_plan(&plan, Style::PLAIN);
    assert!(!plain.contains('\x1b'));
    let coloured = render_plan(&plan, Style { color: true });
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
    assert!(render_plan(&plan, Style::PLAIN).contains("\tPath                \t /old/ -> /\n"));
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
    let out = render_plan(&plan, Style::PLAIN);
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

#[test]
fn drift_reads_from_expected_to_actual() {
    use crate::model::Lifecycle;
    use crate::plan::Drift;
    let plan = Plan {
        drift: vec![Drift {
            id: ResourceId::new(ResourceType::IamRolePolicy, "nodes.c"),
            lifecycle: Lifecycle::ExistsAndWarnIfChanges,
            // old: the account's document; new: the expected one.
            fields: vec![FieldChange {
                field: "PolicyDocument",
                old: Some(NEW.into()),
                new: Some(OLD.into()),
                document: true,
            }],
        }],
        ..Plan::default()
    };
    let out = render_plan(&plan, Style::PLAIN);
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
