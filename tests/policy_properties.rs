//! Properties of the policy parser and its canonical form, on generated documents: rendering
//! and parsing again changes nothing, equivalence is reflexive and symmetric, and the
//! differences IAM ignores (order, string versus list, white space, Effect case) are ignored.

use proptest::prelude::*;
use rolecall::policy::{canonical, display, equivalent};
use serde_json::{json, Value};

fn action() -> impl Strategy<Value = String> {
    (
        prop::sample::select(vec!["s3", "ec2", "iam", "sts", "sqs"]),
        "[A-Z][a-zA-Z]{0,12}\\*?",
    )
        .prop_map(|(service, name)| format!("{service}:{name}"))
}

fn resource() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("*".to_string()),
        "[a-z0-9-]{1,12}".prop_map(|b| format!("arn:aws:s3:::{b}/*")),
    ]
}

/// One value or a list: IAM takes both.
fn one_or_many(values: Vec<String>, as_string: bool) -> Value {
    if values.len() == 1 && as_string {
        json!(values[0])
    } else {
        json!(values)
    }
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop::bool::ANY,
        prop::collection::vec(action(), 1..4),
        prop::collection::vec(resource(), 1..3),
        prop::option::of("[A-Za-z0-9]{1,8}"),
        prop::option::of(("[a-z]{1,6}:[A-Za-z]{1,8}", "[a-z0-9]{1,8}")),
        prop::bool::ANY,
    )
        .prop_map(|(allow, actions, resources, sid, condition, as_string)| {
            let mut st = json!({
                "Effect": if allow { "Allow" } else { "Deny" },
                "Action": one_or_many(actions, as_string),
                "Resource": one_or_many(resources, as_string),
            });
            if let Some(sid) = sid {
                st["Sid"] = json!(sid);
            }
            if let Some((key, value)) = condition {
                st["Condition"] = json!({"StringEquals": {key: value}});
            }
            st
        })
}

fn document() -> impl Strategy<Value = Value> {
    prop::collection::vec(statement(), 1..5)
        .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s}))
}

/// The same policy written differently, as IAM would still read it.
fn rewritten(doc: &Value, seed: u64) -> Value {
    let mut doc = doc.clone();
    let statements = doc["Statement"].as_array_mut().unwrap();
    let len = statements.len();
    statements.rotate_left((seed as usize) % len);
    for st in statements.iter_mut() {
        for key in ["Action", "Resource"] {
            let list: Vec<Value> = match &st[key] {
                Value::String(s) => vec![json!(s)],
                Value::Array(items) => items.iter().rev().cloned().collect(),
                _ => unreachable!(),
            };
            st[key] = json!(list);
        }
        if seed.is_multiple_of(2) {
            let effect = st["Effect"].as_str().unwrap().to_lowercase();
            st["Effect"] = json!(effect);
        }
    }
    doc
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_render_parse_is_stable(doc in document()) {
        let text = serde_json::to_string(&doc).unwrap();
        let shown = display(&text);
        prop_assert_eq!(canonical(&shown).unwrap(), canonical(&text).unwrap());
        prop_assert_eq!(display(&shown), shown.clone(), "display is a fixed point");
    }

    #[test]
    fn equivalence_is_reflexive_and_symmetric(a in document(), b in document()) {
        let (a, b) = (serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        prop_assert!(equivalent(&a, &a));
        prop_assert_eq!(equivalent(&a, &b), equivalent(&b, &a));
    }

    #[test]
    fn differences_iam_ignores_are_ignored(doc in document(), seed in any::<u64>()) {
        let original = serde_json::to_string_pretty(&doc).unwrap();
        let other = serde_json::to_string(&rewritten(&doc, seed)).unwrap();
        prop_assert!(equivalent(&original, &other), "{}\n{}", original, other);
    }

    #[test]
    fn a_changed_version_or_sid_is_a_difference(doc in document()) {
        let text = serde_json::to_string(&doc).unwrap();
        let mut changed = doc.clone();
        changed["Version"] = json!("2008-10-17");
        prop_assert!(!equivalent(&text, &serde_json::to_string(&changed).unwrap()));
        let mut sid = doc.clone();
        sid["Statement"][0]["Sid"] = json!("SurelyNotGenerated0");
        prop_assert!(!equivalent(&text, &serde_json::to_string(&sid).unwrap()));
    }
}
