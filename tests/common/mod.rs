//! What the integration tests share: real LocalStacks (each started once when none answers),
//! a recording proxy in front of it, an independent IAM client for checking the account,
//! and the rolecall binary itself.

#![allow(dead_code)] // proxy.rs and spec.rs are shared with the benchmark, which uses parts the tests do not.

pub mod cluster;
pub mod proxy;
pub mod spec;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

pub use proxy::RecordingProxy;

/// The port of the first LocalStack; `ROLECALL_TEST_LOCALSTACK_PORT` moves it, and the others
/// take the ports after it.
pub fn localstack_port() -> u16 {
    std::env::var("ROLECALL_TEST_LOCALSTACK_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(4566)
}

/// The most LocalStacks `ROLECALL_TEST_LOCALSTACKS` may ask for.
const MAX_LOCALSTACKS: usize = 8;

/// How many LocalStacks the tests spread over: `ROLECALL_TEST_LOCALSTACKS`, else one per core
/// up to two. One LocalStack serves its requests on one core (Python): with four tests at a
/// time it was the suite's bound (110 CPU-seconds of a 162 s run on 2 cores), and a second one
/// halved the suite's time (docs/performance.md, "Build time").
pub fn localstack_count() -> usize {
    std::env::var("ROLECALL_TEST_LOCALSTACKS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
                .min(2)
        })
        .clamp(1, MAX_LOCALSTACKS)
}

tokio::task_local! {
    /// The LocalStack of the test that spawned this task (see `same_localstack`).
    static SHARD: usize;
}

/// Which LocalStack the running test uses: fixed by its name, which libtest gives the thread it
/// runs the test on, so that every call of one test, and its checks, reach the same account.
/// Tasks spawned onto other threads carry it with them through `same_localstack`.
fn shard() -> usize {
    if let Ok(shard) = SHARD.try_with(|s| *s) {
        return shard;
    }
    let count = localstack_count();
    let thread = std::thread::current();
    match thread.name() {
        // libtest names each test's thread after the test: `module::name`.
        Some(test) if test.contains("::") => {
            // FNV-1a: the same test, the same LocalStack, on every run.
            let hash = test.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            (hash % count as u64) as usize
        }
        Some("main") => 0,
        other => panic!(
            "localstack() on thread {other:?}, not a test's own: spawn the task through common::same_localstack"
        ),
    }
}

/// `task`, run against the LocalStack of the test that creates it, wherever it is spawned.
pub fn same_localstack<F: std::future::Future>(
    task: F,
) -> impl std::future::Future<Output = F::Output> {
    on_localstack(shard(), task)
}

/// `task`, run against LocalStack number `n` (modulo how many there are): for a test that
/// spreads its own work over all of them, each with accounts of its own.
pub fn on_localstack<F: std::future::Future>(
    n: usize,
    task: F,
) -> impl std::future::Future<Output = F::Output> {
    SHARD.scope(n % localstack_count(), task)
}

/// The endpoint of the running test's LocalStack, started unless one answers on its port,
/// once per run of the test binary. A LocalStack that cannot start fails the test: these
/// tests never skip.
pub fn localstack() -> String {
    static STARTED: [OnceLock<String>; MAX_LOCALSTACKS] =
        [const { OnceLock::new() }; MAX_LOCALSTACKS];
    let shard = shard();
    STARTED[shard]
        .get_or_init(|| {
            let port = localstack_port() + shard as u16;
            let script = repo_root().join("localstack/start.sh");
            let out = std::process::Command::new("bash")
                .arg(&script)
                .arg(port.to_string())
                .output()
                .expect("run localstack/start.sh");
            assert!(
                out.status.success(),
                "LocalStack could not be started on port {port}:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            format!("http://127.0.0.1:{port}")
        })
        .clone()
}

/// The AWS variables of a run against LocalStack, which accepts any keys.
pub const TEST_KEYS: [(&str, &str); 3] = [
    ("AWS_ACCESS_KEY_ID", "test"),
    ("AWS_SECRET_ACCESS_KEY", "test"),
    ("AWS_REGION", "us-east-1"),
];

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A cluster name no other test or earlier run has used on the shared LocalStack.
pub fn unique_cluster(test: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{test}-{}-{}.k8s.local",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

/// A client of the SDK crate `$sdk` for the shared LocalStack: us-east-1, test credentials,
/// and nothing read from the machine's AWS configuration.
macro_rules! localstack_client {
    ($sdk:ident) => {{
        let endpoint = localstack();
        let config = $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .credentials_provider($sdk::config::Credentials::new(
                "test", "test", None, None, "tests",
            ))
            .build();
        $sdk::Client::from_conf(config)
    }};
}

/// An IAM client that talks to LocalStack directly, not through rolecall or the proxy:
/// the tests' independent view of the account.
pub async fn iam_client() -> aws_sdk_iam::Client {
    localstack_client!(aws_sdk_iam)
}

/// An EC2 client for LocalStack, to start the instances the tests need.
pub async fn ec2_client() -> aws_sdk_ec2::Client {
    localstack_client!(aws_sdk_ec2)
}

/// Starts one instance as kops would: tagged with the cluster, the instance group and any
/// `extra_tags` (such as `k8s.io/role/node`), with the instance profile named `profile`.
pub async fn run_instance(
    cluster: &str,
    group: &str,
    extra_tags: &[&str],
    profile: Option<&str>,
) -> String {
    use aws_sdk_ec2::types::{
        IamInstanceProfileSpecification, ResourceType, Tag, TagSpecification,
    };
    let ec2 = ec2_client().await;
    let images = ec2.describe_images().send().await.unwrap();
    let image = images
        .images()
        .first()
        .and_then(|i| i.image_id())
        .expect("LocalStack has an AMI")
        .to_string();
    let mut tags = TagSpecification::builder()
        .resource_type(ResourceType::Instance)
        .tags(
            Tag::builder()
                .key("KubernetesCluster")
                .value(cluster)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("kops.k8s.io/instancegroup")
                .value(group)
                .build(),
        );
    for key in extra_tags {
        tags = tags.tags(Tag::builder().key(*key).value("1").build());
    }
    let mut req = ec2
        .run_instances()
        .image_id(image)
        .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
        .min_count(1)
        .max_count(1)
        .tag_specifications(tags.build());
    if let Some(name) = profile {
        req = req.iam_instance_profile(
            IamInstanceProfileSpecification::builder()
                .name(name)
                .build(),
        );
    }
    let out = req.send().await.unwrap();
    out.instances()[0].instance_id().unwrap().to_string()
}

/// The result of one rolecall run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }

    /// Asserts the exit code, showing the run when it differs.
    #[track_caller]
    pub fn assert_code(&self, code: i32) {
        assert_eq!(self.code, code, "{self:?}");
    }

    /// Asserts that stdout starts with `head`, showing the run when it does not.
    #[track_caller]
    pub fn assert_stdout_starts(&self, head: &str) {
        assert!(self.plan_text().starts_with(head), "{self:?}");
    }

    /// stdout after the first line, which names the kops generation the plan builds
    /// (asserted to be there).
    #[track_caller]
    pub fn plan_text(&self) -> &str {
        let (header, rest) = self.stdout.split_once("\n\n").unwrap_or(("", ""));
        assert!(
            header.starts_with("IAM of kops ") && !header.contains('\n'),
            "no generation header: {self:?}"
        );
        rest
    }

    /// Asserts that stdout holds `part`, showing the run when it does not.
    #[track_caller]
    pub fn assert_stdout_has(&self, part: &str) {
        assert!(self.stdout.contains(part), "{self:?}");
    }

    /// Asserts that stderr holds `part`, showing the run when it does not.
    #[track_caller]
    pub fn assert_stderr_has(&self, part: &str) {
        assert!(self.stderr.contains(part), "{self:?}");
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs the rolecall binary against `endpoint` with test credentials and no AWS config
/// files, so nothing on the machine leaks in.
pub async fn rolecall(endpoint: &str, args: &[&str]) -> Run {
    rolecall_with_env(endpoint, args, &TEST_KEYS).await
}

/// Like [`rolecall`], with exactly these AWS variables (and no config files).
pub async fn rolecall_with_env(endpoint: &str, args: &[&str], aws_env: &[(&str, &str)]) -> Run {
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", endpoint]);
    rolecall_args(&all, aws_env).await
}

/// Runs the rolecall binary with exactly `args` (no `--endpoint-url` added) and these AWS
/// variables, and no config files.
pub async fn rolecall_args(args: &[&str], aws_env: &[(&str, &str)]) -> Run {
    let out = command(args, aws_env).output().await.expect("run rolecall");
    Run::from(out)
}

/// Like [`rolecall`], with `input` on standard input (for `-f -`).
pub async fn rolecall_with_stdin(endpoint: &str, args: &[&str], input: &str) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut all = args.to_vec();
    all.extend(["--endpoint-url", endpoint]);
    let mut child = command(&all, &TEST_KEYS)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run rolecall");
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(input.as_bytes()).await.unwrap();
    drop(stdin);
    Run::from(child.wait_with_output().await.expect("run rolecall"))
}

/// The rolecall binary with `args` and exactly these AWS variables, and no config files.
fn command(args: &[&str], aws_env: &[(&str, &str)]) -> tokio::process::Command {
    let home = std::env::temp_dir().join("rolecall-tests-empty-home");
    std::fs::create_dir_all(&home).unwrap();
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_rolecall"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &home)
        .envs(aws_env.iter().copied())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("NO_COLOR", "1");
    command
}

/// Writes `text` to a fresh file for one test and returns its path.
pub fn write_spec(dir: &Path, name: &str, text: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// A scratch directory under the target dir, unique to the cluster.
pub fn scratch_dir(cluster: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(cluster);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A policy that allows everything in S3: what a hand-made change puts on a role.
pub const ALLOW_S3: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#;

/// The trust policy of an instance role.
pub const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// Makes a role by hand, trusting as `trust` says, with `tags` when given.
pub async fn create_role(name: &str, trust: &str, tags: Option<&[(String, String)]>) {
    iam_client()
        .await
        .create_role()
        .role_name(name)
        .assume_role_policy_document(trust)
        .set_tags(tags.map(iam_tags))
        .send()
        .await
        .unwrap();
}

/// Puts the inline policy `name` on `role` by hand.
pub async fn put_role_policy(role: &str, name: &str, document: &str) {
    iam_client()
        .await
        .put_role_policy()
        .role_name(role)
        .policy_name(name)
        .policy_document(document)
        .send()
        .await
        .unwrap();
}

/// Replaces a role's trust policy by hand.
pub async fn set_trust(role: &str, document: &str) {
    iam_client()
        .await
        .update_assume_role_policy()
        .role_name(role)
        .policy_document(document)
        .send()
        .await
        .unwrap();
}

/// Makes an instance profile by hand, with `tags` when given; its ARN.
pub async fn create_instance_profile(name: &str, tags: Option<&[(String, String)]>) -> String {
    let out = iam_client()
        .await
        .create_instance_profile()
        .instance_profile_name(name)
        .set_tags(tags.map(iam_tags))
        .send()
        .await
        .unwrap();
    out.instance_profile().unwrap().arn().to_string()
}

/// Puts `role` into the instance profile `profile` by hand.
pub async fn add_role_to_instance_profile(profile: &str, role: &str) {
    iam_client()
        .await
        .add_role_to_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .unwrap();
}

/// The audiences of an OIDC provider, which must exist, read with the tests' own client.
pub async fn oidc_audiences(arn: &str) -> Vec<String> {
    let out = iam_client()
        .await
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .expect("the OIDC provider exists");
    out.client_id_list().to_vec()
}

/// A customer managed policy of the test's own, to attach.
pub async fn managed_policy(name: &str) -> String {
    let out = iam_client()
        .await
        .create_policy()
        .policy_name(name)
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_string()
}

/// Whether the role exists, read with the tests' own client.
pub async fn role_exists(name: &str) -> bool {
    iam_client()
        .await
        .get_role()
        .role_name(name)
        .send()
        .await
        .is_ok()
}

/// A role's inline policy as IAM holds it (decoded), read with the tests' own client.
pub async fn policy_document(role: &str, name: &str) -> Option<String> {
    let out = iam_client()
        .await
        .get_role_policy()
        .role_name(role)
        .policy_name(name)
        .send()
        .await
        .ok()?;
    Some(rolecall::policy::decode_aws_document(out.policy_document()))
}

/// IAM tags from key-value pairs, for the objects the tests make by hand.
pub fn iam_tags(pairs: &[(String, String)]) -> Vec<aws_sdk_iam::types::Tag> {
    pairs
        .iter()
        .map(|(k, v)| {
            aws_sdk_iam::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .unwrap()
        })
        .collect()
}

/// A role as IAM holds it, read with the tests' own client.
pub async fn get_role(name: &str) -> aws_sdk_iam::types::Role {
    let out = iam_client()
        .await
        .get_role()
        .role_name(name)
        .send()
        .await
        .unwrap();
    out.role().unwrap().clone()
}

/// A role's id: a role recreated under the same name gets another.
pub async fn role_id(name: &str) -> String {
    get_role(name).await.role_id().to_string()
}

/// A role's trust policy as IAM holds it (decoded), read with the tests' own client.
pub async fn trust_policy(role: &str) -> String {
    let role = get_role(role).await;
    rolecall::policy::decode_aws_document(role.assume_role_policy_document().unwrap())
}
