use serde_json::Value;

use super::*;
use crate::desired::kops_policy::role_policy;
use crate::test_spec::cluster;

const GOSSIP: &str = "example.k8s.local";
const BASE: &str = "  configBase: s3://state/example\n";
const STRICT: &str = "  iam: {legacy: false}\n";
const LEGACY: &str = "  iam: {legacy: true}\n";

fn build(name: &str, body: &str, role: InstanceRole) -> Vec<Value> {
    let spec = cluster(name, body);
    let text = role_policy(&spec, role).unwrap_or_else(|e| panic!("{e}"));
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["Statement"].as_array().unwrap().clone()
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().unwrap().to_string())
            .collect(),
        other => panic!("not a string or list: {other}"),
    }
}

fn actions(st: &Value) -> Vec<String> {
    strings(&st["Action"])
}

fn resources(st: &Value) -> Vec<String> {
    strings(&st["Resource"])
}

/// The statements whose actions include `action`.
/// The statements of `role` in the gossip cluster `GOSSIP` with these spec lines.
fn gossip(body: &str, role: InstanceRole) -> Vec<Value> {
    build(GOSSIP, body, role)
}

/// The statements of `role` in the cluster `DNS`, which has a hosted zone.
fn with_zone(body: &str, role: InstanceRole) -> Vec<Value> {
    build(DNS, body, role)
}

fn with_action<'a>(sts: &'a [Value], action: &str) -> Vec<&'a Value> {
    sts.iter()
        .filter(|s| actions(s).iter().any(|a| a == action))
        .collect()
}

fn position(sts: &[Value], action: &str) -> usize {
    sts.iter()
        .position(|s| actions(s).iter().any(|a| a == action))
        .unwrap_or_else(|| panic!("no statement with {action}"))
}

fn all_resources(sts: &[Value]) -> Vec<String> {
    sts.iter().flat_map(resources).collect()
}

// --- S3 state stores ---

#[test]
fn node_state_paths_use_the_node_authorizer_with_bootstrap_tokens() {
    let body = format!("{BASE}{STRICT}  kubeAPIServer: {{enableBootstrapAuthToken: true}}\n");
    let sts = gossip(&body, InstanceRole::Node);
    let reads = resources(with_action(&sts, "s3:Get*")[0]);
    assert!(reads
        .contains(&"arn:aws:s3:::state/example/pki/private/node-authorizer-client/*".to_string()));
    assert!(!reads.iter().any(|r| r.contains("pki/private/kubelet")));
    let mut sorted = reads.clone();
    sorted.sort();
    assert_eq!(reads, sorted);
    assert_eq!(reads.len(), 9);
}

#[test]
fn node_state_paths_use_the_kubelet_key_without_bootstrap_tokens() {
    let sts = gossip(&format!("{BASE}{STRICT}"), InstanceRole::Node);
    let reads = resources(with_action(&sts, "s3:Get*")[0]);
    assert!(reads.contains(&"arn:aws:s3:::state/example/pki/private/kubelet/*".to_string()));
    assert!(!reads.iter().any(|r| r.contains("node-authorizer")));
}

#[test]
fn each_root_gets_a_bucket_statement_then_the_role_object_statement() {
    let body = format!("{BASE}{STRICT}  keyStore: s3://keys/example/pki\n");
    let master = gossip(&body, InstanceRole::Master);
    let start = position(&master, "s3:GetBucketLocation");
    let s3: Vec<(Vec<String>, Value)> = master[start..start + 4]
        .iter()
        .map(|s| (actions(s), s["Resource"].clone()))
        .collect();
    assert_eq!(
        s3[0],
        (
            vec!["s3:GetBucketLocation".into(), "s3:ListBucket".into()],
            serde_json::json!(["arn:aws:s3:::keys"])
        )
    );
    assert_eq!(
        s3[1],
        (
            vec!["s3:Get*".into()],
            serde_json::json!("arn:aws:s3:::keys/example/pki/*")
        )
    );
    assert_eq!(s3[2].1, serde_json::json!(["arn:aws:s3:::state"]));
    assert_eq!(
        s3[3],
        (
            vec!["s3:Get*".into()],
            serde_json::json!("arn:aws:s3:::state/example/*")
        )
    );
}

#[test]
fn legacy_roles_get_everything_under_each_root() {
    for role in [InstanceRole::Master, InstanceRole::Node] {
        let sts = gossip(&format!("{BASE}{LEGACY}"), role);
        let all = with_action(&sts, "s3:*");
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0]["Resource"],
            Value::from("arn:aws:s3:::state/example/*")
        );
        assert!(with_action(&sts, "s3:Get*").is_empty());
    }
}

#[test]
fn memfs_state_gives_no_s3_statements() {
    let sts = gossip(
        &format!("  configBase: memfs://tests/example\n{STRICT}"),
        InstanceRole::Node,
    );
    assert!(sts.iter().all(|s| !actions(s)[0].starts_with("s3:")));
}

// --- etcd backups ---

const BACKUPS: &str = "  etcdClusters:
  - name: main
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://backups/example/main}
  - name: events
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://backups/example/events/}
  - name: again
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://backups/example/main}
";

#[test]
fn master_writes_each_backup_store_once_in_both_modes() {
    for mode in [STRICT, LEGACY] {
        let sts = gossip(&format!("{BASE}{mode}{BACKUPS}"), InstanceRole::Master);
        let writes = with_action(&sts, "s3:PutObject");
        assert_eq!(writes.len(), 2, "{mode}");
        assert_eq!(
            actions(writes[0]),
            ["s3:GetObject", "s3:DeleteObject", "s3:PutObject"]
        );
        assert_eq!(
            writes[0]["Resource"],
            Value::from("arn:aws:s3:::backups/example/main/*")
        );
        assert_eq!(
            writes[1]["Resource"],
            Value::from("arn:aws:s3:::backups/example/events/*")
        );
    }
}

#[test]
fn backup_writes_follow_the_state_statements_and_precede_kms() {
    let etcd = "  etcdClusters:
  - name: main
    etcdMembers: [{name: a, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/k1'}]
    backups: {backupStore: s3://backups/example/main}
";
    let sts = gossip(&format!("{BASE}{STRICT}{etcd}"), InstanceRole::Master);
    let state = position(&sts, "s3:GetBucketLocation");
    let write = position(&sts, "s3:PutObject");
    let kms = position(&sts, "kms:Decrypt");
    assert_eq!(write, state + 2);
    assert_eq!(kms, write + 1);
}

#[test]
fn nodes_and_bastions_do_not_write_backups() {
    for role in [InstanceRole::Node, InstanceRole::Bastion] {
        let sts = gossip(&format!("{BASE}{STRICT}{BACKUPS}"), role);
        assert!(with_action(&sts, "s3:PutObject").is_empty());
    }
}

// --- KMS ---

const KEYS: &str = "  etcdClusters:
  - name: main
    etcdMembers: [{name: a, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/key-b'}, {name: b, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/key-a'}]
  - name: events
    etcdMembers: [{name: a, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/key-b'}, {name: b}]
";

#[test]
fn kms_lists_member_keys_in_spec_order_without_dedup() {
    let sts = gossip(&format!("{BASE}{STRICT}{KEYS}"), InstanceRole::Master);
    let kms = with_action(&sts, "kms:Decrypt");
    assert_eq!(kms.len(), 1);
    assert_eq!(
        kms[0]["Resource"],
        serde_json::json!([
            "arn:aws:kms:us-east-1:123456789012:key/key-b",
            "arn:aws:kms:us-east-1:123456789012:key/key-a",
            "arn:aws:kms:us-east-1:123456789012:key/key-b"
        ])
    );
    assert!(with_action(&sts, "kms:ListGrants").is_empty());
}

#[test]
fn legacy_kms_adds_grant_listing_and_revocation_first() {
    let sts = gossip(&format!("{BASE}{LEGACY}{KEYS}"), InstanceRole::Master);
    let grants = position(&sts, "kms:ListGrants");
    assert_eq!(actions(&sts[grants]), ["kms:ListGrants", "kms:RevokeGrant"]);
    assert_eq!(
        sts[grants]["Resource"],
        serde_json::json!([
            "arn:aws:kms:us-east-1:123456789012:key/key-b",
            "arn:aws:kms:us-east-1:123456789012:key/key-a",
            "arn:aws:kms:us-east-1:123456789012:key/key-b"
        ])
    );
    assert_eq!(position(&sts, "kms:Decrypt"), grants + 1);
}

#[test]
fn kms_needs_keys_and_a_master() {
    let sts = gossip(&format!("{BASE}{LEGACY}"), InstanceRole::Master);
    assert!(with_action(&sts, "kms:Decrypt").is_empty());
    let sts = gossip(&format!("{BASE}{LEGACY}{KEYS}"), InstanceRole::Node);
    assert!(with_action(&sts, "kms:Decrypt").is_empty());
}

// --- Route53 ---

const DNS: &str = "example.com";

fn zone(id: &str) -> String {
    format!("{BASE}  dnsZone: {id:?}\n")
}

#[test]
fn master_gets_the_hosted_zone_after_kms() {
    let body = format!("{}{STRICT}{KEYS}", zone("Z1ABC"));
    let sts = with_zone(&body, InstanceRole::Master);
    let change = position(&sts, "route53:ChangeResourceRecordSets");
    assert_eq!(change, position(&sts, "kms:Decrypt") + 1);
    assert_eq!(
        actions(&sts[change]),
        [
            "route53:ChangeResourceRecordSets",
            "route53:ListResourceRecordSets",
            "route53:GetHostedZone"
        ]
    );
    assert_eq!(
        sts[change]["Resource"],
        serde_json::json!(["arn:aws:route53:::hostedzone/Z1ABC"])
    );
    assert_eq!(actions(&sts[change + 1]), ["route53:GetChange"]);
    assert_eq!(
        sts[change + 1]["Resource"],
        serde_json::json!(["arn:aws:route53:::change/*"])
    );
    assert_eq!(actions(&sts[change + 2]), ["route53:ListHostedZones"]);
    assert_eq!(sts[change + 2]["Resource"], serde_json::json!(["*"]));
    assert_eq!(with_action(&sts, "route53:ListHostedZones").len(), 1);
}

#[test]
fn hosted_zone_prefixes_are_trimmed() {
    for given in ["/hostedzone/Z1ABC", "hostedzone/Z1ABC", "/Z1ABC", "Z1ABC"] {
        let sts = with_zone(&format!("{}{STRICT}", zone(given)), InstanceRole::Master);
        let zone_st = with_action(&sts, "route53:GetHostedZone");
        assert_eq!(
            resources(zone_st[0]),
            ["arn:aws:route53:::hostedzone/Z1ABC"],
            "{given}"
        );
    }
}

#[test]
fn legacy_master_lists_hosted_zones_twice_with_a_zone() {
    let sts = with_zone(&format!("{}{LEGACY}", zone("Z1ABC")), InstanceRole::Master);
    assert_eq!(with_action(&sts, "route53:ListHostedZones").len(), 2);
}

#[test]
fn nodes_get_the_zone_only_in_legacy_mode() {
    let legacy = with_zone(&format!("{}{LEGACY}", zone("Z1ABC")), InstanceRole::Node);
    assert_eq!(with_action(&legacy, "route53:GetHostedZone").len(), 1);
    assert_eq!(with_action(&legacy, "route53:ListHostedZones").len(), 2);
    let strict = with_zone(&format!("{}{STRICT}", zone("Z1ABC")), InstanceRole::Node);
    assert!(strict
        .iter()
        .all(|s| !actions(s)[0].starts_with("route53:")));
    let bastion = with_zone(&format!("{}{LEGACY}", zone("Z1ABC")), InstanceRole::Bastion);
    assert_eq!(bastion.len(), 1);
}

/// `reconcile` looks a zone name up and puts the ID in the spec before it builds: a name
/// reaching the builder is a mistake, reported rather than written into a policy.
#[test]
fn a_zone_name_must_be_looked_up_before_the_build() {
    let spec = cluster(DNS, &format!("{}{LEGACY}", zone("example.com")));
    for role in [InstanceRole::Master, InstanceRole::Node] {
        let err = role_policy(&spec, role).unwrap_err();
        assert_eq!(err.field, "spec.dnsZone");
        assert!(err.message.contains("looked up in Route53"), "{err}");
        assert!(err.message.contains("\"example.com.\""), "{err}");
    }
    // A strict node and a bastion do not use the zone.
    let strict = cluster(DNS, &format!("{}{STRICT}", zone("example.com")));
    assert!(role_policy(&strict, InstanceRole::Node).is_ok());
    assert!(role_policy(&strict, InstanceRole::Bastion).is_ok());
}

#[test]
fn a_missing_zone_on_a_dns_cluster_must_be_looked_up_first() {
    let spec = cluster(DNS, &format!("{BASE}{STRICT}"));
    let err = role_policy(&spec, InstanceRole::Master).unwrap_err();
    assert_eq!(err.field, "spec.dnsZone");
    assert!(err.message.contains("is not set"), "{err}");
}

#[test]
fn an_empty_zone_id_is_an_error() {
    let spec = cluster(DNS, &format!("{}{STRICT}", zone("/hostedzone/")));
    assert_eq!(
        role_policy(&spec, InstanceRole::Master).unwrap_err().field,
        "spec.dnsZone"
    );
}

#[test]
fn gossip_clusters_get_no_route53_and_ignore_dns_zone() {
    for dns_zone in ["Z1ABC", "example.com"] {
        let body = format!("{}{LEGACY}", zone(dns_zone));
        for role in [InstanceRole::Master, InstanceRole::Node] {
            let sts = gossip(&body, role);
            assert!(with_action(&sts, "route53:GetHostedZone").is_empty());
            // Only legacy mode's unconditional listing remains.
            assert_eq!(with_action(&sts, "route53:ListHostedZones").len(), 1);
        }
    }
}

// --- networking ---

fn networking(provider: &str) -> String {
    format!("  networking:\n    {provider}: {{}}\n")
}

#[test]
fn romana_adds_route_statements_to_strict_masters() {
    let sts = gossip(
        &format!("{BASE}{STRICT}{}", networking("romana")),
        InstanceRole::Master,
    );
    let n = sts.len();
    assert_eq!(
        actions(&sts[n - 2]),
        ["ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs"]
    );
    assert_eq!(
        actions(&sts[n - 1]),
        ["ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"]
    );
    assert_eq!(
        sts[n - 1]["Condition"],
        serde_json::json!({"StringEquals": {"ec2:ResourceTag/KubernetesCluster": GOSSIP}})
    );
    let legacy = gossip(
        &format!("{BASE}{LEGACY}{}", networking("romana")),
        InstanceRole::Master,
    );
    assert!(with_action(&legacy, "ec2:ReplaceRoute").is_empty());
    let node = gossip(
        &format!("{BASE}{STRICT}{}", networking("romana")),
        InstanceRole::Node,
    );
    assert!(with_action(&node, "ec2:ReplaceRoute").is_empty());
}

#[test]
fn amazon_vpc_adds_interface_statements_last_in_strict_mode() {
    for role in [InstanceRole::Master, InstanceRole::Node] {
        let body = format!(
            "{BASE}  iam: {{allowContainerRegistry: true}}\n{}",
            networking("amazonvpc")
        );
        let sts = gossip(&body, role);
        let last = sts.last().unwrap();
        assert_eq!(actions(last).len(), 9);
        assert_eq!(actions(last)[0], "ec2:CreateNetworkInterface");
        assert_eq!(actions(last)[8], "tag:TagResources");
        assert_eq!(last["Resource"], serde_json::json!(["*"]));
        // ECR comes before it.
        assert_eq!(actions(&sts[sts.len() - 2])[0], "ecr:GetAuthorizationToken");
        let legacy = gossip(&format!("{BASE}{LEGACY}{}", networking("amazonvpc")), role);
        assert!(with_action(&legacy, "tag:TagResources").is_empty());
    }
}

#[test]
fn kuberouter_nodes_read_the_router_key_after_their_state_paths() {
    let sts = gossip(
        &format!("{BASE}{STRICT}{}", networking("kuberouter")),
        InstanceRole::Node,
    );
    let reads = with_action(&sts, "s3:Get*");
    assert_eq!(reads.len(), 2);
    assert_eq!(
        reads[1]["Resource"],
        Value::from("arn:aws:s3:::state/example/pki/private/kube-router/*")
    );
    assert_eq!(sts.last().unwrap(), reads[1]);
}

#[test]
fn calico_and_cilium_nodes_read_the_calico_client_key() {
    for provider in ["calico", "cilium", "Calico"] {
        let sts = gossip(
            &format!("{BASE}{STRICT}{}", networking(provider)),
            InstanceRole::Node,
        );
        let reads = with_action(&sts, "s3:Get*");
        assert_eq!(reads.len(), 2, "{provider}");
        assert_eq!(
            reads[1]["Resource"],
            Value::from("arn:aws:s3:::state/example/pki/private/calico-client/*")
        );
    }
}

#[test]
fn networking_keys_are_per_root_strict_nodes_only() {
    let body = format!(
        "{BASE}{STRICT}  keyStore: s3://keys/pki\n{}",
        networking("calico")
    );
    let sts = gossip(&body, InstanceRole::Node);
    let order: Vec<String> = sts
        .iter()
        .map(|s| all_resources(std::slice::from_ref(s))[0].clone())
        .collect();
    assert_eq!(
        order,
        [
            "*",
            "arn:aws:s3:::keys",
            "arn:aws:s3:::keys/pki/addons/*",
            "arn:aws:s3:::keys/pki/pki/private/calico-client/*",
            "arn:aws:s3:::state",
            "arn:aws:s3:::state/example/addons/*",
            "arn:aws:s3:::state/example/pki/private/calico-client/*",
        ]
    );
    for (role, mode) in [(InstanceRole::Master, STRICT), (InstanceRole::Node, LEGACY)] {
        let sts = gossip(&format!("{BASE}{mode}{}", networking("calico")), role);
        assert!(!all_resources(&sts)
            .iter()
            .any(|r| r.contains("calico-client")));
    }
}

#[test]
fn other_networking_adds_nothing() {
    let plain = gossip(&format!("{BASE}{STRICT}"), InstanceRole::Master);
    for provider in ["kubenet", "weave", "flannel", "canal"] {
        let body = format!("{BASE}{STRICT}{}", networking(provider));
        assert_eq!(gossip(&body, InstanceRole::Master), plain, "{provider}");
    }
}

// --- partitions ---

fn in_region(zone: &str) -> String {
    format!("{BASE}  subnets:\n  - name: a\n    zone: {zone}\n")
}

#[test]
fn china_and_govcloud_use_their_s3_partition_but_route53_stays_aws() {
    for (zone_name, prefix) in [
        ("cn-north-1a", "arn:aws-cn"),
        ("cn-northwest-1b", "arn:aws-cn"),
        ("us-gov-west-1a", "arn:aws-us-gov"),
        ("eu-west-1a", "arn:aws"),
    ] {
        let body = format!("{}{LEGACY}  dnsZone: Z1\n{BACKUPS}", in_region(zone_name));
        let sts = with_zone(&body, InstanceRole::Master);
        let arns: Vec<String> = all_resources(&sts)
            .into_iter()
            .filter(|r| r.starts_with("arn:"))
            .collect();
        let (s3, others): (Vec<&String>, Vec<&String>) =
            arns.iter().partition(|r| r.contains(":s3:::"));
        assert_eq!(s3.len(), 4, "{zone_name}");
        assert!(
            s3.iter().all(|r| r.starts_with(&format!("{prefix}:s3:::"))),
            "{zone_name}: {s3:?}"
        );
        assert!(
            others.iter().all(|r| r.starts_with("arn:aws:route53:::")),
            "{zone_name}: {others:?}"
        );
    }
}

// --- ECR, defaults, bastion ---

#[test]
fn ecr_follows_legacy_or_allow_container_registry() {
    let cases = [
        ("", true), // no spec.iam: legacy
        (LEGACY, true),
        (STRICT, false),
        ("  iam: {allowContainerRegistry: true}\n", true),
    ];
    for (iam, expected) in cases {
        for role in [InstanceRole::Master, InstanceRole::Node] {
            let sts = gossip(&format!("{BASE}{iam}"), role);
            assert_eq!(
                !with_action(&sts, "ecr:BatchGetImage").is_empty(),
                expected,
                "{iam:?} {role}"
            );
        }
    }
}

#[test]
fn no_iam_section_means_legacy() {
    let none = gossip(BASE, InstanceRole::Master);
    let legacy = gossip(&format!("{BASE}{LEGACY}"), InstanceRole::Master);
    assert_eq!(none, legacy);
    assert_eq!(actions(&none[0]), ["ec2:*"]);
}

#[test]
fn strict_master_conditions_name_the_cluster() {
    let sts = build(
        "other.k8s.local",
        &format!("{BASE}{STRICT}"),
        InstanceRole::Master,
    );
    let conditions: Vec<&Value> = sts.iter().filter_map(|s| s.get("Condition")).collect();
    assert_eq!(
        conditions,
        [
            &serde_json::json!({"StringEquals": {"ec2:ResourceTag/KubernetesCluster": "other.k8s.local"}}),
            &serde_json::json!({"StringEquals": {"autoscaling:ResourceTag/KubernetesCluster": "other.k8s.local"}}),
        ]
    );
}

#[test]
fn bastions_get_one_describe_regions_statement_whatever_the_spec() {
    let bodies = [
        format!("{BASE}{LEGACY}{KEYS}"),
        format!("{}{STRICT}{}", zone("Z1"), networking("amazonvpc")),
        format!("{BASE}  iam: {{allowContainerRegistry: true}}\n"),
    ];
    for body in bodies {
        let sts = with_zone(&body, InstanceRole::Bastion);
        assert_eq!(
            sts,
            [
                serde_json::json!({"Effect": "Allow", "Action": ["ec2:DescribeRegions"], "Resource": ["*"]})
            ]
        );
    }
}
