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
