//! The scale benchmark of issue 6: rolecall against LocalStack with N = 10, 100 and 1000
//! kube2iam pod roles, for each fetch strategy, beside baselines sent with aws-sdk-iam from
//! here in the same run. Method, results and targets: docs/performance.md.
//!
//!     cargo build --release && cargo bench --bench scale
//!
//! It measures target/release/rolecall and does not build it (see `prepare_binary`).
//!
//! Environment (all optional):
//! - `SCALE_N=10,100,1000`: the sizes.
//! - `SCALE_ENDPOINT=http://127.0.0.1:4566`: LocalStack (started with localstack/start.sh
//!   when it is the default and none answers).
//! - `SCALE_DELAY_MS=50`, `SCALE_LEVELS=1,4,8,16`, `SCALE_DELAY_N=100`: the concurrency
//!   experiment through the delaying proxy (`SCALE_LEVELS=` skips it).
//! - `SCALE_LATENCY_N=1000`: the size at which the no-op plan and the first apply are also
//!   measured through the delaying proxy (`SCALE_LATENCY_N=` skips it).
//! - `SCALE_KEEP=1`: leave what the run made in the account.
//! - `ROLECALL_BIN`: the binary to measure instead of target/release/rolecall.

#[path = "scale/aws.rs"]
mod aws;
#[allow(dead_code)] // The bench renders its own pod roles into the tests' cluster.
#[path = "../tests/common/spec.rs"]
mod cluster_yaml;
#[allow(dead_code)] // The bench counts, records and delays; it injects no faults.
#[path = "../tests/common/proxy.rs"]
mod proxy;
#[path = "scale/run.rs"]
mod run;
#[path = "scale/spec.rs"]
mod spec;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use proxy::RecordingProxy;
use run::Run;

/// rolecall's default, and the baselines' concurrency.
const CONCURRENCY: usize = 8;

struct Config {
    sizes: Vec<usize>,
    endpoint: String,
    delay: Duration,
    levels: Vec<usize>,
    delay_n: usize,
    latency_n: Option<usize>,
    keep: bool,
}

fn list(var: &str, default: &str) -> Vec<usize> {
    std::env::var(var)
        .unwrap_or_else(|_| default.to_string())
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            s.trim()
                .parse()
                .unwrap_or_else(|_| panic!("{var}: {s:?} is not a number"))
        })
        .collect()
}

impl Config {
    fn from_env() -> Config {
        let flag = |var: &str| std::env::var(var).is_ok_and(|v| v != "0" && !v.is_empty());
        Config {
            sizes: list("SCALE_N", "10,100,1000"),
            endpoint: std::env::var("SCALE_ENDPOINT")
                .unwrap_or_else(|_| "http://127.0.0.1:4566".into()),
            delay: Duration::from_millis(
                list("SCALE_DELAY_MS", "50").first().copied().unwrap_or(50) as u64,
            ),
            levels: list("SCALE_LEVELS", "1,4,8,16"),
            delay_n: list("SCALE_DELAY_N", "100").first().copied().unwrap_or(100),
            latency_n: list("SCALE_LATENCY_N", "1000").first().copied(),
            keep: flag("SCALE_KEEP"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fetch {
    PerObject,
    Bulk,
    Auto,
}

impl Fetch {
    fn arg(self) -> &'static str {
        match self {
            Fetch::PerObject => "per-object",
            Fetch::Bulk => "bulk",
            Fetch::Auto => "auto",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Fetch::PerObject => "po",
            Fetch::Bulk => "bk",
            Fetch::Auto => "au",
        }
    }
}

/// One rolecall run, with the requests the proxy saw.
struct Phase {
    run: Run,
    /// Requests by action, as the proxy counted them.
    calls: BTreeMap<String, u64>,
}

impl Phase {
    fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    fn mib(&self) -> f64 {
        self.run.max_rss_kib as f64 / 1024.0
    }

    /// What the strategy `auto` turned into, seen from the requests.
    fn resolved(&self) -> Fetch {
        if self.calls.contains_key("GetAccountAuthorizationDetails") {
            Fetch::Bulk
        } else {
            Fetch::PerObject
        }
    }
}

struct StrategyResult {
    fetch: Fetch,
    apply: Phase,
    noop: Phase,
    noop_is_noop: bool,
    change: Phase,
    /// The bare minimum reads of the no-op plan: what, how long, how many calls.
    minimum: (String, Duration, u64),
    profiles_seeded: Duration,
}

struct SizeResult {
    n: usize,
    account_roles: usize,
    strategies: Vec<StrategyResult>,
    sequential: (Duration, u64),
    bare_writes: (Duration, u64),
    /// The latency check, at the size it ran for.
    latency: Option<LatencyCheck>,
}

/// At the largest size, through the delaying proxy: the default no-op plan against its bare
/// minimum, and a first apply against the bare writes, at concurrency 8.
struct LatencyCheck {
    noop: Phase,
    minimum: (String, Duration, u64),
    apply: Phase,
    bare_writes: (Duration, u64),
    /// The calls of the sequential reader at this size (it is too slow to run through the
    /// proxy here: its time is estimated from the per-call time measured at the smaller size).
    sequential_calls: u64,
}

struct DelayRow {
    concurrency: usize,
    per_object: Phase,
    bulk: Phase,
    /// A first apply (auto) of a fresh cluster at this concurrency.
    apply: Phase,
}

struct DelayResult {
    n: usize,
    rows: Vec<DelayRow>,
    sequential: (Duration, u64),
    replay: (Duration, u64),
    bare_writes: (Duration, u64),
}

struct Bench {
    cfg: Config,
    bin: PathBuf,
    dir: PathBuf,
    run_id: String,
    direct: aws::Clients,
    counting: Arc<RecordingProxy>,
    via_proxy: aws::Clients,
    policy_arn: String,
    /// The peak RSS the measuring helper passes on, in KiB.
    floor_kib: i64,
}

fn main() {
    // Started as the measuring helper: do that alone, before any runtime or allocation.
    if let Some(code) = run::helper_main() {
        std::process::exit(code);
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(bench_main());
}

async fn bench_main() {
    let started = Instant::now();
    let cfg = Config::from_env();
    ensure_localstack(&cfg.endpoint);
    let bin = prepare_binary();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let run_id = base36((nanos / 1_000_000) as u64 % 36u64.pow(6));
    let dir = std::env::temp_dir().join(format!("rolecall-scale-{run_id}"));
    std::fs::create_dir_all(&dir).expect("create the run's temp dir");

    let floor_kib = tokio::task::spawn_blocking({
        let dir = dir.clone();
        move || run::floor_kib(&dir)
    })
    .await
    .expect("measure the helper's floor");
    let direct = aws::Clients::new(&cfg.endpoint).await;
    let counting = Arc::new(RecordingProxy::start_without_nagle(&cfg.endpoint).await);
    let via_proxy = aws::Clients::new(&counting.endpoint).await;
    let policy_arn = aws::create_managed_policy(&direct.iam, &format!("rolecall-bench-{run_id}"))
        .await
        .expect("CreatePolicy");
    eprintln!(
        "scale: run {run_id}, binary {}, files in {}",
        bin.display(),
        dir.display()
    );
    let bench = Bench {
        cfg,
        bin,
        dir,
        run_id,
        direct,
        counting,
        via_proxy,
        policy_arn,
        floor_kib,
    };

    let mut sizes = Vec::new();
    let mut delayed = None;
    for &n in &bench.cfg.sizes {
        let (size, delay) = bench.size(n).await;
        sizes.push(size);
        delayed = delayed.or(delay);
    }
    if !bench.cfg.keep {
        let _ = bench
            .direct
            .iam
            .delete_policy()
            .policy_arn(&bench.policy_arn)
            .send()
            .await;
    }

    let report = report(&bench, &sizes, delayed.as_ref(), started.elapsed());
    print!("{report}");
    let path = bench.dir.join("results.md");
    std::fs::write(&path, &report).expect("write results.md");
    eprintln!("scale: results also in {}", path.display());
}

impl Bench {
    fn spec_files(&self, cluster: &str, n: usize) -> (PathBuf, PathBuf) {
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
    async fn delaying_proxy(&self) -> (RecordingProxy, aws::Clients) {
        let slow = RecordingProxy::start_without_nagle(&self.cfg.endpoint).await;
        slow.delay(self.cfg.delay);
        let via_slow = aws::Clients::new(&slow.endpoint).await;
        (slow, via_slow)
    }

    /// `rolecall update -f spec [--yes] --fetch F --concurrency C` through `proxy`.
    async fn rolecall(
        &self,
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
        proxy.take_counts();
        let (bin, dir) = (
            self.bin.clone(),
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

    /// Everything for one size: the three strategies, each on its own cluster, then the
    /// baselines.
    async fn size(&self, n: usize) -> (SizeResult, Option<DelayResult>) {
        let account_roles = aws::account_roles(&self.direct)
            .await
            .expect("count the account's roles");
        eprintln!("scale: N={n}: the account holds {account_roles} roles before");
        let mut strategies = Vec::new();
        let mut sequential = None;
        let mut delayed = None;
        let mut latency = None;
        let order = [Fetch::PerObject, Fetch::Bulk, Fetch::Auto];
        for (k, fetch) in order.into_iter().enumerate() {
            let cluster = format!("{}-{n}-{}.k8s.local", self.run_id, fetch.tag());
            let (spec, changed) = self.spec_files(&cluster, n);
            let t = Instant::now();

            let apply = self
                .rolecall(
                    &self.counting,
                    &spec,
                    true,
                    fetch,
                    CONCURRENCY,
                    "apply".into(),
                )
                .await;
            assert_eq!(apply.run.exit, 0, "first apply of {cluster} failed");
            let profiles_seeded = aws::seed_profiles(&self.direct, &cluster, n, CONCURRENCY)
                .await
                .expect("seed instance profiles");

            let (noop, noop_is_noop, minimum) = self
                .noop_and_minimum(&self.counting, &self.via_proxy, &spec, fetch, n, "noop")
                .await;

            let change = self
                .rolecall(
                    &self.counting,
                    &changed,
                    true,
                    fetch,
                    CONCURRENCY,
                    "change".into(),
                )
                .await;
            assert_eq!(change.run.exit, 0, "10% change of {cluster} failed");

            let last = k + 1 == order.len();
            if last {
                // The converged cluster, read one object at a time as kops does.
                let took = aws::sequential_reader(&self.via_proxy, &cluster, n)
                    .await
                    .expect("sequential reader");
                sequential = Some((took, self.counting.take_counts().values().sum()));
                if n == self.cfg.delay_n && !self.cfg.levels.is_empty() {
                    delayed = Some(self.delay_experiment(&cluster, n, &changed).await);
                }
                if Some(n) == self.cfg.latency_n {
                    let calls = sequential.map_or(0, |(_, c)| c);
                    latency = Some(self.latency_check(n, &changed, calls).await);
                }
            }
            if !self.cfg.keep {
                aws::clean_up(&self.direct, &cluster, n, &self.policy_arn, CONCURRENCY)
                    .await
                    .expect("clean up");
            }
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
                change,
                minimum,
                profiles_seeded,
            });
        }

        // The bare writes of a first apply, to another cluster's names.
        let cluster = format!("{}-{n}-bw.k8s.local", self.run_id);
        self.counting.take_counts();
        let took = aws::bare_writes(&self.via_proxy, &cluster, n, &self.policy_arn, CONCURRENCY)
            .await
            .expect("bare writes");
        let bare_writes = (took, self.counting.take_counts().values().sum());
        if !self.cfg.keep {
            aws::clean_up(&self.direct, &cluster, n, &self.policy_arn, CONCURRENCY)
                .await
                .expect("clean up");
        }
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
    ) -> (Phase, bool, (String, Duration, u64)) {
        let mut noops = Vec::new();
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
                } else if n <= 100 {
                    3
                } else {
                    1
                };
            }
            noops.push(run);
            let took = if bulk {
                aws::authorization_details(via)
                    .await
                    .expect("GAAD baseline")
                    .0
            } else {
                aws::replay(via, records, CONCURRENCY)
                    .await
                    .expect("replay baseline")
            };
            minimum_calls = proxy.take_counts().values().sum();
            minimums.push(took);
            r += 1;
        }
        noops.sort_by_key(|p| p.run.wall);
        minimums.sort();
        let noop = noops.swap_remove(noops.len() / 2);
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
        )
    }

    /// Through the delaying proxy, at concurrency 8: the default no-op plan of the converged
    /// cluster (`spec`) against its bare minimum, and a first apply of a fresh cluster against
    /// the bare writes to yet another.
    async fn latency_check(&self, n: usize, spec: &Path, sequential_calls: u64) -> LatencyCheck {
        let (slow, via_slow) = self.delaying_proxy().await;
        let (noop, _, minimum) = self
            .noop_and_minimum(&slow, &via_slow, spec, Fetch::Auto, n, "latency-noop")
            .await;
        let fresh = format!("{}-{n}-la.k8s.local", self.run_id);
        let (fresh_spec, _) = self.spec_files(&fresh, n);
        let apply = self
            .rolecall(
                &slow,
                &fresh_spec,
                true,
                Fetch::Auto,
                CONCURRENCY,
                "latency-apply".into(),
            )
            .await;
        assert_eq!(apply.run.exit, 0, "first apply of {fresh} failed");
        let writes = format!("{}-{n}-lw.k8s.local", self.run_id);
        slow.take_counts();
        let took = aws::bare_writes(&via_slow, &writes, n, &self.policy_arn, CONCURRENCY)
            .await
            .expect("bare writes");
        let bare_writes = (took, slow.take_counts().values().sum());
        if !self.cfg.keep {
            for cluster in [&fresh, &writes] {
                aws::clean_up(&self.direct, cluster, n, &self.policy_arn, CONCURRENCY)
                    .await
                    .expect("clean up");
            }
        }
        eprintln!(
            "scale: N={n} through {} ms: no-op {:.2}s (minimum {:.2}s), first apply {:.2}s (bare writes {:.2}s)",
            self.cfg.delay.as_millis(),
            noop.run.wall.as_secs_f64(),
            minimum.1.as_secs_f64(),
            apply.run.wall.as_secs_f64(),
            took.as_secs_f64()
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
            let apply = self
                .rolecall(
                    &slow,
                    &fresh_spec,
                    true,
                    Fetch::Auto,
                    c,
                    format!("delay-apply-c{c}"),
                )
                .await;
            assert_eq!(apply.run.exit, 0, "first apply of {fresh} failed");
            if !self.cfg.keep {
                aws::clean_up(&self.direct, &fresh, n, &self.policy_arn, CONCURRENCY)
                    .await
                    .expect("clean up");
            }
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
        slow.take_counts();
        let took = aws::bare_writes(&via_slow, &fresh, n, &self.policy_arn, CONCURRENCY)
            .await
            .expect("bare writes");
        let bare_writes = (took, slow.take_counts().values().sum());
        if !self.cfg.keep {
            aws::clean_up(&self.direct, &fresh, n, &self.policy_arn, CONCURRENCY)
                .await
                .expect("clean up");
        }
        slow.take_counts();
        let took = aws::sequential_reader(&via_slow, cluster, n)
            .await
            .expect("sequential reader");
        let sequential = (took, slow.take_counts().values().sum());
        let replay = if records.is_empty() {
            (Duration::ZERO, 0)
        } else {
            let count = records.len() as u64;
            let took = aws::replay(&via_slow, records, CONCURRENCY)
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

fn base36(mut v: u64) -> String {
    let digits = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(digits[(v % 36) as usize]);
        v /= 36;
        if v == 0 {
            break;
        }
    }
    out.reverse();
    format!("s{}", String::from_utf8(out).expect("ascii"))
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs localstack/start.sh for the default endpoint (it returns at once when LocalStack
/// answers); another endpoint is taken as it is.
fn ensure_localstack(endpoint: &str) {
    let Some(port) = endpoint.strip_prefix("http://127.0.0.1:") else {
        return;
    };
    let status = std::process::Command::new("bash")
        .arg(repo_root().join("localstack/start.sh"))
        .arg(port.trim_end_matches('/'))
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run localstack/start.sh");
    assert!(
        status.success(),
        "LocalStack could not be started on {endpoint}"
    );
}

/// Checks that target/release/rolecall exists, is not older than the sources, and has the
/// flags the benchmark needs. The benchmark does not build it: a `cargo build` started from
/// a process that `cargo bench` runs sees cargo's own environment variables, which some
/// dependencies' build scripts watch, and rebuilds them all.
fn prepare_binary() -> PathBuf {
    let bin = run::rolecall_binary();
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let newest_source = newest_mtime(&repo_root().join("src"));
    if let (Some(built), Some((source, path))) = (built, newest_source) {
        if source > built {
            eprintln!(
                "scale: WARNING: {} is newer than {}: run `cargo build --release` to measure the current code",
                path.display(),
                bin.display()
            );
        }
    }
    let help = std::process::Command::new(&bin)
        .args(["update", "--help"])
        .output()
        .expect("run rolecall update --help");
    let help = String::from_utf8_lossy(&help.stdout);
    for flag in [
        "--endpoint-url",
        "--fetch",
        "--concurrency",
        "--calls-json",
        "--yes",
    ] {
        assert!(
            help.contains(flag),
            "{} has no {flag} flag yet: rebuild it once that flag has landed",
            bin.display()
        );
    }
    bin
}

/// The newest modification time of the files under `dir`, with the file.
fn newest_mtime(dir: &Path) -> Option<(SystemTime, PathBuf)> {
    let mut newest: Option<(SystemTime, PathBuf)> = None;
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let path = entry.path();
        let found = if path.is_dir() {
            newest_mtime(&path)
        } else {
            entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .map(|t| (t, path))
        };
        if let Some((t, p)) = found {
            if newest.as_ref().is_none_or(|(n, _)| t > *n) {
                newest = Some((t, p));
            }
        }
    }
    newest
}

fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{s:.3}")
    } else {
        format!("{s:.2}")
    }
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-9)
}

fn ops(calls: &BTreeMap<String, u64>) -> String {
    calls
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Where rolecall's own count (`--calls-json`) differs from the proxy's.
fn count_mismatch(phase: &Phase) -> Option<String> {
    let mut diffs = Vec::new();
    let keys: std::collections::BTreeSet<&String> = phase
        .calls
        .keys()
        .chain(phase.run.self_counted.keys())
        .collect();
    for k in keys {
        let (sent, counted) = (
            phase.calls.get(k).copied().unwrap_or(0),
            phase.run.self_counted.get(k).copied().unwrap_or(0),
        );
        if sent != counted {
            diffs.push(format!("{k}: sent {sent}, counted {counted}"));
        }
    }
    (!diffs.is_empty()).then(|| diffs.join("; "))
}

fn report(
    bench: &Bench,
    sizes: &[SizeResult],
    delayed: Option<&DelayResult>,
    elapsed: Duration,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "## rolecall scale benchmark, run {} ({:.0} s in all)\n",
        bench.run_id,
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        w,
        "LocalStack at {}, through a counting proxy (no delay); rolecall and the baselines at concurrency {CONCURRENCY}. \
         Calls are requests the proxy saw (IAM, STS and EC2). Peak RSS is the rolecall process's own (ru_maxrss from wait4 in a helper process whose own floor is {:.1} MB). \
         The no-op plan and its bare minimum run in pairs, median of 5 pairs when the plan reads in bulk, 3 per object, 1 per object at N=1000.\n",
        bench.cfg.endpoint,
        bench.floor_kib as f64 / 1024.0
    );
    let _ = writeln!(
        w,
        "| N | --fetch | phase | wall (s) | calls | peak RSS (MB) | bare minimum (s) | rolecall / bare minimum | sequential reader (s) | speed-up vs sequential |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    for size in sizes {
        for s in &size.strategies {
            let fetch = match (s.fetch, s.noop.resolved()) {
                (Fetch::Auto, resolved) => format!("auto ({})", resolved.arg()),
                (f, _) => f.arg().to_string(),
            };
            let (bw, bw_calls) = size.bare_writes;
            let _ = writeln!(
                w,
                "| {} | {fetch} | first apply | {} | {} | {:.1} | {} (bare writes, {bw_calls} calls) | {:.2}x | | |",
                size.n,
                secs(s.apply.run.wall),
                s.apply.total(),
                s.apply.mib(),
                secs(bw),
                ratio(s.apply.run.wall, bw),
            );
            let (what, min, min_calls) = &s.minimum;
            let (seq, _) = size.sequential;
            let note = if s.noop_is_noop { "" } else { " (NOT a no-op)" };
            let _ = writeln!(
                w,
                "| {} | {fetch} | no-op plan{note} | {} | {} | {:.1} | {} ({what}: {min_calls} calls) | {:.2}x | {} | {:.1}x |",
                size.n,
                secs(s.noop.run.wall),
                s.noop.total(),
                s.noop.mib(),
                secs(*min),
                ratio(s.noop.run.wall, *min),
                secs(seq),
                ratio(seq, s.noop.run.wall),
            );
            let _ = writeln!(
                w,
                "| {} | {fetch} | 10% change | {} | {} | {:.1} | | | | |",
                size.n,
                secs(s.change.run.wall),
                s.change.total(),
                s.change.mib(),
            );
        }
    }

    let _ = writeln!(w, "\n### Baselines and account size\n");
    let _ = writeln!(
        w,
        "| N | roles in the account before | sequential reader (s) | its calls | bare writes c={CONCURRENCY} (s) | their calls | profiles seeded (s, per cluster) |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    for size in sizes {
        let seeded: Vec<String> = size
            .strategies
            .iter()
            .map(|s| secs(s.profiles_seeded))
            .collect();
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} |",
            size.n,
            size.account_roles,
            secs(size.sequential.0),
            size.sequential.1,
            secs(size.bare_writes.0),
            size.bare_writes.1,
            seeded.join(" / ")
        );
    }

    let _ = writeln!(w, "\n### Calls by operation (as sent)\n");
    let _ = writeln!(w, "| N | --fetch | phase | calls by operation |");
    let _ = writeln!(w, "|---|---|---|---|");
    let mut mismatches = Vec::new();
    for size in sizes {
        for s in &size.strategies {
            for (phase, p) in [
                ("first apply", &s.apply),
                ("no-op plan", &s.noop),
                ("10% change", &s.change),
            ] {
                let _ = writeln!(
                    w,
                    "| {} | {} | {phase} | {} |",
                    size.n,
                    s.fetch.arg(),
                    ops(&p.calls)
                );
                if let Some(m) = count_mismatch(p) {
                    mismatches.push(format!("N={} {} {phase}: {m}", size.n, s.fetch.arg()));
                }
            }
        }
    }
    if !mismatches.is_empty() {
        let _ = writeln!(
            w,
            "\nWhere rolecall's `--calls-json` differs from the requests the proxy saw:\n"
        );
        for m in &mismatches {
            let _ = writeln!(w, "- {m}");
        }
    }

    if let Some(d) = delayed {
        let _ = writeln!(
            w,
            "\n### N={}, through a proxy adding {} ms per request\n",
            d.n,
            bench.cfg.delay.as_millis()
        );
        let _ = writeln!(
            w,
            "| --concurrency | no-op per-object (s) | calls | speed-up vs c=1 | no-op bulk (s) | calls | first apply, auto (s) | calls | speed-up vs c=1 | peak RSS (MB) |"
        );
        let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
        let first = d.rows.first();
        for r in &d.rows {
            let peak = [&r.per_object, &r.bulk, &r.apply]
                .iter()
                .map(|p| p.mib())
                .fold(0.0, f64::max);
            let _ = writeln!(
                w,
                "| {} | {} | {} | {:.1}x | {} | {} | {} | {} | {:.1}x | {:.1} |",
                r.concurrency,
                secs(r.per_object.run.wall),
                r.per_object.total(),
                first.map_or(1.0, |f| ratio(f.per_object.run.wall, r.per_object.run.wall)),
                secs(r.bulk.run.wall),
                r.bulk.total(),
                secs(r.apply.run.wall),
                r.apply.total(),
                first.map_or(1.0, |f| ratio(f.apply.run.wall, r.apply.run.wall)),
                peak,
            );
        }
        let _ = writeln!(
            w,
            "\nThrough the same proxy: the sequential reader took {} s ({} calls); rolecall's per-object no-op reads replayed at c={CONCURRENCY} took {} s ({} calls); the bare writes of a first apply at c={CONCURRENCY} took {} s ({} calls).",
            secs(d.sequential.0),
            d.sequential.1,
            secs(d.replay.0),
            d.replay.1,
            secs(d.bare_writes.0),
            d.bare_writes.1,
        );
    }

    if let Some(l) = sizes
        .iter()
        .find_map(|s| s.latency.as_ref().map(|l| (s.n, l)))
    {
        let (n, l) = l;
        let _ = writeln!(
            w,
            "\n### N={n}, through a proxy adding {} ms per request, c={CONCURRENCY}\n",
            bench.cfg.delay.as_millis()
        );
        let _ = writeln!(w, "| phase | rolecall (s) | calls | peak RSS (MB) | bare minimum (s) | its calls | rolecall / bare minimum |");
        let _ = writeln!(w, "|---|---|---|---|---|---|---|");
        let _ = writeln!(
            w,
            "| no-op plan (auto: {}) | {} | {} | {:.1} | {} ({}) | {} | {:.2}x |",
            l.noop.resolved().arg(),
            secs(l.noop.run.wall),
            l.noop.total(),
            l.noop.mib(),
            secs(l.minimum.1),
            l.minimum.0,
            l.minimum.2,
            ratio(l.noop.run.wall, l.minimum.1)
        );
        let _ = writeln!(
            w,
            "| first apply (auto) | {} | {} | {:.1} | {} (bare writes) | {} | {:.2}x |",
            secs(l.apply.run.wall),
            l.apply.total(),
            l.apply.mib(),
            secs(l.bare_writes.0),
            l.bare_writes.1,
            ratio(l.apply.run.wall, l.bare_writes.0)
        );
    }

    if let Some(big) = sizes.iter().find(|s| s.n == 1000).or(sizes.last()) {
        let _ = writeln!(
            w,
            "\n### Targets at N={} (the default, --fetch auto)\n",
            big.n
        );
        let auto = big
            .strategies
            .iter()
            .find(|s| s.fetch == Fetch::Auto)
            .expect("auto ran");
        let (seq, _) = big.sequential;
        let peak = big
            .strategies
            .iter()
            .flat_map(|s| [&s.apply, &s.noop, &s.change])
            .chain(big.latency.iter().flat_map(|l| [&l.noop, &l.apply]))
            .map(Phase::mib)
            .fold(0.0, f64::max);
        let latency = big.latency.as_ref();
        // The sequential reader through the proxy at this size, from its per-call time
        // through the proxy at the smaller size.
        let slow_sequential = match (latency, delayed) {
            (Some(l), Some(d)) if d.sequential.1 > 0 => Some(
                d.sequential
                    .0
                    .mul_f64(l.sequential_calls as f64 / d.sequential.1 as f64),
            ),
            _ => None,
        };
        let met = |ok: bool| if ok { "met" } else { "MISSED" };
        let cell = |value: Option<f64>, ok: fn(f64) -> bool, suffix: &str| match value {
            Some(v) => format!("{v:.2}x{suffix} ({})", met(ok(v))),
            None => "not measured".to_string(),
        };
        let _ = writeln!(
            w,
            "| target | LocalStack, no delay | through the {} ms proxy |",
            bench.cfg.delay.as_millis()
        );
        let _ = writeln!(w, "|---|---|---|");
        // (target, met when, without delay, through the delaying proxy, note on the latter)
        type Row<'a> = (String, fn(f64) -> bool, f64, Option<f64>, &'a str);
        let rows: [Row; 3] = [
            (
                "no-op plan >= 10x faster than the sequential reader".into(),
                |v| v >= 10.0,
                ratio(seq, auto.noop.run.wall),
                latency
                    .zip(slow_sequential)
                    .map(|(l, s)| ratio(s, l.noop.run.wall)),
                ", sequential time estimated",
            ),
            (
                "no-op plan within 1.3x of the bare minimum calls".into(),
                |v| v <= 1.3,
                ratio(auto.noop.run.wall, auto.minimum.1),
                latency.map(|l| ratio(l.noop.run.wall, l.minimum.1)),
                "",
            ),
            (
                format!("first apply within 1.5x of the bare writes at c={CONCURRENCY}"),
                |v| v <= 1.5,
                ratio(auto.apply.run.wall, big.bare_writes.0),
                latency.map(|l| ratio(l.apply.run.wall, l.bare_writes.0)),
                "",
            ),
        ];
        for (target, ok, local, slow, note) in rows {
            let _ = writeln!(
                w,
                "| {target} | {} | {} |",
                cell(Some(local), ok, ""),
                cell(slow, ok, note)
            );
        }
        let _ = writeln!(
            w,
            "| peak memory under 100 MB (any run at this size) | {peak:.1} MB ({}) | |",
            met(peak < 100.0)
        );
    }
    out
}
