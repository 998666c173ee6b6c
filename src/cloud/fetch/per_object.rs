//! The per-object strategy: GetRole, GetRolePolicy by name, ListAttachedRolePolicies, and
//! ListRoles for stray pod roles.

use std::collections::BTreeMap;

use tokio::task::JoinSet;

use super::{is_stray_pod_role, wanted_roles, WantedRole};
use crate::cloud::{Cloud, CloudError, Read};
use crate::model::{ActualRole, ActualState, DesiredState, ResourceId, ResourceType};

impl Cloud {
    /// One read per object: GetRole, GetRolePolicy by name, ListAttachedRolePolicies where
    /// attachments are managed, GetInstanceProfile, and ListRoles for stray pod roles.
    /// Independent reads run concurrently; a role's policies are read only if the role may
    /// exist.
    pub(super) async fn fetch_per_object(
        &self,
        desired: &DesiredState,
        known: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut actual = known;
        let mut roles = JoinSet::new();
        for (role, wanted) in wanted_roles(desired) {
            let cloud = self.clone();
            roles.spawn(async move { cloud.fetch_role(role, wanted).await });
        }
        let strays = {
            let cloud = self.clone();
            let desired = desired.clone();
            tokio::spawn(async move { cloud.stray_pod_roles(&desired).await })
        };
        let removed = {
            let cloud = self.clone();
            let names = desired.removed_groups.clone();
            tokio::spawn(async move { cloud.whole_roles(names).await })
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
        actual.removed_group_roles = removed.await.expect("fetch task panicked")?;
        self.fetch_profiles_and_providers(desired, actual).await
    }

    /// A role (unless it is ignored) and those of the named inline policies it has. When the
    /// role is known to be absent, its policies are not read: they cannot exist. A role
    /// rolecall manages is read whole: ListRolePolicies gives every inline policy's name, so
    /// that only the policies present are read (a policy that must not exist costs nothing)
    /// and those the spec does not name are read for drift; ListAttachedRolePolicies gives
    /// every attachment. A list refused for lack of access falls back to reading by name,
    /// with no drift for extras.
    async fn fetch_role(
        &self,
        name: String,
        wanted: WantedRole,
    ) -> Result<FetchedRole, CloudError> {
        let mut fetched = FetchedRole {
            name: name.clone(),
            ..FetchedRole::default()
        };
        let mut to_read = wanted.policies.clone();
        if wanted.read_role {
            match self.get_role(&name).await? {
                Read::Found(mut role) => {
                    if wanted.exact_attachments {
                        role.managed_policies = Some(self.attached_policies(&name).await?);
                    } else if wanted.attachments {
                        role.managed_policies =
                            denied_is_unknown(self.attached_policies(&name).await)?;
                    }
                    if wanted.all_policies {
                        if let Some(names) =
                            denied_is_unknown(self.inline_policy_names(&name).await)?
                        {
                            to_read = names.iter().filter(|p| wanted.reads(p)).cloned().collect();
                            role.inline_policies = Some(names);
                        }
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
        for policy in to_read {
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
        let target = || "the account's roles".to_string();
        while let Some(page) = self.next_page("ListRoles", target, pages.next()).await? {
            names.extend(
                page.roles()
                    .iter()
                    .map(|r| r.role_name())
                    .filter(|n| is_stray_pod_role(desired, n))
                    .map(str::to_string),
            );
        }
        self.whole_roles(names).await
    }

    /// The roles of these names that exist, each with the names of all its inline policies
    /// and all its attachments: what deleting it takes.
    async fn whole_roles(&self, names: Vec<String>) -> Result<Vec<ActualRole>, CloudError> {
        let mut roles = Vec::new();
        for name in names {
            if let Read::Found(mut role) = self.get_role(&name).await? {
                role.inline_policies = Some(self.inline_policy_names(&name).await?);
                role.managed_policies = Some(self.attached_policies(&name).await?);
                roles.push(role);
            }
        }
        Ok(roles)
    }
}

#[derive(Debug, Default)]
struct FetchedRole {
    name: String,
    role: Option<ActualRole>,
    policies: Vec<(String, String)>,
    denied: BTreeMap<ResourceId, String>,
}

/// A list refused for lack of access leaves what it lists unknown (`None`): the plan then
/// reports no drift for it rather than failing the run.
fn denied_is_unknown<T>(listed: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match listed {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref() == Some("AccessDenied") => {
            tracing::warn!("{e}; its extras are not checked");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
