//! The benchmark's results as Markdown: the main table by size, strategy and phase, the
//! baselines, the calls by operation, the concurrency experiment, the latency check and the
//! targets of docs/performance.md.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use crate::measure::Bench;
use crate::results::{DelayResult, Fetch, LatencyCheck, Phase, SizeResult};
use crate::CONCURRENCY;

/// The whole report of a run that took `elapsed`.
pub fn report(
    bench: &Bench,
    sizes: &[SizeResult],
    delayed: Option<&DelayResult>,
    elapsed: Duration,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    header(w, bench, elapsed);
    phases_table(w, sizes);
    if let Some(other) = &bench.compare_bin {
        compared_table(w, other, sizes);
    }
    baselines_table(w, sizes);
    calls_by_operation(w, sizes);
    if let Some(d) = delayed {
        concurrency_table(w, bench, d);
    }
    if let Some((n, l)) = sizes
        .iter()
        .find_map(|s| s.latency.as_ref().map(|l| (s.n, l)))
    {
        latency_table(w, bench, n, l);
    }
    if let Some(big) = sizes.iter().find(|s| s.n == 1000).or(sizes.last()) {
        targets(w, bench, big, delayed);
    }
    out
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

/// A phase's wall time, calls and peak RSS: three cells of a table row.
fn phase_cells(p: &Phase) -> String {
    format!("{} | {} | {:.1}", secs(p.run.wall), p.total(), p.mib())
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

/// The title and how the run measured.
fn header(w: &mut String, bench: &Bench, elapsed: Duration) {
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
         The no-op plan and its bare minimum run in pairs, median of 5 pairs when the plan reads in bulk, 3 per object, {}.\n",
        bench.cfg.endpoint,
        bench.floor_kib as f64 / 1024.0,
        if bench.compare_bin.is_some() {
            "3 per object at N=1000 too, with SCALE_COMPARE_BIN's no-op plan run after each"
        } else {
            "1 per object at N=1000"
        }
    );
}

/// Each size, strategy and phase against its baselines.
fn phases_table(w: &mut String, sizes: &[SizeResult]) {
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
                "| {} | {fetch} | first apply | {} | {} (bare writes, {bw_calls} calls) | {:.2}x | | |",
                size.n,
                phase_cells(&s.apply),
                secs(bw),
                ratio(s.apply.run.wall, bw),
            );
            let (what, min, min_calls) = &s.minimum;
            let (seq, _) = size.sequential;
            let note = if s.noop_is_noop { "" } else { " (NOT a no-op)" };
            let _ = writeln!(
                w,
                "| {} | {fetch} | no-op plan{note} | {} | {} ({what}: {min_calls} calls) | {:.2}x | {} | {:.1}x |",
                size.n,
                phase_cells(&s.noop),
                secs(*min),
                ratio(s.noop.run.wall, *min),
                secs(seq),
                ratio(seq, s.noop.run.wall),
            );
            let _ = writeln!(
                w,
                "| {} | {fetch} | 10% change | {} | | | | |",
                size.n,
                phase_cells(&s.change),
            );
        }
    }
}

/// The no-op plans of this binary and of `SCALE_COMPARE_BIN`, run pair by pair against the
/// same converged cluster: what a change between the two builds costs, as ratios.
fn compared_table(w: &mut String, other: &std::path::Path, sizes: &[SizeResult]) {
    let _ = writeln!(
        w,
        "\n### No-op plan beside {} (SCALE_COMPARE_BIN), median of each\n",
        other.display()
    );
    let _ = writeln!(
        w,
        "| N | --fetch | wall (s) | calls | peak RSS (MB) | compared: wall (s) | calls | peak RSS (MB) | wall ratio | calls ratio |"
    );
    let _ = writeln!(w, "|---|---|---|---|---|---|---|---|---|---|");
    for size in sizes {
        for s in &size.strategies {
            let Some(c) = &s.noop_compared else { continue };
            let _ = writeln!(
                w,
                "| {} | {} | {} | {} | {:.3}x | {:.3}x |",
                size.n,
                s.fetch.arg(),
                phase_cells(&s.noop),
                phase_cells(c),
                ratio(s.noop.run.wall, c.run.wall),
                s.noop.total() as f64 / c.total().max(1) as f64,
            );
        }
    }
}

/// The baselines of each size, and the account it ran against.
fn baselines_table(w: &mut String, sizes: &[SizeResult]) {
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
}

/// The requests of each phase by operation, and where rolecall counted otherwise.
fn calls_by_operation(w: &mut String, sizes: &[SizeResult]) {
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
}

/// The concurrency experiment through the delaying proxy.
fn concurrency_table(w: &mut String, bench: &Bench, d: &DelayResult) {
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

/// The latency check at size `n` through the delaying proxy.
fn latency_table(w: &mut String, bench: &Bench, n: usize, l: &LatencyCheck) {
    let _ = writeln!(
        w,
        "\n### N={n}, through a proxy adding {} ms per request, c={CONCURRENCY}\n",
        bench.cfg.delay.as_millis()
    );
    let _ = writeln!(w, "| phase | rolecall (s) | calls | peak RSS (MB) | bare minimum (s) | its calls | rolecall / bare minimum |");
    let _ = writeln!(w, "|---|---|---|---|---|---|---|");
    let _ = writeln!(
        w,
        "| no-op plan (auto: {}) | {} | {} ({}) | {} | {:.2}x |",
        l.noop.resolved().arg(),
        phase_cells(&l.noop),
        secs(l.minimum.1),
        l.minimum.0,
        l.minimum.2,
        ratio(l.noop.run.wall, l.minimum.1)
    );
    let _ = writeln!(
        w,
        "| first apply (auto) | {} | {} (bare writes) | {} | {:.2}x |",
        phase_cells(&l.apply),
        secs(l.bare_writes.0),
        l.bare_writes.1,
        ratio(l.apply.run.wall, l.bare_writes.0)
    );
}

/// One target: what it says, when it is met, its value without delay, through the delaying
/// proxy, and a note on the latter.
type Target<'a> = (String, fn(f64) -> bool, f64, Option<f64>, &'a str);

/// The targets of docs/performance.md at the size `big`, with the default `--fetch auto`.
fn targets(w: &mut String, bench: &Bench, big: &SizeResult, delayed: Option<&DelayResult>) {
    let _ = writeln!(
        w,
        "\n### Targets at N={} (the default, --fetch auto)\n",
        big.n
    );
    let peak = big
        .strategies
        .iter()
        .flat_map(|s| [&s.apply, &s.noop, &s.change])
        .chain(big.latency.iter().flat_map(|l| [&l.noop, &l.apply]))
        .map(Phase::mib)
        .fold(0.0, f64::max);
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
    for (target, ok, local, slow, note) in target_rows(big, delayed) {
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

/// The speed targets at the size `big`, without and with the delay.
fn target_rows(big: &SizeResult, delayed: Option<&DelayResult>) -> [Target<'static>; 3] {
    let auto = big
        .strategies
        .iter()
        .find(|s| s.fetch == Fetch::Auto)
        .expect("auto ran");
    let (seq, _) = big.sequential;
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
    [
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
    ]
}
