//! Plain data for IAM: what the spec wants ([`DesiredState`]) and what the account holds
//! ([`ActualState`]). Both sides use the same names, so the plan is a comparison by key.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The kinds of object rolecall manages, named as kops names its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    // Alphabetical, so that sorting ids sorts `Type/name` strings as kops does.
    IamInstanceProfile,
    IamInstanceProfileRole,
    IamOidcProvider,
    IamRole,
    IamRolePolicy,
    IamRolePolicyAttachment,
}

impl ResourceType {
    pub const ALL: [ResourceType; 6] = [
        ResourceType::IamInstanceProfile,
        ResourceType::IamInstanceProfileRole,
        ResourceType::IamOidcProvider,
        ResourceType::IamRole,
        ResourceType::IamRolePolicy,
        ResourceType::IamRolePolicyAttachment,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::IamRole => "IAMRole",
            ResourceType::IamRolePolicy => "IAMRolePolicy",
            ResourceType::IamInstanceProfile => "IAMInstanceProfile",
            ResourceType::IamInstanceProfileRole => "IAMInstanceProfileRole",
            ResourceType::IamOidcProvider => "IAMOIDCProvider",
            ResourceType::IamRolePolicyAttachment => "IAMRolePolicyAttachment",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// `Type/name`, as in `IAMRole/nodes.example.com`. Sorting by id gives kops's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceId {
    pub kind: ResourceType,
    pub name: String,
}

impl ResourceId {
    pub fn new(kind: ResourceType, name: impl Into<String>) -> Self {
        ResourceId {
            kind,
            name: name.into(),
        }
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.kind.name(), self.name)
    }
}

/// What rolecall may do to an object: kops's lifecycles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub enum Lifecycle {
    /// Create and update.
    #[default]
    Sync,
    /// Neither read nor written.
    Ignore,
    /// Like Sync, but a read refused for lack of access is a warning, not an error.
    WarnIfInsufficientAccess,
    /// Must exist and match; anything else is an error. Never written.
    ExistsAndValidates,
    /// Missing is a warning, different is drift. Never written.
    ExistsAndWarnIfChanges,
}

impl Lifecycle {
    pub const ALL: [Lifecycle; 5] = [
        Lifecycle::Sync,
        Lifecycle::Ignore,
        Lifecycle::WarnIfInsufficientAccess,
        Lifecycle::ExistsAndValidates,
        Lifecycle::ExistsAndWarnIfChanges,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Lifecycle::Sync => "Sync",
            Lifecycle::Ignore => "Ignore",
            Lifecycle::WarnIfInsufficientAccess => "WarnIfInsufficientAccess",
            Lifecycle::ExistsAndValidates => "ExistsAndValidates",
            Lifecycle::ExistsAndWarnIfChanges => "ExistsAndWarnIfChanges",
        }
    }

    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.name() == s)
    }

    /// Whether rolecall may write the object.
    pub fn writes(self) -> bool {
        matches!(self, Lifecycle::Sync | Lifecycle::WarnIfInsufficientAccess)
    }
}

impl fmt::Display for Lifecycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

pub type Tags = BTreeMap<String, String>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRole {
    pub name: String,
    pub path: String,
    /// The trust (assume-role) policy, as rolecall would write it.
    pub trust_policy: String,
    /// Set when rolecall creates the role.
    pub tags: Tags,
    /// The managed policy ARNs attached to the role, as a set: what is listed is attached,
    /// what is not is detached. `None` leaves attachments alone (kops's roles).
    pub managed_policies: Option<BTreeSet<String>>,
    /// The role's permissions boundary, when rolecall manages it (kops 1.36's roles):
    /// `Some(Some(arn))` that policy (`spec.iam.permissionsBoundary`), `Some(None)` none at
    /// all. `None` leaves whatever the role has alone: kops 1.10 and the pod roles never
    /// set one, so a boundary an organisation requires is not theirs to remove. Never
    /// compared on an external role, whose boundary is its owner's business.
    pub permissions_boundary: Option<Option<String>>,
    /// Touch the role only if it carries this cluster's owned tag (pod roles): a role of the
    /// same name that someone else made is reported, never changed.
    pub owned_only: bool,
    pub lifecycle: Lifecycle,
    /// Owned by someone else (an instance profile the spec names): rolecall only checks it.
    pub external: bool,
}

impl DesiredRole {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamRole, &self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRolePolicy {
    pub role: String,
    pub name: String,
    /// `None` means the policy must not exist: rolecall deletes it if it is there.
    pub document: Option<String>,
    pub lifecycle: Lifecycle,
    /// Owned by someone else (an instance profile the spec names): rolecall only checks it.
    pub external: bool,
}

impl DesiredRolePolicy {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamRolePolicy, &self.name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredInstanceProfile {
    pub name: String,
    pub path: String,
    pub tags: Tags,
    pub lifecycle: Lifecycle,
    /// Owned by someone else (an instance profile the spec names): rolecall only checks it.
    pub external: bool,
}

impl DesiredInstanceProfile {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamInstanceProfile, &self.name)
    }
}

/// The link that puts a role into an instance profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredProfileRole {
    pub profile: String,
    pub role: String,
    pub lifecycle: Lifecycle,
    /// Owned by someone else (an instance profile the spec names): rolecall only checks it.
    pub external: bool,
}

impl DesiredProfileRole {
    /// kops names the link after the profile.
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamInstanceProfileRole, &self.profile)
    }
}

/// An instance profile the spec names by ARN (`spec.iam.profile`): someone else owns it and
/// the role in it. Which role that is is known only once the profile is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalProfile {
    pub arn: String,
    pub name: String,
    /// The instance groups that use it.
    pub groups: Vec<String>,
    /// The kops role of those groups (`nodes`, ...), for messages.
    pub role_kind: String,
    /// What rolecall would have generated for that role, to compare the real role with.
    pub expected_trust_policy: String,
    pub expected_policy: String,
    pub expected_additional_policy: Option<String>,
}

/// Everything the spec asks for, in kops's naming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    pub cluster: String,
    pub roles: Vec<DesiredRole>,
    pub role_policies: Vec<DesiredRolePolicy>,
    pub instance_profiles: Vec<DesiredInstanceProfile>,
    pub profile_roles: Vec<DesiredProfileRole>,
    /// Profiles to read before the rest: see [`DesiredState::adopt_external_profile`].
    pub external_profiles: Vec<ExternalProfile>,
    pub oidc_providers: Vec<DesiredOidcProvider>,
    /// Pod roles rolecall may have made for this cluster and may delete.
    pub pod_role_scope: PodRoleScope,
    /// The names of the instance-group roles (and their profiles, which kops names alike)
    /// of the kinds the spec no longer has (no more bastions): deleted when this cluster
    /// owns them.
    pub removed_groups: Vec<String>,
    /// The `--lifecycle-overrides` of the run: they also govern objects found only in the
    /// account, such as a stray pod role to delete.
    pub overrides: Overrides,
}

/// `--lifecycle-overrides`: per type, and per object (which wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    pub by_type: BTreeMap<ResourceType, Lifecycle>,
    pub by_object: BTreeMap<ResourceId, Lifecycle>,
    /// Read from `KOPS_LIFECYCLE_OVERRIDES` rather than the flag, so that errors name it.
    pub from_env: bool,
}

impl Overrides {
    pub const FLAG: &'static str = "--lifecycle-overrides";
    /// The variable kops 1.36 binds to the flag (`viper.BindEnv` in cmd/kops/update_cluster.go).
    pub const ENV: &'static str = "KOPS_LIFECYCLE_OVERRIDES";

    /// Where the overrides came from, as errors name it.
    pub fn source(&self) -> &'static str {
        if self.from_env {
            Self::ENV
        } else {
            Self::FLAG
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_type.is_empty() && self.by_object.is_empty()
    }

    /// The lifecycle of an object the spec does not name but rolecall may delete: the
    /// object's override, else its type's, else Sync.
    pub fn lifecycle_of_undeclared(&self, id: &ResourceId) -> Lifecycle {
        self.by_object
            .get(id)
            .or_else(|| self.by_type.get(&id.kind))
            .copied()
            .unwrap_or_default()
    }
}

impl DesiredState {
    /// Every object's id.
    pub fn ids(&self) -> Vec<ResourceId> {
        self.lifecycles().map(|(id, _)| id).collect()
    }

    /// Every object's id and lifecycle, in the order of `ids`.
    fn lifecycles(&self) -> impl Iterator<Item = (ResourceId, Lifecycle)> + '_ {
        let roles = self.roles.iter().map(|o| (o.id(), o.lifecycle));
        let policies = self.role_policies.iter().map(|o| (o.id(), o.lifecycle));
        let profiles = self.instance_profiles.iter().map(|o| (o.id(), o.lifecycle));
        let links = self.profile_roles.iter().map(|o| (o.id(), o.lifecycle));
        let providers = self.oidc_providers.iter().map(|o| (o.id(), o.lifecycle));
        roles
            .chain(policies)
            .chain(profiles)
            .chain(links)
            .chain(providers)
    }

    /// Whether anything on the role (an inline policy, or the link into a profile) has a
    /// lifecycle that writes. Attachments follow the role's own lifecycle.
    pub fn writes_on_role(&self, role: &str) -> bool {
        self.role_policies
            .iter()
            .any(|p| p.role == role && p.lifecycle.writes())
            || self
                .profile_roles
                .iter()
                .any(|l| l.role == role && l.lifecycle.writes())
    }

    /// Whether the id names an object of a removed instance group (its role, policies,
    /// profile, link or an attachment), which only the account can show.
    pub fn names_removed_group(&self, id: &ResourceId) -> bool {
        self.removed_groups.iter().any(|n| match id.kind {
            ResourceType::IamRolePolicy => id.name == *n || id.name == format!("additional.{n}"),
            ResourceType::IamRolePolicyAttachment => id.name.starts_with(&format!("{n}/")),
            ResourceType::IamOidcProvider => false,
            _ => id.name == *n,
        })
    }

    pub fn contains(&self, id: &ResourceId) -> bool {
        self.lifecycles().any(|(object, _)| object == *id)
    }

    /// Visits every object's lifecycle, with its id and whether it is external.
    pub fn for_each_lifecycle(&mut self, mut f: impl FnMut(&ResourceId, bool, &mut Lifecycle)) {
        for o in &mut self.roles {
            f(&o.id(), o.external, &mut o.lifecycle);
        }
        for o in &mut self.role_policies {
            f(&o.id(), o.external, &mut o.lifecycle);
        }
        for o in &mut self.instance_profiles {
            f(&o.id(), o.external, &mut o.lifecycle);
        }
        for o in &mut self.profile_roles {
            f(&o.id(), o.external, &mut o.lifecycle);
        }
        for o in &mut self.oidc_providers {
            f(&o.id(), o.external, &mut o.lifecycle);
        }
    }

    /// Searches only the objects of the id's kind, by name, without building ids: the plan
    /// asks this for every need of every change.
    pub fn lifecycle_of(&self, id: &ResourceId) -> Option<Lifecycle> {
        let name = id.name.as_str();
        match id.kind {
            ResourceType::IamRole => self
                .roles
                .iter()
                .find(|o| o.name == name)
                .map(|o| o.lifecycle),
            ResourceType::IamRolePolicy => {
                let mut policies = self.role_policies.iter();
                policies.find(|o| o.name == name).map(|o| o.lifecycle)
            }
            ResourceType::IamInstanceProfile => {
                let mut profiles = self.instance_profiles.iter();
                profiles.find(|o| o.name == name).map(|o| o.lifecycle)
            }
            // kops names the link after the profile.
            ResourceType::IamInstanceProfileRole => {
                let mut links = self.profile_roles.iter();
                links.find(|o| o.profile == name).map(|o| o.lifecycle)
            }
            ResourceType::IamOidcProvider => {
                let mut providers = self.oidc_providers.iter();
                providers.find(|o| o.id() == *id).map(|o| o.lifecycle)
            }
            // An attachment follows its role.
            ResourceType::IamRolePolicyAttachment => {
                let (role, _) = name.split_once('/')?;
                self.lifecycle_of(&ResourceId::new(ResourceType::IamRole, role))
            }
        }
    }

    /// Adds the objects of an external profile once it has been read: the profile, and, when
    /// it holds a role, the link, the role with the trust policy rolecall would have written
    /// and the inline policies it would have written, named after the real role as kops
    /// names them. They are checked, never written (ExistsAndWarnIfChanges), unless an
    /// override names them.
    pub fn adopt_external_profile(&mut self, profile: &ExternalProfile, role: Option<&str>) {
        let lifecycle = Lifecycle::ExistsAndWarnIfChanges;
        self.instance_profiles.push(DesiredInstanceProfile {
            name: profile.name.clone(),
            path: "/".into(),
            tags: Tags::new(),
            lifecycle,
            external: true,
        });
        let Some(role) = role else { return };
        self.profile_roles.push(DesiredProfileRole {
            profile: profile.name.clone(),
            role: role.to_string(),
            lifecycle,
            external: true,
        });
        if self.roles.iter().any(|r| r.name == role) {
            return;
        }
        self.roles.push(DesiredRole {
            name: role.to_string(),
            path: "/".into(),
            trust_policy: profile.expected_trust_policy.clone(),
            tags: Tags::new(),
            managed_policies: None,
            // Not a demand that the role have none: an external role's boundary is never
            // compared (see `plan_roles`).
            permissions_boundary: None,
            owned_only: false,
            lifecycle,
            external: true,
        });
        self.role_policies.push(DesiredRolePolicy {
            role: role.to_string(),
            name: role.to_string(),
            document: Some(profile.expected_policy.clone()),
            lifecycle,
            external: true,
        });
        self.role_policies.push(DesiredRolePolicy {
            role: role.to_string(),
            name: format!("additional.{role}"),
            document: profile.expected_additional_policy.clone(),
            lifecycle,
            external: true,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualRole {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    /// Decoded from the URL-encoding IAM returns.
    pub trust_policy: String,
    pub tags: Tags,
    /// Attached managed policy ARNs, when they were read.
    pub managed_policies: Option<BTreeSet<String>>,
    /// Names of all its inline policies, when they were read (roles to delete).
    pub inline_policies: Option<Vec<String>>,
    /// The ARN of its permissions boundary (GetRole, or the bulk pages), if it has one.
    pub permissions_boundary: Option<String>,
}

/// Who an object in the account belongs to, by its tags. IAM names are not proof: another
/// cluster's pod role can bear the name of this cluster's masters' role
/// (`masters.team.sa.a.example.com` is both), so only tags decide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Tagged `kubernetes.io/cluster/<this cluster>=owned`, and claimed by no other cluster.
    This,
    /// Claimed by no cluster: made by hand, by another tool, or by kops (which does not tag
    /// the IAM it makes).
    Unmarked,
    /// Claimed by other clusters, through `kubernetes.io/cluster/<name>=owned` or
    /// `KubernetesCluster=<name>`: their names, sorted.
    Other(Vec<String>),
}

impl Owner {
    pub fn of(tags: &Tags, cluster: &str) -> Owner {
        let mut others: Vec<String> = tags
            .iter()
            .filter_map(|(k, v)| match k.strip_prefix("kubernetes.io/cluster/") {
                Some(name) if v == "owned" => Some(name.to_string()),
                _ if k == "KubernetesCluster" => Some(v.clone()),
                _ => None,
            })
            .filter(|name| name != cluster)
            .collect();
        others.sort();
        others.dedup();
        let ours = tags
            .get(&format!("kubernetes.io/cluster/{cluster}"))
            .is_some_and(|v| v == "owned");
        match (others.is_empty(), ours) {
            (false, _) => Owner::Other(others),
            (true, true) => Owner::This,
            (true, false) => Owner::Unmarked,
        }
    }
}

/// An IAM OIDC identity provider for a cluster's service-account issuer (IRSA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredOidcProvider {
    /// `arn:<partition>:iam::<account>:oidc-provider/<host/path>`.
    pub arn: String,
    /// The issuer URL, `https://host/path`.
    pub url: String,
    pub client_ids: BTreeSet<String>,
    pub tags: Tags,
    /// Sent when the provider is created (kops 1.36 sends two fixed ones); not compared.
    pub thumbprints: Vec<String>,
    pub lifecycle: Lifecycle,
    pub external: bool,
}

impl DesiredOidcProvider {
    /// Named by the issuer's host and path, as the provider's ARN ends.
    pub fn id(&self) -> ResourceId {
        ResourceId::new(
            ResourceType::IamOidcProvider,
            self.url.trim_start_matches("https://"),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualOidcProvider {
    pub arn: String,
    pub client_ids: BTreeSet<String>,
    pub tags: Tags,
}

/// Which roles in the account are pod roles rolecall may have made for this cluster: a
/// role in this scope that the spec no longer names is deleted if it carries the owned tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodRoleScope {
    pub suffixes: Vec<String>,
    pub names: Vec<String>,
}

impl PodRoleScope {
    pub fn contains(&self, role: &str) -> bool {
        self.names.iter().any(|n| n == role)
            || self.suffixes.iter().any(|s| role.ends_with(s.as_str()))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualInstanceProfile {
    pub name: String,
    pub arn: String,
    /// Role names in the profile (IAM allows at most one).
    pub roles: Vec<String>,
    pub tags: Tags,
}

/// What the account holds of the objects the desired state names. An object missing
/// from a map is absent from the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActualState {
    pub roles: BTreeMap<String, ActualRole>,
    /// (role, policy name) -> decoded document.
    pub role_policies: BTreeMap<(String, String), String>,
    pub instance_profiles: BTreeMap<String, ActualInstanceProfile>,
    /// Objects whose read was refused for lack of access, with AWS's message.
    pub denied: BTreeMap<ResourceId, String>,
    /// By ARN.
    pub oidc_providers: BTreeMap<String, ActualOidcProvider>,
    /// Roles in the pod-role scope that the desired state does not name.
    pub stray_pod_roles: Vec<ActualRole>,
    /// The roles of `DesiredState::removed_groups` the account holds, read whole (their
    /// profiles are in `instance_profiles`).
    pub removed_group_roles: Vec<ActualRole>,
    /// Everything that grants access to the roles rolecall does not own (external roles and
    /// roles under a lifecycle that only checks), for the effective-access report: role ->
    /// every inline policy (by name) and every attached managed policy (by ARN, its
    /// default version) with its decoded document. A role whose reads were refused is
    /// absent.
    pub granting_policies: BTreeMap<String, Vec<GrantingPolicy>>,
}

/// A policy that grants a role access, as read for the effective-access report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantingPolicy {
    /// An inline policy's name, or a managed policy's ARN.
    pub source: String,
    /// Decoded from the URL-encoding IAM returns.
    pub document: String,
}
