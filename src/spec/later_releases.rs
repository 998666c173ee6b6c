//! Fields of later kops releases that change IAM. rolecall builds the IAM of kops 1.10,
//! which knows none of them; read as if absent (serde ignores unknown fields, and so did
//! kops 1.10), they would let the plan say "No changes" for a cluster whose kops wants more.
//! So each is refused at its place, naming the release it belongs to.
//!
//! [`LATER_FIELDS`] is the one list. A later generation of rolecall that builds a later
//! release's IAM lifts the entries it implements. `spec.serviceAccountIssuerDiscovery`,
//! `spec.iam.serviceAccountExternalPermissions` (IRSA, kops 1.21) and rolecall's own
//! `spec.iam.podIdentity` are not in it: rolecall builds them.
//!
//! The check walks a [`Tree`] of the whole document, read beside the typed
//! [`super::raw::RawDocument`], so that the typed shape need not name fields it never uses.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::raw::At;
use super::validate::Checker;

/// A field of a later kops release that changes IAM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LaterField {
    /// The kind of document it stands in: `Cluster` or `InstanceGroup`.
    pub kind: &'static str,
    /// Its path from the document's root, keys joined by `.`.
    pub path: &'static str,
    /// Refused only with this value (a later value of a 1.10 field); `None`: whatever its
    /// value, even one that changes nothing (`enabled: false`), which is simpler and safe.
    pub value: Option<&'static str>,
    /// The first kops release that has it.
    pub release: &'static str,
    /// What it does to IAM in that release, after "where it".
    pub effect: &'static str,
}

const fn field(
    kind: &'static str,
    path: &'static str,
    release: &'static str,
    effect: &'static str,
) -> LaterField {
    LaterField {
        kind,
        path,
        value: None,
        release,
        effect,
    }
}

const fn value(
    kind: &'static str,
    path: &'static str,
    value: &'static str,
    release: &'static str,
    effect: &'static str,
) -> LaterField {
    LaterField {
        kind,
        path,
        value: Some(value),
        release,
        effect,
    }
}

const CLUSTER: &str = "Cluster";
const GROUP: &str = "InstanceGroup";

/// The later fields that change IAM, with the first kops release that has each (checked
/// per tag in kops's `pkg/apis/kops/v1alpha2`).
#[rustfmt::skip]
pub const LATER_FIELDS: &[LaterField] = &[
    field(CLUSTER, "spec.externalPolicies", "1.18.0", "attaches managed policies to the roles"),
    field(CLUSTER, "spec.iam.permissionsBoundary", "1.19.0", "sets a permissions boundary on every role"),
    field(CLUSTER, "spec.iam.useServiceAccountExternalPermissions", "1.22.0", "moves the addons' permissions off the masters' policy into service-account roles"),
    value(GROUP, "spec.role", "APIServer", "1.21.0", "gives the group a role of its own, apiservers.<cluster>, with its own policy"),
    value(GROUP, "spec.role", "ControlPlane", "1.26.0", "names the role kops 1.10 calls Master"),
    field(CLUSTER, "spec.additionalPolicies.apiserver", "1.21.0", "adds statements to the apiservers.<cluster> role"),
    field(CLUSTER, "spec.additionalPolicies.control-plane", "1.26.0", "adds statements to the role kops 1.10 keys as master"),
    field(CLUSTER, "spec.awsLoadBalancerController", "1.20.0", "grants the AWS Load Balancer Controller's permissions"),
    field(CLUSTER, "spec.cloudConfig.awsEBSCSIDriver", "1.20.0", "grants the EBS CSI driver's permissions"),
    field(CLUSTER, "spec.snapshotController", "1.21.0", "grants EBS snapshot permissions"),
    field(CLUSTER, "spec.clusterAutoscaler", "1.19.0", "grants the cluster autoscaler's permissions"),
    field(CLUSTER, "spec.nodeTerminationHandler", "1.19.0", "grants SQS permissions for its queue mode"),
    field(CLUSTER, "spec.warmPool", "1.21.0", "grants lifecycle-hook permissions"),
    field(GROUP, "spec.warmPool", "1.21.0", "grants lifecycle-hook permissions"),
    field(CLUSTER, "spec.karpenter", "1.24.0", "gives Karpenter a service-account role"),
    value(GROUP, "spec.manager", "Karpenter", "1.24.0", "hands the group to Karpenter, which gets a service-account role"),
    field(CLUSTER, "spec.certManager", "1.20.0", "gives cert-manager a service-account role with Route53 rights on its hostedZoneIDs"),
    value(CLUSTER, "spec.externalDns.provider", "external-dns", "1.22.0", "gives external-dns a service-account role with Route53 rights"),
    value(CLUSTER, "spec.networking.cilium.ipam", "eni", "1.18.0", "grants ENI permissions"),
    field(CLUSTER, "spec.networking.calico.awsSrcDstCheck", "1.19.0", "grants the EC2 source/destination-check permissions"),
    field(CLUSTER, "spec.networking.kindnet", "1.32.0", "grants the EC2 source/destination-check permissions"),
    field(CLUSTER, "spec.containerd.nvidiaGPU", "1.22.0", "grants the nodes ec2:DescribeInstanceTypes"),
    field(CLUSTER, "spec.containerd.useECRCredentialsForMirrors", "1.33.0", "grants ECR pull-through permissions"),
    field(CLUSTER, "spec.cloudConfig.nlbSecurityGroupMode", "1.36.0", "grants the cloud controller security-group permissions"),
];

impl LaterField {
    /// The message at the field (or at the value, for a later value).
    fn message(&self) -> String {
        match self.value {
            None => format!(
                "a field of kops {} and later, where it {}; rolecall builds the IAM of kops 1.10, which has no such field, so it refuses the field whatever its value (even one that changes nothing)",
                self.release, self.effect
            ),
            Some(v) => format!(
                "{v:?} is a value of kops {} and later, where it {}; rolecall builds the IAM of kops 1.10, which has no such value, so it refuses it",
                self.release, self.effect
            ),
        }
    }
}

/// True when the table refuses `path` of a `kind` document with `value` (any value when
/// `None`), so that the check of the field itself need not report it again.
pub(super) fn refuses(kind: &str, path: &str, value: Option<&str>) -> bool {
    LATER_FIELDS
        .iter()
        .any(|f| f.kind == kind && f.path == path && (f.value.is_none() || f.value == value))
}

/// Every later field of the `kind` document `tree`, with its place (the key, or the value
/// for a later value), in the order they stand.
pub(super) fn found<'t>(
    tree: &'t At<Tree>,
    kind: &str,
) -> Vec<(&'static LaterField, &'t At<Tree>)> {
    let mut found: Vec<(&'static LaterField, &At<Tree>)> = Vec::new();
    for entry in LATER_FIELDS.iter().filter(|f| f.kind == kind) {
        let Some((key, v)) = find(tree, entry.path) else {
            continue;
        };
        match entry.value {
            None => found.push((entry, key)),
            Some(expected) if v.value.scalar() == Some(expected) => found.push((entry, v)),
            Some(_) => {}
        }
    }
    found.sort_by_key(|(_, at)| (at.referenced.line(), at.referenced.column()));
    found
}

/// Refuses every later field of the `kind` document `tree`, in the order they stand.
pub(super) fn check(c: &mut Checker, kind: &str, tree: &At<Tree>) {
    for (entry, at) in found(tree, kind) {
        c.error(at, entry.path, entry.message());
    }
}

/// Any YAML (or JSON) value, each node with its place: what a document holds, whatever its
/// kind. Map keys keep their places too, the place of a field.
#[derive(Debug)]
pub enum Tree {
    Map(Vec<(At<Tree>, At<Tree>)>),
    Seq(Vec<At<Tree>>),
    /// A string, number or boolean, as text.
    Scalar(String),
    Null,
}

impl Tree {
    fn scalar(&self) -> Option<&str> {
        match self {
            Tree::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

/// The key and the value at `path` (keys joined by `.`) of `tree`, when every step is a map.
pub(super) fn find<'t>(tree: &'t At<Tree>, path: &str) -> Option<(&'t At<Tree>, &'t At<Tree>)> {
    let mut found = None;
    let mut node = tree;
    for segment in path.split('.') {
        let Tree::Map(entries) = &node.value else {
            return None;
        };
        let (key, value) = entries
            .iter()
            .find(|(k, _)| k.value.scalar() == Some(segment))?;
        found = Some((key, value));
        node = value;
    }
    found
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TreeVisitor)
    }
}

struct TreeVisitor;

/// `visit_<type>` methods that keep a scalar as its text, as YAML wrote it.
macro_rules! scalars_as_text {
    ($($visit:ident: $type:ty),*) => {
        $(fn $visit<E>(self, v: $type) -> Result<Tree, E> {
            Ok(Tree::Scalar(v.to_string()))
        })*
    };
}

impl<'de> Visitor<'de> for TreeVisitor {
    type Value = Tree;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any value")
    }

    fn visit_str<E>(self, v: &str) -> Result<Tree, E> {
        Ok(Tree::Scalar(v.to_string()))
    }

    scalars_as_text!(visit_bool: bool, visit_i64: i64, visit_i128: i128, visit_u64: u64);
    scalars_as_text!(visit_u128: u128, visit_f64: f64);

    fn visit_bytes<E>(self, v: &[u8]) -> Result<Tree, E> {
        Ok(Tree::Scalar(String::from_utf8_lossy(v).into_owned()))
    }

    fn visit_unit<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_none<E>(self) -> Result<Tree, E> {
        Ok(Tree::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Tree, D::Error> {
        Tree::deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Tree::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key()? {
            entries.push((key, map.next_value()?));
        }
        Ok(Tree::Map(entries))
    }
}
