//! rolecall killed in the middle of a large apply, and two applies at once, against a real
//! LocalStack: the next run converges to the desired state, nothing is duplicated, and no
//! run reports a success it did not have.

use crate::common;

use std::time::Duration;

use common::cluster::{assert_account_matches, Cluster, NO_CHANGES};
use common::spec::ClusterYaml;

/// A cluster with `n` kube2iam application roles, each with an inline policy: about three
/// writes a role, enough for an apply to take a while.
fn large(name: &str, n: usize) -> ClusterYaml {
    let mut roles = String::from("    podIdentity:\n      mode: kube2iam\n      roles:\n");
    for i in 0..n {
        roles.push_str(&format!(
            "      - name: app{i}\n        namespaces: [team{i}]\n        inlinePolicy: '[{{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"arn:aws:sqs:us-east-1:000000000000:q{i}\"}}]'\n"
        ));
    }
    ClusterYaml::new(name).with_iam(&roles)
}

async fn spawn_apply(c: &Cluster) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args([
            "update",
            "-f",
            &c.spec_path,
            "--yes",
            "--endpoint-url",
            &c.proxy.endpoint,
        ])
        .env_clear()
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start rolecall")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_killed_mid_apply_is_finished_by_the_next() {
    let c = Cluster::new("crash", |n| large(n, 40)).await;
    // A 20 ms round trip per call, as on a real account, so that the writes are spread out.
    c.proxy.delay(Duration::from_millis(20));
    // Kill at several points of the apply, counted in writes rather than time so that a
    // slow or fast machine kills at the same points: at the first write, then further into
    // the stages. Each run finishes some of what the one before left (about 95 writes in all).
    let points = [1, 8, 16, 24];
    let mut killed_mid_way = 0;
    for kill_after in points {
        let before = c.proxy.writes().len();
        let mut child = spawn_apply(&c).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while c.proxy.writes().len() - before < kill_after && child.try_wait().unwrap().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "rolecall made no progress for 60 s"
            );
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let _ = child.start_kill(); // SIGKILL: no cleanup, no flush
        let status = child.wait().await.unwrap();
        let wrote = c.proxy.writes().len() - before;
        if !status.success() && wrote > 0 {
            killed_mid_way += 1;
        }
    }
    assert_eq!(
        killed_mid_way,
        points.len(),
        "a run ended before its kill: the apply is too short to test"
    );

    let run = c.apply().await;
    run.assert_code(0);
    // The kills left work to do, and this run did it.
    run.assert_stdout_has("\nApplied ");
    assert_account_matches(&c.desired()).await;
    c.proxy.clear();
    let again = c.dry_run().await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_at_once_end_in_the_desired_state_without_false_success() {
    let c = Cluster::new("twice", |n| large(n, 15)).await;
    let (first, second) = (spawn_apply(&c).await, spawn_apply(&c).await);
    let (first, second) = (
        first.wait_with_output().await.unwrap(),
        second.wait_with_output().await.unwrap(),
    );
    let mut succeeded = 0;
    for out in [&first, &second] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            succeeded += 1;
            // A success is a true one: everything it planned was applied.
            assert!(
                stdout.contains("Applied ") || stdout.contains(NO_CHANGES),
                "{stdout}\n{stderr}"
            );
        } else {
            // A failure says so, with the AWS error and how to finish.
            assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
            assert!(stdout.contains("Error: "), "{stdout}\n{stderr}");
            assert!(stderr.contains("run again"), "{stdout}\n{stderr}");
        }
    }
    // Whatever each said, one more run converges, and the account has no duplicate.
    let run = c.apply().await;
    run.assert_code(0);
    assert_account_matches(&c.desired()).await;
    assert_eq!(c.dry_run().await.last_line(), NO_CHANGES);
    let _ = succeeded;
}
