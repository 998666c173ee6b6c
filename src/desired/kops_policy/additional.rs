//! `spec.additionalPolicies.<role>` rendered as kops 1.10 renders it.
//!
//! kops decodes the user's JSON array into its own statement type and writes it back in a
//! policy with Version 2012-10-17. What that does to the text, and what rolecall does:
//! - Keys come out as `Effect`, `Action`, `Resource`, `Condition`. Go matches JSON keys to
//!   fields case-insensitively, so `action` is written back as `Action`; when two keys
//!   match one field the later wins. rolecall does the same.
//! - `Action` and `Resource` keep their shape: a string stays a string, an array (even of
//!   one) stays an array. A missing one is written as `[]`, a `null` one as `""`.
//! - `Condition` is a Go map: its keys (and those of the maps inside) come out sorted, and
//!   its numbers as Go float64. Empty or `null`, it is left out.
//! - kops DROPS every other key: `Sid`, `Principal`, `NotAction`, `NotResource`... rolecall
//!   does not drop the user's data: it writes those keys after the known ones, in the
//!   user's order. A statement with `NotAction` (or `NotResource`) and no `Action` (or
//!   `Resource`) gets no empty `Action: []` either, since IAM rejects a statement with both.
//!   Such policies differ from kops's output, which lost part of what the user wrote.
//!   Values kops fails on or garbles (a number in an `Action` list, a
//!   string `Condition`) are likewise kept as written.
//! - An empty array gives kops's nil statement list, written as `"Statement": null`.

use serde_json::{Map, Value};

use super::document::policy_json;
use crate::desired::gojson::{KeyOrder, Node};

const KNOWN: [&str; 4] = ["Effect", "Action", "Resource", "Condition"];

pub(super) fn render(statements: &[Value]) -> String {
    let nodes: Vec<Node> = statements.iter().map(statement_node).collect();
    policy_json((!nodes.is_empty()).then_some(nodes))
}

fn statement_node(statement: &Value) -> Node {
    match statement {
        Value::Object(map) => object_statement(map),
        // The spec layer admits only objects; anything else is kept as written.
        other => Node::from_value(other, KeyOrder::AsWritten),
    }
}

fn object_statement(map: &Map<String, Value>) -> Node {
    let known = |field: &str| known_value(map, field);
    let mut members = vec![(
        "Effect".to_string(),
        match known("Effect") {
            Some(v) => Node::from_value(v, KeyOrder::AsWritten),
            None => Node::str(""),
        },
    )];
    for (field, negated) in [("Action", "NotAction"), ("Resource", "NotResource")] {
        if let Some(node) = values_node(known(field), has_key(map, negated)) {
            members.push((field.to_string(), node));
        }
    }
    if let Some(condition) = known("Condition").filter(|c| !is_empty_condition(c)) {
        members.push((
            "Condition".to_string(),
            Node::from_value(condition, KeyOrder::Sorted),
        ));
    }
    members.extend(
        map.iter()
            .filter(|(key, _)| known_field(key).is_none())
            .map(|(key, value)| (key.clone(), Node::from_value(value, KeyOrder::AsWritten))),
    );
    Node::Object(members)
}

/// `Action` or `Resource` as kops's stringorslice writes it back.
fn values_node(value: Option<&Value>, negated_present: bool) -> Option<Node> {
    match value {
        None if negated_present => None,
        None => Some(Node::Array(Vec::new())),
        // Go hands `null` to the type's decoder, which reads it as one empty string.
        Some(Value::Null) => Some(Node::str("")),
        Some(v) => Some(Node::from_value(v, KeyOrder::AsWritten)),
    }
}

fn is_empty_condition(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// The value Go would decode into `field`: the last key matching it, exactly or by case.
fn known_value<'a>(map: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    map.iter()
        .rev()
        .find(|(key, _)| known_field(key) == Some(field))
        .map(|(_, v)| v)
}

fn has_key(map: &Map<String, Value>, wanted: &str) -> bool {
    map.keys().any(|k| k == wanted)
}

/// The statement field a JSON key decodes into, matched as Go's `bytes.EqualFold`
/// (simple case folding, which also maps the long s `ſ` to `s` and the Kelvin sign to `k`).
fn known_field(key: &str) -> Option<&'static str> {
    let folded: String = key.chars().map(fold).collect();
    KNOWN.into_iter().find(|k| k.to_ascii_lowercase() == folded)
}

fn fold(c: char) -> char {
    match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The policy kops would write for these statements (a JSON array).
    fn rendered(v: Value) -> String {
        render(v.as_array().unwrap())
    }

    fn assert_contains(text: &str, part: &str) {
        assert!(text.contains(part), "{text}");
    }

    #[test]
    fn renders_like_kops_with_version_first() {
        let text = rendered(json!([
            {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::b/*"}
        ]));
        assert_eq!(
            text,
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"s3:GetObject\"\n      ],\n      \"Resource\": \"arn:aws:s3:::b/*\"\n    }\n  ]\n}"
        );
    }

    #[test]
    fn reorders_known_keys_and_keeps_shapes() {
        let text = rendered(json!([
            {"Resource": ["*"], "Action": "ec2:DescribeTags", "Effect": "Deny"}
        ]));
        assert_contains(&text, "\"Effect\": \"Deny\",\n      \"Action\": \"ec2:DescribeTags\",\n      \"Resource\": [\n        \"*\"\n      ]");
    }

    #[test]
    fn keeps_keys_kops_would_drop_after_the_known_ones() {
        let text = rendered(json!([
            {"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "*", "Principal": {"AWS": "*"}}
        ]));
        let effect = text.find("\"Effect\"").unwrap();
        let resource = text.find("\"Resource\"").unwrap();
        let sid = text.find("\"Sid\": \"Logs\"").unwrap();
        let principal = text.find("\"Principal\"").unwrap();
        assert!(
            effect < resource && resource < sid && sid < principal,
            "{text}"
        );
    }

    #[test]
    fn not_action_is_kept_without_an_empty_action() {
        let text = rendered(json!([
            {"Effect": "Deny", "NotAction": ["iam:*"], "Resource": "*"}
        ]));
        assert!(!text.contains("\"Action\""), "{text}");
        assert_contains(&text, "\"NotAction\": [\n        \"iam:*\"\n      ]");
    }

    #[test]
    fn missing_action_or_resource_is_an_empty_array_and_null_an_empty_string() {
        let text = rendered(json!([{"Effect": "Allow", "Action": null}]));
        assert_contains(&text, "\"Action\": \"\",\n      \"Resource\": []");
    }

    #[test]
    fn condition_keys_are_sorted_and_empty_conditions_dropped() {
        let text = rendered(json!([
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*",
             "Condition": {"StringLike": {"s3:prefix": ["b/", "a/"]}, "Bool": {"aws:SecureTransport": true}}},
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {}}
        ]));
        let bool_at = text.find("\"Bool\"").unwrap();
        let like_at = text.find("\"StringLike\"").unwrap();
        assert!(bool_at < like_at, "{text}");
        // Values inside a condition keep their order; only map keys are sorted.
        assert_contains(&text, "\"b/\",\n            \"a/\"");
        assert_eq!(text.matches("\"Condition\"").count(), 1, "{text}");
    }

    #[test]
    fn condition_numbers_and_html_characters_are_written_as_go_does() {
        let text = rendered(json!([
            {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::a&b",
             "Condition": {"NumericLessThanEquals": {"s3:max-keys": 10.0}}}
        ]));
        assert_contains(&text, "\"arn:aws:s3:::a\\u0026b\"");
        assert_contains(&text, "\"s3:max-keys\": 10\n");
    }

    #[test]
    fn keys_match_fields_case_insensitively_and_the_last_wins() {
        let text = rendered(json!([
            {"Effect": "Allow", "action": "a:First", "ACTION": "a:Second", "resource": "*"}
        ]));
        assert_contains(&text, "\"Action\": \"a:Second\"");
        assert!(
            !text.contains("a:First") && !text.contains("\"action\""),
            "{text}"
        );
        assert_contains(&text, "\"Resource\": \"*\"");
        assert_eq!(known_field("Re\u{17f}ource"), Some("Resource"));
        assert_eq!(known_field("Sid"), None);
    }

    #[test]
    fn an_empty_list_gives_a_null_statement() {
        assert_eq!(
            render(&[]),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": null\n}"
        );
    }
}
