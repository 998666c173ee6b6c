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

mod service_accounts {
    use super::super::service_accounts::{addon_role_names, issuer, role_name};
    use crate::spec::{parse_documents_as, Generation, SourceFile};

    fn spec(lines: &str) -> crate::spec::ClusterSpec {
        let text = format!("apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: c.example.com\nspec:\n  cloudProvider: aws\n  kubernetesVersion: 1.31.0\n  configBase: s3://b/c.example.com\n{lines}---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\nspec:\n  role: Node\n");
        parse_documents_as(
            &[SourceFile {
                path: "c.yaml".into(),
                text,
            }],
            Some(Generation::Kops136),
        )
        .unwrap()
    }

    #[test]
    fn the_addons_roles_are_kops_own_and_need_service_account_permissions() {
        let s = spec("");
        assert!(addon_role_names(&s, s.kops136.as_ref().unwrap()).is_empty());
        let s = spec("  iam:\n    useServiceAccountExternalPermissions: true\n  karpenter:\n    enabled: true\n");
        let names = addon_role_names(&s, s.kops136.as_ref().unwrap());
        assert!(names
            .contains(&"aws-cloud-controller-manager.kube-system.sa.c.example.com".to_string()));
        assert!(names.contains(&"karpenter.kube-system.sa.c.example.com".to_string()));
        assert!(names.contains(&"ebs-csi-controller-sa.kube-system.sa.c.example.com".to_string()));
    }

    #[test]
    fn names_write_a_star_as_wildcard_and_truncate() {
        assert_eq!(
            role_name("app", "test-*", "c.example.com"),
            "app.test-wildcard.sa.c.example.com"
        );
        let long = role_name(
            "aws-load-balancer-controller",
            "kube-system",
            "a-very-long-cluster-name.example.com",
        );
        assert_eq!(long.len(), 64);
    }

    #[test]
    fn the_issuer_is_written_then_the_store_then_the_internal_api() {
        let s = spec("");
        assert_eq!(
            issuer(&s, s.kops136.as_ref().unwrap()).unwrap(),
            "https://api.internal.c.example.com"
        );
        let s = spec("  serviceAccountIssuerDiscovery:\n    discoveryStore: memfs://discovery.example.com/c\n");
        assert_eq!(
            issuer(&s, s.kops136.as_ref().unwrap()).unwrap(),
            "https://discovery.example.com/c"
        );
        let s = spec("  kubeAPIServer:\n    serviceAccountIssuer: https://issuer.example.com\n  serviceAccountIssuerDiscovery:\n    discoveryStore: memfs://discovery.example.com/c\n");
        assert_eq!(
            issuer(&s, s.kops136.as_ref().unwrap()).unwrap(),
            "https://issuer.example.com"
        );
    }
}

mod generation_wide {
    use crate::desired::desired_state;
    use crate::spec::{parse_documents_as, Generation, InstanceRole, SourceFile};

    const SPEC: &str = "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: c.example.com\nspec:\n  cloudProvider: aws\n  kubernetesVersion: 1.34.2\n  configBase: s3://b/c.example.com\n  dnsZone: Z1\n  subnets:\n  - name: a\n    zone: eu-west-1a\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: cp\nspec:\n  role: ControlPlane\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\nspec:\n  role: Node\n  iam:\n    profile: arn:aws:iam::123456789012:instance-profile/their-nodes\n";

    #[test]
    fn an_existing_profile_is_checked_against_kops_136_documents() {
        let spec = parse_documents_as(
            &[SourceFile {
                path: "c.yaml".into(),
                text: SPEC.into(),
            }],
            None,
        )
        .unwrap();
        assert_eq!(spec.generation.generation, Generation::Kops136);
        let state = desired_state(&spec).unwrap();
        // No API-server or bastion group: their IAM is a removed group's; the nodes' kind
        // uses an existing profile, so it is not removed.
        assert_eq!(
            state.removed_groups,
            ["apiservers.c.example.com", "bastions.c.example.com"]
        );
        // The control plane is rolecall's, the nodes' profile someone else's.
        assert_eq!(
            state
                .roles
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["masters.c.example.com"]
        );
        let [external] = state.external_profiles.as_slice() else {
            panic!("{:?}", state.external_profiles)
        };
        let k = spec.kops136.as_ref().unwrap();
        let ctx = super::super::Context {
            partition: "aws".into(),
            region: "eu-west-1".into(),
            hosted_zone_id: Some("Z1".into()),
        };
        assert_eq!(
            external.expected_policy,
            super::super::role_policy(&spec, k, &ctx, InstanceRole::Node).unwrap()
        );
        assert!(external.expected_policy.starts_with("{\n  \"Statement\""));
        assert_eq!(external.expected_trust_policy, state.roles[0].trust_policy);
    }
}
