//! `delete`: the teardown of the cluster's IAM, as `update` runs, with the plan of
//! deletions (`PlanOptions::teardown`) in its place: a dry run, or `--yes` to delete.

use std::io::Write;

use super::{fail, load, style, DeleteArgs, OutputFormat};
use crate::cloud::Cloud;
use crate::error::Error;
use crate::plan::PlanOptions;
use crate::reconcile::{self, Settings};
use crate::render;

/// `delete`, and then `--calls-json` as for `update`.
pub(super) async fn delete(args: DeleteArgs) -> i32 {
    let calls_json = args.calls.calls_json.clone();
    let mut connected = None;
    let code = run_delete(args, &mut connected)
        .await
        .unwrap_or_else(|e| fail(&e));
    super::write_calls_json(calls_json, connected).unwrap_or(code)
}

async fn run_delete(args: DeleteArgs, connected: &mut Option<Cloud>) -> Result<i32, Error> {
    let checked = load(&args.files, args.kops_version)?;
    let settings = Settings {
        overrides: super::overrides(&args.lifecycle_overrides)?,
        fetch: args.fetch,
        dns_zone_id: args.dns_zone_id.clone(),
        plan: PlanOptions {
            teardown: true,
            ..PlanOptions::default()
        },
        ..Settings::default()
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
    super::apply_and_end(
        &cloud,
        &outcome,
        args.yes,
        json,
        args.detailed_exitcode,
        render::render_teardown_ending,
    )
    .await
}
