//! The one generator of kops cluster YAML, written as users write it, for the unit tests,
//! the integration tests and the scale bench: src/test_spec.rs and benches/scale.rs include
//! this file with `#[path]`, tests/common/mod.rs as its module `spec`. Pure std: it writes
//! text and reads nothing, so that every user can include it.

/// The instance groups of a generated cluster: a master, a node and a bastion group.
pub const INSTANCE_GROUPS: [(&str, &str); 3] = [
    ("master-us-east-1a", "Master"),
    ("nodes", "Node"),
    ("bastions", "Bastion"),
];

/// A `Cluster` document named `name` with `cloudProvider: aws`, then `spec_body` (lines
/// indented by two spaces).
pub fn cluster_document(name: &str, spec_body: &str) -> String {
    format!(
        "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: {name}\nspec:\n  cloudProvider: aws\n{spec_body}"
    )
}

/// An `InstanceGroup` document after its `---` line: `metadata_extra` ends its metadata,
/// `spec_extra` its spec, after the role (both lines indented by two spaces).
pub fn instance_group_document(
    name: &str,
    role: &str,
    metadata_extra: &str,
    spec_extra: &str,
) -> String {
    format!(
        "---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: {name}\n{metadata_extra}spec:\n  role: {role}\n{spec_extra}"
    )
}

/// The smallest spec: the Cluster with `spec_body` and no more, and a group of each role
/// with no more than its role.
pub fn bare_cluster(name: &str, spec_body: &str) -> String {
    let mut text = cluster_document(name, spec_body);
    for (group, role) in INSTANCE_GROUPS {
        text.push_str(&instance_group_document(group, role, "", ""));
    }
    text
}

/// A cluster as kops users write one: state store, strict IAM, etcd with a KMS key, a
/// subnet in us-east-1, and a master, a node and a bastion group.
pub struct ClusterYaml {
    pub name: String,
    /// The S3 bucket of `spec.configBase`.
    pub state_bucket: String,
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
            state_bucket: "rolecall-tests".to_string(),
            node_additional: None,
            node_profile: None,
            iam_extra: String::new(),
            spec_extra: String::new(),
            roles: vec!["Master", "Node", "Bastion"],
        }
    }

    pub fn with_state_bucket(mut self, bucket: &str) -> Self {
        self.state_bucket = bucket.to_string();
        self
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

    /// IRSA: an OIDC provider rolecall manages, and one service account `namespace/account`
    /// granted the managed policy `policy_arn`.
    pub fn with_service_account(self, account: &str, namespace: &str, policy_arn: &str) -> Self {
        let discovery = issuer_discovery(&self.name);
        self.with_spec(&discovery)
            .with_iam(&service_account_permissions(account, namespace, policy_arn))
    }

    pub fn with_node_profile(mut self, arn: &str) -> Self {
        self.node_profile = Some(arn.to_string());
        self
    }

    pub fn render(&self) -> String {
        let (name, bucket) = (&self.name, &self.state_bucket);
        let additional = match &self.node_additional {
            Some(json) => {
                let indented: String = json.lines().map(|l| format!("      {l}\n")).collect();
                format!("  additionalPolicies:\n    node: |\n{indented}")
            }
            None => String::new(),
        };
        let (iam_extra, spec_extra) = (&self.iam_extra, &self.spec_extra);
        let mut out = cluster_document(
            name,
            &format!(
                "  kubernetesVersion: 1.10.6
  configBase: s3://{bucket}/{name}
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
            ),
        );
        let labels = format!("  labels:\n    kops.k8s.io/cluster: {name}\n");
        for (group, role) in INSTANCE_GROUPS
            .into_iter()
            .filter(|(_, r)| self.roles.contains(r))
        {
            let iam = match (&self.node_profile, role) {
                (Some(arn), "Node") => format!("  iam:\n    profile: {arn}\n"),
                _ => String::new(),
            };
            let spec = format!("{iam}  subnets:\n  - us-east-1a\n");
            out.push_str(&instance_group_document(group, role, &labels, &spec));
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

/// `spec.iam.serviceAccountExternalPermissions` with one IRSA role: service account
/// `namespace/account`, granted the managed policy `policy_arn`.
pub fn service_account_permissions(account: &str, namespace: &str, policy_arn: &str) -> String {
    format!(
        "    serviceAccountExternalPermissions:\n    - name: {account}\n      namespace: {namespace}\n      aws:\n        policyARNs: [{policy_arn}]\n"
    )
}

/// `spec.iam.podIdentity` in `mode` with `roles`, entries from [`pod_role`].
pub fn pod_identity_block(mode: &str, roles: &str) -> String {
    format!("    podIdentity:\n      mode: {mode}\n      roles:\n{roles}")
}

/// One entry of `podIdentity.roles`: role `name` for pods in `namespace`, with `policy_arn`
/// attached and the inline policy `statements` (a JSON array on one line).
pub fn pod_role(name: &str, namespace: &str, policy_arn: &str, statements: &str) -> String {
    format!(
        "      - name: {name}\n        namespaces: [{namespace}]\n        policyARNs: [{policy_arn}]\n        inlinePolicy: |\n          {statements}\n"
    )
}

/// `spec.iam.podIdentity` in `mode` with one role per name, each for the namespace of its
/// name, with `policy_arn` attached and an inline policy.
pub fn pod_identity(mode: &str, policy_arn: &str, roles: &[&str]) -> String {
    let statements = r#"[{"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}]"#;
    let entries: String = roles
        .iter()
        .map(|role| pod_role(role, role, policy_arn, statements))
        .collect();
    pod_identity_block(mode, &entries)
}
