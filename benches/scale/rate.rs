//! The rate-limited experiment (issue 17): first applies of N IRSA roles through a proxy
//! that answers `Throttling` above `SCALE_RATE` requests a second, account-wide, as IAM
//! does, and holds every request `SCALE_DELAY_MS` like a round trip. For each retry mode and
//! concurrency: calls IAM acted on, throttled answers, wall time, and wall time against the
//! floor (calls / rate), with the targets of issue 17 point 2.
//!
//! - `SCALE_RATE=20`: requests a second (unset: no experiment).
//! - `SCALE_RATE_N=1000`: the number of pod roles.
//! - `SCALE_RATE_LEVELS=8,64`: the concurrencies.
//! - `SCALE_RATE_MODES=standard`: the `AWS_RETRY_MODE`s to compare (standard is rolecall's
//!   own rate, adaptive the SDK's).

use std::fmt::Write;
use std::time::Duration;

use crate::measure::Bench;
use crate::proxy::RecordingProxy;
use crate::results::{Fetch, Phase};

/// The targets: wall time within this multiple of calls / rate ...
const WALL_TARGET: f64 = 1.15;
/// ... and throttled answers at most this fraction of calls.
const THROTTLED_TARGET: f64 = 0.10;

pub struct RateConfig {
    pub rate: f64,
    pub n: usize,
    pub levels: Vec<usize>,
    pub modes: Vec<String>,
}

impl RateConfig {
    pub fn from_env() -> Option<RateConfig> {
        let rate = std::env::var("SCALE_RATE").ok().filter(|v| !v.is_empty())?;
        let rate = rate
            .parse()
            .unwrap_or_else(|_| panic!("SCALE_RATE: {rate:?} is not a number"));
        let modes = std::env::var("SCALE_RATE_MODES").unwrap_or_else(|_| "standard".into());
        Some(RateConfig {
            rate,
            n: crate::list("SCALE_RATE_N", "1000")
                .first()
                .copied()
                .unwrap_or(1000),
            levels: crate::list("SCALE_RATE_LEVELS", "8,64"),
            modes: modes
                .split(',')
                .map(str::trim)
                .filter(|m| !m.is_empty())
                .map(String::from)
                .collect(),
        })
    }
}

pub struct RateRow {
    pub mode: String,
    pub concurrency: usize,
    pub apply: Phase,
    pub throttled: u64,
}

impl RateRow {
    /// The least time the calls IAM acted on can take at the rate.
    fn floor(&self, rate: f64) -> Duration {
        Duration::from_secs_f64(self.apply.total() as f64 / rate)
    }

    fn throttled_share(&self) -> f64 {
        self.throttled as f64 / (self.apply.total() as f64).max(1.0)
    }
}

pub struct RateResult {
    pub cfg: RateConfig,
    pub delay: Duration,
    pub rows: Vec<RateRow>,
}

impl Bench {
    /// A first apply of a fresh cluster per mode and concurrency through a throttling,
    /// delaying proxy; a failed apply is reported, not fatal.
    pub async fn rate_experiment(&self, cfg: RateConfig) -> RateResult {
        let n = cfg.n;
        let mut rows = Vec::new();
        for mode in &cfg.modes {
            for &c in &cfg.levels {
                // A proxy of its own, so that its bucket starts full as an idle account's.
                let proxy = RecordingProxy::start_without_nagle(&self.cfg.endpoint).await;
                proxy.delay(self.cfg.delay);
                proxy.throttle(cfg.rate);
                let cluster = format!("{}-{n}-r{}{c}.k8s.local", self.run_id, &mode[..1]);
                let (spec, _) = self.spec_files(&cluster, n);
                // The measuring helper and rolecall inherit the bench's environment; nothing
                // else reads it while the bench waits for the run.
                std::env::set_var("AWS_RETRY_MODE", mode);
                let label = format!("rate-{mode}-c{c}");
                let apply = self
                    .rolecall(&proxy, &spec, true, Fetch::Auto, c, label)
                    .await;
                std::env::remove_var("AWS_RETRY_MODE");
                let row = RateRow {
                    mode: mode.clone(),
                    concurrency: c,
                    throttled: proxy.take_throttled() as u64,
                    apply,
                };
                eprintln!(
                    "scale: N={n} at {} req/s, {mode} c={c}: exit {}, {:.2}s, {} calls, {} throttled, {:.2}x the floor",
                    cfg.rate,
                    row.apply.run.exit,
                    row.apply.run.wall.as_secs_f64(),
                    row.apply.total(),
                    row.throttled,
                    row.apply.run.wall.as_secs_f64() / row.floor(cfg.rate).as_secs_f64().max(1e-9)
                );
                rows.push(row);
                self.clean_up(&cluster, n).await;
            }
        }
        RateResult {
            cfg,
            delay: self.cfg.delay,
            rows,
        }
    }
}

/// The experiment's table and its targets, in markdown.
pub fn report(r: &RateResult) -> String {
    let mut w = String::new();
    let _ = writeln!(
        w,
        "\n### First apply of N={} through {} requests a second ({} ms round trip)\n",
        r.cfg.n,
        r.cfg.rate,
        r.delay.as_millis()
    );
    let _ = writeln!(
        w,
        "| AWS_RETRY_MODE | concurrency | exit | calls | throttled | throttled / calls | wall s | floor s (calls / rate) | wall / floor |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|");
    for row in &r.rows {
        let floor = row.floor(r.cfg.rate);
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} | {:.1}% | {:.2} | {:.2} | {:.2}x |",
            row.mode,
            row.concurrency,
            row.apply.run.exit,
            row.apply.total(),
            row.throttled,
            100.0 * row.throttled_share(),
            row.apply.run.wall.as_secs_f64(),
            floor.as_secs_f64(),
            row.apply.run.wall.as_secs_f64() / floor.as_secs_f64().max(1e-9)
        );
    }
    let _ = writeln!(
        w,
        "\n| target (issue 17) | AWS_RETRY_MODE | concurrency | measured | |\n|---|---|---|---|---|"
    );
    let met = |ok: bool| if ok { "met" } else { "MISSED" };
    for row in &r.rows {
        let ratio =
            row.apply.run.wall.as_secs_f64() / row.floor(r.cfg.rate).as_secs_f64().max(1e-9);
        let ok = row.apply.run.exit == 0;
        let _ = writeln!(
            w,
            "| first apply within {WALL_TARGET}x of calls / rate | {} | {} | {ratio:.2}x | {} |",
            row.mode,
            row.concurrency,
            met(ok && ratio <= WALL_TARGET)
        );
        let _ = writeln!(
            w,
            "| throttled answers at most {:.0}% of calls | {} | {} | {:.1}% | {} |",
            100.0 * THROTTLED_TARGET,
            row.mode,
            row.concurrency,
            100.0 * row.throttled_share(),
            met(ok && row.throttled_share() <= THROTTLED_TARGET)
        );
    }
    w
}
