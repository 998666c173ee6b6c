//! Retries against a real LocalStack, with the faults it never produces injected by the
//! recording proxy: throttling and 5xx are retried with backoff, IAM's eventual consistency
//! is waited out up to a deadline, and terminal errors fail at once with AWS's message.

use crate::common;

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

/// The account holds what the spec asks for, and a dry run finds nothing left to do.
async fn assert_converged(c: &Cluster) {
    assert_account_matches(&c.desired()).await;
    assert_eq!(c.dry_run().await.last_line(), NO_CHANGES);
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
    run.assert_code(0);
    assert_eq!(
        c.proxy.requests("CreateRole"),
        3 + 2,
        "two throttled attempts were retried"
    );
    assert_eq!(c.proxy.requests("PutRolePolicy"), 3 + 1);
    assert!(c.proxy.requests("GetRole") >= 3 + 2);
    assert_converged(&c).await;
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
    run.assert_code(0);
    assert_eq!(c.proxy.requests("CreateRole"), 3 + 2);
    assert_eq!(c.proxy.requests("AddRoleToInstanceProfile"), 3 + 2);
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
    run.assert_code(1);
    run.assert_stdout_has("(still failing after waiting");
    run.assert_stderr_has("run again");

    c.proxy.fail(
        "AddRoleToInstanceProfile",
        fault(404, "NoSuchEntity", "x", 0),
    );
    let again = c.apply().await;
    again.assert_code(0);
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
        run.assert_stdout_has(&format!("{code}: {message}"));
        // One call per master, node and bastion object: the failed one was not retried.
        assert_eq!(
            c.proxy.requests(action),
            3,
            "{action} {code} was not retried"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn pod_roles_converge_through_throttling_errors_and_resets_at_a_set_rate() {
    let c = Cluster::new("chaos", pod_roles_yaml).await;
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
    run.assert_code(0);
    assert_account_matches(&c.desired()).await;
    let again = c.dry_run().await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
}

/// Eight kube2iam pod roles on top of kops's three roles.
fn pod_roles_yaml(name: &str) -> ClusterYaml {
    let mut roles = String::from("    podIdentity:\n      mode: kube2iam\n      roles:\n");
    for i in 0..8 {
        roles.push_str(&format!(
            "      - name: app{i}\n        namespaces: [team{i}]\n        inlinePolicy: '[{{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}}]'\n"
        ));
    }
    ClusterYaml::new(name).with_iam(&roles)
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_held_past_the_attempt_timeout_are_retried_and_nothing_is_duplicated() {
    let c = Cluster::new("stalled", pod_roles_yaml).await;
    // One request in three reaches IAM, which acts on it, but its answer comes 3 s late:
    // past the 1 s attempt timeout, so rolecall retries a write that already happened.
    c.proxy.stall(3, std::time::Duration::from_secs(3));
    let run = c.run(&["--yes", "--attempt-timeout", "1"]).await;
    run.assert_code(0);
    let stalled = c.proxy.stalled();
    assert!(
        stalled
            .iter()
            .any(|a| a == "CreateRole" || a == "CreateInstanceProfile"),
        "no create had its answer held: {stalled:?}"
    );
    // Each held request was sent again, and the repeat of a create that had gone through was
    // recognised as done rather than failing as a duplicate.
    for action in [
        "CreateRole",
        "CreateInstanceProfile",
        "AddRoleToInstanceProfile",
    ] {
        let held = stalled.iter().filter(|a| *a == action).count();
        assert!(c.proxy.requests(action) > held, "{action}: {held} held");
    }
    assert_account_matches(&c.desired()).await;
    let again = c.dry_run().await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn when_retries_run_out_the_run_says_what_is_left_and_the_next_finishes() {
    let c = Cluster::new("exhausted", ClusterYaml::new).await;
    c.proxy.fail(
        "PutRolePolicy",
        fault(400, "Throttling", "Rate exceeded", usize::MAX),
    );
    let run = c.run(&["--yes", "--max-attempts", "2"]).await;
    run.assert_code(1);
    // Each of the three inline policies was tried twice, then reported with AWS's message.
    assert_eq!(c.proxy.requests("PutRolePolicy"), 3 * 2, "{run:?}");
    run.assert_stdout_has("Throttling: Rate exceeded");
    assert!(
        run.stderr.contains("stopped after 3 failed change(s)")
            && run.stderr.contains("applied,")
            && run.stderr.contains("not attempted")
            && run.stderr.contains("run again"),
        "{run:?}"
    );
    // What was applied stays applied: the roles exist already.
    run.assert_stdout_has("CreateRole");

    c.proxy
        .fail("PutRolePolicy", fault(400, "Throttling", "x", 0));
    let again = c.apply().await;
    again.assert_code(0);
    assert_converged(&c).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aws_max_attempts_and_aws_retry_mode_are_honoured_unless_the_flag_says_otherwise() {
    let c = Cluster::new("attempts-env", ClusterYaml::new).await;
    c.proxy.fail(
        "PutRolePolicy",
        fault(400, "Throttling", "Rate exceeded", usize::MAX),
    );
    let run = |args: &'static [&'static str], env: &'static [(&'static str, &'static str)]| {
        let mut all = vec!["update", "-f", &c.spec_path, "--yes"];
        all.extend_from_slice(args);
        let mut vars = common::TEST_KEYS.to_vec();
        vars.extend_from_slice(env);
        let endpoint = c.proxy.endpoint.clone();
        async move { common::rolecall_with_env(&endpoint, &all, &vars).await }
    };
    // Bad values: one line naming the variable, before any request.
    for env in [
        &[("AWS_MAX_ATTEMPTS", "many")][..],
        &[("AWS_RETRY_MODE", "fast")][..],
    ] {
        let bad = run(&[], env).await;
        bad.assert_code(1);
        let (var, value) = env[0];
        assert!(
            bad.stderr.contains(&format!("{var}: \"{value}\" is not"))
                && bad.stderr.trim().lines().count() == 1,
            "{bad:?}"
        );
        assert!(c.proxy.actions().is_empty(), "{:?}", c.proxy.actions());
    }
    // Each of the three inline policies is tried as often as AWS_MAX_ATTEMPTS says, in
    // either retry mode...
    for mode in ["standard", "adaptive"] {
        c.proxy.clear();
        let env: &'static [(&str, &str)] = match mode {
            "standard" => &[("AWS_MAX_ATTEMPTS", "3"), ("AWS_RETRY_MODE", "standard")],
            _ => &[("AWS_MAX_ATTEMPTS", "3"), ("AWS_RETRY_MODE", "adaptive")],
        };
        run(&[], env).await.assert_code(1);
        assert_eq!(c.proxy.requests("PutRolePolicy"), 3 * 3, "{mode}");
    }
    // ... unless --max-attempts says otherwise.
    c.proxy.clear();
    run(&["--max-attempts", "1"], &[("AWS_MAX_ATTEMPTS", "3")])
        .await
        .assert_code(1);
    assert_eq!(c.proxy.requests("PutRolePolicy"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rate_limited_account_is_paced_and_the_run_converges() {
    // 30 IRSA roles at concurrency 32 through an account that allows 10 requests a second:
    // without a client-side rate most of the first burst would be throttled.
    let c = Cluster::new("rate-limited", |name| {
        let accounts: String = (0..30)
            .map(|i| {
                format!(
                    "    - name: app{i}\n      namespace: team{i}\n      aws:\n        inlinePolicy: |\n          [{{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}}]\n"
                )
            })
            .collect();
        ClusterYaml::new(name)
            .with_spec(&common::spec::issuer_discovery(name))
            .with_iam(&format!("    serviceAccountExternalPermissions:\n{accounts}"))
    })
    .await;
    c.proxy.throttle(10.0);
    let run = c.run(&["--yes", "--concurrency", "32"]).await;
    run.assert_code(0);
    let (calls, throttled) = (c.proxy.actions().len(), c.proxy.take_throttled());
    assert!(c.proxy.requests("CreateRole") >= 30 + 3, "{run:?}");
    // The account did throttle: the first burst of up to 32 requests goes before any rate
    // is known, and about a third of it gets through a bucket of 10. After that, throttled
    // answers stay a small fraction of calls, paced retries included: a count, not a time.
    eprintln!("{throttled} throttled for {calls} calls");
    assert!(
        throttled > 0 && throttled <= 32 + calls / 10,
        "{throttled} throttled for {calls} calls"
    );
    assert_converged(&c).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_create_is_success_only_when_the_account_holds_what_was_wanted() {
    let c = Cluster::new("duplicate", ClusterYaml::new).await;
    // IAM says a role exists that it does not hold: not what the spec wants, so it fails.
    c.proxy.fail(
        "CreateRole",
        fault(
            409,
            "EntityAlreadyExists",
            "Role with name x already exists.",
            1,
        ),
    );
    let run = c.apply().await;
    run.assert_code(1);
    run.assert_stdout_has("EntityAlreadyExists: Role with name x already exists. (and what the account holds is not what the spec wants");
    let again = c.apply().await;
    again.assert_code(0);
    assert_account_matches(&c.desired()).await;
}
