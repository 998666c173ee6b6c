//! IRSA: `spec.serviceAccountIssuerDiscovery` and `spec.iam.serviceAccountExternalPermissions`.

use super::*;

#[test]
fn a_spec_without_pod_roles_has_none() {
    let spec = parse(&format!("{CLUSTER}---\n{NODES}")).unwrap();
    assert_eq!(spec.service_account_issuer_discovery, None);
    assert!(spec.service_account_permissions.is_empty());
    assert_eq!(spec.pod_identity, None);
}

#[test]
fn service_account_permissions_and_issuer_discovery_are_parsed() {
    let log_shipper = "    - name: log-shipper
      namespace: \"*\"
      aws:
        inlinePolicy: |-
          [{\"Effect\": \"Allow\", \"Action\": [\"logs:PutLogEvents\"], \"Resource\": [\"*\"]}]
";
    let spec = parse(&with_iam(
        &format!("{EXTERNAL_DNS}{log_shipper}"),
        &format!("{OIDC}    additionalAudiences: [sts.amazonaws.com]\n"),
    ))
    .unwrap();
    assert_eq!(
        spec.service_account_issuer_discovery,
        Some(IssuerDiscovery {
            discovery_store: "s3://oidc/example.k8s.local".into(),
            enable_aws_oidc_provider: true,
            additional_audiences: vec!["sts.amazonaws.com".into()],
            location: at(27, 21),
        })
    );
    assert_eq!(
        spec.service_account_permissions,
        vec![
            ServiceAccountPermission {
                name: "external-dns".into(),
                namespace: "kube-system".into(),
                policy_arns: vec!["arn:aws:iam::aws:policy/AmazonRoute53FullAccess".into()],
                inline_policy: None,
                location: at(12, 7),
            },
            ServiceAccountPermission {
                name: "log-shipper".into(),
                namespace: "*".into(),
                policy_arns: Vec::new(),
                inline_policy: Some(vec![serde_json::json!({
                    "Effect": "Allow",
                    "Action": ["logs:PutLogEvents"],
                    "Resource": ["*"]
                })]),
                location: at(16, 7),
            },
        ]
    );
}

#[test]
fn an_https_discovery_store_is_accepted() {
    let oidc = OIDC.replace(
        "s3://oidc/example.k8s.local",
        "https://oidc.example.com/example",
    );
    let spec = parse(&with_iam(EXTERNAL_DNS, &oidc)).unwrap();
    let discovery = spec.service_account_issuer_discovery.unwrap();
    assert_eq!(
        discovery.discovery_store,
        "https://oidc.example.com/example"
    );
    assert!(discovery.additional_audiences.is_empty());
}

#[test]
fn issuer_discovery_needs_a_discovery_store() {
    assert_eq!(
        error(&with_cluster(
            "  serviceAccountIssuerDiscovery:\n    enableAWSOIDCProvider: true\n"
        )),
        "cluster.yaml:17:5: spec.serviceAccountIssuerDiscovery.discoveryStore: is required but missing (s3://bucket/path or an https:// URL, where the OIDC discovery documents are published)"
    );
}

#[test]
fn the_discovery_store_must_be_s3_or_https() {
    for (store, message) in [
        (
            "gs://oidc/example",
            "\"gs://oidc/example\" is neither an S3 path (s3://bucket/path) nor an https:// URL",
        ),
        (
            "http://oidc.example.com/example",
            "\"http://oidc.example.com/example\" is neither an S3 path (s3://bucket/path) nor an https:// URL",
        ),
        (
            "s3:///example",
            "\"s3:///example\" names no bucket; expected s3://bucket/path",
        ),
        (
            "https:///example",
            "\"https:///example\" names no host; expected https://host/path",
        ),
    ] {
        let oidc = OIDC.replace("s3://oidc/example.k8s.local", store);
        assert_eq!(
            error(&with_cluster(&oidc)),
            format!("cluster.yaml:17:21: spec.serviceAccountIssuerDiscovery.discoveryStore: {message}")
        );
    }
}

#[test]
fn additional_audiences_must_not_be_empty() {
    assert_eq!(
        error(&with_cluster(&format!(
            "{OIDC}    additionalAudiences: [sts.amazonaws.com, '']\n"
        ))),
        "cluster.yaml:19:46: spec.serviceAccountIssuerDiscovery.additionalAudiences[1]: must not be empty"
    );
}

#[test]
fn a_service_account_needs_a_name_and_a_namespace() {
    assert_eq!(
        irsa_error("- name: external-dns\n      namespace", "- namespace"),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].name: is required but missing"
    );
    assert_eq!(
        irsa_error("      namespace: kube-system\n", ""),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].namespace: is required but missing (a namespace, or * for any)"
    );
    assert_eq!(
        irsa_error("namespace: kube-system", "namespace: ''"),
        "cluster.yaml:13:18: spec.iam.serviceAccountExternalPermissions[0].namespace: must not be empty"
    );
}

#[test]
fn a_service_account_name_may_not_have_a_wildcard_but_its_namespace_may() {
    assert_eq!(
        irsa_error("name: external-dns", "name: external-*"),
        "cluster.yaml:12:13: spec.iam.serviceAccountExternalPermissions[0].name: \"external-*\" contains *; kops allows wildcards in the namespace, not in the service account's name"
    );
    for namespace in ["\"*\"", "team-*"] {
        let permissions = EXTERNAL_DNS.replace("kube-system", namespace);
        let spec = parse(&with_iam(&permissions, OIDC)).unwrap();
        assert!(spec.service_account_permissions[0].namespace.contains('*'));
    }
}

#[test]
fn a_service_account_needs_aws_with_policy_arns_or_an_inline_policy() {
    assert_eq!(
        irsa_error(
            "      aws:\n        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]\n",
            "",
        ),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].aws: is required but missing (policyARNs, inlinePolicy or both)"
    );
    assert_eq!(
        irsa_error(
            "policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
            "policyARNs: []",
        ),
        "cluster.yaml:15:9: spec.iam.serviceAccountExternalPermissions[0].aws: needs policyARNs, inlinePolicy or both; it has neither"
    );
}

#[test]
fn policy_arns_must_be_managed_policy_arns() {
    assert_eq!(
        irsa_error(
            "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
            "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess, arn:aws:iam::123456789012:role/dns]",
        ),
        "cluster.yaml:15:71: spec.iam.serviceAccountExternalPermissions[0].aws.policyARNs[1]: \"arn:aws:iam::123456789012:role/dns\" is not a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
}

#[test]
fn managed_policy_and_role_arns_are_recognised() {
    for arn in [
        "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforSSM",
        "arn:aws-cn:iam::123456789012:policy/team/reports-write",
    ] {
        assert!(arns::is_managed_policy_arn(arn), "{arn}");
    }
    for arn in [
        "arn:aws:iam::123:policy/x",
        "arn:aws:iam::aws:policy/",
        "arn:aws:iam::aws:role/x",
        "arn:aws:iam:us-east-1:aws:policy/x",
        "arn:aws:s3:::bucket",
        "AmazonS3ReadOnlyAccess",
    ] {
        assert!(!arns::is_managed_policy_arn(arn), "{arn}");
    }
    assert!(arns::is_role_arn(
        "arn:aws:iam::123456789012:role/kiam-server"
    ));
    assert!(arns::is_role_arn(
        "arn:aws-us-gov:iam::123456789012:role/k8s/kiam-server"
    ));
    assert!(!arns::is_role_arn("arn:aws:iam::aws:role/kiam-server"));
    assert!(!arns::is_role_arn(
        "arn:aws:iam::123456789012:instance-profile/kiam-server"
    ));
    assert!(!arns::is_role_arn("arn:aws:iam::123456789012:role/"));
}

#[test]
fn an_inline_policy_is_checked_like_additional_policies() {
    let field = "spec.iam.serviceAccountExternalPermissions[0].aws.inlinePolicy";
    // The value is at 15:23, its statement at 15:25 and the statement's first key at 15:26.
    for (policy, place, message) in [
        (
            "'[{\"Effect\": \"Permit\", \"Action\": \"route53:*\", \"Resource\": \"*\"}]'",
            "15:26",
            "statement 0, Effect: \"Permit\" is not an effect; it must be \"Allow\" or \"Deny\"",
        ),
        (
            "'[{\"Action\": \"route53:*\", \"Resource\": \"*\"}]'",
            "15:25",
            "statement 0 has no Effect; it must be \"Allow\" or \"Deny\"",
        ),
        (
            "'{\"Effect\": \"Allow\"}'",
            "15:23",
            "must be a JSON array of policy statements, such as [{\"Effect\": \"Allow\", ...}]",
        ),
        (
            "'[]'",
            "15:23",
            "is an empty list; IAM rejects a policy with no statements. Remove the key to delete the policy",
        ),
        (
            "'[\"Allow\"]'",
            "15:25",
            "statement 0 is a string; a statement must be a JSON object",
        ),
        (
            "'[{\"Effect\": \"Allow\",}]'",
            "15:23",
            "is not valid JSON: trailing comma at line 1 column 21 of the policy",
        ),
        (
            "'[{\"Effect\": \"Allow\", \"action\": \"route53:*\", \"Resource\": \"*\"}]'",
            "15:45",
            "statement 0, action: is not a statement element; element names are case-sensitive: write \"Action\"",
        ),
    ] {
        assert_eq!(
            irsa_error(
                "policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
                &format!("inlinePolicy: {policy}"),
            ),
            format!("cluster.yaml:{place}: {field}: {message}")
        );
    }
}

#[test]
fn a_service_account_listed_twice_is_an_error() {
    let again = "    - name: external-dns
      namespace: kube-system
      aws:
        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53ReadOnlyAccess]
";
    assert_eq!(
        error(&with_iam(&format!("{EXTERNAL_DNS}{again}"), OIDC)),
        "cluster.yaml:16:7: spec.iam.serviceAccountExternalPermissions[1]: service account kube-system/external-dns is listed twice (first at cluster.yaml:12:7)"
    );
    let other_namespace = again.replace("kube-system", "dns");
    assert!(parse(&with_iam(&format!("{EXTERNAL_DNS}{other_namespace}"), OIDC)).is_ok());
}

#[test]
fn service_accounts_need_the_aws_oidc_provider() {
    assert_eq!(
        error(&with_iam(EXTERNAL_DNS, "")),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions: requires spec.serviceAccountIssuerDiscovery with enableAWSOIDCProvider: true; the spec has no serviceAccountIssuerDiscovery"
    );
    assert_eq!(
        error(&with_iam(
            EXTERNAL_DNS,
            &OIDC.replace("    enableAWSOIDCProvider: true\n", "")
        )),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions: requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is not set"
    );
    assert_eq!(
        error(&with_iam(
            EXTERNAL_DNS,
            &OIDC.replace("enableAWSOIDCProvider: true", "enableAWSOIDCProvider: false")
        )),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions: requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is false at cluster.yaml:23:28"
    );
    // Discovery alone (kops publishes the documents) needs no permissions.
    assert!(parse(&with_cluster(OIDC)).is_ok());
}

#[test]
fn irsa_service_accounts_must_have_kubernetes_names() {
    assert_eq!(
        irsa_error("name: external-dns", "name: External-DNS"),
        "cluster.yaml:12:13: spec.iam.serviceAccountExternalPermissions[0].name: \"External-DNS\" is not a valid Kubernetes service account name: use lower-case letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit"
    );
    assert_eq!(
        irsa_error("namespace: kube-system", "namespace: \"kube-system\\nkind: Secret\""),
        "cluster.yaml:13:18: spec.iam.serviceAccountExternalPermissions[0].namespace: \"kube-system\\nkind: Secret\" is not a Kubernetes namespace or pattern: use lower-case letters, digits, '-' and the wildcard *, starting and ending with a letter, a digit or *"
    );
    assert_eq!(
        irsa_error("namespace: kube-system", "namespace: Kube-System"),
        "cluster.yaml:13:18: spec.iam.serviceAccountExternalPermissions[0].namespace: \"Kube-System\" is not a Kubernetes namespace or pattern: use lower-case letters, digits, '-' and the wildcard *, starting and ending with a letter, a digit or *"
    );
    // Wildcards in the namespace stay, as kops allows them.
    for pattern in ["'*'", "'team-*'", "'*-prod'"] {
        let spec = parse(&with_iam(
            &EXTERNAL_DNS.replace("namespace: kube-system", &format!("namespace: {pattern}")),
            OIDC,
        ))
        .unwrap();
        assert!(spec.service_account_permissions[0].namespace.contains('*'));
    }
}
