//! Each kind of object compared: what is missing, different or unwanted, and what is not.

use super::*;

#[test]
fn an_empty_account_gets_everything_created_in_kops_order() {
    let plan = plan(&desired(None), &ActualState::default());
    assert_eq!(
        summary(&plan),
        [
            (
                ChangeKind::Create,
                "IAMInstanceProfile/nodes.c".into(),
                "CreateInstanceProfile"
            ),
            (
                ChangeKind::Create,
                "IAMInstanceProfileRole/nodes.c".into(),
                "AddRoleToInstanceProfile"
            ),
            (ChangeKind::Create, "IAMRole/nodes.c".into(), "CreateRole"),
            (
                ChangeKind::Create,
                "IAMRolePolicy/nodes.c".into(),
                "PutRolePolicy"
            ),
        ]
    );
    assert!(plan.errors.is_empty());
}

#[test]
fn a_converged_account_needs_no_change() {
    let plan = plan(&desired(None), &converged());
    assert!(!plan.has_changes(), "{plan:?}");
}

#[test]
fn formatting_differences_are_not_changes() {
    let mut actual = converged();
    let pretty =
        serde_json::to_string_pretty(&serde_json::from_str::<serde_json::Value>(POLICY).unwrap())
            .unwrap();
    actual
        .role_policies
        .insert(("nodes.c".into(), "nodes.c".into()), pretty);
    actual.roles.get_mut("nodes.c").unwrap().trust_policy = TRUST.replace(
        r#""Action":"sts:AssumeRole""#,
        r#""Action":["sts:AssumeRole"]"#,
    );
    assert!(!plan(&desired(None), &actual).has_changes());
}

#[test]
fn a_changed_trust_policy_is_updated_in_place() {
    let mut actual = converged();
    actual.roles.get_mut("nodes.c").unwrap().trust_policy =
        TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    let plan = plan(&desired(None), &actual);
    assert_eq!(
        summary(&plan),
        [(
            ChangeKind::Modify,
            "IAMRole/nodes.c".into(),
            "UpdateAssumeRolePolicy"
        )]
    );
    let field = &plan.changes[0].fields[0];
    assert!(field.document);
    assert!(field.old.as_deref().unwrap().contains("lambda"));
}

#[test]
fn a_changed_inline_policy_is_put_again() {
    let mut actual = converged();
    actual.role_policies.insert(
        ("nodes.c".into(), "nodes.c".into()),
        POLICY.replace("DescribeRegions", "DescribeInstances"),
    );
    assert_eq!(
        summary(&plan(&desired(None), &actual)),
        [(
            ChangeKind::Modify,
            "IAMRolePolicy/nodes.c".into(),
            "PutRolePolicy"
        )]
    );
}

#[test]
fn a_policy_that_must_not_exist_is_deleted_only_when_present() {
    let mut actual = converged();
    actual.role_policies.insert(
        ("nodes.c".into(), "additional.nodes.c".into()),
        POLICY.into(),
    );
    let plan = plan(&desired(None), &actual);
    assert_eq!(
        summary(&plan),
        [(
            ChangeKind::Delete,
            "IAMRolePolicy/additional.nodes.c".into(),
            "DeleteRolePolicy"
        )]
    );
    assert_eq!(
        plan.changes[0].operation,
        Operation::DeleteRolePolicy {
            role: "nodes.c".into(),
            name: "additional.nodes.c".into()
        }
    );
}

#[test]
fn a_new_additional_policy_is_created() {
    let plan = plan(&desired(Some(POLICY)), &converged());
    assert_eq!(
        summary(&plan),
        [(
            ChangeKind::Create,
            "IAMRolePolicy/additional.nodes.c".into(),
            "PutRolePolicy"
        )]
    );
}

#[test]
fn policies_the_spec_does_not_name_are_left_alone() {
    let mut actual = converged();
    actual
        .role_policies
        .insert(("nodes.c".into(), "someone-elses".into()), POLICY.into());
    assert!(!plan(&desired(None), &actual).has_changes());
}

#[test]
fn a_profile_holding_another_role_is_an_error_not_a_change() {
    let mut actual = converged();
    profile(&mut actual).roles = vec!["other".into()];
    let plan = plan(&desired(None), &actual);
    assert!(!plan.has_changes());
    assert_eq!(plan.errors.len(), 1);
    assert_eq!(
        plan.errors[0].id,
        ResourceId::new(ResourceType::IamInstanceProfileRole, "nodes.c")
    );
    assert!(
        plan.errors[0].message.contains("holds role other"),
        "{}",
        plan.errors[0].message
    );
}

#[test]
fn an_empty_profile_gets_the_role_added() {
    let mut actual = converged();
    profile(&mut actual).roles.clear();
    assert_eq!(
        summary(&plan(&desired(None), &actual)),
        [(
            ChangeKind::Create,
            "IAMInstanceProfileRole/nodes.c".into(),
            "AddRoleToInstanceProfile"
        )]
    );
}

#[test]
fn an_external_profile_without_a_role_is_reported() {
    let mut desired = desired(None);
    desired.instance_profiles[0].external = true;
    desired.instance_profiles[0].lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    desired.profile_roles.clear();
    let mut actual = converged();
    profile(&mut actual).roles.clear();
    let plan = plan(&desired, &actual);
    assert!(
        plan.warnings
            .iter()
            .any(|w| w.message.starts_with("holds no role")),
        "{:?}",
        plan.warnings
    );
}

#[test]
fn trusted_principals_are_summarised() {
    assert_eq!(trusted_principals(TRUST), "Service:ec2.amazonaws.com");
    assert_eq!(trusted_principals("nope"), "(unreadable trust policy)");
}
