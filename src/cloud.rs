//! The only module that talks to AWS: connect, read the actual state of the objects the
//! desired state names, and carry out one operation. Decoding, pagination and error
//! mapping live here and nowhere else.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::{Arc, Mutex};

use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::model::{ActualInstanceProfile, ActualRole, ActualState, DesiredState, Tags};
use crate::plan::Operation;
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

#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// Overrides `AWS_ENDPOINT_URL` and the config files.
    pub endpoint_url: Option<String>,
    /// Used when the standard chain names no region (the spec's subnets give one).
    pub fallback_region: Option<String>,
    /// How many calls may be in flight at once.
    pub concurrency: usize,
}

/// An IAM client that counts its calls by operation, the cost that matters on a real account.
#[derive(Clone)]
pub struct Cloud {
    iam: aws_sdk_iam::Client,
    limit: Arc<Semaphore>,
    calls: Arc<Mutex<BTreeMap<&'static str, u64>>>,
}

impl Cloud {
    /// Region and credentials come from the standard AWS chain (environment, `AWS_PROFILE`,
    /// config files). Both are checked here, before any call, so that a missing one is a
    /// clear error rather than a failed request.
    pub async fn connect(options: &ConnectOptions) -> Result<Cloud, ConnectError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
        if let Some(url) = &options.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
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
        // Only whether credentials exist is reported, never what they are.
        if let Err(e) = provider.provide_credentials().await {
            return Err(ConnectError(format!(
                "no AWS credentials found ({}): set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
                credential_error_summary(&e)
            )));
        }
        let config = aws_sdk_iam::config::Builder::from(&sdk)
            .region(region)
            .build();
        Ok(Cloud {
            iam: aws_sdk_iam::Client::from_conf(config),
            limit: Arc::new(Semaphore::new(options.concurrency.max(1))),
            calls: Arc::default(),
        })
    }

    /// Calls made so far, by IAM operation.
    pub fn call_counts(&self) -> BTreeMap<&'static str, u64> {
        self.calls.lock().expect("call counter").clone()
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

    /// Reads every role, inline policy and instance profile the desired state names.
    /// Independent reads run concurrently; a role's policies are read only if it exists.
    pub async fn fetch(&self, desired: &DesiredState) -> Result<ActualState, CloudError> {
        let mut policies_by_role: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for role in &desired.roles {
            policies_by_role.entry(role.name.clone()).or_default();
        }
        for rp in &desired.role_policies {
            policies_by_role
                .entry(rp.role.clone())
                .or_default()
                .push(rp.name.clone());
        }

        let mut roles = JoinSet::new();
        for (role, policies) in policies_by_role {
            let cloud = self.clone();
            roles.spawn(async move { cloud.fetch_role(role, policies).await });
        }
        let mut profiles = JoinSet::new();
        for ip in &desired.instance_profiles {
            let cloud = self.clone();
            let name = ip.name.clone();
            profiles.spawn(async move { cloud.get_instance_profile(&name).await });
        }

        let mut actual = ActualState::default();
        while let Some(joined) = roles.join_next().await {
            let Some((role, policies)) = joined.expect("fetch task panicked")? else {
                continue;
            };
            for (name, doc) in policies {
                actual.role_policies.insert((role.name.clone(), name), doc);
            }
            actual.roles.insert(role.name.clone(), role);
        }
        while let Some(joined) = profiles.join_next().await {
            if let Some(profile) = joined.expect("fetch task panicked")? {
                actual
                    .instance_profiles
                    .insert(profile.name.clone(), profile);
            }
        }
        Ok(actual)
    }

    /// A role and those of the named inline policies it has; `None` when the role is absent.
    async fn fetch_role(
        &self,
        name: String,
        policy_names: Vec<String>,
    ) -> Result<Option<(ActualRole, Vec<(String, String)>)>, CloudError> {
        let Some(role) = self.get_role(&name).await? else {
            return Ok(None);
        };
        let mut policies = Vec::new();
        for policy in policy_names {
            if let Some(doc) = self.get_role_policy(&name, &policy).await? {
                policies.push((policy, doc));
            }
        }
        Ok(Some((role, policies)))
    }

    pub async fn get_role(&self, name: &str) -> Result<Option<ActualRole>, CloudError> {
        let result = self
            .call("GetRole", self.iam.get_role().role_name(name).send())
            .await;
        let out = match absent_if_no_such_entity(result) {
            Ok(Some(out)) => out,
            Ok(None) => return Ok(None),
            Err(e) => return Err(cloud_error("GetRole", format!("role {name}"), e)),
        };
        let Some(role) = out.role() else {
            return Ok(None);
        };
        Ok(Some(ActualRole {
            name: role.role_name().to_string(),
            id: role.role_id().to_string(),
            arn: role.arn().to_string(),
            path: role.path().to_string(),
            trust_policy: decode_aws_document(
                role.assume_role_policy_document().unwrap_or_default(),
            ),
            tags: role
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
        }))
    }

    pub async fn get_role_policy(
        &self,
        role: &str,
        name: &str,
    ) -> Result<Option<String>, CloudError> {
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
        match absent_if_no_such_entity(result) {
            Ok(Some(out)) => Ok(Some(decode_aws_document(out.policy_document()))),
            Ok(None) => Ok(None),
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
    ) -> Result<Option<ActualInstanceProfile>, CloudError> {
        let result = self
            .call(
                "GetInstanceProfile",
                self.iam
                    .get_instance_profile()
                    .instance_profile_name(name)
                    .send(),
            )
            .await;
        let out = match absent_if_no_such_entity(result) {
            Ok(Some(out)) => out,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(cloud_error(
                    "GetInstanceProfile",
                    format!("instance profile {name}"),
                    e,
                ))
            }
        };
        Ok(out.instance_profile().map(|p| ActualInstanceProfile {
            name: p.instance_profile_name().to_string(),
            arn: p.arn().to_string(),
            roles: p
                .roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect(),
        }))
    }

    /// Carries out one operation of a plan.
    pub async fn execute(&self, op: &Operation) -> Result<(), CloudError> {
        let action = op.action();
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
                self.call(action, req.send())
                    .await
                    .map(drop)
                    .map_err(|e| cloud_error(action, format!("role {name}"), e))
            }
            Operation::UpdateAssumeRolePolicy { role, trust_policy } => {
                let req = self
                    .iam
                    .update_assume_role_policy()
                    .role_name(role)
                    .policy_document(trust_policy);
                self.call(action, req.send())
                    .await
                    .map(drop)
                    .map_err(|e| cloud_error(action, format!("role {role}"), e))
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
                self.call(action, req.send())
                    .await
                    .map(drop)
                    .map_err(|e| cloud_error(action, format!("policy {name} of role {role}"), e))
            }
            Operation::DeleteRolePolicy { role, name } => {
                let req = self
                    .iam
                    .delete_role_policy()
                    .role_name(role)
                    .policy_name(name);
                // Already gone is what was wanted.
                match absent_if_no_such_entity(self.call(action, req.send()).await) {
                    Ok(_) => Ok(()),
                    Err(e) => Err(cloud_error(
                        action,
                        format!("policy {name} of role {role}"),
                        e,
                    )),
                }
            }
            Operation::CreateInstanceProfile { name, path, tags } => {
                let req = self
                    .iam
                    .create_instance_profile()
                    .instance_profile_name(name)
                    .path(path)
                    .set_tags(Some(iam_tags(tags)));
                self.call(action, req.send())
                    .await
                    .map(drop)
                    .map_err(|e| cloud_error(action, format!("instance profile {name}"), e))
            }
            Operation::AddRoleToInstanceProfile { profile, role } => {
                let req = self
                    .iam
                    .add_role_to_instance_profile()
                    .instance_profile_name(profile)
                    .role_name(role);
                self.call(action, req.send()).await.map(drop).map_err(|e| {
                    cloud_error(
                        action,
                        format!("role {role} into instance profile {profile}"),
                        e,
                    )
                })
            }
        }
    }
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
