//! Saved plans (`update --out PLAN`, `apply PLAN`, `show PLAN`), as Terraform's `plan -out`:
//! the file's format, versioned and documented in docs/saved-plans.md, and every check on it
//! that needs no I/O. The reads of the touched objects are in `cloud`; the commands in `cli`.

pub mod fingerprint;
pub mod touched;

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::model::{ResourceId, ResourceType};
use crate::operation::Operation;
use crate::plan::{Change, ChangeKind, Plan};
use fingerprint::Fingerprinted;

/// Bumped on any change to the file that an older rolecall could misread.
pub const FORMAT_VERSION: &str = "1";

/// The version of the rolecall that writes and applies plans: a plan is applied only by the
/// release that made it, since what an operation means may change between releases.
pub const ROLECALL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The file. Its keys are documented in docs/saved-plans.md; unknown keys are refused, so
/// that a file from a newer format is never half-read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedPlan {
    pub format_version: String,
    pub rolecall_version: String,
    pub cluster: String,
    pub kops_version: String,
    pub kops_version_reason: String,
    /// The spec files as `-f` named them, with a digest of their bytes.
    pub spec_files: Vec<SpecFile>,
    pub account: String,
    /// The region the IAM client used (IAM is global: informative).
    pub region: String,
    /// The endpoint URL the calls went to, without any user or password; `null` for AWS's.
    pub endpoint: Option<String>,
    pub settings: PlanSettings,
    /// The writes, in the plan's order, each with its IAM call as it will be sent.
    pub changes: Vec<SavedChange>,
    /// Every object the changes touch, as it was read when the plan was made.
    pub fingerprints: Vec<Fingerprinted>,
    /// The plan as `update --output json` printed it (docs/plan-json.md).
    pub plan: serde_json::Value,
    /// The plan as `update` printed it, without colour.
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecFile {
    pub path: String,
    pub sha256: String,
}

/// The flags that shaped the plan, as given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanSettings {
    pub kops_version: Option<String>,
    pub lifecycle_overrides: Vec<String>,
    pub remove_extra_inline_policies: bool,
    pub strict: bool,
    pub deny_new_access: bool,
    pub dns_zone_id: Option<String>,
    pub fetch: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SavedChange {
    /// `Type/name`, as the plan lists it.
    pub id: String,
    pub action: ChangeKind,
    pub stage: u8,
    pub operation: Operation,
}

/// Why a saved plan is not written, read or applied.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("--out needs the spec in files: standard input cannot be read again when the plan is applied")]
    StdinSpec,
    #[error("the plan has errors, so no plan file was written")]
    PlanHasErrors,
    #[error("cannot write the plan file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot read the plan file {path}: {source}")]
    Unreadable {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a rolecall plan file: {reason}")]
    Corrupt { path: String, reason: String },
    #[error("{path} is a plan file of format version {found}; this rolecall reads version {FORMAT_VERSION}")]
    FormatVersion { path: String, found: String },
    #[error("{path} was made by rolecall {found}, and this is rolecall {ROLECALL_VERSION}: plan again with this release")]
    RolecallVersion { path: String, found: String },
    #[error("spec file {path} {what} since the plan was made; nothing was written. Plan again")]
    SpecChanged { path: String, what: String },
    #[error("the plan was made for AWS account {planned}, but the credentials are of account {now}; nothing was written")]
    OtherAccount { planned: String, now: String },
    #[error("the plan was made against endpoint {}, but this run uses {}; nothing was written", shown(.planned), shown(.now))]
    OtherEndpoint {
        planned: Option<String>,
        now: Option<String>,
    },
    #[error("Saved plan is stale: {} object(s) it changes are no longer as they were when it was made; nothing was written. Plan again.{}", .0.len(), .0.iter().map(|s| format!("\n  {s}")).collect::<String>())]
    Stale(Vec<String>),
}

fn shown(endpoint: &Option<String>) -> String {
    endpoint.clone().unwrap_or_else(|| "AWS's own".into())
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An endpoint URL as the file records it: without a `user:password@`, which is a
/// credential.
pub fn endpoint_without_userinfo(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
            let (authority, tail) = rest.split_at(authority_end);
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{tail}")
        }
        None => url.to_string(),
    }
}

impl SavedPlan {
    /// The file's text: pretty JSON with a final newline, for review in a pull request.
    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a plan serialises");
        text.push('\n');
        text
    }

    /// Reads a plan file's text: the format version first, so that a foreign file says so
    /// rather than failing on a key, then the rest, then rolecall's version.
    pub fn parse(path: &Path, text: &str) -> Result<SavedPlan, Refusal> {
        let path_s = path.display().to_string();
        let corrupt = |reason: String| Refusal::Corrupt {
            path: path_s.clone(),
            reason,
        };
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| corrupt(format!("not JSON ({e})")))?;
        match value.get("format_version") {
            Some(serde_json::Value::String(v)) if v == FORMAT_VERSION => {}
            Some(serde_json::Value::String(v)) => {
                return Err(Refusal::FormatVersion {
                    path: path_s,
                    found: v.clone(),
                })
            }
            _ => return Err(corrupt("it has no format_version".into())),
        }
        let plan: SavedPlan = serde_json::from_str(text).map_err(|e| corrupt(e.to_string()))?;
        if plan.rolecall_version != ROLECALL_VERSION {
            return Err(Refusal::RolecallVersion {
                path: path_s,
                found: plan.rolecall_version,
            });
        }
        plan.changes
            .iter()
            .try_for_each(|c| parse_id(&c.id).map(|_| ()))
            .map_err(corrupt)?;
        // Nothing is written that was not fingerprinted, whoever edited the file.
        let fingerprinted: Vec<&touched::Touched> =
            plan.fingerprints.iter().map(|f| &f.object).collect();
        for change in &plan.changes {
            if let Some(object) = touched::touched_by(&change.operation)
                .into_iter()
                .find(|o| !fingerprinted.contains(&o))
            {
                return Err(corrupt(format!(
                    "change {} touches {object}, which has no fingerprint",
                    change.id
                )));
            }
        }
        Ok(plan)
    }

    /// The saved changes as a plan for `apply`. Their fields are not kept (the file's `plan`
    /// shows them): applying needs only the operations and their stages.
    pub fn to_plan(&self) -> Plan {
        let changes = self
            .changes
            .iter()
            .map(|c| Change {
                id: parse_id(&c.id).expect("checked by parse"),
                kind: c.action,
                fields: Vec::new(),
                operation: c.operation.clone(),
                stage: c.stage,
            })
            .collect();
        Plan {
            changes,
            ..Plan::default()
        }
    }

    /// How a spec file differs from its digest: `None` when its bytes are the same.
    pub fn spec_change(file: &SpecFile, now: std::io::Result<Vec<u8>>) -> Option<Refusal> {
        let what = match now {
            Ok(bytes) if sha256_hex(&bytes) == file.sha256 => return None,
            Ok(_) => "changed".to_string(),
            Err(e) => format!("cannot be read ({e}), and it was read"),
        };
        Some(Refusal::SpecChanged {
            path: file.path.clone(),
            what,
        })
    }
}

/// The changes as the file holds them.
pub fn saved_changes(plan: &Plan) -> Vec<SavedChange> {
    plan.changes
        .iter()
        .map(|c| SavedChange {
            id: c.id.to_string(),
            action: c.kind,
            stage: c.stage,
            operation: c.operation.clone(),
        })
        .collect()
}

/// `Type/name` back into an id.
fn parse_id(id: &str) -> Result<ResourceId, String> {
    id.split_once('/')
        .and_then(|(kind, name)| Some(ResourceId::new(ResourceType::from_name(kind)?, name)))
        .ok_or_else(|| format!("change id {id:?} is not Type/name"))
}

#[cfg(test)]
mod tests;
