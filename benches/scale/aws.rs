//! What the benchmark does with aws-sdk-iam directly: the shared managed policy, the seeded
//! instance profiles, the baselines (a sequential kops-like reader, the bare minimum reads
//! and writes at a fixed concurrency) and the clean-up.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{EntityType, Tag};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::proxy::Params;
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

fn message<E, R>(e: SdkError<E, R>) -> String
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    DisplayErrorContext(&e).to_string()
}

/// An answer from the service, an error one included (`NoSuchEntity` is how IAM says
/// "absent", and rolecall's reads get it too), is a call made; anything else is a failure.
fn answered<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<(), String>
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match result {
        Ok(_) | Err(SdkError::ServiceError(_)) => Ok(()),
        Err(e) => Err(message(e)),
    }
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
                tolerate(
                    limit
                        .call(
                            iam.create_instance_profile()
                                .instance_profile_name(&role)
                                .send(),
                        )
                        .await,
                )?;
                tolerate(
                    limit
                        .call(
                            iam.add_role_to_instance_profile()
                                .instance_profile_name(&role)
                                .role_name(&role)
                                .send(),
                        )
                        .await,
                )
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

/// Baseline (i): a reader like kops's, one object at a time: for each role GetRole,
/// ListRolePolicies, GetRolePolicy for each, ListAttachedRolePolicies; then
/// GetInstanceProfile for each profile.
pub async fn sequential_reader(c: &Clients, cluster: &str, n: usize) -> Result<Duration, String> {
    let start = Instant::now();
    let mut roles = kops_roles(cluster);
    roles.extend((0..n).map(|i| spec::role_name(i, cluster)));
    let mut profiles = kops_roles(cluster);
    profiles.extend(
        (0..n)
            .filter(|i| spec::has_profile(*i))
            .map(|i| spec::role_name(i, cluster)),
    );
    for role in &roles {
        c.iam
            .get_role()
            .role_name(role)
            .send()
            .await
            .map_err(message)?;
        let mut names = Vec::new();
        let mut pages = c
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            names.extend(page.map_err(message)?.policy_names().iter().cloned());
        }
        for name in names {
            c.iam
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .map_err(message)?;
        }
        let mut pages = c
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            page.map_err(message)?;
        }
    }
    for profile in &profiles {
        c.iam
            .get_instance_profile()
            .instance_profile_name(profile)
            .send()
            .await
            .map_err(message)?;
    }
    Ok(start.elapsed())
}

/// Baseline (ii), bulk: the GetAccountAuthorizationDetails (Filter=Role) pages, nothing else.
pub async fn authorization_details(c: &Clients) -> Result<(Duration, usize), String> {
    let start = Instant::now();
    let mut pages = c
        .iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        .max_items(1000)
        .into_paginator()
        .send();
    let mut roles = 0;
    while let Some(page) = pages.next().await {
        roles += page.map_err(message)?.role_detail_list().len();
    }
    Ok((start.elapsed(), roles))
}

/// Baseline (ii), per object: the very requests rolecall sent (recorded by the proxy), sent
/// again with the SDK at the same concurrency, with no dependency between them.
pub async fn replay(
    c: &Clients,
    requests: Vec<Params>,
    concurrency: usize,
) -> Result<Duration, String> {
    let limit = Limit::new(concurrency);
    let jobs = requests
        .into_iter()
        .map(|params| {
            let (c, limit) = (c.clone(), limit.clone());
            async move { limit.call(replay_one(&c, &params)).await }
        })
        .collect();
    run_all(jobs).await
}

async fn replay_one(c: &Clients, params: &Params) -> Result<(), String> {
    let get = |k: &str| {
        params
            .iter()
            .find(|(name, _)| name == k)
            .map(|(_, v)| v.clone())
    };
    let max_items = get("MaxItems").and_then(|v| v.parse().ok());
    match get("Action").as_deref() {
        Some("GetRole") => answered(c.iam.get_role().set_role_name(get("RoleName")).send().await),
        Some("GetRolePolicy") => answered(
            c.iam
                .get_role_policy()
                .set_role_name(get("RoleName"))
                .set_policy_name(get("PolicyName"))
                .send()
                .await,
        ),
        Some("ListAttachedRolePolicies") => answered(
            c.iam
                .list_attached_role_policies()
                .set_role_name(get("RoleName"))
                .set_marker(get("Marker"))
                .send()
                .await,
        ),
        Some("ListRolePolicies") => answered(
            c.iam
                .list_role_policies()
                .set_role_name(get("RoleName"))
                .set_marker(get("Marker"))
                .send()
                .await,
        ),
        Some("GetInstanceProfile") => answered(
            c.iam
                .get_instance_profile()
                .set_instance_profile_name(get("InstanceProfileName"))
                .send()
                .await,
        ),
        Some("ListRoles") => answered(
            c.iam
                .list_roles()
                .set_max_items(max_items)
                .set_marker(get("Marker"))
                .send()
                .await,
        ),
        Some("GetAccountAuthorizationDetails") => answered(
            c.iam
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .set_max_items(max_items)
                .set_marker(get("Marker"))
                .send()
                .await,
        ),
        Some("GetOpenIDConnectProvider") => answered(
            c.iam
                .get_open_id_connect_provider()
                .set_open_id_connect_provider_arn(get("OpenIDConnectProviderArn"))
                .send()
                .await,
        ),
        Some("GetCallerIdentity") => answered(c.sts.get_caller_identity().send().await),
        Some("DescribeInstances") => {
            let mut filters = Vec::new();
            for i in 1.. {
                let Some(name) = get(&format!("Filter.{i}.Name")) else {
                    break;
                };
                let values = (1..)
                    .map_while(|j| get(&format!("Filter.{i}.Value.{j}")))
                    .collect::<Vec<_>>();
                filters.push(
                    aws_sdk_ec2::types::Filter::builder()
                        .name(name)
                        .set_values(Some(values))
                        .build(),
                );
            }
            answered(
                c.ec2
                    .describe_instances()
                    .set_filters(Some(filters))
                    .send()
                    .await,
            )
        }
        other => Err(format!("the replay does not know the action {other:?}")),
    }
}

/// Baseline (ii), first apply: the bare writes of the pod roles (CreateRole, then
/// PutRolePolicy and AttachRolePolicy), each role's writes in order, at most `concurrency`
/// calls in flight. Same tags, trust and documents as rolecall writes, to another cluster's
/// names.
pub async fn bare_writes(
    c: &Clients,
    cluster: &str,
    n: usize,
    policy_arn: &str,
    concurrency: usize,
) -> Result<Duration, String> {
    let limit = Limit::new(concurrency);
    let trust = format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {{\n      \"Effect\": \"Allow\",\n      \"Principal\": {{\n        \"AWS\": \"arn:aws:iam::000000000000:role/nodes.{cluster}\"\n      }},\n      \"Action\": \"sts:AssumeRole\"\n    }}\n  ]\n}}"
    );
    let tags = vec![
        Tag::builder()
            .key("KubernetesCluster")
            .value(cluster)
            .build()
            .map_err(|e| e.to_string())?,
        Tag::builder()
            .key(format!("kubernetes.io/cluster/{cluster}"))
            .value("owned")
            .build()
            .map_err(|e| e.to_string())?,
    ];
    let jobs = (0..n)
        .map(|i| {
            let (iam, limit) = (c.iam.clone(), limit.clone());
            let (role, trust, tags, arn) = (
                spec::role_name(i, cluster),
                trust.clone(),
                tags.clone(),
                policy_arn.to_string(),
            );
            async move {
                let create = iam
                    .create_role()
                    .role_name(&role)
                    .path("/")
                    .assume_role_policy_document(trust)
                    .set_tags(Some(tags));
                limit.call(create.send()).await.map_err(message)?;
                let put = iam
                    .put_role_policy()
                    .role_name(&role)
                    .policy_name(&role)
                    .policy_document(spec::document(i));
                let attach = iam.attach_role_policy().role_name(&role).policy_arn(arn);
                let (put, attach) = tokio::join!(limit.call(put.send()), limit.call(attach.send()));
                put.map_err(message)?;
                attach.map_err(message).map(drop)
            }
        })
        .collect();
    run_all(jobs).await
}

/// One boxed job for `run_all`.
type Job = std::pin::Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;

/// Deletes what a cluster of the benchmark left: the pod roles (with their seeded profiles,
/// inline policy and attachment) and the kops roles with whatever they hold.
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
                tolerate(
                    limit
                        .call(
                            iam.remove_role_from_instance_profile()
                                .instance_profile_name(&role)
                                .role_name(&role)
                                .send(),
                        )
                        .await,
                )?;
                tolerate(
                    limit
                        .call(
                            iam.delete_instance_profile()
                                .instance_profile_name(&role)
                                .send(),
                        )
                        .await,
                )?;
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
    run_all(jobs).await.map(drop)
}

async fn delete_role_fully(
    iam: &aws_sdk_iam::Client,
    limit: &Limit,
    role: &str,
) -> Result<(), String> {
    let profiles = match limit
        .call(iam.list_instance_profiles_for_role().role_name(role).send())
        .await
    {
        Ok(out) => out.instance_profiles().to_vec(),
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(()),
        Err(e) => return Err(message(e)),
    };
    for p in profiles {
        let name = p.instance_profile_name();
        tolerate(
            limit
                .call(
                    iam.remove_role_from_instance_profile()
                        .instance_profile_name(name)
                        .role_name(role)
                        .send(),
                )
                .await,
        )?;
        tolerate(
            limit
                .call(
                    iam.delete_instance_profile()
                        .instance_profile_name(name)
                        .send(),
                )
                .await,
        )?;
    }
    let inline = match limit
        .call(iam.list_role_policies().role_name(role).send())
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(()),
        Err(e) => return Err(message(e)),
    };
    for name in inline.policy_names() {
        tolerate(
            limit
                .call(
                    iam.delete_role_policy()
                        .role_name(role)
                        .policy_name(name)
                        .send(),
                )
                .await,
        )?;
    }
    let attached = match limit
        .call(iam.list_attached_role_policies().role_name(role).send())
        .await
    {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchEntity") => return Ok(()),
        Err(e) => return Err(message(e)),
    };
    for p in attached.attached_policies() {
        if let Some(arn) = p.policy_arn() {
            tolerate(
                limit
                    .call(
                        iam.detach_role_policy()
                            .role_name(role)
                            .policy_arn(arn)
                            .send(),
                    )
                    .await,
            )?;
        }
    }
    tolerate(limit.call(iam.delete_role().role_name(role).send()).await)
}

/// How many roles the account holds (GAAD's cost grows with it).
pub async fn account_roles(c: &Clients) -> Result<usize, String> {
    authorization_details(c).await.map(|(_, roles)| roles)
}
