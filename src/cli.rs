//! The command line: flags in, text out. Runs the commands through [`reconcile`], prints
//! through [`render`], and is the one place where an outcome or an [`Error`] becomes an exit
//! code and an error becomes its message.

mod args;
mod delete;
mod generate;
mod plan_args;
mod saved;

use std::io::{IsTerminal, Write};

pub use args::{AnnotationsArgs, Cli, Command, DeleteArgs, OutputFormat, UpdateArgs};
pub use plan_args::{ApplyArgs, ShowArgs};

use crate::apply::{apply, ApplyReport};
use crate::cloud::{Cloud, ConnectOptions};
use crate::error::Error;
use crate::plan::Plan;
use crate::plan::PlanOptions;
use crate::reconcile::{self, Settings};
use crate::render::{self, Style};
use crate::{annotations, lifecycle, spec};

/// Exit codes.
pub const EXIT_OK: i32 = 0;
pub const EXIT_ERROR: i32 = 1;
/// With --detailed-exitcode: changes or drift pending.
pub const EXIT_PENDING: i32 = 2;

/// Runs the command and returns the process's exit code.
pub async fn run(cli: Cli) -> i32 {
    match cli.command {
        Command::Update(args) => update(args).await,
        Command::Annotations(args) => annotations(args).await.unwrap_or_else(|e| fail(&e)),
        Command::Apply(args) => saved::apply_plan(args).await,
        Command::Show(args) => saved::show(args).unwrap_or_else(|e| fail(&e)),
        Command::Delete(args) => delete::delete(args).await,
        Command::Completions(args) => {
            let _ = generate::completions(args.shell, &mut std::io::stdout());
            EXIT_OK
        }
        Command::Man(args) => {
            let _ = generate::man_page(args.command.as_deref(), &mut std::io::stdout());
            EXIT_OK
        }
    }
}

/// The one place an error meets the user: its message on stderr, and exit code 1.
fn fail(error: &Error) -> i32 {
    eprint!("{}", error_text(error));
    EXIT_ERROR
}

/// What stderr shows for an error: `Error: ` and the message, a line each.
fn error_text(error: &Error) -> String {
    match error {
        // Every problem found is its own line.
        Error::Input(errors) => errors.0.iter().map(|e| format!("Error: {e}\n")).collect(),
        Error::Documents(invalid) => invalid
            .iter()
            .map(|(id, e)| format!("Error: {id}: {e}\n"))
            .collect(),
        // Set apart from the apply's progress lines above it.
        Error::ApplyStopped { .. } => format!("\nError: {error}\n"),
        Error::NewAccess(widening) => {
            let mut text = format!("Error: {error}\n");
            for (id, what) in widening {
                text.push_str(&format!("  {id}: {what}\n"));
            }
            text
        }
        _ => format!("Error: {error}\n"),
    }
}

/// Colour on stdout as anstream decides it: `--no-color` (set globally in `main`), NO_COLOR,
/// CLICOLOR_FORCE, CLICOLOR, then whether stdout is a terminal.
fn style() -> Style {
    Style {
        color: anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
    }
}

/// The spec, as every command reads it, and on stderr the note on documents it skipped.
fn load(
    files: &[std::path::PathBuf],
    requested: Option<spec::Generation>,
) -> Result<reconcile::Checked, Error> {
    let checked = reconcile::load(files, requested)?;
    if let Some(note) = spec::skipped_note(&checked.cluster.skipped) {
        eprintln!("{note}");
    }
    Ok(checked)
}

/// `update`, and then `--calls-json`, written whenever rolecall got as far as connecting,
/// whatever happened after.
async fn update(args: UpdateArgs) -> i32 {
    let calls_json = args.calls.calls_json.clone();
    let mut connected = None;
    let code = run_update(args, &mut connected)
        .await
        .unwrap_or_else(|e| fail(&e));
    write_calls_json(calls_json, connected).unwrap_or(code)
}

/// `--calls-json`, when rolecall got as far as connecting: `Some` exit code if it could not
/// be written.
fn write_calls_json(path: Option<std::path::PathBuf>, connected: Option<Cloud>) -> Option<i32> {
    let (Some(path), Some(cloud)) = (path, connected) else {
        return None;
    };
    let counts = serde_json::to_string_pretty(&cloud.call_counts()).expect("counts serialise");
    let source = std::fs::write(&path, counts).err()?;
    Some(fail(&Error::CallsJson { path, source }))
}

/// The lifecycle overrides of a run: the flag's, or else `KOPS_LIFECYCLE_OVERRIDES`'s.
fn overrides(flag: &[String]) -> Result<crate::model::Overrides, Error> {
    let env = std::env::var(lifecycle::ENV).ok();
    Ok(lifecycle::run_overrides(flag, env.as_deref())?)
}

async fn run_update(args: UpdateArgs, connected: &mut Option<Cloud>) -> Result<i32, Error> {
    // Before the spec is read (see `spec_digests`).
    let digests = match &args.out {
        Some(_) => saved::spec_digests(&args.files)?,
        None => Vec::new(),
    };
    let checked = load(&args.files, args.kops_version)?;
    let settings = Settings {
        overrides: overrides(&args.lifecycle_overrides)?,
        fetch: args.fetch,
        strict: args.strict,
        dns_zone_id: args.dns_zone_id.clone(),
        plan: PlanOptions {
            remove_extra_inline_policies: args.remove_extra_inline_policies,
            ..PlanOptions::default()
        },
    };
    let cloud = reconcile::connect(
        &checked.cluster,
        args.endpoint_url.clone(),
        args.calls.connect_options(),
    )
    .await?;
    *connected = Some(cloud.clone());
    let outcome = reconcile::reconcile(&cloud, checked, &settings).await?;

    let json = args.output == OutputFormat::Json;
    let mut stdout = std::io::stdout();
    if !json {
        let _ = write!(stdout, "{}", render::render_body(&outcome, style()));
    }
    if args.deny_new_access {
        let widening: Vec<(String, String)> = outcome
            .widening()
            .into_iter()
            .map(|(change, diff)| {
                let what = crate::access::summary(diff, &crate::access::expand);
                (change.id.to_string(), what)
            })
            .collect();
        if !widening.is_empty() {
            let ending = if json {
                render::json::render(&outcome, None)
            } else {
                String::new()
            };
            let _ = write!(stdout, "{ending}");
            return Err(Error::NewAccess(widening));
        }
    }
    if let Some(path) = &args.out {
        return saved::save(&cloud, &outcome, &args, digests, path).await;
    }
    apply_and_end(
        &cloud,
        &outcome,
        args.yes,
        json,
        args.detailed_exitcode,
        |o, r| render::render_ending(&o.plan, r),
    )
    .await
}

/// The end of `update` and `delete`: apply the plan when told and allowed (progress on
/// stdout, or on stderr when stdout carries the JSON document), print the ending
/// (`text_ending` for text), and the exit code, or the stopped apply as an error.
async fn apply_and_end(
    cloud: &Cloud,
    outcome: &crate::reconcile::Outcome,
    yes: bool,
    json: bool,
    detailed_exitcode: bool,
    text_ending: impl Fn(&crate::reconcile::Outcome, Option<&ApplyReport>) -> String,
) -> Result<i32, Error> {
    let mut stdout = std::io::stdout();
    let report = if yes && outcome.may_apply() {
        let terminal = std::io::stderr().is_terminal() && std::io::stdout().is_terminal();
        // In JSON mode stdout carries only the document; the progress lines go to stderr.
        let mut stderr = std::io::stderr();
        let out: &mut dyn Write = if json { &mut stderr } else { &mut stdout };
        let report = apply(cloud, &outcome.plan, out, terminal && !json).await;
        tracing::debug!(calls = ?cloud.call_counts(), "applied");
        Some(report)
    } else {
        None
    };
    let ending = if json {
        render::json::render(outcome, report.as_ref())
    } else {
        text_ending(outcome, report.as_ref())
    };
    let _ = write!(stdout, "{ending}");
    if let Some(r) = report.as_ref().filter(|r| !r.succeeded()) {
        return Err(Error::ApplyStopped {
            failed: r.failed.len(),
            applied: r.applied.len(),
            not_started: r.not_started.len(),
        });
    }
    Ok(exit_code(&outcome.plan, report.as_ref(), detailed_exitcode))
}

/// 1 for errors; with --detailed-exitcode, as `terraform plan -detailed-exitcode`, 2 when
/// something is left to do: changes not applied, or drift rolecall may not fix.
fn exit_code(plan: &Plan, report: Option<&ApplyReport>, detailed: bool) -> i32 {
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

async fn annotations(args: AnnotationsArgs) -> Result<i32, Error> {
    let checked = load(&args.files, args.kops_version)?;
    let options = ConnectOptions {
        concurrency: 4,
        ..ConnectOptions::default()
    };
    let summary = reconcile::pod_role_summary(
        checked,
        args.account_id.as_deref(),
        args.endpoint_url.clone(),
        options,
    )
    .await?;
    print!("{}", annotations::render(&summary));
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::CloudError;
    use crate::model::{ResourceId, ResourceType};
    use crate::plan::Problem;
    use crate::policy::grammar::GrammarError;
    use crate::spec::{InputError, InputErrors};

    fn input_errors() -> InputErrors {
        InputErrors(vec![
            InputError::general("spec.a", "first"),
            InputError::general("spec.b", "second"),
        ])
    }

    #[test]
    fn input_errors_are_a_line_each_and_pod_role_errors_one_message() {
        assert_eq!(
            error_text(&Error::Input(input_errors())),
            "Error: spec.a: first\nError: spec.b: second\n"
        );
        assert_eq!(
            error_text(&Error::PodRoles(input_errors())),
            "Error: spec.a: first\nspec.b: second\n"
        );
    }

    #[test]
    fn refused_documents_name_their_object_on_each_line() {
        let problem = |path: &str, message: &str| GrammarError {
            path: path.into(),
            message: message.into(),
        };
        let invalid = vec![
            (
                ResourceId::new(ResourceType::IamRole, "nodes.c"),
                problem("", "too long"),
            ),
            (
                ResourceId::new(ResourceType::IamRolePolicy, "nodes.c"),
                problem("Statement[0].Action", "is empty"),
            ),
        ];
        assert_eq!(
            error_text(&Error::Documents(invalid)),
            "Error: IAMRole/nodes.c: too long\nError: IAMRolePolicy/nodes.c: Statement[0].Action: is empty\n"
        );
    }

    #[test]
    fn other_errors_are_one_line_and_a_stopped_apply_is_set_apart() {
        let cloud = CloudError {
            operation: "GetRole",
            target: "role nodes.c".into(),
            code: Some("AccessDenied".into()),
            message: "not allowed".into(),
        };
        assert_eq!(
            error_text(&Error::Cloud(cloud)),
            "Error: GetRole role nodes.c: AccessDenied: not allowed\n"
        );
        let stopped = Error::ApplyStopped {
            failed: 1,
            applied: 2,
            not_started: 3,
        };
        assert_eq!(
            error_text(&stopped),
            "\nError: stopped after 1 failed change(s): 2 applied, 3 not attempted. Fix the cause and run again; the next run finishes the rest.\n"
        );
        let unwritable = Error::CallsJson {
            path: "/nowhere/calls.json".into(),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        assert_eq!(
            error_text(&unwritable),
            "Error: cannot write /nowhere/calls.json: entity not found\n"
        );
    }

    #[test]
    fn exit_codes_follow_terraforms_detailed_exitcode() {
        let clean = Plan::default();
        let drifted = Plan {
            drift: vec![crate::plan::Drift {
                id: ResourceId::new(ResourceType::IamRole, "nodes.c"),
                lifecycle: crate::model::Lifecycle::ExistsAndWarnIfChanges,
                fields: vec![],
            }],
            ..Plan::default()
        };
        let failed = Plan {
            errors: vec![Problem {
                id: ResourceId::new(ResourceType::IamRole, "nodes.c"),
                message: "owned by another cluster".into(),
            }],
            ..Plan::default()
        };
        assert_eq!(exit_code(&clean, None, true), EXIT_OK);
        assert_eq!(exit_code(&drifted, None, false), EXIT_OK);
        assert_eq!(exit_code(&drifted, None, true), EXIT_PENDING);
        assert_eq!(exit_code(&failed, None, false), EXIT_ERROR);
        let applied = ApplyReport::default();
        assert_eq!(exit_code(&drifted, Some(&applied), true), EXIT_PENDING);
    }
}
