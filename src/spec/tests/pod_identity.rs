//! kube2iam and kiam: `spec.iam.podIdentity`, its mode, server role and application roles,
//! and the pod-role examples in docs/examples.

use super::*;

#[test]
fn kube2iam_roles_are_parsed() {
    let queue = "      - name: queue-worker
        namespaces: [jobs]
        inlinePolicy: |
          [{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}]
";
    let spec = parse(&with_iam(&format!("{KUBE2IAM}{queue}"), "")).unwrap();
    assert_eq!(
        spec.pod_identity,
        Some(PodIdentity {
            mode: PodIdentityMode::Kube2iam,
            kiam_server_role_arn: None,
            roles: vec![
                PodRole {
                    name: "billing-reader".into(),
                    namespaces: vec!["billing".into(), "reports".into()],
                    policy_arns: vec!["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess".into()],
                    inline_policy: None,
                    location: at(14, 9),
                },
                PodRole {
                    name: "queue-worker".into(),
                    namespaces: vec!["jobs".into()],
                    policy_arns: Vec::new(),
                    inline_policy: Some(vec![serde_json::json!({
                        "Effect": "Allow",
                        "Action": "sqs:ReceiveMessage",
                        "Resource": "*"
                    })]),
                    location: at(17, 9),
                },
            ],
            location: at(12, 7),
        })
    );
    assert!(spec.service_account_permissions.is_empty());
}

#[test]
fn kiam_takes_an_optional_server_role_arn() {
    let kiam = KUBE2IAM.replace("mode: kube2iam", "mode: kiam");
    let pods = parse(&with_iam(&kiam, "")).unwrap().pod_identity.unwrap();
    assert_eq!(pods.mode, PodIdentityMode::Kiam);
    assert_eq!(pods.kiam_server_role_arn, None);

    let with_server = KUBE2IAM.replace(
        "mode: kube2iam",
        "mode: kiam\n      kiamServerRoleARN: arn:aws:iam::123456789012:role/kiam-server",
    );
    let pods = parse(&with_iam(&with_server, ""))
        .unwrap()
        .pod_identity
        .unwrap();
    assert_eq!(
        pods.kiam_server_role_arn.as_deref(),
        Some("arn:aws:iam::123456789012:role/kiam-server")
    );
}

#[test]
fn pod_identity_and_service_accounts_may_be_used_together() {
    let spec = parse(&with_iam(&format!("{EXTERNAL_DNS}{KUBE2IAM}"), OIDC)).unwrap();
    assert_eq!(spec.service_account_permissions.len(), 1);
    assert_eq!(spec.pod_identity.unwrap().roles.len(), 1);
    assert!(spec.service_account_issuer_discovery.is_some());
}

#[test]
fn the_pod_identity_mode_is_required_and_must_be_known() {
    assert_eq!(
        kube2iam_error("      mode: kube2iam\n", ""),
        "cluster.yaml:12:7: spec.iam.podIdentity.mode: is required but missing (kube2iam or kiam)"
    );
    assert_eq!(
        kube2iam_error("mode: kube2iam", "mode: irsa"),
        "cluster.yaml:12:13: spec.iam.podIdentity.mode: unknown mode \"irsa\"; valid modes are kube2iam and kiam"
    );
}

#[test]
fn the_kiam_server_role_arn_is_for_kiam_and_must_be_a_role_arn() {
    let arn = "\n      kiamServerRoleARN: arn:aws:iam::123456789012:role/kiam-server";
    assert_eq!(
        kube2iam_error("mode: kube2iam", &format!("mode: kube2iam{arn}")),
        "cluster.yaml:13:26: spec.iam.podIdentity.kiamServerRoleARN: applies only to mode kiam; kube2iam has no server role"
    );
    let profile = "\n      kiamServerRoleARN: arn:aws:iam::123456789012:instance-profile/kiam";
    assert_eq!(
        kube2iam_error("mode: kube2iam", &format!("mode: kiam{profile}")),
        "cluster.yaml:13:26: spec.iam.podIdentity.kiamServerRoleARN: \"arn:aws:iam::123456789012:instance-profile/kiam\" is not a role ARN such as arn:aws:iam::123456789012:role/kiam-server"
    );
}

#[test]
fn pod_role_names_are_required_valid_and_unique() {
    assert_eq!(
        kube2iam_error("- name: billing-reader\n        namespaces", "- namespaces"),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].name: is required but missing"
    );
    assert_eq!(
        kube2iam_error("name: billing-reader", "name: billing/reader"),
        "cluster.yaml:14:15: spec.iam.podIdentity.roles[0].name: \"billing/reader\" is not a valid IAM role name: use letters, digits and +=,.@_-"
    );
    assert!(parse(&with_iam(
        &KUBE2IAM.replace("name: billing-reader", "name: Billing+Reports=1,a.b@c_d-e"),
        ""
    ))
    .is_ok());
    let again = "      - name: billing-reader
        namespaces: [finance]
        policyARNs: [arn:aws:iam::aws:policy/ReadOnlyAccess]
";
    assert_eq!(
        kube2iam_error_with(again),
        "cluster.yaml:17:15: spec.iam.podIdentity.roles[1].name: pod role \"billing-reader\" is defined twice (first at cluster.yaml:14:15)"
    );
}

#[test]
fn pod_roles_need_namespaces() {
    assert_eq!(
        kube2iam_error("        namespaces: [billing, reports]\n", ""),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].namespaces: is required but missing; list the namespaces whose pods may use the role"
    );
    assert_eq!(
        kube2iam_error("[billing, reports]", "[]"),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].namespaces: is empty; list at least one namespace whose pods may use the role"
    );
    assert_eq!(
        kube2iam_error("[billing, reports]", "[billing, '']"),
        "cluster.yaml:15:31: spec.iam.podIdentity.roles[0].namespaces[1]: must not be empty"
    );
}

#[test]
fn pod_roles_need_valid_policy_arns_or_an_inline_policy() {
    assert_eq!(
        kube2iam_error(
            "        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n",
            ""
        ),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0]: needs policyARNs, inlinePolicy or both; it has neither"
    );
    assert_eq!(
        kube2iam_error(
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
            "AmazonS3ReadOnlyAccess"
        ),
        "cluster.yaml:16:22: spec.iam.podIdentity.roles[0].policyARNs[0]: \"AmazonS3ReadOnlyAccess\" is not a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    let deny_typo = "        inlinePolicy: '[{\"Effect\": \"deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]'\n";
    assert_eq!(
        kube2iam_error_with(deny_typo),
        "cluster.yaml:17:26: spec.iam.podIdentity.roles[0].inlinePolicy: statement 0, Effect: \"deny\" is not an effect; it must be \"Allow\" or \"Deny\""
    );
}

#[test]
fn pod_role_problems_are_all_reported() {
    let text = with_iam(
        &KUBE2IAM
            .replace("mode: kube2iam", "mode: kube2")
            .replace("[billing, reports]", "[]")
            .replace("arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess", "s3"),
        "",
    );
    let errors = parse(&text).unwrap_err();
    assert_eq!(errors.0.len(), 3, "{errors}");
}

#[test]
fn pod_role_namespaces_must_be_kubernetes_namespaces() {
    assert_eq!(
        kube2iam_error("[billing, reports]", "[Billing, reports]"),
        "cluster.yaml:15:22: spec.iam.podIdentity.roles[0].namespaces[0]: \"Billing\" is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit"
    );
    // A newline would start a document of its own in the YAML for kubectl apply.
    assert_eq!(
        kube2iam_error("[billing, reports]", "[billing, \"reports\\n---\\nkind: Secret\"]"),
        "cluster.yaml:15:31: spec.iam.podIdentity.roles[0].namespaces[1]: \"reports\\n---\\nkind: Secret\" is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit"
    );
    let long = "n".repeat(64);
    assert_eq!(
        kube2iam_error("[billing, reports]", &format!("[{long}]")),
        format!("cluster.yaml:15:22: spec.iam.podIdentity.roles[0].namespaces[0]: \"{long}\" is 64 characters long; a Kubernetes namespace has at most 63")
    );
    // kube2iam and kiam annotate one namespace at a time: no wildcards.
    assert!(kube2iam_error("[billing, reports]", "['*']")
        .contains("namespaces[0]: \"*\" is not a valid Kubernetes namespace"));
}

#[test]
fn the_pod_role_examples_parse() {
    let examples = [
        (
            "pod-roles-kube2iam.yaml",
            include_str!("../../../docs/examples/pod-roles-kube2iam.yaml"),
        ),
        (
            "pod-roles-kiam.yaml",
            include_str!("../../../docs/examples/pod-roles-kiam.yaml"),
        ),
        (
            "pod-roles-irsa.yaml",
            include_str!("../../../docs/examples/pod-roles-irsa.yaml"),
        ),
    ];
    for (name, text) in examples {
        let spec =
            parse_files(&[(name, text)]).unwrap_or_else(|e| panic!("{name} does not parse:\n{e}"));
        assert_eq!(spec.instance_groups.len(), 2, "{name}");
        assert!(spec.dns_zone.is_none(), "{name}");
        assert!(spec.name.ends_with(".k8s.local"), "{name}");
        match name {
            "pod-roles-kube2iam.yaml" => {
                let pods = spec.pod_identity.unwrap();
                assert_eq!(pods.mode, PodIdentityMode::Kube2iam);
                assert_eq!(pods.roles.len(), 2);
            }
            "pod-roles-kiam.yaml" => {
                let pods = spec.pod_identity.unwrap();
                assert_eq!(pods.mode, PodIdentityMode::Kiam);
                assert_eq!(pods.kiam_server_role_arn, None);
                assert_eq!(pods.roles.len(), 2);
            }
            _ => {
                assert!(spec.pod_identity.is_none());
                assert!(
                    spec.service_account_issuer_discovery
                        .unwrap()
                        .enable_aws_oidc_provider
                );
                assert_eq!(spec.service_account_permissions.len(), 2);
                assert_eq!(spec.service_account_permissions[1].namespace, "*");
            }
        }
    }
}
