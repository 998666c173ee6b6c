//! The inline policy of each instance-group role, as kops 1.36 builds it
//! (pkg/model/iam/iam_builder.go at v1.36.2: `BuildAWSPolicy` per role and the `add...`
//! helpers). Each function below is one of kops's helpers; the order of the explicit
//! statements is kops's order, the action sets sort themselves.

use super::policy::{Policy, Statement, ValueSet};
use super::s3;
use crate::desired::gojson::Node;
use crate::desired::BuildError;
use crate::spec::kops136::Kops136Spec;
use crate::spec::{ClusterSpec, InstanceRole};

/// What the policy builder is given beside the spec: kops's `PolicyBuilder` fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub partition: String,
    pub region: String,
    /// The hosted zone, when the cluster publishes DNS records.
    pub hosted_zone_id: Option<String>,
}

/// The inline policy of `role`, as kops 1.36 writes it. `lifecycle_hook`: a group of this
/// role has a warm pool with a lifecycle hook.
pub fn role_policy(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    ctx: &Context,
    role: InstanceRole,
    lifecycle_hook: bool,
) -> Result<String, BuildError> {
    let mut p = Policy::new(&spec.name, &ctx.partition, &ctx.region);
    match role {
        InstanceRole::Master => control_plane(spec, k, ctx, &mut p)?,
        InstanceRole::ApiServer => api_server(spec, k, &mut p, lifecycle_hook)?,
        InstanceRole::Node => node(spec, k, &mut p, lifecycle_hook)?,
        // Bastions need nothing; IAM refuses an empty policy, so kops grants a trivial action.
        InstanceRole::Bastion => p.unconditional(&["ec2:DescribeRegions"]),
    }
    Ok(p.to_json().expect("every role's policy has a statement"))
}

fn control_plane(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    ctx: &Context,
    p: &mut Policy,
) -> Result<(), BuildError> {
    etcd_manager(p);
    nodeup(k, p, false);
    if k.kops_controller_ipam() {
        p.unconditional(&["ec2:DescribeNetworkInterfaces"]);
    }
    s3::add_s3_permissions(spec, k, p, s3::Reader::ControlPlane)?;
    kms(p, k.encryption_config);
    dns_controller(ctx, p);
    if !k.use_service_account_external_permissions {
        ebs_csi_driver(p, k.snapshot_controller);
        ccm(p, k.networking.kubenet, k.nlb_security_group_managed);
        if let Some(lbc) = &k.load_balancer_controller {
            load_balancer_controller(p, lbc.waf, lbc.wafv2, lbc.shield);
        }
        cluster_autoscaler(p);
        if k.node_termination_handler_queue_mode {
            node_termination_handler_sqs(p);
        }
    }
    registry_and_cni(k, p, InstanceRole::Master);
    Ok(())
}

fn api_server(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    p: &mut Policy,
    warm_pool: bool,
) -> Result<(), BuildError> {
    nodeup(k, p, warm_pool);
    s3::add_s3_permissions(spec, k, p, s3::Reader::ApiServer)?;
    kms(p, k.encryption_config);
    registry_and_cni(k, p, InstanceRole::ApiServer);
    Ok(())
}

fn node(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    p: &mut Policy,
    lifecycle_hook: bool,
) -> Result<(), BuildError> {
    nodeup(k, p, lifecycle_hook);
    if !k.kops_controller_for_node_config() {
        // Workers of a legacy gossip cluster run protokube, which finds its seeds in EC2.
        p.unconditional(&["ec2:DescribeInstances"]);
        s3::add_s3_permissions(spec, k, p, s3::Reader::Node)?;
    }
    registry_and_cni(k, p, InstanceRole::Node);
    Ok(())
}

/// The end of every role's policy but the bastions': the registry and the CNI. kops grants
/// Cilium's ENI permissions to the control plane and the API servers, kube-router's to
/// the nodes; the rest to all three.
fn registry_and_cni(k: &Kops136Spec, p: &mut Policy, role: InstanceRole) {
    if k.allow_container_registry {
        ecr(p);
    }
    if k.containerd_ecr_mirrors {
        ecr_pull_through(p);
    }
    if k.networking.amazon_vpc {
        amazon_vpc_cni(p);
    }
    if k.networking.cilium_eni && role != InstanceRole::Node {
        cilium_eni(p);
    }
    if k.calico_src_dst_check() {
        p.unconditional(&[
            "ec2:DescribeInstances",
            "ec2:ModifyNetworkInterfaceAttribute",
        ]);
    }
    if k.networking.kube_router && role == InstanceRole::Node {
        p.unconditional(&["ec2:ModifyInstanceAttribute"]);
    }
    if k.networking.kindnet {
        p.unconditional(&["ec2:ModifyInstanceAttribute"]);
    }
}

fn nodeup(k: &Kops136Spec, p: &mut Policy, lifecycle_hook: bool) {
    if lifecycle_hook {
        p.cluster_tagged(&["autoscaling:CompleteLifecycleAction"]);
        p.unconditional(&["autoscaling:DescribeLifecycleHooks"]);
    }
    p.unconditional(&["ec2:DescribeInstanceTypes"]);
    if k.kops_controller_ipam() {
        p.unconditional(&["ec2:AssignIpv6Addresses"]);
    }
}

fn etcd_manager(p: &mut Policy) {
    p.unconditional(&[
        "ec2:DescribeInstances",
        "ec2:DescribeRegions",
        "ec2:DescribeVolumes",
    ]);
    let cluster = Node::str(p.cluster.as_str());
    p.push(
        Statement::allow(ValueSet::one("ec2:AttachVolume"), ValueSet::list(&["*"])).when(
            "StringEquals",
            &[
                ("aws:ResourceTag/k8s.io/role/master", Node::str("1")),
                ("aws:ResourceTag/KubernetesCluster", cluster),
            ],
        ),
    );
}

/// kops's `addKMSIAMPolicies`: the data-plane actions go through EC2 or S3 unless the role
/// calls KMS itself (an API server with an encryption provider), or the region is unknown.
pub(super) fn kms(p: &mut Policy, bypass_via_service: bool) {
    p.unconditional(&["kms:CreateGrant", "kms:DescribeKey"]);
    let data = [
        "kms:Decrypt",
        "kms:Encrypt",
        "kms:GenerateDataKey*",
        "kms:ReEncrypt*",
    ];
    if bypass_via_service || p.region.is_empty() {
        p.unconditional(&data);
    } else {
        p.kms_data_plane(&data);
    }
}

/// kops's `AddDNSControllerPermissions`: only when there is a hosted zone.
pub(super) fn dns_controller(ctx: &Context, p: &mut Policy) {
    let Some(zone) = ctx.hosted_zone_id.as_deref().filter(|z| !z.is_empty()) else {
        return;
    };
    let zone = zone.trim_start_matches('/');
    let zone = zone.strip_prefix("hostedzone/").unwrap_or(zone);
    let partition = &ctx.partition;
    p.push(Statement::allow(
        ValueSet::of(&[
            "route53:ChangeResourceRecordSets",
            "route53:ListResourceRecordSets",
            "route53:GetHostedZone",
        ]),
        ValueSet::list(&[format!("arn:{partition}:route53:::hostedzone/{zone}")]),
    ));
    p.push(Statement::allow(
        ValueSet::list(&["route53:GetChange"]),
        ValueSet::list(&[format!("arn:{partition}:route53:::change/*")]),
    ));
    p.push(Statement::allow(
        ValueSet::list(&["route53:ListHostedZones", "route53:ListTagsForResource"]),
        ValueSet::list(&["*"]),
    ));
}

pub(super) fn ebs_csi_driver(p: &mut Policy, snapshots: bool) {
    kms(p, false);
    if snapshots {
        p.unconditional(&[
            "ec2:CreateSnapshot",
            "ec2:DescribeAvailabilityZones",
            "ec2:DescribeSnapshots",
        ]);
        p.cluster_tagged(&["ec2:DeleteSnapshot", "ec2:EnableFastSnapshotRestores"]);
        p.ec2_create_action(&["CreateSnapshot"], &["volume", "snapshot"]);
        let cluster = Node::str(p.cluster.as_str());
        let snapshot = format!("arn:{}:ec2:*:*:snapshot/*", p.partition);
        p.push(
            Statement::allow(
                ValueSet::one("ec2:CreateVolume"),
                ValueSet::list(&[snapshot]),
            )
            .when(
                "StringEquals",
                &[("aws:ResourceTag/KubernetesCluster", cluster)],
            ),
        );
    }
    p.unconditional(&[
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeTags",
        "ec2:DescribeVolumes",
        "ec2:DescribeVolumesModifications",
        "ec2:DescribeVolumeStatus",
    ]);
    p.cluster_tagged(&[
        "ec2:AttachVolume",
        "ec2:DeleteVolume",
        "ec2:DetachVolume",
        "ec2:ModifyVolume",
    ]);
    p.ec2_create_action(&["CopyVolumes", "CreateVolume"], &["volume", "snapshot"]);
}

/// The AWS cloud controller manager. `cloud_routes`: kubenet, whose routes it writes.
pub(super) fn ccm(p: &mut Policy, cloud_routes: bool, nlb_security_groups: bool) {
    p.unconditional(&[
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeTags",
        "ec2:DescribeInstances",
        "ec2:DescribeRegions",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcs",
        "ec2:DescribeInstanceTopology",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerPolicies",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "iam:CreateServiceLinkedRole",
        "kms:DescribeKey",
    ]);
    p.cluster_tagged(&[
        "ec2:ModifyInstanceAttribute",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "ec2:RevokeSecurityGroupIngress",
        "elasticloadbalancing:AttachLoadBalancerToSubnets",
        "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
        "elasticloadbalancing:CreateLoadBalancerListeners",
        "elasticloadbalancing:CreateLoadBalancerPolicy",
        "elasticloadbalancing:ConfigureHealthCheck",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteLoadBalancerListeners",
        "elasticloadbalancing:DetachLoadBalancerFromSubnets",
        "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
        "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
    ]);
    if nlb_security_groups {
        p.cluster_tagged(&["elasticloadbalancing:SetSecurityGroups"]);
    }
    p.cluster_tagged_create(&[
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:CreateTargetGroup",
    ]);
    p.ec2_create_action(&["CreateSecurityGroup"], &["security-group"]);
    if cloud_routes {
        p.cluster_tagged(&["ec2:CreateRoute", "ec2:DeleteRoute"]);
    }
}

pub(super) fn load_balancer_controller(p: &mut Policy, waf: bool, wafv2: bool, shield: bool) {
    p.unconditional(&[
        "cognito-idp:DescribeUserPoolClient",
        "acm:DescribeCertificate",
        "acm:ListCertificates",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeInstances",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeVpcPeeringConnections",
        "ec2:DescribeVpcs",
        "ec2:DescribeAccountAttributes",
        "ec2:GetSecurityGroupsForVpc",
        "elasticloadbalancing:DescribeCapacityReservation",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListenerCertificates",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:DescribeTrustStores",
    ]);
    if waf {
        p.unconditional(&[
            "elasticloadbalancing:SetWebACL",
            "waf-regional:AssociateWebACL",
            "waf-regional:DisassociateWebACL",
            "waf-regional:GetWebACL",
            "waf-regional:GetWebACLForResource",
        ]);
    }
    if wafv2 {
        p.unconditional(&[
            "elasticloadbalancing:SetWebACL",
            "wafv2:AssociateWebACL",
            "wafv2:DisassociateWebACL",
            "wafv2:GetWebACL",
            "wafv2:GetWebACLForResource",
        ]);
    }
    if shield {
        p.unconditional(&[
            "shield:GetSubscriptionState",
            "shield:DescribeProtection",
            "shield:CreateProtection",
            "shield:DeleteProtection",
        ]);
    }
    p.cluster_tagged(&[
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:DeleteSecurityGroup",
        "ec2:RevokeSecurityGroupIngress",
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:AddTags",
        "elasticloadbalancing:DeleteListener",
        "elasticloadbalancing:DeleteLoadBalancer",
        "elasticloadbalancing:DeleteRule",
        "elasticloadbalancing:DeleteTargetGroup",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:ModifyCapacityReservation",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyListenerAttributes",
        "elasticloadbalancing:ModifyLoadBalancerAttributes",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:ModifyTargetGroup",
        "elasticloadbalancing:ModifyTargetGroupAttributes",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:RemoveTags",
        "elasticloadbalancing:SetIpAddressType",
        "elasticloadbalancing:SetSecurityGroups",
        "elasticloadbalancing:SetSubnets",
    ]);
    p.cluster_tagged_create(&[
        "elasticloadbalancing:CreateListener",
        "elasticloadbalancing:CreateLoadBalancer",
        "elasticloadbalancing:CreateRule",
        "elasticloadbalancing:CreateTargetGroup",
    ]);
    p.unconditional(&["elasticloadbalancing:SetRulePriorities"]);
    p.ec2_create_action(&["CreateSecurityGroup"], &["security-group"]);
}

/// kops adds `ec2:DescribeInstanceTypes` once more without `awsUseStaticInstanceList`; it
/// is in the list already, so the setting changes nothing.
pub(super) fn cluster_autoscaler(p: &mut Policy) {
    p.cluster_tagged(&[
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]);
    p.unconditional(&[
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements",
    ]);
}

pub(super) fn node_termination_handler_sqs(p: &mut Policy) {
    p.unconditional(&[
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeTags",
        "ec2:DescribeInstances",
        "sqs:DeleteMessage",
        "sqs:ReceiveMessage",
    ]);
    p.cluster_tagged(&["autoscaling:CompleteLifecycleAction"]);
}

fn ecr(p: &mut Policy) {
    p.unconditional(&[
        "ecr:GetAuthorizationToken",
        "ecr:BatchCheckLayerAvailability",
        "ecr:GetDownloadUrlForLayer",
        "ecr:GetRepositoryPolicy",
        "ecr:DescribeRepositories",
        "ecr:ListImages",
        "ecr:BatchGetImage",
    ]);
}

fn ecr_pull_through(p: &mut Policy) {
    p.unconditional(&[
        "ecr:ReplicateImage",
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
        "ecr:TagResource",
    ]);
}

fn amazon_vpc_cni(p: &mut Policy) {
    p.unconditional(&[
        "ec2:AssignPrivateIpAddresses",
        "ec2:AttachNetworkInterface",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeInstances",
        "ec2:DescribeTags",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeSubnets",
        "ec2:DetachNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:UnassignPrivateIpAddresses",
    ]);
    let eni = format!("arn:{}:ec2:*:*:network-interface/*", p.partition);
    p.push(Statement::allow(
        ValueSet::list(&["ec2:CreateTags"]),
        ValueSet::list(&[eni]),
    ));
}

fn cilium_eni(p: &mut Policy) {
    p.unconditional(&[
        "ec2:DescribeSubnets",
        "ec2:AttachNetworkInterface",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "ec2:CreateNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSecurityGroups",
        "ec2:DeleteNetworkInterface",
        "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:DescribeVpcs",
        "ec2:CreateTags",
        "ec2:DescribeRouteTables",
        "ec2:DescribeTags",
        "ec2:DescribeInstances",
    ]);
}
