//! A role's permissions boundary: set on create, put when it differs, deleted when the spec
//! has none, never judged on an external role, and drift under a lifecycle that does not
//! write.

use super::*;
use crate::model::ExternalProfile;

const BOUNDARY: &str = "arn:aws:iam::000000000000:policy/boundary";
const OTHER: &str = "arn:aws:iam::000000000000:policy/other-boundary";

fn bounded(arn: Option<&str>) -> DesiredState {
    let mut state = desired(None);
    state.roles[0].permissions_boundary = Some(arn.map(str::to_string));
    state
}

fn account_with(arn: Option<&str>) -> ActualState {
    let mut actual = converged();
    actual
        .roles
        .get_mut("nodes.c")
        .unwrap()
        .permissions_boundary = arn.map(str::to_string);
    actual
}

fn role_changes(plan: &Plan) -> Vec<&Change> {
    plan.changes
        .iter()
        .filter(|c| c.id.kind == ResourceType::IamRole)
        .collect()
}

#[test]
fn a_role_is_created_with_its_boundary_and_the_plan_shows_it() {
    let plan = plan(&bounded(Some(BOUNDARY)), &ActualState::default());
    let [create] = role_changes(&plan)[..] else {
        panic!("{plan:?}")
    };
    match &create.operation {
        Operation::CreateRole {
            permissions_boundary,
            ..
        } => assert_eq!(permissions_boundary.as_deref(), Some(BOUNDARY)),
        op => panic!("{op:?}"),
    }
    let field = create
        .fields
        .iter()
        .find(|f| f.field == "PermissionsBoundary")
        .expect("the boundary is shown");
    assert_eq!(
        (field.old.as_deref(), field.new.as_deref()),
        (None, Some(BOUNDARY))
    );
}

#[test]
fn a_role_created_without_a_boundary_shows_none() {
    let plan = plan(&bounded(None), &ActualState::default());
    let [create] = role_changes(&plan)[..] else {
        panic!("{plan:?}")
    };
    assert!(matches!(
        create.operation,
        Operation::CreateRole {
            permissions_boundary: None,
            ..
        }
    ));
    assert!(create
        .fields
        .iter()
        .all(|f| f.field != "PermissionsBoundary"));
}

#[test]
fn a_boundary_the_spec_adds_is_put() {
    let plan = plan(&bounded(Some(BOUNDARY)), &account_with(None));
    assert_eq!(
        summary(&plan),
        [(
            ChangeKind::Modify,
            "IAMRole/nodes.c".into(),
            "PutRolePermissionsBoundary"
        )]
    );
    assert_eq!(
        plan.changes[0].operation,
        Operation::PutRolePermissionsBoundary {
            role: "nodes.c".into(),
            arn: BOUNDARY.into()
        }
    );
    let field = &plan.changes[0].fields[0];
    assert_eq!(field.field, "PermissionsBoundary");
    assert!(field.optional && !field.document);
    assert_eq!(
        (field.old.as_deref(), field.new.as_deref()),
        (None, Some(BOUNDARY))
    );
}

#[test]
fn a_changed_boundary_is_put_again() {
    let plan = plan(&bounded(Some(BOUNDARY)), &account_with(Some(OTHER)));
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| c.operation.clone())
            .collect::<Vec<_>>(),
        [Operation::PutRolePermissionsBoundary {
            role: "nodes.c".into(),
            arn: BOUNDARY.into()
        }]
    );
    let field = &plan.changes[0].fields[0];
    assert_eq!(
        (field.old.as_deref(), field.new.as_deref()),
        (Some(OTHER), Some(BOUNDARY))
    );
}

#[test]
fn a_boundary_the_spec_no_longer_has_is_deleted() {
    let plan = plan(&bounded(None), &account_with(Some(BOUNDARY)));
    assert_eq!(
        plan.changes
            .iter()
            .map(|c| (c.kind, c.operation.clone()))
            .collect::<Vec<_>>(),
        [(
            ChangeKind::Modify,
            Operation::DeleteRolePermissionsBoundary {
                role: "nodes.c".into()
            }
        )]
    );
    let field = &plan.changes[0].fields[0];
    assert_eq!(
        (field.old.as_deref(), field.new.as_deref()),
        (Some(BOUNDARY), None)
    );
}

#[test]
fn an_unchanged_boundary_or_none_on_both_sides_is_in_sync() {
    assert!(!plan(&bounded(Some(BOUNDARY)), &account_with(Some(BOUNDARY))).has_changes());
    assert!(!plan(&bounded(None), &account_with(None)).has_changes());
}

#[test]
fn a_trust_policy_and_a_boundary_both_changed_are_two_calls_on_one_role() {
    let mut actual = account_with(Some(OTHER));
    actual.roles.get_mut("nodes.c").unwrap().trust_policy =
        TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    let plan = plan(&bounded(Some(BOUNDARY)), &actual);
    assert_eq!(
        summary(&plan),
        [
            (
                ChangeKind::Modify,
                "IAMRole/nodes.c".into(),
                "UpdateAssumeRolePolicy"
            ),
            (
                ChangeKind::Modify,
                "IAMRole/nodes.c".into(),
                "PutRolePermissionsBoundary"
            ),
        ]
    );
    assert!(plan.changes.iter().all(|c| c.stage == 0));
}

#[test]
fn an_external_role_s_boundary_is_never_judged() {
    for (spec, account) in [
        (None, Some(BOUNDARY)),
        (Some(BOUNDARY), None),
        (Some(BOUNDARY), Some(OTHER)),
    ] {
        for lifecycle in [Lifecycle::ExistsAndWarnIfChanges, Lifecycle::Sync] {
            let mut desired = bounded(spec);
            desired.roles[0].external = true;
            desired.roles[0].lifecycle = lifecycle;
            let plan = plan(&desired, &account_with(account));
            assert!(
                !plan.has_changes() && plan.drift.is_empty() && plan.errors.is_empty(),
                "{spec:?} against {account:?} under {lifecycle}: {plan:?}"
            );
        }
    }
}

#[test]
fn an_adopted_external_role_with_a_boundary_plans_nothing() {
    let mut desired = desired(None);
    let profile = ExternalProfile {
        arn: "arn:aws:iam::000000000000:instance-profile/theirs".into(),
        name: "theirs".into(),
        groups: vec!["nodes".into()],
        role_kind: "nodes".into(),
        expected_trust_policy: TRUST.into(),
        expected_policy: POLICY.into(),
        expected_additional_policy: None,
    };
    desired.adopt_external_profile(&profile, Some("their-role"));
    let mut actual = converged();
    let mut theirs = actual.roles["nodes.c"].clone();
    theirs.name = "their-role".into();
    theirs.permissions_boundary = Some(BOUNDARY.into());
    actual.roles.insert("their-role".into(), theirs);
    actual
        .role_policies
        .insert(("their-role".into(), "their-role".into()), POLICY.into());
    actual.instance_profiles.insert(
        "theirs".into(),
        ActualInstanceProfile {
            name: "theirs".into(),
            arn: profile.arn.clone(),
            roles: vec!["their-role".into()],
            tags: Tags::new(),
        },
    );
    let plan = plan(&desired, &actual);
    assert!(
        !plan.has_changes() && plan.drift.is_empty() && plan.errors.is_empty(),
        "{plan:?}"
    );
}

#[test]
fn a_boundary_under_a_lifecycle_that_does_not_write_is_drift() {
    let checked = with_lifecycle(bounded(Some(BOUNDARY)), Lifecycle::ExistsAndWarnIfChanges);
    let plan_warn = plan(&checked, &account_with(Some(OTHER)));
    assert!(!plan_warn.has_changes() && plan_warn.errors.is_empty());
    assert_eq!(plan_warn.drift.len(), 1);
    assert_eq!(plan_warn.drift[0].id.to_string(), "IAMRole/nodes.c");
    let field = &plan_warn.drift[0].fields[0];
    assert_eq!(field.field, "PermissionsBoundary");
    assert_eq!(
        (field.old.as_deref(), field.new.as_deref()),
        (Some(OTHER), Some(BOUNDARY))
    );

    let validated = with_lifecycle(bounded(None), Lifecycle::ExistsAndValidates);
    let plan_validate = plan(&validated, &account_with(Some(BOUNDARY)));
    assert!(!plan_validate.has_changes());
    assert_eq!(plan_validate.drift.len(), 1);
    assert_eq!(plan_validate.errors.len(), 1);
    assert!(plan_validate.errors[0].message.contains("does not match"));
}

#[test]
fn a_trust_policy_and_a_boundary_that_drift_together_are_one_drift() {
    let checked = with_lifecycle(bounded(Some(BOUNDARY)), Lifecycle::ExistsAndValidates);
    let mut actual = account_with(None);
    actual.roles.get_mut("nodes.c").unwrap().trust_policy =
        TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    let plan = plan(&checked, &actual);
    assert!(!plan.has_changes());
    assert_eq!(plan.drift.len(), 1, "{:?}", plan.drift);
    let fields: Vec<&str> = plan.drift[0].fields.iter().map(|f| f.field).collect();
    assert_eq!(fields, ["TrustPolicy", "PermissionsBoundary"]);
    assert_eq!(plan.errors.len(), 1, "{:?}", plan.errors);
}

#[test]
fn an_ignored_role_s_boundary_is_not_compared() {
    let ignored = with_lifecycle(bounded(Some(BOUNDARY)), Lifecycle::Ignore);
    let plan = plan(&ignored, &account_with(None));
    assert!(!plan.has_changes() && plan.drift.is_empty());
    let roles = plan
        .ignored
        .iter()
        .filter(|id| id.kind == ResourceType::IamRole)
        .count();
    assert_eq!(roles, 1);
}

#[test]
fn an_unmanaged_boundary_is_left_alone_and_reported() {
    // kops 1.10's roles and the pod roles: a boundary an organisation set stays, and is
    // shown as drift (it used to be passed over in silence).
    let mut state = desired(None);
    state.roles[0].permissions_boundary = None;
    let plan = plan(&state, &account_with(Some(BOUNDARY)));
    assert!(role_changes(&plan).is_empty(), "{plan:?}");
    assert_eq!(plan.drift.len(), 1, "{plan:?}");
    let field = &plan.drift[0].fields[0];
    assert_eq!(
        (field.field, field.old.as_deref(), field.new.as_deref()),
        ("PermissionsBoundary", Some(BOUNDARY), None)
    );
}
