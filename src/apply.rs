//! Carries out a plan stage by stage, the operations of a stage concurrently, through an
//! `Executor` (`Cloud`, or a fake in tests). A failure stops the run once its stage has
//! settled: no later stage starts. Nothing is rolled back, since every operation leaves
//! the account in a state the next plan reads correctly, so the next run converges.

use std::future::Future;
use std::io::Write;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::task::JoinSet;

use crate::cloud::{Cloud, CloudError};
use crate::plan::{Change, Operation, Plan};

/// What carries out one operation of a plan.
pub trait Executor {
    fn execute(&self, op: &Operation) -> impl Future<Output = Result<(), CloudError>> + Send;
}

impl Executor for Cloud {
    fn execute(&self, op: &Operation) -> impl Future<Output = Result<(), CloudError>> + Send {
        Cloud::execute(self, op)
    }
}

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

/// How far an apply has got: a bar on a terminal, nothing otherwise (the printed lines
/// are the progress then).
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(total: usize, terminal: bool) -> Progress {
        Progress(terminal.then(|| {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} changes, {elapsed}")
                    .expect("a valid template"),
            );
            bar
        }))
    }

    /// Prints a line without tearing the bar, and counts it.
    fn done(&self, out: &mut dyn Write, line: &str) {
        match &self.0 {
            Some(bar) => {
                bar.suspend(|| {
                    let _ = writeln!(out, "{line}");
                });
                bar.inc(1);
            }
            None => {
                let _ = writeln!(out, "{line}");
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Applies every change of the plan, printing each as it completes. `terminal` adds a
/// progress bar on stderr. Once a change has failed, the changes of later stages are not
/// started; the rest of the failing stage still runs to its end.
pub async fn apply<E>(executor: &E, plan: &Plan, out: &mut dyn Write, terminal: bool) -> ApplyReport
where
    E: Executor + Clone + Send + 'static,
{
    let progress = Progress::new(plan.changes.len(), terminal);
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
            let executor = executor.clone();
            running.spawn(async move {
                let result = executor.execute(&change.operation).await;
                (change, result)
            });
        }
        while let Some(joined) = running.join_next().await {
            let (change, result) = joined.expect("apply task panicked");
            match result {
                Ok(()) => {
                    progress.done(
                        out,
                        // A space after the longer action names too.
                        &format!("{:<25} {}", change.operation.action(), change.id),
                    );
                    report.applied.push(change);
                }
                Err(e) => {
                    progress.done(out, &format!("Error: {}: {e}", change.id));
                    report.failed.push((change, e));
                }
            }
        }
    }
    progress.finish();
    let _ = out.flush();
    report
}

#[cfg(test)]
mod tests;
