//! `spec.additionalPolicies.<role>` (and a service account's `inlinePolicy`) as kops 1.36
//! writes them: decoded into its statement type, then written like its own statements.
//!
//! What that does to the text, and what rolecall does:
//! - Keys come out as Action, Condition, Effect, Principal, Resource. Go matches JSON keys
//!   to fields case-insensitively, the later of two winning; rolecall does the same.
//! - `Action` and `Resource` become sets: sorted, without duplicates; a string stays a
//!   string, a list (even of one) stays a list; an empty or missing one is left out.
//! - `Condition` is a Go map: its keys, and those of the maps inside, come out sorted, and
//!   its numbers as Go float64. Empty or `null`, it is left out.
//! - `Principal` keeps only `Federated` and `Service`. kops drops every other key (`Sid`,
//!   `NotAction`, an `AWS` principal...). rolecall does not drop the user's data: it writes
//!   such keys after the known ones, in the user's order, and a `Principal` with any other
//!   member as written. Such policies differ from kops's output, which lost part of them.

use serde_json::{Map, Value};

use super::policy::{document, Principal, Statement, ValueSet};
use crate::desired::gojson::{KeyOrder, Node};

const KNOWN: [&str; 5] = ["Effect", "Principal", "Action", "Resource", "Condition"];

/// The document, or `None` for an empty list, which kops refuses ("policy contains no
/// statement").
pub fn render(statements: &[Value]) -> Option<String> {
    if statements.is_empty() {
        return None;
    }
    let statements: Vec<Statement> = statements.iter().map(statement).collect();
    Some(document(&statements))
}

fn statement(value: &Value) -> Statement {
    let Value::Object(map) = value else {
        // The spec layer admits only objects.
        return Statement::default();
    };
    let known = |field: &str| known_value(map, field);
    let mut s = Statement {
        effect: known("Effect")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        action: values(known("Action")),
        resource: values(known("Resource")),
        ..Statement::default()
    };
    if let Some(c) = known("Condition") {
        s.condition = Some(Node::from_value(c, KeyOrder::Sorted));
    }
    match known("Principal") {
        Some(Value::Object(p)) if p.keys().all(|k| is_principal_field(k)) => {
            s.principal = Principal {
                federated: known_value(p, "Federated")
                    .and_then(Value::as_str)
                    .map(str::to_string),
                service: known_value(p, "Service").map(|v| values(Some(v))),
            };
        }
        Some(other) => s.extra.push((
            key_as_written(map, "Principal"),
            Node::from_value(other, KeyOrder::AsWritten),
        )),
        None => {}
    }
    for (key, v) in map {
        if !KNOWN.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            s.extra
                .push((key.clone(), Node::from_value(v, KeyOrder::AsWritten)));
        }
    }
    s
}

fn is_principal_field(key: &str) -> bool {
    key.eq_ignore_ascii_case("Federated") || key.eq_ignore_ascii_case("Service")
}

/// The value of the last key that matches `field` case-insensitively, as Go decodes it.
fn known_value<'a>(map: &'a Map<String, Value>, field: &str) -> Option<&'a Value> {
    map.iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(field))
        .map(|(_, v)| v)
        .next_back()
}

fn key_as_written(map: &Map<String, Value>, field: &str) -> String {
    map.keys()
        .rfind(|k| k.eq_ignore_ascii_case(field))
        .cloned()
        .unwrap_or_else(|| field.to_string())
}

fn values(v: Option<&Value>) -> ValueSet {
    match v {
        Some(Value::String(s)) => ValueSet::one(s),
        Some(Value::Array(items)) => {
            let strings: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            ValueSet::list(&strings)
        }
        _ => ValueSet::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(v: Value) -> String {
        render(&[v]).unwrap()
    }

    #[test]
    fn keys_in_kops_order_and_sets_sorted() {
        let text =
            one(json!({"Resource": "*", "Effect": "Allow", "Action": ["s3:b", "s3:a", "s3:a"]}));
        assert_eq!(
            text,
            "{\n  \"Statement\": [\n    {\n      \"Action\": [\n        \"s3:a\",\n        \"s3:b\"\n      ],\n      \"Effect\": \"Allow\",\n      \"Resource\": \"*\"\n    }\n  ],\n  \"Version\": \"2012-10-17\"\n}"
        );
    }

    #[test]
    fn a_list_of_one_stays_a_list_and_case_is_kops() {
        let text = one(json!({"effect": "Allow", "action": ["sqs:*"], "resource": ["*"]}));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["Statement"][0],
            json!({"Action": ["sqs:*"], "Effect": "Allow", "Resource": ["*"]})
        );
    }

    #[test]
    fn other_keys_are_kept_after_kops_keys() {
        let text =
            one(json!({"Sid": "x", "Effect": "Deny", "NotAction": "iam:*", "Resource": "*"}));
        let v: Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&String> = v["Statement"][0].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["Effect", "Resource", "Sid", "NotAction"]);
    }

    #[test]
    fn an_empty_list_has_no_document() {
        assert_eq!(render(&[]), None);
    }
}
