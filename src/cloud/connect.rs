//! Connecting: the SDK's retry and timeout settings, the region and credentials checked
//! before any call, and endpoint URLs refused in one line when malformed.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use tokio::sync::Semaphore;

use aws_smithy_runtime::client::retries::{ClientRateLimiter, RetryPartition, TokenBucket};

use super::error::credential_error_message;
use super::rate::Pace;
use super::{Cloud, ConnectError};

#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Overrides `AWS_ENDPOINT_URL` and the config files.
    pub endpoint_url: Option<String>,
    /// Used when the standard chain names no region (the spec's subnets give one).
    pub fallback_region: Option<String>,
    /// The cluster's region, where its instances run (EC2, unlike IAM, is regional).
    pub cluster_region: Option<String>,
    /// How many calls may be in flight at once.
    pub concurrency: usize,
    /// How long to wait out IAM's eventual consistency for one operation.
    pub consistency_timeout: Duration,
    /// How long one HTTP attempt may take before it is abandoned and retried.
    pub attempt_timeout: Duration,
    /// Attempts per call, the first included, for throttling, 5xx, resets and timeouts;
    /// `None` takes `AWS_MAX_ATTEMPTS`, or 8.
    pub max_attempts: Option<u32>,
}

/// How calls are retried and paced, from `AWS_RETRY_MODE` as the AWS CLI and SDKs read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryMode {
    /// The SDK's standard retries, with rolecall's own rate for IAM (`rate.rs`). `legacy`
    /// means this too: the Rust SDK has no legacy mode.
    Standard,
    /// The SDK's adaptive mode, its client-side rate limiter instead of rolecall's.
    Adaptive,
}

/// Attempts per call when neither `--max-attempts` nor `AWS_MAX_ATTEMPTS` says.
const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// The range `--max-attempts` accepts, and so `AWS_MAX_ATTEMPTS`.
pub const MAX_ATTEMPTS_RANGE: std::ops::RangeInclusive<u32> = 1..=20;

/// The attempts and retry mode: the flag first, then `AWS_MAX_ATTEMPTS` and `AWS_RETRY_MODE`
/// (read through `env`), then the defaults. A bad value is a one-line error naming the variable.
pub fn retry_settings(
    flag: Option<u32>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<(u32, RetryMode), ConnectError> {
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let attempts = match (flag, set("AWS_MAX_ATTEMPTS")) {
        (Some(n), _) => n,
        (None, None) => DEFAULT_MAX_ATTEMPTS,
        (None, Some(v)) => v
            .trim()
            .parse()
            .ok()
            .filter(|n| MAX_ATTEMPTS_RANGE.contains(n))
            .ok_or_else(|| {
                ConnectError(format!(
                    "AWS_MAX_ATTEMPTS: {v:?} is not a whole number from {} to {} (attempts per AWS call, the first included)",
                    MAX_ATTEMPTS_RANGE.start(),
                    MAX_ATTEMPTS_RANGE.end()
                ))
            })?,
    };
    let mode = match set("AWS_RETRY_MODE") {
        None => RetryMode::Standard,
        Some(v) => match v.trim().to_ascii_lowercase().as_str() {
            "standard" | "legacy" => RetryMode::Standard,
            "adaptive" => RetryMode::Adaptive,
            _ => {
                return Err(ConnectError(format!(
                    "AWS_RETRY_MODE: {v:?} is not one of standard, adaptive or legacy"
                )))
            }
        },
    };
    Ok((attempts, mode))
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            endpoint_url: None,
            fallback_region: None,
            cluster_region: None,
            concurrency: 8,
            // Terraform's AWS provider waits two minutes for IAM to propagate.
            consistency_timeout: Duration::from_secs(120),
            attempt_timeout: Duration::from_secs(30),
            max_attempts: None,
        }
    }
}

impl Cloud {
    /// Region and credentials come from the standard AWS chain (environment, `AWS_PROFILE`,
    /// config files). Both are checked here, before any call, so that a missing one is a
    /// clear error rather than a failed request.
    pub async fn connect(options: &ConnectOptions) -> Result<Cloud, ConnectError> {
        // Throttling and 5xx answers are retried by the SDK's standard mode: exponential
        // backoff with full jitter. IAM's rate limits cannot be raised, so more attempts and a
        // longer ceiling than the SDK's default of three. An attempt that times out is
        // retried too; `execute` recognises a write whose lost answer had gone through.
        let (max_attempts, mode) =
            retry_settings(options.max_attempts, |name| std::env::var(name).ok())?;
        let retry = match mode {
            RetryMode::Standard => aws_config::retry::RetryConfig::standard(),
            RetryMode::Adaptive => aws_config::retry::RetryConfig::adaptive(),
        }
        .with_max_attempts(max_attempts.max(1))
        .with_initial_backoff(Duration::from_millis(200))
        .with_max_backoff(Duration::from_secs(20));
        // In standard mode rolecall paces IAM itself (docs/performance.md says why).
        let pace = (mode == RetryMode::Standard).then(Pace::new);
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(options.attempt_timeout)
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .retry_config(retry)
            .timeout_config(timeouts);
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        } else {
            Self::check_configured_endpoint_urls()?;
        }
        let sdk = loader.load().await;
        if let (None, Some(url)) = (&options.endpoint_url, sdk.endpoint_url()) {
            // From the environment (checked above) or the AWS config file's `endpoint_url`.
            Self::check_endpoint_url(url)
                .map_err(|e| ConnectError(format!("the configured endpoint URL: {e}")))?;
        }
        let region = sdk
            .region()
            .cloned()
            .or_else(|| options.fallback_region.clone().map(aws_sdk_iam::config::Region::new))
            .ok_or_else(|| {
                ConnectError(
                    "no AWS region: set AWS_REGION (or a region in the AWS config file), or give the cluster spec subnets with zones".into(),
                )
            })?;
        let provider = sdk.credentials_provider().ok_or_else(|| {
            ConnectError("no AWS credentials provider is configured: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".into())
        })?;
        // Only whether credentials exist is reported, never what they are; once known, they
        // are masked in every log line. aws-config logs what it resolves (a profile's key id
        // among it) before they are known, so this first resolution runs with logging off.
        let first = tracing::instrument::WithSubscriber::with_subscriber(
            provider.provide_credentials(),
            tracing::subscriber::NoSubscriber::default(),
        );
        match first.await {
            Ok(credentials) => {
                crate::redact::register(credentials.access_key_id());
                crate::redact::register(credentials.secret_access_key());
                if let Some(token) = credentials.session_token() {
                    crate::redact::register(token);
                }
            }
            Err(e) => {
                return Err(ConnectError(credential_error_message(&e)));
            }
        }
        let ec2_region = options
            .cluster_region
            .clone()
            .map(aws_sdk_ec2::config::Region::new)
            .unwrap_or_else(|| region.clone());
        let ec2 = aws_sdk_ec2::config::Builder::from(&sdk)
            .region(ec2_region)
            .build();
        // Route53 is global: its endpoint is signed for the first region of the partition.
        let route53 = aws_sdk_route53::config::Builder::from(&sdk)
            .region(aws_sdk_route53::config::Region::from_static(
                route53_region(region.as_ref()),
            ))
            .build();
        let identity = super::Identity {
            region: region.to_string(),
            endpoint: sdk.endpoint_url().map(str::to_string),
        };
        let mut config = aws_sdk_iam::config::Builder::from(&sdk)
            .region(region)
            .retry_partition(retry_partition("iam"));
        if let Some(pace) = &pace {
            config = config.interceptor(pace.feedback());
        }
        let config = config.build();
        Ok(Cloud {
            consistency_timeout: options.consistency_timeout,
            iam: aws_sdk_iam::Client::from_conf(config),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            sts: aws_sdk_sts::Client::new(&sdk),
            route53: aws_sdk_route53::Client::from_conf(route53),
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            pace,
            concurrency: options.concurrency.max(1),
            calls: Arc::default(),
            identity,
        })
    }

    /// Whether `url` can be an AWS endpoint: an absolute http:// or https:// URL with a host
    /// (and a port that is a number), as the SDK parses it when it sends a request. The
    /// error is one line and shows the value escaped.
    pub fn check_endpoint_url(url: &str) -> Result<(), String> {
        let problem = match url.parse::<http::Uri>() {
            Err(_) => Some("is not a URL"),
            Ok(uri) => match (uri.scheme_str(), uri.authority()) {
                (Some("http" | "https"), Some(authority)) if !authority.host().is_empty() => {
                    // `port_u16` is None for a port that is absent or not a u16.
                    let host_and_port = authority.as_str().rsplit('@').next().unwrap_or_default();
                    let has_port = host_and_port.len() > authority.host().len();
                    (has_port && authority.port_u16().is_none())
                        .then_some("has a port that is not a number from 0 to 65535")
                }
                (Some("http" | "https"), _) => Some("has no host"),
                _ => Some("is not an http:// or https:// URL"),
            },
        };
        match problem {
            None => Ok(()),
            Some(problem) => Err(format!(
                "{url:?} {problem}: give an absolute http:// or https:// URL such as http://localhost:4566"
            )),
        }
    }

    /// The endpoint variables the SDK reads when no `--endpoint-url` is given. aws-config
    /// ignores a malformed one with a warning (and would then talk to AWS itself), and the
    /// SDK fails on a URL it cannot send to with pages of its internals: both are refused
    /// here in one line, before any request.
    fn check_configured_endpoint_urls() -> Result<(), ConnectError> {
        let ignored = std::env::var("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS")
            .is_ok_and(|v| v.eq_ignore_ascii_case("true"));
        if ignored {
            return Ok(());
        }
        for name in [
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_IAM",
            "AWS_ENDPOINT_URL_STS",
            "AWS_ENDPOINT_URL_EC2",
            "AWS_ENDPOINT_URL_ROUTE_53",
        ] {
            let Some(value) = std::env::var_os(name) else {
                continue;
            };
            let value = value.to_string_lossy();
            if value.is_empty() {
                continue;
            }
            Self::check_endpoint_url(&value).map_err(|e| ConnectError(format!("{name}: {e}")))?;
        }
        Ok(())
    }
}

/// The SDK's retry quota, as it comes, except that a throttled call's retry costs nothing
/// from it: the quota stops retry storms in an outage, but retries of throttled calls are
/// paced (by rolecall's rate, or the SDK's in adaptive mode), and a quota spent on them
/// failed whole runs under heavy throttling while attempts remained. Errors of other kinds
/// still draw on it. In adaptive mode the SDK's client rate limiter lives in the partition.
fn retry_partition(name: &'static str) -> RetryPartition {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default();
    RetryPartition::custom(name)
        .token_bucket(TokenBucket::builder().throttling_retry_cost(0).build())
        .client_rate_limiter(ClientRateLimiter::new(now))
        .build()
}

/// The region Route53's global endpoint is signed for in the partition of `region`:
/// us-east-1 in the commercial partition, as the SDK expects (LocalStack accepts it too).
fn route53_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "cn-northwest-1"
    } else if region.starts_with("us-gov-") {
        "us-gov-west-1"
    } else {
        "us-east-1"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(flag: Option<u32>, vars: &[(&str, &str)]) -> Result<(u32, RetryMode), String> {
        let env = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        };
        retry_settings(flag, env).map_err(|e| e.0)
    }

    #[test]
    fn the_flag_wins_over_aws_max_attempts_which_wins_over_the_default() {
        assert_eq!(settings(None, &[]), Ok((8, RetryMode::Standard)));
        let env = [("AWS_MAX_ATTEMPTS", "3")];
        assert_eq!(settings(None, &env), Ok((3, RetryMode::Standard)));
        assert_eq!(settings(Some(5), &env), Ok((5, RetryMode::Standard)));
        // An empty variable is an unset one, as the AWS CLI takes it.
        assert_eq!(settings(None, &[("AWS_MAX_ATTEMPTS", "")]).unwrap().0, 8);
        // The flag wins over a bad variable too: it is not read.
        assert_eq!(
            settings(Some(2), &[("AWS_MAX_ATTEMPTS", "x")]).unwrap().0,
            2
        );
    }

    #[test]
    fn aws_retry_mode_picks_standard_adaptive_or_legacy_in_any_case() {
        for (value, mode) in [
            ("standard", RetryMode::Standard),
            ("Adaptive", RetryMode::Adaptive),
            (" legacy ", RetryMode::Standard),
        ] {
            let got = settings(None, &[("AWS_RETRY_MODE", value)]).unwrap().1;
            assert_eq!(got, mode, "{value}");
        }
    }

    #[test]
    fn bad_values_are_one_line_errors_naming_the_variable() {
        for (var, value) in [
            ("AWS_MAX_ATTEMPTS", "0"),
            ("AWS_MAX_ATTEMPTS", "21"),
            ("AWS_MAX_ATTEMPTS", "three"),
            ("AWS_MAX_ATTEMPTS", "-1"),
            ("AWS_RETRY_MODE", "fast"),
        ] {
            let err = settings(None, &[(var, value)]).unwrap_err();
            assert!(err.starts_with(&format!("{var}: {value:?} ")), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
