//! IAM's grammar on the statements users write, each problem at its place.

use super::*;

/// `cluster.yaml:line:column` of the first `needle` in `text`.
fn place_of(text: &str, needle: &str) -> String {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    let column = line[..line.find(needle).unwrap()].chars().count() + 1;
    format!("cluster.yaml:{}:{column}", i + 1)
}

/// A node additional policy as a block scalar: a valid statement, then `second`.
fn block_policy(second: &str) -> String {
    with_cluster(&format!(
        "  additionalPolicies:\n    node: |\n      [\n        {{\"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"}},\n        {second}\n      ]\n"
    ))
}

#[test]
fn statements_break_iam_grammar_at_their_line_and_element() {
    const FIELD: &str = "spec.additionalPolicies.node";
    for (second, needle, message) in [
        (
            r#"{"Effect": "Allow", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Resource": "*"}"#,
            "statement 1 has no Action or NotAction; IAM needs exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:*", "NotAction""#,
            "statement 1 has both Action and NotAction; IAM takes exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}"#,
            r#""Action": "s3GetObject""#,
            "statement 1, Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *",
        ),
        (
            r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}"#,
            r#""Principal""#,
            "statement 1, Principal: an identity policy takes no Principal; IAM refuses it (\"Policy document should not specify a principal\"). Whom a role trusts belongs in its trust policy",
        ),
        (
            r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["key-id-1"]}"#,
            r#""Resource": ["key-id-1"]"#,
            "statement 1, Resource[0]: \"key-id-1\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:*"}"#,
            "statement 1 has no Resource or NotResource; IAM needs exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"SourceVpc": "vpc-1"}}}"#,
            r#""Condition""#,
            "statement 1, Condition.StringEquals.SourceVpc: is not a condition key: IAM needs a service prefix, such as aws:SourceIp or ec2:ResourceTag/Name",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualsIfExist": {"aws:SourceVpc": "vpc-1"}}}"#,
            r#""Condition""#,
            "statement 1, Condition.StringEqualsIfExist: is not a condition operator; IAM knows StringEquals, StringLike, ArnLike, Bool, IpAddress, NumericEquals, DateLessThan, Null and their relatives, with the IfExists suffix and the ForAllValues: and ForAnyValue: prefixes",
        ),
        (
            r#"{"Sid": "read all", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#,
            r#""Sid""#,
            "statement 1, Sid: \"read all\" is not a valid Sid; IAM takes only ASCII letters and digits",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Comment": "why"}"#,
            r#""Comment""#,
            "statement 1, Comment: is not a statement element; IAM knows Sid, Effect, Action, NotAction, Resource, NotResource and Condition",
        ),
    ] {
        let text = block_policy(second);
        assert_eq!(
            error(&text),
            format!("{}: {FIELD}: {message}", place_of(&text, needle)),
            "{second}"
        );
    }
    // The place is the line in the file: the policy starts at line 18.
    let text = block_policy(r#"{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}"#);
    assert!(error(&text).starts_with("cluster.yaml:20:29: "));
}

#[test]
fn sids_must_be_unique_within_a_policy() {
    let text = with_cluster(
        "  additionalPolicies:\n    node: |\n      [{\"Sid\": \"Queue\", \"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"},\n       {\"Sid\": \"Queue\", \"Effect\": \"Deny\", \"Action\": \"sqs:Delete*\", \"Resource\": \"*\"}]\n",
    );
    assert_eq!(
        error(&text),
        "cluster.yaml:19:9: spec.additionalPolicies.node: statement 1, Sid: \"Queue\" is also the Sid of statement 0; IAM needs Sids unique within a policy"
    );
}

#[test]
fn several_bad_statements_are_all_reported() {
    let text = block_policy(
        r#"{"Effect": "Allow", "Action": ["s3GetObject", "sqs:*"], "NotResource": "bucket"}"#,
    );
    let errors = parse(&text).unwrap_err().to_string();
    assert_eq!(
        errors,
        "cluster.yaml:20:29: spec.additionalPolicies.node: statement 1, Action[0]: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *\ncluster.yaml:20:65: spec.additionalPolicies.node: statement 1, NotResource: \"bucket\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it"
    );
    // In the order they stand in the file: the statement's own problem, at its start, first.
    let text = block_policy(
        r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}"#,
    );
    let places: Vec<String> = parse(&text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.location.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(places, ["cluster.yaml:20:9", "cluster.yaml:20:29"]);
}

#[test]
fn additional_policies_read_element_names_as_kops_does_but_inline_policies_do_not() {
    // kops matches Effect, Action, Resource and Condition in any case and writes them back
    // spelled so; an empty Condition it leaves out.
    let spec = parse(&with_cluster(
        "  additionalPolicies:\n    node: '[{\"effect\": \"Allow\", \"ACTION\": \"sqs:*\", \"resource\": \"*\", \"condition\": {}}]'\n",
    ))
    .unwrap();
    assert_eq!(
        spec.additional_policies[&InstanceRole::Node]
            .statements
            .len(),
        1
    );
    // A pod role's inline policy goes to IAM as written.
    let inline = "        inlinePolicy: '[{\"Effect\": \"Allow\", \"action\": \"s3:*\", \"Resource\": \"*\"}]'\n";
    assert_eq!(
        kube2iam_error_with(inline),
        "cluster.yaml:17:45: spec.iam.podIdentity.roles[0].inlinePolicy: statement 0, action: is not a statement element; element names are case-sensitive: write \"Action\""
    );
}

#[test]
fn a_policy_the_file_does_not_hold_line_by_line_is_placed_at_its_value() {
    // A double-quoted YAML string: escapes change the text, so only the value's place is
    // known, and the policy's own line when it has several.
    let one_line = with_cluster(
        "  additionalPolicies:\n    node: \"[{\\\"Effect\\\": \\\"Allow\\\", \\\"Action\\\": \\\"s3GetObject\\\", \\\"Resource\\\": \\\"*\\\"}]\"\n",
    );
    assert_eq!(
        error(&one_line),
        "cluster.yaml:17:11: spec.additionalPolicies.node: statement 0, Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *"
    );
    let two_lines = with_cluster(
        "  additionalPolicies:\n    node: \"[\\n {\\\"Effect\\\": \\\"Allow\\\", \\\"Resource\\\": \\\"*\\\"}]\"\n",
    );
    assert_eq!(
        error(&two_lines),
        "cluster.yaml:17:11: spec.additionalPolicies.node: statement 0 (line 2 of the policy) has no Action or NotAction; IAM needs exactly one of them"
    );
}
