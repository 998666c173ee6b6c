//! Turns parsed documents into a [`ClusterSpec`], collecting every problem with its place.

use std::collections::BTreeMap;
use std::path::Path;

use super::raw::{At, RawDocument, RawSpec};
use super::{
    AdditionalPolicy, ClusterSpec, EtcdCluster, EtcdMember, IamSettings, InputError, InputErrors,
    InstanceGroup, InstanceRole, ParsedDocument, SourceLocation,
};

const API_VERSIONS: [&str; 2] = ["kops.k8s.io/v1alpha2", "kops/v1alpha2"];

/// Collects problems so that the user sees all of them at once.
struct Checker<'a> {
    file: &'a Path,
    errors: &'a mut Vec<InputError>,
}

impl Checker<'_> {
    fn loc<T>(&self, v: &At<T>) -> SourceLocation {
        SourceLocation::new(self.file, &v.referenced)
    }

    fn error<T>(&mut self, at: &At<T>, field: &str, message: impl Into<String>) {
        let loc = self.loc(at);
        self.errors.push(InputError::at(loc, field, message));
    }

    /// A required string: present and not blank.
    fn required(
        &mut self,
        v: &Option<At<String>>,
        field: &str,
        doc_at: &SourceLocation,
    ) -> Option<String> {
        match v {
            Some(s) if !s.value.trim().is_empty() => Some(s.value.clone()),
            Some(s) => {
                self.error(s, field, "must not be empty");
                None
            }
            None => {
                self.errors.push(InputError::at(
                    doc_at.clone(),
                    field,
                    "is required but missing",
                ));
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
            "Cluster" => clusters.push((file.clone(), doc_at, doc.raw)),
            "InstanceGroup" => groups.push((file.clone(), doc_at, doc.raw)),
            other => c.error(
                kind,
                "kind",
                format!("unsupported kind {other:?}; expected Cluster or InstanceGroup"),
            ),
        }
    }

    let cluster = match clusters.len() {
        1 => {
            let (file, at, raw) = clusters.pop().expect("one cluster");
            cluster_from(&file, at, raw, &mut errors)
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
            let places: Vec<String> = clusters.iter().map(|(_, at, _)| at.to_string()).collect();
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
    for (file, at, raw) in groups {
        if let Some(ig) = instance_group_from(&file, at, raw, &mut errors) {
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
    doc_at: SourceLocation,
    raw: RawDocument,
    errors: &mut Vec<InputError>,
) -> Option<ClusterSpec> {
    let before = errors.len();
    let mut c = Checker { file, errors };
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

    let iam_settings = match iam {
        None => IamSettings::default(),
        Some(raw_iam) => {
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
                if k.value.trim().is_empty() {
                    c.error(k, &field, "must not be empty when given");
                }
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
        service_account_issuer_discovery: None,
        service_account_permissions: Vec::new(),
        pod_identity: None,
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
    let text = value.value.clone();
    let parsed: serde_json::Value = match serde_json::from_str(&text) {
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
    let mut ok = true;
    for (i, st) in statements.iter().enumerate() {
        let Some(obj) = st.as_object() else {
            c.error(value, field, format!("statement {i} is not a JSON object"));
            ok = false;
            continue;
        };
        match obj.get("Effect").and_then(|e| e.as_str()) {
            Some("Allow") | Some("Deny") => {}
            Some(other) => {
                c.error(
                    value,
                    field,
                    format!("statement {i} has Effect {other:?}; it must be \"Allow\" or \"Deny\""),
                );
                ok = false;
            }
            None => {
                c.error(
                    value,
                    field,
                    format!("statement {i} has no Effect; it must be \"Allow\" or \"Deny\""),
                );
                ok = false;
            }
        }
    }
    ok.then(|| AdditionalPolicy {
        text,
        statements,
        location: c.loc(value),
    })
}

/// serde_json appends "at line L column C" to its messages; the caller states the place itself.
fn strip_serde_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn instance_group_from(
    file: &Path,
    doc_at: SourceLocation,
    raw: RawDocument,
    errors: &mut Vec<InputError>,
) -> Option<InstanceGroup> {
    let before = errors.len();
    let mut c = Checker { file, errors };
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
    let profile = spec.iam.and_then(|i| i.profile);
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
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "iam"
        && region.is_empty()
        && account.len() == 12
        && account.chars().all(|ch| ch.is_ascii_digit())
        && resource
            .strip_prefix("instance-profile/")
            .is_some_and(|name| {
                !name.is_empty() && !name.ends_with('/') && !name.contains(char::is_whitespace)
            })
}
