//! The Cluster's own fields: `spec.iam`'s policy settings, the cloud provider, the stores,
//! the subnets' region, `spec.additionalPolicies` and the etcd members' KMS keys.

use super::*;

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
fn cloud_provider_must_be_aws() {
    assert_eq!(
        cluster_error("cloudProvider: aws", "cloudProvider: gce"),
        "cluster.yaml:6:18: spec.cloudProvider: unsupported cloud provider \"gce\"; rolecall manages only aws"
    );
}

#[test]
fn stores_must_be_s3() {
    assert_eq!(
        cluster_error(
            "s3://state/example.k8s.local",
            "gs://state/example.k8s.local",
        ),
        "cluster.yaml:7:15: spec.configBase: \"gs://state/example.k8s.local\" is not an S3 path (s3://bucket/path); only S3 stores can be granted in IAM"
    );
}

#[test]
fn zones_in_two_regions_are_an_error() {
    assert_eq!(
        cluster_error("zone: eu-west-1b", "zone: us-east-1b"),
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
