//! Equivalence, decoding and display of policy documents.

use super::*;

const BASE: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":["*"]}]}"#;

fn same(a: &str, b: &str) {
    assert!(equivalent(a, b), "expected equivalent:\n{a}\n{b}");
    assert!(equivalent(b, a), "equivalence must be symmetric:\n{b}\n{a}");
}

fn differ(a: &str, b: &str) {
    assert!(!equivalent(a, b), "expected different:\n{a}\n{b}");
    assert!(!equivalent(b, a), "difference must be symmetric:\n{b}\n{a}");
}

#[test]
fn whitespace_does_not_matter() {
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<Value>(BASE).unwrap()).unwrap();
    same(BASE, &pretty);
}

#[test]
fn key_order_does_not_matter() {
    same(
        BASE,
        r#"{"Statement":[{"Resource":["*"],"Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Effect":"Allow"}],"Version":"2012-10-17"}"#,
    );
}

#[test]
fn a_string_equals_a_one_element_list() {
    same(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:GetObject"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn a_single_statement_object_equals_a_list_of_one() {
    same(
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
    );
}

#[test]
fn action_order_does_not_matter() {
    same(
        BASE,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeRegions","ec2:DescribeInstances"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn action_case_does_not_matter() {
    same(
        BASE,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["EC2:describeinstances","ec2:DescribeRegions"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn resource_order_does_not_matter_but_case_does() {
    let a = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::a","arn:aws:s3:::b"]}]}"#;
    same(
        a,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::b","arn:aws:s3:::a"]}]}"#,
    );
    differ(
        a,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":["arn:aws:s3:::A","arn:aws:s3:::b"]}]}"#,
    );
}

#[test]
fn statement_order_does_not_matter() {
    let one = r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}"#;
    let two = r#"{"Effect":"Deny","Action":"s3:PutObject","Resource":"*"}"#;
    same(
        &format!(r#"{{"Version":"2012-10-17","Statement":[{one},{two}]}}"#),
        &format!(r#"{{"Version":"2012-10-17","Statement":[{two},{one}]}}"#),
    );
}

#[test]
fn principal_order_and_star_forms_do_not_matter() {
    same(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/a","arn:aws:iam::111111111111:role/b"]},"Action":"sts:AssumeRole"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["arn:aws:iam::111111111111:role/b","arn:aws:iam::111111111111:role/a"]},"Action":"sts:AssumeRole"}]}"#,
    );
    same(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
    );
    same(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}"#,
    );
}

#[test]
fn a_changed_principal_differs() {
    differ(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    );
}

#[test]
fn effect_case_does_not_matter_but_effect_does() {
    same(
        BASE,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":["*"]}]}"#,
    );
    differ(
        BASE,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn a_changed_version_differs() {
    differ(BASE, &BASE.replace("2012-10-17", "2008-10-17"));
    differ(
        BASE,
        r#"{"Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn a_changed_or_added_sid_differs() {
    let with_sid = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;
    differ(with_sid, &with_sid.replace("\"A\"", "\"B\""));
    differ(
        with_sid,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    );
}

#[test]
fn an_added_action_differs() {
    differ(
        BASE,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions","ec2:DescribeVolumes"],"Resource":["*"]}]}"#,
    );
}

#[test]
fn action_and_not_action_are_not_the_same() {
    differ(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotAction":"s3:*","Resource":"*"}]}"#,
    );
}

#[test]
fn condition_values_compare_as_sets_of_strings() {
    same(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"ec2:ResourceTag/KubernetesCluster":"c"},"Bool":{"aws:SecureTransport":true}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"Bool":{"aws:securetransport":["true"]},"StringEquals":{"ec2:ResourceTag/KubernetesCluster":["c"]}}}]}"#,
    );
    differ(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"k":"a"}}}]}"#,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringLike":{"k":"a"}}}]}"#,
    );
}

#[test]
fn unparseable_text_equals_only_itself() {
    assert!(equivalent("not json", "not json"));
    assert!(!equivalent("not json", BASE));
    assert!(canonical("[1]").is_err());
}

#[test]
fn equivalence_is_reflexive_on_every_test_document() {
    for doc in [
        BASE,
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
    ] {
        assert!(equivalent(doc, doc));
    }
}

#[test]
fn aws_documents_are_percent_decoded() {
    let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
    assert_eq!(
        decode_aws_document(encoded),
        r#"{"Version":"2012-10-17","Statement":[]}"#
    );
    // Already decoded (as LocalStack or another SDK may return it): unchanged, even with a '%'.
    let plain = r#"{"Version":"2012-10-17","Statement":[{"Sid":"100%25"}]}"#;
    assert_eq!(decode_aws_document(plain), plain);
}

#[test]
fn display_puts_keys_in_one_order() {
    let shown = display(
        r#"{"Statement":[{"Resource":"*","Action":"s3:*","Effect":"Allow"}],"Version":"2012-10-17"}"#,
    );
    assert_eq!(
            shown,
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"s3:*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}"
        );
    assert_eq!(display("not json"), "not json");
}

#[test]
fn compact_len_removes_all_white_space_and_counts_bytes() {
    assert_eq!(
        compact_len("{\n  \"a\": [ 1, 2 ]\n}"),
        "{\"a\":[1,2]}".len()
    );
    assert_eq!(compact_len("\"a b\""), "\"ab\"".len());
    assert_eq!(compact_len("\t\r\n\u{a0}\u{2003}x"), 1);
    assert_eq!(compact_len("\"é\""), 4);
    assert_eq!(compact_len(""), 0);
}
