//! The two passes of the pod-role builder (docs/architecture.md, "Two passes"). The pod
//! roles trust the roles the nodes and masters run with, and those are known only once the
//! instance profiles the spec names are read. So the builder runs first with a stand-in
//! account and the spec's own role names, into a scratch state, to find every input error
//! before any AWS call; and again, for real, once the account is known.

use crate::cloud::Cloud;
use crate::desired::kops136::{self, service_accounts};
use crate::desired::pod_roles::{self, PodContext, PodRoleSummary};
use crate::desired::{group_role_name, partition_for_region};
use crate::error::Error;
use crate::model::DesiredState;
use crate::spec::{ClusterSpec, Generation, InputErrors, InstanceRole};

/// The account of the first pass: any twelve digits make the same names and errors.
const STAND_IN_ACCOUNT: &str = "000000000000";

/// The first pass: the pod roles built without AWS, into a state that is thrown away, only
/// for their input errors.
pub fn check_before_any_call(cluster: &ClusterSpec) -> Result<(), InputErrors> {
    let context = spec_context(cluster, STAND_IN_ACCOUNT);
    pod_roles::add_pod_roles(cluster, &context, &mut DesiredState::default()).map(drop)
}

/// The pod roles in an account the user gave: the ARNs follow from the names, so no AWS
/// call is needed (`annotations --account-id`).
pub fn in_given_account(
    cluster: &ClusterSpec,
    account: &str,
    desired: &mut DesiredState,
) -> Result<PodRoleSummary, InputErrors> {
    pod_roles::add_pod_roles(cluster, &spec_context(cluster, account), desired)
}

/// Which node and master roles the second pass uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BaseRoles {
    /// The spec's own names; enough for the annotations, which need only the account.
    FromSpec,
    /// The roles the nodes and masters really run with: rolecall's own, those found in the
    /// instance profiles the spec names, or, when the spec has no such group, those of the
    /// cluster's running instances.
    Resolved,
}

/// The second pass: the pod roles in the account of the credentials. With
/// `BaseRoles::Resolved`, `desired` must already hold the roles of the external profiles.
pub async fn in_callers_account(
    cloud: &Cloud,
    cluster: &ClusterSpec,
    desired: &mut DesiredState,
    base: BaseRoles,
) -> Result<PodRoleSummary, Error> {
    let kops136_roles = cluster
        .kops136
        .as_ref()
        .filter(|_| cluster.generation.generation == Generation::Kops136)
        .is_some_and(|k| service_accounts::any(cluster, k));
    // kube2iam, kiam and the 1.10 generation's IRSA roles trust or grant on base roles.
    let needs_base_roles =
        cluster.pod_identity.is_some() || !cluster.service_account_permissions.is_empty();
    let has_pod_roles = needs_base_roles || kops136_roles;
    let mut context = spec_context(cluster, "");
    if has_pod_roles {
        context.account_id = cloud.account_id().await?;
    }
    if base == BaseRoles::Resolved {
        context.node_roles = roles_of(
            cloud,
            cluster,
            desired,
            InstanceRole::Node,
            needs_base_roles,
        )
        .await?;
        context.master_roles = roles_of(
            cloud,
            cluster,
            desired,
            InstanceRole::Master,
            needs_base_roles,
        )
        .await?;
    }
    pod_roles::add_pod_roles(cluster, &context, desired).map_err(Error::PodRoles)
}

/// A context from the spec alone: its own node and master role names, and `account`.
fn spec_context(cluster: &ClusterSpec, account: &str) -> PodContext {
    let arn_prefix = match cluster.generation.generation {
        Generation::Kops110 => partition_for_region(cluster.region.as_deref())
            .arn_prefix
            .to_string(),
        Generation::Kops136 => format!(
            "arn:{}",
            kops136::partition(cluster.region.as_deref().unwrap_or("")).0
        ),
    };
    let roles = |role: InstanceRole| vec![(group_role_name(cluster, role), true)];
    PodContext {
        account_id: account.to_string(),
        arn_prefix,
        node_roles: roles(InstanceRole::Node),
        master_roles: roles(InstanceRole::Master),
    }
}

/// The roles of one kind, each with whether rolecall manages it. The running instances are
/// asked only when pod roles need the role and the spec has no group of that kind.
async fn roles_of(
    cloud: &Cloud,
    cluster: &ClusterSpec,
    desired: &DesiredState,
    role: InstanceRole,
    needed: bool,
) -> Result<Vec<(String, bool)>, Error> {
    let mut roles = Vec::new();
    if cluster
        .instance_groups
        .iter()
        .any(|ig| ig.role == role && ig.profile.is_none())
    {
        roles.push((group_role_name(cluster, role), true));
    }
    for profile in desired
        .external_profiles
        .iter()
        .filter(|p| p.role_kind == role.iam_prefix())
    {
        if let Some(link) = desired
            .profile_roles
            .iter()
            .find(|l| l.profile == profile.name)
        {
            roles.push((link.role.clone(), false));
        }
    }
    let in_spec = cluster.instance_groups.iter().any(|ig| ig.role == role);
    if roles.is_empty() && needed && !in_spec {
        let found = cloud
            .roles_of_running_instances(&cluster.name, role.policy_key())
            .await?;
        roles.extend(found.into_iter().map(|r| (r, false)));
    }
    Ok(roles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_spec::cluster;

    const STORE: &str = "  configBase: s3://state/c.k8s.local\n";

    #[test]
    fn the_given_account_names_the_roles_with_no_call() {
        let body = "  iam:\n    podIdentity:\n      mode: kube2iam\n      roles:\n      - name: billing\n        namespaces: [billing]\n        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]\n";
        let spec = cluster("c.k8s.local", &format!("{STORE}{body}"));
        assert_eq!(check_before_any_call(&spec), Ok(()));
        let mut desired = DesiredState::default();
        let summary = in_given_account(&spec, "123456789012", &mut desired).unwrap();
        assert_eq!(
            summary.app_roles,
            [(
                "arn:aws:iam::123456789012:role/billing.pods.c.k8s.local".to_string(),
                vec!["billing".to_string()]
            )]
        );
        assert!(desired
            .roles
            .iter()
            .any(|r| r.name == "billing.pods.c.k8s.local"));
    }

    #[test]
    fn the_first_pass_finds_pod_role_errors_before_any_call() {
        // Namespace `*` is spelt `wildcard` in role names: these two would share one role.
        let oidc = "  serviceAccountIssuerDiscovery:\n    discoveryStore: https://oidc.example.com\n    enableAWSOIDCProvider: true\n";
        let sa = |namespace: &str| {
            format!("    - name: dns\n      namespace: '{namespace}'\n      aws:\n        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]\n")
        };
        let body = format!(
            "{STORE}{oidc}  iam:\n    serviceAccountExternalPermissions:\n{}{}",
            sa("*"),
            sa("wildcard")
        );
        let errors = check_before_any_call(&cluster("c.k8s.local", &body)).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert!(
            errors.0[0].message.contains("dns.wildcard.sa.c.k8s.local"),
            "{errors}"
        );
    }
}
