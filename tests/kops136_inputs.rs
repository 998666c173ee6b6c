//! kops 1.36.2's own integration inputs through the `rolecall` binary against
//! LocalStack: every AWS case whose IAM rolecall builds (tests/golden_kops136.rs lists the
//! others and why). After `update --yes`, the tests' own IAM client reads each role, its
//! trust policy, inline policies, managed attachments, tags and instance profile, and each
//! must be kops's, byte for byte: the documents of kops's Terraform output (without the
//! newline kops's golden writer adds), with kops's mock partition `aws-test` read as `aws`
//! and its mock hosted zones as LocalStack's. A second run, reading the account in bulk
//! where the first read it object by object, must send no write. The inputs
//! run verbatim, except those that name ARNs in kops's mock partition (managed policies,
//! a permissions boundary), which LocalStack refuses as IAM does: they run as a copy with
//! those ARNs in the test account.
//!
//! The run happens in kops's harness account, 123456789012 (LocalStack takes a 12-digit
//! access key id as the account), apart from the other suites, which share cluster names
//! such as `minimal.example.com` with these cases. The cases share names among themselves
//! too, so they run one after another, each converging what the one before left; with two
//! LocalStacks, two such chains run at once, one in each LocalStack's copy of the account.

use crate::common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use aws_sdk_route53::types::{HostedZone, HostedZoneConfig, Vpc, VpcRegion};
use common::cluster::NO_CHANGES;
use common::{localstack, localstack_count, on_localstack, rolecall_with_env, RecordingProxy};
use serde_json::Value;

/// kops's harness account; also the access key id that makes LocalStack act in it.
const ACCOUNT: &str = "123456789012";
const REGION: &str = "us-east-1";

macro_rules! client {
    ($sdk:ident) => {
        $sdk::Client::from_conf(
            $sdk::Config::builder()
                .behavior_version($sdk::config::BehaviorVersion::latest())
                .region($sdk::config::Region::new(REGION))
                .endpoint_url(localstack())
                .credentials_provider($sdk::config::Credentials::new(
                    ACCOUNT, "test", None, None, "tests",
                ))
                .build(),
        )
    };
}

/// kops's mock zones (name, kops's id, private) and the VPC a private one is made with.
const ZONES: [(&str, &str, bool, &str); 3] = [
    ("example.com.", "Z1AFAKE1ZON3YO", false, ""),
    (
        "internal.example.com.",
        "Z2AFAKE1ZON3NO",
        true,
        "10.123.0.0/16",
    ),
    (
        "private.example.com.",
        "Z3AFAKE1ZOMORE",
        true,
        "10.124.0.0/16",
    ),
];

fn is_private(zone: &HostedZone) -> bool {
    zone.config().is_some_and(|c| c.private_zone())
}

/// LocalStack's id for each of kops's zone ids, the zones made in the account if missing.
async fn ensure_zones() -> BTreeMap<&'static str, String> {
    let route53 = client!(aws_sdk_route53);
    let existing = route53
        .list_hosted_zones()
        .send()
        .await
        .expect("ListHostedZones");
    let mut ids = BTreeMap::new();
    for (name, kops_id, private, cidr) in ZONES {
        let found = existing
            .hosted_zones()
            .iter()
            .find(|z| z.name() == name && is_private(z) == private);
        let id = match found {
            Some(z) => z.id().to_string(),
            None => {
                // LocalStack needs a comment to create a zone.
                let config = HostedZoneConfig::builder()
                    .private_zone(private)
                    .comment("kops's harness mocks this zone");
                let mut create = route53
                    .create_hosted_zone()
                    .name(name)
                    .caller_reference(format!("rolecall-kops136-{name}-{}", std::process::id()))
                    .hosted_zone_config(config.clone().build());
                if private {
                    let vpc = client!(aws_sdk_ec2)
                        .create_vpc()
                        .cidr_block(cidr)
                        .send()
                        .await
                        .expect("CreateVpc");
                    let vpc_id = vpc.vpc().and_then(|v| v.vpc_id()).expect("a VPC id");
                    create = create.vpc(
                        Vpc::builder()
                            .vpc_id(vpc_id)
                            .vpc_region(VpcRegion::from(REGION))
                            .build(),
                    );
                }
                let made = create.send().await.expect("CreateHostedZone");
                made.hosted_zone().expect("a zone").id().to_string()
            }
        };
        ids.insert(kops_id, id.trim_start_matches("/hostedzone/").to_string());
    }
    ids
}

fn case_dir(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kops-1.36.2/integration")
        .join(case)
}

/// A kops output file as rolecall must write it in LocalStack.
fn kops_text(case: &str, file: &str, zones: &BTreeMap<&str, String>) -> String {
    let path = case_dir(case).join("data").join(file);
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    text = text.replace("arn:aws-test:", "arn:aws:");
    for (kops_id, ours) in zones {
        text = text.replace(kops_id, ours);
    }
    // kops's golden writer ends each file with a newline; the document kops sends (its
    // `json.MarshalIndent` output, or the trust template) has none.
    text.strip_suffix('\n').map(str::to_string).unwrap_or(text)
}

fn decoded(encoded: &str) -> String {
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .expect("UTF-8")
        .into_owned()
}

fn tags_of(tags: &[aws_sdk_iam::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn json_tags(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the account and compares every IAM object of kops's output for `case`.
async fn assert_account_has_kops_iam(case: &str, zones: &BTreeMap<&str, String>) {
    let iam = client!(aws_sdk_iam);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir(case).join("iam.json")).unwrap())
            .unwrap();
    for role in expected["roles"].as_array().unwrap() {
        let name = role["name"].as_str().unwrap();
        let got = iam.get_role().role_name(name).send().await;
        let got = got.unwrap_or_else(|e| panic!("{case}: role {name}: {e:?}"));
        let got = got.role().unwrap();
        assert_eq!(got.path(), "/", "{case}: {name} path");
        assert_eq!(
            decoded(got.assume_role_policy_document().unwrap()),
            kops_text(
                case,
                role["assume_role_policy_file"].as_str().unwrap(),
                zones
            ),
            "{case}: trust policy of {name}"
        );
        assert_eq!(
            tags_of(got.tags()),
            json_tags(&role["tags"]),
            "{case}: tags of {name}"
        );
        // The spec's ARN (kops passes it through).
        assert_eq!(
            got.permissions_boundary()
                .and_then(|b| b.permissions_boundary_arn()),
            role["permissions_boundary"]
                .as_str()
                .map(real_arns)
                .as_deref(),
            "{case}: permissions boundary of {name}"
        );

        let policies = iam
            .list_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap();
        let got_names: BTreeSet<&str> =
            policies.policy_names().iter().map(|s| s.as_str()).collect();
        let want: Vec<&Value> = expected["role_policies"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["role"] == name)
            .collect();
        let want_names: BTreeSet<&str> = want.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(got_names, want_names, "{case}: inline policies of {name}");
        for p in want {
            let policy = p["name"].as_str().unwrap();
            let doc = iam
                .get_role_policy()
                .role_name(name)
                .policy_name(policy)
                .send()
                .await
                .unwrap();
            assert_eq!(
                decoded(doc.policy_document()),
                kops_text(case, p["policy_file"].as_str().unwrap(), zones),
                "{case}: inline policy {policy}"
            );
        }

        let attached = iam
            .list_attached_role_policies()
            .role_name(name)
            .send()
            .await
            .unwrap();
        let got_arns: BTreeSet<String> = attached
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        let want_arns: BTreeSet<String> = expected["role_policy_attachments"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["role"] == name)
            .map(|a| real_arns(a["policy_arn"].as_str().unwrap()))
            .collect();
        assert_eq!(got_arns, want_arns, "{case}: managed policies of {name}");
    }
    for provider in expected["oidc_providers"].as_array().unwrap() {
        let url = provider["url"].as_str().unwrap();
        let arn = format!(
            "arn:aws:iam::{ACCOUNT}:oidc-provider/{}",
            url.trim_start_matches("https://")
        );
        let got = iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(&arn)
            .send()
            .await;
        let got = got.unwrap_or_else(|e| panic!("{case}: provider {arn}: {e:?}"));
        let strings = |v: &Value| -> BTreeSet<String> {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        let clients: BTreeSet<String> = got.client_id_list().iter().cloned().collect();
        assert_eq!(
            clients,
            strings(&provider["client_id_list"]),
            "{case}: {arn} clients"
        );
        let prints: BTreeSet<String> = got.thumbprint_list().iter().cloned().collect();
        assert_eq!(
            prints,
            strings(&provider["thumbprint_list"]),
            "{case}: {arn} thumbprints"
        );
        assert_eq!(
            tags_of(got.tags()),
            json_tags(&provider["tags"]),
            "{case}: {arn} tags"
        );
    }
    for profile in expected["instance_profiles"].as_array().unwrap() {
        let name = profile["name"].as_str().unwrap();
        let got = iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
            .await;
        let got = got.unwrap_or_else(|e| panic!("{case}: profile {name}: {e:?}"));
        let got = got.instance_profile().unwrap();
        let roles: Vec<&str> = got.roles().iter().map(|r| r.role_name()).collect();
        assert_eq!(
            roles,
            [profile["role"].as_str().unwrap()],
            "{case}: roles of {name}"
        );
        assert_eq!(
            tags_of(got.tags()),
            json_tags(&profile["tags"]),
            "{case}: tags of {name}"
        );
    }
}

/// Makes the managed policies the spec attaches, in the account, as kops's harness has them.
async fn ensure_policies(case: &str) {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case_dir(case).join("iam.json")).unwrap())
            .unwrap();
    let iam = client!(aws_sdk_iam);
    for a in expected["role_policy_attachments"].as_array().unwrap() {
        let arn = a["policy_arn"].as_str().unwrap();
        let name = arn.rsplit('/').next().unwrap();
        let _ = iam
            .create_policy()
            .policy_name(name)
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:DescribeRegions","Resource":"*"}]}"#)
            .send()
            .await;
    }
}

/// kops's mock partition (and, in externalpolicies, a mock account) in the ARNs some
/// inputs name, which no account can hold: those inputs run as a copy with the ARNs in the
/// test account's partition and account.
const MOCK_ARNS: [(&str, &str); 2] = [
    (
        "arn:aws-test:iam::123456789000:",
        "arn:aws:iam::123456789012:",
    ),
    ("arn:aws-test:", "arn:aws:"),
];

fn real_arns(text: &str) -> String {
    MOCK_ARNS
        .iter()
        .fold(text.to_string(), |t, (mock, real)| t.replace(mock, real))
}

/// The input to run: the fixture itself, or a copy with real ARNs when it names mock ones.
fn input_of(case: &str) -> String {
    let path = case_dir(case).join("in-v1alpha2.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    if !text.contains("arn:aws-test:") {
        return path.display().to_string();
    }
    let copy = std::env::temp_dir().join(format!("rolecall-kops136-{case}.yaml"));
    std::fs::write(&copy, real_arns(&text)).unwrap();
    copy.display().to_string()
}

/// Several cases share an issuer with other audiences, and LocalStack does not implement
/// AddClientIDToOpenIDConnectProvider: each case starts with no provider in the test
/// account (which only this test uses).
async fn delete_oidc_providers() {
    let iam = client!(aws_sdk_iam);
    let listed = iam.list_open_id_connect_providers().send().await.unwrap();
    for p in listed.open_id_connect_provider_list() {
        let arn = p.arn().unwrap();
        iam.delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send()
            .await
            .unwrap_or_else(|e| panic!("DeleteOpenIDConnectProvider {arn}: {e:?}"));
    }
}

async fn run_case(case: &str, zones: &BTreeMap<&str, String>) {
    delete_oidc_providers().await;
    let spec = input_of(case);
    let env = [
        ("AWS_ACCESS_KEY_ID", ACCOUNT),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", REGION),
    ];
    // kops's inputs keep old Kubernetes versions, so the generation is chosen.
    let args = ["update", "-f", &spec, "--kops-version", "1.36", "--yes"];
    let proxy = RecordingProxy::start(&localstack()).await;
    let applied = rolecall_with_env(&proxy.endpoint, &args, &env).await;
    applied.assert_code(0);
    assert_account_has_kops_iam(case, zones).await;

    // The second run reads in bulk (GetAccountAuthorizationDetails) where the first read
    // object by object: both must see kops's IAM alike.
    proxy.clear();
    let bulk = [&args[..], &["--fetch", "bulk"]].concat();
    let again = rolecall_with_env(&proxy.endpoint, &bulk, &env).await;
    again.assert_code(0);
    assert_eq!(again.last_line(), NO_CHANGES, "{case}: {again:?}");
    let writes = proxy.writes();
    assert!(
        writes.is_empty(),
        "{case}: writes on the second run: {writes:?}"
    );
}

/// Every AWS case whose IAM rolecall builds, in kops's order of directories. The cases share
/// kops's cluster names and account, so they run one after another in it; with more than one
/// LocalStack, each takes its share of them in its own copy of that account (the longest test
/// of the suite, 85 s in one).
#[tokio::test(flavor = "multi_thread")]
async fn kops_136_inputs_yield_kops_iam_byte_for_byte() {
    let skipped = [
        "lifecycle_phases",
        // tests/golden_kops136.rs KNOWN_GAPS
        "existing_iam",
    ];
    let mut cases: Vec<String> = std::fs::read_dir(case_dir(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|c| case_dir(c).join("in-v1alpha2.yaml").exists())
        .filter(|c| !skipped.contains(&c.as_str()))
        .collect();
    cases.sort();
    assert_eq!(cases.len(), 65);
    let shares = localstack_count();
    let mut runs = tokio::task::JoinSet::new();
    for share in 0..shares {
        let mine: Vec<String> = cases.iter().skip(share).step_by(shares).cloned().collect();
        runs.spawn(on_localstack(share, async move {
            let zones = ensure_zones().await;
            for case in &mine {
                ensure_policies(case).await;
                run_case(case, &zones).await;
            }
        }));
    }
    while let Some(done) = runs.join_next().await {
        if let Err(e) = done {
            std::panic::resume_unwind(e.into_panic());
        }
    }
}
