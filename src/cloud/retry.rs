//! What `execute` does about errors the SDK does not retry: it waits out IAM's eventual
//! consistency, and reads back after a refusal that may hide a lost answer.

use std::time::{Duration, Instant};

use super::{Cloud, CloudError};
use crate::operation::{Found, Operation, ReadBack};

impl Cloud {
    /// Carries out one operation of a plan, waiting out IAM's eventual consistency: right
    /// after a role is created another role's trust policy may not accept it as a principal
    /// yet ("Invalid principal in policy"), and a new role or profile may not be visible to
    /// the next call (NoSuchEntity). Those are retried with growing, jittered waits until the
    /// consistency timeout; every other error returns at once with AWS's message.
    pub async fn execute(&self, op: &Operation) -> Result<(), CloudError> {
        let start = Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            match self.execute_once(op).await {
                Err(e) if op.still_propagating(e.code.as_deref(), &e.message) => {
                    if start.elapsed() + wait > self.consistency_timeout {
                        return Err(CloudError {
                            message: format!(
                                "{} (still failing after waiting {}s for IAM to propagate)",
                                e.message,
                                start.elapsed().as_secs()
                            ),
                            ..e
                        });
                    }
                    tracing::info!(
                        operation = op.action(),
                        "waiting for IAM to propagate: {}",
                        e.message
                    );
                    tokio::time::sleep(jittered(wait)).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
                Err(e) if op.may_be_lost_answer(e.code.as_deref()) => {
                    return match self.already_done(op).await {
                        Ok(true) => {
                            tracing::info!(
                                operation = op.action(),
                                "already done, as wanted: {}",
                                e.message
                            );
                            Ok(())
                        }
                        Ok(false) => Err(CloudError {
                            message: format!(
                                "{} (and what the account holds is not what the spec wants: made by someone else since the account was read, so left alone; run again to see the plan)",
                                e.message
                            ),
                            ..e
                        }),
                        Err(_) => Err(e),
                    };
                }
                other => return other,
            }
        }
    }

    /// Whether the account already holds what `op` was to make. A create whose first attempt
    /// reached IAM but whose answer was lost (a timeout, a reset) is retried by the SDK and
    /// then refused as a duplicate; so is one that a concurrent run made first. Either way,
    /// an object that is exactly what the spec wants is success, and anything else is left
    /// alone and reported.
    async fn already_done(&self, op: &Operation) -> Result<bool, CloudError> {
        let found = match op.read_back() {
            None => return Ok(false),
            Some(ReadBack::Role(name)) => Found::Role(self.get_role(name).await?.found()),
            Some(ReadBack::InstanceProfile(name)) => {
                Found::InstanceProfile(self.get_instance_profile(name).await?.found())
            }
            Some(ReadBack::OidcProvider(arn)) => {
                Found::OidcProvider(self.get_oidc_provider(arn).await?.found())
            }
        };
        Ok(op.done_as_found(&found))
    }
}

/// Between half and the whole of `wait`, so that concurrent waits do not retry in step.
fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let fraction = 0.5 + f64::from(nanos % 1000) / 2000.0;
    wait.mul_f64(fraction)
}
