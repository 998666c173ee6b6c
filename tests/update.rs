//! `rolecall update` end to end against a real LocalStack: each test has a cluster of its
//! own, drives the binary through a recording proxy, and checks the account afterwards with
//! its own IAM client.

use crate::common;

use common::cluster::{assert_account_matches, Cluster, MUST_SPECIFY_YES, NO_CHANGES};
use common::proxy::Fault;
use common::spec::{ClusterYaml, SQS_STATEMENT, SQS_STATEMENT_WIDER};
use common::{iam_client, put_role_policy, role_exists, role_id, set_trust, ALLOW_S3};

/// The tests' cluster with `SQS_STATEMENT` as the nodes' additional policy.
fn with_sqs_policy(name: &str) -> ClusterYaml {
    ClusterYaml::new(name).with_node_policy(SQS_STATEMENT)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_on_an_empty_account_lists_everything_and_writes_nothing() {
    let c = Cluster::new("dryrun", with_sqs_policy).await;
    let run = c.dry_run().await;
    run.assert_code(0);
    assert_eq!(run.last_line(), MUST_SPECIFY_YES, "{run:?}");
    run.assert_stdout_starts("Will create resources:\n");
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
    c.assert_no_writes();
    assert!(
        !c.proxy.actions().is_empty(),
        "the dry run should have read the account"
    );
    assert!(!role_exists(&c.role("nodes")).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn b_c_yes_creates_everything_and_a_second_run_writes_nothing() {
    let c = Cluster::new("create", with_sqs_policy).await;
    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has("Applied 13 changes.");
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

    let again = c.apply_again_quietly().await;
    again.assert_code(0);
    assert_eq!(again.plan_text(), format!("{NO_CHANGES}\n"));
    let dry = c.dry_run().await;
    assert_eq!(dry.plan_text(), format!("{NO_CHANGES}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn d_g_a_changed_additional_policy_modifies_only_it_and_a_removed_one_is_deleted() {
    let c = Cluster::applied("additional", with_sqs_policy).await;

    c.rewrite(ClusterYaml::new(&c.name).with_node_policy(SQS_STATEMENT_WIDER));
    c.proxy.clear();
    let dry = c.dry_run().await;
    dry.assert_code(0);
    let additional = format!("IAMRolePolicy/additional.{}", c.role("nodes"));
    let expected_head = format!("Will modify resources:\n  {additional}\n  \tPolicyDocument\n");
    dry.assert_stdout_starts(&expected_head);
    let (changes, access) = dry
        .stdout
        .split_once("\nAccess:\n")
        .expect("an access section");
    assert_eq!(
        changes.matches("IAMRole").count(),
        1,
        "only one object changes:\n{dry:?}"
    );
    // What the change grants: one line, the action it adds.
    assert!(
        access.starts_with(&format!(
            "  {additional}\tadds sqs:DeleteMessage on arn:aws:sqs:us-east-1:000000000000:jobs\n"
        )),
        "{dry:?}"
    );
    dry.assert_stdout_has("+        \"sqs:DeleteMessage\"");
    assert!(
        dry.stdout.contains("--- actual") && dry.stdout.contains("+++ desired"),
        "{dry:?}"
    );
    assert_eq!(dry.last_line(), MUST_SPECIFY_YES);
    c.assert_no_writes();

    c.assert_apply_writes(&["PutRolePolicy"]).await;

    // g) The entry removed from the spec: its policy is deleted, and nothing else changes.
    c.rewrite(ClusterYaml::new(&c.name));
    c.proxy.clear();
    let dry = c.dry_run().await;
    dry.assert_stdout_starts(&format!("Will delete resources:\n  {additional}\n"));
    c.assert_apply_writes(&["DeleteRolePolicy"]).await;
    let gone = iam_client()
        .await
        .get_role_policy()
        .role_name(c.role("nodes"))
        .policy_name(format!("additional.{}", c.role("nodes")))
        .send()
        .await;
    assert!(gone.is_err(), "additional policy should be gone");
    assert_eq!(c.dry_run().await.plan_text(), format!("{NO_CHANGES}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn e_an_inline_policy_changed_out_of_band_is_shown_and_corrected() {
    let c = Cluster::applied("inline-drift", ClusterYaml::new).await;
    let nodes = c.role("nodes");
    put_role_policy(&nodes, &nodes, ALLOW_S3).await;

    let dry = c.dry_run().await;
    dry.assert_stdout_starts(&format!(
        "Will modify resources:\n  IAMRolePolicy/{nodes}\n"
    ));
    dry.assert_stdout_has("-      \"Action\": \"s3:*\",");
    dry.assert_stdout_has("+        \"ec2:DescribeRegions\"");

    c.proxy.clear();
    c.assert_apply_writes(&["PutRolePolicy"]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn f_a_trust_policy_changed_out_of_band_is_restored_in_place() {
    let c = Cluster::applied("trust-drift", ClusterYaml::new).await;
    let masters = c.role("masters");
    let id_before = role_id(&masters).await;
    set_trust(
        &masters,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
    )
    .await;

    let dry = c.dry_run().await;
    dry.assert_stdout_starts(&format!(
        "Will modify resources:\n  IAMRole/{masters}\n  \tTrustPolicy\n"
    ));
    dry.assert_stdout_has("lambda.amazonaws.com");

    c.proxy.clear();
    c.assert_apply_writes(&["UpdateAssumeRolePolicy"]).await;
    let id_after = role_id(&masters).await;
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
    run.assert_code(1);
    run.assert_stdout_has(
        "LimitExceeded: Cannot exceed quota for InstanceProfilesPerAccount: 1000",
    );
    run.assert_stdout_has("Error: IAMInstanceProfile/");
    run.assert_stderr_has("run again");
    // The failed stage settled; nothing of the next stage was sent.
    assert!(!c
        .proxy
        .writes()
        .iter()
        .any(|w| w == "PutRolePolicy" || w == "AddRoleToInstanceProfile"));

    let again = c.apply().await;
    again.assert_code(0);
    assert_account_matches(&c.desired()).await;
    assert_eq!(c.dry_run().await.plan_text(), format!("{NO_CHANGES}\n"));
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_and_detailed_exit_codes_fit_pipelines() {
    let c = Cluster::new("json", ClusterYaml::new).await;
    let json = |run: &common::Run| -> serde_json::Value {
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{run:?}"))
    };

    let pending = c.run(&["--output", "json", "--detailed-exitcode"]).await;
    assert_eq!(pending.code, 2, "pending changes: {pending:?}");
    let doc = json(&pending);
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["cluster"], c.name.as_str());
    assert_eq!(doc["has_changes"], true);
    let changes = doc["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 12);
    let role = changes
        .iter()
        .find(|ch| ch["id"] == format!("IAMRole/{}", c.role("nodes")))
        .unwrap();
    assert_eq!(role["action"], "create");
    assert_eq!(role["operation"], "CreateRole");
    assert_eq!(role["type"], "IAMRole");
    c.assert_no_writes();

    let applied = c
        .run(&["--yes", "--output", "json", "--detailed-exitcode"])
        .await;
    applied.assert_code(0);
    let doc = json(&applied);
    assert_eq!(doc["applied"]["succeeded"], true);
    assert_eq!(doc["applied"]["done"].as_array().unwrap().len(), 12);
    assert!(
        applied.stderr.contains("CreateRole"),
        "progress lines go to stderr: {applied:?}"
    );

    let converged = c.run(&["--detailed-exitcode"]).await;
    converged.assert_code(0);

    // Drift rolecall may not fix is pending too.
    let nodes = c.role("nodes");
    put_role_policy(&nodes, &nodes, ALLOW_S3).await;
    let drift = c
        .run(&[
            "--detailed-exitcode",
            "--output",
            "json",
            "--lifecycle-overrides",
            "IAMRolePolicy=ExistsAndWarnIfChanges",
        ])
        .await;
    drift.assert_code(2);
    let doc = json(&drift);
    assert_eq!(doc["has_changes"], false);
    assert_eq!(doc["drift"][0]["id"], format!("IAMRolePolicy/{nodes}"));
    assert_eq!(doc["drift"][0]["lifecycle"], "ExistsAndWarnIfChanges");

    let invalid = c
        .run(&[
            "--detailed-exitcode",
            "--lifecycle-overrides",
            "IAMRole=Nope",
        ])
        .await;
    invalid.assert_code(1);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_credential_appears_in_any_output_at_any_log_level() {
    let c = Cluster::new("secrets", ClusterYaml::new).await;
    let (key_id, secret, token) = (
        "AKIASENTINEL00000001",
        "SENTINEL/secret+access/key0000000000000",
        "SENTINEL-session-token-0000000000000000",
    );
    let env = [
        ("AWS_ACCESS_KEY_ID", key_id),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_SESSION_TOKEN", token),
        ("AWS_REGION", "us-east-1"),
        ("RUST_LOG", "trace"),
    ];
    let spec = c.spec_path.clone();
    for args in [
        vec!["-vv", "update", "-f", spec.as_str(), "--yes"],
        vec!["-vv", "update", "-f", spec.as_str(), "--output", "json"],
    ] {
        let run = common::rolecall_with_env(&c.proxy.endpoint, &args, &env).await;
        assert_eq!(
            run.code,
            0,
            "{}",
            run.stderr.lines().last().unwrap_or_default()
        );
        assert!(run.stderr.lines().count() > 100, "trace logs were written");
        for sentinel in [key_id, secret, token, "SENTINEL"] {
            assert!(!run.stdout.contains(sentinel), "{sentinel} in stdout");
            assert!(!run.stderr.contains(sentinel), "{sentinel} in the logs");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_security_lint_warns_and_strict_refuses_to_write() {
    let c = Cluster::new("lint", |n| {
        ClusterYaml::new(n)
            .with_node_policy(r#"[{"Effect": "Allow", "Action": "*", "Resource": "*"}]"#)
    })
    .await;
    let additional = format!("IAMRolePolicy/additional.{}", c.role("nodes"));
    let dry = c.dry_run().await;
    dry.assert_code(0);
    dry.assert_stdout_has(&format!(
        "Warnings:\n  {additional}\n  \tsecurity lint: allows every action (\"Action\": \"*\")\n"
    ));
    let strict = c.run(&["--yes", "--strict"]).await;
    strict.assert_code(1);
    strict.assert_stdout_has(&format!(
        "Errors:\n  {additional}\n  \tsecurity lint: allows every action"
    ));
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_action_is_named_with_the_nearest_and_strict_refuses_it() {
    let c = Cluster::new("lint-typo", |n| {
        ClusterYaml::new(n).with_node_policy(
            r#"[{"Effect": "Allow", "Action": ["s3:GetObjcet"], "Resource": "arn:aws:s3:::b/*"}]"#,
        )
    })
    .await;
    let additional = format!("IAMRolePolicy/additional.{}", c.role("nodes"));
    let dry = c.dry_run().await;
    dry.assert_code(0);
    dry.assert_stdout_has(&format!(
        "Warnings:\n  {additional}\n  \tlint: unknown action s3:GetObjcet; did you mean s3:GetObject?\n"
    ));
    let strict = c.run(&["--yes", "--strict"]).await;
    strict.assert_code(1);
    strict.assert_stdout_has(&format!(
        "Errors:\n  {additional}\n  \tlint: unknown action s3:GetObjcet"
    ));
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn strict_refuses_allow_with_not_action() {
    // Everything but IAM is almost everything: the lint must not read it as harmless.
    let c = Cluster::new("lint-notaction", |n| {
        ClusterYaml::new(n)
            .with_node_policy(r#"[{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]"#)
    })
    .await;
    let additional = format!("IAMRolePolicy/additional.{}", c.role("nodes"));
    let strict = c.run(&["--yes", "--strict"]).await;
    strict.assert_code(1);
    strict.assert_stdout_has(&format!(
        "Errors:\n  {additional}\n  \tsecurity lint: allows every action except iam:*"
    ));
    c.assert_no_writes();
}
