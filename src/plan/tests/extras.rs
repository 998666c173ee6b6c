//! What a managed role holds beyond the spec: drift of each kind, the flag that removes
//! extra inline policies from instance-group roles, owned pod roles' removal, ownership.

use super::*;

const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const BOUNDARY: &str = "arn:aws:iam::000000000000:policy/org-boundary";

/// The converged account, read whole (every inline policy and attachment listed).
fn read_whole() -> ActualState {
    let mut actual = converged();
    let role = actual.roles.get_mut("nodes.c").unwrap();
    role.inline_policies = Some(vec!["nodes.c".into()]);
    role.managed_policies = Some(Default::default());
    actual
}

/// `read_whole` with an extra inline policy `Allow * on *` named `extra`.
fn with_extra_policy() -> ActualState {
    let mut actual = read_whole();
    let role = actual.roles.get_mut("nodes.c").unwrap();
    role.inline_policies.as_mut().unwrap().push("extra".into());
    actual
        .role_policies
        .insert(("nodes.c".into(), "extra".into()), STAR.into());
    actual
}

fn drift_of<'a>(plan: &'a Plan, id: &str) -> &'a Drift {
    plan.drift
        .iter()
        .find(|d| d.id.to_string() == id)
        .unwrap_or_else(|| panic!("no drift for {id}: {plan:#?}"))
}

fn field<'a>(d: &'a Drift, name: &str) -> &'a FieldChange {
    d.fields
        .iter()
        .find(|f| f.field == name)
        .unwrap_or_else(|| panic!("no field {name}: {d:#?}"))
}

fn remove() -> PlanOptions {
    PlanOptions {
        remove_extra_inline_policies: true,
        ..PlanOptions::default()
    }
}

/// `desired` with its role made a pod role (only touched when tagged owned).
fn pod_role(mut d: DesiredState) -> DesiredState {
    d.roles[0].owned_only = true;
    d.roles[0].tags = owned_by("c");
    d.roles[0].managed_policies = Some(Default::default());
    d
}

#[test]
fn a_converged_role_read_whole_has_no_drift() {
    let plan = plan(&desired(None), &read_whole());
    assert!(
        plan.drift.is_empty() && plan.changes.is_empty(),
        "{plan:#?}"
    );
}

#[test]
fn an_extra_inline_policy_is_drift_with_its_document() {
    let plan = plan(&desired(None), &with_extra_policy());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    let d = drift_of(&plan, "IAMRolePolicy/extra");
    assert_eq!(d.lifecycle, Lifecycle::Sync);
    assert_eq!(field(d, "Role").new.as_deref(), Some("nodes.c"));
    let doc = field(d, "PolicyDocument");
    assert!(doc.document);
    assert_eq!((doc.old.as_deref(), doc.new.as_deref()), (Some(STAR), None));
}

#[test]
fn rolecall_s_own_policy_names_are_never_extras() {
    // additional.<role> the spec no longer has is deleted as before, and the grants'
    // names are rolecall's even when this desired state does not name them.
    let mut actual = with_extra_policy();
    let names = actual.roles.get_mut("nodes.c").unwrap();
    names.inline_policies = Some(vec![
        "nodes.c".into(),
        "additional.nodes.c".into(),
        "kube2iam.nodes.c".into(),
        "kiam.nodes.c".into(),
    ]);
    actual
        .role_policies
        .insert(("nodes.c".into(), "additional.nodes.c".into()), STAR.into());
    let plan = plan_with(&desired(None), &actual, remove());
    assert!(plan.drift.is_empty(), "{plan:#?}");
    assert_eq!(
        summary(&plan),
        vec![(
            ChangeKind::Delete,
            "IAMRolePolicy/additional.nodes.c".into(),
            "DeleteRolePolicy"
        )]
    );
}

#[test]
fn the_flag_deletes_an_instance_group_role_s_extra_inline_policy() {
    let plan = plan_with(&desired(None), &with_extra_policy(), remove());
    assert!(plan.drift.is_empty(), "{plan:#?}");
    assert_eq!(
        summary(&plan),
        vec![(
            ChangeKind::Delete,
            "IAMRolePolicy/extra".into(),
            "DeleteRolePolicy"
        )]
    );
    assert_eq!(
        plan.changes[0].operation,
        Operation::DeleteRolePolicy {
            role: "nodes.c".into(),
            name: "extra".into()
        }
    );
}

#[test]
fn the_flag_never_deletes_from_another_cluster_s_role() {
    let mut actual = with_extra_policy();
    actual.roles.get_mut("nodes.c").unwrap().tags = owned_by("other");
    let plan = plan_with(&desired(None), &actual, remove());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(
        drift_of(&plan, "IAMRolePolicy/extra").lifecycle,
        Lifecycle::ExistsAndWarnIfChanges
    );
}

#[test]
fn the_flag_obeys_lifecycles() {
    // Only checked: drift. Ignored policies: nothing.
    let checked = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let plan = plan_with(&checked, &with_extra_policy(), remove());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(
        drift_of(&plan, "IAMRolePolicy/extra").lifecycle,
        Lifecycle::ExistsAndWarnIfChanges
    );

    let mut d = desired(None);
    let o = crate::lifecycle::parse_overrides(&["IAMRolePolicy=Ignore".into()]).unwrap();
    crate::lifecycle::apply_overrides(&mut d, &o).unwrap();
    let plan = plan_with(&d, &with_extra_policy(), remove());
    assert!(
        plan.changes.is_empty() && plan.errors.is_empty(),
        "{plan:#?}"
    );
    assert!(plan.ignored.iter().any(|id| id.name == "extra"));
}

#[test]
fn an_external_role_s_extras_are_not_reported() {
    let mut d = desired(None);
    d.for_each_lifecycle(|_, _, l| *l = Lifecycle::ExistsAndWarnIfChanges);
    d.roles[0].external = true;
    let mut actual = with_extra_policy();
    let role = actual.roles.get_mut("nodes.c").unwrap();
    role.managed_policies = Some([ADMIN.to_string()].into());
    role.permissions_boundary = Some(BOUNDARY.into());
    let plan = plan_with(&d, &actual, remove());
    assert!(
        plan.changes.is_empty() && plan.drift.is_empty(),
        "{plan:#?}"
    );
}

#[test]
fn an_owned_pod_role_s_extra_inline_policy_is_deleted() {
    let d = pod_role(desired(None));
    let mut actual = with_extra_policy();
    actual.roles.get_mut("nodes.c").unwrap().tags = owned_by("c");
    let plan = plan(&d, &actual);
    assert_eq!(
        summary(&plan),
        vec![(
            ChangeKind::Delete,
            "IAMRolePolicy/extra".into(),
            "DeleteRolePolicy"
        )]
    );
}

#[test]
fn a_pod_role_nobody_tagged_keeps_its_extra_inline_policy() {
    let d = pod_role(desired(None));
    let plan = plan(&d, &with_extra_policy());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    assert_eq!(
        drift_of(&plan, "IAMRolePolicy/extra").lifecycle,
        Lifecycle::ExistsAndWarnIfChanges
    );
}

#[test]
fn an_attachment_is_drift_where_the_spec_leaves_attachments_alone() {
    let mut actual = read_whole();
    actual.roles.get_mut("nodes.c").unwrap().managed_policies = Some([ADMIN.to_string()].into());
    let drifted = plan(&desired(None), &actual);
    assert!(drifted.changes.is_empty(), "{drifted:#?}");
    let d = drift_of(
        &drifted,
        &format!("IAMRolePolicyAttachment/nodes.c/{ADMIN}"),
    );
    assert_eq!(field(d, "PolicyARN").old.as_deref(), Some(ADMIN));

    // A role whose attachments the spec lists is kept exact, as before: a detach.
    let mut exact = desired(None);
    exact.roles[0].managed_policies = Some(Default::default());
    let detach = plan(&exact, &actual);
    assert!(detach.drift.is_empty(), "{detach:#?}");
    assert_eq!(summary(&detach)[0].2, "DetachRolePolicy");
}

#[test]
fn a_boundary_the_spec_leaves_alone_is_drift_never_removed() {
    let mut actual = read_whole();
    actual
        .roles
        .get_mut("nodes.c")
        .unwrap()
        .permissions_boundary = Some(BOUNDARY.into());
    let plan = plan_with(&desired(None), &actual, remove());
    assert!(plan.changes.is_empty(), "{plan:#?}");
    let d = drift_of(&plan, "IAMRole/nodes.c");
    assert_eq!(
        field(d, "PermissionsBoundary").old.as_deref(),
        Some(BOUNDARY)
    );
}

#[test]
fn rolecall_s_tags_changed_or_missing_are_drift_others_extra_tags_are_not() {
    // kops 1.36 adds the cloudLabels (here `Owner`) to rolecall's ownership tags.
    let mut d = desired(None);
    let mut wanted = owned_by("c");
    wanted.insert("Owner".into(), "platform".into());
    d.roles[0].tags = wanted.clone();
    let mut actual = read_whole();
    let mut tags = wanted.clone();
    tags.insert("team".into(), "platform".into());
    actual.roles.get_mut("nodes.c").unwrap().tags = tags;
    assert!(plan(&d, &actual).drift.is_empty(), "extra tags are fine");

    let mut tags = wanted.clone();
    tags.insert("Owner".into(), "changed".into());
    actual.roles.get_mut("nodes.c").unwrap().tags = tags;
    let p = plan(&d, &actual);
    assert!(p.changes.is_empty() && p.errors.is_empty(), "{p:#?}");
    let f = field(drift_of(&p, "IAMRole/nodes.c"), "Tags");
    assert_eq!(f.old.as_deref(), Some("Owner=changed"));
    assert_eq!(f.new.as_deref(), Some("Owner=platform"));

    let mut tags = wanted;
    tags.remove("KubernetesCluster");
    actual.roles.get_mut("nodes.c").unwrap().tags = tags;
    let p = plan(&d, &actual);
    let f = field(drift_of(&p, "IAMRole/nodes.c"), "Tags");
    assert_eq!(f.old.as_deref(), Some("KubernetesCluster (absent)"));
}

#[test]
fn an_instance_profile_s_changed_tags_are_drift() {
    let mut d = desired(None);
    d.instance_profiles[0].tags = owned_by("c");
    let mut actual = read_whole();
    profile(&mut actual).tags = tagged(&[("KubernetesCluster", "c")]);
    let p = plan(&d, &actual);
    let f = field(drift_of(&p, "IAMInstanceProfile/nodes.c"), "Tags");
    assert_eq!(f.old.as_deref(), Some("kubernetes.io/cluster/c (absent)"));
    assert!(p.changes.is_empty());
}

#[test]
fn a_moved_role_is_drift_and_the_plan_says_it_cannot_be_moved() {
    let mut actual = read_whole();
    actual.roles.get_mut("nodes.c").unwrap().path = "/moved/".into();
    let plan = plan(&desired(None), &actual);
    assert!(plan.changes.is_empty(), "{plan:#?}");
    let d = drift_of(&plan, "IAMRole/nodes.c");
    let path = field(d, "Path");
    assert_eq!(
        (path.old.as_deref(), path.new.as_deref()),
        (Some("/moved/"), Some("/"))
    );
    assert!(field(d, "Note")
        .new
        .as_ref()
        .unwrap()
        .contains("cannot move"));
}

#[test]
fn role_drift_joins_a_checked_role_s_trust_policy_drift() {
    let checked = with_lifecycle(desired(None), Lifecycle::ExistsAndWarnIfChanges);
    let mut actual = read_whole();
    let role = actual.roles.get_mut("nodes.c").unwrap();
    role.trust_policy = TRUST.replace("ec2.amazonaws.com", "lambda.amazonaws.com");
    role.path = "/moved/".into();
    let plan = plan(&checked, &actual);
    let roles: Vec<&Drift> = plan
        .drift
        .iter()
        .filter(|d| d.id.kind == ResourceType::IamRole)
        .collect();
    assert_eq!(roles.len(), 1, "{plan:#?}");
    let fields: Vec<&str> = roles[0].fields.iter().map(|f| f.field).collect();
    assert_eq!(fields, ["TrustPolicy", "Path", "Note"]);
}

#[test]
fn unread_lists_report_nothing() {
    // A role whose lists were refused (or not read) has None: no extras are invented.
    let mut actual = converged();
    actual
        .role_policies
        .insert(("nodes.c".into(), "extra".into()), STAR.into());
    let plan = plan_with(&desired(None), &actual, remove());
    assert!(
        plan.changes.is_empty() && plan.drift.is_empty(),
        "{plan:#?}"
    );
}

#[test]
fn an_untagged_role_kops_made_has_no_tag_drift() {
    // kops 1.10 tags none of its IAM: no drift for tags rolecall never wrote there.
    let mut d = desired(None);
    d.roles[0].tags = owned_by("c");
    let mut actual = read_whole();
    actual.roles.get_mut("nodes.c").unwrap().tags = Default::default();
    let p = plan(&d, &actual);
    assert!(
        p.drift
            .iter()
            .all(|x| x.fields.iter().all(|f| f.field != "Tags")),
        "{p:#?}"
    );
}
