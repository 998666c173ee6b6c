use super::*;
use crate::model::{
    ActualInstanceProfile, ActualRole, DesiredInstanceProfile, DesiredProfileRole, DesiredRole,
    DesiredRolePolicy, Lifecycle, ResourceType, Tags,
};

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeRegions"],"Resource":["*"]}]}"#;

fn desired(additional: Option<&str>) -> DesiredState {
    DesiredState {
        cluster: "c".into(),
        roles: vec![DesiredRole {
            name: "nodes.c".into(),
            path: "/".into(),
            trust_policy: TRUST.into(),
            tags: Tags::new(),
            managed_policies: None,
            owned_only: false,
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        role_policies: vec![
            DesiredRolePolicy {
                role: "nodes.c".into(),
                name: "nodes.c".into(),
                document: Some(POLICY.into()),
                lifecycle: Lifecycle::Sync,
                external: false,
            },
            DesiredRolePolicy {
                role: "nodes.c".into(),
                name: "additional.nodes.c".into(),
                document: additional.map(str::to_string),
                lifecycle: Lifecycle::Sync,
                external: false,
            },
        ],
        instance_profiles: vec![DesiredInstanceProfile {
            name: "nodes.c".into(),
            path: "/".into(),
            tags: Tags::new(),
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        profile_roles: vec![DesiredProfileRole {
            profile: "nodes.c".into(),
            role: "nodes.c".into(),
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        external_profiles: vec![],
        ..DesiredState::default()
    }
}

/// The account as rolecall would leave it for `desired(None)`.
fn converged() -> ActualState {
    let mut actual = ActualState::default();
    actual.roles.insert(
        "nodes.c".into(),
        ActualRole {
            name: "nodes.c".into(),
            id: "AROA1".into(),
            arn: "arn:aws:iam::000000000000:role/nodes.c".into(),
            path: "/".into(),
            trust_policy: TRUST.into(),
            tags: Tags::new(),
            managed_policies: None,
            inline_policies: None,
        },
    );
    actual
        .role_policies
        .insert(("nodes.c".into(), "nodes.c".into()), POLICY.into());
    actual.instance_profiles.insert(
        "nodes.c".into(),
        ActualInstanceProfile {
            name: "nodes.c".into(),
            arn: "arn:aws:iam::000000000000:instance-profile/nodes.c".into(),
            roles: vec!["nodes.c".into()],
            tags: Default::default(),
        },
    );
    actual
}

fn summary(plan: &Plan) -> Vec<(ChangeKind, String, &'static str)> {
    plan.changes
        .iter()
        .map(|c| (c.kind, c.id.to_string(), c.operation.action()))
        .collect()
}

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
    actual.instance_profiles.get_mut("nodes.c").unwrap().roles = vec!["other".into()];
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
    actual
        .instance_profiles
        .get_mut("nodes.c")
        .unwrap()
        .roles
        .clear();
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
fn trusted_principals_are_summarised() {
    assert_eq!(trusted_principals(TRUST), "Service:ec2.amazonaws.com");
    assert_eq!(trusted_principals("nope"), "(unreadable trust policy)");
}

fn with_lifecycle(mut state: DesiredState, l: Lifecycle) -> DesiredState {
    state.for_each_lifecycle(|_, _, lifecycle| *lifecycle = l);
    state
}

fn drifted() -> ActualState {
    let mut actual = converged();
    actual.role_policies.insert(
        ("nodes.c".into(), "nodes.c".into()),
        POLICY.replace("DescribeRegions", "DescribeInstances"),
    );
    actual
}

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
fn an_external_profile_without_a_role_is_reported() {
    let mut desired = desired(None);
    desired.instance_profiles[0].external = true;
    desired.instance_profiles[0].lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    desired.profile_roles.clear();
    let mut actual = converged();
    actual
        .instance_profiles
        .get_mut("nodes.c")
        .unwrap()
        .roles
        .clear();
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

fn tagged(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn owned_by(cluster: &str) -> Tags {
    tagged(&[
        ("KubernetesCluster", cluster),
        (&format!("kubernetes.io/cluster/{cluster}"), "owned"),
    ])
}

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
    actual
        .instance_profiles
        .get_mut("nodes.c")
        .unwrap()
        .roles
        .clear();
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
    let profile = actual.instance_profiles.get_mut("nodes.c").unwrap();
    profile.roles.clear();
    profile.tags = owned_by("other");
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
