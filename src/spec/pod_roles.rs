//! Pod roles in the Cluster: IRSA (`spec.serviceAccountIssuerDiscovery` and
//! `spec.iam.serviceAccountExternalPermissions`) and kube2iam or kiam
//! (`spec.iam.podIdentity`), with the policies each role is granted.

use std::collections::BTreeMap;

use super::arns::{is_managed_policy_arn, is_role_arn};
use super::kube_names;
use super::raw::{At, RawIssuerDiscovery, RawPodIdentity, RawPodRole, RawServiceAccountPermission};
use super::statements::{policy_statements, ElementNames};
use super::validate::Checker;
use super::{
    IssuerDiscovery, PodIdentity, PodIdentityMode, PodRole, ServiceAccountPermission,
    SourceLocation,
};

/// `spec.serviceAccountIssuerDiscovery`. Its location is that of `discoveryStore`, the value
/// later checks (the bucket's region) concern.
pub(super) fn issuer_discovery_from(
    c: &mut Checker,
    raw: &At<RawIssuerDiscovery>,
) -> Option<IssuerDiscovery> {
    const FIELD: &str = "spec.serviceAccountIssuerDiscovery";
    let block_at = c.loc(raw);
    let RawIssuerDiscovery {
        discovery_store,
        enable_aws_oidc_provider,
        additional_audiences,
    } = &raw.value;
    c.unless_problems(|c| {
    let store_field = format!("{FIELD}.discoveryStore");
    let store = c.required_or(
        discovery_store,
        &store_field,
        &block_at,
        "is required but missing (s3://bucket/path or an https:// URL, where the OIDC discovery documents are published)",
    );
    if let (Some(_), Some(at)) = (&store, discovery_store) {
        check_discovery_store(c, at, &store_field);
    }
    let mut audiences = Vec::new();
    for (i, audience) in additional_audiences.iter().flatten().enumerate() {
        if audience.value.trim().is_empty() {
            c.error(
                audience,
                &format!("{FIELD}.additionalAudiences[{i}]"),
                "must not be empty",
            );
        } else {
            audiences.push(audience.value.clone());
        }
    }
    let store_at = discovery_store.as_ref()?;
    Some(IssuerDiscovery {
        discovery_store: store_at.value.clone(),
        enable_aws_oidc_provider: enable_aws_oidc_provider.as_ref().is_some_and(|v| v.value),
        additional_audiences: audiences,
        location: c.loc(store_at),
    })
    })
}

/// The OIDC documents are served from S3 or from a web server the user runs.
fn check_discovery_store(c: &mut Checker, store: &At<String>, field: &str) {
    let v = store.value.as_str();
    let (host, expected) = if let Some(rest) = v.strip_prefix("s3://") {
        (rest, "names no bucket; expected s3://bucket/path")
    } else if let Some(rest) = v.strip_prefix("memfs://").filter(|_| c.kops136) {
        // kops 1.36's tests serve the documents from memory, standing for https://.
        (rest, "names no host; expected memfs://host/path")
    } else if let Some(rest) = v.strip_prefix("https://") {
        (rest, "names no host; expected https://host/path")
    } else {
        c.error(
            store,
            field,
            format!("{v:?} is neither an S3 path (s3://bucket/path) nor an https:// URL"),
        );
        return;
    };
    let host = host.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains(char::is_whitespace) {
        c.error(store, field, format!("{v:?} {expected}"));
    }
}

/// IRSA roles are trusted by the cluster's OIDC provider, which rolecall creates only when
/// `enableAWSOIDCProvider` is true. `first` is the list's first entry, where the error goes.
pub(super) fn check_oidc_provider(
    c: &mut Checker,
    first: &At<RawServiceAccountPermission>,
    discovery: Option<&At<RawIssuerDiscovery>>,
) {
    let message = match discovery.map(|d| &d.value.enable_aws_oidc_provider) {
        None => "requires spec.serviceAccountIssuerDiscovery with enableAWSOIDCProvider: true; the spec has no serviceAccountIssuerDiscovery".to_string(),
        Some(None) => "requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is not set".to_string(),
        Some(Some(enabled)) if !enabled.value => format!(
            "requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is false at {}",
            c.loc(enabled)
        ),
        Some(Some(_)) => return,
    };
    c.error(first, SERVICE_ACCOUNTS, message);
}

const SERVICE_ACCOUNTS: &str = "spec.iam.serviceAccountExternalPermissions";
const POD_IDENTITY: &str = "spec.iam.podIdentity";

/// `spec.iam.serviceAccountExternalPermissions`, kops's IRSA roles.
pub(super) fn service_accounts(
    c: &mut Checker,
    entries: &[At<RawServiceAccountPermission>],
) -> Vec<ServiceAccountPermission> {
    let mut seen: BTreeMap<(String, String), SourceLocation> = BTreeMap::new();
    entries
        .iter()
        .enumerate()
        .filter_map(|(i, entry)| service_account_from(c, entry, i, &mut seen))
        .collect()
}

/// Entry `i` of the IRSA list; `seen` holds the accounts listed before it.
fn service_account_from(
    c: &mut Checker,
    entry: &At<RawServiceAccountPermission>,
    i: usize,
    seen: &mut BTreeMap<(String, String), SourceLocation>,
) -> Option<ServiceAccountPermission> {
    let at = c.loc(entry);
    let field = format!("{SERVICE_ACCOUNTS}[{i}]");
    let RawServiceAccountPermission {
        name,
        namespace,
        aws,
    } = &entry.value;
    let name = service_account_name(c, name.as_ref(), &format!("{field}.name"), &at);
    let namespace_field = format!("{field}.namespace");
    let mut namespace_value = c.required_or(
        namespace,
        &namespace_field,
        &at,
        "is required but missing (a namespace, or * for any)",
    );
    if let (Some(ns), Some(raw_namespace)) = (&namespace_value, namespace) {
        if let Some(message) = kube_names::namespace_pattern_error(ns) {
            c.error(raw_namespace, &namespace_field, message);
            namespace_value = None;
        }
    }
    let aws_field = format!("{field}.aws");
    let grants = match aws {
        Some(aws) => {
            let aws_at = c.loc(aws);
            role_grants(
                c,
                &aws.value.policy_arns,
                &aws.value.inline_policy,
                &aws_at,
                &aws_field,
            )
        }
        None => {
            c.error_at(
                &at,
                &aws_field,
                "is required but missing (policyARNs, inlinePolicy or both)",
            );
            None
        }
    };
    let (name, namespace) = (name?, namespace_value?);
    if let Some(first) = seen.get(&(name.clone(), namespace.clone())) {
        c.error(
            entry,
            &field,
            format!("service account {namespace}/{name} is listed twice (first at {first})"),
        );
        return None;
    }
    seen.insert((name.clone(), namespace.clone()), at.clone());
    let (policy_arns, inline_policy) = grants?;
    Some(ServiceAccountPermission {
        name,
        namespace,
        policy_arns,
        inline_policy,
        location: at,
    })
}

/// A service account's `name`: required, a Kubernetes name, and without wildcards.
fn service_account_name(
    c: &mut Checker,
    raw_name: Option<&At<String>>,
    field: &str,
    at: &SourceLocation,
) -> Option<String> {
    let name = c.required(&raw_name.cloned(), field, at)?;
    let raw_name = raw_name?;
    if name.contains('*') {
        c.error(
            raw_name,
            field,
            format!("{name:?} contains *; kops allows wildcards in the namespace, not in the service account's name"),
        );
        return None;
    }
    if let Some(message) = kube_names::service_account_name_error(&name) {
        c.error(raw_name, field, message);
        return None;
    }
    Some(name)
}

/// `spec.iam.podIdentity`: kube2iam or kiam and the application roles they hand out.
pub(super) fn pod_identity_from(c: &mut Checker, raw: &At<RawPodIdentity>) -> Option<PodIdentity> {
    let at = c.loc(raw);
    let identity = &raw.value;
    c.unless_problems(|c| {
        let mode = mode_of(c, identity.mode.as_ref(), &at);
        if let Some(arn) = &identity.kiam_server_role_arn {
            check_server_role(c, arn, mode);
        }
        let mut seen: BTreeMap<String, SourceLocation> = BTreeMap::new();
        let pod_roles: Vec<PodRole> = identity
            .roles
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, role)| pod_role_from(c, role, i, &mut seen))
            .collect();
        Some(PodIdentity {
            mode: mode?,
            kiam_server_role_arn: identity
                .kiam_server_role_arn
                .as_ref()
                .map(|a| a.value.clone()),
            roles: pod_roles,
            location: at,
        })
    })
}

/// `mode`: required, kube2iam or kiam.
fn mode_of(
    c: &mut Checker,
    mode: Option<&At<String>>,
    at: &SourceLocation,
) -> Option<PodIdentityMode> {
    let field = format!("{POD_IDENTITY}.mode");
    let Some(m) = mode else {
        c.error_at(at, &field, "is required but missing (kube2iam or kiam)");
        return None;
    };
    match m.value.as_str() {
        "kube2iam" => Some(PodIdentityMode::Kube2iam),
        "kiam" => Some(PodIdentityMode::Kiam),
        other => {
            c.error(
                m,
                &field,
                format!("unknown mode {other:?}; valid modes are kube2iam and kiam"),
            );
            None
        }
    }
}

/// `kiamServerRoleARN`: for kiam only, and a role's ARN.
fn check_server_role(c: &mut Checker, arn: &At<String>, mode: Option<PodIdentityMode>) {
    let field = format!("{POD_IDENTITY}.kiamServerRoleARN");
    if mode == Some(PodIdentityMode::Kube2iam) {
        c.error(
            arn,
            &field,
            "applies only to mode kiam; kube2iam has no server role",
        );
    } else if !is_role_arn(&arn.value) {
        c.error(
            arn,
            &field,
            format!(
                "{:?} is not a role ARN such as arn:aws:iam::123456789012:role/kiam-server",
                arn.value
            ),
        );
    }
}

/// Role `i` of `podIdentity.roles`; `seen` holds the names of the roles before it.
fn pod_role_from(
    c: &mut Checker,
    role: &At<RawPodRole>,
    i: usize,
    seen: &mut BTreeMap<String, SourceLocation>,
) -> Option<PodRole> {
    let role_at = c.loc(role);
    let field = format!("{POD_IDENTITY}.roles[{i}]");
    let raw_role = &role.value;
    let name = pod_role_name(
        c,
        raw_role.name.as_ref(),
        &format!("{field}.name"),
        &role_at,
        seen,
    );
    let namespaces = namespaces_of(c, raw_role.namespaces.as_deref(), &field, &role_at);
    let grants = role_grants(
        c,
        &raw_role.policy_arns,
        &raw_role.inline_policy,
        &role_at,
        &field,
    );
    let (name, (policy_arns, inline_policy)) = (name?, grants?);
    Some(PodRole {
        name,
        namespaces,
        policy_arns,
        inline_policy,
        location: role_at,
    })
}

/// A pod role's `name`: required, an IAM role name, and not given to an earlier role.
fn pod_role_name(
    c: &mut Checker,
    raw_name: Option<&At<String>>,
    field: &str,
    role_at: &SourceLocation,
    seen: &mut BTreeMap<String, SourceLocation>,
) -> Option<String> {
    let name = c.required(&raw_name.cloned(), field, role_at)?;
    let raw_name = raw_name?;
    if !name.chars().all(is_role_name_char) {
        c.error(
            raw_name,
            field,
            format!("{name:?} is not a valid IAM role name: use letters, digits and +=,.@_-"),
        );
        return None;
    }
    if let Some(first) = seen.get(&name) {
        c.error(
            raw_name,
            field,
            format!("pod role {name:?} is defined twice (first at {first})"),
        );
        return None;
    }
    seen.insert(name.clone(), c.loc(raw_name));
    Some(name)
}

/// A pod role's `namespaces`: at least one, each a Kubernetes namespace. The valid ones.
fn namespaces_of(
    c: &mut Checker,
    list: Option<&[At<String>]>,
    role_field: &str,
    role_at: &SourceLocation,
) -> Vec<String> {
    let field = format!("{role_field}.namespaces");
    let mut namespaces = Vec::new();
    match list {
        None => c.error_at(
            role_at,
            &field,
            "is required but missing; list the namespaces whose pods may use the role",
        ),
        Some([]) => c.error_at(
            role_at,
            &field,
            "is empty; list at least one namespace whose pods may use the role",
        ),
        Some(list) => {
            for (j, ns) in list.iter().enumerate() {
                let ns_field = format!("{field}[{j}]");
                if ns.value.trim().is_empty() {
                    c.error(ns, &ns_field, "must not be empty");
                } else if let Some(message) = kube_names::namespace_error(&ns.value) {
                    c.error(ns, &ns_field, message);
                } else {
                    namespaces.push(ns.value.clone());
                }
            }
        }
    }
    namespaces
}

/// The characters IAM allows in a role name.
fn is_role_name_char(ch: char) -> bool {
    ch.is_ascii_alphanumeric() || "+=,.@_-".contains(ch)
}

/// A pod role's `policyARNs` and `inlinePolicy`, of which it needs at least one. `at` and
/// `field` are the block that holds them. `None` when there is a problem.
fn role_grants(
    c: &mut Checker,
    policy_arns: &Option<Vec<At<String>>>,
    inline_policy: &Option<At<String>>,
    at: &SourceLocation,
    field: &str,
) -> Option<(Vec<String>, Option<Vec<serde_json::Value>>)> {
    c.unless_problems(|c| {
    let mut arns = Vec::new();
    for (i, arn) in policy_arns.iter().flatten().enumerate() {
        if is_managed_policy_arn(&arn.value) {
            arns.push(arn.value.clone());
        } else {
            c.error(
                arn,
                &format!("{field}.policyARNs[{i}]"),
                format!(
                    "{:?} is not a managed policy ARN such as arn:aws:iam::aws:policy/ReadOnlyAccess",
                    arn.value
                ),
            );
        }
    }
    let statements = inline_policy.as_ref().and_then(|p| {
        policy_statements(
            c,
            p,
            &format!("{field}.inlinePolicy"),
            ElementNames::AsWritten,
        )
    });
    if policy_arns.as_ref().is_none_or(Vec::is_empty) && inline_policy.is_none() {
        c.error_at(
            at,
            field,
            "needs policyARNs, inlinePolicy or both; it has neither",
        );
    }
    Some((arns, statements))
    })
}
