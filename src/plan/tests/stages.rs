//! The order of changes, and the needs the plan can judge before anything is written.

use super::*;

#[test]
fn roles_and_profiles_come_before_what_depends_on_them() {
    let plan = plan(&desired(Some(POLICY)), &ActualState::default());
    for change in &plan.changes {
        let expected = match change.operation {
            Operation::CreateRole { .. } | Operation::CreateInstanceProfile { .. } => 0,
            _ => 1,
        };
        assert_eq!(change.stage, expected, "{}", change.id);
    }
}

#[test]
fn a_policy_on_a_missing_role_that_will_not_be_created_is_an_error() {
    let mut desired = desired(None);
    desired.roles[0].lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    let plan = plan(&desired, &ActualState::default());
    assert!(
        plan.errors
            .iter()
            .any(|e| e.id.to_string() == "IAMRolePolicy/nodes.c"
                && e.message.contains("needs IAMRole/nodes.c")),
        "{:?}",
        plan.errors
    );
}

#[test]
fn a_role_in_a_missing_profile_that_will_not_be_created_is_an_error() {
    let mut desired = desired(None);
    desired.instance_profiles[0].lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    let mut actual = converged();
    actual.instance_profiles.clear();
    let plan = plan(&desired, &actual);
    let needs: Vec<(String, &str)> = plan
        .errors
        .iter()
        .map(|e| (e.id.to_string(), e.message.as_str()))
        .filter(|(_, m)| m.starts_with("needs"))
        .collect();
    assert_eq!(
        needs,
        [(
            "IAMInstanceProfileRole/nodes.c".to_string(),
            "needs IAMInstanceProfile/nodes.c, which does not exist and which rolecall will not create (lifecycle ExistsAndWarnIfChanges)"
        )]
    );
}

#[test]
fn a_trusted_principal_rolecall_does_not_read_is_left_to_iam() {
    let mut desired = desired(None);
    desired.roles[0].trust_policy = TRUST.replace(
        r#"{"Service":"ec2.amazonaws.com"}"#,
        r#"{"AWS":"arn:aws:iam::111111111111:role/elsewhere"}"#,
    );
    let plan = plan(&desired, &ActualState::default());
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(
        actions(&plan),
        [
            "CreateInstanceProfile",
            "AddRoleToInstanceProfile",
            "CreateRole",
            "PutRolePolicy"
        ]
    );
}

#[test]
fn a_change_on_an_unreadable_role_is_not_a_dependency_error() {
    let desired = with_lifecycle(desired(None), Lifecycle::WarnIfInsufficientAccess);
    let mut actual = ActualState::default();
    actual.denied.insert(
        ResourceId::new(ResourceType::IamRole, "nodes.c"),
        "User is not authorized to perform iam:GetRole".into(),
    );
    let plan = plan(&desired, &actual);
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    assert_eq!(
        actions(&plan),
        [
            "CreateInstanceProfile",
            "AddRoleToInstanceProfile",
            "PutRolePolicy"
        ]
    );
}

fn actions(plan: &Plan) -> Vec<&'static str> {
    plan.changes.iter().map(|c| c.operation.action()).collect()
}
