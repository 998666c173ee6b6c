//! What must never reach the output, and inputs that must be refused in one line: a key id
//! from a profile file in the trace logs, and malformed endpoint URLs and account ids.

use crate::common;

use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::cluster::Cluster;
use common::spec::ClusterYaml;
use common::{scratch_dir, unique_cluster, write_spec, Run, TEST_KEYS};

/// Not shaped like an AWS key id (AKIA/ASIA...), so only the redaction of what was resolved
/// can mask it.
const KEY_ID: &str = "rolecallsentinelkey42";
const SECRET: &str = "rolecall/sentinel+secret/key000000000000";
const TOKEN: &str = "rolecall-sentinel-session-token-0000000";

/// A profile file and a config file holding the sentinel credentials, in `dir`.
fn profile_files(dir: &Path) -> (PathBuf, PathBuf) {
    let credentials = write_spec(
        dir,
        "credentials",
        &format!(
            "[rolecall-test]\naws_access_key_id = {KEY_ID}\naws_secret_access_key = {SECRET}\naws_session_token = {TOKEN}\n"
        ),
    );
    let config = write_spec(
        dir,
        "config",
        "[profile rolecall-test]\nregion = us-east-1\n",
    );
    (credentials, config)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_key_id_appears_in_no_output_at_any_log_level() {
    let c = Cluster::new("profile-secrets", ClusterYaml::new).await;
    let (credentials, config) = profile_files(&scratch_dir(&c.name));
    let (credentials, config) = (
        credentials.display().to_string(),
        config.display().to_string(),
    );
    let profile = [
        ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
        ("AWS_CONFIG_FILE", config.as_str()),
        ("AWS_PROFILE", "rolecall-test"),
    ];
    let spec = c.spec_path.as_str();
    let runs: [(&[&str], Option<&str>); 4] = [
        (&["-vv", "update", "-f", spec, "--yes"], Some("trace")),
        (
            &["-vv", "update", "-f", spec, "--output", "json"],
            Some("trace"),
        ),
        (&["-vv", "update", "-f", spec], None),
        (&["-vv", "annotations", "-f", spec], Some("trace")),
    ];
    for (args, rust_log) in runs {
        let mut env = profile.to_vec();
        if let Some(filter) = rust_log {
            env.push(("RUST_LOG", filter));
        }
        let run = common::rolecall_with_env(&c.proxy.endpoint, args, &env).await;
        assert_eq!(
            run.code,
            0,
            "{args:?}: {}",
            run.stderr.lines().last().unwrap_or_default()
        );
        // The line that named the key id is still written, with the id masked: the
        // credentials did come from the profile file. (annotations, with no pod roles here,
        // connects but sends nothing, so the SDK resolves nothing after rolecall did.)
        if args.contains(&"update") {
            let loaded = run
                .stderr
                .lines()
                .find(|l| l.contains("loaded base credentials"))
                .unwrap_or_else(|| panic!("{args:?}: aws-config logged no credentials"));
            assert!(
                loaded.contains(r#"access_key_id: "** redacted **""#),
                "{loaded}"
            );
            assert!(run.stderr.lines().count() > 100, "{args:?}: debug logs");
        }
        for sentinel in [KEY_ID, SECRET, TOKEN, "sentinel"] {
            assert!(
                !run.stdout.contains(sentinel),
                "{args:?}: {sentinel} in stdout"
            );
            if let Some(line) = run.stderr.lines().find(|l| l.contains(sentinel)) {
                panic!("{args:?}: {sentinel} in the logs: {line}");
            }
        }
    }
}

/// A spec good enough to get as far as connecting; no server is needed to read it.
fn spec_file(test: &str) -> String {
    let name = unique_cluster(test);
    let path = write_spec(
        &scratch_dir(&name),
        "cluster.yaml",
        &ClusterYaml::new(&name).render(),
    );
    path.display().to_string()
}

fn assert_one_line_error(run: &Run, starts: &str) {
    run.assert_code(1);
    assert_eq!(run.stdout, "", "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with(starts), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_endpoint_url_flag_is_one_line_naming_the_flag() {
    let spec = spec_file("endpoint-flag");
    let bad_urls = [
        "not a url",
        "localhost:4566",
        "ftp://localhost:4566",
        "http://",
        "http://localhost:99999",
        "",
    ];
    for bad in bad_urls {
        for command in ["update", "annotations"] {
            // rolecall_with_env puts `--endpoint-url <bad>` after the arguments.
            let run = common::rolecall_with_env(bad, &[command, "-f", &spec], &TEST_KEYS).await;
            assert_one_line_error(&run, "Error: --endpoint-url <URL>: ");
            run.assert_stderr_has(&format!("{bad:?}"));
        }
    }
    // A value with a line break stays on the error's one line.
    let run = common::rolecall_with_env(
        "http://x\nkind: Secret",
        &["update", "-f", &spec],
        &TEST_KEYS,
    )
    .await;
    assert_one_line_error(&run, "Error: --endpoint-url <URL>: ");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_account_id_is_one_line_naming_the_flag() {
    let spec = spec_file("account-id");
    let annotations = |id| {
        let args = ["annotations", "-f", &spec, "--account-id", id];
        async move { common::rolecall_with_env("http://127.0.0.1:9", &args, &TEST_KEYS).await }
    };
    let bad_ids = [
        "12345678901",
        "1234567890123",
        "12345678901a",
        "123456789012\n---\napiVersion: v1\nkind: Secret",
    ];
    for bad in bad_ids {
        let run = annotations(bad).await;
        assert_one_line_error(&run, "Error: --account-id <ID>: ");
    }
    let good = annotations("123456789012").await;
    good.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_malformed_aws_endpoint_url_is_one_line_and_sends_nothing() {
    let spec = spec_file("endpoint-env");
    // A server that never answers: a request would show as a connection.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let sink = format!("http://{}", listener.local_addr().unwrap());
    let args = [
        "update",
        "-f",
        spec.as_str(),
        "--attempt-timeout",
        "1",
        "--max-attempts",
        "1",
    ];
    // aws-config ignores a value it cannot parse as a URL (and would go to AWS itself), and
    // the SDK fails on one it cannot send to; the services' own variables still point at
    // the sink, so a run that does not stop at the bad value reaches it.
    for (variable, bad) in [
        ("AWS_ENDPOINT_URL", "not a url"),
        ("AWS_ENDPOINT_URL", "localhost:4566"),
        ("AWS_ENDPOINT_URL_IAM", "iam:4566"),
    ] {
        let mut env = TEST_KEYS.to_vec();
        for service in [
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_EC2",
        ] {
            if service != variable {
                env.push((service, sink.as_str()));
            }
        }
        env.push((variable, bad));
        let run = common::rolecall_args(&args, &env).await;
        assert_one_line_error(&run, &format!("Error: {variable}: {bad:?} "));
        listener.set_nonblocking(true).unwrap();
        assert!(
            listener.accept().is_err(),
            "{variable}={bad}: a request was sent: {run:?}"
        );
    }
}
