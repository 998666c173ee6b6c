use super::*;

const CLUSTER: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: Cluster
metadata:
  name: example.k8s.local
spec:
  cloudProvider: aws
  configBase: s3://state/example.k8s.local
  iam:
    legacy: false
    allowContainerRegistry: true
  subnets:
  - name: a
    zone: eu-west-1a
  - name: b
    zone: eu-west-1b
";

const NODES: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: InstanceGroup
metadata:
  name: nodes
spec:
  role: Node
  subnets:
  - a
";

fn parse(text: &str) -> Result<ClusterSpec, InputErrors> {
    parse_documents(&[SourceFile {
        path: "cluster.yaml".into(),
        text: text.to_string(),
    }])
}

/// The one error the input has, as the user sees it.
fn error(text: &str) -> String {
    let errors = parse(text).expect_err("the input should be rejected");
    assert_eq!(errors.0.len(), 1, "expected one error, got: {errors}");
    errors.to_string()
}

fn with_cluster(spec_lines: &str) -> String {
    format!("{CLUSTER}{spec_lines}---\n{NODES}")
}

#[test]
fn a_cluster_and_its_groups_parse_from_one_multi_document_file() {
    let spec = parse(&format!("{CLUSTER}---\n{NODES}")).unwrap();
    assert_eq!(spec.name, "example.k8s.local");
    assert_eq!(
        spec.config_base.as_deref(),
        Some("s3://state/example.k8s.local")
    );
    assert_eq!(
        spec.iam,
        IamSettings {
            legacy: false,
            allow_container_registry: true
        }
    );
    assert_eq!(spec.region.as_deref(), Some("eu-west-1"));
    assert_eq!(spec.instance_groups.len(), 1);
    assert_eq!(spec.instance_groups[0].role, InstanceRole::Node);
    assert_eq!(spec.instance_groups[0].location.line, 18);
    assert_eq!(spec.roles_in_use(), vec![InstanceRole::Node]);
}

#[test]
fn documents_may_be_spread_over_several_files() {
    let spec = parse_documents(&[
        SourceFile {
            path: "cluster.yaml".into(),
            text: CLUSTER.into(),
        },
        SourceFile {
            path: "nodes.yaml".into(),
            text: NODES.into(),
        },
    ])
    .unwrap();
    assert_eq!(
        spec.instance_groups[0].location.file,
        PathBuf::from("nodes.yaml")
    );
}

#[test]
fn no_iam_section_means_legacy_policies() {
    let text = CLUSTER.replace(
        "  iam:\n    legacy: false\n    allowContainerRegistry: true\n",
        "",
    );
    let spec = parse(&format!("{text}---\n{NODES}")).unwrap();
    assert!(spec.iam.legacy);
    assert!(!spec.iam.allow_container_registry);
}

#[test]
fn an_iam_section_without_legacy_means_strict() {
    let text = CLUSTER.replace("    legacy: false\n", "");
    assert!(!parse(&format!("{text}---\n{NODES}")).unwrap().iam.legacy);
}

#[test]
fn unknown_fields_are_accepted() {
    let text = with_cluster("  kubernetesVersion: 1.10.6\n  topology:\n    masters: private\n    dns:\n      type: Public\n");
    assert!(parse(&text).is_ok());
}

#[test]
fn a_wrong_type_names_the_file_line_and_field() {
    let text = CLUSTER.replace("legacy: false", "legacy: perhaps");
    assert_eq!(
        error(&format!("{NODES}---\n{text}")),
        "cluster.yaml:18:13: spec.iam.legacy: invalid boolean"
    );
}

#[test]
fn malformed_yaml_names_the_line() {
    let e =
        error("apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: [unclosed\n");
    assert!(e.starts_with("cluster.yaml:"), "{e}");
    assert!(e.contains(":5:") || e.contains(":4:"), "{e}");
}

#[test]
fn no_cluster_document_is_an_error() {
    assert_eq!(
        error(NODES),
        "kind: no Cluster document in the input; one is required"
    );
}

#[test]
fn two_cluster_documents_are_an_error_that_names_both() {
    assert_eq!(
        error(&format!("{CLUSTER}---\n{CLUSTER}---\n{NODES}")),
        "kind: 2 Cluster documents in the input (cluster.yaml:2:7, cluster.yaml:18:7); exactly one is required"
    );
}

#[test]
fn a_cluster_needs_an_instance_group() {
    assert_eq!(
        error(CLUSTER),
        "kind: no InstanceGroup documents in the input; a cluster needs at least one"
    );
}

#[test]
fn an_unknown_kind_or_api_version_is_an_error() {
    let pod = NODES.replace("kind: InstanceGroup", "kind: Pod");
    assert_eq!(
        error(&format!("{CLUSTER}---\n{NODES}---\n{pod}")),
        "cluster.yaml:27:7: kind: unsupported kind \"Pod\"; expected Cluster or InstanceGroup"
    );
    assert_eq!(
        error(&format!("{CLUSTER}---\n{}", NODES.replace("kops.k8s.io/v1alpha2", "kops.k8s.io/v1"))),
        "cluster.yaml:17:13: apiVersion: unsupported apiVersion \"kops.k8s.io/v1\"; expected kops.k8s.io/v1alpha2"
    );
}

#[test]
fn an_unknown_instance_group_role_is_an_error() {
    assert_eq!(
        error(&format!("{CLUSTER}---\n{}", NODES.replace("role: Node", "role: Worker"))),
        "cluster.yaml:22:9: spec.role: unknown instance group role \"Worker\"; valid roles are Master, Node and Bastion"
    );
}

#[test]
fn a_missing_role_or_name_is_an_error() {
    assert_eq!(
        error(&format!(
            "{CLUSTER}---\n{}",
            NODES.replace("  role: Node\n", "")
        )),
        "cluster.yaml:18:7: spec.role: is required but missing (Master, Node or Bastion)"
    );
    assert_eq!(
        error(&format!(
            "{}---\n{NODES}",
            CLUSTER.replace("  name: example.k8s.local\n", "")
        )),
        "cluster.yaml:2:7: metadata.name: is required but missing"
    );
}

#[test]
fn an_invalid_profile_arn_is_an_error() {
    let ig = NODES.replace(
        "  role: Node\n",
        "  role: Node\n  iam:\n    profile: arn:aws:iam::123:role/nodes\n",
    );
    assert_eq!(
        error(&format!("{CLUSTER}---\n{ig}")),
        "cluster.yaml:24:14: spec.iam.profile: \"arn:aws:iam::123:role/nodes\" is not an instance profile ARN such as arn:aws:iam::123456789012:instance-profile/name"
    );
}

#[test]
fn instance_profile_arns_are_recognised() {
    assert!(arns::is_instance_profile_arn(
        "arn:aws:iam::123456789012:instance-profile/nodes"
    ));
    assert!(arns::is_instance_profile_arn(
        "arn:aws-cn:iam::123456789012:instance-profile/path/nodes"
    ));
    assert!(!arns::is_instance_profile_arn(
        "arn:aws:iam::123456789012:instance-profile/"
    ));
    assert!(!arns::is_instance_profile_arn(
        "arn:aws:iam:us-east-1:123456789012:instance-profile/x"
    ));
    assert!(!arns::is_instance_profile_arn("nodes"));
}

#[test]
fn cloud_provider_must_be_aws() {
    let text = CLUSTER.replace("cloudProvider: aws", "cloudProvider: gce");
    assert_eq!(
        error(&format!("{text}---\n{NODES}")),
        "cluster.yaml:6:18: spec.cloudProvider: unsupported cloud provider \"gce\"; rolecall manages only aws"
    );
}

#[test]
fn stores_must_be_s3() {
    let text = CLUSTER.replace(
        "s3://state/example.k8s.local",
        "gs://state/example.k8s.local",
    );
    assert_eq!(
        error(&format!("{text}---\n{NODES}")),
        "cluster.yaml:7:15: spec.configBase: \"gs://state/example.k8s.local\" is not an S3 path (s3://bucket/path); only S3 stores can be granted in IAM"
    );
}

#[test]
fn zones_in_two_regions_are_an_error() {
    let text = CLUSTER.replace("zone: eu-west-1b", "zone: us-east-1b");
    assert_eq!(
        error(&format!("{text}---\n{NODES}")),
        "cluster.yaml:15:11: spec.subnets[1].zone: zone \"us-east-1b\" is in region us-east-1, but the zone at cluster.yaml:13:11 is in eu-west-1; a cluster lies in one region"
    );
}

#[test]
fn additional_policies_are_parsed_and_kept_with_their_place() {
    let spec = parse(&with_cluster(
        "  additionalPolicies:\n    node: |\n      [{\"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"}]\n",
    ))
    .unwrap();
    let p = &spec.additional_policies[&InstanceRole::Node];
    assert_eq!(p.statements.len(), 1);
    assert_eq!(p.location.line, 18, "the first line of the block scalar");
}

#[test]
fn an_unknown_additional_policies_key_is_an_error() {
    assert_eq!(
        error(&with_cluster("  additionalPolicies:\n    workers: '[]'\n")),
        "cluster.yaml:17:14: spec.additionalPolicies.workers: unknown role key \"workers\"; valid keys are master, node and bastion"
    );
}

#[test]
fn invalid_json_in_additional_policies_names_line_and_column() {
    let e = error(&with_cluster(
        "  additionalPolicies:\n    node: |\n      [\n        {\"Effect\": \"Allow\",\n         \"Action\": [\"sqs:*\",]}\n      ]\n",
    ));
    assert_eq!(
        e,
        "cluster.yaml:18:7: spec.additionalPolicies.node: is not valid JSON: trailing comma at line 3 column 23 of the policy"
    );
}

#[test]
fn an_effect_other_than_allow_or_deny_is_an_error() {
    assert_eq!(
        error(&with_cluster(
            "  additionalPolicies:\n    master: '[{\"Effect\": \"Permit\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]'\n"
        )),
        "cluster.yaml:17:16: spec.additionalPolicies.master: statement 0, Effect: \"Permit\" is not an effect; it must be \"Allow\" or \"Deny\""
    );
}

#[test]
fn additional_policies_must_be_a_non_empty_array_of_objects() {
    assert_eq!(
        error(&with_cluster("  additionalPolicies:\n    node: '{\"Effect\": \"Allow\"}'\n")),
        "cluster.yaml:17:11: spec.additionalPolicies.node: must be a JSON array of policy statements, such as [{\"Effect\": \"Allow\", ...}]"
    );
    assert_eq!(
        error(&with_cluster("  additionalPolicies:\n    node: '[]'\n")),
        "cluster.yaml:17:11: spec.additionalPolicies.node: is an empty list; IAM rejects a policy with no statements. Remove the key to delete the policy"
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let ig = NODES.replace("role: Node", "role: Worker");
    let text = CLUSTER.replace("cloudProvider: aws", "cloudProvider: gce");
    let errors = parse(&format!("{text}---\n{ig}")).unwrap_err();
    assert_eq!(errors.0.len(), 2, "{errors}");
}

#[test]
fn an_unreadable_file_is_named() {
    let errors = load_files(&[PathBuf::from("/nonexistent/cluster.yaml")]).unwrap_err();
    let e = errors.to_string();
    assert!(
        e.starts_with("/nonexistent/cluster.yaml: cannot read the file: "),
        "{e}"
    );
}

#[test]
fn duplicate_instance_group_names_are_an_error() {
    let e = error(&format!("{CLUSTER}---\n{NODES}---\n{NODES}"));
    assert_eq!(
        e,
        "cluster.yaml:27:7: metadata.name: instance group \"nodes\" is defined twice (first at cluster.yaml:18:7)"
    );
}

// Pod roles: IRSA (spec.serviceAccountIssuerDiscovery and
// spec.iam.serviceAccountExternalPermissions) and kube2iam or kiam (spec.iam.podIdentity).

const OIDC: &str = "  serviceAccountIssuerDiscovery:
    discoveryStore: s3://oidc/example.k8s.local
    enableAWSOIDCProvider: true
";

/// At line 11 when given to `with_iam`: the entry is at 12:7, its aws block at 15:9.
const EXTERNAL_DNS: &str = "    serviceAccountExternalPermissions:
    - name: external-dns
      namespace: kube-system
      aws:
        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]
";

/// At line 11 when given to `with_iam`: the block is at 12:7, the role at 14:9.
const KUBE2IAM: &str = "    podIdentity:
      mode: kube2iam
      roles:
      - name: billing-reader
        namespaces: [billing, reports]
        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
";

/// The cluster with `iam_lines` at the end of its `spec.iam` (from line 11) and `spec_lines`
/// at the end of its spec (from line 16 plus the number of `iam_lines`), then the node group.
fn with_iam(iam_lines: &str, spec_lines: &str) -> String {
    let cluster = CLUSTER.replace(
        "    allowContainerRegistry: true\n",
        &format!("    allowContainerRegistry: true\n{iam_lines}"),
    );
    format!("{cluster}{spec_lines}---\n{NODES}")
}

fn at(line: u64, column: u64) -> SourceLocation {
    SourceLocation {
        file: "cluster.yaml".into(),
        line,
        column,
    }
}

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
        error(&with_iam(
            &EXTERNAL_DNS.replace("- name: external-dns\n      namespace", "- namespace"),
            OIDC
        )),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].name: is required but missing"
    );
    assert_eq!(
        error(&with_iam(
            &EXTERNAL_DNS.replace("      namespace: kube-system\n", ""),
            OIDC
        )),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].namespace: is required but missing (a namespace, or * for any)"
    );
    assert_eq!(
        error(&with_iam(
            &EXTERNAL_DNS.replace("namespace: kube-system", "namespace: ''"),
            OIDC
        )),
        "cluster.yaml:13:18: spec.iam.serviceAccountExternalPermissions[0].namespace: must not be empty"
    );
}

#[test]
fn a_service_account_name_may_not_have_a_wildcard_but_its_namespace_may() {
    assert_eq!(
        error(&with_iam(
            &EXTERNAL_DNS.replace("name: external-dns", "name: external-*"),
            OIDC
        )),
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
    let without_aws = EXTERNAL_DNS.replace(
        "      aws:\n        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]\n",
        "",
    );
    assert_eq!(
        error(&with_iam(&without_aws, OIDC)),
        "cluster.yaml:12:7: spec.iam.serviceAccountExternalPermissions[0].aws: is required but missing (policyARNs, inlinePolicy or both)"
    );
    let empty = EXTERNAL_DNS.replace(
        "policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
        "policyARNs: []",
    );
    assert_eq!(
        error(&with_iam(&empty, OIDC)),
        "cluster.yaml:15:9: spec.iam.serviceAccountExternalPermissions[0].aws: needs policyARNs, inlinePolicy or both; it has neither"
    );
}

#[test]
fn policy_arns_must_be_managed_policy_arns() {
    let permissions = EXTERNAL_DNS.replace(
        "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
        "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess, arn:aws:iam::123456789012:role/dns]",
    );
    assert_eq!(
        error(&with_iam(&permissions, OIDC)),
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
        let permissions = EXTERNAL_DNS.replace(
            "policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
            &format!("inlinePolicy: {policy}"),
        );
        assert_eq!(
            error(&with_iam(&permissions, OIDC)),
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
        error(&with_iam(
            &KUBE2IAM.replace("      mode: kube2iam\n", ""),
            ""
        )),
        "cluster.yaml:12:7: spec.iam.podIdentity.mode: is required but missing (kube2iam or kiam)"
    );
    assert_eq!(
        error(&with_iam(&KUBE2IAM.replace("mode: kube2iam", "mode: irsa"), "")),
        "cluster.yaml:12:13: spec.iam.podIdentity.mode: unknown mode \"irsa\"; valid modes are kube2iam and kiam"
    );
}

#[test]
fn the_kiam_server_role_arn_is_for_kiam_and_must_be_a_role_arn() {
    let arn = "\n      kiamServerRoleARN: arn:aws:iam::123456789012:role/kiam-server";
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("mode: kube2iam", &format!("mode: kube2iam{arn}")),
            ""
        )),
        "cluster.yaml:13:26: spec.iam.podIdentity.kiamServerRoleARN: applies only to mode kiam; kube2iam has no server role"
    );
    let profile = "\n      kiamServerRoleARN: arn:aws:iam::123456789012:instance-profile/kiam";
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("mode: kube2iam", &format!("mode: kiam{profile}")),
            ""
        )),
        "cluster.yaml:13:26: spec.iam.podIdentity.kiamServerRoleARN: \"arn:aws:iam::123456789012:instance-profile/kiam\" is not a role ARN such as arn:aws:iam::123456789012:role/kiam-server"
    );
}

#[test]
fn pod_role_names_are_required_valid_and_unique() {
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("- name: billing-reader\n        namespaces", "- namespaces"),
            ""
        )),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].name: is required but missing"
    );
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("name: billing-reader", "name: billing/reader"),
            ""
        )),
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
        error(&with_iam(&format!("{KUBE2IAM}{again}"), "")),
        "cluster.yaml:17:15: spec.iam.podIdentity.roles[1].name: pod role \"billing-reader\" is defined twice (first at cluster.yaml:14:15)"
    );
}

#[test]
fn pod_roles_need_namespaces() {
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("        namespaces: [billing, reports]\n", ""),
            ""
        )),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].namespaces: is required but missing; list the namespaces whose pods may use the role"
    );
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("[billing, reports]", "[]"),
            ""
        )),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0].namespaces: is empty; list at least one namespace whose pods may use the role"
    );
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("[billing, reports]", "[billing, '']"),
            ""
        )),
        "cluster.yaml:15:31: spec.iam.podIdentity.roles[0].namespaces[1]: must not be empty"
    );
}

#[test]
fn pod_roles_need_valid_policy_arns_or_an_inline_policy() {
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace(
                "        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n",
                ""
            ),
            ""
        )),
        "cluster.yaml:14:9: spec.iam.podIdentity.roles[0]: needs policyARNs, inlinePolicy or both; it has neither"
    );
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace(
                "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess",
                "AmazonS3ReadOnlyAccess"
            ),
            ""
        )),
        "cluster.yaml:16:22: spec.iam.podIdentity.roles[0].policyARNs[0]: \"AmazonS3ReadOnlyAccess\" is not a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess"
    );
    let deny_typo = "        inlinePolicy: '[{\"Effect\": \"deny\", \"Action\": \"s3:*\", \"Resource\": \"*\"}]'\n";
    assert_eq!(
        error(&with_iam(&format!("{KUBE2IAM}{deny_typo}"), "")),
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
fn pod_role_keys_in_an_instance_group_are_errors() {
    let cases = [
        (
            "  iam:\n    podIdentity:\n      mode: kiam\n",
            "cluster.yaml:25:7: spec.iam.podIdentity: belongs in the Cluster's spec.iam, not in an InstanceGroup",
        ),
        (
            "  iam:\n    serviceAccountExternalPermissions:\n    - name: a\n      namespace: b\n",
            "cluster.yaml:25:7: spec.iam.serviceAccountExternalPermissions: belongs in the Cluster's spec.iam, not in an InstanceGroup",
        ),
        (
            "  serviceAccountIssuerDiscovery:\n    discoveryStore: s3://oidc/x\n",
            "cluster.yaml:24:5: spec.serviceAccountIssuerDiscovery: belongs in the Cluster, not in an InstanceGroup",
        ),
    ];
    for (lines, message) in cases {
        let ig = NODES.replace("  role: Node\n", &format!("  role: Node\n{lines}"));
        assert_eq!(error(&format!("{CLUSTER}---\n{ig}")), message);
    }
}

#[test]
fn a_wrong_type_in_a_pod_role_names_its_field() {
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("name: billing-reader", "name: [billing]"),
            ""
        )),
        "cluster.yaml:14:15: spec.iam.podIdentity.roles[0].name: expected string scalar"
    );
    assert_eq!(
        error(&with_iam(
            &EXTERNAL_DNS.replace(
                "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
                "arn:aws:iam::aws:policy/AmazonRoute53FullAccess"
            ),
            OIDC
        )),
        "cluster.yaml:15:21: spec.iam.serviceAccountExternalPermissions[0].aws.policyARNs: expected sequence start"
    );
}

#[test]
fn the_pod_role_examples_parse() {
    let examples = [
        (
            "pod-roles-kube2iam.yaml",
            include_str!("../../docs/examples/pod-roles-kube2iam.yaml"),
        ),
        (
            "pod-roles-kiam.yaml",
            include_str!("../../docs/examples/pod-roles-kiam.yaml"),
        ),
        (
            "pod-roles-irsa.yaml",
            include_str!("../../docs/examples/pod-roles-irsa.yaml"),
        ),
    ];
    for (name, text) in examples {
        let spec = parse_documents(&[SourceFile {
            path: name.into(),
            text: text.to_string(),
        }])
        .unwrap_or_else(|e| panic!("{name} does not parse:\n{e}"));
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

// IAM's grammar on the statements users write, each problem at its place.

/// `cluster.yaml:line:column` of the first `needle` in `text`.
fn place_of(text: &str, needle: &str) -> String {
    let (i, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} not in the text"));
    let column = line[..line.find(needle).unwrap()].chars().count() + 1;
    format!("cluster.yaml:{}:{column}", i + 1)
}

/// A node additional policy as a block scalar: a valid statement, then `second`.
fn block_policy(second: &str) -> String {
    with_cluster(&format!(
        "  additionalPolicies:\n    node: |\n      [\n        {{\"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"}},\n        {second}\n      ]\n"
    ))
}

#[test]
fn statements_break_iam_grammar_at_their_line_and_element() {
    const FIELD: &str = "spec.additionalPolicies.node";
    for (second, needle, message) in [
        (
            r#"{"Effect": "Allow", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Resource": "*"}"#,
            "statement 1 has no Action or NotAction; IAM needs exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:*", "NotAction""#,
            "statement 1 has both Action and NotAction; IAM takes exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}"#,
            r#""Action": "s3GetObject""#,
            "statement 1, Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *",
        ),
        (
            r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*"}"#,
            r#""Principal""#,
            "statement 1, Principal: an identity policy takes no Principal; IAM refuses it (\"Policy document should not specify a principal\"). Whom a role trusts belongs in its trust policy",
        ),
        (
            r#"{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["key-id-1"]}"#,
            r#""Resource": ["key-id-1"]"#,
            "statement 1, Resource[0]: \"key-id-1\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*"}"#,
            r#"{"Effect": "Allow", "Action": "s3:*"}"#,
            "statement 1 has no Resource or NotResource; IAM needs exactly one of them",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEquals": {"SourceVpc": "vpc-1"}}}"#,
            r#""Condition""#,
            "statement 1, Condition.StringEquals.SourceVpc: is not a condition key: IAM needs a service prefix, such as aws:SourceIp or ec2:ResourceTag/Name",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"StringEqualsIfExist": {"aws:SourceVpc": "vpc-1"}}}"#,
            r#""Condition""#,
            "statement 1, Condition.StringEqualsIfExist: is not a condition operator; IAM knows StringEquals, StringLike, ArnLike, Bool, IpAddress, NumericEquals, DateLessThan, Null and their relatives, with the IfExists suffix and the ForAllValues: and ForAnyValue: prefixes",
        ),
        (
            r#"{"Sid": "read all", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}"#,
            r#""Sid""#,
            "statement 1, Sid: \"read all\" is not a valid Sid; IAM takes only ASCII letters and digits",
        ),
        (
            r#"{"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Comment": "why"}"#,
            r#""Comment""#,
            "statement 1, Comment: is not a statement element; IAM knows Sid, Effect, Action, NotAction, Resource, NotResource and Condition",
        ),
    ] {
        let text = block_policy(second);
        assert_eq!(
            error(&text),
            format!("{}: {FIELD}: {message}", place_of(&text, needle)),
            "{second}"
        );
    }
    // The place is the line in the file: the policy starts at line 18.
    let text = block_policy(r#"{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}"#);
    assert!(error(&text).starts_with("cluster.yaml:20:29: "));
}

#[test]
fn sids_must_be_unique_within_a_policy() {
    let text = with_cluster(
        "  additionalPolicies:\n    node: |\n      [{\"Sid\": \"Queue\", \"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"},\n       {\"Sid\": \"Queue\", \"Effect\": \"Deny\", \"Action\": \"sqs:Delete*\", \"Resource\": \"*\"}]\n",
    );
    assert_eq!(
        error(&text),
        "cluster.yaml:19:9: spec.additionalPolicies.node: statement 1, Sid: \"Queue\" is also the Sid of statement 0; IAM needs Sids unique within a policy"
    );
}

#[test]
fn several_bad_statements_are_all_reported() {
    let text = block_policy(
        r#"{"Effect": "Allow", "Action": ["s3GetObject", "sqs:*"], "NotResource": "bucket"}"#,
    );
    let errors = parse(&text).unwrap_err().to_string();
    assert_eq!(
        errors,
        "cluster.yaml:20:29: spec.additionalPolicies.node: statement 1, Action[0]: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *\ncluster.yaml:20:65: spec.additionalPolicies.node: statement 1, NotResource: \"bucket\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it"
    );
    // In the order they stand in the file: the statement's own problem, at its start, first.
    let text = block_policy(
        r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}"#,
    );
    let places: Vec<String> = parse(&text)
        .unwrap_err()
        .0
        .iter()
        .map(|e| e.location.as_ref().unwrap().to_string())
        .collect();
    assert_eq!(places, ["cluster.yaml:20:9", "cluster.yaml:20:29"]);
}

#[test]
fn additional_policies_read_element_names_as_kops_does_but_inline_policies_do_not() {
    // kops matches Effect, Action, Resource and Condition in any case and writes them back
    // spelled so; an empty Condition it leaves out.
    let spec = parse(&with_cluster(
        "  additionalPolicies:\n    node: '[{\"effect\": \"Allow\", \"ACTION\": \"sqs:*\", \"resource\": \"*\", \"condition\": {}}]'\n",
    ))
    .unwrap();
    assert_eq!(
        spec.additional_policies[&InstanceRole::Node]
            .statements
            .len(),
        1
    );
    // A pod role's inline policy goes to IAM as written.
    let inline = "        inlinePolicy: '[{\"Effect\": \"Allow\", \"action\": \"s3:*\", \"Resource\": \"*\"}]'\n";
    assert_eq!(
        error(&with_iam(&format!("{KUBE2IAM}{inline}"), "")),
        "cluster.yaml:17:45: spec.iam.podIdentity.roles[0].inlinePolicy: statement 0, action: is not a statement element; element names are case-sensitive: write \"Action\""
    );
}

#[test]
fn a_policy_the_file_does_not_hold_line_by_line_is_placed_at_its_value() {
    // A double-quoted YAML string: escapes change the text, so only the value's place is
    // known, and the policy's own line when it has several.
    let one_line = with_cluster(
        "  additionalPolicies:\n    node: \"[{\\\"Effect\\\": \\\"Allow\\\", \\\"Action\\\": \\\"s3GetObject\\\", \\\"Resource\\\": \\\"*\\\"}]\"\n",
    );
    assert_eq!(
        error(&one_line),
        "cluster.yaml:17:11: spec.additionalPolicies.node: statement 0, Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *"
    );
    let two_lines = with_cluster(
        "  additionalPolicies:\n    node: \"[\\n {\\\"Effect\\\": \\\"Allow\\\", \\\"Resource\\\": \\\"*\\\"}]\"\n",
    );
    assert_eq!(
        error(&two_lines),
        "cluster.yaml:17:11: spec.additionalPolicies.node: statement 0 (line 2 of the policy) has no Action or NotAction; IAM needs exactly one of them"
    );
}

const ETCD: &str = "  etcdClusters:
  - name: main
    etcdMembers:
    - name: a
      kmsKeyId: arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab
    - name: b
";

#[test]
fn etcd_kms_key_ids_must_be_key_arns() {
    let spec = parse(&with_cluster(ETCD)).unwrap();
    assert_eq!(
        spec.etcd_clusters[0].members[0].kms_key_id.as_deref(),
        Some("arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    assert_eq!(spec.etcd_clusters[0].members[1].kms_key_id, None);
    let arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    for (bad, shown) in [
        ("key-id-1", "\"key-id-1\""),
        ("alias/etcd", "\"alias/etcd\""),
        (
            "arn:aws:kms:eu-west-1:123456789012:alias/etcd",
            "\"arn:aws:kms:eu-west-1:123456789012:alias/etcd\"",
        ),
    ] {
        assert_eq!(
            error(&with_cluster(&ETCD.replace(arn, bad))),
            format!("cluster.yaml:20:17: spec.etcdClusters[0].etcdMembers[0].kmsKeyId: {shown} is not a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab; kops grants the masters this key as a policy Resource, where IAM takes only ARNs")
        );
    }
    assert_eq!(
        error(&with_cluster(&ETCD.replace(arn, "''"))),
        "cluster.yaml:20:17: spec.etcdClusters[0].etcdMembers[0].kmsKeyId: must not be empty when given"
    );
}

#[test]
fn pod_role_namespaces_must_be_kubernetes_namespaces() {
    assert_eq!(
        error(&with_iam(&KUBE2IAM.replace("[billing, reports]", "[Billing, reports]"), "")),
        "cluster.yaml:15:22: spec.iam.podIdentity.roles[0].namespaces[0]: \"Billing\" is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit"
    );
    // A newline would start a document of its own in the YAML for kubectl apply.
    assert_eq!(
        error(&with_iam(
            &KUBE2IAM.replace("[billing, reports]", "[billing, \"reports\\n---\\nkind: Secret\"]"),
            ""
        )),
        "cluster.yaml:15:31: spec.iam.podIdentity.roles[0].namespaces[1]: \"reports\\n---\\nkind: Secret\" is not a valid Kubernetes namespace: use lower-case letters, digits and '-', starting and ending with a letter or digit"
    );
    let long = "n".repeat(64);
    assert_eq!(
        error(&with_iam(&KUBE2IAM.replace("[billing, reports]", &format!("[{long}]")), "")),
        format!("cluster.yaml:15:22: spec.iam.podIdentity.roles[0].namespaces[0]: \"{long}\" is 64 characters long; a Kubernetes namespace has at most 63")
    );
    // kube2iam and kiam annotate one namespace at a time: no wildcards.
    assert!(error(&with_iam(
        &KUBE2IAM.replace("[billing, reports]", "['*']"),
        ""
    ))
    .contains("namespaces[0]: \"*\" is not a valid Kubernetes namespace"));
}

#[test]
fn irsa_service_accounts_must_have_kubernetes_names() {
    assert_eq!(
        error(&with_iam(&EXTERNAL_DNS.replace("name: external-dns", "name: External-DNS"), OIDC)),
        "cluster.yaml:12:13: spec.iam.serviceAccountExternalPermissions[0].name: \"External-DNS\" is not a valid Kubernetes service account name: use lower-case letters, digits, '-' and '.', each part between dots starting and ending with a letter or digit"
    );
    assert_eq!(
        error(&with_iam(&EXTERNAL_DNS.replace("namespace: kube-system", "namespace: \"kube-system\\nkind: Secret\""), OIDC)),
        "cluster.yaml:13:18: spec.iam.serviceAccountExternalPermissions[0].namespace: \"kube-system\\nkind: Secret\" is not a Kubernetes namespace or pattern: use lower-case letters, digits, '-' and the wildcard *, starting and ending with a letter, a digit or *"
    );
    assert_eq!(
        error(&with_iam(&EXTERNAL_DNS.replace("namespace: kube-system", "namespace: Kube-System"), OIDC)),
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
