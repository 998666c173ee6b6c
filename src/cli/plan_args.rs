//! The flags of `apply PLAN` and `show PLAN`, the commands of saved plans
//! (docs/saved-plans.md). What shapes the plan was fixed by `update --out`; these only say
//! where the file is, how to print, and how to call AWS.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::args::{endpoint_url, OutputFormat};
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

    /// Write the AWS calls made, by operation, to this file as JSON when rolecall exits.
    #[arg(long, value_name = "FILE")]
    pub calls_json: Option<PathBuf>,

    /// How many AWS calls may be in flight at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// How many seconds one operation may wait for IAM's eventual consistency.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub consistency_timeout: u64,

    /// How many seconds one AWS request may take before it is abandoned and retried.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub attempt_timeout: u64,

    /// Attempts per AWS call, the first included, when IAM throttles, fails with a 5xx, resets
    /// the connection or times out. Default: AWS_MAX_ATTEMPTS, or 8.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_attempts: Option<u32>,
}

impl ApplyArgs {
    /// The connection's limits and timeouts, from the flags; the region the plan was made
    /// in when the standard chain gives none.
    pub fn connect_options(&self, region: &str) -> ConnectOptions {
        ConnectOptions {
            endpoint_url: self.endpoint_url.clone(),
            fallback_region: Some(region.to_string()),
            concurrency: self.concurrency.into(),
            consistency_timeout: Duration::from_secs(self.consistency_timeout),
            attempt_timeout: Duration::from_secs(self.attempt_timeout),
            max_attempts: self.max_attempts,
            ..ConnectOptions::default()
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
