//! The command line: parse flags, run spec -> desired -> fetch -> plan -> render/apply, and
//! map the outcome to an exit code.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::cloud::{Cloud, ConnectOptions};
use crate::model::ActualState;
use crate::render::{self, Style};
use crate::{apply, build, lifecycle, plan, rolling, spec};

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;

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
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Per-type or per-object lifecycles, in kops's syntax:
    /// `IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy/additional.nodes.example.com=Ignore`.
    /// Lifecycles: Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates,
    /// ExistsAndWarnIfChanges.
    #[arg(long, value_name = "OVERRIDES")]
    pub lifecycle_overrides: Vec<String>,

    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

/// Runs the command and returns the process's exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Update(args) => update(args).await,
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
    // Everything the input can get wrong is found before the first AWS call.
    let cluster = match spec::load_files(&args.files) {
        Ok(c) => c,
        Err(errors) => return fail_all(&errors),
    };
    let mut desired = match build::desired_state(&cluster) {
        Ok(d) => d,
        Err(errors) => return fail_all(&errors),
    };
    let overrides = match lifecycle::parse_overrides(&args.lifecycle_overrides) {
        Ok(o) => o,
        Err(e) => return fail(e),
    };
    let cloud = match Cloud::connect(&ConnectOptions {
        endpoint_url: args.endpoint_url.clone(),
        fallback_region: cluster.region.clone(),
        cluster_region: cluster.region.clone(),
        concurrency: args.concurrency.into(),
    })
    .await
    {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    // The role in an instance profile the spec names is known only once the profile is read;
    // object overrides can name it, so they are checked after this read and before any write.
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
    if let Err(e) = lifecycle::apply_overrides(&mut desired, &overrides) {
        return fail(e);
    }
    let actual = match cloud.fetch(&desired, known).await {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    let plan = plan::plan(&desired, &actual);
    tracing::debug!(calls = ?cloud.call_counts(), "read the account");

    let style = style();
    let stale = stale_instances(&cloud, &cluster).await;
    let mut stdout = std::io::stdout();
    if !args.yes || !plan.has_changes() || !plan.errors.is_empty() {
        let _ = write!(stdout, "{}{stale}", render::render_changes(&plan, style));
        let _ = writeln!(stdout, "{}", render::closing_line(&plan));
        return if plan.errors.is_empty() {
            EXIT_OK
        } else {
            EXIT_ERROR
        };
    }

    let _ = write!(stdout, "{}{stale}", render::render_changes(&plan, style));
    let report = apply::apply(&cloud, &plan, &mut stdout).await;
    tracing::debug!(calls = ?cloud.call_counts(), "applied");
    if report.succeeded() {
        let _ = writeln!(stdout, "\nApplied {} changes.", report.applied.len());
        EXIT_OK
    } else {
        eprintln!(
            "\nError: stopped after {} failed change(s): {} applied, {} not attempted. Fix the cause and run again; the next run finishes the rest.",
            report.failed.len(),
            report.applied.len(),
            report.not_started.len()
        );
        EXIT_ERROR
    }
}

/// The section on instances to roll. Listing them needs EC2 read access, which an IAM-only
/// role may lack: then it is a warning, not a failure.
async fn stale_instances(cloud: &Cloud, cluster: &spec::ClusterSpec) -> String {
    match cloud.cluster_instances(&cluster.name).await {
        Ok(instances) => rolling::render(&rolling::stale_instances(cluster, &instances)),
        Err(e) => {
            tracing::warn!("could not list the cluster's instances to find those that need a rolling update: {e}");
            String::new()
        }
    }
}

fn fail_all(errors: &spec::InputErrors) -> i32 {
    for e in &errors.0 {
        eprintln!("Error: {e}");
    }
    EXIT_ERROR
}
