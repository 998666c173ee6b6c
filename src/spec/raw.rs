//! The kops `v1alpha2` documents as they stand in YAML, before validation.
//!
//! One struct serves both `Cluster` and `InstanceGroup` documents: the two kinds share the
//! `apiVersion`/`kind`/`metadata`/`spec` envelope, and the spec fields rolecall reads do not
//! clash (`spec.iam` carries `legacy` and the pod roles on a Cluster, and `profile` on an
//! InstanceGroup). A single shape lets serde read a multi-document file in one pass and keeps
//! every value's line.
//! Fields rolecall does not read are ignored, as kops specs carry many; those of later kops
//! releases that change IAM are refused from an untyped tree in [`super::later_releases`].

use std::collections::BTreeMap;

use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// A value with the place it was written.
pub type At<T> = Spanned<T>;

/// The kinds whose `spec` rolecall reads. Another kind's spec (a Keyset's, an Addon's) is
/// skipped unread, so that its fields cannot clash with the types here.
pub const READ_KINDS: [&str; 2] = ["Cluster", "InstanceGroup"];

#[derive(Debug)]
pub struct RawDocument {
    pub api_version: Option<At<String>>,
    pub kind: Option<At<String>>,
    pub metadata: Option<RawMetadata>,
    pub spec: Option<RawSpec>,
}

impl<'de> Deserialize<'de> for RawDocument {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct DocumentVisitor;
        impl<'de> serde::de::Visitor<'de> for DocumentVisitor {
            type Value = RawDocument;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a kops document with apiVersion, kind, metadata and spec")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut doc = RawDocument {
                    api_version: None,
                    kind: None,
                    metadata: None,
                    spec: None,
                };
                // kops writes `kind` before `spec` (its keys are sorted), as people do.
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "apiVersion" => doc.api_version = map.next_value()?,
                        "kind" => doc.kind = map.next_value()?,
                        "metadata" => doc.metadata = map.next_value()?,
                        "spec"
                            if doc
                                .kind
                                .as_ref()
                                .is_some_and(|k| !READ_KINDS.contains(&k.value.as_str())) =>
                        {
                            map.next_value::<IgnoredAny>()?;
                        }
                        "spec" => doc.spec = map.next_value()?,
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(DocumentVisitor)
    }
}

#[derive(Debug, Deserialize)]
pub struct RawMetadata {
    pub name: Option<At<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSpec {
    // Cluster fields.
    pub cloud_provider: Option<At<String>>,
    pub config_base: Option<At<String>>,
    pub config_store: Option<At<String>>,
    pub key_store: Option<At<String>>,
    pub secret_store: Option<At<String>>,
    pub iam: Option<RawIam>,
    pub additional_policies: Option<BTreeMap<String, At<String>>>,
    pub etcd_clusters: Option<Vec<RawEtcdCluster>>,
    pub subnets: Option<Vec<RawSubnetEntry>>,
    pub dns_zone: Option<At<String>>,
    pub topology: Option<RawTopology>,
    #[serde(rename = "kubeAPIServer")]
    pub kube_api_server: Option<RawKubeApiServer>,
    pub networking: Option<At<BTreeMap<String, IgnoredAny>>>,
    pub service_account_issuer_discovery: Option<At<RawIssuerDiscovery>>,
    // InstanceGroup fields.
    pub role: Option<At<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIam {
    // Cluster.
    pub legacy: Option<At<bool>>,
    pub allow_container_registry: Option<At<bool>>,
    // Lists are never wrapped in `At`: the wrapper's `value` would show up in the field path
    // of a type error inside the list (`roles.value[0]`). Their entries are wrapped instead.
    pub service_account_external_permissions: Option<Vec<At<RawServiceAccountPermission>>>,
    pub pod_identity: Option<At<RawPodIdentity>>,
    // InstanceGroup.
    pub profile: Option<At<String>>,
}

/// `spec.serviceAccountIssuerDiscovery`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawIssuerDiscovery {
    pub discovery_store: Option<At<String>>,
    #[serde(rename = "enableAWSOIDCProvider")]
    pub enable_aws_oidc_provider: Option<At<bool>>,
    pub additional_audiences: Option<Vec<At<String>>>,
}

/// One entry of `spec.iam.serviceAccountExternalPermissions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawServiceAccountPermission {
    pub name: Option<At<String>>,
    pub namespace: Option<At<String>>,
    pub aws: Option<At<RawAwsPermissions>>,
}

/// The `aws` block of a service account's permissions.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawAwsPermissions {
    #[serde(rename = "policyARNs")]
    pub policy_arns: Option<Vec<At<String>>>,
    pub inline_policy: Option<At<String>>,
}

/// `spec.iam.podIdentity`, rolecall's extension for kube2iam and kiam.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPodIdentity {
    pub mode: Option<At<String>>,
    #[serde(rename = "kiamServerRoleARN")]
    pub kiam_server_role_arn: Option<At<String>>,
    pub roles: Option<Vec<At<RawPodRole>>>,
}

/// One entry of `spec.iam.podIdentity.roles`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawPodRole {
    pub name: Option<At<String>>,
    pub namespaces: Option<Vec<At<String>>>,
    #[serde(rename = "policyARNs")]
    pub policy_arns: Option<Vec<At<String>>>,
    pub inline_policy: Option<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEtcdCluster {
    pub name: Option<At<String>>,
    pub etcd_members: Option<Vec<RawEtcdMember>>,
    pub backups: Option<RawEtcdBackups>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEtcdMember {
    pub name: Option<At<String>>,
    pub kms_key_id: Option<At<String>>,
    pub encrypted_volume: Option<At<bool>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawEtcdBackups {
    pub backup_store: Option<At<String>>,
}

/// A Cluster's subnets are objects (`{name, zone, ...}`); an InstanceGroup's are names.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawSubnet {
    pub name: Option<At<String>>,
    pub zone: Option<At<String>>,
}

/// Either form of a subnet entry. Only the Cluster's form carries a zone.
#[derive(Debug)]
pub struct RawSubnetEntry(pub RawSubnet);

impl<'de> Deserialize<'de> for RawSubnetEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct EntryVisitor;
        impl<'de> serde::de::Visitor<'de> for EntryVisitor {
            type Value = RawSubnetEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a subnet name or a subnet object with name and zone")
            }
            fn visit_str<E: serde::de::Error>(self, _name: &str) -> Result<Self::Value, E> {
                Ok(RawSubnetEntry(RawSubnet::default()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                // Values are still read by the YAML deserializer, so their places are kept.
                RawSubnet::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawSubnetEntry)
            }
        }
        d.deserialize_any(EntryVisitor)
    }
}

/// `spec.topology`: only `dns.type` (Public or Private) matters to IAM, through the
/// hosted zone it selects.
#[derive(Debug, Deserialize)]
pub struct RawTopology {
    pub dns: Option<RawTopologyDns>,
}

#[derive(Debug, Deserialize)]
pub struct RawTopologyDns {
    #[serde(rename = "type")]
    pub kind: Option<At<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RawKubeApiServer {
    pub enable_bootstrap_auth_token: Option<At<bool>>,
}
