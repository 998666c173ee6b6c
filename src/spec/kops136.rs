//! The fields of a kops 1.36 spec that change its IAM, read with kops's defaults.
//!
//! kops fills defaults before it builds IAM (`populate_cluster_spec` and the component
//! option builders); `kops get -o yaml` prints the spec without them, so rolecall applies
//! the ones that matter here. The facts come from kops's source at v1.36.2; each default is
//! named where it is applied. Paths are those of `kops.k8s.io/v1alpha2`.

use std::collections::BTreeMap;

use super::later_releases::{find, Tree};
use super::raw::At;
use super::validate::Checker;

/// The AWS Load Balancer Controller's options (`spec.awsLoadBalancerController`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadBalancerController {
    pub waf: bool,
    pub wafv2: bool,
    pub shield: bool,
}

/// The CNI choices that change IAM (`spec.networking.<provider>`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Networking {
    pub kubenet: bool,
    pub amazon_vpc: bool,
    pub cilium_eni: bool,
    /// `calico.awsSrcDstCheck`, `Some("")` when Calico is used without it.
    pub calico_src_dst_check: Option<String>,
    pub kindnet: bool,
    pub kube_router: bool,
}

/// `spec.certManager`, when it gets a role of its own.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertManager {
    pub hosted_zone_ids: Vec<String>,
}

/// A warm pool, as kops's `WarmPoolSpec` (the parts IAM reads).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarmPool {
    pub max_size: Option<i64>,
    pub min_size: i64,
    pub enable_lifecycle_hook: bool,
}

impl WarmPool {
    fn is_enabled(self) -> bool {
        self.max_size != Some(0)
    }
}

/// What a kops 1.36 spec says about one instance group beyond its role and profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupSettings {
    pub warm_pool: Option<WarmPool>,
    /// `spec.manager: Karpenter`.
    pub karpenter_managed: bool,
    /// `spec.rootVolumeEncryption` with a `rootVolumeEncryptionKey`.
    pub encrypted_root_with_key: bool,
}

/// The kops 1.36 settings of a cluster, defaults applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Kops136Spec {
    pub allow_container_registry: bool,
    pub use_service_account_external_permissions: bool,
    pub permissions_boundary: Option<String>,
    /// `spec.externalPolicies`, keyed as kops keys it (`master` read as `control-plane`).
    pub external_policies: BTreeMap<String, Vec<String>>,
    pub cloud_labels: BTreeMap<String, String>,
    pub load_balancer_controller: Option<LoadBalancerController>,
    pub snapshot_controller: bool,
    pub cluster_autoscaler: bool,
    /// kops turns the node termination handler on, in queue mode, unless Karpenter is on
    /// and the handler is not mentioned.
    pub node_termination_handler: bool,
    pub node_termination_handler_queue_mode: bool,
    pub karpenter: bool,
    pub cert_manager: Option<CertManager>,
    /// `spec.externalDns.provider`, `dns-controller` by default.
    pub external_dns_provider: String,
    /// `spec.cloudConfig.awsEBSCSIDriver.managed`, true unless false.
    pub ebs_csi_driver_managed: bool,
    pub nlb_security_group_managed: bool,
    pub encryption_config: bool,
    pub containerd_ecr_mirrors: bool,
    pub networking: Networking,
    /// `spec.nonMasqueradeCIDR` is IPv6.
    pub ipv6_only: bool,
    /// `spec.topology.dns.type: None`.
    pub dns_none: bool,
    /// The name ends in `.k8s.local`.
    pub gossip_name: bool,
    /// `spec.api.loadBalancer.class: Network`.
    pub api_network_load_balancer: bool,
    /// `spec.kubeAPIServer.serviceAccountIssuer`, when written.
    pub service_account_issuer: Option<String>,
    pub warm_pool: Option<WarmPool>,
    /// By instance group name.
    pub groups: BTreeMap<String, GroupSettings>,
}

impl Kops136Spec {
    /// kops's `IsKopsControllerIPAM`, which is `IsIPv6Only`.
    pub fn kops_controller_ipam(&self) -> bool {
        self.ipv6_only
    }

    /// kops's `UseKopsControllerForNodeConfig`: false only for a legacy gossip cluster whose
    /// API has no network load balancer.
    pub fn kops_controller_for_node_config(&self) -> bool {
        let legacy_gossip = !self.dns_none && self.gossip_name;
        let load_balancer_for_kops_controller = self.dns_none || self.api_network_load_balancer;
        !legacy_gossip || load_balancer_for_kops_controller
    }

    /// kops's `PublishesDNSRecords`.
    pub fn publishes_dns_records(&self) -> bool {
        !self.dns_none && !self.gossip_name
    }

    pub fn calico_src_dst_check(&self) -> bool {
        self.networking
            .calico_src_dst_check
            .as_deref()
            .is_some_and(|v| v != "DoNothing")
            && !self.ipv6_only
    }

    /// Whether a group of this role (by its groups' names) has a warm pool with a lifecycle
    /// hook, the cluster's warm pool filling in what the group leaves out (kops's
    /// `ResolveDefaults`; control-plane and bastion groups take nothing from the cluster).
    pub fn lifecycle_hook(&self, group: &str, takes_cluster_default: bool) -> bool {
        let own = self.groups.get(group).and_then(|g| g.warm_pool);
        let cluster = self.warm_pool.filter(|_| takes_cluster_default);
        let resolved = match (own, cluster) {
            (None, None) => None,
            (None, Some(c)) => Some(c),
            (Some(o), None) => Some(o),
            (Some(o), Some(c)) => Some(WarmPool {
                max_size: o.max_size.or(c.max_size),
                min_size: if o.min_size == 0 {
                    c.min_size
                } else {
                    o.min_size
                },
                enable_lifecycle_hook: o.enable_lifecycle_hook || c.enable_lifecycle_hook,
            }),
        };
        resolved.is_some_and(|w| w.is_enabled() && w.enable_lifecycle_hook)
    }
}

/// Reads the Cluster document's tree. `name` is `metadata.name`.
pub(super) fn read_cluster(c: &mut Checker, tree: &At<Tree>, name: &str) -> Kops136Spec {
    let mut r = Reader { c, tree };
    let karpenter = r.bool("spec.karpenter.enabled").unwrap_or(false);
    let nth_mentioned = r.present("spec.nodeTerminationHandler");
    let nth_enabled = r.bool("spec.nodeTerminationHandler.enabled");
    // kops leaves the handler unset when Karpenter is on and it is not mentioned.
    let nth = if karpenter && !nth_mentioned {
        false
    } else {
        nth_enabled.unwrap_or(true)
    };
    let sqs = r
        .bool("spec.nodeTerminationHandler.enableSQSTerminationDraining")
        .unwrap_or(true);
    let lbc = (r.bool("spec.awsLoadBalancerController.enabled") == Some(true)).then(|| {
        LoadBalancerController {
            waf: r.bool("spec.awsLoadBalancerController.enableWAF") == Some(true),
            wafv2: r.bool("spec.awsLoadBalancerController.enableWAFv2") == Some(true),
            shield: r.bool("spec.awsLoadBalancerController.enableShield") == Some(true),
        }
    });
    let cert_manager = {
        let enabled = r.bool("spec.certManager.enabled") == Some(true);
        let managed = r.bool("spec.certManager.managed").unwrap_or(true);
        let zones = r.strings("spec.certManager.hostedZoneIDs");
        (enabled && managed && !zones.is_empty()).then_some(CertManager {
            hosted_zone_ids: zones,
        })
    };
    let networking = Networking {
        kubenet: r.present("spec.networking.kubenet"),
        amazon_vpc: r.present("spec.networking.amazonvpc"),
        cilium_eni: r.string("spec.networking.cilium.ipam").as_deref() == Some("eni"),
        calico_src_dst_check: r.present("spec.networking.calico").then(|| {
            r.string("spec.networking.calico.awsSrcDstCheck")
                .unwrap_or_default()
        }),
        kindnet: r.present("spec.networking.kindnet"),
        kube_router: r.present("spec.networking.kuberouter"),
    };
    Kops136Spec {
        allow_container_registry: r.bool("spec.iam.allowContainerRegistry").unwrap_or(false),
        use_service_account_external_permissions: r
            .bool("spec.iam.useServiceAccountExternalPermissions")
            .unwrap_or(false),
        permissions_boundary: r.policy_arn("spec.iam.permissionsBoundary"),
        external_policies: r.policy_lists("spec.externalPolicies"),
        cloud_labels: r.string_map("spec.cloudLabels"),
        load_balancer_controller: lbc,
        snapshot_controller: r.bool("spec.snapshotController.enabled") == Some(true),
        cluster_autoscaler: r.bool("spec.clusterAutoscaler.enabled") == Some(true),
        node_termination_handler: nth,
        node_termination_handler_queue_mode: nth && sqs,
        karpenter,
        cert_manager,
        external_dns_provider: r
            .string("spec.externalDns.provider")
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "dns-controller".into()),
        ebs_csi_driver_managed: r
            .bool("spec.cloudConfig.awsEBSCSIDriver.managed")
            .unwrap_or(true),
        nlb_security_group_managed: r.string("spec.cloudConfig.nlbSecurityGroupMode").as_deref()
            == Some("Managed"),
        encryption_config: r.bool("spec.encryptionConfig") == Some(true),
        containerd_ecr_mirrors: r.bool("spec.containerd.useECRCredentialsForMirrors") == Some(true),
        networking,
        ipv6_only: r
            .string("spec.nonMasqueradeCIDR")
            .is_some_and(|c| c.contains(':')),
        dns_none: r.string("spec.topology.dns.type").as_deref() == Some("None"),
        gossip_name: name.trim_end_matches('.').ends_with(".k8s.local"),
        api_network_load_balancer: r.string("spec.api.loadBalancer.class").as_deref()
            == Some("Network"),
        service_account_issuer: r.string("spec.kubeAPIServer.serviceAccountIssuer"),
        warm_pool: r.warm_pool("spec.warmPool"),
        groups: BTreeMap::new(),
    }
}

/// Reads an InstanceGroup document's tree.
pub(super) fn read_group(c: &mut Checker, tree: &At<Tree>) -> GroupSettings {
    let mut r = Reader { c, tree };
    GroupSettings {
        warm_pool: r.warm_pool("spec.warmPool"),
        karpenter_managed: r.string("spec.manager").as_deref() == Some("Karpenter"),
        // v1alpha2's flat names for kops's rootVolume.encryption and .encryptionKey.
        encrypted_root_with_key: r.bool("spec.rootVolumeEncryption") == Some(true)
            && r.string("spec.rootVolumeEncryptionKey")
                .is_some_and(|k| !k.is_empty()),
    }
}

/// Typed reads of a tree, each wrong type reported at its place.
struct Reader<'c, 'a, 't> {
    c: &'c mut Checker<'a>,
    tree: &'t At<Tree>,
}

impl<'t> Reader<'_, '_, 't> {
    fn present(&self, path: &str) -> bool {
        find(self.tree, path).is_some_and(|(_, v)| !matches!(v.value, Tree::Null))
    }

    fn scalar(&mut self, path: &str, expected: &str) -> Option<(String, &'t At<Tree>)> {
        let tree: &'t At<Tree> = self.tree;
        let (_, v) = find(tree, path)?;
        match &v.value {
            Tree::Scalar(s) => Some((s.clone(), v)),
            Tree::Null => None,
            _ => {
                self.c.error(v, path, format!("must be {expected}"));
                None
            }
        }
    }

    fn bool(&mut self, path: &str) -> Option<bool> {
        let (text, at) = self.scalar(path, "true or false")?;
        match text.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            other => {
                self.c
                    .error(at, path, format!("must be true or false, not {other:?}"));
                None
            }
        }
    }

    fn int(&mut self, path: &str) -> Option<i64> {
        let (text, at) = self.scalar(path, "a whole number")?;
        match text.parse() {
            Ok(n) => Some(n),
            Err(_) => {
                self.c
                    .error(at, path, format!("must be a whole number, not {text:?}"));
                None
            }
        }
    }

    fn string(&mut self, path: &str) -> Option<String> {
        self.scalar(path, "a string").map(|(s, _)| s)
    }

    /// A managed policy's ARN, such as a permissions boundary.
    fn policy_arn(&mut self, path: &str) -> Option<String> {
        let (arn, at) = self.scalar(path, "a managed policy ARN")?;
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        let valid = parts.len() == 6
            && parts[0] == "arn"
            && parts[2] == "iam"
            && parts[5].starts_with("policy/")
            && parts[5].len() > "policy/".len();
        if !valid {
            self.c.error(
                at,
                path,
                format!("{arn:?} is not a managed policy ARN such as arn:aws:iam::123456789012:policy/boundary"),
            );
            return None;
        }
        Some(arn)
    }

    fn strings(&mut self, path: &str) -> Vec<String> {
        let Some((_, v)) = find(self.tree, path) else {
            return Vec::new();
        };
        match &v.value {
            Tree::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    match &item.value {
                        Tree::Scalar(s) => out.push(s.clone()),
                        _ => self.c.error(item, path, "must be a list of strings"),
                    }
                }
                out
            }
            Tree::Null => Vec::new(),
            _ => {
                self.c.error(v, path, "must be a list of strings");
                Vec::new()
            }
        }
    }

    fn entries(&mut self, path: &str) -> Vec<(String, &'t At<Tree>, &'t At<Tree>)> {
        let tree: &'t At<Tree> = self.tree;
        let Some((_, v)) = find(tree, path) else {
            return Vec::new();
        };
        match &v.value {
            Tree::Map(entries) => entries
                .iter()
                .filter_map(|(k, v)| match &k.value {
                    Tree::Scalar(s) => Some((s.clone(), k, v)),
                    _ => None,
                })
                .collect(),
            Tree::Null => Vec::new(),
            _ => {
                self.c.error(v, path, "must be a map");
                Vec::new()
            }
        }
    }

    fn string_map(&mut self, path: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (key, _, value) in self.entries(path) {
            match &value.value {
                Tree::Scalar(s) => {
                    out.insert(key, s.clone());
                }
                Tree::Null => {
                    out.insert(key, String::new());
                }
                _ => self
                    .c
                    .error(value, &format!("{path}.{key}"), "must be a string"),
            }
        }
        out
    }

    /// `spec.externalPolicies`: role key to managed-policy ARNs; `master` is kops's old
    /// name for `control-plane`, and naming both is ambiguous (kops takes either at random).
    fn policy_lists(&mut self, path: &str) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, key_at, _) in self.entries(path) {
            let field = format!("{path}.{key}");
            let arns = self.strings(&field);
            let role_key = if key == "master" {
                "control-plane".to_string()
            } else {
                key.clone()
            };
            if !["control-plane", "node", "bastion", "apiserver"].contains(&role_key.as_str()) {
                self.c.error(
                    key_at,
                    &field,
                    format!("unknown role key {key:?}; valid keys are control-plane (or master), node, bastion and apiserver"),
                );
                continue;
            }
            if out.insert(role_key, arns).is_some() {
                self.c.error(
                    key_at,
                    &field,
                    "names the control plane a second time: kops reads master as control-plane, so give only one of them",
                );
            }
        }
        out
    }

    fn warm_pool(&mut self, path: &str) -> Option<WarmPool> {
        if !self.present(path) {
            return None;
        }
        Some(WarmPool {
            max_size: self.int(&format!("{path}.maxSize")),
            min_size: self.int(&format!("{path}.minSize")).unwrap_or(0),
            enable_lifecycle_hook: self.bool(&format!("{path}.enableLifecycleHook")) == Some(true),
        })
    }
}
