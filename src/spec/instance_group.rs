//! One `InstanceGroup` document: its role and instance profile, and the Cluster-only keys
//! that do not belong in it.

use super::arns::is_instance_profile_arn;
use super::later_releases;
use super::raw::RawSpec;
use super::validate::Checker;
use super::{InstanceGroup, InstanceRole, SourceLocation};

/// The instance group named `name` (already checked to be present) with `spec`, from the
/// document at `doc_at`. Its value counts only when the document added no problem.
pub(super) fn instance_group_from(
    c: &mut Checker,
    name: Option<String>,
    spec: RawSpec,
    doc_at: SourceLocation,
) -> Option<InstanceGroup> {
    let role = role_of(c, &spec, &doc_at);
    let iam = spec.iam.unwrap_or_default();
    if let Some(first) = iam
        .service_account_external_permissions
        .as_ref()
        .and_then(|p| p.first())
    {
        c.error(
            first,
            "spec.iam.serviceAccountExternalPermissions",
            "belongs in the Cluster's spec.iam, not in an InstanceGroup",
        );
    }
    if let Some(p) = &iam.pod_identity {
        c.error(
            p,
            "spec.iam.podIdentity",
            "belongs in the Cluster's spec.iam, not in an InstanceGroup",
        );
    }
    if let Some(d) = &spec.service_account_issuer_discovery {
        c.error(
            d,
            "spec.serviceAccountIssuerDiscovery",
            "belongs in the Cluster, not in an InstanceGroup",
        );
    }
    let profile = iam.profile;
    if let Some(p) = &profile {
        if !is_instance_profile_arn(&p.value) {
            c.error(
                p,
                "spec.iam.profile",
                format!(
                    "{:?} is not an instance profile ARN such as arn:aws:iam::123456789012:instance-profile/name",
                    p.value
                ),
            );
        }
    }
    Some(InstanceGroup {
        name: name?,
        role: role?,
        profile: profile.map(|p| p.value),
        location: doc_at,
    })
}

/// `spec.role`: required, and one of kops's three.
fn role_of(c: &mut Checker, spec: &RawSpec, doc_at: &SourceLocation) -> Option<InstanceRole> {
    let Some(r) = &spec.role else {
        c.error_at(
            doc_at,
            "spec.role",
            "is required but missing (Master, Node or Bastion)",
        );
        return None;
    };
    let role = InstanceRole::from_spec_name(&r.value);
    if role.is_none() && !later_releases::refuses("InstanceGroup", "spec.role", Some(&r.value)) {
        c.error(
            r,
            "spec.role",
            format!(
                "unknown instance group role {:?}; valid roles are Master, Node and Bastion",
                r.value
            ),
        );
    }
    role
}
