//! Large accounts as IAM pages them (issue 17, point 3): an account of many other roles,
//! GetAccountAuthorizationDetails paged by the proxy as IAM pages it (LocalStack answers it
//! whole), and the no-op plan of a small and a large cluster in that account with each
//! fetch strategy, to check that `--fetch auto` takes the faster one.
//!
//! The account's other roles are real roles in LocalStack, made once per run with aws-sdk-iam
//! (another tool's roles: a trust policy, one small inline policy, every fourth with a managed
//! policy attached) and deleted at the end unless `SCALE_KEEP`. Environment:
//! - `SCALE_PAGING_ROLES=10000`: the roles in the account besides the cluster's
//!   (`SCALE_PAGING_ROLES=` or `0` skips the experiment).
//! - `SCALE_PAGING_N=30,1000`: the clusters' sizes.
//!
//! The pages' time is a model (`proxy::Paging`): each request is held for the round trip
//! (`SCALE_DELAY_MS`, 50 ms) and each page besides for LocalStack's own time per role to
//! build the whole answer, measured here before the clusters are made.

use std::time::Duration;

use crate::aws::{self, Limit};
use crate::measure::Bench;
use crate::proxy::{Paging, RecordingProxy};
use crate::results::{Fetch, Phase};
use crate::{list, CONCURRENCY};

/// The concurrency of the writes around the measured plans (see `cluster_runs`).
const WRITE_CONCURRENCY: usize = 1;

/// One cluster's no-op plans in the large account.
pub struct ClusterRuns {
    pub n: usize,
    /// The account's roles, the cluster's included, as the pages showed them.
    pub account_roles: usize,
    pub runs: Vec<(Fetch, Phase)>,
}

pub struct PagingResult {
    pub others: usize,
    /// How long making the other roles took.
    pub made_in: Duration,
    /// LocalStack's time to build every role's details in one answer, and the roles in it.
    pub whole_answer: (Duration, usize),
    pub paging: Paging,
    pub clusters: Vec<ClusterRuns>,
}

/// The other roles' names: nothing rolecall would take for a cluster's. `SCALE_PAGING_PREFIX`
/// names those an earlier run kept (`SCALE_KEEP`), to be reused.
fn other_role(run_id: &str, i: usize) -> String {
    let prefix =
        std::env::var("SCALE_PAGING_PREFIX").unwrap_or_else(|_| format!("other-tool-{run_id}"));
    format!("{prefix}-{i:05}")
}

/// The names of the account's roles (ListRoles, every page).
async fn existing_roles(
    iam: &aws_sdk_iam::Client,
) -> Result<std::collections::HashSet<String>, String> {
    let mut pages = iam.list_roles().max_items(1000).into_paginator().send();
    let mut names = std::collections::HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(aws::message)?;
        names.extend(page.roles().iter().map(|r| r.role_name().to_string()));
    }
    Ok(names)
}

/// A call again while LocalStack answers InternalError ("dictionary changed size during
/// iteration" under concurrent writes), up to ten times.
async fn persist<T, E, R, F, Fut>(limit: &Limit, f: F) -> Result<T, String>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, aws_sdk_iam::error::SdkError<E, R>>>,
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let mut attempt = 0;
    loop {
        attempt += 1;
        match limit.call(f()).await {
            Ok(out) => return Ok(out),
            Err(e)
                if attempt < 10
                    && aws_sdk_iam::error::ProvideErrorMetadata::code(&e)
                        == Some("InternalError") =>
            {
                tokio::time::sleep(Duration::from_millis(100 * attempt)).await
            }
            Err(e) => return Err(aws::message(e)),
        }
    }
}

/// Runs the experiment unless `SCALE_PAGING_ROLES` says not to.
pub async fn run(bench: &Bench) -> Option<PagingResult> {
    let others = list("SCALE_PAGING_ROLES", "10000").first().copied()?;
    if others == 0 {
        return None;
    }
    let sizes = list("SCALE_PAGING_N", "30,1000");
    let made_in = make_other_roles(bench, others)
        .await
        .expect("make the account's other roles");
    eprintln!(
        "scale: paging: {others} other roles made in {:.0}s",
        made_in.as_secs_f64()
    );

    let paged = RecordingProxy::start_without_nagle(&bench.cfg.endpoint).await;
    paged.page_role_details(Paging::sizes_only());
    let whole_answer = paged
        .prefetch_pages()
        .await
        .expect("read every role's details");
    let (took, roles) = (whole_answer.1, whole_answer.0);
    let paging = Paging {
        page_cap: 1000,
        base: bench.cfg.delay,
        per_role: took / roles.max(1) as u32,
    };
    paged.delay(bench.cfg.delay);
    paged.page_role_details(paging);
    eprintln!(
        "scale: paging: LocalStack builds {roles} roles' details in {:.2}s: {:.0} us a role",
        took.as_secs_f64(),
        paging.per_role.as_secs_f64() * 1e6
    );

    let mut clusters = Vec::new();
    for n in sizes {
        clusters.push(cluster_runs(bench, &paged, n).await);
    }
    if !bench.cfg.keep {
        delete_other_roles(bench, others)
            .await
            .expect("delete the account's other roles");
    }
    Some(PagingResult {
        others,
        made_in,
        whole_answer: (took, roles),
        paging,
        clusters,
    })
}

/// A converged cluster of `n` roles, then its no-op plan with each strategy through the
/// paging proxy, each after a fresh read of the account for the pages to be cut from.
async fn cluster_runs(bench: &Bench, paged: &RecordingProxy, n: usize) -> ClusterRuns {
    let cluster = format!("{}-{n}-pg.k8s.local", bench.run_id);
    let (spec, _) = bench.spec_files(&cluster, n);
    let label = "paging-apply".to_string();
    // Through the paging proxy too, from a read taken first: LocalStack's one answer for
    // the whole account can take longer than rolecall's 30 s attempt timeout.
    paged
        .prefetch_pages()
        .await
        .expect("read every role's details");
    // One call at a time: the apply only sets the scene, and LocalStack races concurrent
    // writes in an account this large (`InternalError: dictionary changed size during
    // iteration` on CreateRole, 100 of 1,000 at c=8 in run s5kqrnb).
    bench
        .first_apply(
            paged,
            &cluster,
            &spec,
            Fetch::Auto,
            WRITE_CONCURRENCY,
            label,
        )
        .await;
    let mut runs = Vec::new();
    let mut account_roles = 0;
    for fetch in [Fetch::PerObject, Fetch::Bulk, Fetch::Auto] {
        // LocalStack's own time to build the answer is not the model's: read it first.
        let (roles, _) = paged
            .prefetch_pages()
            .await
            .expect("read every role's details");
        account_roles = roles;
        let label = format!("paging-noop-{}", fetch.tag());
        let run = bench
            .rolecall(paged, &spec, false, fetch, CONCURRENCY, label)
            .await;
        if run.run.exit != 0
            || !run
                .run
                .stdout_text()
                .contains("No changes need to be applied")
        {
            eprintln!(
                "scale: paging: the no-op plan of {cluster} is not one (exit {}): see {}",
                run.run.exit,
                run.run.stdout.display()
            );
        }
        eprintln!(
            "scale: paging: N={n} in {roles} roles, --fetch {}: {:.2}s, {} calls, {:.1} MB",
            fetch.arg(),
            run.run.wall.as_secs_f64(),
            run.total(),
            run.mib()
        );
        runs.push((fetch, run));
    }
    bench.clean_up_at(&cluster, n, WRITE_CONCURRENCY).await;
    ClusterRuns {
        n,
        account_roles,
        runs,
    }
}

/// Another tool's roles, made directly at the bench's concurrency: a trust policy, one small
/// inline policy, every fourth with the run's managed policy attached.
async fn make_other_roles(bench: &Bench, count: usize) -> Result<Duration, String> {
    let limit = Limit::new(CONCURRENCY);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let existing = existing_roles(&bench.direct.iam).await?;
    let jobs = (0..count)
        .filter(|i| !existing.contains(&other_role(&bench.run_id, *i)))
        .map(|i| {
            let (iam, limit, arn) = (
                bench.direct.iam.clone(),
                limit.clone(),
                bench.policy_arn.clone(),
            );
            let role = other_role(&bench.run_id, i);
            async move {
                persist(&limit, || {
                    iam.create_role()
                        .role_name(&role)
                        .assume_role_policy_document(trust)
                        .send()
                })
                .await?;
                let document = format!(
                    r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"arn:aws:logs:us-east-1:000000000000:log-group:/fn/{i:05}:*"}}]}}"#
                );
                persist(&limit, || {
                    iam.put_role_policy()
                        .role_name(&role)
                        .policy_name("logs")
                        .policy_document(&document)
                        .send()
                })
                .await?;
                if i % 4 == 0 {
                    persist(&limit, || {
                        iam.attach_role_policy()
                            .role_name(&role)
                            .policy_arn(&arn)
                            .send()
                    })
                    .await?;
                }
                Ok(())
            }
        })
        .collect();
    aws::run_all(jobs).await
}

async fn delete_other_roles(bench: &Bench, count: usize) -> Result<Duration, String> {
    let limit = Limit::new(CONCURRENCY);
    let jobs = (0..count)
        .map(|i| {
            let (iam, limit, arn) = (
                bench.direct.iam.clone(),
                limit.clone(),
                bench.policy_arn.clone(),
            );
            let role = other_role(&bench.run_id, i);
            async move {
                persist(&limit, || {
                    iam.delete_role_policy()
                        .role_name(&role)
                        .policy_name("logs")
                        .send()
                })
                .await?;
                if i % 4 == 0 {
                    persist(&limit, || {
                        iam.detach_role_policy()
                            .role_name(&role)
                            .policy_arn(&arn)
                            .send()
                    })
                    .await?;
                }
                persist(&limit, || iam.delete_role().role_name(&role).send()).await?;
                Ok(())
            }
        })
        .collect();
    aws::run_all(jobs).await
}

/// The report's section.
pub fn render(r: &PagingResult) -> String {
    let mut out = String::from("\n### Large accounts as IAM pages them\n\n");
    out += &format!(
        "{} other roles made in the account ({:.0} s at c={CONCURRENCY}), then for each cluster a first apply and its no-op plan with each strategy, through a proxy that pages GetAccountAuthorizationDetails as IAM does (MaxItems, at most {} roles a page, IsTruncated, Marker) and holds every request {} ms and each page besides {:.0} us per role on it (LocalStack's own time per role: it built all {} roles' details in {:.2} s). One run each.\n\n",
        r.others,
        r.made_in.as_secs_f64(),
        r.paging.page_cap,
        r.paging.base.as_millis(),
        r.paging.per_role.as_secs_f64() * 1e6,
        r.whole_answer.1,
        r.whole_answer.0.as_secs_f64(),
    );
    out += "| cluster roles | roles in the account | --fetch | no-op plan (s) | calls | GAAD pages | peak RSS (MB) |\n|---|---|---|---|---|---|---|\n";
    for c in &r.clusters {
        for (fetch, phase) in &c.runs {
            let fetch = match fetch {
                Fetch::Auto => format!("auto ({})", phase.resolved().arg()),
                other => other.arg().to_string(),
            };
            out += &format!(
                "| {} | {} | {fetch} | {:.2} | {} | {} | {:.1} |\n",
                c.n,
                c.account_roles,
                phase.run.wall.as_secs_f64(),
                phase.total(),
                phase
                    .calls
                    .get("GetAccountAuthorizationDetails")
                    .copied()
                    .unwrap_or(0),
                phase.mib()
            );
        }
    }
    out += "\n";
    for c in &r.clusters {
        let time = |f: Fetch| {
            c.runs
                .iter()
                .find(|(g, _)| *g == f)
                .map(|(_, p)| p)
                .expect("each strategy ran")
        };
        let (per_object, bulk, auto) =
            (time(Fetch::PerObject), time(Fetch::Bulk), time(Fetch::Auto));
        let faster = if per_object.run.wall <= bulk.run.wall {
            Fetch::PerObject
        } else {
            Fetch::Bulk
        };
        out += &format!(
            "- {} roles: per object {:.2} s, bulk {:.2} s: the faster is {}; auto took {} ({}).\n",
            c.n,
            per_object.run.wall.as_secs_f64(),
            bulk.run.wall.as_secs_f64(),
            faster.arg(),
            auto.resolved().arg(),
            if auto.resolved() == faster {
                "right"
            } else {
                "WRONG"
            }
        );
    }
    let peak = r
        .clusters
        .iter()
        .flat_map(|c| c.runs.iter().map(|(_, p)| p.mib()))
        .fold(0.0, f64::max);
    out += &format!(
        "- Peak RSS of any of these runs: {peak:.1} MB (target: under 150 MB at 10,000 roles): {}.\n",
        if peak < 150.0 { "met" } else { "MISSED" }
    );
    out
}
