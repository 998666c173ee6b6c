//! The spec layer's tests, by what they check, on small specs built from the fixtures here.

mod cluster;
mod documents;
mod files;
mod generation;
mod irsa;
mod later_releases;
mod pod_identity;
mod statements;

use super::*;

const CLUSTER: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: Cluster
metadata:
  name: example.k8s.local
spec:
  cloudProvider: aws
  configBase: s3://state/example.k8s.local
  iam:
    legacy: false
    allowContainerRegistry: true
  subnets:
  - name: a
    zone: eu-west-1a
  - name: b
    zone: eu-west-1b
";

const NODES: &str = "apiVersion: kops.k8s.io/v1alpha2
kind: InstanceGroup
metadata:
  name: nodes
spec:
  role: Node
  subnets:
  - a
";

fn parse(text: &str) -> Result<ClusterSpec, InputErrors> {
    parse_files(&[("cluster.yaml", text)])
}

/// Parses the files given as (path, text), in this order.
fn parse_files(files: &[(&str, &str)]) -> Result<ClusterSpec, InputErrors> {
    let files: Vec<SourceFile> = files
        .iter()
        .map(|&(path, text)| SourceFile {
            path: path.into(),
            text: text.to_string(),
        })
        .collect();
    // The 1.10 checks; the generation rules have tests of their own.
    parse_documents_as(&files, Some(Generation::Kops110))
}

/// The one error the input has, as the user sees it.
fn error(text: &str) -> String {
    let errors = parse(text).expect_err("the input should be rejected");
    assert_eq!(errors.0.len(), 1, "expected one error, got: {errors}");
    errors.to_string()
}

fn with_cluster(spec_lines: &str) -> String {
    format!("{CLUSTER}{spec_lines}---\n{NODES}")
}

// Pod roles: IRSA (spec.serviceAccountIssuerDiscovery and
// spec.iam.serviceAccountExternalPermissions) and kube2iam or kiam (spec.iam.podIdentity).

const OIDC: &str = "  serviceAccountIssuerDiscovery:
    discoveryStore: s3://oidc/example.k8s.local
    enableAWSOIDCProvider: true
";

/// At line 11 when given to `with_iam`: the entry is at 12:7, its aws block at 15:9.
const EXTERNAL_DNS: &str = "    serviceAccountExternalPermissions:
    - name: external-dns
      namespace: kube-system
      aws:
        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]
";

/// At line 11 when given to `with_iam`: the block is at 12:7, the role at 14:9.
const KUBE2IAM: &str = "    podIdentity:
      mode: kube2iam
      roles:
      - name: billing-reader
        namespaces: [billing, reports]
        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
";

/// The cluster with `iam_lines` at the end of its `spec.iam` (from line 11) and `spec_lines`
/// at the end of its spec (from line 16 plus the number of `iam_lines`), then the node group.
fn with_iam(iam_lines: &str, spec_lines: &str) -> String {
    let cluster = CLUSTER.replace(
        "    allowContainerRegistry: true\n",
        &format!("    allowContainerRegistry: true\n{iam_lines}"),
    );
    format!("{cluster}{spec_lines}---\n{NODES}")
}

fn at(line: u64, column: u64) -> SourceLocation {
    SourceLocation {
        file: "cluster.yaml".into(),
        line,
        column,
    }
}

/// The one error of the kube2iam cluster (`KUBE2IAM` in `with_iam`) with `from` replaced by `to`.
fn kube2iam_error(from: &str, to: &str) -> String {
    error(&with_iam(&KUBE2IAM.replace(from, to), ""))
}

/// The one error of the kube2iam cluster with `more` lines at the end of its roles.
fn kube2iam_error_with(more: &str) -> String {
    error(&with_iam(&format!("{KUBE2IAM}{more}"), ""))
}

/// The one error of the IRSA cluster (`EXTERNAL_DNS` and `OIDC` in `with_iam`) with `from`
/// replaced by `to`.
fn irsa_error(from: &str, to: &str) -> String {
    error(&with_iam(&EXTERNAL_DNS.replace(from, to), OIDC))
}

/// The one error of the cluster with `from` replaced by `to` in its Cluster document.
fn cluster_error(from: &str, to: &str) -> String {
    error(&format!("{}---\n{NODES}", CLUSTER.replace(from, to)))
}

/// The one error of the cluster with `from` replaced by `to` in its InstanceGroup document.
fn nodes_error(from: &str, to: &str) -> String {
    error(&format!("{CLUSTER}---\n{}", NODES.replace(from, to)))
}
