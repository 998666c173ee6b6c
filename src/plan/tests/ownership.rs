//! Ownership by tags: another cluster's objects and someone else's are only checked.

use super::*;

#[test]
fn owner_is_decided_by_tags_alone() {
    assert_eq!(Owner::of(&owned_by("c"), "c"), Owner::This);
    assert_eq!(Owner::of(&Tags::new(), "c"), Owner::Unmarked);
    // KubernetesCluster alone names the cluster but does not prove ownership.
    assert_eq!(
        Owner::of(&tagged(&[("KubernetesCluster", "c")]), "c"),
        Owner::Unmarked
    );
    assert_eq!(
        Owner::of(&owned_by("other"), "c"),
        Owner::Other(vec!["other".into()])
    );
    // Claimed by two clusters: not provably ours.
    let mut both = owned_by("c");
    both.extend(tagged(&[("kubernetes.io/cluster/b", "owned")]));
    assert_eq!(Owner::of(&both, "c"), Owner::Other(vec!["b".into()]));
    // `shared` is no claim of ownership.
    assert_eq!(
        Owner::of(&tagged(&[("kubernetes.io/cluster/b", "shared")]), "c"),
        Owner::Unmarked
    );
}

/// The converged account, with the role tagged as `tags`.
fn converged_with_role_tags(tags: Tags) -> ActualState {
    let mut actual = converged();
    actual.roles.get_mut("nodes.c").unwrap().tags = tags;
    actual
}

#[test]
fn another_clusters_role_is_an_error_and_never_written() {
    let mut actual = converged_with_role_tags(owned_by("other"));
    actual
        .role_policies
        .insert(("nodes.c".into(), "nodes.c".into()), "{}".into());
    profile(&mut actual).roles.clear();
    let plan = plan(&desired(Some(POLICY)), &actual);
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(plan.errors.len(), 1, "{plan:#?}");
    assert_eq!(plan.errors[0].id.to_string(), "IAMRole/nodes.c");
    assert!(plan.errors[0].message.contains("belongs to cluster other"));
    // What it holds is shown as drift.
    assert!(plan
        .drift
        .iter()
        .any(|d| d.id.to_string() == "IAMRolePolicy/nodes.c"));
}

#[test]
fn another_clusters_role_under_a_checking_lifecycle_is_a_warning() {
    let actual = converged_with_role_tags(owned_by("other"));
    let plan = plan(
        &with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges),
        &actual,
    );
    assert!(
        plan.errors.is_empty() && plan.changes.is_empty(),
        "{plan:#?}"
    );
    assert!(plan.warnings[0].message.contains("only checks it"));
}

#[test]
fn an_untagged_instance_group_role_is_kops_made_and_managed() {
    let mut actual = converged();
    actual
        .role_policies
        .insert(("nodes.c".into(), "nodes.c".into()), "{}".into());
    let plan = plan(&desired(None), &actual);
    assert_eq!(
        summary(&plan),
        vec![(
            ChangeKind::Modify,
            "IAMRolePolicy/nodes.c".into(),
            "PutRolePolicy"
        )]
    );
}

#[test]
fn another_clusters_profile_gets_no_role() {
    let mut actual = converged();
    profile(&mut actual).roles.clear();
    profile(&mut actual).tags = owned_by("other");
    let plan = plan(&desired(None), &actual);
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(plan.errors[0].id.to_string(), "IAMInstanceProfile/nodes.c");
}

fn irsa_desired() -> DesiredState {
    let mut d = desired(None);
    d.oidc_providers.push(crate::model::DesiredOidcProvider {
        arn: "arn:aws:iam::000000000000:oidc-provider/issuer.example.com".into(),
        url: "https://issuer.example.com".into(),
        client_ids: ["amazonaws.com".to_string(), "sts".to_string()].into(),
        tags: owned_by("c"),
        thumbprints: Vec::new(),
        lifecycle: Lifecycle::Sync,
        external: false,
    });
    d
}

fn with_provider(tags: Tags) -> ActualState {
    let mut actual = converged();
    actual.oidc_providers.insert(
        "arn:aws:iam::000000000000:oidc-provider/issuer.example.com".into(),
        crate::model::ActualOidcProvider {
            arn: "arn:aws:iam::000000000000:oidc-provider/issuer.example.com".into(),
            client_ids: ["amazonaws.com".to_string()].into(),
            tags,
        },
    );
    actual
}

#[test]
fn an_oidc_provider_someone_else_made_is_only_checked() {
    let plan = plan(&irsa_desired(), &with_provider(Tags::new()));
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(
        plan.drift[0].id.to_string(),
        "IAMOIDCProvider/issuer.example.com"
    );
    assert!(plan.warnings[0].message.contains("someone else made it"));
    // Ours: the missing audience is added.
    let plan = plan_of_owned_provider();
    assert_eq!(
        summary(&plan),
        vec![(
            ChangeKind::Modify,
            "IAMOIDCProvider/issuer.example.com".into(),
            "AddClientIDToOpenIDConnectProvider"
        )]
    );
}

fn plan_of_owned_provider() -> Plan {
    plan(&irsa_desired(), &with_provider(owned_by("c")))
}
