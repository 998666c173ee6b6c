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
    assert!(validate::is_instance_profile_arn(
        "arn:aws:iam::123456789012:instance-profile/nodes"
    ));
    assert!(validate::is_instance_profile_arn(
        "arn:aws-cn:iam::123456789012:instance-profile/path/nodes"
    ));
    assert!(!validate::is_instance_profile_arn(
        "arn:aws:iam::123456789012:instance-profile/"
    ));
    assert!(!validate::is_instance_profile_arn(
        "arn:aws:iam:us-east-1:123456789012:instance-profile/x"
    ));
    assert!(!validate::is_instance_profile_arn("nodes"));
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
        "cluster.yaml:17:13: spec.additionalPolicies.master: statement 0 has Effect \"Permit\"; it must be \"Allow\" or \"Deny\""
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
