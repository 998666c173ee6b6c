//! kops 1.36's `AddS3Permissions`: read access to the state store for the roles that need
//! it, write access to the etcd backup stores for the control plane, and bucket-level reads.
//!
//! The stores are `spec.keyStore`, `spec.secretStore` and `spec.configBase` (the first two
//! default to `pki` and `secrets` under the third, so they add nothing unless set
//! elsewhere). Only the roots are granted: a store under another is left out. `memfs://`
//! and `file://` stores, which kops's own tests use, stand for placeholder buckets.

use super::policy::{Policy, Statement, ValueSet};
use crate::desired::BuildError;
use crate::spec::kops136::Kops136Spec;
use crate::spec::ClusterSpec;

/// Which role reads the state store: it decides the paths under it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    ControlPlane,
    ApiServer,
    Node,
}

/// A store as kops's VFS reads it: a bucket and the path under it, for IAM.
struct Location {
    bucket: &'static str,
    /// `bucket/key` without a trailing `/`, or the placeholder's path.
    iam_path: String,
    real_bucket: Option<String>,
}

impl Location {
    fn bucket(&self) -> String {
        self.real_bucket
            .clone()
            .unwrap_or_else(|| self.bucket.to_string())
    }
}

fn location(path: &str, placeholder: &'static str, field: &str) -> Result<Location, BuildError> {
    if let Some(rest) = path.strip_prefix("s3://") {
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let iam_path = format!("{bucket}/{key}");
        return Ok(Location {
            bucket: "",
            iam_path: iam_path.trim_end_matches('/').to_string(),
            real_bucket: Some(bucket.to_string()),
        });
    }
    if let Some(rest) = path.strip_prefix("memfs://") {
        let cleaned: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
        return Ok(Location {
            bucket: placeholder,
            iam_path: format!("{placeholder}/{}", cleaned.join("/")),
            real_bucket: None,
        });
    }
    if let Some(rest) = path.strip_prefix("file://") {
        // kops uses the read placeholder for file stores, even for writes.
        return Ok(Location {
            bucket: "placeholder-read-bucket",
            iam_path: format!("placeholder-read-bucket/{rest}"),
            real_bucket: None,
        });
    }
    Err(BuildError {
        field: field.to_string(),
        message: format!(
            "{path:?} is not a store the cluster can read; kops 1.36 grants IAM access to s3:// stores only"
        ),
    })
}

pub(super) fn add_s3_permissions(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    p: &mut Policy,
    reader: Reader,
) -> Result<(), BuildError> {
    let mut locations: Vec<(String, &str)> = Vec::new();
    for (store, field) in [
        (spec.key_store.as_deref(), "spec.keyStore"),
        (spec.secret_store.as_deref(), "spec.secretStore"),
        (spec.config_base.as_deref(), "spec.configBase"),
    ] {
        let Some(store) = store.filter(|s| !s.is_empty()) else {
            continue;
        };
        let store = if store.ends_with('/') {
            store.to_string()
        } else {
            format!("{store}/")
        };
        locations.push((store, field));
    }
    let mut roots: Vec<(String, &str)> = locations
        .iter()
        .enumerate()
        .filter(|(i, (l, _))| {
            !locations
                .iter()
                .enumerate()
                .any(|(j, (other, _))| *i != j && l.starts_with(other.as_str()))
        })
        .map(|(_, l)| l.clone())
        .collect();
    roots.sort();

    let mut buckets = std::collections::BTreeSet::new();
    let readable = readable_paths(k, reader);
    for (root, field) in &roots {
        let at = location(root, "placeholder-read-bucket", field)?;
        buckets.insert(at.bucket());
        if !readable.is_empty() {
            let resources: Vec<String> = readable
                .iter()
                .map(|r| format!("arn:{}:s3:::{}{r}", p.partition, at.iam_path))
                .collect();
            p.push(Statement::allow(
                ValueSet::list(&["s3:Get*"]),
                ValueSet::of(&resources),
            ));
        }
    }

    if reader == Reader::ControlPlane {
        let mut seen = Vec::new();
        for store in backup_stores(spec) {
            if seen.contains(&store) {
                continue;
            }
            let at = location(
                &store,
                "placeholder-write-bucket",
                "spec.etcdClusters.backups",
            )?;
            seen.push(store);
            buckets.insert(at.bucket());
            p.push(Statement::allow(
                ValueSet::list(&[
                    "s3:GetObject",
                    "s3:DeleteObject",
                    "s3:DeleteObjectVersion",
                    "s3:PutObject",
                ]),
                ValueSet::one(&format!("arn:{}:s3:::{}/*", p.partition, at.iam_path)),
            ));
        }
    }

    for bucket in buckets {
        p.push(Statement::allow(
            ValueSet::of(&[
                "s3:GetBucketLocation",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ]),
            ValueSet::list(&[format!("arn:{}:s3:::{bucket}", p.partition)]),
        ));
    }
    Ok(())
}

/// Each etcd cluster's backup store: `backups.backupStore`, or by default
/// `<configBase>/backups/etcd/<name>` (kops's etcd-manager options builder).
fn backup_stores(spec: &ClusterSpec) -> Vec<String> {
    let base = spec.config_base.as_deref().unwrap_or("");
    spec.etcd_clusters
        .iter()
        .map(
            |e| match e.backup_store.as_deref().filter(|s| !s.is_empty()) {
                Some(store) => store.to_string(),
                None => format!("{}/backups/etcd/{}", base.trim_end_matches('/'), e.name),
            },
        )
        .collect()
}

/// kops's `ReadableStatePaths`, sorted.
fn readable_paths(k: &Kops136Spec, reader: Reader) -> Vec<&'static str> {
    match reader {
        Reader::ControlPlane | Reader::ApiServer => vec!["/*"],
        Reader::Node if !k.kops_controller_for_node_config() => {
            vec!["/cluster-completed.spec", "/igconfig/node/*"]
        }
        Reader::Node => Vec::new(),
    }
}
