//! Fields of later kops releases that change IAM: each refused at its place, naming its
//! release; IRSA and podIdentity, which rolecall builds, still accepted.

use super::*;

const WHATEVER: &str = "rolecall builds the IAM of kops 1.10, which has no such field, so it refuses the field whatever its value (even one that changes nothing)";

#[test]
fn a_later_cluster_field_is_refused_at_its_key() {
    assert_eq!(
        error(&with_cluster(
            "  externalPolicies:\n    node:\n    - arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess\n"
        )),
        format!("cluster.yaml:16:3: spec.externalPolicies: a field of kops 1.18.0 and later, where it attaches managed policies to the roles; {WHATEVER}")
    );
}

#[test]
fn a_later_field_is_refused_even_when_it_asks_for_nothing() {
    assert_eq!(
        error(&with_cluster("  clusterAutoscaler:\n    enabled: false\n")),
        format!("cluster.yaml:16:3: spec.clusterAutoscaler: a field of kops 1.19.0 and later, where it grants the cluster autoscaler's permissions; {WHATEVER}")
    );
}

#[test]
fn nested_later_fields_are_refused_at_their_own_keys() {
    #[rustfmt::skip]
    let cases = [
        (with_iam("    permissionsBoundary: arn:aws:iam::123456789012:policy/boundary\n", ""), "11:5: spec.iam.permissionsBoundary", "1.19.0", "sets a permissions boundary on every role"),
        (with_cluster("  cloudConfig:\n    awsEBSCSIDriver:\n      enabled: true\n"), "17:5: spec.cloudConfig.awsEBSCSIDriver", "1.20.0", "grants the EBS CSI driver's permissions"),
        (with_cluster("  networking:\n    calico:\n      awsSrcDstCheck: Disable\n"), "18:7: spec.networking.calico.awsSrcDstCheck", "1.19.0", "grants the EC2 source/destination-check permissions"),
    ];
    for (spec, place, release, effect) in cases {
        assert_eq!(
            error(&spec),
            format!("cluster.yaml:{place}: a field of kops {release} and later, where it {effect}; {WHATEVER}")
        );
    }
}

#[test]
fn a_later_value_of_a_1_10_field_is_refused_at_the_value() {
    assert_eq!(
        error(&with_cluster("  networking:\n    cilium:\n      ipam: eni\n")),
        "cluster.yaml:18:13: spec.networking.cilium.ipam: \"eni\" is a value of kops 1.18.0 and later, where it grants ENI permissions; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it"
    );
    assert_eq!(
        error(&with_cluster("  externalDns:\n    provider: external-dns\n")),
        "cluster.yaml:17:15: spec.externalDns.provider: \"external-dns\" is a value of kops 1.22.0 and later, where it gives external-dns a service-account role with Route53 rights; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it"
    );
    // Other values are kops 1.10's own.
    parse(&with_cluster(
        "  networking:\n    cilium:\n      ipam: kubernetes\n",
    ))
    .unwrap();
    parse(&with_cluster("  externalDns:\n    watchIngress: true\n")).unwrap();
}

/// The instance group's role: APIServer and ControlPlane are refused as later values, once,
/// not also as unknown roles.
#[test]
fn later_instance_group_roles_and_managers_are_refused_once() {
    assert_eq!(
        nodes_error("role: Node", "role: APIServer"),
        "cluster.yaml:22:9: spec.role: \"APIServer\" is a value of kops 1.21.0 and later, where it gives the group a role of its own, apiservers.<cluster>, with its own policy; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it"
    );
    assert_eq!(
        nodes_error("role: Node", "role: ControlPlane"),
        "cluster.yaml:22:9: spec.role: \"ControlPlane\" is a value of kops 1.26.0 and later, where it names the role kops 1.10 calls Master; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it"
    );
    assert_eq!(
        nodes_error("  role: Node\n", "  role: Node\n  manager: Karpenter\n"),
        "cluster.yaml:23:12: spec.manager: \"Karpenter\" is a value of kops 1.24.0 and later, where it hands the group to Karpenter, which gets a service-account role; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it"
    );
    assert_eq!(
        nodes_error("  role: Node\n", "  role: Node\n  warmPool:\n    minSize: 1\n"),
        format!("cluster.yaml:23:3: spec.warmPool: a field of kops 1.21.0 and later, where it grants lifecycle-hook permissions; {WHATEVER}")
    );
}

/// `apiserver` and `control-plane` are refused as later keys, once; any other unknown key
/// keeps its own message.
#[test]
fn later_additional_policy_keys_are_refused_once() {
    assert_eq!(
        error(&with_cluster("  additionalPolicies:\n    control-plane: '[]'\n")),
        format!("cluster.yaml:17:5: spec.additionalPolicies.control-plane: a field of kops 1.26.0 and later, where it adds statements to the role kops 1.10 keys as master; {WHATEVER}")
    );
    assert_eq!(
        error(&with_cluster("  additionalPolicies:\n    apiserver: '[]'\n")),
        format!("cluster.yaml:17:5: spec.additionalPolicies.apiserver: a field of kops 1.21.0 and later, where it adds statements to the apiservers.<cluster> role; {WHATEVER}")
    );
    // Other keys stay unknown ones: src/spec/tests/cluster.rs.
}

/// Every later field of a document is reported, in the order they stand, beside the
/// document's other errors.
#[test]
fn all_later_fields_are_reported_in_document_order() {
    let errors = parse(&with_cluster(
        "  snapshotController:\n    enabled: true\n  containerd:\n    nvidiaGPU:\n      enabled: true\n    useECRCredentialsForMirrors: true\n  certManager:\n    enabled: true\n",
    ))
    .unwrap_err();
    let places: Vec<String> = errors
        .0
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e.location.as_ref().unwrap(),
                e.field.as_deref().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "cluster.yaml:16:3 spec.snapshotController",
            "cluster.yaml:19:5 spec.containerd.nvidiaGPU",
            "cluster.yaml:21:5 spec.containerd.useECRCredentialsForMirrors",
            "cluster.yaml:22:3 spec.certManager",
        ]
    );
}

/// In JSON the place is the key's opening quote.
#[test]
fn a_later_field_in_json_is_placed_on_its_line_and_column() {
    let json = r#"{"apiVersion":"kops/v1alpha2","kind":"Cluster","metadata":{"name":"example.k8s.local"},"spec":{"cloudProvider":"aws","configBase":"s3://state/x","karpenter":{"enabled":true}}}"#;
    let column = json.find(r#""karpenter""#).unwrap() + 1;
    let errors = parse_files(&[
        ("cluster.json", &format!("{json}\n")),
        ("nodes.yaml", NODES),
    ])
    .unwrap_err();
    assert_eq!(
        errors.to_string(),
        format!("cluster.json:1:{column}: spec.karpenter: a field of kops 1.24.0 and later, where it gives Karpenter a service-account role; {WHATEVER}")
    );
}

/// IRSA and podIdentity are later than kops 1.10 too, but rolecall builds them.
#[test]
fn irsa_and_pod_identity_are_still_accepted() {
    parse(&with_iam(EXTERNAL_DNS, OIDC)).unwrap();
    parse(&with_iam(KUBE2IAM, "")).unwrap();
    for path in [
        "spec.serviceAccountIssuerDiscovery",
        "spec.iam.serviceAccountExternalPermissions",
        "spec.iam.podIdentity",
    ] {
        assert!(LATER_FIELDS.iter().all(|f| f.path != path), "{path}");
    }
}

/// The table's entries are well formed: a release later than 1.10, a path from `spec`, and
/// no entry twice.
#[test]
fn the_table_is_well_formed() {
    for (i, f) in LATER_FIELDS.iter().enumerate() {
        assert!(f.path.starts_with("spec."), "{f:?}");
        assert!(["Cluster", "InstanceGroup"].contains(&f.kind), "{f:?}");
        let minor: u32 = f.release.split('.').nth(1).unwrap().parse().unwrap();
        assert!(f.release.starts_with("1.") && minor > 10, "{f:?}");
        assert!(
            LATER_FIELDS[..i]
                .iter()
                .all(|g| (g.kind, g.path, g.value) != (f.kind, f.path, f.value)),
            "{f:?} twice"
        );
    }
}
