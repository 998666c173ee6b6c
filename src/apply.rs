//! Carries out a plan: stage by stage in dependency order (roles and profiles first, then
//! the policies on the roles and the roles in the profiles), the operations of a stage
//! concurrently under the client's bound. An error stops the run once its stage has
//! settled; nothing of a later stage starts. Every operation is idempotent in effect or
//! re-planned on the next run, so that run converges.

use std::io::Write;

use tokio::task::JoinSet;

use crate::cloud::{Cloud, CloudError};
use crate::plan::{Change, Plan};

#[derive(Debug, Default)]
pub struct ApplyReport {
    pub applied: Vec<Change>,
    pub failed: Vec<(Change, CloudError)>,
    /// Not attempted because an earlier stage failed.
    pub not_started: Vec<Change>,
}

impl ApplyReport {
    pub fn succeeded(&self) -> bool {
        self.failed.is_empty() && self.not_started.is_empty()
    }
}

/// Applies every change of the plan, printing each as it completes.
pub async fn apply(cloud: &Cloud, plan: &Plan, out: &mut dyn Write) -> ApplyReport {
    let mut report = ApplyReport::default();
    let mut stages: Vec<u8> = plan.changes.iter().map(|c| c.stage).collect();
    stages.sort_unstable();
    stages.dedup();

    for stage in stages {
        let changes: Vec<Change> = plan
            .changes
            .iter()
            .filter(|c| c.stage == stage)
            .cloned()
            .collect();
        if !report.failed.is_empty() {
            report.not_started.extend(changes);
            continue;
        }
        let mut running = JoinSet::new();
        for change in changes {
            let cloud = cloud.clone();
            running.spawn(async move {
                let result = cloud.execute(&change.operation).await;
                (change, result)
            });
        }
        while let Some(joined) = running.join_next().await {
            let (change, result) = joined.expect("apply task panicked");
            match result {
                Ok(()) => {
                    let _ = writeln!(out, "{:<26}{}", change.operation.action(), change.id);
                    report.applied.push(change);
                }
                Err(e) => {
                    let _ = writeln!(out, "Error: {}: {e}", change.id);
                    report.failed.push((change, e));
                }
            }
        }
    }
    let _ = out.flush();
    report
}
