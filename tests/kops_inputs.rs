//! kops 1.10.0's own integration inputs, verbatim, through the `rolecall` binary against
//! LocalStack, with the hosted zones kops's harness mocks made real.
//!
//! Neither input has `spec.dnsZone` as an id: minimal, minimal-cloudformation and complex
//! have none (kops finds `example.com` by the cluster name), privatedns1 and privatedns2
//! name a private zone. So rolecall has to look the zone up in Route53 as kops does; these
//! tests fail until it can. They also need LocalStack's Route53 (`SERVICES` in
//! localstack/start.sh must include `route53`).
//!
//! Each test creates (or reuses) the zones, then runs `update --yes` on the fixture file
//! itself (tests/fixtures/kops-1.10.0-integration, see its README) through the recording
//! proxy, and reads the account with the tests' own IAM client: each role's trust policy,
//! its one inline policy and its instance profile must be kops's. The expected documents are
//! kops's own, from minimal-cloudformation's `cloudformation.json`, with kops's mocked zone
//! id replaced by the one LocalStack gave. They serve every case: in legacy mode (no `iam`
//! block, as in all these inputs) kops 1.10's policies depend only on the zone, the S3
//! stores and the etcd KMS keys, and these inputs have `memfs://` stores and no keys
//! (tests/golden_kops_integration.rs checks the builder case by case without AWS).
//!
//! The cluster names are kops's and IAM and Route53 are account-global, so the tests run
//! one at a time, reuse what an earlier run left, and a second apply must change nothing.

use crate::common;

use std::path::{Path, PathBuf};

use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, Vpc, VpcRegion};
use common::cluster::NO_CHANGES;
use common::{ec2_client, iam_client, localstack, rolecall, RecordingProxy};
use serde_json::Value;

/// The zone id kops's harness gives `example.com`, in kops's expected documents.
const KOPS_ZONE_EXAMPLE_COM: &str = "Z1AFAKE1ZON3YO";

/// The region of the tests' clients, where the private zones' VPCs are made.
const VPC_REGION: &str = "us-east-1";

/// The hosted zones of kops's harness (pkg/testutils/integrationtestharness.go).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// `example.com.`, public.
    Example,
    /// `internal.example.com.`, private (kops's id Z2AFAKE1ZON3NO).
    Internal,
    /// `private.example.com.`, private (kops's id Z3AFAKE1ZOMORE).
    Private,
}

impl Zone {
    const ALL: [Zone; 3] = [Zone::Example, Zone::Internal, Zone::Private];

    fn name(self) -> &'static str {
        match self {
            Zone::Example => "example.com.",
            Zone::Internal => "internal.example.com.",
            Zone::Private => "private.example.com.",
        }
    }

    fn private(self) -> bool {
        self != Zone::Example
    }

    /// The CIDR of the VPC made for a private zone.
    fn vpc_cidr(self) -> &'static str {
        match self {
            Zone::Internal => "10.123.0.0/16",
            _ => "10.124.0.0/16",
        }
    }
}

/// One test at a time: the cases share kops's cluster names (minimal and
/// minimal-cloudformation are both `minimal.example.com`) and the zones.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A client of the SDK crate `$sdk` for LocalStack, acting in the account of the access key
/// id `$key` (LocalStack takes a 12-digit key id as the account; `test` is its default).
macro_rules! client_as {
    ($sdk:ident, $key:expr) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new(VPC_REGION))
                .endpoint_url(localstack())
                .credentials_provider($sdk::config::Credentials::new(
                    $key, "test", None, None, "tests",
                ))
                .build(),
        )
    };
}

async fn route53_client() -> aws_sdk_route53::Client {
    client_as!(aws_sdk_route53, "test")
}

/// Every hosted zone in the account, all pages.
async fn all_zones(route53: &aws_sdk_route53::Client) -> Vec<HostedZone> {
    let mut zones = Vec::new();
    let mut marker = None;
    loop {
        let page = route53
            .list_hosted_zones()
            .set_marker(marker)
            .send()
            .await
            .expect("ListHostedZones");
        zones.extend(page.hosted_zones().iter().cloned());
        match page.next_marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => return zones,
        }
    }
}

fn is_private(zone: &HostedZone) -> bool {
    zone.config().is_some_and(|c| c.private_zone())
}

/// The bare id (`/hostedzone/` trimmed), as kops puts it in its policies.
fn bare_id(zone: &HostedZone) -> String {
    zone.id().trim_start_matches("/hostedzone/").to_string()
}

/// The zone's id: the one zone of that name and privacy if it exists (another test or an
/// earlier run may have made it; zones are account-global), else a new one, with a new VPC
/// for a private zone, as kops's harness gives its private zones a VPC.
async fn ensure_zone(zone: Zone) -> String {
    let route53 = route53_client().await;
    let same: Vec<HostedZone> = all_zones(&route53)
        .await
        .into_iter()
        .filter(|z| z.name() == zone.name() && is_private(z) == zone.private())
        .collect();
    match same.as_slice() {
        [one] => return bare_id(one),
        [] => {}
        more => panic!(
            "{} {} zones named {}: kops (and so rolecall) would refuse to choose; delete all but one",
            more.len(),
            if zone.private() { "private" } else { "public" },
            zone.name()
        ),
    }
    let caller_reference = format!(
        "rolecall-kops-inputs-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let mut create = route53
        .create_hosted_zone()
        .name(zone.name())
        .caller_reference(caller_reference);
    if zone.private() {
        // LocalStack checks the VPC through EC2, so it must exist first.
        let vpc = ec2_client()
            .await
            .create_vpc()
            .cidr_block(zone.vpc_cidr())
            .send()
            .await
            .expect("CreateVpc");
        let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("a VPC id");
        create = create
            .vpc(
                Vpc::builder()
                    .vpc_id(vpc_id)
                    .vpc_region(VpcRegion::from(VPC_REGION))
                    .build(),
            )
            .hosted_zone_config(
                HostedZoneConfig::builder()
                    .private_zone(true)
                    .comment("kops's harness mocks this zone")
                    .build(),
            );
    }
    let created = create.send().await.expect("CreateHostedZone");
    bare_id(created.hosted_zone().expect("the new zone"))
}

/// The ids LocalStack gave the three zones, made or reused, by [`Zone`].
async fn ensure_zones() -> Vec<(Zone, String)> {
    let mut ids = Vec::new();
    for zone in Zone::ALL {
        ids.push((zone, ensure_zone(zone).await));
    }
    ids
}

/// Asserts that kops's rules pick `expected` for the case, so that a zone left by another
/// test (such as `<cluster>` itself, which would be a longer match) cannot change the
/// outcome unseen: with no dnsZone, the longest public zone the cluster name ends in; with a
/// zone name, the one zone of that name and privacy.
async fn assert_only_candidate(case: &Case, expected: &str) {
    let route53 = route53_client().await;
    let zones = all_zones(&route53).await;
    let candidates: Vec<&HostedZone> = match case.dns_zone {
        None => {
            let dotted = format!(".{}", case.cluster);
            let matching: Vec<&HostedZone> = zones
                .iter()
                .filter(|z| !is_private(z))
                .filter(|z| dotted.ends_with(&format!(".{}", z.name().trim_end_matches('.'))))
                .collect();
            let longest = matching.iter().map(|z| z.name().len()).max().unwrap_or(0);
            matching
                .into_iter()
                .filter(|z| z.name().len() == longest)
                .collect()
        }
        Some(zone) => zones
            .iter()
            .filter(|z| z.name() == zone.name() && is_private(z) == zone.private())
            .collect(),
    };
    let ids: Vec<String> = candidates.iter().map(|z| bare_id(z)).collect();
    assert_eq!(
        ids,
        [expected],
        "{}: the zones kops would choose from",
        case.dir
    );
}

// ---------------------------------------------------------------------------------------
// The expected IAM: kops's documents

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn read_fixture(path: &str) -> String {
    let path = fixtures().join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// kops's documents for one cluster, with kops's zone id replaced by `zone_id`.
struct KopsIam {
    trust: Value,
    masters: Value,
    nodes: Value,
    bastions: Value,
}

fn kops_iam(zone_id: &str) -> KopsIam {
    let template: Value = serde_json::from_str(&read_fixture(
        "kops-1.10.0-integration/minimal-cloudformation/cloudformation.json",
    ))
    .expect("cloudformation.json is JSON");
    let resources = &template["Resources"];
    let policy = |id: &str| -> Value {
        let text = resources[id]["Properties"]["PolicyDocument"].to_string();
        assert!(
            text.contains(KOPS_ZONE_EXAMPLE_COM),
            "{id} names kops's zone"
        );
        serde_json::from_str(&text.replace(KOPS_ZONE_EXAMPLE_COM, zone_id)).unwrap()
    };
    let bastions: Value =
        serde_json::from_str(&read_fixture("kops-1.10.0-golden/iam_builder_bastion.json"))
            .expect("kops's bastion policy is JSON");
    KopsIam {
        trust: resources["AWSIAMRolemastersminimalexamplecom"]["Properties"]
            ["AssumeRolePolicyDocument"]
            .clone(),
        masters: policy("AWSIAMPolicymastersminimalexamplecom"),
        nodes: policy("AWSIAMPolicynodesminimalexamplecom"),
        bastions,
    }
}

/// A document as IAM returns it (URL-encoded), as JSON.
fn parse_aws_document(encoded: &str) -> Value {
    let text = percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .expect("a UTF-8 document")
        .into_owned();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// Equal as JSON values, statement by statement in order, so that a difference is shown
/// where it is (and kops's duplicated `route53:ListHostedZones` counts twice).
#[track_caller]
fn assert_same_document(what: &str, got: &Value, expected: &Value) {
    assert_eq!(got["Version"], expected["Version"], "{what}: Version");
    let (a, b) = (
        got["Statement"].as_array().expect("a Statement list"),
        expected["Statement"].as_array().expect("a Statement list"),
    );
    assert_eq!(a.len(), b.len(), "{what}: statements\n{got:#}");
    for (i, (a, b)) in a.iter().zip(b).enumerate() {
        assert_eq!(a, b, "{what}: statement {i}");
    }
    assert_eq!(got, expected, "{what}");
}

// ---------------------------------------------------------------------------------------
// The cases

struct Case {
    dir: &'static str,
    cluster: &'static str,
    /// The zone `spec.dnsZone` names, or `None` when the spec has none.
    dns_zone: Option<Zone>,
    /// The zone kops resolves.
    resolves_to: Zone,
    bastion: bool,
}

/// Reads every role, policy and profile of the case with the tests' own IAM client.
async fn assert_account_has_kops_iam(case: &Case, zone_id: &str) {
    let iam = iam_client().await;
    let kops = kops_iam(zone_id);
    let mut prefixes = vec![("masters", &kops.masters), ("nodes", &kops.nodes)];
    if case.bastion {
        prefixes.push(("bastions", &kops.bastions));
    }
    for (prefix, policy) in prefixes {
        let name = format!("{prefix}.{}", case.cluster);
        let role = read_role(&iam, &name).await;
        assert_eq!(role.path(), "/", "{name}: path");
        assert_same_document(
            &format!("trust policy of {name}"),
            &parse_aws_document(role.assume_role_policy_document().expect("a trust policy")),
            &kops.trust,
        );

        assert_eq!(
            inline_policy_names(&iam, &name).await,
            [name.as_str()],
            "{name}: kops's one inline policy, no additional.*"
        );
        assert_same_document(
            &format!("inline policy {name}"),
            &parse_aws_document(&inline_policy(&iam, &name).await),
            policy,
        );

        let roles = instance_profile_roles(&iam, &name).await;
        assert_eq!(roles, [name.as_str()], "roles in instance profile {name}");
    }
    if !case.bastion {
        let name = format!("bastions.{}", case.cluster);
        assert!(
            iam.get_role().role_name(&name).send().await.is_err(),
            "{name} should not exist"
        );
    }
}

async fn read_role(iam: &aws_sdk_iam::Client, name: &str) -> aws_sdk_iam::types::Role {
    let got = iam.get_role().role_name(name).send().await;
    let got = got.unwrap_or_else(|e| panic!("role {name}: {e:?}"));
    got.role().expect("a role").clone()
}

async fn inline_policy_names(iam: &aws_sdk_iam::Client, name: &str) -> Vec<String> {
    let got = iam.list_role_policies().role_name(name).send().await;
    let got = got.unwrap_or_else(|e| panic!("policies of {name}: {e:?}"));
    got.policy_names().to_vec()
}

/// The document of the inline policy `name` of the role `name`.
async fn inline_policy(iam: &aws_sdk_iam::Client, name: &str) -> String {
    let got = iam
        .get_role_policy()
        .role_name(name)
        .policy_name(name)
        .send()
        .await;
    let got = got.unwrap_or_else(|e| panic!("policy {name}: {e:?}"));
    got.policy_document().to_string()
}

async fn instance_profile_roles(iam: &aws_sdk_iam::Client, name: &str) -> Vec<String> {
    let got = iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    let got = got.unwrap_or_else(|e| panic!("instance profile {name}: {e:?}"));
    let profile = got.instance_profile().expect("a profile");
    profile
        .roles()
        .iter()
        .map(|r| r.role_name().to_string())
        .collect()
}

impl Case {
    /// A case whose zone is the one `dns_zone` names, or else `example.com`, found by the
    /// cluster name.
    fn new(
        dir: &'static str,
        cluster: &'static str,
        dns_zone: Option<Zone>,
        bastion: bool,
    ) -> Case {
        let resolves_to = dns_zone.unwrap_or(Zone::Example);
        Case {
            dir,
            cluster,
            dns_zone,
            resolves_to,
            bastion,
        }
    }
}

async fn run_case(case: Case) {
    let _serial = SERIAL.lock().await;
    let zones = ensure_zones().await;
    let zone_id = zones
        .iter()
        .find(|(z, _)| *z == case.resolves_to)
        .map(|(_, id)| id.clone())
        .expect("every zone is made");
    assert_only_candidate(&case, &zone_id).await;

    let spec = fixtures()
        .join("kops-1.10.0-integration")
        .join(case.dir)
        .join("in-v1alpha2.yaml");
    let spec = spec.display().to_string();
    let proxy = RecordingProxy::start(&localstack()).await;
    let applied = rolecall(&proxy.endpoint, &["update", "-f", &spec, "--yes"]).await;
    applied.assert_code(0);
    assert_account_has_kops_iam(&case, &zone_id).await;

    // The account now holds kops's IAM, so a second run has nothing to do.
    proxy.clear();
    let again = rolecall(&proxy.endpoint, &["update", "-f", &spec, "--yes"]).await;
    again.assert_code(0);
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
    let writes = proxy.writes();
    assert!(writes.is_empty(), "writes on the second run: {writes:?}");
}

/// Every AWS input whose IAM kops makes itself, verbatim: minimal, minimal-cloudformation
/// and complex have no dnsZone (kops finds `example.com` by the cluster name), privatedns1
/// and privatedns2 name a private zone, and the rest find `example.com` too. All get kops's
/// legacy documents (their networking adds nothing in legacy mode, and
/// tests/golden_kops_integration.rs checks their names against kops's outputs).
#[tokio::test(flavor = "multi_thread")]
async fn every_input_kops_makes_iam_for_runs_verbatim() {
    #[rustfmt::skip]
    let cases = [
        ("minimal", "minimal.example.com", None, false),
        ("minimal-cloudformation", "minimal.example.com", None, false),
        ("complex", "complex.example.com", None, false),
        ("privatedns1", "privatedns1.example.com", Some(Zone::Internal), true),
        ("privatedns2", "privatedns2.example.com", Some(Zone::Private), true),
        ("additional_cidr", "additionalcidr.example.com", None, false),
        ("additional_user-data", "additionaluserdata.example.com", None, false),
        ("externallb", "externallb.example.com", None, false),
        ("ha", "ha.example.com", None, false),
        ("shared_subnet", "sharedsubnet.example.com", None, false),
        ("shared_vpc", "sharedvpc.example.com", None, false),
        ("bastionadditional_user-data", "bastionuserdata.example.com", None, true),
        ("private-shared-subnet", "private-shared-subnet.example.com", None, true),
        ("privatecalico", "privatecalico.example.com", None, true),
        ("privatecanal", "privatecanal.example.com", None, true),
        ("privateflannel", "privateflannel.example.com", None, true),
        ("privatekopeio", "privatekopeio.example.com", None, true),
        ("privateweave", "privateweave.example.com", None, true),
        ("lifecycle_phases", "lifecyclephases.example.com", None, true),
    ];
    for (dir, cluster, dns_zone, bastion) in cases {
        run_case(Case::new(dir, cluster, dns_zone, bastion)).await;
    }
}

/// kops's existing_iam input names its masters' profile in a 13-digit account, which no
/// ARN can hold; kops 1.10 never reads the profile and does not notice. rolecall reads every
/// profile a spec names (for the role in it), so it refuses the input before any request.
#[tokio::test(flavor = "multi_thread")]
async fn existing_iam_with_a_thirteen_digit_account_is_refused_before_any_request() {
    let spec = fixtures().join("kops-1.10.0-integration/existing_iam/in-v1alpha2.yaml");
    let spec = spec.display().to_string();
    let proxy = RecordingProxy::start(&localstack()).await;
    let run = rolecall(&proxy.endpoint, &["update", "-f", &spec, "--yes"]).await;
    run.assert_code(1);
    for line in [64, 84, 104] {
        let place = format!("{spec}:{line}:14: spec.iam.profile: \"arn:aws:iam::4222917490108:instance-profile/kops-custom-master-role\" is not an instance profile ARN");
        assert!(run.stderr.contains(&place), "{place}\n{run:?}");
    }
    assert!(proxy.actions().is_empty(), "{:?}", proxy.actions());
}

/// The account kops's existing_iam_cloudformation input names its profiles in. LocalStack
/// takes a 12-digit access key id as the account to act in.
const KOPS_ACCOUNT: &str = "422917490108";

/// kops's lifecycle overrides for existing_iam_cloudformation (cmd/kops/integration_test.go).
const KOPS_EXISTING_OVERRIDES: &str = "IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges";

/// existing_iam_cloudformation, verbatim with kops's overrides, in the account its profiles
/// name, holding those profiles (each with a role of its name, as kops's harness mocks) and
/// kops's `example.com` zone: rolecall reads them, checks, and writes nothing, as kops's
/// template has no IAM resource either.
#[tokio::test(flavor = "multi_thread")]
async fn existing_iam_cloudformation_only_checks_the_profiles_it_names() {
    let _serial = SERIAL.lock().await;
    let iam = client_as!(aws_sdk_iam, KOPS_ACCOUNT);
    let route53 = client_as!(aws_sdk_route53, KOPS_ACCOUNT);
    if !all_zones(&route53)
        .await
        .iter()
        .any(|z| z.name() == "example.com.")
    {
        route53
            .create_hosted_zone()
            .name("example.com")
            .caller_reference(format!("kops-inputs-{}", std::process::id()))
            .send()
            .await
            .expect("CreateHostedZone example.com in kops's account");
    }
    let trust = kops_iam("unused").trust.to_string();
    for name in ["kops-custom-master-role", "kops-custom-node-role"] {
        // Left by an earlier run, or made now.
        if iam.get_role().role_name(name).send().await.is_err() {
            iam.create_role()
                .role_name(name)
                .assume_role_policy_document(&trust)
                .send()
                .await
                .expect("CreateRole");
            iam.create_instance_profile()
                .instance_profile_name(name)
                .send()
                .await
                .expect("CreateInstanceProfile");
            iam.add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(name)
                .send()
                .await
                .expect("AddRoleToInstanceProfile");
        }
    }

    let spec =
        fixtures().join("kops-1.10.0-integration/existing_iam_cloudformation/in-v1alpha2.yaml");
    let spec = spec.display().to_string();
    let proxy = RecordingProxy::start(&localstack()).await;
    let env = [
        ("AWS_ACCESS_KEY_ID", KOPS_ACCOUNT),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let args = [
        "update",
        "-f",
        &spec,
        "--yes",
        "--lifecycle-overrides",
        KOPS_EXISTING_OVERRIDES,
    ];
    let run = common::rolecall_with_env(&proxy.endpoint, &args, &env).await;
    run.assert_code(0);
    for profile in ["kops-custom-master-role", "kops-custom-node-role"] {
        assert_eq!(
            proxy.requests_with("GetInstanceProfile", "InstanceProfileName", profile),
            1,
            "{profile} is read: {:?}",
            proxy.actions()
        );
    }
    // The roles hold no inline policy of kops's name: a warning, never a write.
    for role in ["kops-custom-master-role", "kops-custom-node-role"] {
        assert!(
            run.stdout.contains(&format!("IAMRolePolicy/{role}\n  \tlifecycle ExistsAndWarnIfChanges, but the object was not found")),
            "{run:?}"
        );
    }
    let writes = proxy.writes();
    assert!(writes.is_empty(), "writes: {writes:?}\n{run:?}");
}

#[test]
fn kops_documents_have_kops_statement_counts() {
    // Guards the expected documents themselves: legacy masters 9, nodes 6, bastions 1.
    let kops = kops_iam("ZTEST");
    for (policy, count) in [(&kops.masters, 9), (&kops.nodes, 6), (&kops.bastions, 1)] {
        assert_eq!(policy["Statement"].as_array().unwrap().len(), count);
    }
    assert!(kops.masters.to_string().contains("hostedzone/ZTEST"));
    assert!(!kops.nodes.to_string().contains(KOPS_ZONE_EXAMPLE_COM));
}
