//! AWS errors as rolecall reports them: a `CloudError` naming the call, the object and AWS's
//! words; a `ConnectError` for setup; and the codes that mean "absent" or "denied".

use std::fmt;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};

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
        // Transport failures carry no AWS message; the error chain says what happened (such
        // as "TLS handshake failed: invalid peer certificate: UnknownIssuer"). Its Display
        // only: the SDK's DisplayErrorContext would append the Debug dump of its structures.
        None => one_line(&chain(err.to_string(), std::error::Error::source(&err))),
    };
    CloudError {
        operation,
        target,
        code,
        message,
    }
}

/// Why no credentials could be loaded, in one line of the SDK's own words: when the whole
/// chain came up empty, what the profile provider said (a profile that is not defined, a
/// `source_profile` naming a missing profile), otherwise the error and its causes. Only
/// `Display` is used: the SDK's `Debug` form dumps its structures. The providers' messages
/// name profiles and settings, but a `credential_process` failure quotes the process's
/// stderr, so the line is masked as the logs are.
pub(super) fn credential_error_message(
    e: &aws_credential_types::provider::error::CredentialsError,
) -> String {
    use aws_config::meta::ProviderChainError;
    use aws_credential_types::provider::error::CredentialsError as E;
    const SET: &str = "set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY";
    const CHECK: &str = "check AWS_PROFILE and the AWS config and credentials files";
    let chain =
        std::error::Error::source(e).and_then(|s| s.downcast_ref::<ProviderChainError<E>>());
    let text = match chain {
        Some(chain) => match chain
            .attempts()
            .iter()
            .filter(|a| a.name() == "Profile")
            .find_map(|a| std::error::Error::source(a.error()))
        {
            Some(cause) => format!("no AWS credentials found: {}; {CHECK}", causes(cause)),
            None => format!("no AWS credentials found: {SET}"),
        },
        // A provider that was configured and failed, such as a role it could not assume.
        None => format!(
            "AWS credentials could not be loaded: {}; {CHECK}",
            causes(e)
        ),
    };
    crate::redact::redact(&one_line(&text))
}

/// An error and its sources, `: ` between them, each said once.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error.to_string(), error.source())
}

/// `first`, then each source's text that it does not already hold.
fn chain(first: String, source: Option<&(dyn std::error::Error + 'static)>) -> String {
    let mut parts = vec![first];
    let mut next = source;
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// Line breaks (the SDK's parse errors have them) become spaces.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_credential_types::provider::error::CredentialsError;

    #[test]
    fn a_failed_provider_is_one_line_of_its_causes_without_debug_forms() {
        let nested = std::io::Error::other("could not assume role\nAccessDenied");
        let message = credential_error_message(&CredentialsError::provider_error(nested));
        assert_eq!(
            message,
            "AWS credentials could not be loaded: an error occurred while loading credentials: could not assume role AccessDenied; check AWS_PROFILE and the AWS config and credentials files"
        );
    }

    #[test]
    fn an_access_key_id_quoted_by_a_failed_process_is_masked() {
        let quoted = "external process exited with code 1. Stderr: bad key AKIAABCDEFGHIJKLMNOP";
        let message = credential_error_message(&CredentialsError::provider_error(quoted));
        assert!(!message.contains("AKIAABCDEFGHIJKLMNOP"), "{message}");
        assert!(message.contains(crate::redact::MASK), "{message}");
    }

    #[test]
    fn a_provider_outside_a_chain_that_found_nothing_gives_its_reason() {
        let message = credential_error_message(&CredentialsError::not_loaded("not set"));
        assert_eq!(
            message,
            "AWS credentials could not be loaded: the credential provider was not enabled: not set; check AWS_PROFILE and the AWS config and credentials files"
        );
    }
}
