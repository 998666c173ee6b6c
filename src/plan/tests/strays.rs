//! Stray pod roles, deleted part by part under their lifecycles, and object overrides.

use super::*;

fn stray(name: &str, tags: Tags) -> ActualRole {
    ActualRole {
        name: name.into(),
        id: "AROA".into(),
        arn: format!("arn:aws:iam::000000000000:role/{name}"),
        path: "/".into(),
        trust_policy: TRUST.into(),
        tags,
        managed_policies: Some(["arn:aws:iam::aws:policy/ReadOnlyAccess".to_string()].into()),
        inline_policies: Some(vec![name.into()]),
        permissions_boundary: None,
    }
}

fn with_stray(tags: Tags) -> ActualState {
    let mut actual = converged();
    actual.stray_pod_roles.push(stray("old.pods.c", tags));
    actual
}

fn with_overrides(mut d: DesiredState, overrides: &str) -> DesiredState {
    d.pod_role_scope.suffixes = vec![".pods.c".into()];
    let o = crate::lifecycle::parse_overrides(&[overrides.to_string()]).unwrap();
    crate::lifecycle::apply_overrides(&mut d, &o).unwrap();
    d
}

#[test]
fn an_owned_stray_is_deleted_under_sync_policies_first() {
    let plan = plan(&desired(None), &with_stray(owned_by("c")));
    let mut ops: Vec<(u8, &str)> = plan
        .changes
        .iter()
        .map(|c| (c.stage, c.operation.action()))
        .collect();
    ops.sort();
    assert_eq!(
        ops,
        vec![
            (0, "DeleteRolePolicy"),
            (0, "DetachRolePolicy"),
            (1, "DeleteRole")
        ]
    );
}

#[test]
fn deleting_an_owned_stray_needs_nothing_the_plan_must_check() {
    // The stray is not among the roles the spec names, so only its deletion knows it exists.
    let plan = plan(&desired(None), &with_stray(owned_by("c")));
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
}

#[test]
fn a_stray_someone_else_owns_or_nobody_tagged_is_left_alone() {
    for tags in [Tags::new(), owned_by("other")] {
        let plan = plan(&desired(None), &with_stray(tags));
        assert!(plan.changes.is_empty(), "{plan:#?}");
        assert!(plan.warnings[0].message.contains("leaves it alone"));
    }
}

#[test]
fn stray_deletions_obey_type_lifecycles() {
    for lifecycle in ["ExistsAndValidates", "ExistsAndWarnIfChanges", "Ignore"] {
        let d = with_overrides(
            desired(None),
            &format!("IAMRole={lifecycle},IAMRolePolicy={lifecycle},IAMInstanceProfile={lifecycle},IAMInstanceProfileRole={lifecycle}"),
        );
        let plan = plan(&d, &with_stray(owned_by("c")));
        assert!(plan.changes.is_empty(), "{lifecycle}: {plan:#?}");
    }
    // Only checked: shown as drift, each part under its lifecycle.
    let d = with_overrides(desired(None), "IAMRole=ExistsAndWarnIfChanges");
    let checked = plan(&d, &with_stray(owned_by("c")));
    assert!(checked.changes.is_empty(), "{checked:#?}");
    assert_eq!(checked.drift.len(), 3, "{checked:#?}");
}

#[test]
fn an_object_override_can_protect_one_stray() {
    let d = with_overrides(desired(None), "IAMRole/old.pods.c=ExistsAndWarnIfChanges");
    let kept = plan(&d, &with_stray(owned_by("c")));
    assert!(kept.changes.is_empty(), "{kept:#?}");
    assert!(kept.errors.is_empty(), "{kept:#?}");
    // A policy that may not be deleted keeps its role too.
    let d = with_overrides(desired(None), "IAMRolePolicy/old.pods.c=ExistsAndValidates");
    let kept = plan(&d, &with_stray(owned_by("c")));
    assert!(kept.changes.is_empty(), "{kept:#?}");
    assert!(!kept.errors.is_empty());
}

#[test]
fn an_object_override_naming_no_object_and_no_stray_is_an_error() {
    let d = with_overrides(desired(None), "IAMRole/gone.pods.c=ExistsAndWarnIfChanges");
    let plan = plan(&d, &converged());
    assert_eq!(plan.errors.len(), 1, "{plan:#?}");
    assert!(plan.errors[0].message.contains("neither an object"));
}
