//! The statements of kops 1.10's masters, nodes and bastions policies, in kops's order
//! (pkg/model/iam/iam_builder.go at tag 1.10.0).
//!
//! Legacy mode (`spec.iam.legacy`, the default when `spec.iam` is absent) grants broad
//! wildcards; strict mode lists the calls each component makes. The action lists and their
//! order are kops's and must not be re-sorted: the output is compared byte for byte.

use super::document::{Statement, Values};
use super::stores::{self, S3Location};
use super::{partition_for_region, BuildError};
use crate::desired::dns_zone::{self, ZoneQuery};
use crate::spec::{ClusterSpec, InstanceRole};

const CLUSTER_TAG_EC2: &str = "ec2:ResourceTag/KubernetesCluster";
const CLUSTER_TAG_AUTOSCALING: &str = "autoscaling:ResourceTag/KubernetesCluster";

/// What every rule looks at.
struct Context<'a> {
    spec: &'a ClusterSpec,
    role: InstanceRole,
    legacy: bool,
    arn_prefix: &'static str,
}

impl Context<'_> {
    fn ecr(&self) -> bool {
        self.spec.iam.legacy || self.spec.iam.allow_container_registry
    }

    /// kops 1.10 decoded specs case-insensitively, so `Calico:` selected Calico too.
    fn networking(&self, provider: &str) -> bool {
        self.spec
            .networking
            .as_deref()
            .is_some_and(|n| n.eq_ignore_ascii_case(provider))
    }

    fn s3_arn(&self, path: &str) -> String {
        format!("{}:s3:::{path}", self.arn_prefix)
    }
}

pub(super) fn statements(
    spec: &ClusterSpec,
    role: InstanceRole,
) -> Result<Vec<Statement>, BuildError> {
    let cx = Context {
        spec,
        role,
        legacy: spec.iam.legacy,
        arn_prefix: partition_for_region(spec.region.as_deref()).arn_prefix,
    };
    match role {
        InstanceRole::Master => master(&cx),
        InstanceRole::Node => node(&cx),
        InstanceRole::Bastion => Ok(vec![bastion()]),
        // The spec layer refuses the role for kops 1.10, which has none such.
        InstanceRole::ApiServer => Err(BuildError {
            field: "spec.role".into(),
            message: "kops 1.10 has no APIServer instance groups".into(),
        }),
    }
}

fn master(cx: &Context) -> Result<Vec<Statement>, BuildError> {
    let mut out = Vec::new();
    out.extend(master_ec2(cx));
    out.extend(master_autoscaling(cx));
    out.extend(master_load_balancing(cx));
    out.push(server_certificates());
    out.extend(s3_state(cx)?);
    out.extend(s3_backups(cx)?);
    out.extend(kms(cx));
    if let Some(zone) = hosted_zone_id(cx.spec)? {
        out.extend(route53_zone(&zone));
    }
    if cx.legacy {
        out.push(route53_list_zones());
    }
    if cx.ecr() {
        out.push(ecr());
    }
    // Legacy masters have ec2:* already.
    if !cx.legacy && cx.networking("romana") {
        out.extend(romana(cx));
    }
    if !cx.legacy && cx.networking("amazonvpc") {
        out.push(amazon_vpc_cni());
    }
    Ok(out)
}

fn node(cx: &Context) -> Result<Vec<Statement>, BuildError> {
    let mut out = vec![Statement::allow(
        Values::array(&["ec2:DescribeInstances", "ec2:DescribeRegions"]),
        Values::any(),
    )];
    out.extend(s3_state(cx)?);
    if cx.legacy {
        if let Some(zone) = hosted_zone_id(cx.spec)? {
            out.extend(route53_zone(&zone));
        }
        out.push(route53_list_zones());
    }
    if cx.ecr() {
        out.push(ecr());
    }
    // kops skips these in legacy mode even for nodes, which have no ec2:* to cover them.
    if !cx.legacy && cx.networking("amazonvpc") {
        out.push(amazon_vpc_cni());
    }
    Ok(out)
}

/// Bastions need nothing, but IAM rejects an empty policy.
fn bastion() -> Statement {
    Statement::allow(Values::array(&["ec2:DescribeRegions"]), Values::any())
}

fn master_ec2(cx: &Context) -> Vec<Statement> {
    if cx.legacy {
        return vec![Statement::allow(Values::array(&["ec2:*"]), Values::any())];
    }
    vec![
        Statement::allow(
            Values::array(&[
                "ec2:DescribeInstances",
                "ec2:DescribeRegions",
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVolumes",
            ]),
            Values::any(),
        ),
        Statement::allow(
            Values::array(&[
                "ec2:CreateSecurityGroup",
                "ec2:CreateTags",
                "ec2:CreateVolume",
                "ec2:DescribeVolumesModifications",
                "ec2:ModifyInstanceAttribute",
                "ec2:ModifyVolume",
            ]),
            Values::any(),
        ),
        Statement::allow(
            Values::of(&[
                "ec2:AttachVolume",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:CreateRoute",
                "ec2:DeleteRoute",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteVolume",
                "ec2:DetachVolume",
                "ec2:RevokeSecurityGroupIngress",
            ]),
            Values::any(),
        )
        .when(CLUSTER_TAG_EC2, &cx.spec.name),
    ]
}

fn master_autoscaling(cx: &Context) -> Vec<Statement> {
    if cx.legacy {
        return vec![Statement::allow(
            Values::array(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeAutoScalingInstances",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeTags",
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
            ]),
            Values::any(),
        )];
    }
    vec![
        Statement::allow(
            Values::of(&[
                "autoscaling:DescribeAutoScalingGroups",
                "autoscaling:DescribeLaunchConfigurations",
                "autoscaling:DescribeTags",
            ]),
            Values::any(),
        ),
        Statement::allow(
            Values::of(&[
                "autoscaling:SetDesiredCapacity",
                "autoscaling:TerminateInstanceInAutoScalingGroup",
                "autoscaling:UpdateAutoScalingGroup",
            ]),
            Values::any(),
        )
        .when(CLUSTER_TAG_AUTOSCALING, &cx.spec.name),
    ]
}

fn master_load_balancing(cx: &Context) -> Vec<Statement> {
    if cx.legacy {
        return vec![Statement::allow(
            Values::array(&["elasticloadbalancing:*"]),
            Values::any(),
        )];
    }
    vec![
        Statement::allow(
            Values::of(&[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:AttachLoadBalancerToSubnets",
                "elasticloadbalancing:ApplySecurityGroupsToLoadBalancer",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:CreateLoadBalancerPolicy",
                "elasticloadbalancing:CreateLoadBalancerListeners",
                "elasticloadbalancing:ConfigureHealthCheck",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancerListeners",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DetachLoadBalancerFromSubnets",
                "elasticloadbalancing:DeregisterInstancesFromLoadBalancer",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:RegisterInstancesWithLoadBalancer",
                "elasticloadbalancing:SetLoadBalancerPoliciesForBackendServer",
            ]),
            Values::any(),
        ),
        // Network and application load balancers (ELBv2).
        Statement::allow(
            Values::of(&[
                "ec2:DescribeVpcs",
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateListener",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteListener",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeLoadBalancerPolicies",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
                "elasticloadbalancing:ModifyListener",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:RegisterTargets",
                "elasticloadbalancing:SetLoadBalancerPoliciesOfListener",
            ]),
            Values::any(),
        ),
    ]
}

fn server_certificates() -> Statement {
    Statement::allow(
        Values::of(&["iam:ListServerCertificates", "iam:GetServerCertificate"]),
        Values::any(),
    )
}

/// Per state root: list the bucket, then the role's object access.
fn s3_state(cx: &Context) -> Result<Vec<Statement>, BuildError> {
    let mut out = Vec::new();
    for root in stores::state_roots(cx.spec)? {
        out.push(Statement::allow(
            Values::of(&["s3:GetBucketLocation", "s3:ListBucket"]),
            Values::Array(vec![cx.s3_arn(&root.bucket)]),
        ));
        out.extend(s3_objects(cx, &root));
    }
    Ok(out)
}

fn s3_objects(cx: &Context, root: &S3Location) -> Vec<Statement> {
    let base = root.object_path();
    let under = |suffix: &str| cx.s3_arn(&format!("{base}/{suffix}"));
    let read = |suffix: &str| {
        Statement::allow(Values::array(&["s3:Get*"]), Values::Of(vec![under(suffix)]))
    };
    if cx.legacy {
        return vec![Statement::allow(
            Values::array(&["s3:*"]),
            Values::Of(vec![under("*")]),
        )];
    }
    match cx.role {
        InstanceRole::Master => vec![read("*")],
        InstanceRole::Node => {
            let mut out = vec![Statement::allow(
                Values::array(&["s3:Get*"]),
                Values::Of(node_state_paths(cx).iter().map(|p| under(p)).collect()),
            )];
            if cx.networking("kuberouter") {
                out.push(read("pki/private/kube-router/*"));
            }
            if cx.networking("calico") || cx.networking("cilium") {
                out.push(read("pki/private/calico-client/*"));
            }
            out
        }
        InstanceRole::Bastion | InstanceRole::ApiServer => Vec::new(),
    }
}

/// What nodes read from the state store, sorted as kops sorts the full ARNs.
fn node_state_paths(cx: &Context) -> Vec<&'static str> {
    // With bootstrap tokens, nodes get their kubelet certificate from the node authorizer.
    let kubelet = if cx.spec.enable_bootstrap_auth_token {
        "pki/private/node-authorizer-client/*"
    } else {
        "pki/private/kubelet/*"
    };
    let mut paths = vec![
        "addons/*",
        "cluster.spec",
        "config",
        "instancegroup/*",
        "pki/issued/*",
        "pki/private/kube-proxy/*",
        "pki/ssh/*",
        "secrets/dockerconfig",
        kubelet,
    ];
    // The ARNs share their prefix, so sorting the suffixes sorts the ARNs.
    paths.sort_unstable();
    paths
}

/// The master writes etcd backups, in legacy and strict mode alike.
fn s3_backups(cx: &Context) -> Result<Vec<Statement>, BuildError> {
    Ok(stores::backup_stores(cx.spec)?
        .iter()
        .map(|store| {
            Statement::allow(
                Values::array(&["s3:GetObject", "s3:DeleteObject", "s3:PutObject"]),
                Values::Of(vec![cx.s3_arn(&format!("{}/*", store.object_path()))]),
            )
        })
        .collect())
}

/// The etcd members' KMS keys, in spec order and not de-duplicated, as kops collects them.
fn kms(cx: &Context) -> Vec<Statement> {
    let keys: Vec<String> = cx
        .spec
        .etcd_clusters
        .iter()
        .flat_map(|c| &c.members)
        .filter_map(|m| m.kms_key_id.clone())
        .collect();
    if keys.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    if cx.legacy {
        out.push(Statement::allow(
            Values::of(&["kms:ListGrants", "kms:RevokeGrant"]),
            Values::Array(keys.clone()),
        ));
    }
    out.push(Statement::allow(
        Values::of(&[
            "kms:CreateGrant",
            "kms:Decrypt",
            "kms:DescribeKey",
            "kms:Encrypt",
            "kms:GenerateDataKey*",
            "kms:ReEncrypt*",
        ]),
        Values::Array(keys),
    ));
    out
}

/// The Route53 hosted zone the cluster's records live in, if it has one: none for a gossip
/// cluster, else the ID kops reads from its DNSZone task. A zone to be looked up by name or
/// by cluster name must have been looked up first (`reconcile` puts the ID in the spec).
fn hosted_zone_id(spec: &ClusterSpec) -> Result<Option<String>, BuildError> {
    match dns_zone::query(spec)? {
        ZoneQuery::Gossip => Ok(None),
        ZoneQuery::Id(id) => Ok(Some(id)),
        ZoneQuery::ByName { name, .. } => Err(not_looked_up(format!(
            "the ID of the hosted zone {name:?} must be looked up in Route53 before the policies are built"
        ))),
        ZoneQuery::Search { cluster, .. } => Err(not_looked_up(format!(
            "is not set: the hosted zone of {cluster:?} must be looked up in Route53 before the policies are built"
        ))),
    }
}

fn not_looked_up(message: String) -> BuildError {
    BuildError {
        field: dns_zone::FIELD.into(),
        message,
    }
}

/// kops writes the `arn:aws` partition here in every region.
fn route53_zone(zone_id: &str) -> Vec<Statement> {
    vec![
        Statement::allow(
            Values::of(&[
                "route53:ChangeResourceRecordSets",
                "route53:ListResourceRecordSets",
                "route53:GetHostedZone",
            ]),
            Values::Array(vec![format!("arn:aws:route53:::hostedzone/{zone_id}")]),
        ),
        Statement::allow(
            Values::array(&["route53:GetChange"]),
            Values::array(&["arn:aws:route53:::change/*"]),
        ),
        route53_list_zones(),
    ]
}

fn route53_list_zones() -> Statement {
    Statement::allow(Values::array(&["route53:ListHostedZones"]), Values::any())
}

fn ecr() -> Statement {
    Statement::allow(
        Values::of(&[
            "ecr:GetAuthorizationToken",
            "ecr:BatchCheckLayerAvailability",
            "ecr:GetDownloadUrlForLayer",
            "ecr:GetRepositoryPolicy",
            "ecr:DescribeRepositories",
            "ecr:ListImages",
            "ecr:BatchGetImage",
        ]),
        Values::any(),
    )
}

/// Romana's VPC router manages routes.
fn romana(cx: &Context) -> Vec<Statement> {
    vec![
        Statement::allow(
            Values::array(&["ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs"]),
            Values::any(),
        ),
        Statement::allow(
            Values::array(&["ec2:CreateRoute", "ec2:DeleteRoute", "ec2:ReplaceRoute"]),
            Values::any(),
        )
        .when(CLUSTER_TAG_EC2, &cx.spec.name),
    ]
}

/// The AWS VPC CNI plugin attaches network interfaces and addresses to instances.
fn amazon_vpc_cni() -> Statement {
    Statement::allow(
        Values::array(&[
            "ec2:CreateNetworkInterface",
            "ec2:AttachNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:DetachNetworkInterface",
            "ec2:DescribeNetworkInterfaces",
            "ec2:DescribeInstances",
            "ec2:ModifyNetworkInterfaceAttribute",
            "ec2:AssignPrivateIpAddresses",
            "tag:TagResources",
        ]),
        Values::any(),
    )
}

#[cfg(test)]
mod tests;
