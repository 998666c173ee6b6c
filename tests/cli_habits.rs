//! The habits kops and Terraform users bring (issue 16): `-y`, KOPS_LIFECYCLE_OVERRIDES, usage
//! errors that exit 1, credential errors that name their cause, colour as CLICOLOR says,
//! completions and man pages. Most fail before any AWS call and need no LocalStack; the
//! runs that plan or write use the shared one and check the account themselves.

use crate::common;

use std::path::Path;

use common::cluster::{Cluster, MUST_SPECIFY_YES, NO_CHANGES};
use common::spec::ClusterYaml;
use common::{
    iam_client, repo_root, role_exists, rolecall_args, rolecall_with_env, scratch_dir,
    unique_cluster, write_spec, Run, TEST_KEYS,
};

/// An endpoint nothing answers on: runs that must stop before any AWS call use it.
const NOWHERE: &str = "http://127.0.0.1:1";

fn example_spec() -> String {
    repo_root()
        .join("docs/examples/cluster.yaml")
        .display()
        .to_string()
}

/// rolecall with `args` and test credentials, against nothing.
async fn offline(args: &[&str]) -> Run {
    rolecall_args(args, &TEST_KEYS).await
}

/// Asserts a one-line error on stderr, exit 1 and nothing on stdout.
#[track_caller]
fn assert_one_line_error(run: &Run, starts: &str) {
    run.assert_code(1);
    assert!(run.stdout.is_empty(), "{run:?}");
    assert_eq!(run.stderr.lines().count(), 1, "{run:?}");
    assert!(run.stderr.starts_with(starts), "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_1_and_help_and_version_exit_0() {
    let spec = example_spec();
    let update = ["update", "-f", spec.as_str()];
    let usage_errors: Vec<Vec<&str>> = vec![
        vec![],
        vec!["nosuch"],
        vec!["--nosuch"],
        vec!["update"],
        vec!["update", "-f"],
        [&update[..], &["--nosuch"]].concat(),
        [&update[..], &["--fetch", "sometimes"]].concat(),
        [&update[..], &["--concurrency", "0"]].concat(),
        [&update[..], &["--endpoint-url", "not a url"]].concat(),
        [&update[..], &["--yes=maybe"]].concat(),
        vec!["annotations", "-f", &spec, "--account-id", "12"],
        vec!["completions"],
        vec!["completions", "tcsh"],
        vec!["man", "nosuch"],
    ];
    for args in &usage_errors {
        let run = offline(args).await;
        assert_eq!(run.code, 1, "rolecall {args:?}: {run:?}");
        assert!(!run.stderr.is_empty(), "rolecall {args:?}: {run:?}");
    }
    // A flag value a parser refused is one line naming the flag.
    let run = offline(&[&update[..], &["--endpoint-url", "not a url"]].concat()).await;
    assert_one_line_error(
        &run,
        "Error: --endpoint-url <URL>: \"not a url\" is not a URL",
    );
    let run = offline(&["man", "nosuch"]).await;
    assert_one_line_error(
        &run,
        "Error: [COMMAND]: \"nosuch\" is not a command of rolecall",
    );

    for args in [
        &["--help"][..],
        &["--version"],
        &["help"],
        &["help", "update"],
        &["update", "--help"],
        &["update", "-h"],
    ] {
        let run = offline(args).await;
        assert_eq!(run.code, 0, "rolecall {args:?}: {run:?}");
        assert!(!run.stdout.is_empty(), "rolecall {args:?}: {run:?}");
    }
    let help = offline(&["update", "--help"]).await;
    assert!(help.stdout.contains("-y, --yes"), "{help:?}");
    assert!(help.stdout.contains("KOPS_LIFECYCLE_OVERRIDES"), "{help:?}");
}

/// An AWS config and credentials file in a fresh directory: the credentials file holds a
/// profile with a key pair (`SECRET` is its secret key), the config file the profiles given.
fn profile_files(dir: &Path, config: &str) -> (String, String) {
    let credentials = write_spec(
        dir,
        "credentials",
        &format!(
            "[good]\naws_access_key_id = AKIAHABITSTESTKEYID\naws_secret_access_key = {SECRET}\n"
        ),
    );
    let config = write_spec(dir, "config", config);
    (
        credentials.display().to_string(),
        config.display().to_string(),
    )
}

const SECRET: &str = "habitsSecretKeyThatMustNeverBePrinted0000";

#[tokio::test(flavor = "multi_thread")]
async fn credential_errors_name_their_cause_in_one_line() {
    let dir = scratch_dir(&unique_cluster("credential-errors"));
    let (credentials, config) = profile_files(
        &dir,
        "[profile good]\n\n\
         [profile chained]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = missing\n\n\
         [profile sourceless]\nrole_arn = arn:aws:iam::123456789012:role/deploy\n",
    );
    let spec = example_spec();
    let cases = [
        (
            "nosuch",
            "Error: no AWS credentials found: profile `nosuch` was not defined",
        ),
        (
            "chained",
            "Error: no AWS credentials found: profile `missing` was not defined: could not find source profile missing referenced from chained",
        ),
        (
            "sourceless",
            "Error: AWS credentials could not be loaded: the credentials provider was not properly configured: ProfileFile provider could not be built: invalid credential source in `sourceless`: profile must contain `source_profile` or `credential_source` but neither were defined",
        ),
    ];
    for (profile, message) in cases {
        let env = [
            ("AWS_CONFIG_FILE", config.as_str()),
            ("AWS_SHARED_CREDENTIALS_FILE", credentials.as_str()),
            ("AWS_PROFILE", profile),
            ("AWS_REGION", "us-east-1"),
        ];
        let run = rolecall_with_env(NOWHERE, &["update", "-f", &spec], &env).await;
        assert_one_line_error(&run, message);
        assert!(
            run.stderr
                .trim_end()
                .ends_with("; check AWS_PROFILE and the AWS config and credentials files"),
            "{run:?}"
        );
        // The SDK's Debug forms (`CredentialsNotLoaded { source: Some(...) }`) are not shown.
        for debug in ["{", "Some(", "ProviderChainError"] {
            assert!(!run.stderr.contains(debug), "{debug}: {run:?}");
        }
        assert!(!run.stderr.contains(SECRET), "{run:?}");
        assert!(!run.stderr.contains("AKIAHABITSTESTKEYID"), "{run:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn override_mistakes_name_their_source_and_attachments_are_not_offered() {
    let spec = example_spec();
    let update = ["update", "-f", spec.as_str()];
    let mut env = TEST_KEYS.to_vec();
    env.push(("KOPS_LIFECYCLE_OVERRIDES", "IAMRole=sync"));
    let run = rolecall_with_env(NOWHERE, &update, &env).await;
    assert_one_line_error(
        &run,
        "Error: KOPS_LIFECYCLE_OVERRIDES: unknown lifecycle \"sync\" in \"IAMRole=sync\"",
    );

    let run = offline(&[&update[..], &["--lifecycle-overrides", "IAMUser=Ignore"]].concat()).await;
    assert_one_line_error(
        &run,
        "Error: --lifecycle-overrides: unknown type \"IAMUser\" in \"IAMUser=Ignore\"; valid types are IAMInstanceProfile, IAMInstanceProfileRole, IAMOIDCProvider, IAMRole, IAMRolePolicy\n",
    );
    let entry = "IAMRolePolicyAttachment=Ignore";
    let run = offline(&[&update[..], &["--lifecycle-overrides", entry]].concat()).await;
    assert_one_line_error(
        &run,
        "Error: --lifecycle-overrides: \"IAMRolePolicyAttachment=Ignore\": managed policy attachments follow their role's lifecycle",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kops_lifecycle_overrides_governs_writes_and_the_flag_wins() {
    let c = Cluster::new("kops-env", ClusterYaml::new).await;
    let nodes = c.role("nodes");
    let mut env = TEST_KEYS.to_vec();
    // White space between entries, as viper splits the variable, and a comma, as the flag.
    env.push((
        "KOPS_LIFECYCLE_OVERRIDES",
        "IAMRole=Ignore IAMRolePolicy=Ignore,IAMInstanceProfileRole=Ignore",
    ));
    let spec = c.spec_path.as_str();

    let first = rolecall_with_env(&c.proxy.endpoint, &["update", "-f", spec, "-y"], &env).await;
    first.assert_code(0);
    first.assert_stdout_has("Ignored (lifecycle Ignore: neither read nor written):\n");
    first.assert_stdout_has(&format!("  IAMRole/{nodes}\n"));
    assert_eq!(c.proxy.writes(), ["CreateInstanceProfile"; 3]);
    assert!(
        !role_exists(&nodes).await,
        "the variable's Ignore kept the role out"
    );
    let profile = iam_client()
        .await
        .get_instance_profile()
        .instance_profile_name(&nodes)
        .send()
        .await;
    assert!(
        profile.is_ok(),
        "the instance profile was made: {profile:?}"
    );

    // The flag, given, wins over the variable entirely.
    c.proxy.clear();
    let args = [
        "update",
        "-f",
        spec,
        "--lifecycle-overrides",
        "IAMInstanceProfile=Sync",
    ];
    let dry = rolecall_with_env(&c.proxy.endpoint, &args, &env).await;
    dry.assert_code(0);
    assert_eq!(dry.last_line(), MUST_SPECIFY_YES, "{dry:?}");
    dry.assert_stdout_has("Will create resources:\n");
    dry.assert_stdout_has(&format!("  IAMRole/{nodes}\n"));
    c.assert_no_writes();
    let args = [&args[..], &["-y"]].concat();
    rolecall_with_env(&c.proxy.endpoint, &args, &env)
        .await
        .assert_code(0);
    assert!(role_exists(&nodes).await);
    let again = rolecall_with_env(&c.proxy.endpoint, &args, &env).await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
}

/// rolecall with exactly `env` (the harness sets NO_COLOR for every run; these runs need
/// the colour variables alone), stdout and stderr piped.
async fn with_colour_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecall"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env(
            "HOME",
            std::env::temp_dir().join("rolecall-tests-empty-home"),
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .envs(TEST_KEYS)
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run rolecall");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn colour_follows_clicolor_force_and_no_color_through_a_pipe() {
    // A new cluster's dry run: its Access lines widen access, yellow when coloured.
    let c = Cluster::new("colour", ClusterYaml::new).await;
    let args = [
        "update",
        "-f",
        c.spec_path.as_str(),
        "--endpoint-url",
        c.proxy.endpoint.as_str(),
    ];
    const YELLOW: &str = "\x1b[33m";
    let piped = with_colour_env(&args, &[]).await;
    piped.assert_code(0);
    piped.assert_stdout_has("Access:\n");
    assert!(!piped.stdout.contains('\x1b'), "{piped:?}");

    let forced = with_colour_env(&args, &[("CLICOLOR_FORCE", "1")]).await;
    forced.assert_code(0);
    forced.assert_stdout_has(YELLOW);
    // Without the codes, the same text.
    assert_eq!(strip(&forced.stdout), piped.stdout);

    let no_color = with_colour_env(
        &[&args[..], &["--no-color"]].concat(),
        &[("CLICOLOR_FORCE", "1")],
    )
    .await;
    no_color.assert_code(0);
    assert_eq!(no_color.stdout, piped.stdout);

    let forced_logs =
        with_colour_env(&[&args[..], &["-v"]].concat(), &[("CLICOLOR_FORCE", "1")]).await;
    assert!(forced_logs.stderr.contains('\x1b'), "{forced_logs:?}");
    let plain_logs = with_colour_env(
        &[&args[..], &["-v", "--no-color"]].concat(),
        &[("CLICOLOR_FORCE", "1")],
    )
    .await;
    assert!(
        !plain_logs.stderr.is_empty() && !plain_logs.stderr.contains('\x1b'),
        "{plain_logs:?}"
    );
    c.assert_no_writes();

    // clap's own usage errors and help, printed before the flags are known, too.
    let force = [("CLICOLOR_FORCE", "1")];
    let usage = with_colour_env(&["update", "--nosuch"], &force).await;
    usage.assert_code(1);
    assert!(usage.stderr.contains('\x1b'), "{usage:?}");
    let usage = with_colour_env(&["update", "--nosuch", "--no-color"], &force).await;
    usage.assert_code(1);
    assert!(!usage.stderr.contains('\x1b'), "{usage:?}");
    let help = with_colour_env(&["update", "--help"], &force).await;
    assert!(help.stdout.contains('\x1b'), "{help:?}");
    let help = with_colour_env(&["--no-color", "update", "--help"], &force).await;
    help.assert_code(0);
    assert!(!help.stdout.contains('\x1b'), "{help:?}");
}

/// The text without its SGR escape sequences.
fn strip(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("\x1b[") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('m').expect("an SGR sequence ends in m");
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_man_pages_name_the_commands_and_flags() {
    let bash = offline(&["completions", "bash"]).await;
    bash.assert_code(0);
    assert!(bash.stdout.starts_with("_rolecall() {"), "{bash:?}");
    for command in ["update", "annotations", "completions", "man"] {
        bash.assert_stdout_has(&format!("cmd=\"rolecall__subcmd__{command}\""));
    }
    for flag in [
        "--filename",
        "--yes",
        "-y",
        "--lifecycle-overrides",
        "--detailed-exitcode",
        "--no-color",
    ] {
        bash.assert_stdout_has(&format!(" {flag} "));
    }
    bash.assert_stdout_has("complete -F _rolecall");
    for (shell, marker) in [
        ("zsh", "#compdef rolecall"),
        ("fish", "complete -c rolecall"),
    ] {
        let run = offline(&["completions", shell]).await;
        run.assert_code(0);
        run.assert_stdout_has(marker);
    }

    let top = offline(&["man"]).await;
    top.assert_code(0);
    top.assert_stdout_has(".TH rolecall 1");
    top.assert_stdout_has("rolecall\\-update(1)");
    let update = offline(&["man", "update"]).await;
    update.assert_code(0);
    update.assert_stdout_has(".TH rolecall-update 1");
    update.assert_stdout_has("\\-\\-lifecycle\\-overrides");
    update.assert_stdout_has("KOPS_LIFECYCLE_OVERRIDES");
}
