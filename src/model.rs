//! Plain data for IAM: what the spec wants ([`DesiredState`]) and what the account holds
//! ([`ActualState`]). Both sides use the same names, so the plan is a comparison by key.

use std::collections::BTreeMap;
use std::fmt;

/// The kinds of object rolecall manages, named as kops names its tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    // Alphabetical, so that sorting ids sorts `Type/name` strings as kops does.
    IamInstanceProfile,
    IamInstanceProfileRole,
    IamRole,
    IamRolePolicy,
}

impl ResourceType {
    pub const ALL: [ResourceType; 4] = [
        ResourceType::IamRole,
        ResourceType::IamRolePolicy,
        ResourceType::IamInstanceProfile,
        ResourceType::IamInstanceProfileRole,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ResourceType::IamRole => "IAMRole",
            ResourceType::IamRolePolicy => "IAMRolePolicy",
            ResourceType::IamInstanceProfile => "IAMInstanceProfile",
            ResourceType::IamInstanceProfileRole => "IAMInstanceProfileRole",
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
    pub lifecycle: Lifecycle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredRolePolicy {
    pub role: String,
    pub name: String,
    /// `None` means the policy must not exist: rolecall deletes it if it is there.
    pub document: Option<String>,
    pub lifecycle: Lifecycle,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredInstanceProfile {
    pub name: String,
    pub path: String,
    pub tags: Tags,
    pub lifecycle: Lifecycle,
}

/// The link that puts a role into an instance profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredProfileRole {
    pub profile: String,
    pub role: String,
    pub lifecycle: Lifecycle,
}

impl DesiredRole {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamRole, &self.name)
    }
}

impl DesiredRolePolicy {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamRolePolicy, &self.name)
    }
}

impl DesiredInstanceProfile {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamInstanceProfile, &self.name)
    }
}

impl DesiredProfileRole {
    /// kops names the link after the profile.
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamInstanceProfileRole, &self.profile)
    }
}

/// Everything the spec asks for, in kops's naming.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState {
    pub cluster: String,
    pub roles: Vec<DesiredRole>,
    pub role_policies: Vec<DesiredRolePolicy>,
    pub instance_profiles: Vec<DesiredInstanceProfile>,
    pub profile_roles: Vec<DesiredProfileRole>,
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActualInstanceProfile {
    pub name: String,
    pub arn: String,
    /// Role names in the profile (IAM allows at most one).
    pub roles: Vec<String>,
}

/// What the account holds of the objects the desired state names. An object missing
/// from a map is absent from the account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ActualState {
    pub roles: BTreeMap<String, ActualRole>,
    /// (role, policy name) -> decoded document.
    pub role_policies: BTreeMap<(String, String), String>,
    pub instance_profiles: BTreeMap<String, ActualInstanceProfile>,
}
