use super::*;

#[test]
fn partitions_follow_the_region_prefix() {
    assert_eq!(partition("us-east-1"), ("aws", "ec2.amazonaws.com"));
    assert_eq!(partition("cn-north-1"), ("aws-cn", "ec2.amazonaws.com.cn"));
    assert_eq!(
        partition("us-gov-east-1"),
        ("aws-us-gov", "ec2.amazonaws.com")
    );
    assert_eq!(
        partition("us-isob-east-1"),
        ("aws-iso-b", "ec2.amazonaws.com")
    );
}

#[test]
fn long_names_are_truncated_as_kops_truncates_them() {
    let cluster = "this.is.truly.a.really.really.long.cluster-name.minimal.example.com";
    let name = iam_name(InstanceRole::Master, cluster);
    assert_eq!(name.len(), 64);
    assert!(name.starts_with("masters.this.is.truly.a.really.really.long.cluster-na"));
    assert_eq!(
        iam_name(InstanceRole::Node, "a.example.com"),
        "nodes.a.example.com"
    );
}

#[test]
fn cloud_labels_join_and_may_overwrite_the_tags() {
    let k = Kops136Spec {
        cloud_labels: [
            ("Owner".to_string(), "me".to_string()),
            ("Name".into(), "x".into()),
        ]
        .into_iter()
        .collect(),
        ..Kops136Spec::default()
    };
    let tags = cloud_tags(&k, "nodes.c", "c");
    assert_eq!(tags["Owner"], "me");
    assert_eq!(tags["Name"], "x");
    assert_eq!(tags["kubernetes.io/cluster/c"], "owned");
    assert_eq!(tags["KubernetesCluster"], "c");
}
