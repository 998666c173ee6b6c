//! AWS errors as rolecall reports them: a `CloudError` naming the call, the object and AWS's
//! words; a `ConnectError` for setup; and the codes that mean "absent" or "denied".

use std::fmt;

use aws_sdk_iam::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use super::Read;

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

/// A read's answer: NoSuchEntity is `Absent`, a refusal for lack of access `Denied`.
pub(super) fn classify<T, E, R>(
    result: Result<T, SdkError<E, R>>,
) -> Result<Read<T>, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
{
    match result {
        Ok(v) => Ok(Read::Found(v)),
        Err(e) if is_absent(&e) => Ok(Read::Absent),
        Err(e) if matches!(e.code(), Some("AccessDenied" | "AccessDeniedException")) => Ok(
            Read::Denied(e.message().unwrap_or("access denied").to_string()),
        ),
        Err(e) => Err(e),
    }
}

/// `NoSuchEntity` is how IAM says "absent".
pub(super) fn is_absent(e: &impl ProvideErrorMetadata) -> bool {
    e.code() == Some("NoSuchEntity")
}

pub(super) fn cloud_error<E, R>(
    operation: &'static str,
    target: String,
    err: SdkError<E, R>,
) -> CloudError
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
pub(super) fn credential_error_summary(
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
