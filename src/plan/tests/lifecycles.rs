//! What each lifecycle makes of an outcome: a change, drift, a warning, an error, or nothing.

use super::*;

#[test]
fn ignore_neither_changes_nor_reports_differences() {
    let desired = with_lifecycle(desired(None), Lifecycle::Ignore);
    let plan = plan(&desired, &ActualState::default());
    assert!(
        !plan.has_changes()
            && plan.drift.is_empty()
            && plan.errors.is_empty()
            && plan.warnings.is_empty()
    );
    assert_eq!(
        plan.ignored.len(),
        5,
        "every object is listed as ignored: {:?}",
        plan.ignored
    );
}

#[test]
fn exists_and_warn_if_changes_reports_drift_and_writes_nothing() {
    let desired = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let plan = plan(&desired, &drifted());
    assert!(!plan.has_changes());
    assert!(plan.errors.is_empty());
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(plan.drift[0].id.to_string(), "IAMRolePolicy/nodes.c");
    assert!(plan.drift[0].fields[0]
        .old
        .as_deref()
        .unwrap()
        .contains("DescribeInstances"));
}

#[test]
fn exists_and_warn_if_changes_warns_when_missing() {
    let desired = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let plan = plan(&desired, &ActualState::default());
    assert!(!plan.has_changes() && plan.errors.is_empty());
    let warned: Vec<String> = plan.warnings.iter().map(|w| w.id.to_string()).collect();
    assert_eq!(
        warned,
        [
            "IAMInstanceProfile/nodes.c",
            "IAMInstanceProfileRole/nodes.c",
            "IAMRole/nodes.c",
            "IAMRolePolicy/nodes.c"
        ]
    );
}

#[test]
fn exists_and_validates_makes_drift_and_absence_errors() {
    let desired = with_lifecycle(desired(None), Lifecycle::ExistsAndValidates);
    let plan_drift = plan(&desired, &drifted());
    assert!(!plan_drift.has_changes());
    assert_eq!(plan_drift.drift.len(), 1);
    assert_eq!(plan_drift.errors.len(), 1);
    assert!(plan_drift.errors[0].message.contains("does not match"));
    let plan_missing = plan(&desired, &ActualState::default());
    assert_eq!(plan_missing.errors.len(), 4, "{:?}", plan_missing.errors);
    assert!(plan_missing.errors[0].message.contains("was not found"));
}

#[test]
fn an_unwanted_policy_under_a_checking_lifecycle_is_drift_not_a_deletion() {
    let desired = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let mut actual = converged();
    actual.role_policies.insert(
        ("nodes.c".into(), "additional.nodes.c".into()),
        POLICY.into(),
    );
    let plan = plan(&desired, &actual);
    assert!(!plan.has_changes());
    assert_eq!(
        plan.drift[0].id.to_string(),
        "IAMRolePolicy/additional.nodes.c"
    );
}

#[test]
fn a_denied_read_is_a_warning_only_under_warn_if_insufficient_access() {
    let mut actual = converged();
    actual.role_policies.clear();
    actual.denied.insert(
        ResourceId::new(ResourceType::IamRolePolicy, "nodes.c"),
        "User is not authorized to perform iam:GetRolePolicy".into(),
    );
    let lenient = with_lifecycle(desired(None), Lifecycle::WarnIfInsufficientAccess);
    let plan_lenient = plan(&lenient, &actual);
    assert!(!plan_lenient.has_changes() && plan_lenient.errors.is_empty());
    assert!(plan_lenient.warnings[0]
        .message
        .contains("assuming it is correctly configured"));

    let plan_strict = plan(&desired(None), &actual);
    assert!(!plan_strict.has_changes());
    assert!(plan_strict.errors[0].message.contains("could not be read"));
}

#[test]
fn warn_if_insufficient_access_syncs_what_it_can_read() {
    let desired = with_lifecycle(desired(None), Lifecycle::WarnIfInsufficientAccess);
    assert_eq!(
        summary(&plan(&desired, &drifted())),
        [(
            ChangeKind::Modify,
            "IAMRolePolicy/nodes.c".into(),
            "PutRolePolicy"
        )]
    );
}

#[test]
fn trust_policy_drift_is_reported_not_changed() {
    let desired = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let mut actual = converged();
    actual.roles.get_mut("nodes.c").unwrap().trust_policy =
        TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    let plan = plan(&desired, &actual);
    assert!(!plan.has_changes());
    assert_eq!(plan.drift.len(), 1);
    assert_eq!(plan.drift[0].id.to_string(), "IAMRole/nodes.c");
    assert_eq!(plan.drift[0].fields[0].field, "TrustPolicy");
}
