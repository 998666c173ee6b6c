//! The only AWS I/O. `Cloud` holds the IAM, STS and EC2 clients; the submodules add its
//! methods by job. Decoding, pagination and error mapping live here and nowhere else.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Semaphore;

mod connect;
mod ec2;
mod error;
mod fetch;
mod read;
mod retry;
mod write;

pub use connect::ConnectOptions;
pub use error::{CloudError, ConnectError};
pub use fetch::{FetchStrategy, BULK_ABOVE_ROLES};
pub use read::Read;

/// The AWS clients (IAM, STS, and EC2 in the cluster's region) under one concurrency bound,
/// with a count of calls by operation: the cost that matters on a real account.
#[derive(Clone)]
pub struct Cloud {
    consistency_timeout: Duration,
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    sts: aws_sdk_sts::Client,
    limit: Arc<Semaphore>,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Cloud {
    /// Calls made so far, by IAM operation.
    pub fn call_counts(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().expect("call counter").clone()
    }

    /// Fetches the next page of a paginated read under the concurrency bound, counting only
    /// pages actually requested (the paginator's final `None` sends nothing).
    async fn next_page<T, F: Future<Output = Option<T>>>(
        &self,
        operation: &'static str,
        f: F,
    ) -> Option<T> {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("semaphore is never closed");
        let page = f.await;
        if page.is_some() {
            *self
                .calls
                .lock()
                .expect("call counter")
                .entry(operation)
                .or_default() += 1;
            tracing::debug!(operation, "AWS call");
        }
        page
    }

    /// Runs one call under the concurrency bound and counts it.
    async fn call<T, F: Future<Output = T>>(&self, operation: &'static str, f: F) -> T {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("semaphore is never closed");
        *self
            .calls
            .lock()
            .expect("call counter")
            .entry(operation)
            .or_default() += 1;
        tracing::debug!(operation, "IAM call");
        f.await
    }
}
