//! The flags of `apply PLAN` and `show PLAN`, the commands of saved plans
//! (docs/saved-plans.md). What shapes the plan was fixed by `update --out`; these only say
//! where the file is, how to print, and how to call AWS.

use std::path::PathBuf;

use clap::Args;

use super::args::{endpoint_url, CallArgs, OutputFormat};
use crate::cloud::ConnectOptions;

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// The plan file `rolecall update --out` wrote.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// Send AWS requests to this endpoint. It must be the endpoint the plan was made against
    /// (AWS_ENDPOINT_URL works too).
    #[arg(long, value_name = "URL", value_parser = endpoint_url)]
    pub endpoint_url: Option<String>,

    /// How to print the plan and what was applied: text, or one JSON document.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,

    #[command(flatten)]
    pub calls: CallArgs,
}

impl ApplyArgs {
    /// The connection's limits and timeouts, from the flags; the region the plan was made
    /// in when the standard chain gives none.
    pub fn connect_options(&self, region: &str) -> ConnectOptions {
        ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            fallback_region: Some(region.to_string()),
            ..self.calls.connect_options()
        }
    }
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file `rolecall update --out` wrote.
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,

    /// text: the plan as `update` printed it; json: the `update --output json` document
    /// with the file's metadata.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
}
