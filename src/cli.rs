//! The command line: parse flags, run spec -> desired -> fetch -> plan -> render/apply, and
//! map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::cloud::{Cloud, ConnectOptions, FetchStrategy};
use crate::desired::pod_roles::{PodContext, PodRoleSummary};
use crate::model::{ActualState, DesiredState};
use crate::render::{self, Style};
use crate::spec::InstanceRole;
use crate::{apply, desired, lifecycle, lint, plan, policy, rolling, spec};

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
/// With --detailed-exitcode: changes or drift pending.
pub const EXIT_PENDING: i32 = 2;

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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show what would change in IAM for the cluster, or change it with --yes.
    Update(UpdateArgs),
    /// Print the Kubernetes annotations for the spec's pod roles, as YAML for kubectl apply.
    Annotations(AnnotationsArgs),
}

#[derive(Debug, Args)]
pub struct AnnotationsArgs {
    /// The kops cluster spec, as for update.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

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
    /// file or several files.
    #[arg(short = 'f', long = "filename", required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,

    /// Apply the changes. Without it, nothing is written.
    #[arg(long)]
    pub yes: bool,

    /// Send AWS requests to this endpoint (for example LocalStack). AWS_ENDPOINT_URL
    /// works too.
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,

    /// Per-type or per-object lifecycles, in kops's syntax:
    /// `IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy/additional.nodes.example.com=Ignore`.
    /// Lifecycles: Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates,
    /// ExistsAndWarnIfChanges.
    #[arg(long, value_name = "OVERRIDES")]
    pub lifecycle_overrides: Vec<String>,

    /// How to read the account: per-object (a few calls per role), bulk
    /// (GetAccountAuthorizationDetails, a page per 1,000 roles), or auto, the one with
    /// fewer calls for this spec.
    #[arg(long, value_enum, default_value_t = FetchStrategy::Auto)]
    pub fetch: FetchStrategy,

    /// How to print the plan: text, or one JSON document (schema in docs/plan-json.md).
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    /// Exit 0 when nothing is left to do, 2 when changes or drift are pending, 1 on errors,
    /// as `terraform plan -detailed-exitcode`.
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Make the security lint's findings errors (nothing is applied), except on the
    /// policies kops itself generates.
    #[arg(long)]
    pub strict: bool,

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
    /// the connection or times out; then the run stops and says what is left.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: u32,
}

/// Runs the command and returns the process's exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Update(args) => update(args).await,
        Command::Annotations(args) => annotations(args).await,
    }
}

fn style() -> Style {
    Style {
        color: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
    }
}

fn fail(message: impl std::fmt::Display) -> i32 {
    eprintln!("Error: {message}");
    EXIT_ERROR
}

async fn update(args: UpdateArgs) -> i32 {
    let calls_json = args.calls_json.clone();
    let mut connected = None;
    let code = run_update(args, &mut connected).await;
    if let (Some(path), Some(cloud)) = (calls_json, connected) {
        let counts = serde_json::to_string_pretty(&cloud.call_counts()).expect("counts serialise");
        if let Err(e) = std::fs::write(&path, counts) {
            eprintln!("Error: cannot write {}: {e}", path.display());
            return EXIT_ERROR;
        }
    }
    code
}

async fn run_update(args: UpdateArgs, connected: &mut Option<Cloud>) -> i32 {
    // Everything the input can get wrong is found before the first AWS call.
    let cluster = match spec::load_files(&args.files) {
        Ok(c) => c,
        Err(errors) => return fail_all(&errors),
    };
    let mut desired = match desired::desired_state(&cluster) {
        Ok(d) => d,
        Err(errors) => return fail_all(&errors),
    };
    if let Err(errors) = check_pod_roles(&cluster) {
        return fail_all(&errors);
    }
    let overrides = match lifecycle::parse_overrides(&args.lifecycle_overrides) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let options = ConnectOptions {
        concurrency: args.concurrency.into(),
        consistency_timeout: Duration::from_secs(args.consistency_timeout),
        attempt_timeout: Duration::from_secs(args.attempt_timeout),
        max_attempts: args.max_attempts,
        ..ConnectOptions::default()
    };
    let cloud = match connect(args.endpoint_url.clone(), &cluster, options).await {
        Ok(c) => c,
        Err(code) => return code,
    };
    *connected = Some(cloud.clone());
    // The role in an instance profile the spec names is known only once the profile is read;
    // pod roles trust it and object overrides can name it, so both come after this read, and
    // before any write.
    let mut known = ActualState::default();
    match cloud.read_external_profiles(&desired).await {
        Ok(profiles) => {
            for (profile, found) in profiles {
                desired.adopt_external_profile(&profile, found.roles.first().map(String::as_str));
                known.instance_profiles.insert(found.name.clone(), found);
            }
        }
        Err(e) => return fail(e),
    }
    let pods = match add_pod_roles(&cloud, &cluster, &mut desired, true).await {
        Ok(summary) => summary,
        Err(message) => return fail(message),
    };
    if let Err(e) = lifecycle::apply_overrides(&mut desired, &overrides) {
        return fail(e);
    }
    // The spec's own documents were checked as it was read; this also covers what rolecall
    // generates, so that IAM never refuses a document half-way through an apply.
    let invalid = policy::grammar::check_desired(&desired);
    if !invalid.is_empty() {
        for (id, e) in &invalid {
            eprintln!("Error: {id}: {e}");
        }
        return EXIT_ERROR;
    }
    // The instances to roll depend on the spec alone: list them while the account is read.
    let (actual, stale) = tokio::join!(
        cloud.fetch(&desired, known, args.fetch),
        stale_instances(&cloud, &cluster)
    );
    let actual = match actual {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let mut plan = plan::plan(&desired, &actual);
    let kops_policies = InstanceRole::ALL
        .map(|r| desired::iam_name(r, &cluster.name))
        .into_iter()
        .collect();
    lint::add_to_plan(&mut plan, lint::lint(&desired), args.strict, &kops_policies);
    tracing::debug!(calls = ?cloud.call_counts(), "read the account");

    let json = args.output == OutputFormat::Json;
    let mut stdout = std::io::stdout();
    if !json {
        let _ = write!(
            stdout,
            "{}{}{}",
            render::render_changes(&plan, style()),
            render::pod_role_notes(&pods),
            rolling::render(&stale)
        );
    }
    let apply_now = args.yes && plan.has_changes() && plan.errors.is_empty();
    let report = if apply_now {
        let terminal = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        // In JSON mode stdout carries only the document; the progress lines go to stderr.
        let mut stderr = std::io::stderr();
        let out: &mut dyn Write = if json { &mut stderr } else { &mut stdout };
        let report = apply::apply(&cloud, &plan, out, terminal && !json).await;
        tracing::debug!(calls = ?cloud.call_counts(), "applied");
        Some(report)
    } else {
        None
    };

    if json {
        let doc = render::json::plan_document(&cluster.name, &plan, &pods, &stale, report.as_ref());
        let _ = writeln!(
            stdout,
            "{}",
            serde_json::to_string_pretty(&doc).expect("JSON serialises")
        );
    } else {
        match &report {
            None => {
                let _ = writeln!(stdout, "{}", render::closing_line(&plan));
            }
            Some(r) if r.succeeded() => {
                let _ = writeln!(stdout, "\nApplied {} changes.", r.applied.len());
            }
            Some(_) => {}
        }
    }
    if let Some(r) = report.as_ref().filter(|r| !r.succeeded()) {
        eprintln!(
            "\nError: stopped after {} failed change(s): {} applied, {} not attempted. Fix the cause and run again; the next run finishes the rest.",
            r.failed.len(),
            r.applied.len(),
            r.not_started.len()
        );
    }
    exit_code(&plan, report.as_ref(), args.detailed_exitcode)
}

/// 1 for errors; with --detailed-exitcode, as `terraform plan -detailed-exitcode`, 2 when
/// something is left to do: changes not applied, or drift rolecall may not fix.
fn exit_code(plan: &plan::Plan, report: Option<&apply::ApplyReport>, detailed: bool) -> i32 {
    if !plan.errors.is_empty() || report.is_some_and(|r| !r.succeeded()) {
        return EXIT_ERROR;
    }
    let pending = (plan.has_changes() && report.is_none()) || !plan.drift.is_empty();
    if detailed && pending {
        EXIT_PENDING
    } else {
        EXIT_OK
    }
}

async fn annotations(args: AnnotationsArgs) -> i32 {
    let cluster = match spec::load_files(&args.files) {
        Ok(c) => c,
        Err(errors) => return fail_all(&errors),
    };
    let mut desired = match desired::desired_state(&cluster) {
        Ok(d) => d,
        Err(errors) => return fail_all(&errors),
    };
    if let Err(errors) = check_pod_roles(&cluster) {
        return fail_all(&errors);
    }
    let summary = match &args.account_id {
        // With the account given, no AWS call is needed: the ARNs follow from the names.
        Some(account) => {
            let context = placeholder_context(&cluster, account);
            match desired::pod_roles::add_pod_roles(&cluster, &context, &mut desired) {
                Ok(s) => s,
                Err(errors) => return fail_all(&errors),
            }
        }
        None => {
            let options = ConnectOptions {
                concurrency: 4,
                ..ConnectOptions::default()
            };
            let cloud = match connect(args.endpoint_url.clone(), &cluster, options).await {
                Ok(c) => c,
                Err(code) => return code,
            };
            match add_pod_roles(&cloud, &cluster, &mut desired, false).await {
                Ok(s) => s,
                Err(message) => return fail(message),
            }
        }
    };
    print!("{}", crate::annotations::render(&summary));
    EXIT_OK
}

async fn connect(
    endpoint_url: Option<String>,
    cluster: &spec::ClusterSpec,
    options: ConnectOptions,
) -> Result<Cloud, i32> {
    Cloud::connect(&ConnectOptions {
        endpoint_url,
        fallback_region: cluster.region.clone(),
        cluster_region: cluster.region.clone(),
        ..options
    })
    .await
    .map_err(fail)
}

/// A context for checking the pod roles without AWS: the spec's own names and a stand-in
/// account (or the one given), so that input errors surface before any call.
fn placeholder_context(cluster: &spec::ClusterSpec, account: &str) -> PodContext {
    let partition = desired::partition_for_region(cluster.region.as_deref());
    let roles = |role: InstanceRole| vec![(desired::iam_name(role, &cluster.name), true)];
    PodContext {
        account_id: account.to_string(),
        arn_prefix: partition.arn_prefix.to_string(),
        node_roles: roles(InstanceRole::Node),
        master_roles: roles(InstanceRole::Master),
    }
}

fn check_pod_roles(cluster: &spec::ClusterSpec) -> Result<(), spec::InputErrors> {
    let context = placeholder_context(cluster, "000000000000");
    desired::pod_roles::add_pod_roles(cluster, &context, &mut DesiredState::default()).map(drop)
}

/// Adds the pod roles with the real account and the roles the nodes and masters really run
/// with: rolecall's own, those found in the instance profiles the spec names, or, when the
/// spec has no such group, those of the cluster's running instances. The annotations need
/// only the account, so `resolve_roles` is false there.
async fn add_pod_roles(
    cloud: &Cloud,
    cluster: &spec::ClusterSpec,
    desired: &mut DesiredState,
    resolve_roles: bool,
) -> Result<PodRoleSummary, String> {
    let has_pod_roles =
        cluster.pod_identity.is_some() || !cluster.service_account_permissions.is_empty();
    let mut context = placeholder_context(cluster, "");
    if has_pod_roles {
        context.account_id = cloud.account_id().await.map_err(|e| e.to_string())?;
    }
    if resolve_roles {
        context.node_roles =
            roles_of(cloud, cluster, desired, InstanceRole::Node, has_pod_roles).await?;
        context.master_roles =
            roles_of(cloud, cluster, desired, InstanceRole::Master, has_pod_roles).await?;
    }
    desired::pod_roles::add_pod_roles(cluster, &context, desired).map_err(|e| e.to_string())
}

async fn roles_of(
    cloud: &Cloud,
    cluster: &spec::ClusterSpec,
    desired: &DesiredState,
    role: InstanceRole,
    needed: bool,
) -> Result<Vec<(String, bool)>, String> {
    let mut roles = Vec::new();
    if cluster
        .instance_groups
        .iter()
        .any(|ig| ig.role == role && ig.profile.is_none())
    {
        roles.push((desired::iam_name(role, &cluster.name), true));
    }
    for profile in desired
        .external_profiles
        .iter()
        .filter(|p| p.role_kind == role.iam_prefix())
    {
        if let Some(link) = desired
            .profile_roles
            .iter()
            .find(|l| l.profile == profile.name)
        {
            roles.push((link.role.clone(), false));
        }
    }
    let in_spec = cluster.instance_groups.iter().any(|ig| ig.role == role);
    if roles.is_empty() && needed && !in_spec {
        let kind = if role == InstanceRole::Master {
            "master"
        } else {
            "node"
        };
        let found = cloud
            .roles_of_running_instances(&cluster.name, kind)
            .await
            .map_err(|e| e.to_string())?;
        roles.extend(found.into_iter().map(|r| (r, false)));
    }
    Ok(roles)
}

/// The instances to roll. Listing them needs EC2 read access, which an IAM-only role may
/// lack: then it is a warning, not a failure.
async fn stale_instances(
    cloud: &Cloud,
    cluster: &spec::ClusterSpec,
) -> Vec<rolling::StaleInstance> {
    match cloud.cluster_instances(&cluster.name).await {
        Ok(instances) => rolling::stale_instances(cluster, &instances),
        Err(e) => {
            tracing::warn!("could not list the cluster's instances to find those that need a rolling update: {e}");
            Vec::new()
        }
    }
}

fn fail_all(errors: &spec::InputErrors) -> i32 {
    for e in &errors.0 {
        eprintln!("Error: {e}");
    }
    EXIT_ERROR
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

/// `--endpoint-url`: an absolute http:// or https:// URL with a host, checked here so that a
/// bad one is a one-line usage error rather than a failed request.
fn endpoint_url(value: &str) -> Result<String, String> {
    Cloud::check_endpoint_url(value).map(|()| value.to_string())
}

#[cfg(test)]
mod argument_tests {
    use super::*;

    #[test]
    fn account_ids_are_twelve_digits() {
        assert_eq!(account_id("123456789012").as_deref(), Ok("123456789012"));
        for bad in [
            "12345678901",
            "1234567890123",
            "12345678901a",
            "１23456789012",
            "",
        ] {
            assert!(account_id(bad).is_err(), "{bad}");
        }
        let injected = account_id("123456789012\n---\nkind: Secret").unwrap_err();
        assert!(!injected.contains('\n'), "{injected}");
    }

    #[test]
    fn endpoint_urls_are_absolute_http_urls_with_a_host() {
        for good in [
            "http://localhost:4566",
            "https://iam.amazonaws.com",
            "http://127.0.0.1:4566/",
            "http://[::1]:4566",
            "https://[::1]",
            "https://proxy.example/aws?x=1",
        ] {
            assert_eq!(endpoint_url(good).as_deref(), Ok(good));
        }
        for bad in [
            "not a url",
            "localhost:4566",
            "ftp://localhost",
            "http://",
            "http:///path",
            "http://localhost:99999",
            "http://localhost:port",
            "http://localhost:",
            "/relative",
            "",
            "http://x\nkind: Secret",
        ] {
            let err = endpoint_url(bad).unwrap_err();
            assert!(err.starts_with(&format!("{bad:?} ")), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
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
