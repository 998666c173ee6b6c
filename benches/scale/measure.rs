//! The measurements: for each size, the three fetch strategies (first apply, no-op plan
//! against its bare minimum, 10% change), each on a cluster of its own, then the baselines;
//! at one size the concurrency experiment, and at another the latency check, through a
//! proxy that delays every request.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::proxy::RecordingProxy;
use crate::results::{
    DelayResult, DelayRow, Fetch, LatencyCheck, Minimum, Phase, SizeResult, StrategyResult,
};
use crate::{aws, baselines, run, spec, Config, CONCURRENCY};

pub struct Bench {
    pub cfg: Config,
    pub bin: PathBuf,
    pub dir: PathBuf,
    pub run_id: String,
    pub direct: aws::Clients,
    pub counting: Arc<RecordingProxy>,
    pub via_proxy: aws::Clients,
    pub policy_arn: String,
    /// The peak RSS the measuring helper passes on, in KiB.
    pub floor_kib: i64,
    /// `SCALE_COMPARE_BIN`: another rolecall whose no-op plans are measured beside this
    /// one's, pair by pair, so that a change's cost is a ratio from one run.
    pub compare_bin: Option<PathBuf>,
}

/// What `work` took, and how many requests `proxy` saw meanwhile.
async fn counted(
    proxy: &RecordingProxy,
    work: impl Future<Output = Result<Duration, String>>,
    what: &str,
) -> (Duration, u64) {
    proxy.take_counts();
    let took = work.await.expect(what);
    (took, proxy.take_counts().values().sum())
}

impl Bench {
    /// The spec of `cluster` with `n` pod roles, and the spec after the 10% change.
    pub fn spec_files(&self, cluster: &str, n: usize) -> (PathBuf, PathBuf) {
        let base = self.dir.join(cluster);
        std::fs::create_dir_all(&base).expect("create the cluster's dir");
        let (spec, changed) = (base.join("cluster.yaml"), base.join("cluster-changed.yaml"));
        std::fs::write(&spec, spec::render(cluster, n, &self.policy_arn, false))
            .expect("write spec");
        std::fs::write(&changed, spec::render(cluster, n, &self.policy_arn, true))
            .expect("write spec");
        (spec, changed)
    }

    /// A proxy that holds every request for the configured delay before passing it on, and
    /// clients through it. The delay stands in for the round trip to IAM's global endpoint:
    /// LocalStack answers on loopback in about 6 ms, a real account in tens of milliseconds.
    /// Each request is held on its own connection, so requests in flight at once wait at
    /// once, as on a real network.
    pub(crate) async fn delaying_proxy(&self) -> (RecordingProxy, aws::Clients) {
        let slow = RecordingProxy::start_without_nagle(&self.cfg.endpoint).await;
        slow.delay(self.cfg.delay);
        let via_slow = aws::Clients::new(&slow.endpoint).await;
        (slow, via_slow)
    }

    /// Deletes what the run made for `cluster`, unless told to keep it.
    pub async fn clean_up(&self, cluster: &str, n: usize) {
        self.clean_up_at(cluster, n, CONCURRENCY).await
    }

    /// `clean_up` with `concurrency` calls in flight.
    pub async fn clean_up_at(&self, cluster: &str, n: usize, concurrency: usize) {
        if !self.cfg.keep {
            aws::clean_up(&self.direct, cluster, n, &self.policy_arn, concurrency)
                .await
                .expect("clean up");
        }
    }

    /// `rolecall update -f spec [--yes] --fetch F --concurrency C` through `proxy`.
    pub async fn rolecall(
        &self,
        proxy: &RecordingProxy,
        spec: &Path,
        yes: bool,
        fetch: Fetch,
        concurrency: usize,
        label: String,
    ) -> Phase {
        let bin = self.bin.clone();
        self.rolecall_of(&bin, proxy, spec, yes, fetch, concurrency, label)
            .await
    }

    /// The same, with the binary `bin`.
    #[allow(clippy::too_many_arguments)] // `rolecall`'s arguments and the binary.
    async fn rolecall_of(
        &self,
        bin: &Path,
        proxy: &RecordingProxy,
        spec: &Path,
        yes: bool,
        fetch: Fetch,
        concurrency: usize,
        label: String,
    ) -> Phase {
        let mut args: Vec<String> = vec![
            "update".into(),
            "-f".into(),
            spec.display().to_string(),
            "--endpoint-url".into(),
            proxy.endpoint.clone(),
            "--fetch".into(),
            fetch.arg().into(),
            "--concurrency".into(),
            concurrency.to_string(),
        ];
        if yes {
            args.push("--yes".into());
        }
        // SCALE_KOPS_VERSION=1.36 builds the same cluster as kops 1.36 would.
        if let Ok(version) = std::env::var("SCALE_KOPS_VERSION") {
            args.extend(["--kops-version".into(), version]);
        }
        proxy.take_counts();
        let (bin, dir) = (
            bin.to_path_buf(),
            spec.parent().expect("spec in a dir").to_path_buf(),
        );
        let run = tokio::task::spawn_blocking(move || run::rolecall(&bin, &args, &dir, &label))
            .await
            .expect("rolecall runner");
        let calls = proxy.take_counts();
        if run.exit != 0 {
            eprintln!(
                "scale: rolecall exited with {} (output in {}):\n{}",
                run.exit,
                run.stdout.display(),
                run.stderr_tail()
            );
        }
        Phase { run, calls }
    }

    /// The first apply of `cluster` from `spec`, which must succeed.
    pub(crate) async fn first_apply(
        &self,
        proxy: &RecordingProxy,
        cluster: &str,
        spec: &Path,
        fetch: Fetch,
        concurrency: usize,
        label: String,
    ) -> Phase {
        let apply = self
            .rolecall(proxy, spec, true, fetch, concurrency, label)
            .await;
        assert_eq!(apply.run.exit, 0, "first apply of {cluster} failed");
        apply
    }

    /// Everything for one size: the three strategies, each on its own cluster, then the
    /// baselines.
    pub async fn size(&self, n: usize) -> (SizeResult, Option<DelayResult>) {
        let account_roles = baselines::account_roles(&self.direct)
            .await
            .expect("count the account's roles");
        eprintln!("scale: N={n}: the account holds {account_roles} roles before");
        let mut strategies = Vec::new();
        let (mut sequential, mut delayed, mut latency) = (None, None, None);
        let order = [Fetch::PerObject, Fetch::Bulk, Fetch::Auto];
        for (k, fetch) in order.into_iter().enumerate() {
            let cluster = format!("{}-{n}-{}.k8s.local", self.run_id, fetch.tag());
            let (spec, changed) = self.spec_files(&cluster, n);
            let t = Instant::now();
            let (counting, via) = (&*self.counting, &self.via_proxy);

            let apply = self
                .first_apply(
                    counting,
                    &cluster,
                    &spec,
                    fetch,
                    CONCURRENCY,
                    "apply".into(),
                )
                .await;
            let profiles_seeded = aws::seed_profiles(&self.direct, &cluster, n, CONCURRENCY)
                .await
                .expect("seed instance profiles");
            let (noop, noop_is_noop, minimum, noop_compared) = self
                .noop_and_minimum(counting, via, &spec, fetch, n, "noop")
                .await;
            let change = self
                .rolecall(
                    counting,
                    &changed,
                    true,
                    fetch,
                    CONCURRENCY,
                    "change".into(),
                )
                .await;
            assert_eq!(change.run.exit, 0, "10% change of {cluster} failed");

            if k + 1 == order.len() {
                // The converged cluster, read one object at a time as kops does.
                let reader = baselines::sequential_reader(via, &cluster, n);
                let read = counted(counting, reader, "sequential reader").await;
                sequential = Some(read);
                if n == self.cfg.delay_n && !self.cfg.levels.is_empty() {
                    delayed = Some(self.delay_experiment(&cluster, n, &changed).await);
                }
                if Some(n) == self.cfg.latency_n {
                    latency = Some(self.latency_check(n, &changed, read.1).await);
                }
            }
            self.clean_up(&cluster, n).await;
            eprintln!(
                "scale: N={n} --fetch {}: apply {:.2}s, no-op {:.2}s, change {:.2}s ({:.0}s with baselines and clean-up)",
                fetch.arg(),
                apply.run.wall.as_secs_f64(),
                noop.run.wall.as_secs_f64(),
                change.run.wall.as_secs_f64(),
                t.elapsed().as_secs_f64()
            );
            strategies.push(StrategyResult {
                fetch,
                apply,
                noop,
                noop_is_noop,
                noop_compared,
                change,
                minimum,
                profiles_seeded,
            });
        }

        // The bare writes of a first apply, to another cluster's names.
        let cluster = format!("{}-{n}-bw.k8s.local", self.run_id);
        let writes =
            baselines::bare_writes(&self.via_proxy, &cluster, n, &self.policy_arn, CONCURRENCY);
        let bare_writes = counted(&self.counting, writes, "bare writes").await;
        self.clean_up(&cluster, n).await;
        let size = SizeResult {
            n,
            account_roles,
            strategies,
            sequential: sequential.expect("the last strategy ran the sequential reader"),
            bare_writes,
            latency,
        };
        (size, delayed)
    }

    /// The no-op plan of a converged cluster and its bare minimum (the GAAD pages when
    /// rolecall read in bulk, else the very reads it sent, replayed), in pairs, so that both
    /// of a pair meet the server in the same state: the median of 5 pairs when the plan
    /// reads in bulk, of 3 when it reads object by object, 1 at N > 100 per object (that one
    /// takes seconds). Returns the median no-op run, whether it was a no-op, and the minimum.
    async fn noop_and_minimum(
        &self,
        proxy: &RecordingProxy,
        via: &aws::Clients,
        spec: &Path,
        fetch: Fetch,
        n: usize,
        label: &str,
    ) -> (Phase, bool, Minimum, Option<Phase>) {
        let mut noops = Vec::new();
        let mut compared = Vec::new();
        let mut minimums = Vec::new();
        let mut minimum_calls = 0;
        let mut repeats = 1;
        let mut bulk = false;
        let mut r = 0;
        while r < repeats {
            proxy.start_recording();
            let run = self
                .rolecall(
                    proxy,
                    spec,
                    false,
                    fetch,
                    CONCURRENCY,
                    format!("{label}-{r}"),
                )
                .await;
            let records = proxy.take_records();
            if r == 0 {
                bulk = run.resolved() == Fetch::Bulk;
                repeats = if bulk {
                    5
                } else if n <= 100 || self.compare_bin.is_some() {
                    // A comparison needs more than one pair to say anything.
                    3
                } else {
                    1
                };
            }
            if let Some(other) = &self.compare_bin {
                // Right after this binary's run, in the same state of the account.
                let label = format!("{label}-compared-{r}");
                let run = self
                    .rolecall_of(other, proxy, spec, false, fetch, CONCURRENCY, label)
                    .await;
                compared.push(run);
            }
            noops.push(run);
            let (took, calls) = if bulk {
                let pages = async {
                    baselines::authorization_details(via)
                        .await
                        .map(|(took, _)| took)
                };
                counted(proxy, pages, "GAAD baseline").await
            } else {
                let replay = baselines::replay(via, records, CONCURRENCY);
                counted(proxy, replay, "replay baseline").await
            };
            minimum_calls = calls;
            minimums.push(took);
            r += 1;
        }
        noops.sort_by_key(|p| p.run.wall);
        compared.sort_by_key(|p| p.run.wall);
        minimums.sort();
        let noop = noops.swap_remove(noops.len() / 2);
        let compared = (!compared.is_empty()).then(|| compared.swap_remove(compared.len() / 2));
        let is_noop = noop.run.exit == 0
            && noop
                .run
                .stdout_text()
                .contains("No changes need to be applied");
        if !is_noop {
            eprintln!(
                "scale: the plan of {} is not empty: see {}",
                spec.display(),
                noop.run.stdout.display()
            );
        }
        let what = if bulk {
            "GAAD Filter=Role pages".to_string()
        } else {
            format!("its reads replayed, c={CONCURRENCY}")
        };
        (
            noop,
            is_noop,
            (what, minimums[minimums.len() / 2], minimum_calls),
            compared,
        )
    }

    /// Through the delaying proxy, at concurrency 8: the default no-op plan of the converged
    /// cluster (`spec`) against its bare minimum, and a first apply of a fresh cluster against
    /// the bare writes to yet another.
    async fn latency_check(&self, n: usize, spec: &Path, sequential_calls: u64) -> LatencyCheck {
        let (slow, via_slow) = self.delaying_proxy().await;
        let (noop, _, minimum, _) = self
            .noop_and_minimum(&slow, &via_slow, spec, Fetch::Auto, n, "latency-noop")
            .await;
        let fresh = format!("{}-{n}-la.k8s.local", self.run_id);
        let (fresh_spec, _) = self.spec_files(&fresh, n);
        let label = "latency-apply".to_string();
        let apply = self
            .first_apply(&slow, &fresh, &fresh_spec, Fetch::Auto, CONCURRENCY, label)
            .await;
        let writes = format!("{}-{n}-lw.k8s.local", self.run_id);
        let bare = baselines::bare_writes(&via_slow, &writes, n, &self.policy_arn, CONCURRENCY);
        let bare_writes = counted(&slow, bare, "bare writes").await;
        for cluster in [&fresh, &writes] {
            self.clean_up(cluster, n).await;
        }
        eprintln!(
            "scale: N={n} through {} ms: no-op {:.2}s (minimum {:.2}s), first apply {:.2}s (bare writes {:.2}s)",
            self.cfg.delay.as_millis(),
            noop.run.wall.as_secs_f64(),
            minimum.1.as_secs_f64(),
            apply.run.wall.as_secs_f64(),
            bare_writes.0.as_secs_f64()
        );
        LatencyCheck {
            noop,
            minimum,
            apply,
            bare_writes,
            sequential_calls,
        }
    }

    /// The no-op plan of a converged cluster through a proxy that holds each request for
    /// the configured delay, at each concurrency level, with the baselines through it too.
    async fn delay_experiment(&self, cluster: &str, n: usize, spec: &Path) -> DelayResult {
        let (slow, via_slow) = self.delaying_proxy().await;
        let mut rows = Vec::new();
        let mut records = Vec::new();
        for &c in &self.cfg.levels {
            if c == CONCURRENCY {
                slow.start_recording();
            }
            let per_object = self
                .rolecall(
                    &slow,
                    spec,
                    false,
                    Fetch::PerObject,
                    c,
                    format!("delay-po-c{c}"),
                )
                .await;
            if c == CONCURRENCY {
                records = slow.take_records();
            }
            let bulk = self
                .rolecall(&slow, spec, false, Fetch::Bulk, c, format!("delay-bk-c{c}"))
                .await;
            // A first apply at this concurrency, to a fresh cluster: writes are where
            // concurrency still matters once reads are bulk.
            let fresh = format!("{}-{n}-d{c}.k8s.local", self.run_id);
            let (fresh_spec, _) = self.spec_files(&fresh, n);
            let label = format!("delay-apply-c{c}");
            let apply = self
                .first_apply(&slow, &fresh, &fresh_spec, Fetch::Auto, c, label)
                .await;
            self.clean_up(&fresh, n).await;
            eprintln!(
                "scale: N={n} through {} ms: c={c}: no-op per-object {:.2}s, bulk {:.2}s; first apply {:.2}s",
                self.cfg.delay.as_millis(),
                per_object.run.wall.as_secs_f64(),
                bulk.run.wall.as_secs_f64(),
                apply.run.wall.as_secs_f64()
            );
            rows.push(DelayRow {
                concurrency: c,
                per_object,
                bulk,
                apply,
            });
        }
        let fresh = format!("{}-{n}-dbw.k8s.local", self.run_id);
        let writes = baselines::bare_writes(&via_slow, &fresh, n, &self.policy_arn, CONCURRENCY);
        let bare_writes = counted(&slow, writes, "bare writes").await;
        self.clean_up(&fresh, n).await;
        let reader = baselines::sequential_reader(&via_slow, cluster, n);
        let sequential = counted(&slow, reader, "sequential reader").await;
        let replay = if records.is_empty() {
            (Duration::ZERO, 0)
        } else {
            let count = records.len() as u64;
            let took = baselines::replay(&via_slow, records, CONCURRENCY)
                .await
                .expect("replay");
            (took, count)
        };
        DelayResult {
            n,
            rows,
            sequential,
            replay,
            bare_writes,
        }
    }
}
