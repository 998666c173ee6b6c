use super::*;
use crate::model::{ResourceId, ResourceType};
use crate::plan::{ChangeKind, FieldChange};

fn no_catalogue(_: &str) -> Vec<&'static str> {
    Vec::new()
}

fn s3_catalogue(pattern: &str) -> Vec<&'static str> {
    let all = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"];
    all.into_iter()
        .filter(|a| pattern_covers(&pattern.to_ascii_lowercase(), &a.to_ascii_lowercase()))
        .collect()
}

fn put(old: Option<&str>, new: &str) -> Change {
    Change {
        id: ResourceId::new(ResourceType::IamRolePolicy, "p"),
        kind: if old.is_some() {
            ChangeKind::Modify
        } else {
            ChangeKind::Create
        },
        fields: vec![FieldChange {
            field: "PolicyDocument",
            old: old.map(str::to_string),
            new: Some(new.to_string()),
            document: true,
            optional: false,
        }],
        operation: Operation::PutRolePolicy {
            role: "r".into(),
            name: "p".into(),
            document: new.into(),
        },
        stage: 0,
    }
}

fn doc(statements: &str) -> String {
    format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
}

#[test]
fn patterns_cover_only_what_they_match_for_every_expansion() {
    assert!(pattern_covers("s3:*", "s3:get*"));
    assert!(pattern_covers("*", "s3:*"));
    assert!(!pattern_covers("s3:get*", "s3:*"));
    assert!(
        !pattern_covers("s3:?", "s3:*"),
        "a ? is one character, a * any"
    );
    assert!(pattern_covers("s3:g*", "s3:g?t"));
    assert!(pattern_covers("arn:aws:s3:::b/*", "arn:aws:s3:::b/x/*"));
    assert!(!pattern_covers("arn:aws:s3:::b/x/*", "arn:aws:s3:::b/*"));
}

#[test]
fn widening_a_wildcard_is_added_and_narrowing_removed() {
    let old = doc(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::data/*"}"#);
    let new = doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::data/*"}"#);
    let diff = of_change(&put(Some(&old), &new)).unwrap();
    assert!(diff.widens());
    assert_eq!(diff.added.len(), 1);
    assert!(diff.removed.is_empty(), "s3:* covers s3:GetObject");
    assert_eq!(
        summary(&diff, &s3_catalogue),
        "adds s3:* (3 actions) on arn:aws:s3:::data/*"
    );
    let back = of_change(&put(Some(&new), &old)).unwrap();
    assert!(!back.widens());
    assert_eq!(
        summary(&back, &no_catalogue),
        "removes s3:* on arn:aws:s3:::data/*"
    );
}

#[test]
fn a_condition_dropped_adds_access_and_one_added_does_not() {
    let plain = doc(r#"{"Effect":"Allow","Action":"ec2:AttachVolume","Resource":"*"}"#);
    let tagged = doc(
        r#"{"Effect":"Allow","Action":"ec2:AttachVolume","Resource":"*","Condition":{"StringEquals":{"aws:ResourceTag/KubernetesCluster":"c"}}}"#,
    );
    assert!(of_change(&put(Some(&tagged), &plain)).unwrap().widens());
    assert!(!of_change(&put(Some(&plain), &tagged)).unwrap().widens());
}

#[test]
fn unchanged_access_in_another_shape_is_no_change() {
    let a = doc(r#"{"Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],"Resource":"*"}"#);
    let b = doc(
        r#"{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"},{"Effect":"Allow","Action":"s3:GetObject","Resource":["*"]}"#,
    );
    assert_eq!(of_change(&put(Some(&a), &b)), None);
}

#[test]
fn not_action_and_removed_denies_may_add_access() {
    let open = doc(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
    let diff = of_change(&put(None, &open)).unwrap();
    assert!(diff.widens());
    assert!(summary(&diff, &no_catalogue).contains("may add access: a statement with NotAction"));
    let denied = doc(
        r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}"#,
    );
    let allowed = doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"*"}"#);
    let diff = of_change(&put(Some(&denied), &allowed)).unwrap();
    assert!(diff.widens(), "removing a deny widens");
}

#[test]
fn trust_changes_list_principals() {
    let old = doc(
        r#"{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}"#,
    );
    let new = doc(
        r#"{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/x"},"Action":"sts:AssumeRole"}"#,
    );
    let change = Change {
        id: ResourceId::new(ResourceType::IamRole, "r"),
        kind: ChangeKind::Modify,
        fields: vec![FieldChange {
            field: "TrustPolicy",
            old: Some(old),
            new: Some(new.clone()),
            document: true,
            optional: false,
        }],
        operation: Operation::UpdateAssumeRolePolicy {
            role: "r".into(),
            trust_policy: new,
        },
        stage: 0,
    };
    let diff = of_change(&change).unwrap();
    assert_eq!(
        diff.principals_added,
        ["AWS:arn:aws:iam::123456789012:role/x"]
    );
    assert_eq!(diff.principals_removed, ["Service:ec2.amazonaws.com"]);
    assert!(diff.widens());
}

#[test]
fn json_entries_are_one_action_each() {
    let diff = of_change(&put(
        None,
        &doc(r#"{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/*"}"#),
    ))
    .unwrap();
    let entries = entries(&diff.added, &s3_catalogue);
    assert_eq!(entries.as_array().unwrap().len(), 3);
    assert_eq!(entries[0]["action"], "s3:GetObject");
    assert_eq!(entries[0]["effect"], "Allow");
    assert_eq!(entries[0]["resource"], "arn:aws:s3:::b/*");
}

#[test]
fn a_long_list_is_cut_short_and_patterns_keep_aws_spelling() {
    let many: Vec<String> = (0..9)
        .map(|i| {
            format!(
                r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b{i}/*"}}"#
            )
        })
        .collect();
    let diff = of_change(&put(None, &doc(&many.join(",")))).unwrap();
    let line = summary(&diff, &s3_catalogue);
    assert!(line.ends_with(", and 3 more"), "{line}");
    assert_eq!(line.matches("s3:GetObject").count(), 6, "{line}");
    let diff = of_change(&put(
        None,
        &doc(r#"{"Effect":"Allow","Action":"S3:GET*","Resource":"*"}"#),
    ))
    .unwrap();
    assert_eq!(
        summary(&diff, &s3_catalogue),
        "adds s3:Get* (1 action) on *"
    );
}
