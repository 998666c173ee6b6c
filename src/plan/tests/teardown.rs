//! `delete`'s plan: everything this cluster's tags prove it owns, in IAM's order, under
//! lifecycles; untagged look-alikes and other clusters' objects listed, never touched; and
//! the IAM of a removed instance group in `update`.

use super::*;
use crate::model::{ActualOidcProvider, DesiredOidcProvider};

const PROVIDER: &str = "arn:aws:iam::000000000000:oidc-provider/issuer.example.com";
const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";

fn teardown(desired: &DesiredState, actual: &ActualState) -> Plan {
    plan_with(
        desired,
        actual,
        PlanOptions {
            teardown: true,
            ..PlanOptions::default()
        },
    )
}

/// The one-role cluster with an OIDC provider.
fn cluster() -> DesiredState {
    let mut d = desired(Some(POLICY));
    d.oidc_providers.push(DesiredOidcProvider {
        arn: PROVIDER.into(),
        url: "https://issuer.example.com".into(),
        client_ids: ["sts.amazonaws.com".to_string()].into(),
        tags: owned_by("c"),
        thumbprints: vec![],
        lifecycle: Lifecycle::Sync,
        external: false,
    });
    d
}

/// The account rolecall leaves for `cluster()`, read whole, everything tagged `tags`.
fn account(tags: Tags) -> ActualState {
    let mut actual = converged();
    let role = actual.roles.get_mut("nodes.c").unwrap();
    role.tags = tags.clone();
    role.inline_policies = Some(vec!["nodes.c".into(), "additional.nodes.c".into()]);
    role.managed_policies = Some([READ_ONLY.to_string()].into());
    profile(&mut actual).tags = tags.clone();
    actual.oidc_providers.insert(
        PROVIDER.into(),
        ActualOidcProvider {
            arn: PROVIDER.into(),
            client_ids: ["sts.amazonaws.com".to_string()].into(),
            tags,
        },
    );
    actual
}

fn staged(plan: &Plan) -> Vec<(u8, &'static str, String)> {
    let mut ops: Vec<_> = plan
        .changes
        .iter()
        .map(|c| (c.stage, c.operation.action(), c.id.to_string()))
        .collect();
    ops.sort();
    ops
}

fn with_overrides(mut d: DesiredState, overrides: &str) -> DesiredState {
    let o = crate::lifecycle::parse_overrides(&[overrides.to_string()]).unwrap();
    crate::lifecycle::apply_overrides(&mut d, &o).unwrap();
    d
}

#[test]
fn an_owned_cluster_is_deleted_parts_first_and_the_provider_last() {
    let plan = teardown(&cluster(), &account(owned_by("c")));
    assert!(
        plan.errors.is_empty() && plan.not_owned.is_empty(),
        "{plan:#?}"
    );
    assert!(plan.changes.iter().all(|c| c.kind == ChangeKind::Delete));
    assert_eq!(
        staged(&plan),
        [
            (
                0,
                "DeleteRolePolicy",
                "IAMRolePolicy/additional.nodes.c".into()
            ),
            (0, "DeleteRolePolicy", "IAMRolePolicy/nodes.c".into()),
            (
                0,
                "DetachRolePolicy",
                format!("IAMRolePolicyAttachment/nodes.c/{READ_ONLY}")
            ),
            (
                0,
                "RemoveRoleFromInstanceProfile",
                "IAMInstanceProfileRole/nodes.c".into()
            ),
            (
                1,
                "DeleteInstanceProfile",
                "IAMInstanceProfile/nodes.c".into()
            ),
            (1, "DeleteRole", "IAMRole/nodes.c".into()),
            (
                2,
                "DeleteOpenIDConnectProvider",
                "IAMOIDCProvider/issuer.example.com".into()
            ),
        ]
    );
}

#[test]
fn nothing_left_plans_nothing() {
    let plan = teardown(&cluster(), &ActualState::default());
    assert_eq!(plan, Plan::default());
}

#[test]
fn untagged_look_alikes_and_other_clusters_objects_are_listed_not_touched() {
    for (tags, says) in [
        (Tags::new(), "not tagged kubernetes.io/cluster/c=owned"),
        (owned_by("other"), "belongs to cluster other"),
        // Claimed by this cluster and another: not provably this one's.
        (
            tagged(&[
                ("kubernetes.io/cluster/c", "owned"),
                ("KubernetesCluster", "other"),
            ]),
            "belongs to cluster other",
        ),
    ] {
        let plan = teardown(&cluster(), &account(tags));
        assert!(plan.changes.is_empty(), "{plan:#?}");
        let listed: Vec<String> = plan.not_owned.iter().map(|p| p.id.to_string()).collect();
        assert_eq!(
            listed,
            [
                "IAMInstanceProfile/nodes.c",
                "IAMOIDCProvider/issuer.example.com",
                "IAMRole/nodes.c"
            ]
        );
        assert!(
            plan.not_owned.iter().all(|p| p.message.contains(says)),
            "{plan:#?}"
        );
    }
}

#[test]
fn an_owned_role_in_a_profile_rolecall_may_not_delete_is_kept() {
    let mut actual = account(owned_by("c"));
    profile(&mut actual).tags = Tags::new();
    let plan = teardown(&cluster(), &actual);
    assert!(plan
        .changes
        .iter()
        .all(|c| c.id.kind == ResourceType::IamOidcProvider));
    assert_eq!(
        plan.not_owned[0].id.to_string(),
        "IAMInstanceProfile/nodes.c"
    );
    assert!(plan.warnings[0]
        .message
        .contains("is in instance profile nodes.c"));
}

#[test]
fn a_lifecycle_that_does_not_write_keeps_the_role_and_all_on_it() {
    for overrides in [
        "IAMRole/nodes.c=Ignore",
        "IAMRole=ExistsAndWarnIfChanges",
        "IAMRolePolicy/additional.nodes.c=ExistsAndWarnIfChanges",
    ] {
        let plan = teardown(
            &with_overrides(cluster(), overrides),
            &account(owned_by("c")),
        );
        let left: Vec<&str> = plan.changes.iter().map(|c| c.operation.action()).collect();
        assert!(
            !left
                .iter()
                .any(|a| ["DeleteRole", "DeleteRolePolicy", "DetachRolePolicy"].contains(a)),
            "{overrides}: {left:?}"
        );
        assert!(plan.errors.is_empty(), "{overrides}: {plan:#?}");
    }
    // Ignored: listed as such.
    let plan = teardown(
        &with_overrides(cluster(), "IAMOIDCProvider=Ignore"),
        &account(owned_by("c")),
    );
    assert_eq!(
        plan.ignored,
        [ResourceId::new(
            ResourceType::IamOidcProvider,
            "issuer.example.com"
        )]
    );
    assert!(plan
        .changes
        .iter()
        .all(|c| c.id.kind != ResourceType::IamOidcProvider));
}

#[test]
fn external_objects_are_never_deleted() {
    let mut d = cluster();
    d.for_each_lifecycle(|_, _, _| {});
    d.roles[0].external = true;
    d.instance_profiles[0].external = true;
    d.oidc_providers[0].external = true;
    let plan = teardown(&d, &account(owned_by("c")));
    assert!(plan.changes.is_empty(), "{plan:#?}");
}

#[test]
fn owned_strays_and_removed_groups_go_too() {
    let mut d = cluster();
    d.removed_groups = vec!["bastions.c".into()];
    let mut actual = account(owned_by("c"));
    let mut bastions = actual.roles["nodes.c"].clone();
    bastions.name = "bastions.c".into();
    bastions.inline_policies = Some(vec!["bastions.c".into()]);
    actual.removed_group_roles.push(bastions.clone());
    let mut stray = bastions.clone();
    stray.name = "old.pods.c".into();
    stray.inline_policies = Some(vec![]);
    stray.managed_policies = Some(Default::default());
    actual.stray_pod_roles.push(stray);
    let plan = teardown(&d, &actual);
    let deleted: Vec<String> = plan
        .changes
        .iter()
        .filter(|c| c.id.kind == ResourceType::IamRole)
        .map(|c| c.id.name.clone())
        .collect();
    assert_eq!(deleted, ["bastions.c", "nodes.c", "old.pods.c"]);
}

#[test]
fn update_deletes_an_owned_removed_group_and_lists_an_untagged_one() {
    let mut d = desired(None);
    d.removed_groups = vec!["bastions.c".into()];
    let mut actual = converged();
    let role = ActualRole {
        name: "bastions.c".into(),
        tags: owned_by("c"),
        inline_policies: Some(vec!["bastions.c".into()]),
        managed_policies: Some(Default::default()),
        ..actual.roles["nodes.c"].clone()
    };
    actual.removed_group_roles.push(role);
    actual.instance_profiles.insert(
        "bastions.c".into(),
        ActualInstanceProfile {
            name: "bastions.c".into(),
            arn: "arn:aws:iam::000000000000:instance-profile/bastions.c".into(),
            roles: vec!["bastions.c".into()],
            tags: owned_by("c"),
        },
    );
    let plan = plan(&d, &actual);
    assert_eq!(
        staged(&plan),
        [
            (0, "DeleteRolePolicy", "IAMRolePolicy/bastions.c".into()),
            (
                0,
                "RemoveRoleFromInstanceProfile",
                "IAMInstanceProfileRole/bastions.c".into()
            ),
            (
                1,
                "DeleteInstanceProfile",
                "IAMInstanceProfile/bastions.c".into()
            ),
            (1, "DeleteRole", "IAMRole/bastions.c".into()),
        ]
    );
    // kops made it: untagged, reported, untouched.
    actual.removed_group_roles[0].tags = Tags::new();
    actual.instance_profiles.get_mut("bastions.c").unwrap().tags = Tags::new();
    let untagged = super::plan(&d, &actual);
    assert!(untagged.changes.is_empty(), "{untagged:#?}");
    assert_eq!(untagged.not_owned.len(), 2);
    assert!(untagged.not_owned[0]
        .message
        .starts_with("its instance group's kind is no longer in the spec, but it is not tagged"));
    // An override on the removed group's role keeps it, and names something.
    let kept = super::plan(
        &with_overrides(d.clone(), "IAMRole/bastions.c=ExistsAndWarnIfChanges"),
        &{
            let mut a = actual.clone();
            a.removed_group_roles[0].tags = owned_by("c");
            a
        },
    );
    assert!(kept.errors.is_empty(), "{kept:#?}");
    assert!(kept
        .changes
        .iter()
        .all(|c| c.id.kind != ResourceType::IamRole));
}

#[test]
fn a_removed_group_read_refused_is_not_deleted() {
    let mut d = cluster();
    d.removed_groups = vec!["bastions.c".into()];
    let mut actual = account(owned_by("c"));
    let mut bastions = actual.roles["nodes.c"].clone();
    bastions.name = "bastions.c".into();
    bastions.inline_policies = None;
    actual.removed_group_roles.push(bastions);
    let plan = teardown(&d, &actual);
    assert!(plan
        .changes
        .iter()
        .all(|c| c.operation.role() != Some("bastions.c")));
    assert!(plan.warnings[0].message.contains("could not be listed"));
}
