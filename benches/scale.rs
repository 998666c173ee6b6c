//! The scale benchmark of issue 6: rolecall against LocalStack with N = 10, 100 and 1000
//! IRSA pod roles (benches/scale/spec.rs), for each fetch strategy, beside baselines sent
//! with aws-sdk-iam from here in the same run. Method, results and targets: docs/performance.md.
//!
//!     cargo build --release && cargo bench --bench scale
//!
//! It measures target/release/rolecall and does not build it (see `run::prepare_binary`).
//!
//! Environment (all optional):
//! - `SCALE_N=10,100,1000`: the sizes.
//! - `SCALE_ENDPOINT=http://127.0.0.1:4566`: LocalStack (started with localstack/start.sh
//!   when it is the default and none answers).
//! - `SCALE_DELAY_MS=50`, `SCALE_LEVELS=1,4,8,16`, `SCALE_DELAY_N=100`: the concurrency
//!   experiment through the delaying proxy (`SCALE_LEVELS=` skips it).
//! - `SCALE_LATENCY_N=1000`: the size at which the no-op plan and the first apply are also
//!   measured through the delaying proxy (`SCALE_LATENCY_N=` skips it).
//! - `SCALE_RATE=20`, `SCALE_RATE_N=1000`, `SCALE_RATE_LEVELS=8,64`, `SCALE_RATE_MODES=standard`:
//!   first applies through a proxy that throttles above the rate (benches/scale/rate.rs);
//!   unset `SCALE_RATE` skips it, `SCALE_N=` runs it alone.
//! - `SCALE_KEEP=1`: leave what the run made in the account.
//! - `ROLECALL_BIN`: the binary to measure instead of target/release/rolecall.
//! - `SCALE_TERRAFORM*`: Terraform beside rolecall (benches/scale/terraform.rs).
//! - `SCALE_PAGING_*`: a large account, paged as IAM pages it (benches/scale/paging.rs).
//! - `SCALE_COMPARE_BIN`: another rolecall binary (an older build, say) whose no-op plans run
//!   right after this one's, pair by pair, for the cost of a change as ratios from one run.

#[path = "scale/aws.rs"]
mod aws;
#[path = "scale/baselines.rs"]
mod baselines;
#[allow(dead_code)] // The bench renders its own pod roles into the tests' cluster.
#[path = "../tests/common/spec.rs"]
mod cluster_yaml;
#[path = "scale/measure.rs"]
mod measure;
#[path = "scale/paging.rs"]
mod paging;
#[allow(dead_code)] // The bench counts, records and delays; it injects no faults.
#[path = "../tests/common/proxy.rs"]
mod proxy;
#[path = "scale/rate.rs"]
mod rate;
#[path = "scale/report.rs"]
mod report;
#[path = "scale/results.rs"]
mod results;
#[path = "scale/run.rs"]
mod run;
#[path = "scale/spec.rs"]
mod spec;
#[path = "scale/terraform.rs"]
mod terraform;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use measure::Bench;
use proxy::RecordingProxy;

/// rolecall's default, and the baselines' concurrency.
const CONCURRENCY: usize = 8;

/// What the environment asks of the run.
pub struct Config {
    pub sizes: Vec<usize>,
    pub endpoint: String,
    pub delay: Duration,
    pub levels: Vec<usize>,
    pub delay_n: usize,
    pub latency_n: Option<usize>,
    pub keep: bool,
}

pub fn list(var: &str, default: &str) -> Vec<usize> {
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
    let bin = run::prepare_binary();
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
        compare_bin: std::env::var_os("SCALE_COMPARE_BIN").map(PathBuf::from),
    };

    let mut sizes = Vec::new();
    let mut delayed = None;
    for &n in &bench.cfg.sizes {
        let (size, delay) = bench.size(n).await;
        sizes.push(size);
        delayed = delayed.or(delay);
    }
    let throttled = match rate::RateConfig::from_env() {
        Some(cfg) => Some(bench.rate_experiment(cfg).await),
        None => None,
    };
    // Terraform beside rolecall, then the large account last: its roles would slow every
    // bulk read before them.
    let terraform = terraform::run(&bench).await;
    let paging = paging::run(&bench).await;
    if !bench.cfg.keep {
        let _ = bench
            .direct
            .iam
            .delete_policy()
            .policy_arn(&bench.policy_arn)
            .send()
            .await;
    }

    let mut report = if sizes.is_empty() {
        String::new()
    } else {
        report::report(&bench, &sizes, delayed.as_ref(), started.elapsed())
    };
    if let Some(throttled) = &throttled {
        report.push_str(&rate::report(throttled));
    }
    if !terraform.is_empty() {
        report += &terraform::render(&terraform);
    }
    if let Some(paging) = &paging {
        report += &paging::render(paging);
    }
    print!("{report}");
    let path = bench.dir.join("results.md");
    std::fs::write(&path, &report).expect("write results.md");
    eprintln!("scale: results also in {}", path.display());
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

/// The repository, for localstack/start.sh and the sources.
pub fn repo_root() -> PathBuf {
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
