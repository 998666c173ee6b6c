//! The IAM operations a plan is made of, and every rule about each one that needs no I/O:
//! its action name, the object it acts on, what must exist first, which errors mean "wait"
//! or "maybe done already", and how to judge a read-back. `cloud` only sends and reads.

use crate::model::{
    ActualInstanceProfile, ActualOidcProvider, ActualRole, ResourceId, ResourceType, Tags,
};
use crate::policy;

/// The IAM call that carries out a change. A saved plan holds it as JSON (docs/saved-plans.md):
/// the `action` is IAM's name for the call, the other keys its arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "action", deny_unknown_fields)]
pub enum Operation {
    CreateRole {
        name: String,
        path: String,
        trust_policy: String,
        tags: Tags,
        /// The managed policy ARN to set as its permissions boundary, if any.
        permissions_boundary: Option<String>,
    },
    UpdateAssumeRolePolicy {
        role: String,
        trust_policy: String,
    },
    /// Sets or replaces the role's permissions boundary.
    PutRolePermissionsBoundary {
        role: String,
        arn: String,
    },
    /// Removes the role's permissions boundary.
    DeleteRolePermissionsBoundary {
        role: String,
    },
    PutRolePolicy {
        role: String,
        name: String,
        document: String,
    },
    DeleteRolePolicy {
        role: String,
        name: String,
    },
    CreateInstanceProfile {
        name: String,
        path: String,
        tags: Tags,
    },
    AddRoleToInstanceProfile {
        profile: String,
        role: String,
    },
    /// Only on the way to deleting an owned instance profile, or the owned role in it.
    RemoveRoleFromInstanceProfile {
        profile: String,
        role: String,
    },
    /// Only for an instance profile this cluster's tags prove it owns, once it holds no role.
    DeleteInstanceProfile {
        name: String,
    },
    AttachRolePolicy {
        role: String,
        policy_arn: String,
    },
    DetachRolePolicy {
        role: String,
        policy_arn: String,
    },
    /// Only for a role that carries this cluster's owned tag and is out of the spec (or
    /// torn down), once its inline policies are deleted, its managed policies detached and
    /// it is out of every instance profile.
    DeleteRole {
        name: String,
    },
    #[serde(rename = "CreateOpenIDConnectProvider")]
    CreateOpenIdConnectProvider {
        /// The ARN IAM will give it, to recognise it when a retried create is refused.
        arn: String,
        url: String,
        client_ids: Vec<String>,
        tags: Tags,
        /// None sent when empty: IAM no longer requires them.
        thumbprints: Vec<String>,
    },
    #[serde(rename = "AddClientIDToOpenIDConnectProvider")]
    AddClientIdToOpenIdConnectProvider {
        arn: String,
        client_ids: Vec<String>,
    },
    /// Only for a provider this cluster's tags prove it owns, after the roles that trust it.
    #[serde(rename = "DeleteOpenIDConnectProvider")]
    DeleteOpenIdConnectProvider {
        arn: String,
    },
}

/// An object that must exist before an operation can succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// The object the call writes into or removes from: IAM answers NoSuchEntity without it.
    Holder(ResourceId),
    /// A principal the trust policy names: IAM refuses the policy until it exists. It may be
    /// another account's or a role rolecall never reads.
    Principal(ResourceId),
}

impl Need {
    pub fn id(&self) -> &ResourceId {
        match self {
            Need::Holder(id) | Need::Principal(id) => id,
        }
    }
}

/// The object to read back when a create is refused as a duplicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadBack<'a> {
    Role(&'a str),
    InstanceProfile(&'a str),
    /// By ARN.
    OidcProvider(&'a str),
}

/// What a read-back found: `None` when the object is absent or the read was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Role(Option<ActualRole>),
    InstanceProfile(Option<ActualInstanceProfile>),
    OidcProvider(Option<ActualOidcProvider>),
}

impl Operation {
    /// The API action's name, as IAM spells it.
    pub fn action(&self) -> &'static str {
        match self {
            Operation::CreateRole { .. } => "CreateRole",
            Operation::UpdateAssumeRolePolicy { .. } => "UpdateAssumeRolePolicy",
            Operation::PutRolePermissionsBoundary { .. } => "PutRolePermissionsBoundary",
            Operation::DeleteRolePermissionsBoundary { .. } => "DeleteRolePermissionsBoundary",
            Operation::PutRolePolicy { .. } => "PutRolePolicy",
            Operation::DeleteRolePolicy { .. } => "DeleteRolePolicy",
            Operation::CreateInstanceProfile { .. } => "CreateInstanceProfile",
            Operation::AddRoleToInstanceProfile { .. } => "AddRoleToInstanceProfile",
            Operation::RemoveRoleFromInstanceProfile { .. } => "RemoveRoleFromInstanceProfile",
            Operation::DeleteInstanceProfile { .. } => "DeleteInstanceProfile",
            Operation::AttachRolePolicy { .. } => "AttachRolePolicy",
            Operation::DetachRolePolicy { .. } => "DetachRolePolicy",
            Operation::DeleteRole { .. } => "DeleteRole",
            Operation::CreateOpenIdConnectProvider { .. } => "CreateOpenIDConnectProvider",
            Operation::AddClientIdToOpenIdConnectProvider { .. } => {
                "AddClientIDToOpenIDConnectProvider"
            }
            Operation::DeleteOpenIdConnectProvider { .. } => "DeleteOpenIDConnectProvider",
        }
    }

    /// The object the operation acts on, as errors name it.
    pub fn target(&self) -> String {
        match self {
            Operation::CreateRole { name, .. } | Operation::DeleteRole { name } => {
                format!("role {name}")
            }
            Operation::UpdateAssumeRolePolicy { role, .. } => format!("role {role}"),
            Operation::PutRolePermissionsBoundary { role, arn } => {
                format!("permissions boundary {arn} of role {role}")
            }
            Operation::DeleteRolePermissionsBoundary { role } => {
                format!("permissions boundary of role {role}")
            }
            Operation::PutRolePolicy { role, name, .. }
            | Operation::DeleteRolePolicy { role, name } => {
                format!("policy {name} of role {role}")
            }
            Operation::CreateInstanceProfile { name, .. }
            | Operation::DeleteInstanceProfile { name } => format!("instance profile {name}"),
            Operation::AttachRolePolicy { role, policy_arn } => {
                format!("policy {policy_arn} to role {role}")
            }
            Operation::DetachRolePolicy { role, policy_arn } => {
                format!("policy {policy_arn} from role {role}")
            }
            Operation::CreateOpenIdConnectProvider { url, .. } => format!("OIDC provider {url}"),
            Operation::AddClientIdToOpenIdConnectProvider { arn, .. }
            | Operation::DeleteOpenIdConnectProvider { arn } => {
                format!("OIDC provider {arn}")
            }
            Operation::AddRoleToInstanceProfile { profile, role } => {
                format!("role {role} into instance profile {profile}")
            }
            Operation::RemoveRoleFromInstanceProfile { profile, role } => {
                format!("role {role} out of instance profile {profile}")
            }
        }
    }

    /// The role the operation acts on, if any.
    pub fn role(&self) -> Option<&str> {
        match self {
            Operation::CreateRole { name, .. } | Operation::DeleteRole { name } => Some(name),
            Operation::UpdateAssumeRolePolicy { role, .. }
            | Operation::PutRolePermissionsBoundary { role, .. }
            | Operation::DeleteRolePermissionsBoundary { role }
            | Operation::PutRolePolicy { role, .. }
            | Operation::DeleteRolePolicy { role, .. }
            | Operation::AddRoleToInstanceProfile { role, .. }
            | Operation::RemoveRoleFromInstanceProfile { role, .. }
            | Operation::AttachRolePolicy { role, .. }
            | Operation::DetachRolePolicy { role, .. } => Some(role),
            Operation::CreateInstanceProfile { .. }
            | Operation::DeleteInstanceProfile { .. }
            | Operation::CreateOpenIdConnectProvider { .. }
            | Operation::AddClientIdToOpenIdConnectProvider { .. }
            | Operation::DeleteOpenIdConnectProvider { .. } => None,
        }
    }

    /// The instance profile the operation acts on, if any.
    pub fn profile(&self) -> Option<&str> {
        match self {
            Operation::CreateInstanceProfile { name, .. }
            | Operation::DeleteInstanceProfile { name } => Some(name),
            Operation::AddRoleToInstanceProfile { profile, .. }
            | Operation::RemoveRoleFromInstanceProfile { profile, .. } => Some(profile),
            _ => None,
        }
    }

    /// Whether the operation deletes a whole object (a role, a profile, a provider), which
    /// must wait for what is removed from it or what refers to it: see `plan::stages`.
    pub fn deletes_object(&self) -> bool {
        matches!(
            self,
            Operation::DeleteRole { .. }
                | Operation::DeleteInstanceProfile { .. }
                | Operation::DeleteOpenIdConnectProvider { .. }
        )
    }

    /// The objects that must exist before this operation can succeed.
    pub fn needs(&self) -> Vec<Need> {
        match self {
            // IAM rejects a trust policy whose principal does not exist yet.
            Operation::CreateRole { trust_policy, .. }
            | Operation::UpdateAssumeRolePolicy { trust_policy, .. } => {
                trusted_objects(trust_policy)
                    .into_iter()
                    .map(Need::Principal)
                    .collect()
            }
            // The boundary's managed policy is not an object rolecall reads or makes: IAM
            // judges it.
            Operation::PutRolePermissionsBoundary { role, .. }
            | Operation::DeleteRolePermissionsBoundary { role }
            | Operation::PutRolePolicy { role, .. }
            | Operation::DeleteRolePolicy { role, .. }
            | Operation::AttachRolePolicy { role, .. }
            | Operation::DetachRolePolicy { role, .. } => {
                vec![Need::Holder(ResourceId::new(ResourceType::IamRole, role))]
            }
            Operation::AddRoleToInstanceProfile { profile, role }
            | Operation::RemoveRoleFromInstanceProfile { profile, role } => vec![
                Need::Holder(ResourceId::new(ResourceType::IamRole, role)),
                Need::Holder(ResourceId::new(ResourceType::IamInstanceProfile, profile)),
            ],
            Operation::CreateInstanceProfile { .. }
            | Operation::DeleteRole { .. }
            | Operation::DeleteInstanceProfile { .. }
            | Operation::DeleteOpenIdConnectProvider { .. }
            | Operation::CreateOpenIdConnectProvider { .. }
            | Operation::AddClientIdToOpenIdConnectProvider { .. } => vec![],
        }
    }

    /// Whether NoSuchEntity means success: deleting or detaching what is already gone is
    /// what was wanted (a boundary removed from a role that is gone is gone too, and a role
    /// taken out of a profile that is gone is out of it), so that a teardown stopped
    /// half-way converges on the next run.
    pub fn absent_is_done(&self) -> bool {
        matches!(
            self,
            Operation::DeleteRolePolicy { .. }
                | Operation::DetachRolePolicy { .. }
                | Operation::DeleteRolePermissionsBoundary { .. }
                | Operation::DeleteRole { .. }
                | Operation::RemoveRoleFromInstanceProfile { .. }
                | Operation::DeleteInstanceProfile { .. }
                | Operation::DeleteOpenIdConnectProvider { .. }
        )
    }

    /// Whether an error (AWS's code and message) is one IAM gives while what this operation
    /// needs propagates: right after a role is created another role's trust policy may not
    /// accept it as a principal yet, and a new role or profile may not be visible to the
    /// next call.
    pub fn still_propagating(&self, code: Option<&str>, message: &str) -> bool {
        match self {
            Operation::CreateRole { .. } | Operation::UpdateAssumeRolePolicy { .. } => {
                code == Some("MalformedPolicyDocument")
                    && message.to_ascii_lowercase().contains("invalid principal")
            }
            // As for an attachment, NoSuchEntity may also name a managed policy that does
            // not exist; that is waited out up to the consistency timeout, then reported.
            Operation::PutRolePolicy { .. }
            | Operation::PutRolePermissionsBoundary { .. }
            | Operation::AttachRolePolicy { .. }
            | Operation::AddRoleToInstanceProfile { .. } => code == Some("NoSuchEntity"),
            _ => false,
        }
    }

    /// Whether an error code is the refusal a retried write gets when its earlier attempt
    /// went through unseen: a create of a role, profile or OIDC provider finds its object
    /// (EntityAlreadyExists), a profile finds its one role slot taken (LimitExceeded).
    pub fn may_be_lost_answer(&self, code: Option<&str>) -> bool {
        match self {
            Operation::CreateRole { .. }
            | Operation::CreateInstanceProfile { .. }
            | Operation::CreateOpenIdConnectProvider { .. } => code == Some("EntityAlreadyExists"),
            Operation::AddRoleToInstanceProfile { .. } => code == Some("LimitExceeded"),
            _ => false,
        }
    }

    /// What to read to judge, with `done_as_found`, whether the account already holds what
    /// this operation was to make. None for an operation no refusal can mean done.
    pub fn read_back(&self) -> Option<ReadBack<'_>> {
        match self {
            Operation::CreateRole { name, .. } => Some(ReadBack::Role(name)),
            Operation::CreateInstanceProfile { name, .. } => Some(ReadBack::InstanceProfile(name)),
            Operation::AddRoleToInstanceProfile { profile, .. } => {
                Some(ReadBack::InstanceProfile(profile))
            }
            Operation::CreateOpenIdConnectProvider { arn, .. } => Some(ReadBack::OidcProvider(arn)),
            _ => None,
        }
    }

    /// Whether what was read back is exactly what this operation was to make, judged as the
    /// plan would: then a refused create (a lost answer, or a concurrent run first) is
    /// success, and anything else is left alone and reported.
    pub fn done_as_found(&self, found: &Found) -> bool {
        match (self, found) {
            // Others' extra tags are allowed, as the plan does not compare tags.
            (
                Operation::CreateRole {
                    path,
                    trust_policy,
                    tags,
                    permissions_boundary,
                    ..
                },
                Found::Role(Some(role)),
            ) => {
                role.path == *path
                    && policy::equivalent(&role.trust_policy, trust_policy)
                    && tags.iter().all(|(k, v)| role.tags.get(k) == Some(v))
                    && role.permissions_boundary == *permissions_boundary
            }
            // A profile holds nothing but its role link, which is an operation of its own.
            (Operation::CreateInstanceProfile { .. }, Found::InstanceProfile(found)) => {
                found.is_some()
            }
            (Operation::AddRoleToInstanceProfile { role, .. }, Found::InstanceProfile(Some(p))) => {
                p.roles == [role.clone()]
            }
            // Audiences beyond ours are others' and fine, as the plan treats them.
            (
                Operation::CreateOpenIdConnectProvider { client_ids, .. },
                Found::OidcProvider(Some(p)),
            ) => client_ids.iter().all(|id| p.client_ids.contains(id)),
            _ => false,
        }
    }
}

/// The roles and OIDC providers a trust policy names, which must exist before it is written.
pub fn trusted_objects(trust_policy: &str) -> Vec<ResourceId> {
    let Ok(canon) = policy::canonical(trust_policy) else {
        return vec![];
    };
    let mut out = Vec::new();
    for principals in canon.statements.iter().filter_map(|s| s.principal.as_ref()) {
        for (kind, ids) in principals {
            for arn in ids {
                match (
                    kind.as_str(),
                    arn.split_once(":role/"),
                    arn.split_once(":oidc-provider/"),
                ) {
                    ("AWS", Some((_, path_name)), _) => out.push(ResourceId::new(
                        ResourceType::IamRole,
                        path_name.rsplit('/').next().unwrap_or(path_name),
                    )),
                    ("Federated", _, Some((_, provider))) => {
                        out.push(ResourceId::new(ResourceType::IamOidcProvider, provider))
                    }
                    _ => {}
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn create_role() -> Operation {
        Operation::CreateRole {
            name: "r".into(),
            path: "/".into(),
            trust_policy: TRUST.into(),
            tags: tags(&[("KubernetesCluster", "c")]),
            permissions_boundary: None,
        }
    }

    fn role(path: &str, trust_policy: &str, tags: Tags) -> Found {
        Found::Role(Some(ActualRole {
            name: "r".into(),
            id: "AROA".into(),
            arn: "arn:aws:iam::000000000000:role/r".into(),
            path: path.into(),
            trust_policy: trust_policy.into(),
            tags,
            managed_policies: None,
            inline_policies: None,
            permissions_boundary: None,
        }))
    }

    #[test]
    fn a_role_read_back_is_done_only_if_it_is_what_the_create_wanted() {
        let op = create_role();
        assert_eq!(op.read_back(), Some(ReadBack::Role("r")));
        let ours = tags(&[("KubernetesCluster", "c"), ("team", "x")]);
        assert!(op.done_as_found(&role("/", TRUST, ours.clone())));
        assert!(!op.done_as_found(&role("/other/", TRUST, ours)));
        assert!(!op.done_as_found(&role("/", TRUST, Tags::new())));
        let other_trust = TRUST.replace("ec2", "lambda");
        let ours = tags(&[("KubernetesCluster", "c")]);
        assert!(!op.done_as_found(&role("/", &other_trust, ours)));
        assert!(!op.done_as_found(&Found::Role(None)));
    }

    #[test]
    fn a_profile_read_back_is_done_if_it_holds_just_our_role() {
        let op = Operation::AddRoleToInstanceProfile {
            profile: "p".into(),
            role: "r".into(),
        };
        assert_eq!(op.read_back(), Some(ReadBack::InstanceProfile("p")));
        let holding = |roles: &[&str]| {
            Found::InstanceProfile(Some(ActualInstanceProfile {
                name: "p".into(),
                arn: "arn:aws:iam::000000000000:instance-profile/p".into(),
                roles: roles.iter().map(|r| r.to_string()).collect(),
                tags: Tags::new(),
            }))
        };
        assert!(op.done_as_found(&holding(&["r"])));
        assert!(!op.done_as_found(&holding(&["other"])));
        assert!(!op.done_as_found(&holding(&[])));
    }

    #[test]
    fn only_refused_creates_are_read_back() {
        let delete = Operation::DeleteRole { name: "r".into() };
        assert_eq!(delete.read_back(), None);
        assert!(!delete.may_be_lost_answer(Some("EntityAlreadyExists")));
        assert!(create_role().may_be_lost_answer(Some("EntityAlreadyExists")));
        assert!(!create_role().may_be_lost_answer(Some("LimitExceeded")));
    }

    #[test]
    fn propagation_errors_are_told_apart_from_absence() {
        let put = Operation::PutRolePolicy {
            role: "r".into(),
            name: "p".into(),
            document: "{}".into(),
        };
        assert!(put.still_propagating(Some("NoSuchEntity"), ""));
        assert!(!put.absent_is_done());
        let delete = Operation::DeleteRolePolicy {
            role: "r".into(),
            name: "p".into(),
        };
        assert!(!delete.still_propagating(Some("NoSuchEntity"), ""));
        assert!(delete.absent_is_done());
        let invalid = "Invalid principal in policy: \"AWS\":\"arn:aws:iam::1:role/x\"";
        assert!(create_role().still_propagating(Some("MalformedPolicyDocument"), invalid));
        assert!(!create_role().still_propagating(Some("MalformedPolicyDocument"), "Syntax"));
    }

    #[test]
    fn a_boundary_is_put_once_its_role_exists_and_a_gone_one_is_deleted() {
        let put = Operation::PutRolePermissionsBoundary {
            role: "r".into(),
            arn: "arn:aws:iam::000000000000:policy/b".into(),
        };
        let delete = Operation::DeleteRolePermissionsBoundary { role: "r".into() };
        assert_eq!(put.action(), "PutRolePermissionsBoundary");
        assert_eq!(delete.action(), "DeleteRolePermissionsBoundary");
        assert_eq!(
            put.target(),
            "permissions boundary arn:aws:iam::000000000000:policy/b of role r"
        );
        assert_eq!(delete.target(), "permissions boundary of role r");
        let role = Need::Holder(ResourceId::new(ResourceType::IamRole, "r"));
        for op in [&put, &delete] {
            assert_eq!(op.role(), Some("r"));
            assert_eq!(op.needs(), std::slice::from_ref(&role));
            assert_eq!(op.read_back(), None);
            assert!(!op.may_be_lost_answer(Some("EntityAlreadyExists")));
        }
        // A new role may not be visible yet to the put; a boundary, or role, already gone
        // is what the delete wanted.
        assert!(put.still_propagating(Some("NoSuchEntity"), ""));
        assert!(!put.absent_is_done());
        assert!(!delete.still_propagating(Some("NoSuchEntity"), ""));
        assert!(delete.absent_is_done());
    }

    #[test]
    fn a_role_read_back_is_done_only_with_the_boundary_the_create_set() {
        let arn = "arn:aws:iam::000000000000:policy/b";
        let mut op = create_role();
        if let Operation::CreateRole {
            permissions_boundary,
            ..
        } = &mut op
        {
            *permissions_boundary = Some(arn.into());
        }
        let ours = tags(&[("KubernetesCluster", "c")]);
        let with = |boundary: Option<&str>| match role("/", TRUST, ours.clone()) {
            Found::Role(Some(mut r)) => {
                r.permissions_boundary = boundary.map(str::to_string);
                Found::Role(Some(r))
            }
            other => other,
        };
        assert!(op.done_as_found(&with(Some(arn))));
        assert!(!op.done_as_found(&with(None)));
        assert!(!op.done_as_found(&with(Some("arn:aws:iam::000000000000:policy/x"))));
        assert!(!create_role().done_as_found(&with(Some(arn))));
    }

    #[test]
    fn teardown_operations_are_done_when_their_object_is_gone() {
        let out = Operation::RemoveRoleFromInstanceProfile {
            profile: "p".into(),
            role: "r".into(),
        };
        let profile = Operation::DeleteInstanceProfile { name: "p".into() };
        let provider = Operation::DeleteOpenIdConnectProvider {
            arn: "arn:aws:iam::000000000000:oidc-provider/i".into(),
        };
        assert_eq!(out.action(), "RemoveRoleFromInstanceProfile");
        assert_eq!(out.target(), "role r out of instance profile p");
        assert_eq!((out.role(), out.profile()), (Some("r"), Some("p")));
        assert_eq!(profile.action(), "DeleteInstanceProfile");
        assert_eq!(profile.target(), "instance profile p");
        assert_eq!(provider.action(), "DeleteOpenIDConnectProvider");
        for op in [&out, &profile, &provider] {
            // NoSuchEntity after a stopped run means the earlier run did it.
            assert!(op.absent_is_done());
            assert!(!op.still_propagating(Some("NoSuchEntity"), ""));
            assert_eq!(op.read_back(), None);
        }
        assert!(!out.deletes_object());
        assert!(profile.deletes_object() && provider.deletes_object());
    }

    #[test]
    fn a_trust_policy_needs_its_principals_and_a_link_its_two_ends() {
        let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:role/kiam/masters.c","Federated":"arn:aws:iam::000000000000:oidc-provider/issuer.example.com"},"Action":"sts:AssumeRole"}]}"#;
        let op = Operation::UpdateAssumeRolePolicy {
            role: "r".into(),
            trust_policy: trust.into(),
        };
        let mut needs = op.needs();
        needs.sort_by(|a, b| a.id().cmp(b.id()));
        assert_eq!(
            needs,
            [
                Need::Principal(ResourceId::new(
                    ResourceType::IamOidcProvider,
                    "issuer.example.com"
                )),
                Need::Principal(ResourceId::new(ResourceType::IamRole, "masters.c")),
            ]
        );
        let link = Operation::AddRoleToInstanceProfile {
            profile: "p".into(),
            role: "r".into(),
        };
        assert_eq!(
            link.needs(),
            [
                Need::Holder(ResourceId::new(ResourceType::IamRole, "r")),
                Need::Holder(ResourceId::new(ResourceType::IamInstanceProfile, "p")),
            ]
        );
    }
}
