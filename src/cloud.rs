//! The only module that talks to AWS: connect, read the actual state of the objects the
//! desired state names, and carry out one operation. Decoding, pagination and error
//! mapping live here and nowhere else.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::model::{
    ActualInstanceProfile, ActualOidcProvider, ActualRole, ActualState, DesiredState,
    ExternalProfile, Lifecycle, ResourceId, ResourceType, Tags,
};
use crate::operation::{Found, Operation, ReadBack};
use crate::rolling::ClusterInstance;

/// The tag kops puts on every instance with its instance group's name.
const GROUP_TAG: &str = "kops.k8s.io/instancegroup";
use crate::policy::decode_aws_document;

/// A failed call, with the object it concerns and AWS's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    pub operation: &'static str,
    /// The object, such as `role nodes.example.com`.
    pub target: String,
    /// AWS's error code (`MalformedPolicyDocument`, `AccessDenied`...), when it sent one.
    pub code: Option<String>,
    pub message: String,
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: ", self.operation, self.target)?;
        if let Some(code) = &self.code {
            write!(f, "{code}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for CloudError {}

/// A setup problem: no region, no credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ConnectError(pub String);

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

/// An IAM client that counts its calls by operation, the cost that matters on a real account.
#[derive(Clone)]
pub struct Cloud {
    consistency_timeout: Duration,
    iam: aws_sdk_iam::Client,
    ec2: aws_sdk_ec2::Client,
    sts: aws_sdk_sts::Client,
    limit: Arc<Semaphore>,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
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
        let config = aws_sdk_iam::config::Builder::from(&sdk)
            .region(region)
            .build();
        Ok(Cloud {
            consistency_timeout: options.consistency_timeout,
            iam: aws_sdk_iam::Client::from_conf(config),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            sts: aws_sdk_sts::Client::new(&sdk),
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
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

    /// Calls made so far, by IAM operation.
    pub fn call_counts(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().expect("call counter").clone()
    }

    /// Fetches the next page of a paginated read under the concurrency bound, counting only
    /// pages actually requested (the paginator's final `None` sends nothing).
    async fn next_page<T, F: Future<Output = Option<T>>>(
        &self,
        operation: &'static str,
        f: F,
    ) -> Option<T> {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("semaphore is never closed");
        let page = f.await;
        if page.is_some() {
            *self
                .calls
                .lock()
                .expect("call counter")
                .entry(operation)
                .or_default() += 1;
            tracing::debug!(operation, "AWS call");
        }
        page
    }

    /// Runs one call under the concurrency bound and counts it.
    async fn call<T, F: Future<Output = T>>(&self, operation: &'static str, f: F) -> T {
        let _permit = self
            .limit
            .acquire()
            .await
            .expect("semaphore is never closed");
        *self
            .calls
            .lock()
            .expect("call counter")
            .entry(operation)
            .or_default() += 1;
        tracing::debug!(operation, "IAM call");
        f.await
    }

    /// Reads the instance profiles the spec names by ARN, to learn which role each holds.
    /// A missing profile is an error that names the ARN. Returns each profile as read.
    pub async fn read_external_profiles(
        &self,
        desired: &DesiredState,
    ) -> Result<Vec<(ExternalProfile, ActualInstanceProfile)>, CloudError> {
        let mut reads = JoinSet::new();
        for profile in &desired.external_profiles {
            let cloud = self.clone();
            let profile = profile.clone();
            reads.spawn(async move {
                let found = cloud.get_instance_profile(&profile.name).await;
                (profile, found)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let (profile, found) = joined.expect("read task panicked");
            match found? {
                // Read by name, so a wrong account (or path) in the ARN would go unseen.
                Read::Found(p) if p.arn != profile.arn => {
                    return Err(CloudError {
                        operation: "GetInstanceProfile",
                        target: format!("instance profile {}", profile.name),
                        code: None,
                        message: format!(
                            "spec.iam.profile of instance group(s) {} names {}, but the profile of that name in this account is {}: check the account id and path",
                            profile.groups.join(", "),
                            profile.arn,
                            p.arn
                        ),
                    });
                }
                Read::Found(p) => out.push((profile, p)),
                Read::Absent => {
                    return Err(CloudError {
                        operation: "GetInstanceProfile",
                        target: format!("instance profile {}", profile.name),
                        code: Some("NoSuchEntity".into()),
                        message: format!(
                            "the instance profile {} named in spec.iam.profile of instance group(s) {} does not exist",
                            profile.arn,
                            profile.groups.join(", ")
                        ),
                    })
                }
                Read::Denied(message) => {
                    return Err(CloudError {
                        operation: "GetInstanceProfile",
                        target: format!("instance profile {}", profile.name),
                        code: Some("AccessDenied".into()),
                        message,
                    })
                }
            }
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// Reads the objects the desired state names, except those with lifecycle Ignore and
    /// those `known` already holds, with the strategy that costs fewer calls (or the one
    /// forced). Both strategies give the same actual state. A read refused for lack of access
    /// is recorded in `denied` for the plan to judge by lifecycle.
    pub async fn fetch(
        &self,
        desired: &DesiredState,
        known: ActualState,
        strategy: FetchStrategy,
    ) -> Result<ActualState, CloudError> {
        match strategy.resolve(desired) {
            FetchStrategy::Bulk => match self.fetch_bulk(desired, known.clone()).await {
                // Auto falls back when the account refuses the bulk read.
                Err(e)
                    if strategy == FetchStrategy::Auto
                        && e.code.as_deref() == Some("AccessDenied") =>
                {
                    tracing::warn!("bulk read refused ({e}); reading object by object");
                    self.fetch_per_object(desired, known).await
                }
                other => other,
            },
            _ => self.fetch_per_object(desired, known).await,
        }
    }

    /// One read per object: GetRole, GetRolePolicy by name, ListAttachedRolePolicies where
    /// attachments are managed, GetInstanceProfile, and ListRoles for stray pod roles.
    /// Independent reads run concurrently; a role's policies are read only if the role may
    /// exist.
    async fn fetch_per_object(
        &self,
        desired: &DesiredState,
        known: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut actual = known;
        let mut roles = JoinSet::new();
        for (role, wanted) in wanted_roles(desired) {
            let cloud = self.clone();
            roles.spawn(async move {
                cloud
                    .fetch_role(role, wanted.read_role, wanted.attachments, wanted.policies)
                    .await
            });
        }
        let strays = {
            let cloud = self.clone();
            let desired = desired.clone();
            tokio::spawn(async move { cloud.stray_pod_roles(&desired).await })
        };
        while let Some(joined) = roles.join_next().await {
            let fetched = joined.expect("fetch task panicked")?;
            if let Some(role) = fetched.role {
                actual.roles.insert(role.name.clone(), role);
            }
            for (name, doc) in fetched.policies {
                actual
                    .role_policies
                    .insert((fetched.name.clone(), name), doc);
            }
            actual.denied.extend(fetched.denied);
        }
        actual.stray_pod_roles = strays.await.expect("fetch task panicked")?;
        self.fetch_profiles_and_providers(desired, actual).await
    }

    /// Every role in the account with its inline policies, attached policies, instance
    /// profiles and tags, through GetAccountAuthorizationDetails (Filter=Role), a page per
    /// 1,000 roles. Stray pod roles come from the same pages. Instance profiles that hold no
    /// role appear under no role, so profiles not seen there are read one by one.
    async fn fetch_bulk(
        &self,
        desired: &DesiredState,
        known: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut actual = known;
        let wanted = wanted_roles(desired);
        let profiles: BTreeSet<&str> = desired
            .instance_profiles
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::Role)
            .max_items(1000)
            .into_paginator()
            .send();
        while let Some(page) = self
            .next_page("GetAccountAuthorizationDetails", pages.next())
            .await
        {
            let page = page.map_err(|e| {
                cloud_error(
                    "GetAccountAuthorizationDetails",
                    "the account's roles".into(),
                    e,
                )
            })?;
            for detail in page.role_detail_list() {
                let Some(name) = detail.role_name() else {
                    continue;
                };
                for ip in detail.instance_profile_list() {
                    let ip_name = ip.instance_profile_name();
                    if profiles.contains(ip_name) && !actual.instance_profiles.contains_key(ip_name)
                    {
                        actual.instance_profiles.insert(
                            ip_name.to_string(),
                            ActualInstanceProfile {
                                name: ip_name.to_string(),
                                arn: ip.arn().to_string(),
                                roles: ip
                                    .roles()
                                    .iter()
                                    .map(|r| r.role_name().to_string())
                                    .collect(),
                                tags: tags_of(ip.tags()),
                            },
                        );
                    }
                }
                let inline = |policy: &str| {
                    detail
                        .role_policy_list()
                        .iter()
                        .find(|p| p.policy_name() == Some(policy))
                        .and_then(|p| p.policy_document())
                        .map(decode_aws_document)
                };
                match wanted.get(name) {
                    Some(w) => {
                        for policy in &w.policies {
                            if let Some(doc) = inline(policy) {
                                actual
                                    .role_policies
                                    .insert((name.to_string(), policy.clone()), doc);
                            }
                        }
                        if w.read_role {
                            actual
                                .roles
                                .insert(name.to_string(), role_from_detail(detail, w.attachments));
                        }
                    }
                    None if desired.pod_role_scope.contains(name) => {
                        let mut role = role_from_detail(detail, true);
                        role.inline_policies = Some(
                            detail
                                .role_policy_list()
                                .iter()
                                .filter_map(|p| p.policy_name())
                                .map(str::to_string)
                                .collect(),
                        );
                        actual.stray_pod_roles.push(role);
                    }
                    None => {}
                }
            }
        }
        self.fetch_profiles_and_providers(desired, actual).await
    }

    /// The instance profiles not known yet and the OIDC providers, one read each.
    async fn fetch_profiles_and_providers(
        &self,
        desired: &DesiredState,
        mut actual: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut providers = JoinSet::new();
        for provider in desired
            .oidc_providers
            .iter()
            .filter(|p| p.lifecycle != Lifecycle::Ignore)
        {
            let cloud = self.clone();
            let arn = provider.arn.clone();
            providers.spawn(async move { (arn.clone(), cloud.get_oidc_provider(&arn).await) });
        }
        let mut profiles = JoinSet::new();
        for ip in &desired.instance_profiles {
            let link_read = desired
                .profile_roles
                .iter()
                .any(|l| l.profile == ip.name && l.lifecycle != Lifecycle::Ignore);
            if actual.instance_profiles.contains_key(&ip.name)
                || (ip.lifecycle == Lifecycle::Ignore && !link_read)
            {
                continue;
            }
            let cloud = self.clone();
            let name = ip.name.clone();
            profiles.spawn(async move { (name.clone(), cloud.get_instance_profile(&name).await) });
        }
        while let Some(joined) = providers.join_next().await {
            let (arn, read) = joined.expect("fetch task panicked");
            match read? {
                Read::Found(p) => {
                    actual.oidc_providers.insert(arn, p);
                }
                Read::Absent => {}
                Read::Denied(m) => {
                    let url = arn
                        .split_once(":oidc-provider/")
                        .map(|(_, u)| u)
                        .unwrap_or(&arn);
                    actual
                        .denied
                        .insert(ResourceId::new(ResourceType::IamOidcProvider, url), m);
                }
            }
        }
        while let Some(joined) = profiles.join_next().await {
            let (name, read) = joined.expect("fetch task panicked");
            match read? {
                Read::Found(p) => {
                    actual.instance_profiles.insert(p.name.clone(), p);
                }
                Read::Absent => {}
                Read::Denied(m) => {
                    actual.denied.insert(
                        ResourceId::new(ResourceType::IamInstanceProfile, &name),
                        m.clone(),
                    );
                    actual.denied.insert(
                        ResourceId::new(ResourceType::IamInstanceProfileRole, &name),
                        m,
                    );
                }
            }
        }
        Ok(actual)
    }

    /// A role (unless it is ignored) and those of the named inline policies it has. When the
    /// role is known to be absent, its policies are not read: they cannot exist.
    async fn fetch_role(
        &self,
        name: String,
        read_role: bool,
        attachments: bool,
        policy_names: Vec<String>,
    ) -> Result<FetchedRole, CloudError> {
        let mut fetched = FetchedRole {
            name: name.clone(),
            ..FetchedRole::default()
        };
        if read_role {
            match self.get_role(&name).await? {
                Read::Found(mut role) => {
                    if attachments {
                        role.managed_policies = Some(self.attached_policies(&name).await?);
                    }
                    fetched.role = Some(role);
                }
                Read::Absent => return Ok(fetched),
                Read::Denied(m) => {
                    fetched
                        .denied
                        .insert(ResourceId::new(ResourceType::IamRole, &name), m);
                }
            }
        }
        for policy in policy_names {
            match self.get_role_policy(&name, &policy).await? {
                Read::Found(doc) => fetched.policies.push((policy, doc)),
                Read::Absent => {}
                Read::Denied(m) => {
                    fetched
                        .denied
                        .insert(ResourceId::new(ResourceType::IamRolePolicy, &policy), m);
                }
            }
        }
        Ok(fetched)
    }

    pub async fn get_role(&self, name: &str) -> Result<Read<ActualRole>, CloudError> {
        let result = self
            .call("GetRole", self.iam.get_role().role_name(name).send())
            .await;
        let out = match classify(result) {
            Ok(Read::Found(out)) => out,
            Ok(Read::Absent) => return Ok(Read::Absent),
            Ok(Read::Denied(m)) => return Ok(Read::Denied(m)),
            Err(e) => return Err(cloud_error("GetRole", format!("role {name}"), e)),
        };
        let Some(role) = out.role() else {
            return Ok(Read::Absent);
        };
        Ok(Read::Found(ActualRole {
            name: role.role_name().to_string(),
            id: role.role_id().to_string(),
            arn: role.arn().to_string(),
            path: role.path().to_string(),
            trust_policy: decode_aws_document(
                role.assume_role_policy_document().unwrap_or_default(),
            ),
            tags: tags_of(role.tags()),
            managed_policies: None,
            inline_policies: None,
        }))
    }

    pub async fn get_role_policy(
        &self,
        role: &str,
        name: &str,
    ) -> Result<Read<String>, CloudError> {
        let result = self
            .call(
                "GetRolePolicy",
                self.iam
                    .get_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .send(),
            )
            .await;
        match classify(result) {
            Ok(read) => Ok(read.map(|out| decode_aws_document(out.policy_document()))),
            Err(e) => Err(cloud_error(
                "GetRolePolicy",
                format!("policy {name} of role {role}"),
                e,
            )),
        }
    }

    pub async fn get_instance_profile(
        &self,
        name: &str,
    ) -> Result<Read<ActualInstanceProfile>, CloudError> {
        let result = self
            .call(
                "GetInstanceProfile",
                self.iam
                    .get_instance_profile()
                    .instance_profile_name(name)
                    .send(),
            )
            .await;
        let out = match classify(result) {
            Ok(Read::Found(out)) => out,
            Ok(Read::Absent) => return Ok(Read::Absent),
            Ok(Read::Denied(m)) => return Ok(Read::Denied(m)),
            Err(e) => {
                return Err(cloud_error(
                    "GetInstanceProfile",
                    format!("instance profile {name}"),
                    e,
                ))
            }
        };
        Ok(match out.instance_profile() {
            Some(p) => Read::Found(ActualInstanceProfile {
                name: p.instance_profile_name().to_string(),
                arn: p.arn().to_string(),
                roles: p
                    .roles()
                    .iter()
                    .map(|r| r.role_name().to_string())
                    .collect(),
                tags: tags_of(p.tags()),
            }),
            None => Read::Absent,
        })
    }

    /// The account the credentials belong to (STS GetCallerIdentity): pod roles' trust
    /// policies name roles and OIDC providers by ARN.
    pub async fn account_id(&self) -> Result<String, CloudError> {
        let out = self
            .call("GetCallerIdentity", self.sts.get_caller_identity().send())
            .await
            .map_err(|e| cloud_error("GetCallerIdentity", "the caller".into(), e))?;
        out.account().map(str::to_string).ok_or_else(|| CloudError {
            operation: "GetCallerIdentity",
            target: "the caller".into(),
            code: None,
            message: "STS returned no account id".into(),
        })
    }

    /// The managed policies attached to a role.
    async fn attached_policies(&self, role: &str) -> Result<BTreeSet<String>, CloudError> {
        let mut pages = self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut arns = BTreeSet::new();
        while let Some(page) = self
            .next_page("ListAttachedRolePolicies", pages.next())
            .await
        {
            let page = page
                .map_err(|e| cloud_error("ListAttachedRolePolicies", format!("role {role}"), e))?;
            arns.extend(
                page.attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                    .map(str::to_string),
            );
        }
        Ok(arns)
    }

    /// The names of all inline policies of a role.
    async fn inline_policy_names(&self, role: &str) -> Result<Vec<String>, CloudError> {
        let mut pages = self
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = self.next_page("ListRolePolicies", pages.next()).await {
            let page =
                page.map_err(|e| cloud_error("ListRolePolicies", format!("role {role}"), e))?;
            names.extend(page.policy_names().iter().cloned());
        }
        Ok(names)
    }

    async fn get_oidc_provider(&self, arn: &str) -> Result<Read<ActualOidcProvider>, CloudError> {
        let result = self
            .call(
                "GetOpenIDConnectProvider",
                self.iam
                    .get_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .send(),
            )
            .await;
        match classify(result) {
            Ok(read) => Ok(read.map(|out| ActualOidcProvider {
                arn: arn.to_string(),
                client_ids: out.client_id_list().iter().cloned().collect(),
                tags: tags_of(out.tags()),
            })),
            Err(e) => Err(cloud_error(
                "GetOpenIDConnectProvider",
                format!("OIDC provider {arn}"),
                e,
            )),
        }
    }

    /// Roles in the pod-role scope that the desired state does not name, read in full so
    /// that the plan can delete them (or report them) without reading again.
    async fn stray_pod_roles(&self, desired: &DesiredState) -> Result<Vec<ActualRole>, CloudError> {
        let mut pages = self
            .iam
            .list_roles()
            .max_items(1000)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        while let Some(page) = self.next_page("ListRoles", pages.next()).await {
            let page =
                page.map_err(|e| cloud_error("ListRoles", "the account's roles".into(), e))?;
            names.extend(
                page.roles()
                    .iter()
                    .map(|r| r.role_name())
                    .filter(|n| {
                        desired.pod_role_scope.contains(n)
                            && !desired.roles.iter().any(|d| d.name == *n)
                    })
                    .map(str::to_string),
            );
        }
        let mut strays = Vec::new();
        for name in names {
            if let Read::Found(mut role) = self.get_role(&name).await? {
                role.inline_policies = Some(self.inline_policy_names(&name).await?);
                role.managed_policies = Some(self.attached_policies(&name).await?);
                strays.push(role);
            }
        }
        Ok(strays)
    }

    /// The roles a cluster's running instances of one kind use, found through their instance
    /// profiles (kops tags instances `k8s.io/role/node` or `k8s.io/role/master`). This is what
    /// the kube2iam and kiam guides do by hand when the spec does not name the role.
    pub async fn roles_of_running_instances(
        &self,
        cluster: &str,
        kind: &str,
    ) -> Result<Vec<String>, CloudError> {
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter("tag:KubernetesCluster", cluster))
            .filters(filter("tag-key", &format!("k8s.io/role/{kind}")))
            .filters(filter("instance-state-name", "running"))
            .into_paginator()
            .send();
        let mut profiles = BTreeSet::new();
        while let Some(page) = self.next_page("DescribeInstances", pages.next()).await {
            let page = page.map_err(|e| {
                cloud_error(
                    "DescribeInstances",
                    format!("{kind} instances of {cluster}"),
                    e,
                )
            })?;
            profiles.extend(
                page.reservations()
                    .iter()
                    .flat_map(|r| r.instances())
                    .filter_map(|i| i.iam_instance_profile().and_then(|p| p.arn()))
                    .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_string()),
            );
        }
        let mut roles = BTreeSet::new();
        for profile in profiles {
            if let Read::Found(p) = self.get_instance_profile(&profile).await? {
                roles.extend(p.roles);
            }
        }
        Ok(roles.into_iter().collect())
    }

    /// The cluster's running instances that kops launched for an instance group (tags
    /// `KubernetesCluster=<cluster>` and `kops.k8s.io/instancegroup`), with their profiles.
    pub async fn cluster_instances(
        &self,
        cluster: &str,
    ) -> Result<Vec<ClusterInstance>, CloudError> {
        let filter = |name: &str, value: &str| {
            aws_sdk_ec2::types::Filter::builder()
                .name(name)
                .values(value)
                .build()
        };
        let mut pages = self
            .ec2
            .describe_instances()
            .filters(filter("tag:KubernetesCluster", cluster))
            .filters(filter("tag-key", GROUP_TAG))
            .filters(filter("instance-state-name", "running"))
            .into_paginator()
            .send();
        let mut instances = Vec::new();
        loop {
            let page = self.next_page("DescribeInstances", pages.next()).await;
            let Some(page) = page else { break };
            let page = page.map_err(|e| {
                cloud_error(
                    "DescribeInstances",
                    format!("instances of cluster {cluster}"),
                    e,
                )
            })?;
            for instance in page.reservations().iter().flat_map(|r| r.instances()) {
                let group = instance
                    .tags()
                    .iter()
                    .find(|t| t.key() == Some(GROUP_TAG))
                    .and_then(|t| t.value());
                let (Some(id), Some(group)) = (instance.instance_id(), group) else {
                    continue;
                };
                instances.push(ClusterInstance {
                    id: id.to_string(),
                    group: group.to_string(),
                    profile_arn: instance
                        .iam_instance_profile()
                        .and_then(|p| p.arn())
                        .map(str::to_string),
                });
            }
        }
        Ok(instances)
    }

    /// Carries out one operation of a plan, waiting out IAM's eventual consistency: right
    /// after a role is created another role's trust policy may not accept it as a principal
    /// yet ("Invalid principal in policy"), and a new role or profile may not be visible to
    /// the next call (NoSuchEntity). Those are retried with growing, jittered waits until the
    /// consistency timeout; every other error returns at once with AWS's message.
    pub async fn execute(&self, op: &Operation) -> Result<(), CloudError> {
        let start = Instant::now();
        let mut wait = Duration::from_millis(250);
        loop {
            match self.execute_once(op).await {
                Err(e) if op.still_propagating(e.code.as_deref(), &e.message) => {
                    if start.elapsed() + wait > self.consistency_timeout {
                        return Err(CloudError {
                            message: format!(
                                "{} (still failing after waiting {}s for IAM to propagate)",
                                e.message,
                                start.elapsed().as_secs()
                            ),
                            ..e
                        });
                    }
                    tracing::info!(
                        operation = op.action(),
                        "waiting for IAM to propagate: {}",
                        e.message
                    );
                    tokio::time::sleep(jittered(wait)).await;
                    wait = (wait * 2).min(Duration::from_secs(10));
                }
                Err(e) if op.may_be_lost_answer(e.code.as_deref()) => {
                    return match self.already_done(op).await {
                        Ok(true) => {
                            tracing::info!(
                                operation = op.action(),
                                "already done, as wanted: {}",
                                e.message
                            );
                            Ok(())
                        }
                        Ok(false) => Err(CloudError {
                            message: format!(
                                "{} (and what the account holds is not what the spec wants: made by someone else since the account was read, so left alone; run again to see the plan)",
                                e.message
                            ),
                            ..e
                        }),
                        Err(_) => Err(e),
                    };
                }
                other => return other,
            }
        }
    }

    /// Whether the account already holds what `op` was to make. A create whose first attempt
    /// reached IAM but whose answer was lost (a timeout, a reset) is retried by the SDK and
    /// then refused as a duplicate; so is one that a concurrent run made first. Either way,
    /// an object that is exactly what the spec wants is success, and anything else is left
    /// alone and reported.
    async fn already_done(&self, op: &Operation) -> Result<bool, CloudError> {
        let found = match op.read_back() {
            None => return Ok(false),
            Some(ReadBack::Role(name)) => Found::Role(self.get_role(name).await?.found()),
            Some(ReadBack::InstanceProfile(name)) => {
                Found::InstanceProfile(self.get_instance_profile(name).await?.found())
            }
            Some(ReadBack::OidcProvider(arn)) => {
                Found::OidcProvider(self.get_oidc_provider(arn).await?.found())
            }
        };
        Ok(op.done_as_found(&found))
    }

    async fn execute_once(&self, op: &Operation) -> Result<(), CloudError> {
        match op {
            Operation::CreateRole {
                name,
                path,
                trust_policy,
                tags,
            } => {
                let req = self
                    .iam
                    .create_role()
                    .role_name(name)
                    .path(path)
                    .assume_role_policy_document(trust_policy)
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::UpdateAssumeRolePolicy { role, trust_policy } => {
                let req = self
                    .iam
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy);
                self.write(op, req.send()).await
            }
            Operation::PutRolePolicy {
                role,
                name,
                document,
            } => {
                let req = self
                    .iam
                    .put_role_policy()
                    .role_name(role)
                    .policy_name(name)
                    .policy_document(document);
                self.write(op, req.send()).await
            }
            Operation::DeleteRolePolicy { role, name } => {
                let req = self
                    .iam
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(name);
                self.write(op, req.send()).await
            }
            Operation::CreateInstanceProfile { name, path, tags } => {
                let req = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .path(path)
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::AttachRolePolicy { role, policy_arn } => {
                let req = self
                    .iam
                    .attach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn);
                self.write(op, req.send()).await
            }
            Operation::DetachRolePolicy { role, policy_arn } => {
                let req = self
                    .iam
                    .detach_role_policy()
                    .role_name(role)
                    .policy_arn(policy_arn);
                self.write(op, req.send()).await
            }
            Operation::DeleteRole { name } => {
                let req = self.iam.delete_role().role_name(name);
                self.write(op, req.send()).await
            }
            Operation::CreateOpenIdConnectProvider {
                url,
                client_ids,
                tags,
                ..
            } => {
                let req = self
                    .iam
                    .create_open_id_connect_provider()
                    .url(url)
                    .set_client_id_list(Some(client_ids.clone()))
                    .set_tags(Some(iam_tags(tags)));
                self.write(op, req.send()).await
            }
            Operation::AddClientIdToOpenIdConnectProvider { arn, client_ids } => {
                for id in client_ids {
                    let req = self
                        .iam
                        .add_client_id_to_open_id_connect_provider()
                        .open_id_connect_provider_arn(arn)
                        .client_id(id);
                    self.write(op, req.send()).await?;
                }
                Ok(())
            }
            Operation::AddRoleToInstanceProfile { profile, role } => {
                let req = self
                    .iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role);
                self.write(op, req.send()).await
            }
        }
    }

    /// One write of `op`, counted and bounded like every call, its error named after the
    /// operation's target.
    async fn write<T, E, R>(
        &self,
        op: &Operation,
        send: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<(), CloudError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        let result = self.call(op.action(), send).await;
        let result = if op.absent_is_done() {
            absent_if_no_such_entity(result).map(drop)
        } else {
            result.map(drop)
        };
        result.map_err(|e| cloud_error(op.action(), op.target(), e))
    }
}

/// Between half and the whole of `wait`, so that concurrent waits do not retry in step.
fn jittered(wait: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let fraction = 0.5 + f64::from(nanos % 1000) / 2000.0;
    wait.mul_f64(fraction)
}

/// IAM's tag list as a map.
fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

fn iam_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .expect("key and value are set")
        })
        .collect()
}

/// How to read the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FetchStrategy {
    /// The one with fewer calls for the work at hand.
    #[default]
    Auto,
    /// GetRole, GetRolePolicy, ... for each object: about three calls a role.
    PerObject,
    /// GetAccountAuthorizationDetails: every role with its policies in a page per 1,000.
    Bulk,
}

/// Per object costs about three calls per role the spec names (GetRole, GetRolePolicy,
/// ListAttachedRolePolicies or a second GetRolePolicy); bulk costs one call per 1,000 roles
/// in the account and saves the ListRoles that per object needs for stray pod roles. Past
/// this many roles bulk wins even on a large account, and both run concurrently.
pub const BULK_ABOVE_ROLES: usize = 20;

impl FetchStrategy {
    /// Auto made concrete for this desired state.
    pub fn resolve(self, desired: &DesiredState) -> FetchStrategy {
        match self {
            FetchStrategy::Auto if desired.roles.len() > BULK_ABOVE_ROLES => FetchStrategy::Bulk,
            FetchStrategy::Auto => FetchStrategy::PerObject,
            concrete => concrete,
        }
    }
}

/// What to read of one role the desired state names.
#[derive(Debug, Default)]
struct WantedRole {
    read_role: bool,
    attachments: bool,
    policies: Vec<String>,
}

fn wanted_roles(desired: &DesiredState) -> BTreeMap<String, WantedRole> {
    let mut wanted: BTreeMap<String, WantedRole> = BTreeMap::new();
    // An ignored role is still read when something on it may be written: its tags say
    // whether it is this cluster's to write to.
    for role in desired
        .roles
        .iter()
        .filter(|r| r.lifecycle != Lifecycle::Ignore || desired.writes_on_role(&r.name))
    {
        let w = wanted.entry(role.name.clone()).or_default();
        w.read_role = true;
        w.attachments = role.managed_policies.is_some() && role.lifecycle != Lifecycle::Ignore;
    }
    for rp in desired
        .role_policies
        .iter()
        .filter(|p| p.lifecycle != Lifecycle::Ignore)
    {
        wanted
            .entry(rp.role.clone())
            .or_default()
            .policies
            .push(rp.name.clone());
    }
    wanted
}

fn role_from_detail(detail: &aws_sdk_iam::types::RoleDetail, attachments: bool) -> ActualRole {
    ActualRole {
        name: detail.role_name().unwrap_or_default().to_string(),
        id: detail.role_id().unwrap_or_default().to_string(),
        arn: detail.arn().unwrap_or_default().to_string(),
        path: detail.path().unwrap_or("/").to_string(),
        trust_policy: decode_aws_document(detail.assume_role_policy_document().unwrap_or_default()),
        tags: tags_of(detail.tags()),
        managed_policies: attachments.then(|| {
            detail
                .attached_managed_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(str::to_string)
                .collect()
        }),
        inline_policies: None,
    }
}

/// What a read found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read<T> {
    Found(T),
    /// `NoSuchEntity`: how IAM says "absent".
    Absent,
    /// Refused for lack of access, with AWS's message.
    Denied(String),
}

impl<T> Read<T> {
    /// The object, if the read found it.
    fn found(self) -> Option<T> {
        match self {
            Read::Found(v) => Some(v),
            Read::Absent | Read::Denied(_) => None,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Read<U> {
        match self {
            Read::Found(v) => Read::Found(f(v)),
            Read::Absent => Read::Absent,
            Read::Denied(m) => Read::Denied(m),
        }
    }
}

#[derive(Debug, Default)]
struct FetchedRole {
    name: String,
    role: Option<ActualRole>,
    policies: Vec<(String, String)>,
    denied: BTreeMap<ResourceId, String>,
}

fn classify<T, E, R>(result: Result<T, SdkError<E, R>>) -> Result<Read<T>, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(v) => Ok(Read::Found(v)),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(Read::Absent),
        Err(e) if matches!(e.code(), Some("AccessDenied" | "AccessDeniedException")) => Ok(
            Read::Denied(e.message().unwrap_or("access denied").to_string()),
        ),
        Err(e) => Err(e),
    }
}

/// `NoSuchEntity` is how IAM says "absent": not an error for a read.
fn absent_if_no_such_entity<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Option<T>, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(e),
    }
}

fn cloud_error<E, R>(operation: &'static str, target: String, err: SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: fmt::Debug,
{
    let code = err.code().map(str::to_string);
    let message = match err.message() {
        Some(m) => m.to_string(),
        // Transport failures carry no AWS message; the error chain says what happened.
        None => DisplayErrorContext(&err).to_string(),
    };
    CloudError {
        operation,
        target,
        code,
        message,
    }
}

/// The kind of credential failure, without any detail that could echo a secret.
fn credential_error_summary(
    e: &aws_credential_types::provider::error::CredentialsError,
) -> &'static str {
    use aws_credential_types::provider::error::CredentialsError as E;
    match e {
        E::CredentialsNotLoaded(_) => "no provider in the chain had any",
        E::ProviderTimedOut(_) => "the provider timed out",
        E::InvalidConfiguration(_) => "the credential configuration is invalid",
        E::ProviderError(_) => "the provider failed",
        _ => "the provider failed",
    }
}
