//! kops 1.36's service-account roles (IRSA) and its IAM OIDC provider.
//!
//! With `spec.iam.useServiceAccountExternalPermissions`, kops 1.36 moves each addon's
//! permissions off the control plane's policy into a role of its own, trusted by the
//! cluster's OIDC issuer for the addon's service account (the roles of
//! upup/pkg/fi/cloudup/bootstrapchannelbuilder at v1.36.2, each built by the addon's
//! `iam.go`). `spec.iam.serviceAccountExternalPermissions` adds the user's own, and
//! cert-manager gets one whenever it manages hosted zones. Each role is named
//! `<name>.<namespace>.sa.<cluster>` (a `*` in the namespace written `wildcard`, truncated
//! to 64 characters), tagged like the cluster's other IAM plus the service account, and has
//! an inline policy of the same name, no instance profile.

use std::collections::BTreeSet;

use super::builder::{
    ccm, cluster_autoscaler, dns_controller, ebs_csi_driver, kms, load_balancer_controller,
    node_termination_handler_sqs, Context,
};
use super::policy::{document, Policy, Principal, Statement, ValueSet};
use super::{additional, cloud_tags};
use crate::desired::gojson::Node;
use crate::desired::pod_roles::{truncate_role_name, PodContext, PodRoleSummary};
use crate::model::{DesiredOidcProvider, DesiredRole, DesiredRolePolicy, DesiredState, Lifecycle};
use crate::spec::kops136::Kops136Spec;
use crate::spec::{ClusterSpec, InputError};

/// kops's thumbprints for its OIDC provider: the SHA-1 of the two root CAs S3 may serve
/// the discovery documents with (pkg/model/awsmodel/oidc_provider.go).
pub const THUMBPRINTS: [&str; 2] = [
    "9e99a48a9960b14926bb7f3b02e22da2b0ab7280",
    "a9d53002e97e00e043244f3d170d6f4c414104fd",
];

/// kops's `IAMNameForServiceAccountRole`.
pub fn role_name(name: &str, namespace: &str, cluster: &str) -> String {
    truncate_role_name(&format!(
        "{name}.{}.sa.{cluster}",
        namespace.replace('*', "wildcard")
    ))
}

/// The issuer of the cluster's service-account tokens, as kops 1.36 fills it in:
/// `kubeAPIServer.serviceAccountIssuer`, else the discovery store's URL (`memfs://x` stands
/// for `https://x` in kops's tests), else `https://api.internal.<cluster>`.
pub fn issuer(spec: &ClusterSpec, k: &Kops136Spec) -> Result<String, String> {
    if let Some(issuer) = &k.service_account_issuer {
        return Ok(issuer.clone());
    }
    match &spec.service_account_issuer_discovery {
        Some(d) => {
            if let Some(rest) = d.discovery_store.strip_prefix("memfs://") {
                let parts: Vec<&str> = rest.split('/').filter(|p| !p.is_empty()).collect();
                return Ok(format!("https://{}", parts.join("/")));
            }
            crate::desired::pod_roles::issuer_url(&d.discovery_store, spec.region.as_deref())
        }
        None => Ok(format!("https://api.internal.{}", spec.name)),
    }
}

/// One addon role: its service account and how its policy is built.
struct AddonRole {
    namespace: &'static str,
    name: &'static str,
    build: fn(&ClusterSpec, &Kops136Spec, &Context, &mut Policy),
}

/// The addon roles the spec gives, in kops's order.
fn addon_roles(spec: &ClusterSpec, k: &Kops136Spec) -> Vec<AddonRole> {
    let irsa = k.use_service_account_external_permissions;
    let mut roles = Vec::new();
    let mut add = |on: bool,
                   name: &'static str,
                   build: fn(&ClusterSpec, &Kops136Spec, &Context, &mut Policy)| {
        if on {
            roles.push(AddonRole {
                namespace: "kube-system",
                name,
                build,
            });
        }
    };
    let dns = !k.dns_none;
    add(
        irsa && dns && k.publishes_dns_records() && k.external_dns_provider == "dns-controller",
        "dns-controller",
        |_, _, ctx, p| dns_controller(ctx, p),
    );
    add(
        irsa && dns && k.external_dns_provider == "external-dns",
        "external-dns",
        |_, _, ctx, p| dns_controller(ctx, p),
    );
    add(
        irsa && k.cluster_autoscaler,
        "cluster-autoscaler",
        |_, _, _, p| cluster_autoscaler(p),
    );
    // Not gated on service-account permissions: cert-manager always works this way.
    add(k.cert_manager.is_some(), "cert-manager", cert_manager);
    add(
        irsa && k.node_termination_handler,
        "aws-node-termination-handler",
        |_, _, _, p| node_termination_handler_sqs(p),
    );
    add(
        irsa && k.load_balancer_controller.is_some(),
        "aws-load-balancer-controller",
        |_, k, _, p| {
            let lbc = k.load_balancer_controller.clone().unwrap_or_default();
            load_balancer_controller(p, lbc.waf, lbc.wafv2, lbc.shield)
        },
    );
    add(
        irsa && k.networking.kube_router,
        "kube-router",
        |_, _, _, p| p.cluster_tagged(&["ec2:ModifyInstanceAttribute"]),
    );
    add(irsa, "aws-cloud-controller-manager", |_, k, _, p| {
        ccm(p, k.networking.kubenet, k.nlb_security_group_managed)
    });
    add(
        irsa && k.ebs_csi_driver_managed,
        "ebs-csi-controller-sa",
        |_, k, _, p| ebs_csi_driver(p, k.snapshot_controller),
    );
    add(irsa && k.karpenter, "karpenter", karpenter);
    let _ = spec;
    roles
}

fn cert_manager(_: &ClusterSpec, k: &Kops136Spec, ctx: &Context, p: &mut Policy) {
    let zones: Vec<String> = k
        .cert_manager
        .as_ref()
        .map(|c| c.hosted_zone_ids.clone())
        .unwrap_or_default()
        .iter()
        .map(|id| format!("arn:{}:route53:::hostedzone/{id}", ctx.partition))
        .collect();
    p.push(Statement::allow(
        ValueSet::one("route53:ListResourceRecordSets"),
        ValueSet::list(&zones),
    ));
    p.push(
        Statement::allow(
            ValueSet::one("route53:ChangeResourceRecordSets"),
            ValueSet::list(&zones),
        )
        .when(
            "ForAllValues:StringLike",
            &[(
                "route53:ChangeResourceRecordSetsNormalizedRecordNames",
                Node::strings(&["_acme-challenge.*"]),
            )],
        )
        .when(
            "ForAllValues:StringEquals",
            &[(
                "route53:ChangeResourceRecordSetsRecordTypes",
                Node::strings(&["TXT"]),
            )],
        ),
    );
    p.push(Statement::allow(
        ValueSet::list(&["route53:GetChange"]),
        ValueSet::list(&[format!("arn:{}:route53:::change/*", ctx.partition)]),
    ));
    p.push(Statement::allow(
        ValueSet::list(&["route53:ListHostedZonesByName"]),
        ValueSet::list(&["*"]),
    ));
}

fn karpenter(spec: &ClusterSpec, k: &Kops136Spec, _: &Context, p: &mut Policy) {
    p.unconditional(&[
        "ssm:GetParameter",
        "ec2:DescribeImages",
        "ec2:RunInstances",
        "ec2:DescribeSubnets",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeLaunchTemplates",
        "ec2:DescribeInstances",
        "ec2:DescribeInstanceStatus",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeInstanceTypeOfferings",
        "ec2:DescribeCapacityReservations",
        "ec2:DescribePlacementGroups",
        "ec2:DeleteLaunchTemplate",
        "ec2:CreateTags",
        "ec2:CreateLaunchTemplate",
        "ec2:CreateFleet",
        "ec2:DescribeSpotPriceHistory",
        "pricing:GetProducts",
        "ec2:TerminateInstances",
        "iam:PassRole",
        "iam:TagInstanceProfile",
        "iam:AddRoleToInstanceProfile",
        "iam:RemoveRoleFromInstanceProfile",
        "iam:DeleteInstanceProfile",
        "iam:GetInstanceProfile",
        "iam:ListInstanceProfiles",
    ]);
    // Root volumes encrypted with a customer key: EC2 calls KMS for Karpenter.
    let customer_keys = spec.instance_groups.iter().any(|ig| {
        k.groups
            .get(&ig.name)
            .is_some_and(|g| g.karpenter_managed && g.encrypted_root_with_key)
    });
    if customer_keys {
        kms(p, false);
    }
}

/// kops's trust policy for a service account: its issuer's provider, for the account's
/// `sub` only (`StringLike` when the namespace has a `*`).
fn trust_policy(
    partition: &str,
    account: &str,
    issuer_host: &str,
    namespace: &str,
    name: &str,
) -> String {
    let operator = if namespace.contains('*') {
        "StringLike"
    } else {
        "StringEquals"
    };
    let statement = Statement {
        effect: "Allow".into(),
        principal: Principal {
            federated: Some(format!(
                "arn:{partition}:iam::{account}:oidc-provider/{issuer_host}"
            )),
            service: None,
        },
        action: ValueSet::one("sts:AssumeRoleWithWebIdentity"),
        ..Statement::default()
    }
    .when(
        operator,
        &[(
            &format!("{issuer_host}:sub"),
            Node::str(format!("system:serviceaccount:{namespace}:{name}")),
        )],
    );
    document(&[statement])
}

/// The names of the addons' roles (and so of their inline policies): kops's own policies,
/// which the lint only warns about, as it does for the instance groups' policies.
pub fn addon_role_names(spec: &ClusterSpec, k: &Kops136Spec) -> Vec<String> {
    addon_roles(spec, k)
        .iter()
        .map(|a| role_name(a.name, a.namespace, &spec.name))
        .collect()
}

/// Whether kops 1.36 makes any service-account role or OIDC provider for the spec: they
/// name the account, which then has to be asked for.
pub fn any(spec: &ClusterSpec, k: &Kops136Spec) -> bool {
    !addon_roles(spec, k).is_empty()
        || !spec.service_account_permissions.is_empty()
        || spec
            .service_account_issuer_discovery
            .as_ref()
            .is_some_and(|d| d.enable_aws_oidc_provider)
}

/// Adds kops 1.36's service-account roles and OIDC provider to the desired state.
pub fn add(
    spec: &ClusterSpec,
    k: &Kops136Spec,
    pods: &PodContext,
    state: &mut DesiredState,
    summary: &mut PodRoleSummary,
    errors: &mut Vec<InputError>,
) {
    let partition = pods.arn_prefix.trim_start_matches("arn:").to_string();
    let region = spec.region.clone().unwrap_or_default();
    let ctx = Context {
        partition: partition.clone(),
        region: region.clone(),
        // Before the zone is looked up (the check before any call, `annotations`), a
        // stand-in: the update itself builds these roles again with the zone's id.
        hosted_zone_id: k.publishes_dns_records().then(|| {
            spec.dns_zone
                .clone()
                .unwrap_or_else(|| crate::desired::dns_zone::STAND_IN_ID.to_string())
        }),
    };
    let issuer_url = match issuer(spec, k) {
        Ok(url) => url,
        Err(message) => {
            errors.push(InputError::at(
                spec.location.clone(),
                "spec.serviceAccountIssuerDiscovery.discoveryStore",
                message,
            ));
            return;
        }
    };
    let issuer_host = issuer_url.trim_start_matches("https://").to_string();

    if let Some(d) = spec
        .service_account_issuer_discovery
        .as_ref()
        .filter(|d| d.enable_aws_oidc_provider)
    {
        let mut clients = vec![crate::desired::pod_roles::DEFAULT_AUDIENCE.to_string()];
        clients.extend(d.additional_audiences.iter().cloned());
        state.oidc_providers.push(DesiredOidcProvider {
            arn: format!(
                "arn:{partition}:iam::{}:oidc-provider/{issuer_host}",
                pods.account_id
            ),
            url: issuer_url.clone(),
            client_ids: clients.into_iter().collect(),
            tags: cloud_tags(k, &spec.name, &spec.name),
            thumbprints: THUMBPRINTS.iter().map(|t| t.to_string()).collect(),
            lifecycle: Lifecycle::Sync,
            external: false,
        });
    }

    let mut push = |namespace: &str,
                    name: &str,
                    policy: Option<String>,
                    managed: Option<BTreeSet<String>>| {
        let role = role_name(name, namespace, &spec.name);
        let mut tags = cloud_tags(k, &role, &spec.name);
        tags.insert("service-account.kops.k8s.io/name".into(), name.into());
        tags.insert(
            "service-account.kops.k8s.io/namespace".into(),
            namespace.replace('*', "wildcard"),
        );
        summary.service_accounts.push((
            namespace.to_string(),
            name.to_string(),
            pods.role_arn(&role),
        ));
        state.roles.push(DesiredRole {
            name: role.clone(),
            path: "/".into(),
            trust_policy: trust_policy(&partition, &pods.account_id, &issuer_host, namespace, name),
            tags,
            managed_policies: managed,
            permissions_boundary: Some(k.permissions_boundary.clone()),
            // kops's own, by its tags: a role of that name someone else made is only reported.
            owned_only: true,
            lifecycle: Lifecycle::Sync,
            external: false,
        });
        state.role_policies.push(DesiredRolePolicy {
            role: role.clone(),
            name: role,
            document: policy,
            lifecycle: Lifecycle::Sync,
            external: false,
        });
    };

    for addon in addon_roles(spec, k) {
        let mut p = Policy::new(&spec.name, &partition, &region);
        (addon.build)(spec, k, &ctx, &mut p);
        match p.to_json() {
            // kops attaches nothing to an addon's role, and so detaches nothing.
            Some(doc) => push(addon.namespace, addon.name, Some(doc), None),
            None => errors.push(InputError::at(
                spec.location.clone(),
                "spec.externalDns.provider",
                format!(
                    "{}'s role would have no statement (the cluster publishes no DNS records); kops 1.36 fails here too",
                    addon.name
                ),
            )),
        }
    }
    for sa in &spec.service_account_permissions {
        if sa.name.contains('*') {
            errors.push(InputError::at(
                sa.location.clone(),
                "spec.iam.serviceAccountExternalPermissions.name",
                format!(
                    "service account name cannot contain a wildcard: {}",
                    sa.name
                ),
            ));
            continue;
        }
        let policy = sa
            .inline_policy
            .as_ref()
            .and_then(|statements| additional::render(statements));
        // kops's `external-<role>` task attaches these and detaches the rest; with none
        // there is no task, and the role's attachments are left alone.
        let managed: BTreeSet<String> = sa.policy_arns.iter().cloned().collect();
        push(
            &sa.namespace,
            &sa.name,
            policy,
            (!managed.is_empty()).then_some(managed),
        );
    }
}
