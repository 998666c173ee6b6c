//! Terraform side by side (issue 17, point 4): the tool users would otherwise pick, measured
//! in the same run on the same LocalStack. N roles, each with one inline policy
//! (`aws_iam_role` + `aws_iam_role_policy`, the trust, tags and documents of the bare
//! writes), at Terraform's default parallelism: `terraform apply` from empty, then
//! `terraform plan -detailed-exitcode` with nothing to do; beside them rolecall's first
//! apply and no-op plan of a cluster of N pod roles, through the same proxy, which counts
//! both tools' requests.
//!
//! Environment:
//! - `SCALE_TERRAFORM=0`: skip it.
//! - `SCALE_TERRAFORM_N=1000`: the sizes run against LocalStack through the counting proxy.
//! - `SCALE_TERRAFORM_DELAY_N=100`: the size run through the delaying proxy (`SCALE_DELAY_MS`),
//!   and, when `SCALE_RATE` is set, once more through it with IAM's rate limit (benches/scale/rate.rs).
//! - `SCALE_TERRAFORM_BIN=terraform`, `SCALE_TERRAFORM_MIRROR=/opt/tf-plugins`: Terraform and
//!   the local filesystem mirror that holds hashicorp/aws 5.100.0 (no network is used).
//!
//! `compare` takes any proxy: a rate-limited run is one more call with a throttling proxy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::measure::Bench;
use crate::proxy::RecordingProxy;
use crate::results::{Fetch, Phase};
use crate::{baselines, list, spec, CONCURRENCY};

/// One Terraform command: its time, exit code and the requests the proxy saw.
pub struct TerraformRun {
    pub wall: Duration,
    pub exit: i32,
    pub calls: BTreeMap<String, u64>,
}

impl TerraformRun {
    pub fn total(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// Both tools at one size, through one proxy.
pub struct Comparison {
    pub n: usize,
    /// What stood between the tools and LocalStack.
    pub through: String,
    pub tf_apply: TerraformRun,
    pub tf_plan: TerraformRun,
    pub rc_apply: Phase,
    pub rc_noop: Phase,
}

/// The comparisons the environment asks for: each size through the counting proxy, and one
/// through the delaying proxy.
pub async fn run(bench: &Bench) -> Vec<Comparison> {
    if std::env::var("SCALE_TERRAFORM").is_ok_and(|v| v == "0") {
        return Vec::new();
    }
    let mut out = Vec::new();
    for n in list("SCALE_TERRAFORM_N", "1000") {
        out.push(compare(bench, &bench.counting, n, "LocalStack, no delay").await);
    }
    if let Some(n) = list("SCALE_TERRAFORM_DELAY_N", "100").first().copied() {
        let (slow, _) = bench.delaying_proxy().await;
        let through = format!("{} ms per request", bench.cfg.delay.as_millis());
        out.push(compare(bench, &slow, n, &through).await);
        // With IAM's rate limit too, when the run has one (`SCALE_RATE`): the same delay,
        // and `Throttling` above the rate, account-wide, as the rate experiment's proxy.
        if let Some(rate) = crate::rate::RateConfig::from_env().map(|cfg| cfg.rate) {
            let (limited, _) = bench.delaying_proxy().await;
            limited.throttle(rate);
            let through = format!(
                "{} ms per request, Throttling above {rate} requests a second",
                bench.cfg.delay.as_millis()
            );
            out.push(compare(bench, &limited, n, &through).await);
        }
    }
    out
}

/// Terraform and rolecall making `n` roles through `proxy`, each on names of its own, then
/// planning with nothing to do; what they made is deleted after.
pub async fn compare(bench: &Bench, proxy: &RecordingProxy, n: usize, through: &str) -> Comparison {
    let tag = format!("{}{}", n, if through.contains("ms") { "d" } else { "" });
    let tf_cluster = format!("{}-{tag}-tf.k8s.local", bench.run_id);
    let dir = bench.dir.join(format!("terraform-{tag}"));
    std::fs::create_dir_all(&dir).expect("create Terraform's dir");
    write_config(&dir, &tf_cluster, n, &proxy.endpoint);
    let init = terraform(&dir, &["init", "-input=false", "-no-color"], "init");
    assert_eq!(init.1, 0, "terraform init failed: see {}", dir.display());
    proxy.take_counts();
    let tf_apply = timed(
        proxy,
        &dir,
        &["apply", "-auto-approve", "-input=false", "-no-color"],
        "apply",
    );
    assert_eq!(
        tf_apply.exit,
        0,
        "terraform apply failed: see {}",
        dir.display()
    );
    let tf_plan = timed(
        proxy,
        &dir,
        &["plan", "-detailed-exitcode", "-input=false", "-no-color"],
        "plan",
    );
    if tf_plan.exit != 0 {
        eprintln!(
            "scale: terraform's plan after its apply exited {} (not an empty plan): see {}",
            tf_plan.exit,
            dir.display()
        );
    }
    bench.clean_up(&tf_cluster, n).await;

    let rc_cluster = format!("{}-{tag}-rc.k8s.local", bench.run_id);
    let (spec, _) = bench.spec_files(&rc_cluster, n);
    let rc_apply = bench
        .first_apply(
            proxy,
            &rc_cluster,
            &spec,
            Fetch::Auto,
            CONCURRENCY,
            format!("tf-side-apply-{tag}"),
        )
        .await;
    let rc_noop = bench
        .rolecall(
            proxy,
            &spec,
            false,
            Fetch::Auto,
            CONCURRENCY,
            format!("tf-side-noop-{tag}"),
        )
        .await;
    bench.clean_up(&rc_cluster, n).await;
    eprintln!(
        "scale: terraform N={n} ({through}): apply {:.1}s, plan {:.1}s; rolecall apply {:.1}s, no-op {:.1}s",
        tf_apply.wall.as_secs_f64(),
        tf_plan.wall.as_secs_f64(),
        rc_apply.run.wall.as_secs_f64(),
        rc_noop.run.wall.as_secs_f64()
    );
    Comparison {
        n,
        through: through.to_string(),
        tf_apply,
        tf_plan,
        rc_apply,
        rc_noop,
    }
}

/// The configuration, in Terraform's JSON syntax: the aws provider pointed at `endpoint`
/// (IAM and STS), and for each pod role of the bare writes its role and inline policy.
fn write_config(dir: &Path, cluster: &str, n: usize, endpoint: &str) {
    let tags = serde_json::json!({
        "KubernetesCluster": cluster,
        format!("kubernetes.io/cluster/{cluster}"): "owned",
    });
    let mut roles = serde_json::Map::new();
    let mut policies = serde_json::Map::new();
    for i in 0..n {
        let (key, name) = (format!("r{i:04}"), spec::role_name(i, cluster));
        roles.insert(
            key.clone(),
            serde_json::json!({
                "name": name,
                "path": "/",
                "assume_role_policy": baselines::irsa_trust(cluster, i),
                "tags": tags,
            }),
        );
        policies.insert(
            key.clone(),
            serde_json::json!({
                "name": name,
                "role": format!("${{aws_iam_role.{key}.name}}"),
                "policy": spec::document(i),
            }),
        );
    }
    let config = serde_json::json!({
        "terraform": {"required_providers": {"aws": {"source": "hashicorp/aws", "version": "5.100.0"}}},
        "provider": {"aws": {
            "region": "us-east-1",
            "access_key": "test",
            "secret_key": "test",
            "skip_credentials_validation": true,
            "skip_requesting_account_id": true,
            "skip_metadata_api_check": true,
            "endpoints": {"iam": endpoint, "sts": endpoint},
        }},
        "resource": {"aws_iam_role": roles, "aws_iam_role_policy": policies},
    });
    std::fs::write(
        dir.join("main.tf.json"),
        serde_json::to_string_pretty(&config).expect("JSON"),
    )
    .expect("write main.tf.json");
    let mirror =
        std::env::var("SCALE_TERRAFORM_MIRROR").unwrap_or_else(|_| "/opt/tf-plugins".into());
    std::fs::write(
        dir.join("terraformrc"),
        format!(
            "provider_installation {{\n  filesystem_mirror {{\n    path    = \"{mirror}\"\n    include = [\"registry.terraform.io/hashicorp/aws\"]\n  }}\n}}\n"
        ),
    )
    .expect("write terraformrc");
}

fn timed(proxy: &RecordingProxy, dir: &Path, args: &[&str], label: &str) -> TerraformRun {
    proxy.take_counts();
    let (wall, exit) = terraform(dir, args, label);
    TerraformRun {
        wall,
        exit,
        calls: proxy.take_counts(),
    }
}

/// Runs `terraform <args>` in `dir`, output to `<label>.out`/`.err` there: its wall time and
/// exit code. Blocking, as the bench's own runs are timed (nothing else runs meanwhile).
fn terraform(dir: &Path, args: &[&str], label: &str) -> (Duration, i32) {
    let bin: PathBuf = std::env::var_os("SCALE_TERRAFORM_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| "terraform".into());
    let out = std::fs::File::create(dir.join(format!("{label}.out"))).expect("output file");
    let err = std::fs::File::create(dir.join(format!("{label}.err"))).expect("output file");
    let started = Instant::now();
    let status = Command::new(bin)
        .args(args)
        .current_dir(dir)
        .env("TF_CLI_CONFIG_FILE", dir.join("terraformrc"))
        .env("TF_IN_AUTOMATION", "1")
        .env("CHECKPOINT_DISABLE", "1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env_remove("AWS_PROFILE")
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .expect("run terraform");
    (started.elapsed(), status.code().unwrap_or(-1))
}

/// The report's section.
pub fn render(comparisons: &[Comparison]) -> String {
    let mut out = String::from("\n### Terraform side by side\n\n");
    out += "Terraform 1.11 with hashicorp/aws 5.100.0 (default parallelism, 10): N `aws_iam_role` + `aws_iam_role_policy`, applied from empty, then planned with nothing to do. rolecall (--fetch auto, c=8): the first apply and the no-op plan of a cluster of N IRSA pod roles, each with the same inline policy and a managed policy attached, plus the kops roles and the OIDC provider: more than Terraform makes. Calls are the requests the proxy saw. One run each.\n\n";
    out += "| N | through | Terraform apply (s) | calls | rolecall first apply (s) | calls | Terraform / rolecall | Terraform plan (s) | calls | rolecall no-op plan (s) | calls | Terraform / rolecall |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n";
    for c in comparisons {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
        out += &format!(
            "| {} | {} | {:.1} | {} | {:.2} | {} | {:.1}x | {:.1} | {} | {:.2} | {} | {:.1}x |\n",
            c.n,
            c.through,
            c.tf_apply.wall.as_secs_f64(),
            c.tf_apply.total(),
            c.rc_apply.run.wall.as_secs_f64(),
            c.rc_apply.total(),
            ratio(c.tf_apply.wall, c.rc_apply.run.wall),
            c.tf_plan.wall.as_secs_f64(),
            c.tf_plan.total(),
            c.rc_noop.run.wall.as_secs_f64(),
            c.rc_noop.total(),
            ratio(c.tf_plan.wall, c.rc_noop.run.wall),
        );
    }
    for c in comparisons.iter().filter(|c| c.tf_plan.exit != 0) {
        out += &format!(
            "\nAt N={} ({}) Terraform's plan exited {}: not an empty plan.\n",
            c.n, c.through, c.tf_plan.exit
        );
    }
    out += "\nTerraform's calls by operation:\n\n";
    for c in comparisons {
        for (what, run) in [("apply", &c.tf_apply), ("plan", &c.tf_plan)] {
            let by_op: Vec<String> = run.calls.iter().map(|(k, v)| format!("{k} {v}")).collect();
            out += &format!(
                "- N={} ({}), {what}: {}\n",
                c.n,
                c.through,
                by_op.join(", ")
            );
        }
    }
    out
}
