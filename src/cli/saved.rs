//! The commands of saved plans (docs/saved-plans.md): `update --out PLAN` writes the plan
//! and nothing to AWS; `apply PLAN` applies exactly its changes once it has checked that the
//! spec, the account and every object they touch are as they were; `show PLAN` prints it.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::ValueEnum;

use super::plan_args::{ApplyArgs, ShowArgs};
use super::{exit_code, fail, write_calls_json, OutputFormat, UpdateArgs, EXIT_OK};
use crate::apply::apply;
use crate::cloud::Cloud;
use crate::error::Error;
use crate::reconcile::Outcome;
use crate::render::{self, Style};
use crate::saved_plan::fingerprint::{self, Fingerprinted};
use crate::saved_plan::touched::touched;
use crate::saved_plan::{
    endpoint_without_userinfo, saved_changes, sha256_hex, PlanSettings, Refusal, SavedPlan,
    SpecFile, FORMAT_VERSION, ROLECALL_VERSION,
};
use crate::spec::STDIN_ARG;

/// The spec files' digests, taken before the spec is read: if a file changes in between,
/// the plan is of the newer bytes, the digest of the older, and `apply` refuses.
pub(super) fn spec_digests(files: &[PathBuf]) -> Result<Vec<SpecFile>, Error> {
    files
        .iter()
        .map(|path| {
            if path.as_os_str() == STDIN_ARG {
                return Err(Refusal::StdinSpec.into());
            }
            // A file that cannot be read is the spec loader's error to report.
            let bytes = std::fs::read(path).unwrap_or_default();
            Ok(SpecFile {
                path: path.display().to_string(),
                sha256: sha256_hex(&bytes),
            })
        })
        .collect()
}

/// `update --out PLAN`, once the plan is printed: reads what its changes touch, writes the
/// file, and ends as a dry run does, naming the file. A plan with errors is not saved.
pub(super) async fn save(
    cloud: &Cloud,
    outcome: &Outcome,
    args: &UpdateArgs,
    spec_files: Vec<SpecFile>,
    path: &Path,
) -> Result<i32, Error> {
    let json = args.output == OutputFormat::Json;
    let mut stdout = std::io::stdout();
    let ending = if json {
        render::json::render(outcome, None)
    } else if outcome.plan.errors.is_empty() {
        saved_ending(outcome.plan.has_changes(), path)
    } else {
        render::render_ending(&outcome.plan, None)
    };
    if !outcome.plan.errors.is_empty() {
        let _ = write!(stdout, "{ending}");
        return Err(Refusal::PlanHasErrors.into());
    }
    let objects = touched(&outcome.plan.changes);
    let mut now = cloud.fingerprints(&objects).await?;
    let fingerprints = objects
        .into_iter()
        .map(|object| Fingerprinted {
            fingerprint: now.remove(&object).expect("every object was read"),
            object,
        })
        .collect();
    let saved = SavedPlan {
        format_version: FORMAT_VERSION.into(),
        rolecall_version: ROLECALL_VERSION.into(),
        cluster: outcome.cluster.clone(),
        kops_version: outcome.generation.generation.version().into(),
        kops_version_reason: outcome.generation.reason.clone(),
        spec_files,
        account: cloud.account_id().await?,
        region: cloud.identity().region.clone(),
        endpoint: cloud
            .identity()
            .endpoint
            .as_deref()
            .map(endpoint_without_userinfo),
        settings: settings(args),
        changes: saved_changes(&outcome.plan),
        fingerprints,
        plan: render::json::plan_document(outcome, None),
        text: render::render_body(outcome, Style::PLAIN),
    };
    std::fs::write(path, saved.to_json()).map_err(|source| Refusal::Write {
        path: path.display().to_string(),
        source,
    })?;
    let _ = write!(stdout, "{ending}");
    if json {
        eprint!("{}", saved_ending(outcome.plan.has_changes(), path));
    }
    Ok(exit_code(&outcome.plan, None, args.detailed_exitcode))
}

/// The last line after `update --out`, instead of "Must specify --yes".
fn saved_ending(has_changes: bool, path: &Path) -> String {
    let path = path.display();
    if has_changes {
        format!("Saved the plan to {path}. To apply exactly these changes: rolecall apply {path}\n")
    } else {
        format!("{}\nSaved the plan to {path}.\n", render::NO_CHANGES)
    }
}

/// The flags that shaped the plan, as given; the lifecycle overrides from
/// `KOPS_LIFECYCLE_OVERRIDES` when the flag was not given, as `run_overrides` read them.
fn settings(args: &UpdateArgs) -> PlanSettings {
    let lifecycle_overrides = match std::env::var(crate::lifecycle::ENV) {
        Ok(value) if args.lifecycle_overrides.is_empty() => value
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|e| !e.is_empty())
            .map(str::to_string)
            .collect(),
        _ => args.lifecycle_overrides.clone(),
    };
    PlanSettings {
        kops_version: args.kops_version.map(|g| g.version().to_string()),
        lifecycle_overrides,
        remove_extra_inline_policies: args.remove_extra_inline_policies,
        strict: args.strict,
        deny_new_access: args.deny_new_access,
        dns_zone_id: args.dns_zone_id.clone(),
        fetch: args
            .fetch
            .to_possible_value()
            .map(|v| v.get_name().to_string())
            .unwrap_or_default(),
    }
}

fn load(path: &Path) -> Result<SavedPlan, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Refusal::Unreadable {
        path: path.display().to_string(),
        source,
    })?;
    Ok(SavedPlan::parse(path, &text)?)
}

/// `apply PLAN`, and then `--calls-json` as `update` writes it.
pub(super) async fn apply_plan(args: ApplyArgs) -> i32 {
    let calls_json = args.calls.calls_json.clone();
    let mut connected = None;
    let code = run_apply(args, &mut connected)
        .await
        .unwrap_or_else(|e| fail(&e));
    write_calls_json(calls_json, connected).unwrap_or(code)
}

/// Every check before the first write, in order of cost: the file, the spec's bytes, the
/// endpoint and account, then the touched objects read again. Then the saved operations,
/// through the same stages as `update --yes`.
async fn run_apply(args: ApplyArgs, connected: &mut Option<Cloud>) -> Result<i32, Error> {
    let saved = load(&args.plan)?;
    for file in &saved.spec_files {
        if let Some(refusal) = SavedPlan::spec_change(file, std::fs::read(&file.path)) {
            return Err(refusal.into());
        }
    }
    let cloud = Cloud::connect(&args.connect_options(&saved.region)).await?;
    *connected = Some(cloud.clone());
    let endpoint = cloud
        .identity()
        .endpoint
        .as_deref()
        .map(endpoint_without_userinfo);
    if endpoint != saved.endpoint {
        return Err(Refusal::OtherEndpoint {
            planned: saved.endpoint,
            now: endpoint,
        }
        .into());
    }
    let account = cloud.account_id().await?;
    if account != saved.account {
        return Err(Refusal::OtherAccount {
            planned: saved.account,
            now: account,
        }
        .into());
    }
    let objects: Vec<_> = saved
        .fingerprints
        .iter()
        .map(|f| f.object.clone())
        .collect();
    let now = cloud.fingerprints(&objects).await?;
    let stale = fingerprint::stale(&saved.fingerprints, &now);
    if !stale.is_empty() {
        return Err(Refusal::Stale(stale).into());
    }

    let plan = saved.to_plan();
    let json = args.output == OutputFormat::Json;
    let mut stdout = std::io::stdout();
    if !json {
        let _ = write!(stdout, "{}", saved.text);
    }
    let report = if plan.has_changes() {
        let terminal = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        let mut stderr = std::io::stderr();
        let out: &mut dyn Write = if json { &mut stderr } else { &mut stdout };
        Some(apply(&cloud, &plan, out, terminal && !json).await)
    } else {
        None
    };
    let ending = if json {
        let mut doc = saved.plan.clone();
        if let Some(report) = &report {
            doc["applied"] = render::json::applied_report(report);
        }
        format!("{}\n", serde_json::to_string_pretty(&doc).expect("JSON"))
    } else {
        render::render_ending(&plan, report.as_ref())
    };
    let _ = write!(stdout, "{ending}");
    match report.filter(|r| !r.succeeded()) {
        Some(r) => Err(Error::ApplyStopped {
            failed: r.failed.len(),
            applied: r.applied.len(),
            not_started: r.not_started.len(),
        }),
        None => Ok(EXIT_OK),
    }
}

/// `show PLAN`: the plan as `update` printed it and what the file says about where and how
/// it was made; or the `update --output json` document with that under `saved_plan`.
pub(super) fn show(args: ShowArgs) -> Result<i32, Error> {
    let saved = load(&args.plan)?;
    let text = match args.output {
        OutputFormat::Json => {
            let mut doc = saved.plan.clone();
            doc["saved_plan"] = serde_json::json!({
                "format_version": saved.format_version,
                "rolecall_version": saved.rolecall_version,
                "account": saved.account,
                "region": saved.region,
                "endpoint": saved.endpoint,
                "spec_files": saved.spec_files,
                "settings": saved.settings,
            });
            format!("{}\n", serde_json::to_string_pretty(&doc).expect("JSON"))
        }
        OutputFormat::Text => show_text(&saved, &args.plan),
    };
    print!("{text}");
    Ok(EXIT_OK)
}

fn show_text(saved: &SavedPlan, path: &Path) -> String {
    let endpoint = saved.endpoint.as_deref().unwrap_or("AWS");
    let mut text = format!(
        "{}Saved plan {}, made by rolecall {} for account {} ({endpoint}, region {}), from:\n",
        saved.text,
        path.display(),
        saved.rolecall_version,
        saved.account,
        saved.region,
    );
    for file in &saved.spec_files {
        text.push_str(&format!("  {} (sha256 {})\n", file.path, file.sha256));
    }
    let flags = saved
        .settings
        .lifecycle_overrides
        .iter()
        .map(|o| format!(" --lifecycle-overrides {o}"))
        .chain(
            saved
                .settings
                .remove_extra_inline_policies
                .then(|| " --remove-extra-inline-policies".into()),
        )
        .collect::<String>();
    if !flags.is_empty() {
        text.push_str(&format!("  with{flags}\n"));
    }
    text.push('\n');
    if saved.changes.is_empty() {
        text.push_str(&format!("{}\n", render::NO_CHANGES));
    } else {
        text.push_str(&format!(
            "To apply exactly these changes: rolecall apply {}\n",
            path.display()
        ));
    }
    text
}
