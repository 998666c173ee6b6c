//! The S3 locations kops 1.10 grants: the state roots (key, secret and config stores) and
//! the master's etcd backup stores.
//!
//! kops fills in the stores before it builds policies (upup/pkg/fi/cloudup/
//! populate_cluster_spec.go with the VFS clientset): `configStore` is always replaced by
//! `configBase` (written back as `s3://<bucket>/<key>`), and an unset `keyStore` or
//! `secretStore` becomes `<configBase>/pki` or `<configBase>/secrets`. The policy builder
//! then adds a `/` to each, keeps only those with no parent among the others, and sorts
//! them. Usually that leaves the config base alone.

use percent_encoding::percent_decode_str;

use super::BuildError;
use crate::spec::ClusterSpec;

/// An S3 location as kops's VFS parses `s3://bucket/key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    /// `bucket/key` without one trailing `/`: the part of object ARNs before `/*`.
    pub(super) fn object_path(&self) -> String {
        let path = format!("{}/{}", self.bucket, self.key);
        match path.strip_suffix('/') {
            Some(trimmed) => trimmed.to_string(),
            None => path,
        }
    }

    /// What kops's S3 path gives back as its URL.
    fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    fn join(&self, child: &str) -> S3Location {
        S3Location {
            bucket: self.bucket.clone(),
            key: go_path_join(&self.key, child),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Location {
    S3(S3Location),
    /// kops's in-memory store for tests: the builder skips it, as there is nothing to grant.
    MemFs,
    /// Any other scheme: kops cannot grant it in IAM.
    Unsupported,
}

/// A store path and the spec field it came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Store {
    field: &'static str,
    path: String,
}

/// The sorted S3 roots of the state the instances read.
pub(super) fn state_roots(spec: &ClusterSpec) -> Result<Vec<S3Location>, BuildError> {
    let mut roots = Vec::new();
    for store in top_level(state_stores(spec)?) {
        match parse(&store.path).map_err(|m| error(store.field, m))? {
            Location::S3(s3) => roots.push(s3),
            Location::MemFs => {}
            Location::Unsupported => return Err(error(store.field, not_s3(&store.path))),
        }
    }
    Ok(roots)
}

/// The etcd backup stores the master writes to, each once, in spec order.
pub(super) fn backup_stores(spec: &ClusterSpec) -> Result<Vec<S3Location>, BuildError> {
    let mut seen: Vec<&str> = Vec::new();
    let mut stores = Vec::new();
    for (i, cluster) in spec.etcd_clusters.iter().enumerate() {
        let Some(path) = cluster.backup_store.as_deref().filter(|p| !p.is_empty()) else {
            continue;
        };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let field = format!("spec.etcdClusters[{i}].backups.backupStore");
        match parse(path).map_err(|m| error(&field, m))? {
            Location::S3(s3) => stores.push(s3),
            Location::MemFs => {}
            // kops only logs a warning here; an error is clearer than a silently missing grant.
            Location::Unsupported => return Err(error(&field, not_s3(path))),
        }
    }
    Ok(stores)
}

/// keyStore, secretStore and configStore as kops has them when it builds the policy.
fn state_stores(spec: &ClusterSpec) -> Result<Vec<Store>, BuildError> {
    // The spec layer requires one of the two. Without configBase, kops would derive it from
    // the state store it was given (`<store>/<cluster>`); a full spec's configStore is that.
    let (base_field, base) = match (&spec.config_base, &spec.config_store) {
        (Some(base), _) => ("spec.configBase", base.as_str()),
        (None, Some(store)) => ("spec.configStore", store.as_str()),
        (None, None) => {
            return Err(error(
                "spec.configBase",
                "is required to grant access to the kops state store",
            ))
        }
    };
    let base_location = parse(base).map_err(|m| error(base_field, m))?;
    let under_base = |child: &str| match &base_location {
        Location::S3(s3) => s3.join(child).url(),
        _ => format!("{}/{child}", base.trim_end_matches('/')),
    };
    let config_store = match &base_location {
        Location::S3(s3) => s3.url(),
        _ => base.to_string(),
    };
    let explicit_or = |field: &'static str, value: &Option<String>, child: &str| match value {
        Some(path) if !path.is_empty() => Store {
            field,
            path: path.clone(),
        },
        _ => Store {
            field: base_field,
            path: under_base(child),
        },
    };
    Ok(vec![
        explicit_or("spec.keyStore", &spec.key_store, "pki"),
        explicit_or("spec.secretStore", &spec.secret_store, "secrets"),
        Store {
            field: base_field,
            path: config_store,
        },
    ])
}

/// Adds a trailing `/` to each store, drops those under another one, and sorts the rest.
///
/// kops compares the paths as strings. It also drops *both* of two identical paths (each
/// counts as the other's parent), which leaves the instances without access; rolecall keeps
/// one of them instead. A kops cluster in that state could not have worked, so no working
/// cluster sees a difference.
fn top_level(stores: Vec<Store>) -> Vec<Store> {
    let mut locations: Vec<Store> = Vec::new();
    for mut store in stores {
        if !store.path.ends_with('/') {
            store.path.push('/');
        }
        if !locations.iter().any(|l| l.path == store.path) {
            locations.push(store);
        }
    }
    let mut roots: Vec<Store> = locations
        .iter()
        .filter(|l| {
            !locations
                .iter()
                .any(|o| o.path != l.path && l.path.starts_with(&o.path))
        })
        .cloned()
        .collect();
    roots.sort_by(|a, b| a.path.cmp(&b.path));
    roots
}

/// Parses a store path the way kops's VFS (and Go's url.Parse under it) reads it.
fn parse(path: &str) -> Result<Location, String> {
    if path.starts_with("memfs://") {
        return Ok(Location::MemFs);
    }
    let Some(rest) = path.strip_prefix("s3://") else {
        return Ok(Location::Unsupported);
    };
    // The query and fragment are not part of the path.
    let rest = rest.split(['#', '?']).next().unwrap_or_default();
    let (bucket, raw_key) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(format!(
            "{path:?} names no bucket; expected s3://bucket/path"
        ));
    }
    let key = decode_path(raw_key)
        .ok_or_else(|| format!("{path:?} has an invalid %-escape in its path"))?;
    Ok(Location::S3(S3Location {
        bucket: bucket.to_string(),
        key,
    }))
}

/// Go's url.Parse decodes %-escapes in the path and rejects malformed ones.
fn decode_path(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let well_formed = bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'%')
        .all(|(i, _)| {
            bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
        });
    if !well_formed {
        return None;
    }
    percent_decode_str(raw)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Go's `path.Join(base, child)`: the non-empty parts joined by `/`, then cleaned.
fn go_path_join(base: &str, child: &str) -> String {
    let parts: Vec<&str> = [base, child]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    go_path_clean(&parts.join("/"))
}

/// Go's `path.Clean`: lexical removal of empty, `.` and `..` elements.
fn go_path_clean(path: &str) -> String {
    let rooted = path.starts_with('/');
    let mut elements: Vec<&str> = Vec::new();
    for element in path.split('/') {
        match element {
            "" | "." => {}
            ".." => match elements.last() {
                Some(last) if *last != ".." => {
                    elements.pop();
                }
                _ if rooted => {}
                _ => elements.push(".."),
            },
            other => elements.push(other),
        }
    }
    let joined = elements.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn not_s3(path: &str) -> String {
    format!("{path:?} is not an S3 path (s3://bucket/path); kops 1.10 can grant instances access only to S3 stores")
}

fn error(field: &str, message: impl Into<String>) -> BuildError {
    BuildError {
        field: field.to_string(),
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_spec::cluster;

    fn s3(bucket: &str, key: &str) -> S3Location {
        S3Location {
            bucket: bucket.into(),
            key: key.into(),
        }
    }

    fn root_paths(spec_body: &str) -> Vec<String> {
        let spec = cluster("example.k8s.local", spec_body);
        state_roots(&spec)
            .unwrap()
            .iter()
            .map(S3Location::object_path)
            .collect()
    }

    #[test]
    fn parses_s3_paths_like_kops_vfs() {
        assert_eq!(parse("s3://b/c/d"), Ok(Location::S3(s3("b", "c/d"))));
        assert_eq!(parse("s3://b"), Ok(Location::S3(s3("b", ""))));
        assert_eq!(parse("s3://b/c/"), Ok(Location::S3(s3("b", "c/"))));
        assert_eq!(
            parse("s3://b/a%20b?versionId=1#x"),
            Ok(Location::S3(s3("b", "a b")))
        );
        assert_eq!(parse("memfs://tests/x"), Ok(Location::MemFs));
        assert_eq!(parse("gs://b/x"), Ok(Location::Unsupported));
        assert!(parse("s3:///x").is_err());
        assert!(parse("s3://b/bad%zzescape").is_err());
    }

    #[test]
    fn object_path_drops_one_trailing_slash() {
        assert_eq!(s3("b", "c/").object_path(), "b/c");
        assert_eq!(s3("b", "").object_path(), "b");
        assert_eq!(s3("b", "c").object_path(), "b/c");
    }

    #[test]
    fn joins_and_cleans_like_go_path() {
        assert_eq!(go_path_join("c", "pki"), "c/pki");
        assert_eq!(go_path_join("c/", "pki"), "c/pki");
        assert_eq!(go_path_join("", "pki"), "pki");
        assert_eq!(go_path_join("a//b/./c/..", "pki"), "a/b/pki");
        assert_eq!(go_path_join("/c", "pki"), "/c/pki");
        assert_eq!(go_path_clean("../a"), "../a");
        assert_eq!(go_path_clean("/../a"), "/a");
    }

    #[test]
    fn config_base_alone_defaults_key_and_secret_stores_under_it() {
        let spec = cluster(
            "example.k8s.local",
            "  configBase: s3://state/example.k8s.local\n",
        );
        let stores = state_stores(&spec).unwrap();
        let paths: Vec<&str> = stores.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "s3://state/example.k8s.local/pki",
                "s3://state/example.k8s.local/secrets",
                "s3://state/example.k8s.local"
            ]
        );
        // Both lie under the config base, so one root remains.
        assert_eq!(
            root_paths("  configBase: s3://state/example.k8s.local\n"),
            ["state/example.k8s.local"]
        );
    }

    #[test]
    fn config_base_replaces_config_store() {
        let body = "  configBase: s3://state/example.k8s.local\n  configStore: s3://elsewhere/x\n";
        assert_eq!(root_paths(body), ["state/example.k8s.local"]);
    }

    #[test]
    fn config_store_stands_in_for_a_missing_config_base() {
        assert_eq!(root_paths("  configStore: s3://state/c\n"), ["state/c"]);
    }

    #[test]
    fn a_bucket_root_config_base_covers_the_whole_bucket() {
        assert_eq!(root_paths("  configBase: s3://state\n"), ["state"]);
        assert_eq!(root_paths("  configBase: s3://state/\n"), ["state"]);
    }

    #[test]
    fn stores_outside_the_base_are_extra_roots_sorted() {
        let body = "  configBase: s3://m-state/c\n  keyStore: s3://z-keys/pki\n  secretStore: s3://a-secrets/s/\n";
        assert_eq!(root_paths(body), ["a-secrets/s", "m-state/c", "z-keys/pki"]);
    }

    #[test]
    fn a_store_under_another_is_not_a_root_even_across_fields() {
        let body = "  configBase: s3://state/c/sub\n  keyStore: s3://state/c\n";
        // The key store is the parent of the config base and its secrets.
        assert_eq!(root_paths(body), ["state/c"]);
    }

    #[test]
    fn parents_are_string_prefixes_with_a_slash() {
        let body = "  configBase: s3://state/c\n  keyStore: s3://state/cd\n";
        assert_eq!(root_paths(body), ["state/c", "state/cd"]);
    }

    #[test]
    fn identical_stores_keep_one_root() {
        let body =
            "  configBase: s3://state/c\n  keyStore: s3://other/x\n  secretStore: s3://other/x/\n";
        assert_eq!(root_paths(body), ["other/x", "state/c"]);
    }

    #[test]
    fn memfs_stores_are_skipped() {
        assert!(root_paths("  configBase: memfs://tests/c\n").is_empty());
        let body = "  configBase: memfs://tests/c\n  keyStore: s3://keys/k\n";
        assert_eq!(root_paths(body), ["keys/k"]);
    }

    #[test]
    fn a_non_s3_store_is_an_error() {
        let mut spec = cluster("example.k8s.local", "  configBase: s3://state/c\n");
        spec.secret_store = Some("gs://bucket/secrets".into());
        let err = state_roots(&spec).unwrap_err();
        assert_eq!(err.field, "spec.secretStore");
        assert!(err.message.contains("not an S3 path"), "{err}");
    }

    #[test]
    fn backup_stores_are_deduplicated_in_order_and_memfs_skipped() {
        let body = "  configBase: s3://state/c
  etcdClusters:
  - name: main
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://backups/c/main}
  - name: events
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://backups/c/main}
  - name: third
    etcdMembers: [{name: a}]
    backups: {backupStore: memfs://x}
  - name: fourth
    etcdMembers: [{name: a}]
    backups: {backupStore: s3://a-backups/}
";
        let spec = cluster("example.k8s.local", body);
        let paths: Vec<String> = backup_stores(&spec)
            .unwrap()
            .iter()
            .map(S3Location::object_path)
            .collect();
        assert_eq!(paths, ["backups/c/main", "a-backups"]);
    }

    #[test]
    fn a_non_s3_backup_store_is_an_error() {
        let mut spec = cluster("example.k8s.local", "  configBase: s3://state/c\n");
        spec.etcd_clusters = vec![crate::spec::EtcdCluster {
            name: "main".into(),
            members: Vec::new(),
            backup_store: Some("file:///var/backups".into()),
        }];
        let err = backup_stores(&spec).unwrap_err();
        assert_eq!(err.field, "spec.etcdClusters[0].backups.backupStore");
    }
}
