//! Pod roles: the application roles kube2iam, kiam and IRSA hand to pods, and what the node,
//! master and kiam server roles need to reach them. Each trust policy trusts exactly one
//! principal, and each `sts:AssumeRole` grant names exactly the roles it must reach, never
//! `*` as the hand-written guides do.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use super::{ownership_tags, pretty};
use crate::model::{
    DesiredOidcProvider, DesiredRole, DesiredRolePolicy, DesiredState, Lifecycle, PodRoleScope,
};
use crate::spec::{ClusterSpec, InputError, InputErrors, PodIdentityMode};

/// kops's audience for service-account tokens meant for AWS.
pub const DEFAULT_AUDIENCE: &str = "amazonaws.com";

/// What the pod roles need to know about the account and the cluster's other roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodContext {
    pub account_id: String,
    /// `arn:aws`, `arn:aws-cn` or `arn:aws-us-gov`.
    pub arn_prefix: String,
    /// The roles the cluster's nodes run with (kube2iam's base roles), with whether
    /// rolecall manages them.
    pub node_roles: Vec<(String, bool)>,
    /// The roles the masters run with (kiam's server runs there), likewise.
    pub master_roles: Vec<(String, bool)>,
}

impl PodContext {
    /// Account 123456789012 with the managed roles of cluster `c.k8s.local`, for tests.
    #[cfg(test)]
    pub(crate) fn for_tests() -> PodContext {
        PodContext {
            account_id: "123456789012".into(),
            arn_prefix: "arn:aws".into(),
            node_roles: vec![("nodes.c.k8s.local".into(), true)],
            master_roles: vec![("masters.c.k8s.local".into(), true)],
        }
    }

    pub fn role_arn(&self, name: &str) -> String {
        format!("{}:iam::{}:role/{name}", self.arn_prefix, self.account_id)
    }
}

/// What the plan and the annotations print about the pod roles.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodRoleSummary {
    pub mode: Option<PodIdentityMode>,
    /// kube2iam and kiam application roles: (ARN, namespaces).
    pub app_roles: Vec<(String, Vec<String>)>,
    /// IRSA: (namespace, service account, role ARN).
    pub service_accounts: Vec<(String, String, String)>,
    /// kiam: the value for the server's `--assume-role-arn`.
    pub kiam_server_arn: Option<String>,
}

/// `<name>.pods.<cluster>`, as kops would shorten it.
pub fn app_role_name(name: &str, cluster: &str) -> String {
    truncate_role_name(&format!("{name}.pods.{cluster}"))
}

/// kops's name for a service account's role: `<sa>.<ns>.sa.<cluster>`, `*` as `wildcard`.
pub fn service_account_role_name(name: &str, namespace: &str, cluster: &str) -> String {
    truncate_role_name(&format!(
        "{name}.{}.sa.{cluster}",
        namespace.replace('*', "wildcard")
    ))
}

pub fn kiam_server_role_name(cluster: &str) -> String {
    truncate_role_name(&format!("kiam-server.{cluster}"))
}

/// kops's truncation (pkg/truncate): names over 64 characters keep their first 57 and end
/// in `-` and six characters of the FNV-1a hash of the whole name, in lower-case base32hex.
pub fn truncate_role_name(name: &str) -> String {
    const MAX: usize = 64;
    if name.len() <= MAX {
        return name.to_string();
    }
    let hash = fnv1a_32(name.as_bytes()).to_be_bytes();
    let encoded = base32hex_lower(&hash);
    let keep = MAX - 6 - 1;
    format!("{}-{}", &name[..keep], &encoded[..6])
}

fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    })
}

/// RFC 4648 base32 with the extended-hex alphabet, lower case, no padding.
fn base32hex_lower(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for b in bytes {
        buffer = (buffer << 8) | u32::from(*b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The issuer URL of `spec.serviceAccountIssuerDiscovery.discoveryStore`.
pub fn issuer_url(discovery_store: &str, region: Option<&str>) -> Result<String, String> {
    if let Some(rest) = discovery_store.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let region = region
            .ok_or("the region of the discovery bucket is needed: give spec.subnets with zones")?;
        let key = key.trim_matches('/');
        let path = if key.is_empty() {
            String::new()
        } else {
            format!("/{key}")
        };
        return Ok(format!("https://{bucket}.s3.{region}.amazonaws.com{path}"));
    }
    if discovery_store.starts_with("https://") {
        return Ok(discovery_store.trim_end_matches('/').to_string());
    }
    Err(format!(
        "{discovery_store:?} is neither s3://bucket/path nor an https:// URL"
    ))
}

fn assume_role_trust(principal_arns: &[String]) -> String {
    let principal = match principal_arns {
        [one] => json!(one),
        many => json!(many),
    };
    pretty(&json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}]
    }))
}

fn assume_role_grant(role_arns: &BTreeSet<String>) -> Option<String> {
    (!role_arns.is_empty()).then(|| {
        pretty(&json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arns}]
        }))
    })
}

fn statements_policy(statements: &Option<Vec<Value>>) -> Option<String> {
    statements
        .as_ref()
        .map(|s| pretty(&json!({"Version": "2012-10-17", "Statement": s})))
}

/// Adds the pod roles and their supporting grants to the desired state.
pub fn add_pod_roles(
    spec: &ClusterSpec,
    ctx: &PodContext,
    state: &mut DesiredState,
) -> Result<PodRoleSummary, InputErrors> {
    let cluster = &spec.name;
    state.pod_role_scope = PodRoleScope {
        suffixes: vec![format!(".pods.{cluster}"), format!(".sa.{cluster}")],
        names: vec![kiam_server_role_name(cluster)],
    };
    let mut summary = PodRoleSummary::default();
    let mut errors = Vec::new();

    if let Some(pods) = &spec.pod_identity {
        summary.mode = Some(pods.mode);
        let (trusted, granted_on): (Vec<String>, Vec<(String, bool)>) = match pods.mode {
            PodIdentityMode::Kube2iam => {
                if ctx.node_roles.is_empty() {
                    errors.push(InputError::at(
                        pods.location.clone(),
                        "spec.iam.podIdentity",
                        "kube2iam needs the nodes' role, but the spec has no Node instance group and no running node was found",
                    ));
                }
                (
                    ctx.node_roles
                        .iter()
                        .map(|(r, _)| ctx.role_arn(r))
                        .collect(),
                    ctx.node_roles.clone(),
                )
            }
            PodIdentityMode::Kiam => {
                let server_arn = match &pods.kiam_server_role_arn {
                    Some(arn) => arn.clone(),
                    None => {
                        let name = kiam_server_role_name(cluster);
                        add_kiam_server_role(state, ctx, &name, cluster, &mut errors, pods);
                        ctx.role_arn(&name)
                    }
                };
                summary.kiam_server_arn = Some(server_arn.clone());
                // The masters may assume exactly the server role.
                for (master, managed) in &ctx.master_roles {
                    state.role_policies.push(grant_policy(
                        master,
                        format!("kiam.{master}"),
                        assume_role_grant(&BTreeSet::from([server_arn.clone()])),
                        *managed,
                    ));
                }
                let server = pods
                    .kiam_server_role_arn
                    .is_none()
                    .then(|| (kiam_server_role_name(cluster), true));
                (vec![server_arn], server.into_iter().collect())
            }
        };
        let mut arns = BTreeSet::new();
        for role in &pods.roles {
            let name = app_role_name(&role.name, cluster);
            arns.insert(ctx.role_arn(&name));
            summary
                .app_roles
                .push((ctx.role_arn(&name), role.namespaces.clone()));
            push_pod_role(
                state,
                &name,
                assume_role_trust(&trusted),
                &role.policy_arns,
                statements_policy(&role.inline_policy),
                cluster,
            );
        }
        // The roles that assume the application roles may assume exactly those.
        for (role, managed) in granted_on {
            let policy_name = match pods.mode {
                PodIdentityMode::Kube2iam => format!("kube2iam.{role}"),
                PodIdentityMode::Kiam => role.clone(),
            };
            state.role_policies.push(grant_policy(
                &role,
                policy_name,
                assume_role_grant(&arns),
                managed,
            ));
        }
    }

    remove_stale_grants(spec, ctx, state);

    if let Some(k) = spec
        .kops136
        .as_ref()
        .filter(|_| spec.generation.generation == crate::spec::Generation::Kops136)
    {
        // kops 1.36 makes its own service-account roles and provider, in its own form.
        super::kops136::service_accounts::add(spec, k, ctx, state, &mut summary, &mut errors);
    } else if !spec.service_account_permissions.is_empty() {
        match &spec.service_account_issuer_discovery {
            Some(discovery) => match issuer_url(&discovery.discovery_store, spec.region.as_deref())
            {
                Ok(url) => add_irsa(spec, ctx, state, &url, &mut summary),
                Err(message) => errors.push(InputError::at(
                    discovery.location.clone(),
                    "spec.serviceAccountIssuerDiscovery.discoveryStore",
                    message,
                )),
            },
            None => errors.push(InputError::at(
                spec.location.clone(),
                "spec.serviceAccountIssuerDiscovery",
                "is required for spec.iam.serviceAccountExternalPermissions",
            )),
        }
    }

    check_unique_names(spec, state, &mut errors);
    if errors.is_empty() {
        Ok(summary)
    } else {
        Err(InputErrors(errors))
    }
}

/// A grant made for a pod-identity mode the spec no longer uses must go: kube2iam's on the
/// nodes' roles, kiam's on the masters'. An inline policy carries no tags, so it is known as
/// rolecall's by its name on a role rolecall manages, like `additional.<role>`; on a role
/// someone else owns rolecall never wrote one, so there is nothing to remove.
fn remove_stale_grants(spec: &ClusterSpec, ctx: &PodContext, state: &mut DesiredState) {
    let mode = spec.pod_identity.as_ref().map(|p| p.mode);
    let mut stale = Vec::new();
    if mode != Some(PodIdentityMode::Kube2iam) {
        stale.extend(ctx.node_roles.iter().map(|r| (r, "kube2iam")));
    }
    if mode != Some(PodIdentityMode::Kiam) {
        stale.extend(ctx.master_roles.iter().map(|r| (r, "kiam")));
    }
    for ((role, _), prefix) in stale.into_iter().filter(|((_, managed), _)| *managed) {
        state
            .role_policies
            .push(grant_policy(role, format!("{prefix}.{role}"), None, true));
    }
}

/// Two entries that come out as one IAM name (a `*` namespace and one named `wildcard`, or
/// two long names cut to the same 64 characters) would fight over one role.
fn check_unique_names(spec: &ClusterSpec, state: &DesiredState, errors: &mut Vec<InputError>) {
    let mut seen = BTreeSet::new();
    for role in &state.roles {
        if !seen.insert(role.name.as_str()) {
            errors.push(InputError::at(
                spec.location.clone(),
                "spec.iam",
                format!(
                    "two pod roles would both be named {:?}; rename one of them",
                    role.name
                ),
            ));
        }
    }
}

fn add_kiam_server_role(
    state: &mut DesiredState,
    ctx: &PodContext,
    name: &str,
    cluster: &str,
    errors: &mut Vec<InputError>,
    pods: &crate::spec::PodIdentity,
) {
    if ctx.master_roles.is_empty() {
        errors.push(InputError::at(
            pods.location.clone(),
            "spec.iam.podIdentity",
            "kiam's server role is trusted by the masters' role, but the spec has no Master instance group",
        ));
    }
    let masters: Vec<String> = ctx
        .master_roles
        .iter()
        .map(|(r, _)| ctx.role_arn(r))
        .collect();
    state.roles.push(DesiredRole {
        name: name.to_string(),
        path: "/".into(),
        trust_policy: assume_role_trust(&masters),
        tags: ownership_tags(cluster),
        managed_policies: None,
        permissions_boundary: None,
        owned_only: true,
        lifecycle: Lifecycle::Sync,
        external: false,
    });
}

fn grant_policy(
    role: &str,
    name: String,
    document: Option<String>,
    managed: bool,
) -> DesiredRolePolicy {
    DesiredRolePolicy {
        role: role.to_string(),
        name,
        document,
        // A role someone else owns is only checked: the plan shows what it lacks.
        lifecycle: if managed {
            Lifecycle::Sync
        } else {
            Lifecycle::ExistsAndWarnIfChanges
        },
        external: !managed,
    }
}

fn push_pod_role(
    state: &mut DesiredState,
    name: &str,
    trust_policy: String,
    policy_arns: &[String],
    inline: Option<String>,
    cluster: &str,
) {
    state.roles.push(DesiredRole {
        name: name.to_string(),
        path: "/".into(),
        trust_policy,
        tags: ownership_tags(cluster),
        managed_policies: Some(policy_arns.iter().cloned().collect()),
        permissions_boundary: None,
        owned_only: true,
        lifecycle: Lifecycle::Sync,
        external: false,
    });
    state.role_policies.push(DesiredRolePolicy {
        role: name.to_string(),
        name: name.to_string(),
        document: inline,
        lifecycle: Lifecycle::Sync,
        external: false,
    });
}

fn add_irsa(
    spec: &ClusterSpec,
    ctx: &PodContext,
    state: &mut DesiredState,
    url: &str,
    summary: &mut PodRoleSummary,
) {
    let discovery = spec
        .service_account_issuer_discovery
        .as_ref()
        .expect("checked by the caller");
    let issuer = url.trim_start_matches("https://");
    let provider_arn = format!(
        "{}:iam::{}:oidc-provider/{issuer}",
        ctx.arn_prefix, ctx.account_id
    );
    let mut audiences: BTreeSet<String> = BTreeSet::from([DEFAULT_AUDIENCE.to_string()]);
    audiences.extend(discovery.additional_audiences.iter().cloned());
    state.oidc_providers.push(DesiredOidcProvider {
        arn: provider_arn.clone(),
        url: url.to_string(),
        client_ids: audiences.clone(),
        tags: ownership_tags(&spec.name),
        thumbprints: Vec::new(),
        lifecycle: Lifecycle::Sync,
        external: false,
    });
    for sa in &spec.service_account_permissions {
        let name = service_account_role_name(&sa.name, &sa.namespace, &spec.name);
        let subject = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
        let sub_key = format!("{issuer}:sub");
        let aud_key = format!("{issuer}:aud");
        // Both the subject and the audience are checked; kops checks only the subject.
        let condition = if sa.namespace.contains('*') {
            json!({"StringLike": {sub_key: subject}, "StringEquals": {aud_key: audiences}})
        } else {
            json!({"StringEquals": {sub_key: subject, aud_key: audiences}})
        };
        let trust = pretty(&json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": provider_arn},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": condition
            }]
        }));
        summary
            .service_accounts
            .push((sa.namespace.clone(), sa.name.clone(), ctx.role_arn(&name)));
        push_pod_role(
            state,
            &name,
            trust,
            &sa.policy_arns,
            statements_policy(&sa.inline_policy),
            &spec.name,
        );
    }
}

#[cfg(test)]
mod tests;
