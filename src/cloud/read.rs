//! Single reads: a role, one of its inline policies, its attachments and policy names, a
//! managed policy's document, an instance profile, an OIDC provider, the account id. Absent and denied are answers.

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{InstanceProfile, Tag};

use super::error::{classify, cloud_error};
use super::{Cloud, CloudError};
use crate::model::{ActualInstanceProfile, ActualOidcProvider, ActualRole, Tags};
use crate::policy::decode_aws_document;

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
    pub(super) fn found(self) -> Option<T> {
        match self {
            Read::Found(v) => Some(v),
            Read::Absent | Read::Denied(_) => None,
        }
    }

    /// What was found in an answer: an answer without the object means it is absent.
    fn and_then<U>(self, f: impl FnOnce(T) -> Option<U>) -> Read<U> {
        match self {
            Read::Found(v) => f(v).map_or(Read::Absent, Read::Found),
            Read::Absent => Read::Absent,
            Read::Denied(m) => Read::Denied(m),
        }
    }
}

impl Cloud {
    /// One read, counted and bounded like every call: NoSuchEntity is `Absent`, a refusal
    /// `Denied`, and any other error is named after `target`.
    async fn read<T, E, R>(
        &self,
        action: &'static str,
        target: impl FnOnce() -> String,
        send: impl Future<Output = Result<T, SdkError<E, R>>>,
    ) -> Result<Read<T>, CloudError>
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: fmt::Debug,
    {
        classify(self.call(action, send).await).map_err(|e| cloud_error(action, target(), e))
    }

    pub async fn get_role(&self, name: &str) -> Result<Read<ActualRole>, CloudError> {
        let send = self.iam.get_role().role_name(name).send();
        let read = self
            .read("GetRole", || format!("role {name}"), send)
            .await?;
        Ok(read.and_then(|out| {
            let role = out.role()?;
            Some(ActualRole {
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
                permissions_boundary: role
                    .permissions_boundary()
                    .and_then(|b| b.permissions_boundary_arn())
                    .map(str::to_string),
            })
        }))
    }

    pub async fn get_role_policy(
        &self,
        role: &str,
        name: &str,
    ) -> Result<Read<String>, CloudError> {
        let send = self
            .iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send();
        let target = || format!("policy {name} of role {role}");
        let read = self.read("GetRolePolicy", target, send).await?;
        Ok(read.and_then(|out| Some(decode_aws_document(out.policy_document()))))
    }

    pub async fn get_instance_profile(
        &self,
        name: &str,
    ) -> Result<Read<ActualInstanceProfile>, CloudError> {
        let send = self
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send();
        let target = || format!("instance profile {name}");
        let read = self.read("GetInstanceProfile", target, send).await?;
        Ok(read.and_then(|out| out.instance_profile().map(profile_from)))
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
    pub(super) async fn attached_policies(
        &self,
        role: &str,
    ) -> Result<BTreeSet<String>, CloudError> {
        let mut pages = self
            .iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut arns = BTreeSet::new();
        let target = || format!("role {role}");
        while let Some(page) = self
            .next_page("ListAttachedRolePolicies", target, pages.next())
            .await?
        {
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
    pub(super) async fn inline_policy_names(&self, role: &str) -> Result<Vec<String>, CloudError> {
        let mut pages = self
            .iam
            .list_role_policies()
            .role_name(role)
            .into_paginator()
            .send();
        let mut names = Vec::new();
        let target = || format!("role {role}");
        while let Some(page) = self
            .next_page("ListRolePolicies", target, pages.next())
            .await?
        {
            names.extend(page.policy_names().iter().cloned());
        }
        Ok(names)
    }

    /// A managed policy's default version's document (GetPolicy, GetPolicyVersion),
    /// URL-decoded.
    pub(super) async fn managed_policy_document(
        &self,
        arn: &str,
    ) -> Result<Read<String>, CloudError> {
        let target = || format!("managed policy {arn}");
        let send = self.iam.get_policy().policy_arn(arn).send();
        let version = match self.read("GetPolicy", target, send).await? {
            Read::Found(out) => match out.policy().and_then(|p| p.default_version_id()) {
                Some(v) => v.to_string(),
                None => return Ok(Read::Absent),
            },
            Read::Absent => return Ok(Read::Absent),
            Read::Denied(m) => return Ok(Read::Denied(m)),
        };
        let send = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&version)
            .send();
        let read = self.read("GetPolicyVersion", target, send).await?;
        Ok(match read {
            Read::Found(out) => match out.policy_version().and_then(|v| v.document()) {
                Some(doc) => Read::Found(decode_aws_document(doc)),
                None => Read::Absent,
            },
            Read::Absent => Read::Absent,
            Read::Denied(m) => Read::Denied(m),
        })
    }

    pub(super) async fn get_oidc_provider(
        &self,
        arn: &str,
    ) -> Result<Read<ActualOidcProvider>, CloudError> {
        let send = self
            .iam
            .get_open_id_connect_provider()
            .open_id_connect_provider_arn(arn)
            .send();
        let target = || format!("OIDC provider {arn}");
        let read = self.read("GetOpenIDConnectProvider", target, send).await?;
        Ok(read.and_then(|out| {
            Some(ActualOidcProvider {
                arn: arn.to_string(),
                client_ids: out.client_id_list().iter().cloned().collect(),
                tags: tags_of(out.tags()),
            })
        }))
    }
}

/// An instance profile as IAM describes it, in a read or in the bulk pages.
pub(super) fn profile_from(p: &InstanceProfile) -> ActualInstanceProfile {
    ActualInstanceProfile {
        name: p.instance_profile_name().to_string(),
        arn: p.arn().to_string(),
        roles: p
            .roles()
            .iter()
            .map(|r| r.role_name().to_string())
            .collect(),
        tags: tags_of(p.tags()),
    }
}

/// IAM's tag list as a map.
pub(super) fn tags_of(tags: &[Tag]) -> Tags {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}
