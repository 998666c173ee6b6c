//! The baselines rolecall is measured against, sent with aws-sdk-iam from the benchmark
//! itself: a sequential kops-like reader, and the bare minimum reads and writes at a fixed
//! concurrency.

use std::time::{Duration, Instant};

use aws_sdk_iam::error::SdkError;
use aws_sdk_iam::types::{EntityType, Tag};

use crate::aws::{kops_roles, message, run_all, Clients, Limit};
use crate::proxy::Params;
use crate::spec;

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
    // The request `$call`, with each named parameter passed to its setter, sent.
    macro_rules! again {
        ($call:expr $(, $setter:ident = $param:literal)*) => {
            answered($call$(.$setter(get($param)))*.send().await)
        };
    }
    match get("Action").as_deref() {
        Some("GetRole") => again!(c.iam.get_role(), set_role_name = "RoleName"),
        Some("GetRolePolicy") => again!(
            c.iam.get_role_policy(),
            set_role_name = "RoleName",
            set_policy_name = "PolicyName"
        ),
        Some("ListAttachedRolePolicies") => again!(
            c.iam.list_attached_role_policies(),
            set_role_name = "RoleName",
            set_marker = "Marker"
        ),
        Some("ListRolePolicies") => again!(
            c.iam.list_role_policies(),
            set_role_name = "RoleName",
            set_marker = "Marker"
        ),
        Some("GetInstanceProfile") => again!(
            c.iam.get_instance_profile(),
            set_instance_profile_name = "InstanceProfileName"
        ),
        Some("ListRoles") => again!(
            c.iam.list_roles().set_max_items(max_items),
            set_marker = "Marker"
        ),
        Some("GetAccountAuthorizationDetails") => again!(
            c.iam
                .get_account_authorization_details()
                .filter(EntityType::Role)
                .set_max_items(max_items),
            set_marker = "Marker"
        ),
        Some("GetOpenIDConnectProvider") => again!(
            c.iam.get_open_id_connect_provider(),
            set_open_id_connect_provider_arn = "OpenIDConnectProviderArn"
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
    let trust = |i: usize| irsa_trust(cluster, i);
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
                trust(i),
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

/// An IRSA trust of the shape rolecall writes for pod role `i` of `cluster`: the cluster's
/// provider, one service account. The bare writes and Terraform write it.
pub fn irsa_trust(cluster: &str, i: usize) -> String {
    let issuer = format!("rolecall-oidc.s3.us-east-1.amazonaws.com/{cluster}");
    serde_json::to_string_pretty(&serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::000000000000:oidc-provider/{issuer}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:sub"): format!("system:serviceaccount:{}:{}", spec::namespace(i), spec::service_account(i)),
                format!("{issuer}:aud"): ["sts.amazonaws.com"]
            }}
        }]
    }))
    .expect("a JSON value")
}

/// How many roles the account holds (GAAD's cost grows with it).
pub async fn account_roles(c: &Clients) -> Result<usize, String> {
    authorization_details(c).await.map(|(_, roles)| roles)
}
