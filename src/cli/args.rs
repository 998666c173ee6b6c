//! The flags (clap) and their checks: every value is checked as it is parsed, so that a bad
//! one is a one-line usage error before anything runs.

use std::path::PathBuf;
use std::time::Duration;

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Args, Parser, Subcommand};

use super::EXIT_ERROR;
use crate::cloud::{Cloud, ConnectOptions, FetchStrategy};
use crate::spec::Generation;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// kops-style sections for people.
    Text,
    /// One JSON document (schema: docs/plan-json.md).
    Json,
}

#[derive(Debug, Parser)]
#[command(
    name = "rolecall",
    version,
    about = "Reconciles the IAM of kops clusters with an AWS account"
)]
pub struct Cli {
    /// More log output on stderr (-v: rolecall's debug logs, -vv: the AWS SDK's too).
    /// RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// No colour, even on a terminal or with CLICOLOR_FORCE. Without it, colour follows
    /// NO_COLOR, CLICOLOR and CLICOLOR_FORCE, and is on only on a terminal.
    #[arg(long, global = true)]
    pub no_color: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change in IAM for the cluster, or change it with --yes.
    Update(UpdateArgs),
    /// Print the Kubernetes annotations for the spec's pod roles, as YAML for kubectl apply.
    Annotations(AnnotationsArgs),
    /// Apply a plan saved by `update --out`, exactly, if nothing it touches has changed.
    Apply(super::plan_args::ApplyArgs),
    /// Print a plan saved by `update --out`, as text or JSON.
    Show(super::plan_args::ShowArgs),
    /// Show what deleting the cluster's IAM would delete (only what its tags prove it owns),
    /// or delete it with --yes.
    Delete(DeleteArgs),
    /// Print the shell completion script for bash, zsh, fish, elvish or powershell.
    Completions(CompletionsArgs),
    /// Print the man page of rolecall, or of one of its commands, as roff.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell the script is for.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (rolecall-COMMAND(1)); without it, rolecall(1).
    #[arg(value_name = "COMMAND", value_parser = command_name)]
    pub command: Option<String>,
}

#[derive(Debug, Args)]
pub struct AnnotationsArgs {
    /// The kops cluster spec, as for update.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Which kops release's IAM to build: 1.10 or 1.36. Without it, the spec must tell
    /// (its kubernetesVersion, legacy IAM, or fields of later releases); see
    /// docs/kops-versions.md.
    #[arg(long, value_name = "VERSION", value_parser = kops_version)]
    pub kops_version: Option<Generation>,

    /// The AWS account id the roles live in. Without it, STS GetCallerIdentity asks.
    #[arg(long, value_name = "ID", value_parser = account_id)]
    pub account_id: Option<String>,

    /// Send AWS requests to this endpoint. AWS_ENDPOINT_URL works too.
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The kops cluster spec: a Cluster and its InstanceGroups, in one multi-document
    /// file or several files, YAML or JSON (as `kops get <cluster> -o yaml` or `-o json`
    /// prints them); `-` reads standard input.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Which kops release's IAM to build: 1.10 or 1.36. Without it, the spec must tell
    /// (its kubernetesVersion, legacy IAM, or fields of later releases); see
    /// docs/kops-versions.md.
    #[arg(long, value_name = "VERSION", value_parser = kops_version)]
    pub kops_version: Option<Generation>,

    /// Apply the changes. Without it, nothing is written.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Save the plan to this file, for `rolecall apply PLAN` (docs/saved-plans.md). Nothing
    /// is written to AWS; not with --yes.
    #[arg(long, value_name = "PLAN", conflicts_with = "yes")]
    pub out: Option<PathBuf>,

    /// Send AWS requests to this endpoint (for example LocalStack). AWS_ENDPOINT_URL
    /// works too.
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,

    /// Per-type or per-object lifecycles, in kops's syntax:
    /// `IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy/additional.nodes.example.com=Ignore`.
    /// Lifecycles: Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates,
    /// ExistsAndWarnIfChanges. Without the flag, KOPS_LIFECYCLE_OVERRIDES is read, as kops
    /// binds it; the flag, when given, wins.
    #[arg(long, value_name = "OVERRIDES")]
    pub lifecycle_overrides: Vec<String>,

    /// How to read the account: per-object (a few calls per role), bulk
    /// (GetAccountAuthorizationDetails, a page per 1,000 roles), or auto, the one with
    /// fewer calls for this spec.
    #[arg(long, value_enum, default_value_t = FetchStrategy::Auto)]
    pub fetch: FetchStrategy,

    /// Delete inline policies the spec does not name from the instance groups' roles
    /// (masters, nodes, bastions, apiservers), as Terraform's
    /// aws_iam_role_policies_exclusive does. Without it they are only reported as drift.
    /// Owned pod roles' extra inline policies are always deleted.
    #[arg(long)]
    pub remove_extra_inline_policies: bool,

    /// How to print the plan: text, or one JSON document (schema in docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Exit 0 when nothing is left to do, 2 when changes or drift are pending, 1 on errors,
    /// as `terraform plan -detailed-exitcode`.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Make the lint's findings (security patterns, unknown actions) errors (nothing is
    /// applied), except on the policies kops itself generates.
    #[arg(long)]
    pub strict: bool,

    /// Refuse a plan that may grant any access it did not (exit 1, nothing written), and
    /// name the changes that widen it: a CI gate like Access Analyzer's CheckNoNewAccess,
    /// offline. See docs/access.md.
    #[arg(long)]
    pub deny_new_access: bool,

    /// The ID of the cluster's Route53 hosted zone (`Z1D633PJN98FT9` or
    /// `/hostedzone/Z1D633PJN98FT9`), used instead of spec.dnsZone and without looking the
    /// zone up in Route53. Gossip clusters (`.k8s.local`) have no zone and ignore it.
    #[arg(long, value_name = "ID", value_parser = dns_zone_id)]
    pub dns_zone_id: Option<String>,

    #[command(flatten)]
    pub calls: CallArgs,
}

/// How to call AWS: the flags `update`, `delete` and `apply` share.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// Write the AWS calls made, by operation, to this file as JSON when rolecall exits.
    #[arg(long, value_name = "FILE")]
    pub calls_json: Option<PathBuf>,

    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// How many seconds one operation may wait for IAM's eventual consistency (a role just
    /// created not yet accepted as a principal, or not yet visible).
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub consistency_timeout: u64,

    /// How many seconds one AWS request may take before it is abandoned and retried.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub attempt_timeout: u64,

    /// Attempts per AWS call, the first included, when IAM throttles, fails with a 5xx, resets
    /// the connection or times out; then the run stops and says what is left. Default:
    /// AWS_MAX_ATTEMPTS, or 8.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
}

impl CallArgs {
    /// The connection's limits and timeouts, from the flags.
    pub fn connect_options(&self) -> ConnectOptions {
        ConnectOptions {
            concurrency: self.concurrency.into(),
            consistency_timeout: Duration::from_secs(self.consistency_timeout),
            attempt_timeout: Duration::from_secs(self.attempt_timeout),
            max_attempts: self.max_attempts,
            ..ConnectOptions::default()
        }
    }
}
/// `delete`: the flags of `update` that mean something for a teardown.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    /// The kops cluster spec, as for update: it names what the cluster has.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Which kops release's IAM the cluster has: 1.10 or 1.36, as for update.
    #[arg(long, value_name = "VERSION", value_parser = kops_version)]
    pub kops_version: Option<Generation>,

    /// Delete. Without it, nothing is written.
    #[arg(short = 'y', long)]
    pub yes: bool,

    /// Send AWS requests to this endpoint (for example LocalStack). AWS_ENDPOINT_URL
    /// works too.
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,

    /// Per-type or per-object lifecycles, as for update: an object whose lifecycle does not
    /// write (`IAMRole/bastions.example.com=Ignore`) is not deleted, nor what it holds.
    #[arg(long, value_name = "OVERRIDES")]
    pub lifecycle_overrides: Vec<String>,

    /// How to read the account: per-object, bulk or auto, as for update.
    #[arg(long, value_enum, default_value_t = FetchStrategy::Auto)]
    pub fetch: FetchStrategy,

    /// How to print the plan: text, or one JSON document (schema in docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Exit 0 when nothing is left to delete, 2 when deletions are pending, 1 on errors.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// The ID of the cluster's Route53 hosted zone, as for update.
    #[arg(long, value_name = "ID", value_parser = dns_zone_id)]
    pub dns_zone_id: Option<String>,

    #[command(flatten)]
    pub calls: CallArgs,
}

impl Cli {
    /// The flags of this process, or the process ends: help and version go to stdout as clap
    /// prints them. A usage error exits 1 like every other bad input: clap's own 2 would read
    /// as "changes pending" under --detailed-exitcode. A value a flag's parser refused is one
    /// line naming the flag, with the parser's reason (which shows the value escaped, so
    /// that it cannot break the line).
    pub fn parse_or_exit() -> Cli {
        // clap prints help and usage errors before the flags are known: `--no-color`
        // anywhere on the line turns their colour off too (clap asks anstream).
        if std::env::args_os().any(|arg| arg == "--no-color") {
            anstream::ColorChoice::Never.write_global();
        }
        Cli::try_parse().unwrap_or_else(|e| usage_error(&e))
    }
}

fn usage_error(e: &clap::Error) -> ! {
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        e.exit();
    }
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(flag)) => Some(flag),
        _ => None,
    };
    match (e.kind(), flag, std::error::Error::source(e)) {
        (ErrorKind::ValueValidation, Some(flag), Some(reason)) => {
            eprintln!("Error: {flag}: {reason}");
        }
        _ => {
            let _ = e.print();
        }
    }
    std::process::exit(EXIT_ERROR);
}

/// `man COMMAND`: one of rolecall's commands.
fn command_name(value: &str) -> Result<String, String> {
    let names = super::generate::command_names();
    if names.iter().any(|n| n == value) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not a command of rolecall; the commands are {}",
            names.join(", ")
        ))
    }
}

/// `--account-id`: exactly twelve ASCII digits, as AWS writes account ids in ARNs.
fn account_id(value: &str) -> Result<String, String> {
    if value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit()) {
        Ok(value.to_string())
    } else {
        Err(format!(
            "{value:?} is not an AWS account id: 12 digits such as 123456789012"
        ))
    }
}

/// `--dns-zone-id`: an ID as kops reads one in `spec.dnsZone` (no `.`, `/hostedzone/`
/// allowed before it), kept as given.
fn dns_zone_id(value: &str) -> Result<String, String> {
    let plain = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'/');
    match crate::desired::dns_zone::zone_id(value) {
        Some(id) if plain && !id.contains('/') => Ok(value.to_string()),
        _ => Err(format!(
            "{value:?} is not a hosted zone ID: letters and digits such as Z1D633PJN98FT9, \
             optionally after /hostedzone/ (a zone name goes in spec.dnsZone)"
        )),
    }
}

/// `--endpoint-url`: an absolute http:// or https:// URL with a host, checked here so that a
/// bad one is a one-line usage error rather than a failed request.
pub(super) fn endpoint_url(value: &str) -> Result<String, String> {
    Cloud::check_endpoint_url(value).map(|()| value.to_string())
}

/// `--kops-version`: a generation rolecall builds.
fn kops_version(s: &str) -> Result<Generation, String> {
    Generation::from_version(s.trim_start_matches('v'))
        .ok_or_else(|| format!("rolecall builds the IAM of kops 1.10 or 1.36, not {s:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_accepted(account_id, &["123456789012"]);
        let bad = [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１23456789012",
            "",
        ];
        assert_refused(account_id, &bad);
        assert_refused(account_id, &["123456789012\n---\nkind: Secret"]);
    }

    #[test]
    fn endpoint_urls_are_absolute_http_urls_with_a_host() {
        let good = [
            "http://localhost:4566",
            "https://iam.amazonaws.com",
            "http://127.0.0.1:4566/",
            "http://[::1]:4566",
            "https://[::1]",
            "https://proxy.example/aws?x=1",
        ];
        assert_accepted(endpoint_url, &good);
        let not_urls = ["not a url", "localhost:4566", "/relative", ""];
        let bad_urls = [
            "ftp://localhost",
            "http://",
            "http:///path",
            "http://localhost:",
        ];
        let bad_ports = ["http://localhost:99999", "http://localhost:port"];
        for bad in [
            &not_urls[..],
            &bad_urls,
            &bad_ports,
            &["http://x\nkind: Secret"],
        ] {
            assert_refused(endpoint_url, bad);
        }
    }

    /// Each value is accepted, as it is.
    fn assert_accepted(parser: fn(&str) -> Result<String, String>, values: &[&str]) {
        for value in values {
            assert_eq!(parser(value).as_deref(), Ok(*value));
        }
    }

    /// Each value is refused with a reason on one line that starts with the value, escaped,
    /// so that the usage error cannot be made to print more lines.
    fn assert_refused(parser: fn(&str) -> Result<String, String>, values: &[&str]) {
        for value in values {
            let reason = parser(value).unwrap_err();
            assert!(reason.starts_with(&format!("{value:?} ")), "{reason}");
            assert!(!reason.contains('\n'), "{reason}");
        }
    }

    #[test]
    fn dns_zone_ids_are_ids_not_names() {
        assert_accepted(
            dns_zone_id,
            &[
                "Z1D633PJN98FT9",
                "/hostedzone/Z1D633PJN98FT9",
                "hostedzone/0ABC",
            ],
        );
        assert_refused(
            dns_zone_id,
            &[
                "example.com",
                "/hostedzone/",
                "",
                "Z1/Z2",
                "Z1 Z2",
                "Z1\nkind: Secret",
            ],
        );
    }

    #[test]
    fn flags_are_checked_when_parsed() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).map(|_| ());
        let annotations = ["rolecall", "annotations", "-f", "c.yaml"];
        assert!(parse(&[&annotations[..], &["--account-id", "123456789012"]].concat()).is_ok());
        let err =
            parse(&[&annotations[..], &["--account-id", "1\nkind: Secret"]].concat()).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        for command in [&annotations[..], &["rolecall", "update", "-f", "c.yaml"]] {
            assert!(
                parse(&[command, &["--endpoint-url", "http://localhost:4566"]].concat()).is_ok()
            );
            let err = parse(&[command, &["--endpoint-url", "not a url"]].concat()).unwrap_err();
            assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
        }
    }
}
