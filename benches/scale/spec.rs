//! The cluster spec of the benchmark: a Cluster with a master, a node and a bastion group
//! (as tests/common/spec.rs renders them) and N kube2iam pod roles under
//! `spec.iam.podIdentity`, each with an inline policy and one managed policy.

/// The short name of pod role `i` (`roles[].name`).
pub fn short_name(i: usize) -> String {
    format!("r{i:04}")
}

/// The IAM role rolecall makes for pod role `i`: `<name>.pods.<cluster>`.
pub fn role_name(i: usize, cluster: &str) -> String {
    format!("{}.pods.{cluster}", short_name(i))
}

/// Whether pod role `i` gets a changed inline policy in the 10% change: every 10th role.
pub fn changed_in_ten_percent(i: usize) -> bool {
    i.is_multiple_of(10)
}

/// Whether pod role `i` gets an instance profile seeded for it: every third role.
pub fn has_profile(i: usize) -> bool {
    i.is_multiple_of(3)
}

/// The statements of pod role `i`'s inline policy (the spec's `inlinePolicy`); `changed`
/// adds an action, as the 10% change does.
pub fn statements(i: usize, changed: bool) -> String {
    let actions = if changed {
        r#""sqs:ReceiveMessage", "sqs:DeleteMessage""#
    } else {
        r#""sqs:ReceiveMessage""#
    };
    format!(
        r#"[{{"Effect": "Allow", "Action": [{actions}], "Resource": ["arn:aws:sqs:us-east-1:000000000000:queue-{i:04}"]}}]"#
    )
}

/// The whole inline policy document, as the baselines write it.
pub fn document(i: usize) -> String {
    format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": {}\n}}",
        statements(i, false)
    )
}

/// The spec with `n` pod roles; with `ten_percent_changed`, every 10th inline policy differs.
pub fn render(cluster: &str, n: usize, policy_arn: &str, ten_percent_changed: bool) -> String {
    let mut roles = String::new();
    for i in 0..n {
        let changed = ten_percent_changed && changed_in_ten_percent(i);
        roles.push_str(&format!(
            "      - name: {}
        namespaces: [apps-{i:04}]
        policyARNs:
        - {policy_arn}
        inlinePolicy: |
          {}
",
            short_name(i),
            statements(i, changed)
        ));
    }
    let mut out = format!(
        "apiVersion: kops.k8s.io/v1alpha2
kind: Cluster
metadata:
  name: {cluster}
spec:
  cloudProvider: aws
  configBase: s3://rolecall-bench/{cluster}
  iam:
    legacy: false
    allowContainerRegistry: true
    podIdentity:
      mode: kube2iam
      roles:
{roles}  etcdClusters:
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
    for (group, role) in [
        ("master-us-east-1a", "Master"),
        ("nodes", "Node"),
        ("bastions", "Bastion"),
    ] {
        out.push_str(&format!(
            "---
apiVersion: kops.k8s.io/v1alpha2
kind: InstanceGroup
metadata:
  name: {group}
  labels:
    kops.k8s.io/cluster: {cluster}
spec:
  role: {role}
  subnets:
  - us-east-1a
"
        ));
    }
    out
}
