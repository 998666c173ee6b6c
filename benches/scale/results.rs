//! What the benchmark measures, kept for the report: each rolecall run with the requests the
//! proxy saw, by size and fetch strategy, with the baselines beside them.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::run::Run;

/// rolecall's `--fetch` strategies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    PerObject,
    Bulk,
    Auto,
}

impl Fetch {
    pub fn arg(self) -> &'static str {
        match self {
            Fetch::PerObject => "per-object",
            Fetch::Bulk => "bulk",
            Fetch::Auto => "auto",
        }
    }

    /// The strategy's mark in cluster names.
    pub fn tag(self) -> &'static str {
        match self {
            Fetch::PerObject => "po",
            Fetch::Bulk => "bk",
            Fetch::Auto => "au",
        }
    }
}

/// One rolecall run, with the requests the proxy saw.
pub struct Phase {
    pub run: Run,
    /// Requests by action, as the proxy counted them.
    pub calls: BTreeMap<String, u64>,
}

impl Phase {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }

    pub fn mib(&self) -> f64 {
        self.run.max_rss_kib as f64 / 1024.0
    }

    /// What the strategy `auto` turned into, seen from the requests.
    pub fn resolved(&self) -> Fetch {
        if self.calls.contains_key("GetAccountAuthorizationDetails") {
            Fetch::Bulk
        } else {
            Fetch::PerObject
        }
    }
}

/// A baseline: what it was, how long it took, how many calls it made.
pub type Minimum = (String, Duration, u64);

pub struct StrategyResult {
    pub fetch: Fetch,
    pub apply: Phase,
    pub noop: Phase,
    pub noop_is_noop: bool,
    /// The no-op plan of `SCALE_COMPARE_BIN` (the median of as many runs), when given.
    pub noop_compared: Option<Phase>,
    pub change: Phase,
    /// The bare minimum reads of the no-op plan.
    pub minimum: Minimum,
    pub profiles_seeded: Duration,
}

pub struct SizeResult {
    pub n: usize,
    pub account_roles: usize,
    pub strategies: Vec<StrategyResult>,
    pub sequential: (Duration, u64),
    pub bare_writes: (Duration, u64),
    /// The latency check, at the size it ran for.
    pub latency: Option<LatencyCheck>,
}

/// At the largest size, through the delaying proxy: the default no-op plan against its bare
/// minimum, and a first apply against the bare writes, at concurrency 8.
pub struct LatencyCheck {
    pub noop: Phase,
    pub minimum: Minimum,
    pub apply: Phase,
    pub bare_writes: (Duration, u64),
    /// The calls of the sequential reader at this size (it is too slow to run through the
    /// proxy here: its time is estimated from the per-call time measured at the smaller size).
    pub sequential_calls: u64,
}

pub struct DelayRow {
    pub concurrency: usize,
    pub per_object: Phase,
    pub bulk: Phase,
    /// A first apply (auto) of a fresh cluster at this concurrency.
    pub apply: Phase,
}

pub struct DelayResult {
    pub n: usize,
    pub rows: Vec<DelayRow>,
    pub sequential: (Duration, u64),
    pub replay: (Duration, u64),
    pub bare_writes: (Duration, u64),
}
