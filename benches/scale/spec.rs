//! The cluster spec of the benchmark: the tests' cluster (tests/common/spec.rs, included as
//! `crate::cluster_yaml`) with N kube2iam pod roles under `spec.iam.podIdentity`, each with
//! an inline policy and one managed policy; and how each role is named, changed and seeded.

use crate::cluster_yaml::{pod_identity_block, pod_role, ClusterYaml};

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
    let roles: String = (0..n)
        .map(|i| {
            let changed = ten_percent_changed && changed_in_ten_percent(i);
            let namespace = format!("apps-{i:04}");
            pod_role(
                &short_name(i),
                &namespace,
                policy_arn,
                &statements(i, changed),
            )
        })
        .collect();
    ClusterYaml::new(cluster)
        .with_state_bucket("rolecall-bench")
        .with_iam(&pod_identity_block("kube2iam", &roles))
        .render()
}
