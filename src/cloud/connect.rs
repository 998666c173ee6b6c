//! Connecting: the SDK's retry and timeout settings, the region and credentials checked
//! before any call, and endpoint URLs refused in one line when malformed.

use std::sync::Arc;
use std::time::Duration;

use aws_credential_types::provider::ProvideCredentials;
use tokio::sync::Semaphore;

use super::error::credential_error_summary;
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
    /// Attempts per call, the first included, for throttling, 5xx, resets and timeouts.
    pub max_attempts: u32,
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
            max_attempts: 8,
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
        let retry = aws_config::retry::RetryConfig::standard()
            .with_max_attempts(options.max_attempts.max(1))
            .with_initial_backoff(Duration::from_millis(200))
            .with_max_backoff(Duration::from_secs(20));
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
                return Err(ConnectError(format!(
                "no AWS credentials found ({}): set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                credential_error_summary(&e)
            )));
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
        let config = aws_sdk_iam::config::Builder::from(&sdk)
            .region(region)
            .build();
        Ok(Cloud {
            consistency_timeout: options.consistency_timeout,
            iam: aws_sdk_iam::Client::from_conf(config),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            sts: aws_sdk_sts::Client::new(&sdk),
            route53: aws_sdk_route53::Client::from_conf(route53),
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            concurrency: options.concurrency.max(1),
            calls: Arc::default(),
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
