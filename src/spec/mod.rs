//! The kops cluster spec: read the YAML files, validate every field rolecall uses, and
//! hand on a typed [`ClusterSpec`]. Nothing here talks to AWS; a spec that comes out of
//! [`load_files`] or [`parse_documents`] is whole and valid.

mod arns;
mod cluster;
mod error;
mod instance_group;
mod kube_names;
mod pod_roles;
mod raw;
mod statements;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{InputError, InputErrors, SourceLocation};
pub use validate::validate_documents;

/// The roles kops gives instance groups (`spec.role` of an InstanceGroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceRole {
    Master,
    Node,
    Bastion,
}

impl InstanceRole {
    pub const ALL: [InstanceRole; 3] = [
        InstanceRole::Master,
        InstanceRole::Node,
        InstanceRole::Bastion,
    ];

    /// The value in `spec.role`.
    pub fn spec_name(self) -> &'static str {
        match self {
            InstanceRole::Master => "Master",
            InstanceRole::Node => "Node",
            InstanceRole::Bastion => "Bastion",
        }
    }

    /// The key in `spec.additionalPolicies`.
    pub fn policy_key(self) -> &'static str {
        match self {
            InstanceRole::Master => "master",
            InstanceRole::Node => "node",
            InstanceRole::Bastion => "bastion",
        }
    }

    /// The prefix of the IAM names kops gives this role: `masters.<cluster>` and so on.
    pub fn iam_prefix(self) -> &'static str {
        match self {
            InstanceRole::Master => "masters",
            InstanceRole::Node => "nodes",
            InstanceRole::Bastion => "bastions",
        }
    }

    pub fn from_spec_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.spec_name() == s)
    }

    pub fn from_policy_key(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.policy_key() == s)
    }
}

impl fmt::Display for InstanceRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.spec_name())
    }
}

/// A validated `Cluster` with its `InstanceGroup`s.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterSpec {
    pub name: String,
    pub location: SourceLocation,
    /// `spec.configBase`, the root the other stores default under.
    pub config_base: Option<String>,
    pub config_store: Option<String>,
    pub key_store: Option<String>,
    pub secret_store: Option<String>,
    pub iam: IamSettings,
    /// `spec.additionalPolicies`, already checked to be JSON arrays of statements.
    pub additional_policies: BTreeMap<InstanceRole, AdditionalPolicy>,
    pub etcd_clusters: Vec<EtcdCluster>,
    /// The region the subnets' zones lie in, when the spec has subnets.
    pub region: Option<String>,
    pub dns_zone: Option<String>,
    /// `spec.topology.dns.type`: which hosted zones a lookup by name or by cluster name keeps.
    pub dns_type: DnsType,
    /// The networking provider, the single key under `spec.networking` (`calico`, `kubenet`...).
    pub networking: Option<String>,
    pub enable_bootstrap_auth_token: bool,
    pub instance_groups: Vec<InstanceGroup>,
    /// IRSA, in kops's shape: `spec.serviceAccountIssuerDiscovery`.
    pub service_account_issuer_discovery: Option<IssuerDiscovery>,
    /// IRSA roles: `spec.iam.serviceAccountExternalPermissions`.
    pub service_account_permissions: Vec<ServiceAccountPermission>,
    /// kube2iam or kiam application roles: `spec.iam.podIdentity`, rolecall's extension.
    pub pod_identity: Option<PodIdentity>,
}

/// `spec.topology.dns.type`: a public or a private (VPC) hosted zone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DnsType {
    #[default]
    Public,
    Private,
}

/// `spec.serviceAccountIssuerDiscovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerDiscovery {
    /// `discoveryStore`: `s3://bucket/path` (served as
    /// `https://bucket.s3.<region>.amazonaws.com/path`) or an `https://` URL.
    pub discovery_store: String,
    pub enable_aws_oidc_provider: bool,
    pub additional_audiences: Vec<String>,
    pub location: SourceLocation,
}

/// One entry of `spec.iam.serviceAccountExternalPermissions`.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceAccountPermission {
    /// The service account's name.
    pub name: String,
    /// Its namespace; `*` (or a pattern with `*`) matches any.
    pub namespace: String,
    /// `aws.policyARNs`.
    pub policy_arns: Vec<String>,
    /// `aws.inlinePolicy`: a JSON array of statements, already checked.
    pub inline_policy: Option<Vec<serde_json::Value>>,
    pub location: SourceLocation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PodIdentityMode {
    Kube2iam,
    Kiam,
}

/// `spec.iam.podIdentity`: rolecall's extension for kube2iam and kiam, which kops never
/// modelled.
#[derive(Debug, Clone, PartialEq)]
pub struct PodIdentity {
    pub mode: PodIdentityMode,
    /// kiam only: an existing server role to use instead of `kiam-server.<cluster>`.
    pub kiam_server_role_arn: Option<String>,
    pub roles: Vec<PodRole>,
    pub location: SourceLocation,
}

/// One application role of `spec.iam.podIdentity.roles`.
#[derive(Debug, Clone, PartialEq)]
pub struct PodRole {
    /// The role's short name; the IAM role is `<name>.pods.<cluster>`.
    pub name: String,
    /// The namespaces whose pods may use it (for the namespace annotations).
    pub namespaces: Vec<String>,
    pub policy_arns: Vec<String>,
    /// A JSON array of statements, already checked.
    pub inline_policy: Option<Vec<serde_json::Value>>,
    pub location: SourceLocation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IamSettings {
    pub legacy: bool,
    pub allow_container_registry: bool,
}

impl Default for IamSettings {
    /// kops's v1alpha2 API defaults a missing `spec.iam` to legacy policies.
    fn default() -> Self {
        IamSettings {
            legacy: true,
            allow_container_registry: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AdditionalPolicy {
    /// The statements exactly as written (a JSON array in a YAML string).
    pub text: String,
    /// The parsed statements.
    pub statements: Vec<serde_json::Value>,
    pub location: SourceLocation,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdCluster {
    pub name: String,
    pub members: Vec<EtcdMember>,
    pub backup_store: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdMember {
    pub name: String,
    pub kms_key_id: Option<String>,
    pub encrypted_volume: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceGroup {
    pub name: String,
    pub role: InstanceRole,
    /// `spec.iam.profile`: the ARN of an existing instance profile.
    pub profile: Option<String>,
    pub location: SourceLocation,
}

impl ClusterSpec {
    /// The roles that at least one instance group has, in kops's order.
    pub fn roles_in_use(&self) -> Vec<InstanceRole> {
        InstanceRole::ALL
            .into_iter()
            .filter(|r| self.instance_groups.iter().any(|ig| ig.role == *r))
            .collect()
    }
}

/// One input file's text and the name it is reported under.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
}

/// Reads and validates the given files: one `Cluster` and its `InstanceGroup`s, in one
/// multi-document file or spread over several.
pub fn load_files(paths: &[PathBuf]) -> Result<ClusterSpec, InputErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::read_to_string(path) {
            Ok(text) => files.push(SourceFile {
                path: path.clone(),
                text,
            }),
            Err(e) => errors.push(InputError::in_file(
                path,
                None,
                format!("cannot read the file: {e}"),
            )),
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    parse_documents(&files)
}

/// Parses and validates documents already in memory.
pub fn parse_documents(files: &[SourceFile]) -> Result<ClusterSpec, InputErrors> {
    let mut docs = Vec::new();
    let mut errors = Vec::new();
    for file in files {
        match parse_file(&file.path, &file.text) {
            Ok(mut d) => docs.append(&mut d),
            Err(e) => errors.push(e),
        }
    }
    if !errors.is_empty() {
        return Err(InputErrors(errors));
    }
    validate_documents(docs)
}

/// A document and the file it came from.
#[derive(Debug)]
pub struct ParsedDocument {
    pub file: PathBuf,
    /// The whole file's text, to place problems inside values (a policy's statements).
    pub source: Arc<str>,
    pub raw: raw::RawDocument,
}

fn parse_file(path: &Path, text: &str) -> Result<Vec<ParsedDocument>, InputError> {
    let docs: Vec<raw::RawDocument> =
        serde_saphyr::from_multiple(text).map_err(|e| yaml_error(path, text, &e))?;
    let source: Arc<str> = Arc::from(text);
    Ok(docs
        .into_iter()
        .map(|raw| ParsedDocument {
            file: path.to_path_buf(),
            source: Arc::clone(&source),
            raw,
        })
        .collect())
}

fn yaml_error(path: &Path, text: &str, e: &serde_saphyr::Error) -> InputError {
    // The crate's own rendering adds a source snippet; the one-line form is clearer in a CLI,
    // and the place is given once, in front.
    let rendered = e.without_snippet().to_string();
    let message = match rendered.rfind(" at line ") {
        Some(i) => rendered[..i].to_string(),
        None => rendered,
    };
    match e.location().filter(|at| at.line() > 0) {
        Some(at) => InputError {
            file: Some(path.to_path_buf()),
            location: Some(SourceLocation::new(path, &at)),
            field: field_path_at(text, at.line()),
            message,
        },
        None => InputError::in_file(path, None, message),
    }
}

/// The field a type error concerns, such as `spec.iam.legacy`. The multi-document reader
/// knows the line but not the path, so the one document that failed is read again through
/// serde_path_to_error. This costs nothing unless the input is wrong.
fn field_path_at(text: &str, line: u64) -> Option<String> {
    let document = document_containing(text, line)?;
    let mut path = None;
    let _ = serde_saphyr::with_deserializer_from_str(&document, |de| {
        serde_path_to_error::deserialize::<_, raw::RawDocument>(de).map_err(|e| {
            path = Some(e.path().to_string());
            e.into_inner()
        })
    });
    // `Spanned` wraps each value in a struct whose field is `value`; no kops field rolecall
    // reads has that name, so the segment is dropped.
    let path = path?
        .split('.')
        .filter(|segment| *segment != "value")
        .collect::<Vec<_>>()
        .join(".");
    (!path.is_empty()).then_some(path)
}

/// The text of the document (between `---` lines) that holds the 1-based `line`.
fn document_containing(text: &str, line: u64) -> Option<String> {
    let mut current = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let is_separator = l == "---" || l.starts_with("--- ");
        if is_separator && (i as u64) < line {
            current.clear();
            continue;
        }
        if is_separator {
            break;
        }
        current.push(l);
    }
    (!current.is_empty()).then(|| current.join("\n"))
}

#[cfg(test)]
mod tests;
