//! The kops cluster spec: read the YAML files, validate every field rolecall uses, and
//! hand on a typed [`ClusterSpec`]. Nothing here talks to AWS; a spec that comes out of
//! [`load_files`] or [`parse_documents`] is whole and valid.
//!
//! The files are what kops users have: YAML as they write it or as `kops get -o yaml`
//! prints it, or the JSON of `kops get -o json` (one object, or an array of them), which
//! the YAML parser reads as the YAML subset it is, places included. `-` is standard input.
//! Documents of kinds other than Cluster and InstanceGroup are skipped and listed in
//! [`ClusterSpec::skipped`].

mod arns;
mod cluster;
mod error;
pub mod generation;
mod instance_group;
pub mod kops136;
mod kube_names;
mod later_releases;
mod pod_roles;
mod raw;
mod statements;
mod validate;

use std::collections::BTreeMap;
use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use error::{InputError, InputErrors, SourceLocation};
pub use generation::{Chosen, Generation};
pub use later_releases::{LaterField, LATER_FIELDS};
pub use validate::{validate_documents, validate_documents_as};

/// The roles kops gives instance groups (`spec.role` of an InstanceGroup).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceRole {
    /// `Master`, which kops 1.26 and later call `ControlPlane`.
    Master,
    /// `APIServer` (kops 1.21 and later): API servers apart from the control plane.
    ApiServer,
    Node,
    Bastion,
}

impl InstanceRole {
    pub const ALL: [InstanceRole; 4] = [
        InstanceRole::Master,
        InstanceRole::ApiServer,
        InstanceRole::Node,
        InstanceRole::Bastion,
    ];

    /// The value in `spec.role`.
    pub fn spec_name(self) -> &'static str {
        match self {
            InstanceRole::Master => "Master",
            InstanceRole::ApiServer => "APIServer",
            InstanceRole::Node => "Node",
            InstanceRole::Bastion => "Bastion",
        }
    }

    /// The key in `spec.additionalPolicies` as kops 1.10 writes it.
    pub fn policy_key(self) -> &'static str {
        match self {
            InstanceRole::Master => "master",
            InstanceRole::ApiServer => "apiserver",
            InstanceRole::Node => "node",
            InstanceRole::Bastion => "bastion",
        }
    }

    /// The key in `spec.additionalPolicies` and `spec.externalPolicies` as kops 1.36 keys it
    /// (it reads `master` as `control-plane`).
    pub fn kops136_key(self) -> &'static str {
        match self {
            InstanceRole::Master => "control-plane",
            other => other.policy_key(),
        }
    }

    /// The prefix of the IAM names kops gives this role: `masters.<cluster>` and so on.
    pub fn iam_prefix(self) -> &'static str {
        match self {
            InstanceRole::Master => "masters",
            InstanceRole::ApiServer => "apiservers",
            InstanceRole::Node => "nodes",
            InstanceRole::Bastion => "bastions",
        }
    }

    /// `ControlPlane` is kops 1.26's name for `Master`.
    pub fn from_spec_name(s: &str) -> Option<Self> {
        if s == "ControlPlane" {
            return Some(InstanceRole::Master);
        }
        Self::ALL.into_iter().find(|r| r.spec_name() == s)
    }

    pub fn from_policy_key(s: &str) -> Option<Self> {
        if s == "control-plane" {
            return Some(InstanceRole::Master);
        }
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
    /// The documents of other kinds in the input (a Keyset, an SSHCredential...), skipped.
    pub skipped: Vec<SkippedDocument>,
    /// Which kops release's IAM to build, and why.
    pub generation: Chosen,
    /// The kops 1.36 settings, when that is the generation.
    pub kops136: Option<kops136::Kops136Spec>,
}

/// A document of a kind rolecall does not read, such as the Keyset and SSHCredential that
/// `kops get all -o yaml` prints beside the Cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedDocument {
    pub kind: String,
    /// Its `metadata.name`, when it has one.
    pub name: Option<String>,
    /// Where its `kind` stands.
    pub location: SourceLocation,
}

impl fmt::Display for SkippedDocument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{}/{name} ({})", self.kind, self.location),
            None => write!(f, "{} ({})", self.kind, self.location),
        }
    }
}

/// The one line that names the skipped documents, or nothing when there are none.
pub fn skipped_note(skipped: &[SkippedDocument]) -> Option<String> {
    skipped_summary(skipped).map(|summary| format!("note: {summary}"))
}

/// `skipped 2 documents rolecall does not use: Keyset/ca (...), ...`, or nothing.
pub fn skipped_summary(skipped: &[SkippedDocument]) -> Option<String> {
    let (first, rest) = skipped.split_first()?;
    let documents = if rest.is_empty() {
        "1 document".to_string()
    } else {
        format!("{} documents", skipped.len())
    };
    let names: Vec<String> = std::iter::once(first)
        .chain(rest)
        .map(ToString::to_string)
        .collect();
    Some(format!(
        "skipped {documents} rolecall does not use: {}",
        names.join(", ")
    ))
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

/// The file name that means standard input, as in `kops create -f -`.
pub const STDIN_ARG: &str = "-";

/// The name standard input is reported under, in place of a file's path.
pub const STDIN_NAME: &str = "<stdin>";

/// Reads and validates the given files: one `Cluster` and its `InstanceGroup`s, in one
/// multi-document file or spread over several. `-` reads standard input.
/// `requested` is the kops generation to build (`--kops-version`); `None` infers it.
pub fn load_files(
    paths: &[PathBuf],
    requested: Option<Generation>,
) -> Result<ClusterSpec, InputErrors> {
    load_files_from(paths, std::io::stdin().lock(), requested)
}

/// [`load_files`], with `stdin` read for `-`.
pub fn load_files_from(
    paths: &[PathBuf],
    mut stdin: impl Read,
    requested: Option<Generation>,
) -> Result<ClusterSpec, InputErrors> {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    let mut stdin_read = false;
    for path in paths {
        if path.as_os_str() == STDIN_ARG {
            let name = PathBuf::from(STDIN_NAME);
            if std::mem::replace(&mut stdin_read, true) {
                errors.push(InputError::in_file(
                    &name,
                    None,
                    "-f - is given twice; standard input can be read once",
                ));
                continue;
            }
            let mut text = String::new();
            match stdin.read_to_string(&mut text) {
                Ok(_) => files.push(SourceFile { path: name, text }),
                Err(e) => errors.push(InputError::in_file(
                    &name,
                    None,
                    format!("cannot read standard input: {e}"),
                )),
            }
            continue;
        }
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
    parse_documents_as(&files, requested)
}

/// Parses and validates documents already in memory, the kops generation inferred.
pub fn parse_documents(files: &[SourceFile]) -> Result<ClusterSpec, InputErrors> {
    parse_documents_as(files, None)
}

/// [`parse_documents`] for the kops generation `requested`, or the inferred one.
pub fn parse_documents_as(
    files: &[SourceFile],
    requested: Option<Generation>,
) -> Result<ClusterSpec, InputErrors> {
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
    validate_documents_as(docs, requested)
}

/// A document and the file it came from.
#[derive(Debug)]
pub struct ParsedDocument {
    pub file: PathBuf,
    /// The whole file's text, to place problems inside values (a policy's statements).
    pub source: Arc<str>,
    pub raw: raw::RawDocument,
    /// The same document, every value kept: for the fields of later kops releases.
    pub tree: raw::At<later_releases::Tree>,
}

fn parse_file(path: &Path, text: &str) -> Result<Vec<ParsedDocument>, InputError> {
    refuse_full_output(path, text)?;
    let docs: Vec<raw::RawDocument> =
        read_documents(text).map_err(|e| yaml_error(path, text, &e))?;
    let trees: Vec<raw::At<later_releases::Tree>> =
        read_documents(text).map_err(|e| yaml_error(path, text, &e))?;
    let source: Arc<str> = Arc::from(text);
    Ok(docs
        .into_iter()
        .zip(trees)
        .map(|(raw, tree)| ParsedDocument {
            file: path.to_path_buf(),
            source: Arc::clone(&source),
            raw,
            tree,
        })
        .collect())
}

/// The documents of YAML (`---` between them) or of JSON, which YAML reads too: an object,
/// or the array `kops get -o json` prints for more than one.
fn read_documents<T: serde::de::DeserializeOwned>(
    text: &str,
) -> Result<Vec<T>, serde_saphyr::Error> {
    if is_json_array(text) {
        serde_saphyr::from_str(text)
    } else {
        serde_saphyr::from_multiple(text)
    }
}

fn is_json_array(text: &str) -> bool {
    text.trim_start().starts_with('[')
}

/// `kops get --full` prints `//` comment lines before the spec, which neither YAML nor JSON
/// allows. Its output is the completed spec, kops's defaults filled in and the DNS zone
/// replaced by its id, not the spec kops builds the IAM from; kops itself does not read it
/// back (`kops create -f` fails on it). So it is refused rather than read without its first
/// lines.
fn refuse_full_output(path: &Path, text: &str) -> Result<(), InputError> {
    let Some((i, _)) = text
        .lines()
        .enumerate()
        .find(|(_, l)| !l.trim().is_empty())
        .filter(|(_, l)| l.trim_start().starts_with("//"))
    else {
        return Ok(());
    };
    let at = SourceLocation {
        file: path.to_path_buf(),
        line: i as u64 + 1,
        column: 1,
    };
    Err(InputError {
        file: Some(path.to_path_buf()),
        location: Some(at),
        field: None,
        message: "starts with // comment lines, as kops get --full prints them; rolecall reads the spec as written, not the completed one: run kops get without --full".into(),
    })
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
    let mut path = None;
    if is_json_array(text) {
        // The documents are the array's items: the path starts with the item's index.
        let _ = serde_saphyr::with_deserializer_from_str(text, |de| {
            serde_path_to_error::deserialize::<_, Vec<raw::RawDocument>>(de).map_err(|e| {
                let p = e.path().to_string();
                path = Some(
                    p.split_once("].")
                        .map_or(p.clone(), |(_, rest)| rest.to_string()),
                );
                e.into_inner()
            })
        });
    } else {
        let document = document_containing(text, line)?;
        let _ = serde_saphyr::with_deserializer_from_str(&document, |de| {
            serde_path_to_error::deserialize::<_, raw::RawDocument>(de).map_err(|e| {
                path = Some(e.path().to_string());
                e.into_inner()
            })
        });
    }
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
