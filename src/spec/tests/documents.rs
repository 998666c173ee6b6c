//! The documents as a whole: kinds, API versions, names, how many Clusters and instance
//! groups, instance groups' own fields, and type errors named by their field.

use super::*;

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
    let spec = parse_files(&[("cluster.yaml", CLUSTER), ("nodes.yaml", NODES)]).unwrap();
    assert_eq!(
        spec.instance_groups[0].location.file,
        PathBuf::from("nodes.yaml")
    );
}

#[test]
fn a_wrong_type_names_the_file_line_and_field() {
    assert_eq!(
        error(&format!(
            "{NODES}---\n{}",
            CLUSTER.replace("legacy: false", "legacy: perhaps")
        )),
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
fn an_unknown_api_version_is_an_error() {
    assert_eq!(
        nodes_error("kops.k8s.io/v1alpha2", "kops.k8s.io/v1"),
        "cluster.yaml:17:13: apiVersion: unsupported apiVersion \"kops.k8s.io/v1\"; expected kops.k8s.io/v1alpha2"
    );
}

#[test]
fn an_unknown_instance_group_role_is_an_error() {
    assert_eq!(
        nodes_error("role: Node", "role: Worker"),
        "cluster.yaml:22:9: spec.role: unknown instance group role \"Worker\"; valid roles are Master, Node and Bastion"
    );
}

#[test]
fn a_missing_role_or_name_is_an_error() {
    assert_eq!(
        nodes_error("  role: Node\n", ""),
        "cluster.yaml:18:7: spec.role: is required but missing (Master, Node or Bastion)"
    );
    assert_eq!(
        cluster_error("  name: example.k8s.local\n", ""),
        "cluster.yaml:2:7: metadata.name: is required but missing"
    );
}

#[test]
fn an_invalid_profile_arn_is_an_error() {
    assert_eq!(
        nodes_error(
            "  role: Node\n",
            "  role: Node\n  iam:\n    profile: arn:aws:iam::123:role/nodes\n",
        ),
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
fn every_problem_is_reported_at_once() {
    let ig = NODES.replace("role: Node", "role: Worker");
    let text = CLUSTER.replace("cloudProvider: aws", "cloudProvider: gce");
    let errors = parse(&format!("{text}---\n{ig}")).unwrap_err();
    assert_eq!(errors.0.len(), 2, "{errors}");
}

#[test]
fn an_unreadable_file_is_named() {
    let errors = load_files(&[PathBuf::from("/nonexistent/cluster.yaml")], None).unwrap_err();
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
        assert_eq!(
            nodes_error("  role: Node\n", &format!("  role: Node\n{lines}")),
            message
        );
    }
}

#[test]
fn a_wrong_type_in_a_pod_role_names_its_field() {
    assert_eq!(
        kube2iam_error("name: billing-reader", "name: [billing]"),
        "cluster.yaml:14:15: spec.iam.podIdentity.roles[0].name: expected string scalar"
    );
    assert_eq!(
        irsa_error(
            "[arn:aws:iam::aws:policy/AmazonRoute53FullAccess]",
            "arn:aws:iam::aws:policy/AmazonRoute53FullAccess"
        ),
        "cluster.yaml:15:21: spec.iam.serviceAccountExternalPermissions[0].aws.policyARNs: expected sequence start"
    );
}
