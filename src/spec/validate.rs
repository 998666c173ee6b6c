//! Turns parsed documents into a [`ClusterSpec`], collecting every problem with its place.

use std::collections::BTreeMap;
use std::path::Path;

use super::kube_names;
use super::raw::{
    At, RawDocument, RawIssuerDiscovery, RawPodIdentity, RawServiceAccountPermission, RawSpec,
};
use super::statements::{self, ElementNames};
use super::{
    AdditionalPolicy, ClusterSpec, EtcdCluster, EtcdMember, IamSettings, InputError, InputErrors,
    InstanceGroup, InstanceRole, IssuerDiscovery, ParsedDocument, PodIdentity, PodIdentityMode,
    PodRole, ServiceAccountPermission, SourceLocation,
};

const API_VERSIONS: [&str; 2] = ["kops.k8s.io/v1alpha2", "kops/v1alpha2"];

/// Collects problems so that the user sees all of them at once.
pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    /// The file's text, to place problems inside a value (a policy's statements).
    pub(super) source: &'a str,
    pub(super) errors: &'a mut Vec<InputError>,
}

impl Checker<'_> {
    pub(super) fn loc<T>(&self, v: &At<T>) -> SourceLocation {
        SourceLocation::new(self.file, &v.referenced)
    }

    pub(super) fn error<T>(&mut self, at: &At<T>, field: &str, message: impl Into<String>) {
        let loc = self.loc(at);
        self.errors.push(InputError::at(loc, field, message));
    }

    /// A problem reported at a place rather than at a value, such as a missing field.
    fn error_at(&mut self, at: &SourceLocation, field: &str, message: impl Into<String>) {
        self.errors.push(InputError::at(at.clone(), field, message));
    }

    /// A required string: present and not blank.
    fn required(
        &mut self,
        v: &Option<At<String>>,
        field: &str,
        doc_at: &SourceLocation,
    ) -> Option<String> {
        self.required_or(v, field, doc_at, "is required but missing")
    }

    /// A required string, with the message to give when it is missing at `at`.
    fn required_or(
        &mut self,
        v: &Option<At<String>>,
        field: &str,
        at: &SourceLocation,
        missing: &str,
    ) -> Option<String> {
        match v {
            Some(s) if !s.value.trim().is_empty() => Some(s.value.clone()),
            Some(s) => {
                self.error(s, field, "must not be empty");
                None
            }
            None => {
                self.error_at(at, field, missing);
                None
            }
        }
    }
}

/// Validates the documents of all input files together.
pub fn validate_documents(docs: Vec<ParsedDocument>) -> Result<ClusterSpec, InputErrors> {
    let mut errors = Vec::new();
    let mut clusters = Vec::new();
    let mut groups = Vec::new();

    for doc in docs {
        let file = doc.file.clone();
        let mut c = Checker {
            file: &file,
            source: &doc.source,
            errors: &mut errors,
        };
        let Some(kind) = doc.raw.kind.as_ref() else {
            c.errors.push(InputError::in_file(
                &file,
                Some("kind".into()),
                "a document has no kind; expected Cluster or InstanceGroup",
            ));
            continue;
        };
        let doc_at = c.loc(kind);
        match &doc.raw.api_version {
            Some(v) if API_VERSIONS.contains(&v.value.as_str()) => {}
            Some(v) => c.error(
                v,
                "apiVersion",
                format!(
                    "unsupported apiVersion {:?}; expected kops.k8s.io/v1alpha2",
                    v.value
                ),
            ),
            None => c.errors.push(InputError::at(
                doc_at.clone(),
                "apiVersion",
                "is required but missing",
            )),
        }
        match kind.value.as_str() {
            "Cluster" => clusters.push((file.clone(), doc.source, doc_at, doc.raw)),
            "InstanceGroup" => groups.push((file.clone(), doc.source, doc_at, doc.raw)),
            other => c.error(
                kind,
                "kind",
                format!("unsupported kind {other:?}; expected Cluster or InstanceGroup"),
            ),
        }
    }

    let cluster = match clusters.len() {
        1 => {
            let (file, source, at, raw) = clusters.pop().expect("one cluster");
            cluster_from(&file, &source, at, raw, &mut errors)
        }
        0 => {
            errors.push(InputError {
                file: None,
                location: None,
                field: Some("kind".into()),
                message: "no Cluster document in the input; one is required".into(),
            });
            None
        }
        n => {
            let places: Vec<String> = clusters
                .iter()
                .map(|(_, _, at, _)| at.to_string())
                .collect();
            errors.push(InputError {
                file: None,
                location: None,
                field: Some("kind".into()),
                message: format!(
                    "{n} Cluster documents in the input ({}); exactly one is required",
                    places.join(", ")
                ),
            });
            None
        }
    };

    let group_documents = groups.len();
    let mut instance_groups = Vec::new();
    for (file, source, at, raw) in groups {
        if let Some(ig) = instance_group_from(&file, &source, at, raw, &mut errors) {
            instance_groups.push(ig);
        }
    }
    check_group_names(&instance_groups, &mut errors);
    if group_documents == 0 && cluster.is_some() {
        errors.push(InputError {
            file: None,
            location: None,
            field: Some("kind".into()),
            message: "no InstanceGroup documents in the input; a cluster needs at least one".into(),
        });
    }

    match cluster {
        Some(mut cluster) if errors.is_empty() => {
            cluster.instance_groups = instance_groups;
            Ok(cluster)
        }
        _ => Err(InputErrors(errors)),
    }
}

fn check_group_names(groups: &[InstanceGroup], errors: &mut Vec<InputError>) {
    let mut seen: BTreeMap<&str, &SourceLocation> = BTreeMap::new();
    for ig in groups {
        if let Some(first) = seen.insert(&ig.name, &ig.location) {
            errors.push(InputError::at(
                ig.location.clone(),
                "metadata.name",
                format!(
                    "instance group {:?} is defined twice (first at {first})",
                    ig.name
                ),
            ));
        }
    }
}

fn cluster_from(
    file: &Path,
    source: &str,
    doc_at: SourceLocation,
    raw: RawDocument,
    errors: &mut Vec<InputError>,
) -> Option<ClusterSpec> {
    let before = errors.len();
    let mut c = Checker {
        file,
        source,
        errors,
    };
    let name = c.required(&raw.metadata.and_then(|m| m.name), "metadata.name", &doc_at);
    let spec = raw.spec.unwrap_or_default();
    let RawSpec {
        cloud_provider,
        config_base,
        config_store,
        key_store,
        secret_store,
        iam,
        additional_policies,
        etcd_clusters,
        subnets,
        dns_zone,
        kube_api_server,
        networking,
        service_account_issuer_discovery,
        role,
    } = spec;

    if let Some(name) = &name {
        check_dns_name(&mut c, name, &doc_at);
    }
    match &cloud_provider {
        Some(p) if p.value == "aws" => {}
        Some(p) => c.error(
            p,
            "spec.cloudProvider",
            format!(
                "unsupported cloud provider {:?}; rolecall manages only aws",
                p.value
            ),
        ),
        None => c.errors.push(InputError::at(
            doc_at.clone(),
            "spec.cloudProvider",
            "is required but missing; set it to aws",
        )),
    }
    if let Some(r) = &role {
        c.error(
            r,
            "spec.role",
            "belongs in an InstanceGroup, not in the Cluster",
        );
    }

    for (field, store) in [
        ("spec.configBase", &config_base),
        ("spec.configStore", &config_store),
        ("spec.keyStore", &key_store),
        ("spec.secretStore", &secret_store),
    ] {
        if let Some(s) = store {
            check_store(&mut c, s, field);
        }
    }
    if config_base.is_none() && config_store.is_none() {
        c.errors.push(InputError::at(
            doc_at.clone(),
            "spec.configBase",
            "is required but missing (the S3 path of the kops state store, such as s3://bucket/cluster)",
        ));
    }

    let mut service_account_permissions = Vec::new();
    let mut pod_identity = None;
    let iam_settings = match iam {
        None => IamSettings::default(),
        Some(raw_iam) => {
            if let Some(entries) = &raw_iam.service_account_external_permissions {
                service_account_permissions = service_accounts(&mut c, entries);
                if let Some(first) = entries.first() {
                    check_oidc_provider(&mut c, first, service_account_issuer_discovery.as_ref());
                }
            }
            pod_identity = raw_iam
                .pod_identity
                .as_ref()
                .and_then(|p| pod_identity_from(&mut c, p));
            if let Some(p) = &raw_iam.profile {
                c.error(
                    p,
                    "spec.iam.profile",
                    "belongs in an InstanceGroup's spec.iam, not in the Cluster",
                );
            }
            IamSettings {
                // kops defaults `legacy` to false once `spec.iam` is given.
                legacy: raw_iam.legacy.map(|v| v.value).unwrap_or(false),
                allow_container_registry: raw_iam
                    .allow_container_registry
                    .map(|v| v.value)
                    .unwrap_or(false),
            }
        }
    };

    let mut additional = BTreeMap::new();
    for (key, value) in additional_policies.unwrap_or_default() {
        let field = format!("spec.additionalPolicies.{key}");
        let Some(role) = InstanceRole::from_policy_key(&key) else {
            c.error(
                &value,
                &field,
                format!("unknown role key {key:?}; valid keys are master, node and bastion"),
            );
            continue;
        };
        if let Some(policy) = additional_policy(&mut c, &value, &field) {
            additional.insert(role, policy);
        }
    }

    let mut etcd = Vec::new();
    for (i, cluster) in etcd_clusters.unwrap_or_default().into_iter().enumerate() {
        let mut members = Vec::new();
        for (j, m) in cluster
            .etcd_members
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let field = format!("spec.etcdClusters[{i}].etcdMembers[{j}].kmsKeyId");
            if let Some(k) = &m.kms_key_id {
                statements::check_kms_key_id(&mut c, k, &field);
            }
            members.push(EtcdMember {
                name: m.name.map(|n| n.value).unwrap_or_default(),
                kms_key_id: m.kms_key_id.map(|k| k.value),
                encrypted_volume: m.encrypted_volume.map(|v| v.value).unwrap_or(false),
            });
        }
        let backup_store = cluster.backups.and_then(|b| b.backup_store);
        if let Some(store) = &backup_store {
            check_store(
                &mut c,
                store,
                &format!("spec.etcdClusters[{i}].backups.backupStore"),
            );
        }
        etcd.push(EtcdCluster {
            name: cluster.name.map(|n| n.value).unwrap_or_default(),
            members,
            backup_store: backup_store.map(|s| s.value),
        });
    }

    let issuer_discovery = service_account_issuer_discovery
        .as_ref()
        .and_then(|d| issuer_discovery_from(&mut c, d));

    let region = region_of(&mut c, subnets.unwrap_or_default());

    let networking = match networking {
        None => None,
        Some(n) => {
            let keys: Vec<&String> = n.value.keys().collect();
            match keys.as_slice() {
                [] => None,
                [one] => Some((*one).clone()),
                many => {
                    let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
                    c.error(
                        &n,
                        "spec.networking",
                        format!(
                            "names {} providers ({}); kops allows one",
                            many.len(),
                            names.join(", ")
                        ),
                    );
                    None
                }
            }
        }
    };

    if c.errors.len() > before {
        return None;
    }
    Some(ClusterSpec {
        name: name?,
        location: doc_at,
        config_base: config_base.map(|s| s.value),
        config_store: config_store.map(|s| s.value),
        key_store: key_store.map(|s| s.value),
        secret_store: secret_store.map(|s| s.value),
        iam: iam_settings,
        additional_policies: additional,
        etcd_clusters: etcd,
        region,
        dns_zone: dns_zone.map(|z| z.value).filter(|z| !z.is_empty()),
        networking,
        enable_bootstrap_auth_token: kube_api_server
            .and_then(|k| k.enable_bootstrap_auth_token)
            .map(|v| v.value)
            .unwrap_or(false),
        instance_groups: Vec::new(),
        service_account_issuer_discovery: issuer_discovery,
        service_account_permissions,
        pod_identity,
    })
}

/// IAM names are built from the cluster name, so it must be a DNS-style name.
fn check_dns_name(c: &mut Checker, name: &str, doc_at: &SourceLocation) {
    let ok = name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.')
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-']);
    if !ok {
        c.errors.push(InputError::at(
            doc_at.clone(),
            "metadata.name",
            format!(
                "{name:?} is not a valid cluster name: use lower-case letters, digits, '-' and '.'"
            ),
        ));
    }
}

/// kops reads its state from S3 (or memfs in tests); any other scheme cannot be granted in IAM.
fn check_store(c: &mut Checker, store: &At<String>, field: &str) {
    let v = store.value.as_str();
    if let Some(rest) = v.strip_prefix("s3://") {
        if rest.split('/').next().unwrap_or("").is_empty() {
            c.error(
                store,
                field,
                format!("{v:?} names no bucket; expected s3://bucket/path"),
            );
        }
    } else if !v.starts_with("memfs://") {
        c.error(
            store,
            field,
            format!(
                "{v:?} is not an S3 path (s3://bucket/path); only S3 stores can be granted in IAM"
            ),
        );
    }
}

/// The region all subnets' zones lie in: `us-east-1a` is in `us-east-1`.
fn region_of(c: &mut Checker, subnets: Vec<super::raw::RawSubnetEntry>) -> Option<String> {
    let mut region: Option<(String, At<String>)> = None;
    for (i, s) in subnets.into_iter().enumerate() {
        let Some(zone) = s.0.zone else { continue };
        let field = format!("spec.subnets[{i}].zone");
        let z = zone.value.trim();
        let r = z.trim_end_matches(|ch: char| ch.is_ascii_lowercase());
        let valid =
            !z.is_empty() && r.len() < z.len() && r.ends_with(|ch: char| ch.is_ascii_digit());
        if !valid {
            c.error(
                &zone,
                &field,
                format!("{z:?} is not an availability zone such as us-east-1a"),
            );
            continue;
        }
        match &region {
            None => region = Some((r.to_string(), zone.clone())),
            Some((first, first_zone)) if first != r => {
                let first_at = c.loc(first_zone);
                c.error(
                    &zone,
                    &field,
                    format!("zone {z:?} is in region {r}, but the zone at {first_at} is in {first}; a cluster lies in one region"),
                );
            }
            Some(_) => {}
        }
    }
    region.map(|(r, _)| r)
}

fn additional_policy(c: &mut Checker, value: &At<String>, field: &str) -> Option<AdditionalPolicy> {
    let statements = policy_statements(c, value, field, ElementNames::Kops)?;
    Some(AdditionalPolicy {
        text: value.value.clone(),
        statements,
        location: c.loc(value),
    })
}

/// The statements of a policy written as a JSON array in a YAML string, as kops takes them
/// in `spec.additionalPolicies` and `inlinePolicy`: a non-empty array of statements that
/// IAM's grammar accepts in an identity policy, with element names read as `names` says.
fn policy_statements(
    c: &mut Checker,
    value: &At<String>,
    field: &str,
    names: ElementNames,
) -> Option<Vec<serde_json::Value>> {
    let parsed: serde_json::Value = match serde_json::from_str(&value.value) {
        Ok(v) => v,
        Err(e) => {
            c.error(
                value,
                field,
                format!(
                    "is not valid JSON: {} at line {} column {} of the policy",
                    strip_serde_position(&e),
                    e.line(),
                    e.column()
                ),
            );
            return None;
        }
    };
    let serde_json::Value::Array(statements) = parsed else {
        c.error(
            value,
            field,
            "must be a JSON array of policy statements, such as [{\"Effect\": \"Allow\", ...}]",
        );
        return None;
    };
    if statements.is_empty() {
        c.error(
            value,
            field,
            "is an empty list; IAM rejects a policy with no statements. Remove the key to delete the policy",
        );
        return None;
    }
    statements::check_statements(c, value, field, &statements, names).then_some(statements)
}

/// serde_json appends "at line L column C" to its messages; the caller states the place itself.
fn strip_serde_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// `spec.serviceAccountIssuerDiscovery`. Its location is that of `discoveryStore`, the value
/// later checks (the bucket's region) concern.
fn issuer_discovery_from(c: &mut Checker, raw: &At<RawIssuerDiscovery>) -> Option<IssuerDiscovery> {
    const FIELD: &str = "spec.serviceAccountIssuerDiscovery";
    let block_at = c.loc(raw);
    let before = c.errors.len();
    let RawIssuerDiscovery {
        discovery_store,
        enable_aws_oidc_provider,
        additional_audiences,
    } = &raw.value;
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
    (c.errors.len() == before).then(|| IssuerDiscovery {
        discovery_store: store_at.value.clone(),
        enable_aws_oidc_provider: enable_aws_oidc_provider.as_ref().is_some_and(|v| v.value),
        additional_audiences: audiences,
        location: c.loc(store_at),
    })
}

/// The OIDC documents are served from S3 or from a web server the user runs.
fn check_discovery_store(c: &mut Checker, store: &At<String>, field: &str) {
    let v = store.value.as_str();
    let (host, expected) = if let Some(rest) = v.strip_prefix("s3://") {
        (rest, "names no bucket; expected s3://bucket/path")
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
fn check_oidc_provider(
    c: &mut Checker,
    first: &At<RawServiceAccountPermission>,
    discovery: Option<&At<RawIssuerDiscovery>>,
) {
    const FIELD: &str = "spec.iam.serviceAccountExternalPermissions";
    let message = match discovery.map(|d| &d.value.enable_aws_oidc_provider) {
        None => "requires spec.serviceAccountIssuerDiscovery with enableAWSOIDCProvider: true; the spec has no serviceAccountIssuerDiscovery".to_string(),
        Some(None) => "requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is not set".to_string(),
        Some(Some(enabled)) if !enabled.value => format!(
            "requires spec.serviceAccountIssuerDiscovery.enableAWSOIDCProvider: true; it is false at {}",
            c.loc(enabled)
        ),
        Some(Some(_)) => return,
    };
    c.error(first, FIELD, message);
}

/// `spec.iam.serviceAccountExternalPermissions`, kops's IRSA roles.
fn service_accounts(
    c: &mut Checker,
    entries: &[At<RawServiceAccountPermission>],
) -> Vec<ServiceAccountPermission> {
    let mut permissions = Vec::new();
    let mut seen: BTreeMap<(String, String), SourceLocation> = BTreeMap::new();
    for (i, entry) in entries.iter().enumerate() {
        let at = c.loc(entry);
        let field = format!("spec.iam.serviceAccountExternalPermissions[{i}]");
        let RawServiceAccountPermission {
            name,
            namespace,
            aws,
        } = &entry.value;
        let name_field = format!("{field}.name");
        let mut name_value = c.required(name, &name_field, &at);
        if let (Some(n), Some(raw_name)) = (&name_value, name) {
            if n.contains('*') {
                c.error(
                    raw_name,
                    &name_field,
                    format!("{n:?} contains *; kops allows wildcards in the namespace, not in the service account's name"),
                );
                name_value = None;
            } else if let Some(message) = kube_names::service_account_name_error(n) {
                c.error(raw_name, &name_field, message);
                name_value = None;
            }
        }
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
        let (Some(name), Some(namespace)) = (name_value, namespace_value) else {
            continue;
        };
        if let Some(first) = seen.get(&(name.clone(), namespace.clone())) {
            c.error(
                entry,
                &field,
                format!("service account {namespace}/{name} is listed twice (first at {first})"),
            );
            continue;
        }
        seen.insert((name.clone(), namespace.clone()), at.clone());
        if let Some((policy_arns, inline_policy)) = grants {
            permissions.push(ServiceAccountPermission {
                name,
                namespace,
                policy_arns,
                inline_policy,
                location: at,
            });
        }
    }
    permissions
}

/// `spec.iam.podIdentity`: kube2iam or kiam and the application roles they hand out.
fn pod_identity_from(c: &mut Checker, raw: &At<RawPodIdentity>) -> Option<PodIdentity> {
    const FIELD: &str = "spec.iam.podIdentity";
    let at = c.loc(raw);
    let before = c.errors.len();
    let RawPodIdentity {
        mode,
        kiam_server_role_arn,
        roles,
    } = &raw.value;
    let mode_field = format!("{FIELD}.mode");
    let mode = match mode {
        None => {
            c.error_at(
                &at,
                &mode_field,
                "is required but missing (kube2iam or kiam)",
            );
            None
        }
        Some(m) => match m.value.as_str() {
            "kube2iam" => Some(PodIdentityMode::Kube2iam),
            "kiam" => Some(PodIdentityMode::Kiam),
            other => {
                c.error(
                    m,
                    &mode_field,
                    format!("unknown mode {other:?}; valid modes are kube2iam and kiam"),
                );
                None
            }
        },
    };
    if let Some(arn) = kiam_server_role_arn {
        let field = format!("{FIELD}.kiamServerRoleARN");
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

    let mut pod_roles = Vec::new();
    let mut seen: BTreeMap<String, SourceLocation> = BTreeMap::new();
    for (i, role) in roles.iter().flatten().enumerate() {
        let role_at = c.loc(role);
        let field = format!("{FIELD}.roles[{i}]");
        let name_field = format!("{field}.name");
        let raw_role = &role.value;
        let mut name = c.required(&raw_role.name, &name_field, &role_at);
        if let (Some(n), Some(raw_name)) = (&name, &raw_role.name) {
            if !n.chars().all(is_role_name_char) {
                c.error(
                    raw_name,
                    &name_field,
                    format!("{n:?} is not a valid IAM role name: use letters, digits and +=,.@_-"),
                );
                name = None;
            } else if let Some(first) = seen.get(n) {
                c.error(
                    raw_name,
                    &name_field,
                    format!("pod role {n:?} is defined twice (first at {first})"),
                );
                name = None;
            } else {
                seen.insert(n.clone(), c.loc(raw_name));
            }
        }
        let namespaces_field = format!("{field}.namespaces");
        let mut namespaces = Vec::new();
        match &raw_role.namespaces {
            None => c.error_at(
                &role_at,
                &namespaces_field,
                "is required but missing; list the namespaces whose pods may use the role",
            ),
            Some(list) if list.is_empty() => c.error_at(
                &role_at,
                &namespaces_field,
                "is empty; list at least one namespace whose pods may use the role",
            ),
            Some(list) => {
                for (j, ns) in list.iter().enumerate() {
                    let ns_field = format!("{namespaces_field}[{j}]");
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
        let grants = role_grants(
            c,
            &raw_role.policy_arns,
            &raw_role.inline_policy,
            &role_at,
            &field,
        );
        if let (Some(name), Some((policy_arns, inline_policy))) = (name, grants) {
            pod_roles.push(PodRole {
                name,
                namespaces,
                policy_arns,
                inline_policy,
                location: role_at,
            });
        }
    }
    if c.errors.len() > before {
        return None;
    }
    Some(PodIdentity {
        mode: mode?,
        kiam_server_role_arn: kiam_server_role_arn.as_ref().map(|a| a.value.clone()),
        roles: pod_roles,
        location: at,
    })
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
    let before = c.errors.len();
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
    (c.errors.len() == before).then_some((arns, statements))
}

fn instance_group_from(
    file: &Path,
    source: &str,
    doc_at: SourceLocation,
    raw: RawDocument,
    errors: &mut Vec<InputError>,
) -> Option<InstanceGroup> {
    let before = errors.len();
    let mut c = Checker {
        file,
        source,
        errors,
    };
    let name = c.required(&raw.metadata.and_then(|m| m.name), "metadata.name", &doc_at);
    let spec = raw.spec.unwrap_or_default();
    let role = match &spec.role {
        Some(r) => match InstanceRole::from_spec_name(&r.value) {
            Some(role) => Some(role),
            None => {
                c.error(
                    r,
                    "spec.role",
                    format!("unknown instance group role {:?}; valid roles are Master, Node and Bastion", r.value),
                );
                None
            }
        },
        None => {
            c.errors.push(InputError::at(
                doc_at.clone(),
                "spec.role",
                "is required but missing (Master, Node or Bastion)",
            ));
            None
        }
    };
    let iam = spec.iam.unwrap_or_default();
    if let Some(first) = iam
        .service_account_external_permissions
        .as_ref()
        .and_then(|p| p.first())
    {
        c.error(
            first,
            "spec.iam.serviceAccountExternalPermissions",
            "belongs in the Cluster's spec.iam, not in an InstanceGroup",
        );
    }
    if let Some(p) = &iam.pod_identity {
        c.error(
            p,
            "spec.iam.podIdentity",
            "belongs in the Cluster's spec.iam, not in an InstanceGroup",
        );
    }
    if let Some(d) = &spec.service_account_issuer_discovery {
        c.error(
            d,
            "spec.serviceAccountIssuerDiscovery",
            "belongs in the Cluster, not in an InstanceGroup",
        );
    }
    let profile = iam.profile;
    if let Some(p) = &profile {
        if !is_instance_profile_arn(&p.value) {
            c.error(
                p,
                "spec.iam.profile",
                format!(
                    "{:?} is not an instance profile ARN such as arn:aws:iam::123456789012:instance-profile/name",
                    p.value
                ),
            );
        }
    }
    if c.errors.len() > before {
        return None;
    }
    Some(InstanceGroup {
        name: name?,
        role: role?,
        profile: profile.map(|p| p.value),
        location: doc_at,
    })
}

/// `arn:<partition>:iam::<12 digits>:instance-profile/<path/>name`.
pub fn is_instance_profile_arn(s: &str) -> bool {
    is_iam_arn(s, "instance-profile", false)
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`.
pub fn is_role_arn(s: &str) -> bool {
    is_iam_arn(s, "role", false)
}

/// A managed policy: `arn:<partition>:iam::<12 digits or aws>:policy/<path/>name`.
pub fn is_managed_policy_arn(s: &str) -> bool {
    is_iam_arn(s, "policy", true)
}

/// `arn:<partition>:iam::<account>:<kind>/<path/>name`; `aws` is the account of the
/// policies AWS manages.
fn is_iam_arn(s: &str, kind: &str, aws_account: bool) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let account_ok = (account.len() == 12 && account.chars().all(|ch| ch.is_ascii_digit()))
        || (aws_account && *account == "aws");
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "iam"
        && region.is_empty()
        && account_ok
        && resource
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| {
                !name.is_empty() && !name.ends_with('/') && !name.contains(char::is_whitespace)
            })
}
