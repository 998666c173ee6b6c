//! `rolecall update` end to end against a real LocalStack: each test has a cluster of its
//! own, drives the binary through a recording proxy, and checks the account afterwards with
//! its own IAM client.

mod common;

use common::proxy::Fault;
use common::spec::{ClusterYaml, SQS_STATEMENT, SQS_STATEMENT_WIDER};
use common::{
    iam_client, localstack, rolecall, scratch_dir, unique_cluster, write_spec, RecordingProxy,
};
use rolecall::model::DesiredState;
use rolecall::policy;
use rolecall::spec::{parse_documents, SourceFile};

const NO_CHANGES: &str = "No changes need to be applied";
const MUST_SPECIFY_YES: &str = "Must specify --yes to apply changes";

struct Cluster {
    name: String,
    spec_path: String,
    proxy: RecordingProxy,
}

impl Cluster {
    async fn new(test: &str, yaml: impl Fn(&str) -> ClusterYaml) -> Cluster {
        let upstream = localstack();
        let name = unique_cluster(test);
        let path = write_spec(&scratch_dir(&name), "cluster.yaml", &yaml(&name).render());
        Cluster {
            spec_path: path.display().to_string(),
            name,
            proxy: RecordingProxy::start(&upstream).await,
        }
    }

    fn rewrite(&self, yaml: ClusterYaml) {
        std::fs::write(&self.spec_path, yaml.render()).unwrap();
    }

    async fn dry_run(&self) -> common::Run {
        rolecall(&self.proxy.endpoint, &["update", "-f", &self.spec_path]).await
    }

    async fn apply(&self) -> common::Run {
        rolecall(
            &self.proxy.endpoint,
            &["update", "-f", &self.spec_path, "--yes"],
        )
        .await
    }

    /// The desired model, computed by rolecall's library from the same file.
    fn desired(&self) -> DesiredState {
        let text = std::fs::read_to_string(&self.spec_path).unwrap();
        let spec = parse_documents(&[SourceFile {
            path: self.spec_path.clone().into(),
            text,
        }])
        .unwrap();
        rolecall::build::desired_state(&spec).unwrap()
    }

    fn role(&self, prefix: &str) -> String {
        format!("{prefix}.{}", self.name)
    }
}

/// Reads the account with the tests' own client and asserts it holds exactly the
/// desired roles, policies, profiles and links.
async fn assert_account_matches(desired: &DesiredState) {
    let iam = iam_client().await;
    for role in &desired.roles {
        let got = iam.get_role().role_name(&role.name).send().await;
        let got = got.unwrap_or_else(|e| panic!("role {} should exist: {e:?}", role.name));
        let got = got.role().unwrap();
        let trust = policy::decode_aws_document(got.assume_role_policy_document().unwrap());
        assert!(
            policy::equivalent(&trust, &role.trust_policy),
            "trust policy of {}: {trust}",
            role.name
        );
        for (k, v) in &role.tags {
            assert!(
                got.tags().iter().any(|t| t.key() == k && t.value() == v),
                "role {} lacks tag {k}={v}",
                role.name
            );
        }
    }
    for rp in &desired.role_policies {
        let got = iam
            .get_role_policy()
            .role_name(&rp.role)
            .policy_name(&rp.name)
            .send()
            .await;
        match (&rp.document, got) {
            (Some(doc), Ok(out)) => {
                let have = policy::decode_aws_document(out.policy_document());
                assert!(policy::equivalent(&have, doc), "policy {}: {have}", rp.name);
            }
            (Some(_), Err(e)) => panic!("policy {} should exist: {e:?}", rp.name),
            (None, Ok(_)) => panic!("policy {} should not exist", rp.name),
            (None, Err(e)) => assert!(
                format!("{e:?}").contains("NoSuchEntity"),
                "policy {}: {e:?}",
                rp.name
            ),
        }
    }
    for link in &desired.profile_roles {
        let got = iam
            .get_instance_profile()
            .instance_profile_name(&link.profile)
            .send()
            .await
            .unwrap_or_else(|e| panic!("profile {} should exist: {e:?}", link.profile));
        let roles: Vec<&str> = got
            .instance_profile()
            .unwrap()
            .roles()
            .iter()
            .map(|r| r.role_name())
            .collect();
        assert_eq!(
            roles,
            vec![link.role.as_str()],
            "roles in profile {}",
            link.profile
        );
    }
}

async fn role_exists(name: &str) -> bool {
    iam_client()
        .await
        .get_role()
        .role_name(name)
        .send()
        .await
        .is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_on_an_empty_account_lists_everything_and_writes_nothing() {
    let c = Cluster::new("dryrun", |n| {
        ClusterYaml::new(n).with_node_policy(SQS_STATEMENT)
    })
    .await;
    let run = c.dry_run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.last_line(), MUST_SPECIFY_YES, "{run:?}");
    assert!(
        run.stdout.starts_with("Will create resources:\n"),
        "{run:?}"
    );
    for prefix in ["masters", "nodes", "bastions"] {
        let name = c.role(prefix);
        for id in [
            format!("IAMRole/{name}"),
            format!("IAMRolePolicy/{name}"),
            format!("IAMInstanceProfile/{name}"),
            format!("IAMInstanceProfileRole/{name}"),
        ] {
            assert!(
                run.stdout.contains(&format!("  {id}\n")),
                "{id} missing:\n{run:?}"
            );
        }
    }
    assert!(run
        .stdout
        .contains(&format!("  IAMRolePolicy/additional.{}\n", c.role("nodes"))));
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    assert!(
        !c.proxy.actions().is_empty(),
        "the dry run should have read the account"
    );
    assert!(!role_exists(&c.role("nodes")).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn b_c_yes_creates_everything_and_a_second_run_writes_nothing() {
    let c = Cluster::new("create", |n| {
        ClusterYaml::new(n).with_node_policy(SQS_STATEMENT)
    })
    .await;
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("Applied 13 changes."), "{run:?}");
    for line in [
        format!("CreateRole                IAMRole/{}", c.role("masters")),
        format!(
            "PutRolePolicy             IAMRolePolicy/additional.{}",
            c.role("nodes")
        ),
        format!(
            "AddRoleToInstanceProfile  IAMInstanceProfileRole/{}",
            c.role("bastions")
        ),
    ] {
        assert!(run.stdout.contains(&line), "{line:?} missing:\n{run:?}");
    }
    assert_account_matches(&c.desired()).await;
    let mut writes = c.proxy.writes();
    writes.sort();
    assert_eq!(
        writes,
        [
            vec!["AddRoleToInstanceProfile"; 3],
            vec!["CreateInstanceProfile"; 3],
            vec!["CreateRole"; 3],
            vec!["PutRolePolicy"; 4],
        ]
        .concat()
    );

    c.proxy.clear();
    let again = c.apply().await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_eq!(again.stdout, format!("{NO_CHANGES}\n"));
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    let dry = c.dry_run().await;
    assert_eq!(dry.stdout, format!("{NO_CHANGES}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn d_g_a_changed_additional_policy_modifies_only_it_and_a_removed_one_is_deleted() {
    let c = Cluster::new("additional", |n| {
        ClusterYaml::new(n).with_node_policy(SQS_STATEMENT)
    })
    .await;
    assert_eq!(c.apply().await.code, 0);

    c.rewrite(ClusterYaml::new(&c.name).with_node_policy(SQS_STATEMENT_WIDER));
    c.proxy.clear();
    let dry = c.dry_run().await;
    assert_eq!(dry.code, 0, "{dry:?}");
    let additional = format!("IAMRolePolicy/additional.{}", c.role("nodes"));
    let expected_head = format!("Will modify resources:\n  {additional}\n  \tPolicyDocument\n");
    assert!(dry.stdout.starts_with(&expected_head), "{dry:?}");
    assert_eq!(
        dry.stdout.matches("IAMRole").count(),
        1,
        "only one object changes:\n{dry:?}"
    );
    assert!(
        dry.stdout.contains("+        \"sqs:DeleteMessage\""),
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains("--- actual") && dry.stdout.contains("+++ desired"),
        "{dry:?}"
    );
    assert_eq!(dry.last_line(), MUST_SPECIFY_YES);
    assert!(c.proxy.writes().is_empty());

    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.proxy.writes(), vec!["PutRolePolicy"]);
    assert_account_matches(&c.desired()).await;

    // g) The entry removed from the spec: its policy is deleted, and nothing else changes.
    c.rewrite(ClusterYaml::new(&c.name));
    c.proxy.clear();
    let dry = c.dry_run().await;
    assert!(
        dry.stdout
            .starts_with(&format!("Will delete resources:\n  {additional}\n")),
        "{dry:?}"
    );
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.proxy.writes(), vec!["DeleteRolePolicy"]);
    assert_account_matches(&c.desired()).await;
    let gone = iam_client()
        .await
        .get_role_policy()
        .role_name(c.role("nodes"))
        .policy_name(format!("additional.{}", c.role("nodes")))
        .send()
        .await;
    assert!(gone.is_err(), "additional policy should be gone");
    assert_eq!(c.dry_run().await.stdout, format!("{NO_CHANGES}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn e_an_inline_policy_changed_out_of_band_is_shown_and_corrected() {
    let c = Cluster::new("inline-drift", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    let nodes = c.role("nodes");
    iam_client()
        .await
        .put_role_policy()
        .role_name(&nodes)
        .policy_name(&nodes)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();

    let dry = c.dry_run().await;
    assert!(
        dry.stdout.starts_with(&format!(
            "Will modify resources:\n  IAMRolePolicy/{nodes}\n"
        )),
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains("-      \"Action\": \"s3:*\","),
        "{dry:?}"
    );
    assert!(
        dry.stdout.contains("+        \"ec2:DescribeRegions\""),
        "{dry:?}"
    );

    c.proxy.clear();
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.proxy.writes(), vec!["PutRolePolicy"]);
    assert_account_matches(&c.desired()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f_a_trust_policy_changed_out_of_band_is_restored_in_place() {
    let c = Cluster::new("trust-drift", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    let masters = c.role("masters");
    let iam = iam_client().await;
    let id_before = iam
        .get_role()
        .role_name(&masters)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .role_id()
        .to_string();
    iam.update_assume_role_policy()
        .role_name(&masters)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#)
        .send()
        .await
        .unwrap();

    let dry = c.dry_run().await;
    assert!(
        dry.stdout.starts_with(&format!(
            "Will modify resources:\n  IAMRole/{masters}\n  \tTrustPolicy\n"
        )),
        "{dry:?}"
    );
    assert!(dry.stdout.contains("lambda.amazonaws.com"), "{dry:?}");

    c.proxy.clear();
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(c.proxy.writes(), vec!["UpdateAssumeRolePolicy"]);
    assert_account_matches(&c.desired()).await;
    let id_after = iam
        .get_role()
        .role_name(&masters)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .role_id()
        .to_string();
    assert_eq!(
        id_before, id_after,
        "the role must be updated in place, not recreated"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_aws_error_stops_the_run_with_its_message_and_the_next_run_converges() {
    let c = Cluster::new("aws-error", ClusterYaml::new).await;
    c.proxy.fail(
        "CreateInstanceProfile",
        Fault {
            status: 409,
            code: "LimitExceeded".into(),
            message: "Cannot exceed quota for InstanceProfilesPerAccount: 1000".into(),
            times: 1,
        },
    );
    let run = c.apply().await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains("LimitExceeded: Cannot exceed quota for InstanceProfilesPerAccount: 1000"),
        "{run:?}"
    );
    assert!(run.stdout.contains("Error: IAMInstanceProfile/"), "{run:?}");
    assert!(run.stderr.contains("run again"), "{run:?}");
    // The failed stage settled; nothing of the next stage was sent.
    assert!(!c
        .proxy
        .writes()
        .iter()
        .any(|w| w == "PutRolePolicy" || w == "AddRoleToInstanceProfile"));

    let again = c.apply().await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_account_matches(&c.desired()).await;
    assert_eq!(c.dry_run().await.stdout, format!("{NO_CHANGES}\n"));
}
