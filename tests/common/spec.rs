//! kops cluster specs for the integration tests, written as users write them.

/// A cluster with a master, a node and a bastion group.
pub struct ClusterYaml {
    pub name: String,
    /// The JSON array under `spec.additionalPolicies.node`, if any.
    pub node_additional: Option<String>,
    /// `spec.iam.profile` of the nodes group: an existing instance profile's ARN.
    pub node_profile: Option<String>,
    /// More lines under `spec.iam` (indented four spaces), such as `podIdentity`.
    pub iam_extra: String,
    /// More lines under `spec` (indented two spaces).
    pub spec_extra: String,
    /// The instance groups, by role; all three unless narrowed.
    pub roles: Vec<&'static str>,
}

impl ClusterYaml {
    pub fn new(name: &str) -> Self {
        ClusterYaml {
            name: name.to_string(),
            node_additional: None,
            node_profile: None,
            iam_extra: String::new(),
            spec_extra: String::new(),
            roles: vec!["Master", "Node", "Bastion"],
        }
    }

    pub fn with_node_policy(mut self, statements: &str) -> Self {
        self.node_additional = Some(statements.to_string());
        self
    }

    pub fn with_iam(mut self, lines: &str) -> Self {
        self.iam_extra = lines.to_string();
        self
    }

    pub fn with_spec(mut self, lines: &str) -> Self {
        self.spec_extra = lines.to_string();
        self
    }

    /// Only instance groups of these roles.
    pub fn with_groups(mut self, roles: &[&'static str]) -> Self {
        self.roles = roles.to_vec();
        self
    }

    pub fn with_node_profile(mut self, arn: &str) -> Self {
        self.node_profile = Some(arn.to_string());
        self
    }

    pub fn render(&self) -> String {
        let name = &self.name;
        let additional = match &self.node_additional {
            Some(json) => {
                let indented: String = json.lines().map(|l| format!("      {l}\n")).collect();
                format!("  additionalPolicies:\n    node: |\n{indented}")
            }
            None => String::new(),
        };
        let (iam_extra, spec_extra) = (&self.iam_extra, &self.spec_extra);
        let mut out = format!(
            "apiVersion: kops.k8s.io/v1alpha2
kind: Cluster
metadata:
  name: {name}
spec:
  cloudProvider: aws
  configBase: s3://rolecall-tests/{name}
  iam:
    legacy: false
    allowContainerRegistry: true
{iam_extra}{spec_extra}{additional}  etcdClusters:
  - name: main
    etcdMembers:
    - name: a
      instanceGroup: master-us-east-1a
      encryptedVolume: true
      kmsKeyId: arn:aws:kms:us-east-1:000000000000:key/test-key
  subnets:
  - name: us-east-1a
    zone: us-east-1a
"
        );
        let groups = [
            ("master-us-east-1a", "Master"),
            ("nodes", "Node"),
            ("bastions", "Bastion"),
        ];
        for (group, role) in groups.into_iter().filter(|(_, r)| self.roles.contains(r)) {
            let iam = match (&self.node_profile, role) {
                (Some(arn), "Node") => format!("  iam:\n    profile: {arn}\n"),
                _ => String::new(),
            };
            out.push_str(&format!(
                "---
apiVersion: kops.k8s.io/v1alpha2
kind: InstanceGroup
metadata:
  name: {group}
  labels:
    kops.k8s.io/cluster: {name}
spec:
  role: {role}
{iam}  subnets:
  - us-east-1a
"
            ));
        }
        out
    }
}

pub const SQS_STATEMENT: &str = r#"[
  {
    "Effect": "Allow",
    "Action": ["sqs:ReceiveMessage"],
    "Resource": ["arn:aws:sqs:us-east-1:000000000000:jobs"]
  }
]"#;

pub const SQS_STATEMENT_WIDER: &str = r#"[
  {
    "Effect": "Allow",
    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"],
    "Resource": ["arn:aws:sqs:us-east-1:000000000000:jobs"]
  }
]"#;

/// `spec.serviceAccountIssuerDiscovery` with an OIDC provider rolecall manages.
pub fn issuer_discovery(cluster: &str) -> String {
    format!(
        "  serviceAccountIssuerDiscovery:\n    discoveryStore: s3://rolecall-oidc/{cluster}\n    enableAWSOIDCProvider: true\n"
    )
}

/// `spec.iam.podIdentity` in `mode` with one role per name, each for the namespace of its
/// name, with `policy_arn` attached and an inline policy.
pub fn pod_identity(mode: &str, policy_arn: &str, roles: &[&str]) -> String {
    let mut out = format!("    podIdentity:\n      mode: {mode}\n      roles:\n");
    for role in roles {
        out.push_str(&format!(
            "      - name: {role}\n        namespaces: [{role}]\n        policyARNs: [{policy_arn}]\n        inlinePolicy: |\n          [{{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}}]\n"
        ));
    }
    out
}
