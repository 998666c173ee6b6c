//! Why a command stopped, as one typed value: inner functions return it instead of printing
//! or choosing an exit code, and the CLI alone turns it into what the user reads and the
//! exit code (`cli::fail`).

use std::path::PathBuf;

use crate::cloud::{CloudError, ConnectError};
use crate::desired::dns_zone::ZoneError;
use crate::model::ResourceId;
use crate::policy::grammar::GrammarError;
use crate::spec::{InputError, InputErrors};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec, or what the builders make of it before any AWS call: every problem found.
    #[error("{0}")]
    Input(#[from] InputErrors),
    /// A `--lifecycle-overrides` value that does not parse, or names no object of the
    /// cluster.
    #[error("{0}")]
    Overrides(#[from] InputError),
    /// No region, no credentials.
    #[error("{0}")]
    Connect(#[from] ConnectError),
    /// A read refused or failed, with the object and AWS's words.
    #[error("{0}")]
    Cloud(#[from] CloudError),
    /// The hosted zone the spec asks for could not be chosen from what Route53 lists (none,
    /// or several alike); found before any write, naming the zones seen.
    #[error("{0}")]
    DnsZone(#[from] ZoneError),
    /// The pod roles built with the account's own roles (the second of the two passes) are
    /// wrong in a way the stand-in pass could not see, such as kube2iam with no node found.
    /// A variant of its own because it has always been shown as one message.
    #[error("{0}")]
    PodRoles(InputErrors),
    /// Documents rolecall would write that IAM would refuse, found before any write. The CLI
    /// prints each on a line of its own (`cli::error_text`).
    #[error("{} document(s) IAM would refuse", .0.len())]
    Documents(Vec<(ResourceId, GrammarError)>),
    /// An apply that stopped on AWS errors; each was printed as it happened.
    #[error("stopped after {failed} failed change(s): {applied} applied, {not_started} not attempted. Fix the cause and run again; the next run finishes the rest.")]
    ApplyStopped {
        failed: usize,
        applied: usize,
        not_started: usize,
    },
    /// `--deny-new-access`, and these changes may grant access: `Type/name` and what each
    /// adds.
    #[error("--deny-new-access: {} change(s) may grant new access; nothing was written", .0.len())]
    NewAccess(Vec<(String, String)>),
    /// A saved plan not written, not readable, or not applicable: made elsewhere, from a
    /// spec since changed, or stale.
    #[error("{0}")]
    SavedPlan(#[from] crate::saved_plan::Refusal),
    /// `--calls-json` could not be written.
    #[error("cannot write {}: {source}", path.display())]
    CallsJson {
        path: PathBuf,
        source: std::io::Error,
    },
}
