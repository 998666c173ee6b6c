//! The only AWS I/O. `Cloud` holds the IAM, STS, EC2 and Route53 clients; the submodules add its
//! methods by job. Decoding, pagination and error mapping live here and nowhere else.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use tokio::sync::{Semaphore, SemaphorePermit};

use error::cloud_error;

mod connect;
mod ec2;
mod error;
mod fetch;
mod rate;
mod read;
mod retry;
mod route53;
mod touched;
mod write;

pub use connect::ConnectOptions;
pub use error::{CloudError, ConnectError};
pub use fetch::{FetchStrategy, BULK_ABOVE_ROLES};
pub use read::Read;

/// The AWS clients (IAM, STS, EC2 in the cluster's region, and Route53) under one concurrency bound,
/// with a count of calls by operation: the cost that matters on a real account.
#[derive(Clone)]
pub struct Cloud {
    consistency_timeout: Duration,
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    sts: aws_sdk_sts::Client,
    route53: aws_sdk_route53::Client,
    limit: Arc<Semaphore>,
    /// IAM's request rate, learnt from throttling; `None` in the SDK's adaptive mode.
    pace: Option<Arc<rate::Pace>>,
    /// The bound's size, for `--fetch auto`'s estimate of round trips.
    concurrency: usize,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
    /// Where the calls go: a saved plan records it, and is applied only where it was made.
    identity: Identity,
}

/// The IAM client's region and endpoint URL (`None`: AWS's own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub region: String,
    pub endpoint: Option<String>,
}

impl Cloud {
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// Calls made so far, by AWS operation.
    pub fn call_counts(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().expect("call counter").clone()
    }

    /// Fetches the next page of a paginated read under the concurrency bound, counting only
    /// pages actually requested (the paginator's final `None` sends nothing). A failed page
    /// is an error naming `target`.
    async fn next_page<T, E, R>(
        &self,
        operation: &'static str,
        target: impl FnOnce() -> String,
        page: impl Future<Output = Option<Result<T, SdkError<E, R>>>>,
    ) -> Result<Option<T>, CloudError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let _permit = self.permit().await;
        let page = page.await;
        if page.is_some() {
            self.count(operation);
            tracing::debug!(operation, "AWS call");
        }
        page.transpose()
            .map_err(|e| cloud_error(operation, target(), e))
    }

    /// Runs one call under the concurrency bound and counts it.
    async fn call<T, F: Future<Output = T>>(&self, operation: &'static str, f: F) -> T {
        let _permit = self.permit().await;
        self.count(operation);
        tracing::debug!(operation, "AWS call");
        f.await
    }

    /// A place among the calls in flight, then a turn at IAM's rate.
    async fn permit(&self) -> SemaphorePermit<'_> {
        let permit = self
            .limit
            .acquire()
            .await
            .expect("semaphore is never closed");
        if let Some(pace) = &self.pace {
            pace.turn().await;
        }
        permit
    }

    fn count(&self, operation: &'static str) {
        *self
            .calls
            .lock()
            .expect("call counter")
            .entry(operation)
            .or_default() += 1;
    }
}
