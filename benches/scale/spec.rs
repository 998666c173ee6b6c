//! The cluster spec of the benchmark: the tests' cluster (tests/common/spec.rs, included as
//! `crate::cluster_yaml`) with N IRSA roles, one per service account under
//! `spec.iam.serviceAccountExternalPermissions`, each with an inline policy and one managed
//! policy, and the cluster's OIDC provider; and how each role is named, changed and seeded.
//!
//! IRSA, not kube2iam: kube2iam's grant on the nodes' role names every application role, and
//! at 1000 roles that one inline policy is some 70,000 characters where IAM allows 10,240 per
//! role, so rolecall refuses such a spec, as IAM would. IRSA roles are trusted through the
//! OIDC provider and need no grant, which is how clusters with many pod roles are built.

use crate::cluster_yaml::{issuer_discovery, ClusterYaml};

/// The service account of pod role `i`.
pub fn service_account(i: usize) -> String {
    format!("r{i:04}")
}

/// The namespace of pod role `i`'s service account.
pub fn namespace(i: usize) -> String {
    format!("apps-{i:04}")
}

/// The IAM role rolecall makes for pod role `i`, kops's `<sa>.<namespace>.sa.<cluster>`.
pub fn role_name(i: usize, cluster: &str) -> String {
    format!("{}.{}.sa.{cluster}", service_account(i), namespace(i))
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
    let accounts: String = (0..n)
        .map(|i| {
            let changed = ten_percent_changed && changed_in_ten_percent(i);
            format!(
                "    - name: {}\n      namespace: {}\n      aws:\n        policyARNs: [{policy_arn}]\n        inlinePolicy: |\n          {}\n",
                service_account(i),
                namespace(i),
                statements(i, changed)
            )
        })
        .collect();
    ClusterYaml::new(cluster)
        .with_state_bucket("rolecall-bench")
        .with_spec(&issuer_discovery(cluster))
        .with_iam(&format!(
            "    serviceAccountExternalPermissions:\n{accounts}"
        ))
        .render()
}

/// Whether an OIDC provider's ARN is the one the spec of `cluster` makes.
pub fn is_cluster_provider(arn: &str, cluster: &str) -> bool {
    arn.ends_with(&format!("/{cluster}"))
}
