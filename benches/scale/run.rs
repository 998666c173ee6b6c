//! Runs the built `rolecall` binary once: wall time, exit code, peak memory (the child's own
//! `ru_maxrss`, from `wait4` in a small helper process), and the calls rolecall counted itself
//! (`--calls-json`); and checks, before any run, that the binary is there, current and has
//! the flags the benchmark needs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

#[derive(Debug, Clone)]
pub struct Run {
    pub wall: Duration,
    pub exit: i32,
    /// Peak resident set size of the process, in KiB.
    pub max_rss_kib: i64,
    /// What rolecall wrote to `--calls-json`.
    pub self_counted: BTreeMap<String, u64>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl Run {
    pub fn stdout_text(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

/// `target/release/rolecall`, beside the directory this benchmark runs from
/// (`target/release/deps/scale-*`), unless `ROLECALL_BIN` names another.
pub fn rolecall_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("ROLECALL_BIN") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the benchmark's own path");
    exe.parent()
        .and_then(Path::parent)
        .map(|release| release.join("rolecall"))
        .expect("the benchmark runs from target/<profile>/deps")
}

/// Checks that target/release/rolecall exists, is not older than the sources, and has the
/// flags the benchmark needs. The benchmark does not build it: a `cargo build` started from
/// a process that `cargo bench` runs sees cargo's own environment variables, which some
/// dependencies' build scripts watch, and rebuilds them all.
pub fn prepare_binary() -> PathBuf {
    let bin = rolecall_binary();
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --release` first",
        bin.display()
    );
    let built = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
    let newest_source = newest_mtime(&crate::repo_root().join("src"));
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

/// The first argument that makes this benchmark binary the measuring helper.
const HELPER: &str = "--measure-child";

/// Runs `rolecall <args> --calls-json <dir>/<label>.calls.json`, output to files in `dir`.
/// Blocking: call it from `spawn_blocking`.
///
/// rolecall is started by a small helper (this binary again, see `helper_main`), not by the
/// benchmark itself: Linux keeps a process's peak RSS across `execve`, and a child made by
/// fork or vfork starts from its parent's. Spawned straight from the benchmark, whose proxy
/// and SDK clients hold tens of MB, rolecall's `ru_maxrss` would report the benchmark's
/// size whenever that was larger. The helper is a few MB (see `floor_kib`).
pub fn rolecall(bin: &Path, args: &[String], dir: &Path, label: &str) -> Run {
    let calls = dir.join(format!("{label}.calls.json"));
    let stdout = dir.join(format!("{label}.out"));
    let stderr = dir.join(format!("{label}.err"));
    let _ = std::fs::remove_file(&calls);
    let mut full: Vec<String> = args.to_vec();
    full.push("--calls-json".into());
    full.push(calls.display().to_string());
    let (wall, exit, max_rss_kib) = measure(
        bin,
        &full,
        &stdout,
        &stderr,
        &dir.join(format!("{label}.rusage")),
    );
    let self_counted = std::fs::read_to_string(&calls)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    Run {
        wall,
        exit,
        max_rss_kib,
        self_counted,
        stdout,
        stderr,
    }
}

/// The peak RSS the helper itself passes on: what `/bin/true` measures through it, in KiB.
/// Every peak reported is at least this.
pub fn floor_kib(dir: &Path) -> i64 {
    let (out, err) = (dir.join("floor.out"), dir.join("floor.err"));
    measure(
        Path::new("/bin/true"),
        &[],
        &out,
        &err,
        &dir.join("floor.rusage"),
    )
    .2
}

/// Runs `bin args` through the helper: (wall time, exit code, peak RSS in KiB).
fn measure(
    bin: &Path,
    args: &[String],
    stdout: &Path,
    stderr: &Path,
    report: &Path,
) -> (Duration, i32, i64) {
    let _ = std::fs::remove_file(report);
    let me = std::env::current_exe().expect("the benchmark's own path");
    let status = Command::new(me)
        .arg(HELPER)
        .arg(report)
        .arg(bin)
        .args(args)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(stdout).expect("create stdout file"))
        .stderr(std::fs::File::create(stderr).expect("create stderr file"))
        .status()
        .unwrap_or_else(|e| panic!("cannot run the measuring helper: {e}"));
    let text = std::fs::read_to_string(report).unwrap_or_else(|e| {
        panic!(
            "the measuring helper wrote no report ({status}, {e}); could {} run?",
            bin.display()
        )
    });
    let fields: Vec<i64> = text
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    let [nanos, exit, kib] = fields[..] else {
        panic!("the measuring helper's report {text:?} is not `nanos exit kib`");
    };
    (
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(0)),
        i32::try_from(exit).unwrap_or(-1),
        kib,
    )
}

/// The helper: `scale --measure-child REPORT BIN ARGS...` runs BIN with ARGS (stdio and
/// environment inherited), waits for it with `wait4`, and writes `nanos exit kib` (wall
/// time, exit code, the child's own `ru_maxrss`) to REPORT. Returns None unless this process
/// was started as the helper; `main` checks it before anything else, so the helper stays
/// small.
pub fn helper_main() -> Option<i32> {
    let mut args = std::env::args_os().skip(1);
    if args.next()? != HELPER {
        return None;
    }
    let report = PathBuf::from(args.next().expect("REPORT"));
    let bin = PathBuf::from(args.next().expect("BIN"));
    let start = Instant::now();
    let child = match Command::new(&bin).args(args).spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot run {}: {e}", bin.display());
            return Some(127);
        }
    };
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let (status, usage) = wait4(pid);
    let wall = start.elapsed();
    drop(child); // Already reaped by wait4; dropping it neither waits nor kills.
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    std::fs::write(
        &report,
        format!("{} {exit} {}", wall.as_nanos(), usage.ru_maxrss),
    )
    .expect("write the report");
    Some(exit)
}

/// Waits for the child and returns its status and its own resource usage: unlike
/// `getrusage(RUSAGE_CHILDREN)`, which keeps the largest of all children so far,
/// `wait4` gives this child's peak RSS alone.
fn wait4(pid: libc::pid_t) -> (libc::c_int, libc::rusage) {
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is a plain C struct for which all zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `pid` is our own unreaped child; both pointers are to live locals.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            return (status, usage);
        }
        let err = std::io::Error::last_os_error();
        if err.kind() != std::io::ErrorKind::Interrupted {
            panic!("wait4({pid}): {err}");
        }
    }
}
