//! Saved plans end to end against a real LocalStack: `update --out PLAN`, `apply PLAN` and
//! `show PLAN` through the binary, the writes counted by the recording proxy, the account
//! checked with the tests' own IAM client (docs/saved-plans.md).

use crate::common;

use common::cluster::{assert_account_matches, Cluster, NO_CHANGES};
use common::spec::{ClusterYaml, SQS_STATEMENT, SQS_STATEMENT_WIDER};
use common::{
    localstack, policy_document, put_role_policy, rolecall, rolecall_args, rolecall_with_env,
    scratch_dir, set_trust, Run, ALLOW_S3, EC2_TRUST,
};

fn with_sqs_policy(name: &str) -> ClusterYaml {
    ClusterYaml::new(name).with_node_policy(SQS_STATEMENT)
}

/// A plan file's path in the cluster's scratch directory.
fn plan_path(c: &Cluster, name: &str) -> String {
    scratch_dir(&c.name).join(name).display().to_string()
}

/// `show` reads only the file: no endpoint, no credentials.
async fn show(args: &[&str]) -> Run {
    rolecall_args(args, &[]).await
}

async fn apply_plan(c: &Cluster, plan: &str) -> Run {
    rolecall(&c.proxy.endpoint, &["apply", plan]).await
}

/// A secret that must never reach the plan file.
const SECRET: &str = "saved-plan-secret-never-written";

async fn save_plan(c: &Cluster, plan: &str) -> Run {
    save_plan_with(c, plan, &[]).await
}

/// `update --out PLAN` with more flags.
async fn save_plan_with(c: &Cluster, plan: &str, more: &[&str]) -> Run {
    let mut args = vec!["update", "-f", &c.spec_path, "--out", plan];
    args.extend_from_slice(more);
    let env = [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", SECRET),
        ("AWS_REGION", "us-east-1"),
    ];
    rolecall_with_env(&c.proxy.endpoint, &args, &env).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_applies_exactly_once_and_converges() {
    let c = Cluster::new("saved", with_sqs_policy).await;
    let plan = plan_path(&c, "plan.json");
    let saved = save_plan(&c, &plan).await;
    saved.assert_code(0);
    assert_eq!(
        saved.last_line(),
        format!("Saved the plan to {plan}. To apply exactly these changes: rolecall apply {plan}"),
        "{saved:?}"
    );
    c.assert_no_writes();
    let file = std::fs::read_to_string(&plan).unwrap();
    assert!(!file.contains(SECRET), "the secret key is in the plan file");
    let doc: serde_json::Value = serde_json::from_str(&file).unwrap();
    assert_eq!(doc["format_version"], "1");
    assert_eq!(doc["rolecall_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(doc["account"], "000000000000");
    assert_eq!(doc["endpoint"], c.proxy.endpoint.as_str());
    assert_eq!(doc["kops_version"], "1.10");
    assert_eq!(doc["spec_files"][0]["path"], c.spec_path.as_str());
    assert_eq!(doc["changes"].as_array().unwrap().len(), 13);
    assert!(doc["fingerprints"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["fingerprint"]["state"] == "absent"));

    // show: the plan as update printed it, then where it was made; or update's JSON.
    let shown = show(&["show", &plan]).await;
    shown.assert_code(0);
    let body = saved
        .stdout
        .strip_suffix(&format!("{}\n", saved.last_line()))
        .unwrap();
    assert!(shown.stdout.starts_with(body), "{shown:?}");
    shown.assert_stdout_has("made by rolecall ");
    shown.assert_stdout_has("for account 000000000000");
    assert_eq!(
        shown.last_line(),
        format!("To apply exactly these changes: rolecall apply {plan}")
    );
    let shown = show(&["show", &plan, "--output", "json"]).await;
    shown.assert_code(0);
    let json: serde_json::Value = serde_json::from_str(&shown.stdout).unwrap();
    let dry = c.run(&["--output", "json"]).await;
    let dry: serde_json::Value = serde_json::from_str(&dry.stdout).unwrap();
    assert_eq!(json["changes"], dry["changes"]);
    assert_eq!(json["saved_plan"]["account"], "000000000000");
    assert_eq!(json["saved_plan"]["spec_files"], doc["spec_files"]);
    c.assert_no_writes();

    let applied = apply_plan(&c, &plan).await;
    applied.assert_code(0);
    assert!(applied.stdout.starts_with(body), "{applied:?}");
    applied.assert_stdout_has("Applied 13 changes.");
    assert_eq!(c.proxy.writes().len(), 13, "{:?}", c.proxy.writes());
    assert_account_matches(&c.desired()).await;
    c.apply_again_quietly().await;

    // The same plan again: everything it creates exists now.
    c.proxy.clear();
    let again = apply_plan(&c, &plan).await;
    again.assert_code(1);
    again.assert_stderr_has("Error: Saved plan is stale: 10 object(s) it changes are no longer as they were when it was made; nothing was written. Plan again.");
    again.assert_stderr_has(&format!(
        "  IAMRole/{}: was absent when planned, now exists",
        c.role("nodes")
    ));
    c.assert_no_writes();

    // A plan with nothing to do applies as a no-op.
    let empty = plan_path(&c, "empty.json");
    save_plan(&c, &empty).await.assert_code(0);
    let noop = apply_plan(&c, &empty).await;
    noop.assert_code(0);
    assert_eq!(noop.last_line(), NO_CHANGES, "{noop:?}");
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_objects_changed_since_is_refused_naming_them() {
    let c = Cluster::applied("savedstale", with_sqs_policy).await;
    c.rewrite(ClusterYaml::new(&c.name).with_node_policy(SQS_STATEMENT_WIDER));
    let plan = plan_path(&c, "plan.json");
    save_plan(&c, &plan).await.assert_code(0);
    // Someone else edits what the plan changes, and the role it changes it on.
    let nodes = c.role("nodes");
    let additional = format!("additional.{nodes}");
    put_role_policy(&nodes, &additional, ALLOW_S3).await;
    let trust = EC2_TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    set_trust(&nodes, &trust).await;
    c.proxy.clear();
    let run = apply_plan(&c, &plan).await;
    run.assert_code(1);
    run.assert_stderr_has("Saved plan is stale: 2 object(s)");
    run.assert_stderr_has(&format!(
        "  IAMRole/{nodes}: trust_policy changed since planned\n"
    ));
    run.assert_stderr_has(&format!(
        "  IAMRolePolicy/{additional} (role {nodes}): document changed since planned\n"
    ));
    c.assert_no_writes();
    assert!(policy_document(&nodes, &additional)
        .await
        .unwrap()
        .contains("s3:*"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_is_applied_only_from_its_spec_account_and_endpoint() {
    let c = Cluster::applied("savedwhere", with_sqs_policy).await;
    c.rewrite(ClusterYaml::new(&c.name).with_node_policy(SQS_STATEMENT_WIDER));
    let plan = plan_path(&c, "plan.json");
    // Planned from the bulk read; the fingerprints come from single reads all the same, so
    // the plan applies at the end, its role and policy present and unchanged.
    save_plan_with(&c, &plan, &["--fetch", "bulk"])
        .await
        .assert_code(0);
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    assert_eq!(file["settings"]["fetch"], "bulk");
    c.proxy.clear();

    // The spec edited after planning: refused before any request.
    let original = std::fs::read_to_string(&c.spec_path).unwrap();
    std::fs::write(&c.spec_path, format!("{original}\n# reviewed\n")).unwrap();
    let run = apply_plan(&c, &plan).await;
    run.assert_code(1);
    assert_eq!(run.stderr, format!("Error: spec file {} changed since the plan was made; nothing was written. Plan again\n", c.spec_path));
    assert!(c.proxy.actions().is_empty(), "{:?}", c.proxy.actions());
    std::fs::write(&c.spec_path, &original).unwrap();

    // Another account (LocalStack takes a 12-digit access key id as the account).
    let env = [
        ("AWS_ACCESS_KEY_ID", "111111111111"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
    ];
    let run = rolecall_with_env(&c.proxy.endpoint, &["apply", &plan], &env).await;
    run.assert_code(1);
    assert_eq!(run.stderr, "Error: the plan was made for AWS account 000000000000, but the credentials are of account 111111111111; nothing was written\n");

    // Another endpoint: LocalStack itself rather than the proxy in front of it.
    let run = rolecall(&localstack(), &["apply", &plan]).await;
    run.assert_code(1);
    run.assert_stderr_has(&format!(
        "Error: the plan was made against endpoint {}, but this run uses {}",
        c.proxy.endpoint,
        localstack()
    ));

    // A corrupt file, and one of a later format.
    let corrupt = plan_path(&c, "corrupt.json");
    std::fs::write(&corrupt, "{\"format_version\": \"1\", \"changes\": ").unwrap();
    let run = apply_plan(&c, &corrupt).await;
    run.assert_code(1);
    run.assert_stderr_has(&format!(
        "Error: {corrupt} is not a rolecall plan file: not JSON"
    ));
    let later = plan_path(&c, "later.json");
    std::fs::write(&later, "{\"format_version\": \"9\"}").unwrap();
    let run = show(&["show", &later]).await;
    run.assert_code(1);
    assert_eq!(
        run.stderr,
        format!(
            "Error: {later} is a plan file of format version 9; this rolecall reads version 1\n"
        )
    );
    let run = apply_plan(&c, &plan_path(&c, "missing.json")).await;
    run.assert_code(1);
    run.assert_stderr_has("Error: cannot read the plan file ");
    c.assert_no_writes();

    // --out with --yes, or with the spec on standard input, is refused.
    let run = c.run(&["--yes", "--out", &plan]).await;
    run.assert_code(1);
    run.assert_stderr_has("cannot be used with");
    let run = rolecall(&c.proxy.endpoint, &["update", "-f", "-", "--out", &plan]).await;
    run.assert_code(1);
    run.assert_stderr_has("Error: --out needs the spec in files");
    c.assert_no_writes();

    // A plan with errors (the changed policy may not be written) is not saved.
    let refused = plan_path(&c, "refused.json");
    let overrides = ["--lifecycle-overrides", "IAMRolePolicy=ExistsAndValidates"];
    let run = save_plan_with(&c, &refused, &overrides).await;
    run.assert_code(1);
    run.assert_stderr_has("Error: the plan has errors, so no plan file was written\n");
    assert!(!std::path::Path::new(&refused).exists());
    c.assert_no_writes();

    // Nothing was written by any of it; the plan still applies.
    let applied = apply_plan(&c, &plan).await;
    applied.assert_code(0);
    applied.assert_stdout_has("Applied 1 changes.");
    assert_eq!(c.proxy.writes(), ["PutRolePolicy"]);
    assert_account_matches(&c.desired()).await;
}
