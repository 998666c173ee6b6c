//! What the benchmark does to the account with aws-sdk-iam directly: the clients, the
//! shared managed policy, the seeded instance profiles and the clean-up, and the bounded
//! concurrency the baselines (baselines.rs) use too.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::spec;

#[derive(Clone)]
pub struct Clients {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub ec2: aws_sdk_ec2::Client,
}

impl Clients {
    /// Clients for `endpoint` with LocalStack's account: any credentials, us-east-1.
    pub async fn new(endpoint: &str) -> Clients {
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(aws_sdk_iam::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_iam::config::Credentials::new(
                "test", "test", None, None, "bench",
            ))
            .load()
            .await;
        Clients {
            iam: aws_sdk_iam::Client::new(&sdk),
            sts: aws_sdk_sts::Client::new(&sdk),
            ec2: aws_sdk_ec2::Client::new(&sdk),
        }
    }
}

pub fn message<E, R>(e: SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DisplayErrorContext(&e).to_string()
}

/// Success, or an error that says the object is already as wanted (gone, or there).
fn tolerate<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) => Ok(()),
        Err(e) if matches!(e.code(), Some("NoSuchEntity" | "EntityAlreadyExists")) => Ok(()),
        Err(e) => Err(message(e)),
    }
}

/// Runs the jobs with at most `concurrency` calls in flight (each job takes a permit per
/// call through `Limit::call`), and returns the time taken.
pub async fn run_all<F>(jobs: Vec<F>) -> Result<Duration, String>
where
    F: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let mut set = JoinSet::new();
    for job in jobs {
        set.spawn(job);
    }
    let mut first_error = None;
    while let Some(joined) = set.join_next().await {
        if let Err(e) = joined.map_err(|e| e.to_string()).and_then(|r| r) {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(start.elapsed()),
    }
}

/// A bound on calls in flight, shared by the jobs of one run.
#[derive(Clone)]
pub struct Limit(Arc<Semaphore>);

impl Limit {
    pub fn new(concurrency: usize) -> Limit {
        Limit(Arc::new(Semaphore::new(concurrency.max(1))))
    }

    pub async fn call<T>(&self, f: impl Future<Output = T>) -> T {
        let _permit = self.0.acquire().await.expect("never closed");
        f.await
    }

    /// A call whose error is fine when it says the object is already as wanted.
    async fn tolerant<T, E, R>(
        &self,
        f: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<(), String>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        tolerate(self.call(f).await)
    }
}

/// What an answer holds, `None` when the object is gone (`NoSuchEntity`), or the failure.
fn unless_gone<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Option<T>, String>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(out) => Ok(Some(out)),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(message(e)),
    }
}

/// The customer managed policy every pod role of the run attaches.
pub async fn create_managed_policy(
    iam: &aws_sdk_iam::Client,
    name: &str,
) -> Result<String, String> {
    let out = iam
        .create_policy()
        .policy_name(name)
        .policy_document(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::rolecall-bench/*"}]}"#,
        )
        .send()
        .await
        .map_err(message)?;
    out.policy()
        .and_then(|p| p.arn())
        .map(str::to_string)
        .ok_or_else(|| "CreatePolicy returned no ARN".to_string())
}

/// An instance profile named like the role, holding it, for every third pod role: what
/// rolecall does not manage for pod roles, seeded directly.
pub async fn seed_profiles(
    c: &Clients,
    cluster: &str,
    n: usize,
    concurrency: usize,
) -> Result<Duration, String> {
    let limit = Limit::new(concurrency);
    let jobs = (0..n)
        .filter(|i| spec::has_profile(*i))
        .map(|i| {
            let (iam, limit, role) = (c.iam.clone(), limit.clone(), spec::role_name(i, cluster));
            async move {
                let create = iam.create_instance_profile().instance_profile_name(&role);
                limit.tolerant(create.send()).await?;
                let add = iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(&role)
                    .role_name(&role);
                limit.tolerant(add.send()).await
            }
        })
        .collect();
    run_all(jobs).await
}

/// The kops roles of the cluster.
pub fn kops_roles(cluster: &str) -> Vec<String> {
    ["masters", "nodes", "bastions"]
        .iter()
        .map(|r| format!("{r}.{cluster}"))
        .collect()
}

/// One boxed job for `run_all`.
type Job = std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Deletes what a cluster of the benchmark left: the pod roles (with their seeded profiles,
/// inline policy and attachment), the kops roles with whatever they hold, and the OIDC
/// provider.
pub async fn clean_up(
    c: &Clients,
    cluster: &str,
    n: usize,
    policy_arn: &str,
    concurrency: usize,
) -> Result<(), String> {
    let limit = Limit::new(concurrency);
    let mut jobs: Vec<Job> = Vec::new();
    for i in 0..n {
        let (iam, limit, arn) = (c.iam.clone(), limit.clone(), policy_arn.to_string());
        let role = spec::role_name(i, cluster);
        jobs.push(Box::pin(async move {
            if spec::has_profile(i) {
                delete_profile(&iam, &limit, &role, &role).await?;
            }
            let delete_policy = iam.delete_role_policy().role_name(&role).policy_name(&role);
            let detach = iam.detach_role_policy().role_name(&role).policy_arn(arn);
            let (a, b) = tokio::join!(limit.call(delete_policy.send()), limit.call(detach.send()));
            tolerate(a)?;
            tolerate(b)?;
            match limit.call(iam.delete_role().role_name(&role).send()).await {
                Ok(_) => Ok(()),
                Err(e) if e.code() == Some("NoSuchEntity") => Ok(()),
                // Something more than the benchmark made: take it apart fully.
                Err(_) => delete_role_fully(&iam, &limit, &role).await,
            }
        }));
    }
    for role in kops_roles(cluster) {
        let (iam, limit) = (c.iam.clone(), limit.clone());
        jobs.push(Box::pin(async move {
            delete_role_fully(&iam, &limit, &role).await
        }));
    }
    let (iam, limit, cluster) = (c.iam.clone(), limit.clone(), cluster.to_string());
    jobs.push(Box::pin(async move {
        delete_oidc_provider(&iam, &limit, &cluster).await
    }));
    run_all(jobs).await.map(drop)
}

/// Deletes the cluster's OIDC provider, which its IRSA roles trust.
async fn delete_oidc_provider(
    iam: &aws_sdk_iam::Client,
    limit: &Limit,
    cluster: &str,
) -> Result<(), String> {
    let listed = limit
        .call(iam.list_open_id_connect_providers().send())
        .await
        .map_err(message)?;
    for arn in listed
        .open_id_connect_provider_list()
        .iter()
        .filter_map(|p| p.arn())
        .filter(|arn| spec::is_cluster_provider(arn, cluster))
    {
        let delete = iam
            .delete_open_id_connect_provider()
            .open_id_connect_provider_arn(arn);
        limit.tolerant(delete.send()).await?;
    }
    Ok(())
}

async fn delete_role_fully(
    iam: &aws_sdk_iam::Client,
    limit: &Limit,
    role: &str,
) -> Result<(), String> {
    let profiles = iam.list_instance_profiles_for_role().role_name(role);
    let Some(profiles) = unless_gone(limit.call(profiles.send()).await)? else {
        return Ok(());
    };
    for p in profiles.instance_profiles() {
        delete_profile(iam, limit, p.instance_profile_name(), role).await?;
    }
    let inline = iam.list_role_policies().role_name(role);
    let Some(inline) = unless_gone(limit.call(inline.send()).await)? else {
        return Ok(());
    };
    for name in inline.policy_names() {
        let delete = iam.delete_role_policy().role_name(role).policy_name(name);
        limit.tolerant(delete.send()).await?;
    }
    let attached = iam.list_attached_role_policies().role_name(role);
    let Some(attached) = unless_gone(limit.call(attached.send()).await)? else {
        return Ok(());
    };
    for arn in attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
    {
        let detach = iam.detach_role_policy().role_name(role).policy_arn(arn);
        limit.tolerant(detach.send()).await?;
    }
    limit
        .tolerant(iam.delete_role().role_name(role).send())
        .await
}

/// Takes `role` out of the instance profile `profile`, and deletes the profile.
async fn delete_profile(
    iam: &aws_sdk_iam::Client,
    limit: &Limit,
    profile: &str,
    role: &str,
) -> Result<(), String> {
    let remove = iam
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role);
    limit.tolerant(remove.send()).await?;
    let delete = iam.delete_instance_profile().instance_profile_name(profile);
    limit.tolerant(delete.send()).await
}
