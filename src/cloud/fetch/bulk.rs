//! The bulk strategy: GetAccountAuthorizationDetails, every role with its policies,
//! attachments, profiles and tags in a page per 1,000 roles, strays included.

use std::collections::BTreeSet;

use super::{is_stray_pod_role, wanted_roles};
use crate::cloud::read::{profile_from, tags_of};
use crate::cloud::{Cloud, CloudError};
use crate::model::{ActualRole, ActualState, DesiredState};
use crate::policy::decode_aws_document;

impl Cloud {
    /// Every role in the account with its inline policies, attached policies, instance
    /// profiles and tags, through GetAccountAuthorizationDetails (Filter=Role), a page per
    /// 1,000 roles. Stray pod roles come from the same pages. Instance profiles that hold no
    /// role appear under no role, so profiles not seen there are read one by one.
    pub(super) async fn fetch_bulk(
        &self,
        desired: &DesiredState,
        known: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut actual = known;
        let wanted = wanted_roles(desired);
        let profiles: BTreeSet<&str> = desired
            .instance_profiles
            .iter()
            .map(|p| p.name.as_str())
            .chain(desired.removed_groups.iter().map(String::as_str))
            .collect();
        let mut pages = self
            .iam
            .get_account_authorization_details()
            .filter(aws_sdk_iam::types::EntityType::Role)
            .max_items(1000)
            .into_paginator()
            .send();
        let target = || "the account's roles".to_string();
        while let Some(page) = self
            .next_page("GetAccountAuthorizationDetails", target, pages.next())
            .await?
        {
            for detail in page.role_detail_list() {
                let Some(name) = detail.role_name() else {
                    continue;
                };
                for ip in detail.instance_profile_list() {
                    let ip_name = ip.instance_profile_name();
                    if profiles.contains(ip_name) && !actual.instance_profiles.contains_key(ip_name)
                    {
                        actual
                            .instance_profiles
                            .insert(ip_name.to_string(), profile_from(ip));
                    }
                }
                let inline = |policy: &str| {
                    detail
                        .role_policy_list()
                        .iter()
                        .find(|p| p.policy_name() == Some(policy))
                        .and_then(|p| p.policy_document())
                        .map(decode_aws_document)
                };
                match wanted.get(name) {
                    Some(w) => {
                        let names = inline_names(detail);
                        // A managed role's extras too, read as per object reads them.
                        let read = names
                            .iter()
                            .filter(|p| w.policies.contains(p) || (w.all_policies && w.reads(p)));
                        for policy in read {
                            if let Some(doc) = inline(policy) {
                                actual
                                    .role_policies
                                    .insert((name.to_string(), policy.clone()), doc);
                            }
                        }
                        if w.read_role {
                            let mut role = role_from_detail(detail, w.attachments);
                            role.inline_policies = w.all_policies.then_some(names);
                            actual.roles.insert(name.to_string(), role);
                        }
                    }
                    None if is_stray_pod_role(desired, name) => {
                        let mut role = role_from_detail(detail, true);
                        role.inline_policies = Some(inline_names(detail));
                        actual.stray_pod_roles.push(role);
                    }
                    None if desired.removed_groups.iter().any(|r| r == name) => {
                        let mut role = role_from_detail(detail, true);
                        role.inline_policies = Some(inline_names(detail));
                        actual.removed_group_roles.push(role);
                    }
                    None => {}
                }
            }
        }
        self.fetch_profiles_and_providers(desired, actual).await
    }
}

/// The names of all the role's inline policies, as the page lists them.
fn inline_names(detail: &aws_sdk_iam::types::RoleDetail) -> Vec<String> {
    detail
        .role_policy_list()
        .iter()
        .filter_map(|p| p.policy_name())
        .map(str::to_string)
        .collect()
}

fn role_from_detail(detail: &aws_sdk_iam::types::RoleDetail, attachments: bool) -> ActualRole {
    ActualRole {
        name: detail.role_name().unwrap_or_default().to_string(),
        id: detail.role_id().unwrap_or_default().to_string(),
        arn: detail.arn().unwrap_or_default().to_string(),
        path: detail.path().unwrap_or("/").to_string(),
        trust_policy: decode_aws_document(detail.assume_role_policy_document().unwrap_or_default()),
        tags: tags_of(detail.tags()),
        managed_policies: attachments.then(|| {
            detail
                .attached_managed_policies()
                .iter()
                .filter_map(|p| p.policy_arn())
                .map(str::to_string)
                .collect()
        }),
        inline_policies: None,
        permissions_boundary: detail
            .permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn())
            .map(str::to_string),
    }
}
