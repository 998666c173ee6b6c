//! Retries against a real LocalStack, with the faults it never produces injected by the
//! recording proxy: throttling and 5xx are retried with backoff, IAM's eventual consistency
//! is waited out up to a deadline, and terminal errors fail at once with AWS's message.

mod common;

use common::cluster::{assert_account_matches, Cluster, NO_CHANGES};
use common::proxy::Fault;
use common::spec::ClusterYaml;

fn fault(status: u16, code: &str, message: &str, times: usize) -> Fault {
    Fault {
        status,
        code: code.into(),
        message: message.into(),
        times,
    }
}

fn count(c: &Cluster, action: &str) -> usize {
    c.proxy.actions().iter().filter(|a| *a == action).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_and_server_errors_are_retried_until_they_pass() {
    let c = Cluster::new("throttled", ClusterYaml::new).await;
    c.proxy
        .fail("CreateRole", fault(400, "Throttling", "Rate exceeded", 2));
    c.proxy.fail(
        "GetRole",
        fault(500, "InternalFailure", "internal failure", 2),
    );
    c.proxy.fail(
        "PutRolePolicy",
        fault(503, "ServiceUnavailable", "service unavailable", 1),
    );
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        count(&c, "CreateRole"),
        3 + 2,
        "two throttled attempts were retried"
    );
    assert_eq!(count(&c, "PutRolePolicy"), 3 + 1);
    assert!(count(&c, "GetRole") >= 3 + 2);
    assert_account_matches(&c.desired()).await;
    assert_eq!(c.dry_run().await.last_line(), NO_CHANGES);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_principal_or_object_not_yet_visible_is_waited_out() {
    let c = Cluster::new("propagation", ClusterYaml::new).await;
    c.proxy.fail(
        "CreateRole",
        fault(
            400,
            "MalformedPolicyDocument",
            "Invalid principal in policy: \"AWS\":\"arn:aws:iam::000000000000:role/x\"",
            2,
        ),
    );
    c.proxy.fail(
        "AddRoleToInstanceProfile",
        fault(
            404,
            "NoSuchEntity",
            "Instance Profile nodes cannot be found.",
            2,
        ),
    );
    let run = c.run(&["--yes", "--consistency-timeout", "60"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(count(&c, "CreateRole"), 3 + 2);
    assert_eq!(count(&c, "AddRoleToInstanceProfile"), 3 + 2);
    assert_account_matches(&c.desired()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_that_never_ends_gives_up_at_the_deadline_and_the_next_run_finishes() {
    let c = Cluster::new("deadline", ClusterYaml::new).await;
    c.proxy.fail(
        "AddRoleToInstanceProfile",
        fault(
            404,
            "NoSuchEntity",
            "Instance Profile cannot be found.",
            usize::MAX,
        ),
    );
    let run = c.run(&["--yes", "--consistency-timeout", "2"]).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout.contains("(still failing after waiting"),
        "{run:?}"
    );
    assert!(run.stderr.contains("run again"), "{run:?}");

    c.proxy.fail(
        "AddRoleToInstanceProfile",
        fault(404, "NoSuchEntity", "x", 0),
    );
    let again = c.apply().await;
    assert_eq!(again.code, 0, "{again:?}");
    assert_account_matches(&c.desired()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn terminal_errors_fail_at_once_with_aws_message() {
    for (action, code, message) in [
        (
            "PutRolePolicy",
            "MalformedPolicyDocument",
            "Syntax errors in policy.",
        ),
        (
            "CreateRole",
            "AccessDenied",
            "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: iam:CreateRole",
        ),
        (
            "CreateInstanceProfile",
            "LimitExceeded",
            "Cannot exceed quota for InstanceProfilesPerAccount: 1000",
        ),
        (
            "CreateRole",
            "ValidationError",
            "1 validation error detected",
        ),
    ] {
        let c = Cluster::new("terminal", ClusterYaml::new).await;
        c.proxy.fail(action, fault(400, code, message, 1));
        let run = c.apply().await;
        assert_eq!(run.code, 1, "{action} {code}: {run:?}");
        assert!(
            run.stdout.contains(&format!("{code}: {message}")),
            "{run:?}"
        );
        // One call per master, node and bastion object: the failed one was not retried.
        assert_eq!(count(&c, action), 3, "{action} {code} was not retried");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_roles_converge_through_throttling_errors_and_resets_at_a_set_rate() {
    let mut roles = String::from("    podIdentity:\n      mode: kube2iam\n      roles:\n");
    for i in 0..8 {
        roles.push_str(&format!(
            "      - name: app{i}\n        namespaces: [team{i}]\n        inlinePolicy: '[{{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}}]'\n"
        ));
    }
    let c = Cluster::new("chaos", |n| ClusterYaml::new(n).with_iam(&roles)).await;
    // One request in four fails: throttled, a server error, unavailable, or the connection reset.
    c.proxy.chaos(
        4,
        vec![
            fault(400, "Throttling", "Rate exceeded", 0),
            fault(500, "InternalFailure", "internal failure", 0),
            fault(503, "ServiceUnavailable", "service unavailable", 0),
            fault(0, "", "", 0),
        ],
    );
    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_account_matches(&c.desired()).await;
    let again = c.dry_run().await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
}
