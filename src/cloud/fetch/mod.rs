//! Reading the actual state behind one seam: the strategy (per object or bulk), what to
//! read of each role, the external profiles first, and the reads both strategies share.

use std::collections::{BTreeMap, BTreeSet};

use tokio::task::JoinSet;

pub use auto::BULK_ABOVE_ROLES;

use super::{Cloud, CloudError, Read};
use crate::model::{
    ActualInstanceProfile, ActualState, DesiredState, ExternalProfile, Lifecycle, ResourceId,
    ResourceType,
};

mod auto;
mod bulk;
mod effective;
mod per_object;

/// How to read the account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum FetchStrategy {
    /// The one with fewer round trips for the cluster and the account (see `auto.rs`).
    #[default]
    Auto,
    /// GetRole, ListRolePolicies, GetRolePolicy, ... for each object: about four calls a
    /// role.
    PerObject,
    /// GetAccountAuthorizationDetails: every role with its policies in a page per 1,000.
    Bulk,
}

impl FetchStrategy {
    /// The strategy forced, or auto made concrete for this desired state and account.
    async fn resolve(self, cloud: &Cloud, desired: &DesiredState) -> FetchStrategy {
        match self {
            FetchStrategy::Auto => cloud.choose_fetch(desired).await,
            concrete => concrete,
        }
    }
}

impl Cloud {
    /// Reads the instance profiles the spec names by ARN, to learn which role each holds.
    /// A missing profile is an error that names the ARN. Returns each profile as read.
    pub async fn read_external_profiles(
        &self,
        desired: &DesiredState,
    ) -> Result<Vec<(ExternalProfile, ActualInstanceProfile)>, CloudError> {
        let mut reads = JoinSet::new();
        for profile in &desired.external_profiles {
            let cloud = self.clone();
            let profile = profile.clone();
            reads.spawn(async move {
                let found = cloud.get_instance_profile(&profile.name).await;
                (profile, found)
            });
        }
        let mut out = Vec::new();
        while let Some(joined) = reads.join_next().await {
            let (profile, found) = joined.expect("read task panicked");
            let refused = |code: Option<&str>, message: String| CloudError {
                operation: "GetInstanceProfile",
                target: format!("instance profile {}", profile.name),
                code: code.map(str::to_string),
                message,
            };
            match found? {
                // Read by name, so a wrong account (or path) in the ARN would go unseen.
                Read::Found(p) if p.arn != profile.arn => {
                    return Err(refused(None, format!(
                        "spec.iam.profile of instance group(s) {} names {}, but the profile of that name in this account is {}: check the account id and path",
                        profile.groups.join(", "),
                        profile.arn,
                        p.arn
                    )));
                }
                Read::Found(p) => out.push((profile, p)),
                Read::Absent => {
                    return Err(refused(Some("NoSuchEntity"), format!(
                        "the instance profile {} named in spec.iam.profile of instance group(s) {} does not exist",
                        profile.arn,
                        profile.groups.join(", ")
                    )));
                }
                Read::Denied(message) => return Err(refused(Some("AccessDenied"), message)),
            }
        }
        out.sort_by(|a, b| a.0.name.cmp(&b.0.name));
        Ok(out)
    }

    /// Reads the objects the desired state names, except those with lifecycle Ignore and
    /// those `known` already holds, with the strategy that costs fewer calls (or the one
    /// forced). Both strategies give the same actual state. A read refused for lack of access
    /// is recorded in `denied` for the plan to judge by lifecycle.
    pub async fn fetch(
        &self,
        desired: &DesiredState,
        known: ActualState,
        strategy: FetchStrategy,
    ) -> Result<ActualState, CloudError> {
        match strategy.resolve(self, desired).await {
            FetchStrategy::Bulk => match self.fetch_bulk(desired, known.clone()).await {
                // Auto falls back when the account refuses the bulk read.
                Err(e)
                    if strategy == FetchStrategy::Auto
                        && e.code.as_deref() == Some("AccessDenied") =>
                {
                    tracing::warn!("bulk read refused ({e}); reading object by object");
                    self.fetch_per_object(desired, known).await
                }
                other => other,
            },
            _ => self.fetch_per_object(desired, known).await,
        }
    }

    /// The instance profiles not known yet and the OIDC providers, one read each.
    async fn fetch_profiles_and_providers(
        &self,
        desired: &DesiredState,
        mut actual: ActualState,
    ) -> Result<ActualState, CloudError> {
        let mut providers = JoinSet::new();
        for provider in desired
            .oidc_providers
            .iter()
            .filter(|p| p.lifecycle != Lifecycle::Ignore)
        {
            let (cloud, id, arn) = (self.clone(), provider.id(), provider.arn.clone());
            providers.spawn(async move { (id, arn.clone(), cloud.get_oidc_provider(&arn).await) });
        }
        let mut profiles = JoinSet::new();
        let read = desired.instance_profiles.iter().filter(|ip| {
            let link_read = desired
                .profile_roles
                .iter()
                .any(|l| l.profile == ip.name && l.lifecycle != Lifecycle::Ignore);
            ip.lifecycle != Lifecycle::Ignore || link_read
        });
        // A removed group's profile may outlive its role (a deletion stopped half-way).
        let names = read
            .map(|ip| &ip.name)
            .chain(&desired.removed_groups)
            .filter(|name| !actual.instance_profiles.contains_key(*name));
        for name in names {
            let cloud = self.clone();
            let name = name.clone();
            profiles.spawn(async move { (name.clone(), cloud.get_instance_profile(&name).await) });
        }
        while let Some(joined) = providers.join_next().await {
            let (id, arn, read) = joined.expect("fetch task panicked");
            match read? {
                Read::Found(p) => {
                    actual.oidc_providers.insert(arn, p);
                }
                Read::Absent => {}
                Read::Denied(m) => {
                    actual.denied.insert(id, m);
                }
            }
        }
        while let Some(joined) = profiles.join_next().await {
            let (name, read) = joined.expect("fetch task panicked");
            match read? {
                Read::Found(p) => {
                    actual.instance_profiles.insert(p.name.clone(), p);
                }
                Read::Absent => {}
                Read::Denied(m) => {
                    actual.denied.insert(
                        ResourceId::new(ResourceType::IamInstanceProfile, &name),
                        m.clone(),
                    );
                    actual.denied.insert(
                        ResourceId::new(ResourceType::IamInstanceProfileRole, &name),
                        m,
                    );
                }
            }
        }
        Ok(actual)
    }
}

/// What to read of one role the desired state names.
#[derive(Debug, Default)]
struct WantedRole {
    read_role: bool,
    attachments: bool,
    /// The spec keeps the attachments exact (a refused list is then an error, not drift
    /// left unknown).
    exact_attachments: bool,
    /// The names of all its inline policies, and the documents of those the desired state
    /// does not name: a role rolecall manages (not external, not ignored), for drift.
    all_policies: bool,
    /// The desired policies to read (not ignored).
    policies: Vec<String>,
    /// Every policy the desired state names on it, ignored ones included: not extras.
    named: BTreeSet<String>,
}

impl WantedRole {
    /// Whether a policy found on the role is to be read: a desired one that is not
    /// ignored, or one the desired state does not name at all.
    fn reads(&self, policy: &str) -> bool {
        self.policies.iter().any(|p| p == policy) || !self.named.contains(policy)
    }
}

/// A role of the account that is a pod role of this cluster's (by its name) the spec no
/// longer has: both strategies report it so, whatever lifecycles say about reading it.
fn is_stray_pod_role(desired: &DesiredState, name: &str) -> bool {
    desired.pod_role_scope.contains(name) && !desired.roles.iter().any(|d| d.name == name)
}

fn wanted_roles(desired: &DesiredState) -> BTreeMap<String, WantedRole> {
    let mut wanted: BTreeMap<String, WantedRole> = BTreeMap::new();
    // An ignored role is still read when something on it may be written: its tags say
    // whether it is this cluster's to write to.
    for role in desired
        .roles
        .iter()
        .filter(|r| r.lifecycle != Lifecycle::Ignore || desired.writes_on_role(&r.name))
    {
        let w = wanted.entry(role.name.clone()).or_default();
        w.read_role = true;
        // A role rolecall manages is read whole, for drift: every inline policy and
        // attachment, also where the spec leaves attachments alone.
        w.all_policies = !role.external && role.lifecycle != Lifecycle::Ignore;
        w.exact_attachments =
            role.managed_policies.is_some() && role.lifecycle != Lifecycle::Ignore;
        w.attachments = w.exact_attachments || w.all_policies;
    }
    for rp in &desired.role_policies {
        let w = wanted.entry(rp.role.clone()).or_default();
        w.named.insert(rp.name.clone());
        if rp.lifecycle != Lifecycle::Ignore {
            w.policies.push(rp.name.clone());
        }
    }
    wanted
}
