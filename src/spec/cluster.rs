//! The `Cluster` document: its name, cloud provider, state stores, `spec.iam`,
//! `spec.additionalPolicies`, etcd, subnets and networking, each checked in its own step.

use std::collections::BTreeMap;

use serde::de::IgnoredAny;

use super::later_releases;
use super::pod_roles;
use super::raw::{At, RawEtcdCluster, RawIam, RawIssuerDiscovery, RawSpec, RawSubnetEntry};
use super::statements::{self, policy_statements, ElementNames};
use super::validate::Checker;
use super::Chosen;
use super::{
    AdditionalPolicy, ClusterSpec, DnsType, EtcdCluster, EtcdMember, IamSettings, InstanceRole,
    PodIdentity, ServiceAccountPermission, SourceLocation,
};

/// The cluster named `name` (already checked to be present) with `spec`, from the document
/// at `doc_at`. Its value counts only when the document added no problem. The steps run in
/// the order of the errors the user sees.
pub(super) fn cluster_from(
    c: &mut Checker,
    name: Option<String>,
    spec: RawSpec,
    doc_at: SourceLocation,
) -> Option<ClusterSpec> {
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
        topology,
        kube_api_server,
        networking,
        service_account_issuer_discovery,
        role,
    } = spec;

    if let Some(name) = &name {
        check_dns_name(c, name, &doc_at);
    }
    check_cloud_provider(c, cloud_provider.as_ref(), &doc_at);
    if let Some(r) = &role {
        c.error(
            r,
            "spec.role",
            "belongs in an InstanceGroup, not in the Cluster",
        );
    }
    check_stores(
        c,
        [
            ("spec.configBase", &config_base),
            ("spec.configStore", &config_store),
            ("spec.keyStore", &key_store),
            ("spec.secretStore", &secret_store),
        ],
        &doc_at,
    );
    let iam = iam_from(c, iam, service_account_issuer_discovery.as_ref());
    let additional_policies = additional_policies_from(c, additional_policies.unwrap_or_default());
    let etcd_clusters = etcd_clusters_from(c, etcd_clusters.unwrap_or_default());
    let issuer_discovery = service_account_issuer_discovery
        .as_ref()
        .and_then(|d| pod_roles::issuer_discovery_from(c, d));
    let region = region_of(c, subnets.unwrap_or_default());
    let networking = networking.and_then(|n| networking_provider(c, &n));
    let dns_type = dns_type_of(c, topology.and_then(|t| t.dns).and_then(|d| d.kind));

    Some(ClusterSpec {
        name: name?,
        location: doc_at,
        config_base: config_base.map(|s| s.value),
        config_store: config_store.map(|s| s.value),
        key_store: key_store.map(|s| s.value),
        secret_store: secret_store.map(|s| s.value),
        iam: iam.settings,
        additional_policies,
        etcd_clusters,
        region,
        dns_zone: dns_zone.map(|z| z.value).filter(|z| !z.is_empty()),
        dns_type,
        networking,
        enable_bootstrap_auth_token: kube_api_server
            .and_then(|k| k.enable_bootstrap_auth_token)
            .map(|v| v.value)
            .unwrap_or(false),
        instance_groups: Vec::new(),
        skipped: Vec::new(),
        service_account_issuer_discovery: issuer_discovery,
        service_account_permissions: iam.service_accounts,
        pod_identity: iam.pod_identity,
        // Set once every document has been read.
        generation: Chosen::default(),
        kops136: None,
    })
}

/// `spec.topology.dns.type`: exactly `Public` or `Private` as kops 1.10 compares it (any
/// other value is its `Unknown DNS type`); absent is Public.
fn dns_type_of(c: &mut Checker, kind: Option<At<String>>) -> DnsType {
    let Some(kind) = kind else {
        return DnsType::Public;
    };
    match kind.value.as_str() {
        "Public" => DnsType::Public,
        "Private" => DnsType::Private,
        // kops 1.36: no DNS at all; the settings say so (`dns_none`), the zone is not used.
        "None" if c.kops136 => DnsType::Public,
        other => {
            let message = format!("unknown DNS type {other:?}: use Public or Private");
            c.error(&kind, "spec.topology.dns.type", message);
            DnsType::Public
        }
    }
}

/// IAM names are built from the cluster name, so it must be a DNS-style name.
fn check_dns_name(c: &mut Checker, name: &str, doc_at: &SourceLocation) {
    let ok = name
        .chars()
        .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-' || ch == '.')
        && !name.starts_with(['.', '-'])
        && !name.ends_with(['.', '-']);
    if !ok {
        c.error_at(
            doc_at,
            "metadata.name",
            format!(
                "{name:?} is not a valid cluster name: use lower-case letters, digits, '-' and '.'"
            ),
        );
    }
}

/// `spec.cloudProvider`: required, and aws.
fn check_cloud_provider(c: &mut Checker, provider: Option<&At<String>>, doc_at: &SourceLocation) {
    match provider {
        Some(p) if p.value == "aws" => {}
        Some(p) => c.error(
            p,
            "spec.cloudProvider",
            format!(
                "unsupported cloud provider {:?}; rolecall manages only aws",
                p.value
            ),
        ),
        None => c.error_at(
            doc_at,
            "spec.cloudProvider",
            "is required but missing; set it to aws",
        ),
    }
}

/// The state stores, by field: each an S3 path, and the config store's root given.
fn check_stores(
    c: &mut Checker,
    stores: [(&str, &Option<At<String>>); 4],
    doc_at: &SourceLocation,
) {
    for (field, store) in stores {
        if let Some(s) = store {
            check_store(c, s, field);
        }
    }
    let [(_, config_base), (_, config_store), ..] = stores;
    if config_base.is_none() && config_store.is_none() {
        c.error_at(
            doc_at,
            "spec.configBase",
            "is required but missing (the S3 path of the kops state store, such as s3://bucket/cluster)",
        );
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

/// What the Cluster's `spec.iam` gives.
#[derive(Default)]
struct ClusterIam {
    settings: IamSettings,
    service_accounts: Vec<ServiceAccountPermission>,
    pod_identity: Option<PodIdentity>,
}

/// `spec.iam`: the policy settings and the pod roles. IRSA roles need the OIDC provider of
/// `discovery`.
fn iam_from(
    c: &mut Checker,
    iam: Option<RawIam>,
    discovery: Option<&At<RawIssuerDiscovery>>,
) -> ClusterIam {
    let Some(raw_iam) = iam else {
        return ClusterIam::default();
    };
    let mut service_accounts = Vec::new();
    if let Some(entries) = &raw_iam.service_account_external_permissions {
        service_accounts = pod_roles::service_accounts(c, entries);
        if let Some(first) = entries.first() {
            pod_roles::check_oidc_provider(c, first, discovery);
        }
    }
    let pod_identity = raw_iam
        .pod_identity
        .as_ref()
        .and_then(|p| pod_roles::pod_identity_from(c, p));
    if let Some(p) = &raw_iam.profile {
        c.error(
            p,
            "spec.iam.profile",
            "belongs in an InstanceGroup's spec.iam, not in the Cluster",
        );
    }
    ClusterIam {
        settings: IamSettings {
            // kops defaults `legacy` to false once `spec.iam` is given.
            legacy: raw_iam.legacy.map(|v| v.value).unwrap_or(false),
            allow_container_registry: raw_iam
                .allow_container_registry
                .map(|v| v.value)
                .unwrap_or(false),
        },
        service_accounts,
        pod_identity,
    }
}

/// `spec.additionalPolicies`: a policy by role key, each a JSON array of statements.
fn additional_policies_from(
    c: &mut Checker,
    raw: BTreeMap<String, At<String>>,
) -> BTreeMap<InstanceRole, AdditionalPolicy> {
    let mut additional = BTreeMap::new();
    for (key, value) in raw {
        let field = format!("spec.additionalPolicies.{key}");
        let refused_by_kops_110 = !c.kops136 && later_releases::refuses("Cluster", &field, None);
        let role = InstanceRole::from_policy_key(&key).filter(|_| !refused_by_kops_110);
        let Some(role) = role else {
            if refused_by_kops_110 {
                continue;
            }
            c.error(
                &value,
                &field,
                format!("unknown role key {key:?}; valid keys are master, node and bastion"),
            );
            continue;
        };
        if c.kops136 && additional.contains_key(&role) {
            c.error(
                &value,
                &field,
                "names the control plane a second time: kops reads master as control-plane, so give only one of them",
            );
            continue;
        }
        if let Some(statements) = policy_statements(c, &value, &field, ElementNames::Kops) {
            additional.insert(
                role,
                AdditionalPolicy {
                    text: value.value.clone(),
                    statements,
                    location: c.loc(&value),
                },
            );
        }
    }
    additional
}

/// `spec.etcdClusters`: the members' KMS keys and the backup stores are checked.
fn etcd_clusters_from(c: &mut Checker, raw: Vec<RawEtcdCluster>) -> Vec<EtcdCluster> {
    let mut etcd = Vec::new();
    for (i, cluster) in raw.into_iter().enumerate() {
        let mut members = Vec::new();
        for (j, m) in cluster
            .etcd_members
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            let field = format!("spec.etcdClusters[{i}].etcdMembers[{j}].kmsKeyId");
            if let Some(k) = &m.kms_key_id {
                statements::check_kms_key_id(c, k, &field);
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
                c,
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
    etcd
}

/// The region all subnets' zones lie in: `us-east-1a` is in `us-east-1`.
fn region_of(c: &mut Checker, subnets: Vec<RawSubnetEntry>) -> Option<String> {
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

/// The networking provider: the one key under `spec.networking` (`calico`, `kubenet`...).
fn networking_provider(c: &mut Checker, n: &At<BTreeMap<String, IgnoredAny>>) -> Option<String> {
    let keys: Vec<&String> = n.value.keys().collect();
    match keys.as_slice() {
        [] => None,
        [one] => Some((*one).clone()),
        many => {
            let names: Vec<&str> = many.iter().map(|s| s.as_str()).collect();
            c.error(
                n,
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
