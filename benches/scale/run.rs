//! Runs the built `rolecall` binary once: wall time, exit code, peak memory (the child's own
//! `ru_maxrss`, from `wait4`), and the calls rolecall counted itself (`--calls-json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

/// Runs `rolecall <args> --calls-json <dir>/<label>.calls.json`, output to files in `dir`.
/// Blocking: call it from `spawn_blocking`.
pub fn rolecall(bin: &Path, args: &[String], dir: &Path, label: &str) -> Run {
    let calls = dir.join(format!("{label}.calls.json"));
    let stdout = dir.join(format!("{label}.out"));
    let stderr = dir.join(format!("{label}.err"));
    let _ = std::fs::remove_file(&calls);
    let start = Instant::now();
    let child = Command::new(bin)
        .args(args)
        .arg("--calls-json")
        .arg(&calls)
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
        .stdout(std::fs::File::create(&stdout).expect("create stdout file"))
        .stderr(std::fs::File::create(&stderr).expect("create stderr file"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
    let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
    let (status, usage) = wait4(pid);
    let wall = start.elapsed();
    drop(child); // Already reaped by wait4; dropping it neither waits nor kills.
    let exit = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    let self_counted = std::fs::read_to_string(&calls)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    Run {
        wall,
        exit,
        max_rss_kib: usage.ru_maxrss,
        self_counted,
        stdout,
        stderr,
    }
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
