//! The policy document kops 1.36 writes, byte for byte.
//!
//! kops 1.36 keeps four sets of actions beside its explicit statements and turns each
//! non-empty set into one statement at the end, in a fixed order: the KMS data-plane
//! actions (under `kms:ViaService`), the unconditional ones, those conditioned on the
//! resource's cluster tag, and those conditioned on the request's cluster tag (followed by
//! `ec2:CreateSecurityGroup` on any VPC when that action is among them). Sets are sorted
//! and deduplicated, so the order actions are added in never shows.
//!
//! The document is `{"Statement": [...], "Version": "2012-10-17"}` (Go writes a struct's
//! fields in declaration order), each statement's keys are Action, Condition, Effect,
//! Principal, Resource (kops's own `MarshalJSON`), conditions are Go maps (keys sorted), and
//! a value set is a string when it holds one value and was not made as a list. The facts
//! come from kops's source at v1.36.2 (pkg/model/iam/iam_builder.go,
//! pkg/util/stringorset); the code is rolecall's.

use std::collections::BTreeSet;

use crate::desired::gojson::{GoRelease, Node};

pub const POLICY_VERSION: &str = "2012-10-17";

/// A set of strings as kops's `stringorset` writes it: sorted, without duplicates, and a
/// single value as a plain string unless the set was made as a list.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValueSet {
    values: BTreeSet<String>,
    force_array: bool,
}

impl ValueSet {
    /// `stringorset.Of`: one value is written as a string.
    pub fn of<S: AsRef<str>>(items: &[S]) -> ValueSet {
        ValueSet {
            values: items.iter().map(|s| s.as_ref().to_string()).collect(),
            force_array: false,
        }
    }

    /// `stringorset.Set`: always written as a list.
    pub fn list<S: AsRef<str>>(items: &[S]) -> ValueSet {
        ValueSet {
            force_array: true,
            ..ValueSet::of(items)
        }
    }

    pub fn one(item: &str) -> ValueSet {
        ValueSet::of(&[item])
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn to_node(&self) -> Node {
        if self.values.len() == 1 && !self.force_array {
            let only = self.values.iter().next().expect("one value");
            Node::str(only.as_str())
        } else {
            Node::Array(self.values.iter().map(|v| Node::str(v.as_str())).collect())
        }
    }
}

/// A statement's `Principal`: kops's struct has only these two members.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Principal {
    pub federated: Option<String>,
    pub service: Option<ValueSet>,
}

impl Principal {
    fn is_empty(&self) -> bool {
        self.federated.as_deref().unwrap_or("").is_empty()
            && self.service.as_ref().is_none_or(ValueSet::is_empty)
    }

    fn to_node(&self) -> Node {
        let mut members = Vec::new();
        if let Some(f) = self.federated.as_deref().filter(|f| !f.is_empty()) {
            members.push(("Federated".to_string(), Node::str(f)));
        }
        if let Some(s) = self.service.as_ref().filter(|s| !s.is_empty()) {
            members.push(("Service".to_string(), s.to_node()));
        }
        Node::Object(members)
    }
}

/// One statement. `condition` is a Go map already in its written form (keys sorted), or
/// `None`; `extra` holds what a user's statement had beyond kops's fields (see
/// [`super::additional`]), written after them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Statement {
    pub effect: String,
    pub principal: Principal,
    pub action: ValueSet,
    pub resource: ValueSet,
    pub condition: Option<Node>,
    pub extra: Vec<(String, Node)>,
}

impl Statement {
    pub fn allow(action: ValueSet, resource: ValueSet) -> Statement {
        Statement {
            effect: "Allow".into(),
            action,
            resource,
            ..Statement::default()
        }
    }

    /// Adds `{operator: {key: value, ...}}` to the condition, keys kept sorted.
    pub fn when(mut self, operator: &str, entries: &[(&str, Node)]) -> Statement {
        let mut inner: Vec<(String, Node)> = entries
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        inner.sort_by(|a, b| a.0.cmp(&b.0));
        let mut outer = match self.condition.take() {
            Some(Node::Object(members)) => members,
            _ => Vec::new(),
        };
        outer.push((operator.to_string(), Node::Object(inner)));
        outer.sort_by(|a, b| a.0.cmp(&b.0));
        self.condition = Some(Node::Object(outer));
        self
    }

    pub fn to_node(&self) -> Node {
        let mut members = Vec::new();
        if !self.action.is_empty() {
            members.push(("Action".to_string(), self.action.to_node()));
        }
        if let Some(c) = self.condition.as_ref().filter(|c| !is_empty_map(c)) {
            members.push(("Condition".to_string(), c.clone()));
        }
        members.push(("Effect".to_string(), Node::str(self.effect.as_str())));
        if !self.principal.is_empty() {
            members.push(("Principal".to_string(), self.principal.to_node()));
        }
        if !self.resource.is_empty() {
            members.push(("Resource".to_string(), self.resource.to_node()));
        }
        members.extend(self.extra.iter().cloned());
        Node::Object(members)
    }
}

fn is_empty_map(node: &Node) -> bool {
    matches!(node, Node::Object(m) if m.is_empty()) || matches!(node, Node::Null)
}

/// kops's `Policy` while it is built: explicit statements and the four action sets.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    pub cluster: String,
    pub region: String,
    pub partition: String,
    pub statements: Vec<Statement>,
    pub unconditional: BTreeSet<String>,
    pub cluster_tagged: BTreeSet<String>,
    pub cluster_tagged_create: BTreeSet<String>,
    pub kms_data_plane: BTreeSet<String>,
}

fn insert(set: &mut BTreeSet<String>, actions: &[&str]) {
    set.extend(actions.iter().map(|a| a.to_string()));
}

impl Policy {
    pub fn new(cluster: &str, partition: &str, region: &str) -> Policy {
        Policy {
            cluster: cluster.to_string(),
            region: region.to_string(),
            partition: partition.to_string(),
            ..Policy::default()
        }
    }

    pub fn unconditional(&mut self, actions: &[&str]) {
        insert(&mut self.unconditional, actions);
    }

    pub fn cluster_tagged(&mut self, actions: &[&str]) {
        insert(&mut self.cluster_tagged, actions);
    }

    pub fn cluster_tagged_create(&mut self, actions: &[&str]) {
        insert(&mut self.cluster_tagged_create, actions);
    }

    pub fn kms_data_plane(&mut self, actions: &[&str]) {
        insert(&mut self.kms_data_plane, actions);
    }

    pub fn push(&mut self, statement: Statement) {
        self.statements.push(statement);
    }

    /// kops's `AddEC2CreateAction`: the create actions join the request-tagged set, and two
    /// statements let the cluster tag what it creates and retag what it owns.
    pub fn ec2_create_action(&mut self, actions: &[&str], resources: &[&str]) {
        let resources: Vec<String> = resources
            .iter()
            .map(|r| format!("arn:{}:ec2:*:*:{r}/*", self.partition))
            .collect();
        let prefixed: Vec<String> = actions.iter().map(|a| format!("ec2:{a}")).collect();
        self.cluster_tagged_create
            .extend(prefixed.iter().map(|a| a.to_string()));
        let cluster = Node::str(self.cluster.as_str());
        // ec2:CreateAction keeps kops's order: a Go slice, not a set.
        let create_actions = Node::strings(actions);
        self.push(
            Statement::allow(ValueSet::one("ec2:CreateTags"), ValueSet::list(&resources)).when(
                "StringEquals",
                &[
                    ("aws:RequestTag/KubernetesCluster", cluster.clone()),
                    ("ec2:CreateAction", create_actions),
                ],
            ),
        );
        self.push(
            Statement::allow(
                ValueSet::list(&["ec2:CreateTags", "ec2:DeleteTags"]),
                ValueSet::list(&resources),
            )
            .when(
                "Null",
                &[("aws:RequestTag/KubernetesCluster", Node::str("true"))],
            )
            .when(
                "StringEquals",
                &[("aws:ResourceTag/KubernetesCluster", cluster)],
            ),
        );
    }

    /// kops's `AsJSON`: the sets become statements, then the document is written with
    /// `json.MarshalIndent(p, "", "  ")`. `None` when there is no statement at all, which
    /// kops refuses ("policy contains no statement").
    pub fn to_json(&self) -> Option<String> {
        let mut statements = self.statements.clone();
        let any = ValueSet::one("*");
        if !self.kms_data_plane.is_empty() {
            let services = kms_via_services(&self.region);
            statements.push(
                Statement::allow(set_of(&self.kms_data_plane), any.clone()).when(
                    "StringLike",
                    &[("kms:ViaService", Node::strings(&services))],
                ),
            );
        }
        if !self.unconditional.is_empty() {
            statements.push(Statement::allow(set_of(&self.unconditional), any.clone()));
        }
        let cluster = Node::str(self.cluster.as_str());
        if !self.cluster_tagged.is_empty() {
            statements.push(
                Statement::allow(set_of(&self.cluster_tagged), any.clone()).when(
                    "StringEquals",
                    &[("aws:ResourceTag/KubernetesCluster", cluster.clone())],
                ),
            );
        }
        if !self.cluster_tagged_create.is_empty() {
            statements.push(
                Statement::allow(set_of(&self.cluster_tagged_create), any).when(
                    "StringEquals",
                    &[("aws:RequestTag/KubernetesCluster", cluster)],
                ),
            );
            // Security groups are also created "in" a VPC, which takes no request tag.
            if self
                .cluster_tagged_create
                .contains("ec2:CreateSecurityGroup")
            {
                statements.push(Statement::allow(
                    ValueSet::one("ec2:CreateSecurityGroup"),
                    ValueSet::one(&format!("arn:{}:ec2:*:*:vpc/*", self.partition)),
                ));
            }
        }
        if statements.is_empty() {
            return None;
        }
        Some(document(&statements))
    }
}

/// `{"Statement": [...], "Version": "2012-10-17"}` as Go 1.22+ indents it.
pub fn document(statements: &[Statement]) -> String {
    Node::Object(vec![
        (
            "Statement".to_string(),
            Node::Array(statements.iter().map(Statement::to_node).collect()),
        ),
        ("Version".to_string(), Node::str(POLICY_VERSION)),
    ])
    .to_indented_json_as(GoRelease::Go1_22)
}

fn set_of(actions: &BTreeSet<String>) -> ValueSet {
    ValueSet {
        values: actions.clone(),
        force_array: false,
    }
}

/// The services that present themselves to KMS for the cluster: EC2 in its region (EBS) and
/// S3 in any (a state store may be elsewhere). The suffix is `.amazonaws.com` in every
/// partition.
fn kms_via_services(region: &str) -> Vec<String> {
    if region.is_empty() {
        return Vec::new();
    }
    vec![
        format!("ec2.{region}.amazonaws.com"),
        "s3.*.amazonaws.com".to_string(),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compact(s: &Statement) -> String {
        // The same bytes once white space outside strings is removed.
        let text = document(std::slice::from_ref(s));
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        serde_json::to_string(&v["Statement"][0]).unwrap()
    }

    #[test]
    fn statements_write_keys_in_kops_order_and_sets_sorted() {
        let s = Statement::allow(
            ValueSet::of(&["ec2:DescribeRegions", "ec2:DescribeInstances"]),
            ValueSet::of(&["a", "b"]),
        );
        let text = document(std::slice::from_ref(&s));
        assert!(text.starts_with("{\n  \"Statement\": [\n    {\n      \"Action\": [\n        \"ec2:DescribeInstances\",\n        \"ec2:DescribeRegions\"\n      ],\n      \"Effect\": \"Allow\",\n      \"Resource\": [\n        \"a\",\n        \"b\"\n      ]\n    }\n  ],\n  \"Version\": \"2012-10-17\"\n}"), "{text}");
    }

    #[test]
    fn a_single_value_is_a_string_unless_made_as_a_list() {
        let of = Statement::allow(ValueSet::one("ec2:DescribeRegions"), ValueSet::one("*"));
        assert_eq!(
            compact(&of),
            r#"{"Action":"ec2:DescribeRegions","Effect":"Allow","Resource":"*"}"#
        );
        let list = Statement::allow(ValueSet::list(&["s3:Get*"]), ValueSet::list(&["*"]));
        assert_eq!(
            compact(&list),
            r#"{"Action":["s3:Get*"],"Effect":"Allow","Resource":["*"]}"#
        );
    }

    #[test]
    fn condition_operators_and_keys_are_sorted() {
        let s = Statement::allow(ValueSet::one("x:Y"), ValueSet::one("*"))
            .when(
                "StringEquals",
                &[("b", Node::str("1")), ("a", Node::str("2"))],
            )
            .when("Null", &[("c", Node::str("true"))]);
        assert_eq!(
            compact(&s),
            r#"{"Action":"x:Y","Condition":{"Null":{"c":"true"},"StringEquals":{"a":"2","b":"1"}},"Effect":"Allow","Resource":"*"}"#
        );
    }

    #[test]
    fn sets_become_statements_in_kops_order() {
        let mut p = Policy::new("c.example.com", "aws", "us-test-1");
        p.cluster_tagged_create(&["ec2:CreateSecurityGroup"]);
        p.cluster_tagged(&["ec2:DeleteSecurityGroup"]);
        p.unconditional(&["ec2:DescribeRegions", "ec2:DescribeRegions"]);
        p.kms_data_plane(&["kms:Decrypt"]);
        let v: serde_json::Value = serde_json::from_str(&p.to_json().unwrap()).unwrap();
        let actions: Vec<String> = v["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["Action"].to_string())
            .collect();
        assert_eq!(
            actions,
            [
                "\"kms:Decrypt\"",
                "\"ec2:DescribeRegions\"",
                "\"ec2:DeleteSecurityGroup\"",
                "\"ec2:CreateSecurityGroup\"",
                "\"ec2:CreateSecurityGroup\""
            ]
        );
        assert_eq!(
            v["Statement"][0]["Condition"]["StringLike"]["kms:ViaService"],
            serde_json::json!(["ec2.us-test-1.amazonaws.com", "s3.*.amazonaws.com"])
        );
        assert_eq!(
            v["Statement"][4]["Resource"],
            serde_json::json!("arn:aws:ec2:*:*:vpc/*")
        );
    }

    #[test]
    fn an_empty_policy_has_no_document() {
        assert_eq!(Policy::new("c", "aws", "r").to_json(), None);
    }
}
