use super::*;
use crate::model::ResourceType;
use crate::spec::{
    IssuerDiscovery, PodIdentity, PodRole, ServiceAccountPermission, SourceLocation,
};
use crate::test_spec::cluster;

fn at() -> SourceLocation {
    SourceLocation {
        file: "c.yaml".into(),
        line: 1,
        column: 1,
    }
}

fn ctx() -> PodContext {
    PodContext::for_tests()
}

fn spec_with(mode: PodIdentityMode, server: Option<&str>) -> ClusterSpec {
    let mut spec = cluster("c.k8s.local", "  configBase: s3://state/c.k8s.local\n");
    spec.pod_identity = Some(PodIdentity {
        mode,
        kiam_server_role_arn: server.map(str::to_string),
        roles: vec![PodRole {
            name: "billing".into(),
            namespaces: vec!["billing".into()],
            policy_arns: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
            inline_policy: Some(vec![
                json!({"Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}),
            ]),
            location: at(),
        }],
        location: at(),
    });
    spec
}

/// A cluster with an AWS OIDC provider for IRSA, and these audiences besides the default.
fn irsa_spec(additional_audiences: Vec<String>) -> ClusterSpec {
    let mut spec = cluster(
        "c.k8s.local",
        "  configBase: s3://state/c.k8s.local\n  subnets:\n  - name: a\n    zone: eu-west-1a\n",
    );
    spec.service_account_issuer_discovery = Some(IssuerDiscovery {
        discovery_store: "s3://oidc/c.k8s.local".into(),
        enable_aws_oidc_provider: true,
        additional_audiences,
        location: at(),
    });
    spec
}

fn doc(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn policy<'a>(state: &'a DesiredState, name: &str) -> &'a crate::model::DesiredRolePolicy {
    state
        .role_policies
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no policy {name}"))
}

fn role<'a>(state: &'a DesiredState, name: &str) -> &'a DesiredRole {
    state
        .roles
        .iter()
        .find(|r| r.name == name)
        .unwrap_or_else(|| panic!("no role {name}"))
}

#[test]
fn fnv_and_base32hex_match_known_values() {
    assert_eq!(fnv1a_32(b"a"), 0xe40c_292c);
    assert_eq!(fnv1a_32(b"foobar"), 0xbf9c_f968);
    // Python's base64.b32hexencode gives "GROBLO0=" for these bytes.
    assert_eq!(base32hex_lower(&[0x86, 0xf0, 0xba, 0xe0]), "groblo0");
}

#[test]
fn long_names_are_truncated_as_kops_truncates_them() {
    let name = "a-very-long-service-account-name.some-namespace.sa.production.example.com";
    assert_eq!(
        truncate_role_name(name),
        "a-very-long-service-account-name.some-namespace.sa.produc-groblo"
    );
    assert_eq!(truncate_role_name(name).len(), 64);
    assert_eq!(truncate_role_name("short.sa.c"), "short.sa.c");
}

#[test]
fn role_names_follow_kops() {
    assert_eq!(
        service_account_role_name("external-dns", "kube-system", "c.k8s.local"),
        "external-dns.kube-system.sa.c.k8s.local"
    );
    assert_eq!(
        service_account_role_name("reader", "*", "c.k8s.local"),
        "reader.wildcard.sa.c.k8s.local"
    );
    assert_eq!(
        app_role_name("billing", "c.k8s.local"),
        "billing.pods.c.k8s.local"
    );
    assert_eq!(
        kiam_server_role_name("c.k8s.local"),
        "kiam-server.c.k8s.local"
    );
}

#[test]
fn issuer_urls_come_from_the_discovery_store() {
    assert_eq!(
        issuer_url("s3://oidc-bucket/c.k8s.local", Some("eu-west-1")).unwrap(),
        "https://oidc-bucket.s3.eu-west-1.amazonaws.com/c.k8s.local"
    );
    assert_eq!(
        issuer_url("s3://oidc-bucket", Some("eu-west-1")).unwrap(),
        "https://oidc-bucket.s3.eu-west-1.amazonaws.com"
    );
    assert_eq!(
        issuer_url("https://issuer.example.com/c/", None).unwrap(),
        "https://issuer.example.com/c"
    );
    assert!(issuer_url("s3://b/k", None).is_err());
    assert!(issuer_url("gs://b/k", Some("x")).is_err());
}

#[test]
fn kube2iam_roles_trust_the_node_role_which_may_assume_exactly_them() {
    let spec = spec_with(PodIdentityMode::Kube2iam, None);
    let mut state = DesiredState::default();
    let summary = add_pod_roles(&spec, &ctx(), &mut state).unwrap();
    let app = role(&state, "billing.pods.c.k8s.local");
    assert_eq!(
        doc(&app.trust_policy),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/nodes.c.k8s.local"}, "Action": "sts:AssumeRole"}]})
    );
    assert!(app.owned_only);
    assert_eq!(
        app.managed_policies
            .as_ref()
            .unwrap()
            .iter()
            .collect::<Vec<_>>(),
        ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]
    );
    assert_eq!(app.tags["kubernetes.io/cluster/c.k8s.local"], "owned");
    let grant = policy(&state, "kube2iam.nodes.c.k8s.local");
    assert_eq!(grant.role, "nodes.c.k8s.local");
    assert_eq!(
        doc(grant.document.as_ref().unwrap()),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ["arn:aws:iam::123456789012:role/billing.pods.c.k8s.local"]}]})
    );
    assert!(policy(&state, "billing.pods.c.k8s.local")
        .document
        .is_some());
    assert_eq!(summary.app_roles[0].1, ["billing"]);
}

#[test]
fn a_node_role_someone_else_owns_is_only_checked_for_the_grant() {
    let spec = spec_with(PodIdentityMode::Kube2iam, None);
    let mut context = ctx();
    context.node_roles = vec![("hand-made-nodes".into(), false)];
    let mut state = DesiredState::default();
    add_pod_roles(&spec, &context, &mut state).unwrap();
    let grant = policy(&state, "kube2iam.hand-made-nodes");
    assert_eq!(grant.lifecycle, Lifecycle::ExistsAndWarnIfChanges);
    assert!(grant.external);
    assert!(role(&state, "billing.pods.c.k8s.local")
        .trust_policy
        .contains("role/hand-made-nodes"));
}

#[test]
fn kiam_chains_master_to_server_to_application_roles() {
    let spec = spec_with(PodIdentityMode::Kiam, None);
    let mut state = DesiredState::default();
    let summary = add_pod_roles(&spec, &ctx(), &mut state).unwrap();
    let server_arn = "arn:aws:iam::123456789012:role/kiam-server.c.k8s.local";
    assert_eq!(summary.kiam_server_arn.as_deref(), Some(server_arn));
    assert!(role(&state, "kiam-server.c.k8s.local")
        .trust_policy
        .contains("arn:aws:iam::123456789012:role/masters.c.k8s.local"));
    assert!(role(&state, "billing.pods.c.k8s.local")
        .trust_policy
        .contains(server_arn));
    let master_grant = policy(&state, "kiam.masters.c.k8s.local");
    assert_eq!(
        doc(master_grant.document.as_ref().unwrap())["Statement"][0]["Resource"],
        json!([server_arn])
    );
    let server_grant = policy(&state, "kiam-server.c.k8s.local");
    assert_eq!(server_grant.role, "kiam-server.c.k8s.local");
    assert_eq!(
        doc(server_grant.document.as_ref().unwrap())["Statement"][0]["Resource"],
        json!(["arn:aws:iam::123456789012:role/billing.pods.c.k8s.local"])
    );
}

#[test]
fn kiam_with_a_given_server_role_makes_no_server_role() {
    let given = "arn:aws:iam::123456789012:role/platform/kiam";
    let spec = spec_with(PodIdentityMode::Kiam, Some(given));
    let mut state = DesiredState::default();
    let summary = add_pod_roles(&spec, &ctx(), &mut state).unwrap();
    assert_eq!(summary.kiam_server_arn.as_deref(), Some(given));
    assert!(state
        .roles
        .iter()
        .all(|r| r.name != "kiam-server.c.k8s.local"));
    assert!(role(&state, "billing.pods.c.k8s.local")
        .trust_policy
        .contains(given));
}

#[test]
fn irsa_roles_trust_the_provider_for_one_subject_and_audience() {
    let mut spec = irsa_spec(vec!["sts.amazonaws.com".into()]);
    for (name, namespace) in [("external-dns", "kube-system"), ("reader", "team-*")] {
        spec.service_account_permissions
            .push(ServiceAccountPermission {
                name: name.into(),
                namespace: namespace.into(),
                policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                inline_policy: None,
                location: at(),
            });
    }
    let mut state = DesiredState::default();
    let summary = add_pod_roles(&spec, &ctx(), &mut state).unwrap();
    let issuer = "oidc.s3.eu-west-1.amazonaws.com/c.k8s.local";
    let provider = &state.oidc_providers[0];
    assert_eq!(
        provider.arn,
        format!("arn:aws:iam::123456789012:oidc-provider/{issuer}")
    );
    assert_eq!(
        provider.id().to_string(),
        format!("IAMOIDCProvider/{issuer}")
    );
    assert_eq!(
        provider.client_ids.iter().collect::<Vec<_>>(),
        ["amazonaws.com", "sts.amazonaws.com"]
    );
    let exact = role(&state, "external-dns.kube-system.sa.c.k8s.local");
    assert_eq!(
        doc(&exact.trust_policy)["Statement"][0],
        json!({
            "Effect": "Allow",
            "Principal": {"Federated": provider.arn},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:sub"): "system:serviceaccount:kube-system:external-dns",
                format!("{issuer}:aud"): ["amazonaws.com", "sts.amazonaws.com"]
            }}
        })
    );
    let wildcard = role(&state, "reader.team-wildcard.sa.c.k8s.local");
    let condition = &doc(&wildcard.trust_policy)["Statement"][0]["Condition"];
    assert_eq!(
        condition["StringLike"][format!("{issuer}:sub")],
        "system:serviceaccount:team-*:reader"
    );
    assert!(condition["StringEquals"][format!("{issuer}:aud")].is_array());
    assert_eq!(summary.service_accounts.len(), 2);
    // No inline policy in the spec: any the role has is removed.
    assert!(policy(&state, "reader.team-wildcard.sa.c.k8s.local")
        .document
        .is_none());
    assert!(state.pod_role_scope.contains("anything.sa.c.k8s.local"));
    assert!(!state.pod_role_scope.contains("nodes.c.k8s.local"));
    let _ = ResourceType::IamRole;
}

#[test]
fn kube2iam_without_any_node_role_is_an_error() {
    let spec = spec_with(PodIdentityMode::Kube2iam, None);
    let mut context = ctx();
    context.node_roles.clear();
    let e = add_pod_roles(&spec, &context, &mut DesiredState::default()).unwrap_err();
    assert!(
        e.to_string().contains("kube2iam needs the nodes' role"),
        "{e}"
    );
}

#[test]
fn two_entries_with_one_iam_name_are_an_error() {
    let mut spec = irsa_spec(vec![]);
    for namespace in ["*", "wildcard"] {
        spec.service_account_permissions
            .push(ServiceAccountPermission {
                name: "reader".into(),
                namespace: namespace.into(),
                policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into()],
                inline_policy: None,
                location: at(),
            });
    }
    let e = add_pod_roles(&spec, &ctx(), &mut DesiredState::default()).unwrap_err();
    assert!(
        e.to_string()
            .contains("two pod roles would both be named \"reader.wildcard.sa.c.k8s.local\""),
        "{e}"
    );
}
