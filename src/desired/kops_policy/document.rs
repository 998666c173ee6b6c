//! The policy document kops 1.10 writes: `Version` then `Statement`, and per statement
//! `Effect`, `Action`, `Resource`, then `Condition` when it is not empty.

use crate::desired::gojson::Node;

pub(super) const POLICY_VERSION: &str = "2012-10-17";

/// An `Action` or `Resource` list, with the encoding kops chose for it.
///
/// kops's `stringorslice` type writes a list made with `Slice` as a JSON array even when it
/// holds one value, and a list made with `Of` as a plain string when it holds exactly one.
/// Only the object-ARN resources of the S3 statements are single-valued `Of` lists, which
/// is why they alone are written as strings in kops's policies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Values {
    Array(Vec<String>),
    Of(Vec<String>),
}

impl Values {
    pub(super) fn array(items: &[&str]) -> Values {
        Values::Array(items.iter().map(|s| s.to_string()).collect())
    }

    pub(super) fn of(items: &[&str]) -> Values {
        Values::Of(items.iter().map(|s| s.to_string()).collect())
    }

    /// The single resource `*`: every kops statement not about S3, KMS or Route53 uses it.
    pub(super) fn any() -> Values {
        Values::array(&["*"])
    }

    fn to_node(&self) -> Node {
        match self {
            Values::Of(items) if items.len() == 1 => Node::str(items[0].as_str()),
            Values::Array(items) | Values::Of(items) => Node::strings(items),
        }
    }
}

/// `{"StringEquals": {<key>: <value>}}`, the only condition kops 1.10 writes itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StringEquals {
    pub key: &'static str,
    pub value: String,
}

/// An `Allow` statement of kops's own policies (kops 1.10 writes no `Deny`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Statement {
    pub action: Values,
    pub resource: Values,
    pub condition: Option<StringEquals>,
}

impl Statement {
    pub(super) fn allow(action: Values, resource: Values) -> Statement {
        Statement {
            action,
            resource,
            condition: None,
        }
    }

    pub(super) fn when(mut self, key: &'static str, value: &str) -> Statement {
        self.condition = Some(StringEquals {
            key,
            value: value.to_string(),
        });
        self
    }

    pub(super) fn to_node(&self) -> Node {
        let mut members = vec![
            ("Effect".to_string(), Node::str("Allow")),
            ("Action".to_string(), self.action.to_node()),
            ("Resource".to_string(), self.resource.to_node()),
        ];
        if let Some(c) = &self.condition {
            let inner = Node::Object(vec![(c.key.to_string(), Node::str(c.value.as_str()))]);
            members.push((
                "Condition".to_string(),
                Node::Object(vec![("StringEquals".to_string(), inner)]),
            ));
        }
        Node::Object(members)
    }
}

/// The whole document. `None` is kops's nil statement list, which Go writes as `null`.
pub(super) fn policy_json(statements: Option<Vec<Node>>) -> String {
    Node::Object(vec![
        ("Version".to_string(), Node::str(POLICY_VERSION)),
        (
            "Statement".to_string(),
            statements.map_or(Node::Null, Node::Array),
        ),
    ])
    .to_indented_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn of_with_one_value_is_a_string_and_array_never_is() {
        assert_eq!(Values::of(&["a"]).to_node(), Node::str("a"));
        assert_eq!(
            Values::of(&["a", "b"]).to_node(),
            Node::strings(&["a", "b"])
        );
        assert_eq!(Values::Of(Vec::new()).to_node(), Node::Array(Vec::new()));
        assert_eq!(Values::array(&["a"]).to_node(), Node::strings(&["a"]));
    }

    #[test]
    fn statement_keys_come_in_kops_order_and_condition_only_when_set() {
        let plain = Statement::allow(Values::array(&["x:Y"]), Values::of(&["r"]));
        assert_eq!(
            policy_json(Some(vec![plain.to_node()])),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"x:Y\"\n      ],\n      \"Resource\": \"r\"\n    }\n  ]\n}"
        );
        let conditioned = Statement::allow(Values::of(&["x:Y"]), Values::any()).when("k", "v");
        let text = conditioned.to_node().to_indented_json();
        assert!(
            text.ends_with(
                "\"Condition\": {\n    \"StringEquals\": {\n      \"k\": \"v\"\n    }\n  }\n}"
            ),
            "{text}"
        );
    }

    #[test]
    fn no_statements_is_written_as_null() {
        assert_eq!(
            policy_json(None),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": null\n}"
        );
    }
}
