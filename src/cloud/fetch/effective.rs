//! What grants access to the roles rolecall does not own, for the effective-access report
//! (`access::effective`): every inline policy (ListRolePolicies, GetRolePolicy) and every
//! attached managed policy (ListAttachedRolePolicies, then GetPolicy for its default
//! version and GetPolicyVersion for its document). What `fetch` already read is not read
//! again, and each managed policy is read once per run, however many roles it is attached
//! to.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

use crate::cloud::{Cloud, CloudError, Read};
use crate::model::{ActualState, DesiredState, GrantingPolicy, Lifecycle};

/// The roles whose effective access is reported: those rolecall does not own (found
/// through an instance profile the spec names) or only checks.
fn roles_to_report(desired: &DesiredState, actual: &ActualState) -> Vec<String> {
    desired
        .roles
        .iter()
        .filter(|r| {
            r.external
                || matches!(
                    r.lifecycle,
                    Lifecycle::ExistsAndWarnIfChanges | Lifecycle::ExistsAndValidates
                )
        })
        .filter(|r| actual.roles.contains_key(&r.name))
        .map(|r| r.name.clone())
        .collect()
}

/// A role's inline policies (name, document) and attached ARNs; `None` when a read was
/// refused.
type RoleGrants = Option<(Vec<(String, String)>, BTreeSet<String>)>;

impl Cloud {
    /// Fills `actual.granting_policies` for the roles rolecall does not own or only checks
    /// and that exist. A role whose lists or documents are refused is left out, with a
    /// warning.
    pub async fn read_granting_policies(
        &self,
        desired: &DesiredState,
        mut actual: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut roles = JoinSet::new();
        for role in roles_to_report(desired, &actual) {
            let cloud = self.clone();
            let known = actual.roles.get(&role).cloned();
            let read: BTreeMap<String, String> = actual
                .role_policies
                .iter()
                .filter(|((r, _), _)| *r == role)
                .map(|((_, name), doc)| (name.clone(), doc.clone()))
                .collect();
            roles.spawn(async move {
                let grants = cloud.role_grants(&role, known, read).await;
                (role, grants)
            });
        }
        let mut per_role = BTreeMap::new();
        while let Some(joined) = roles.join_next().await {
            let (role, grants) = joined.expect("read task panicked");
            match grants? {
                Some(g) => {
                    per_role.insert(role, g);
                }
                None => tracing::warn!(
                    "the policies of role {role} could not all be read; its effective access is not reported"
                ),
            }
        }
        // Each managed policy once, however many roles hold it.
        let arns: BTreeSet<String> = per_role.values().flat_map(|(_, a)| a.clone()).collect();
        let mut reads = JoinSet::new();
        for arn in arns {
            let cloud = self.clone();
            reads.spawn(async move {
                let doc = cloud.managed_policy_document(&arn).await;
                (arn, doc)
            });
        }
        let mut documents = BTreeMap::new();
        while let Some(joined) = reads.join_next().await {
            let (arn, doc) = joined.expect("read task panicked");
            documents.insert(arn, doc?);
        }
        for (role, (inline, attached)) in per_role {
            let mut policies: Vec<GrantingPolicy> = inline
                .into_iter()
                .map(|(source, document)| GrantingPolicy { source, document })
                .collect();
            let mut complete = true;
            for arn in attached {
                match documents.get(&arn) {
                    Some(Read::Found(document)) => policies.push(GrantingPolicy {
                        source: arn,
                        document: document.clone(),
                    }),
                    // Detached or deleted between the reads: it grants nothing.
                    Some(Read::Absent) => {}
                    _ => complete = false,
                }
            }
            if complete {
                actual.granting_policies.insert(role, policies);
            } else {
                tracing::warn!("a managed policy of role {role} could not be read; its effective access is not reported");
            }
        }
        Ok(actual)
    }

    /// A role's inline policies with their documents and its attached policies' ARNs,
    /// from what `known` and `read` hold where they can.
    async fn role_grants(
        &self,
        role: &str,
        known: Option<crate::model::ActualRole>,
        read: BTreeMap<String, String>,
    ) -> Result<RoleGrants, CloudError> {
        let names = match known.as_ref().and_then(|r| r.inline_policies.clone()) {
            Some(names) => names,
            None => match denied_is_none(self.inline_policy_names(role).await)? {
                Some(names) => names,
                None => return Ok(None),
            },
        };
        let attached = match known.and_then(|r| r.managed_policies) {
            Some(arns) => arns,
            None => match denied_is_none(self.attached_policies(role).await)? {
                Some(arns) => arns,
                None => return Ok(None),
            },
        };
        let mut inline = Vec::new();
        for name in names {
            if let Some(doc) = read.get(&name) {
                inline.push((name, doc.clone()));
                continue;
            }
            match self.get_role_policy(role, &name).await? {
                Read::Found(doc) => inline.push((name, doc)),
                Read::Absent => {}
                Read::Denied(_) => return Ok(None),
            }
        }
        Ok(Some((inline, attached)))
    }
}

/// A read refused for lack of access is `None`: that role's access is then not reported.
fn denied_is_none<T>(listed: Result<T, CloudError>) -> Result<Option<T>, CloudError> {
    match listed {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code.as_deref() == Some("AccessDenied") => {
            tracing::warn!("{e}");
            Ok(None)
        }
        Err(e) => Err(e),
    }
}
