//! The hosted zone found through Route53 as kops 1.10 finds it, against a real LocalStack:
//! by cluster name (the longest suffix of the right type), by zone name (exact name and
//! type), or given with --dns-zone-id; a tie or no zone stops the run before any write,
//! naming the zones. Hosted zones are account-global, so each test makes zones under a
//! domain of its own.

use crate::common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::cluster::Cluster;
use common::spec::ClusterYaml;
use common::{localstack, policy_document, scratch_dir};

/// A domain no other test or earlier run has used: `<test>-<pid>-<nanos>.rolecall.test`.
/// Not under `example.com`, which tests/kops_inputs.rs makes a zone, as kops's harness does.
fn unique_domain(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{test}-{}-{}.rolecall.test",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

async fn route53() -> aws_sdk_route53::Client {
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
        .region(aws_sdk_route53::config::Region::new("us-east-1"))
        .endpoint_url(localstack())
        .credentials_provider(aws_sdk_route53::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .build();
    aws_sdk_route53::Client::from_conf(config)
}

/// Makes a hosted zone named `name`, private (in a new VPC) when `private`; its bare ID.
async fn create_zone(name: &str, private: bool) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let mut req = route53()
        .await
        .create_hosted_zone()
        .name(name)
        .caller_reference(format!("{name}-{nanos}"));
    if private {
        let ec2 = common::ec2_client().await;
        let vpc = ec2
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .send()
            .await
            .unwrap();
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
        req = req.vpc(
            aws_sdk_route53::types::Vpc::builder()
                .vpc_id(vpc_id)
                .vpc_region(aws_sdk_route53::types::VpcRegion::UsEast1)
                .build(),
        );
        // AWS makes a zone with a VPC private; LocalStack (moto) only when the request
        // has a HostedZoneConfig too, which it reads only with a Comment.
        req = req.hosted_zone_config(
            aws_sdk_route53::types::HostedZoneConfig::builder()
                .comment("rolecall test")
                .private_zone(true)
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    let id = out.hosted_zone().unwrap().id();
    id.trim_start_matches("/hostedzone/").to_string()
}

/// The tests' cluster named `name`, with `extra` under its spec.
async fn cluster(name: &str, extra: &str) -> Cluster {
    let extra = extra.to_string();
    Cluster::new_named(name, move |n| ClusterYaml::new(n).with_spec(&extra)).await
}

/// `update` with `--calls-json`: the run and the calls it counted.
async fn run_counting(c: &Cluster, args: &[&str]) -> (common::Run, serde_json::Value) {
    let path = scratch_dir(&c.name).join("calls.json");
    let path = path.display().to_string();
    let mut all = vec!["--calls-json", path.as_str()];
    all.extend_from_slice(args);
    let run = c.run(&all).await;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}: {run:?}"));
    (run, serde_json::from_str(&text).unwrap())
}

fn count(calls: &serde_json::Value, operation: &str) -> u64 {
    calls[operation].as_u64().unwrap_or(0)
}

/// The Route53 requests the proxy saw (it names them from their method and path).
fn route53_requests(c: &Cluster) -> u64 {
    let route53 = ["ListHostedZones", "ListHostedZonesByName", "GetHostedZone"];
    c.proxy
        .actions()
        .iter()
        .filter(|a| route53.contains(&a.as_str()))
        .count() as u64
}

/// Nothing but reads reached the account: no write of any kind, and every Route53 request
/// one of the reads rolecall counted.
#[track_caller]
fn assert_only_reads(c: &Cluster, calls: &serde_json::Value) {
    let writes = c.proxy.writes();
    assert!(writes.is_empty(), "writes: {writes:?}");
    assert_eq!(
        route53_requests(c),
        count(calls, "ListHostedZones") + count(calls, "ListHostedZonesByName"),
        "{calls}"
    );
}

/// Runs `apply --yes`, which must exit 1 with every one of `stderr` in its stderr, having
/// only read; returns the calls it counted.
async fn refused_after_reads(c: &Cluster, stderr: &[String]) -> serde_json::Value {
    let (run, calls) = run_counting(c, &["--yes"]).await;
    run.assert_code(1);
    for expected in stderr {
        run.assert_stderr_has(expected);
    }
    assert_only_reads(c, &calls);
    calls
}

/// Applies the spec, and returns the calls made once the masters' policy, read back, names
/// the hosted zone `zone`.
async fn apply_expecting_zone(c: &Cluster, zone: &str) -> serde_json::Value {
    let (run, calls) = run_counting(c, &["--yes"]).await;
    run.assert_code(0);
    let expected = format!("[\"arn:aws:route53:::hostedzone/{zone}\"]");
    assert_eq!(masters_zone_arn(c).await, expected);
    calls
}

/// The resource of the masters' Route53 statement, read back with the tests' own client.
async fn masters_zone_arn(c: &Cluster) -> String {
    let role = c.role("masters");
    let doc = policy_document(&role, &role).await.expect("masters policy");
    let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Action"].to_string().contains("route53:GetHostedZone"))
        .map(|s| s["Resource"].to_string())
        .unwrap_or_else(|| panic!("no hosted zone statement: {doc}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn no_dns_zone_finds_the_longest_public_suffix_and_writes_it() {
    let domain = unique_domain("search");
    let public = create_zone(&domain, false).await;
    // A private zone for the cluster's own name: longer, but of the other type.
    let name = format!("a.{domain}");
    create_zone(&name, true).await;
    let c = cluster(&name, "").await;

    let calls = apply_expecting_zone(&c, &public).await;
    assert!(count(&calls, "ListHostedZones") >= 1, "{calls}");
    assert_eq!(count(&calls, "ListHostedZonesByName"), 0, "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_zone_name_with_a_private_topology_finds_the_private_zone() {
    let domain = unique_domain("byname");
    let internal = format!("internal.{domain}");
    create_zone(&internal, false).await;
    let private = create_zone(&internal, true).await;
    let c = cluster(
        &format!("a.{domain}"),
        &format!("  dnsZone: {internal}\n  topology:\n    dns:\n      type: Private\n"),
    )
    .await;

    let calls = apply_expecting_zone(&c, &private).await;
    assert_eq!(count(&calls, "ListHostedZonesByName"), 1, "{calls}");
    assert_eq!(count(&calls, "ListHostedZones"), 0, "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tie_stops_before_any_write_naming_both_zones() {
    let domain = unique_domain("tie");
    let first = create_zone(&domain, false).await;
    let second = create_zone(&domain, false).await;
    let c = cluster(&format!("a.{domain}"), "").await;

    let calls = refused_after_reads(
        &c,
        &[
            format!(
                "Error: spec.dnsZone: is not set, and 2 hosted zones match cluster \"a.{domain}\" equally: "
            ),
            format!("{domain}. ({first}, public)"),
            format!("{domain}. ({second}, public)"),
        ],
    )
    .await;
    assert!(count(&calls, "ListHostedZones") >= 1, "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_zone_stops_before_any_write_naming_the_names_and_the_other_type() {
    let domain = unique_domain("none");
    let private = create_zone(&domain, true).await;
    let c = cluster(&format!("a.{domain}"), "").await;

    refused_after_reads(
        &c,
        &[format!(
            "Error: spec.dnsZone: is not set, and no public hosted zone matches cluster \"a.{domain}\": none is named a.{domain}, {domain}, rolecall.test, test; left out, as spec.topology.dns.type is Public: {domain}. ({private}, private)."
        )],
    )
    .await;

    // A zone name of the other type: the same, through ListHostedZonesByName.
    c.proxy.clear();
    c.rewrite(ClusterYaml::new(&c.name).with_spec(&format!("  dnsZone: {domain}\n")));
    let calls = refused_after_reads(
        &c,
        &[format!(
            "Error: spec.dnsZone: no public hosted zone is named \"{domain}.\"; left out, as spec.topology.dns.type is Public: {domain}. ({private}, private)."
        )],
    )
    .await;
    assert_eq!(count(&calls, "ListHostedZonesByName"), 1, "{calls}");
}

#[tokio::test(flavor = "multi_thread")]
async fn dns_zone_id_skips_the_lookup() {
    let domain = unique_domain("given");
    let c = cluster(&format!("a.{domain}"), "").await;

    let (run, calls) = run_counting(&c, &["--yes", "--dns-zone-id", "/hostedzone/ZGIVEN1"]).await;
    run.assert_code(0);
    assert_eq!(count(&calls, "ListHostedZones"), 0, "{calls}");
    assert_eq!(count(&calls, "ListHostedZonesByName"), 0, "{calls}");
    assert_eq!(route53_requests(&c), 0);
    assert_eq!(
        masters_zone_arn(&c).await,
        "[\"arn:aws:route53:::hostedzone/ZGIVEN1\"]"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn annotations_never_look_the_zone_up() {
    let domain = unique_domain("annotations");
    let c = cluster(&format!("a.{domain}"), "").await;
    let run = common::rolecall(&c.proxy.endpoint, &["annotations", "-f", &c.spec_path]).await;
    run.assert_code(0);
    assert_eq!(route53_requests(&c), 0, "{:?}", c.proxy.actions());
}

/// The lookup waits for the input: a spec with another error stops before any request.
#[tokio::test(flavor = "multi_thread")]
async fn input_errors_come_before_the_lookup() {
    let domain = unique_domain("input");
    let name = format!("a.{domain}");
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n)
            .with_node_policy(r#"[{"Effect": "Permit", "Action": "s3:*", "Resource": "*"}]"#)
    })
    .await;
    let run = c.dry_run().await;
    run.assert_code(1);
    run.assert_stderr_has("spec.additionalPolicies.node");
    assert!(!run.stderr.contains("spec.dnsZone"), "{run:?}");
    assert!(c.proxy.actions().is_empty(), "{:?}", c.proxy.actions());
}
