//! What each operation of a plan touches: the objects whose state, as read when the plan
//! was made, the operation depends on. A saved plan fingerprints exactly these, and `apply`
//! reads exactly these again.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::operation::Operation;
use crate::plan::Change;

/// One object of the account, named as IAM's reads need it (a role's inline policy by its
/// role and name, an OIDC provider by ARN).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "type", deny_unknown_fields)]
pub enum Touched {
    #[serde(rename = "IAMRole")]
    Role { name: String },
    #[serde(rename = "IAMRolePolicy")]
    RolePolicy { role: String, name: String },
    #[serde(rename = "IAMInstanceProfile")]
    InstanceProfile { name: String },
    #[serde(rename = "IAMRolePolicyAttachment")]
    Attachment { role: String, policy_arn: String },
    #[serde(rename = "IAMOIDCProvider")]
    OidcProvider { arn: String },
}

impl fmt::Display for Touched {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Touched::Role { name } => write!(f, "IAMRole/{name}"),
            Touched::RolePolicy { role, name } => write!(f, "IAMRolePolicy/{name} (role {role})"),
            Touched::InstanceProfile { name } => write!(f, "IAMInstanceProfile/{name}"),
            Touched::Attachment { role, policy_arn } => {
                write!(f, "IAMRolePolicyAttachment/{role}/{policy_arn}")
            }
            Touched::OidcProvider { arn } => write!(f, "IAMOIDCProvider/{arn}"),
        }
    }
}

/// The objects one operation touches: the object it writes, and the role or profile it
/// writes into, whose tags decided that rolecall may write there at all (ownership).
pub fn touched_by(op: &Operation) -> Vec<Touched> {
    let role = |name: &str| Touched::Role { name: name.into() };
    match op {
        Operation::CreateRole { name, .. } | Operation::DeleteRole { name } => vec![role(name)],
        Operation::UpdateAssumeRolePolicy { role: r, .. }
        | Operation::PutRolePermissionsBoundary { role: r, .. }
        | Operation::DeleteRolePermissionsBoundary { role: r } => vec![role(r)],
        Operation::PutRolePolicy { role: r, name, .. }
        | Operation::DeleteRolePolicy { role: r, name } => vec![
            role(r),
            Touched::RolePolicy {
                role: r.clone(),
                name: name.clone(),
            },
        ],
        Operation::CreateInstanceProfile { name, .. } => {
            vec![Touched::InstanceProfile { name: name.clone() }]
        }
        Operation::DeleteInstanceProfile { name } => {
            vec![Touched::InstanceProfile { name: name.clone() }]
        }
        Operation::AddRoleToInstanceProfile { profile, role: r }
        | Operation::RemoveRoleFromInstanceProfile { profile, role: r } => vec![
            role(r),
            Touched::InstanceProfile {
                name: profile.clone(),
            },
        ],
        Operation::AttachRolePolicy {
            role: r,
            policy_arn,
        }
        | Operation::DetachRolePolicy {
            role: r,
            policy_arn,
        } => vec![
            role(r),
            Touched::Attachment {
                role: r.clone(),
                policy_arn: policy_arn.clone(),
            },
        ],
        Operation::CreateOpenIdConnectProvider { arn, .. }
        | Operation::AddClientIdToOpenIdConnectProvider { arn, .. }
        | Operation::DeleteOpenIdConnectProvider { arn } => {
            vec![Touched::OidcProvider { arn: arn.clone() }]
        }
    }
}

/// Every object the plan's changes touch, each once, sorted.
pub fn touched(changes: &[Change]) -> Vec<Touched> {
    let mut all: Vec<Touched> = changes
        .iter()
        .flat_map(|c| touched_by(&c.operation))
        .collect();
    all.sort();
    all.dedup();
    all
}
