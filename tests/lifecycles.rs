//! Lifecycles and externally owned IAM against a real LocalStack. The recording proxy proves
//! what was not sent: no write for an object rolecall only checks, no read for an ignored one.

use crate::common;

use common::cluster::{Cluster, NO_CHANGES};
use common::proxy::Fault;
use common::spec::ClusterYaml;
use common::Run;
use common::{
    add_role_to_instance_profile, create_instance_profile, create_role, policy_document,
    put_role_policy, role_exists, EC2_TRUST,
};

const TAMPERED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions","s3:*"],"Resource":"*"}]}"#;

/// An applied cluster for `test` whose nodes' policy was then changed by hand (to
/// `TAMPERED`), applied again, from a cleared proxy, with the lifecycle overrides that
/// `overrides` gives for the nodes' role: the cluster, that role and the second run.
async fn apply_over_tampered(
    test: &str,
    overrides: impl Fn(&str) -> String,
) -> (Cluster, String, Run) {
    let c = Cluster::applied(test, ClusterYaml::new).await;
    let nodes = c.role("nodes");
    put_role_policy(&nodes, &nodes, TAMPERED).await;
    c.proxy.clear();
    let run = c.apply_with_overrides(&overrides(&nodes)).await;
    (c, nodes, run)
}

/// Asserts that the role's policy of its own name is still as changed by hand.
async fn assert_still_tampered(role: &str) {
    assert_eq!(
        policy_document(role, role).await.as_deref(),
        Some(TAMPERED),
        "the account is unchanged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kops_style_overrides_print_drift_and_write_nothing() {
    let (c, nodes, run) = apply_over_tampered("warn-drift", |_| {
        "IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges".into()
    })
    .await;
    run.assert_code(0);
    c.assert_no_writes();
    let expected = format!(
        "Drift in objects rolecall only checks (not changed):\n  IAMRolePolicy/{nodes} (ExistsAndWarnIfChanges)\n  \tPolicyDocument\n  \t    --- expected\n  \t    +++ actual\n"
    );
    run.assert_stdout_starts(&expected);
    run.assert_stdout_has("+        \"s3:*\"");
    assert_eq!(run.last_line(), NO_CHANGES);
    assert_still_tampered(&nodes).await;

    // The same drift in a dry run.
    let dry = c
        .run(&[
            "--lifecycle-overrides",
            "IAMRolePolicy=ExistsAndWarnIfChanges",
        ])
        .await;
    dry.assert_stdout_starts(&expected);
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn exists_and_validates_fails_on_drift_without_writing() {
    let (c, nodes, run) =
        apply_over_tampered("validates", |_| "IAMRolePolicy=ExistsAndValidates".into()).await;
    run.assert_code(1);
    run.assert_stdout_has(&format!("IAMRolePolicy/{nodes} (ExistsAndValidates)"));
    run.assert_stdout_has(&format!(
        "Errors:\n  IAMRolePolicy/{nodes}\n  \tlifecycle ExistsAndValidates, but the object does not match the spec"
    ));
    assert_eq!(
        run.last_line(),
        "Nothing was applied: fix the errors above first"
    );
    c.assert_no_writes();
    assert_still_tampered(&nodes).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_object_is_neither_read_nor_written() {
    let (c, nodes, run) =
        apply_over_tampered("ignore", |nodes| format!("IAMRolePolicy/{nodes}=Ignore")).await;
    run.assert_code(0);
    assert_eq!(
        run.plan_text(),
        format!("Ignored (lifecycle Ignore: neither read nor written):\n  IAMRolePolicy/{nodes}\n\n{NO_CHANGES}\n")
    );
    assert_eq!(
        c.proxy.requests_with("GetRolePolicy", "PolicyName", &nodes),
        0,
        "an ignored policy is not read"
    );
    assert_eq!(
        c.proxy.requests_with("GetRole", "RoleName", &nodes),
        1,
        "its role still is"
    );
    c.assert_no_writes();
    assert_still_tampered(&nodes).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn checking_lifecycles_on_an_empty_account_warn_and_create_nothing() {
    let c = Cluster::new("warn-missing", ClusterYaml::new).await;
    let run = c
        .apply_with_overrides("IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfile=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges")
        .await;
    run.assert_code(0);
    run.assert_stdout_starts("Warnings:\n");
    assert!(run.stdout.contains(&format!(
        "  IAMRole/{}\n  \tlifecycle ExistsAndWarnIfChanges, but the object was not found; rolecall does not create it\n",
        c.role("nodes")
    )));
    c.assert_no_writes();
    assert!(!role_exists(&c.role("nodes")).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn warn_if_insufficient_access_turns_a_refused_read_into_a_warning() {
    let c = Cluster::applied("denied", ClusterYaml::new).await;
    let denied = Fault {
        status: 403,
        code: "AccessDenied".into(),
        message: "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: iam:GetRolePolicy".into(),
        times: usize::MAX,
    };
    c.proxy.fail("GetRolePolicy", denied);

    let strict = c.run(&["--yes"]).await;
    strict.assert_code(1);
    strict.assert_stdout_has(
        "could not be read: User: arn:aws:iam::000000000000:user/ci is not authorized",
    );

    c.proxy.clear();
    let lenient = c
        .apply_with_overrides("IAMRolePolicy=WarnIfInsufficientAccess")
        .await;
    lenient.assert_code(0);
    lenient.assert_stdout_has("assuming it is correctly configured");
    assert_eq!(lenient.last_line(), NO_CHANGES);
    c.assert_no_writes();
}

/// A hand-made role in a hand-made profile, as an organisation that forbids tools to create
/// IAM would give it: names unlike kops's, a policy that is not quite what kops generates.
async fn hand_made_profile(cluster: &str, with_role: bool) -> (String, String, String) {
    let suffix = cluster.split('.').next().unwrap();
    let role = format!("hand-made-role-{suffix}");
    let profile = format!("hand-made-profile-{suffix}");
    let arn = create_instance_profile(&profile, None).await;
    if with_role {
        create_role(&role, EC2_TRUST, None).await;
        put_role_policy(&role, &role, TAMPERED).await;
        add_role_to_instance_profile(&profile, &role).await;
    }
    (arn, profile, role)
}

/// A cluster for `test` whose nodes use a hand-made profile (see [`hand_made_profile`]):
/// the cluster, the profile's ARN and name, and the role in it.
async fn on_hand_made_profile(test: &str, with_role: bool) -> (Cluster, String, String, String) {
    let name = common::unique_cluster(test);
    let (arn, profile, role) = hand_made_profile(&name, with_role).await;
    let c = Cluster::new_named(&name, |n| ClusterYaml::new(n).with_node_profile(&arn)).await;
    (c, arn, profile, role)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_profile_is_checked_through_its_real_role_beside_managed_groups() {
    let (c, _, profile, role) = on_hand_made_profile("hand-made", true).await;

    let run = c.apply().await;
    run.assert_code(0);
    // The managed groups are created...
    for prefix in ["masters", "bastions"] {
        run.assert_stdout_has(&format!(
            "CreateRole                IAMRole/{}",
            c.role(prefix)
        ));
    }
    // ...the nodes get no managed IAM...
    assert!(!run.stdout.contains(&c.role("nodes")), "{run:?}");
    assert!(!role_exists(&c.role("nodes")).await);
    // ...and the hand-made role, found through the profile, is compared and left alone.
    run.assert_stdout_has(&format!(
        "  IAMRolePolicy/{role} (ExistsAndWarnIfChanges)\n  \tPolicyDocument\n"
    ));
    run.assert_stdout_has("+        \"s3:*\"");
    for object in [&role, &profile] {
        assert!(
            c.proxy.writes_naming(object).is_empty(),
            "{object} written: {:?}",
            c.proxy.writes_naming(object)
        );
    }
    assert_still_tampered(&role).await;

    c.apply_again_quietly().await.assert_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_with_no_role_is_reported_and_a_missing_or_foreign_one_is_an_error() {
    let (c, arn, profile, _) = on_hand_made_profile("empty-profile", false).await;
    let run = c.dry_run().await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("  IAMInstanceProfile/{profile}\n  \tholds no role, so its instances get no IAM permissions"));

    // The right name in another account is not this account's profile.
    let elsewhere = arn.replace(":000000000000:", ":111122223333:");
    let error = format!("spec.iam.profile of instance group(s) nodes names {elsewhere}, but the profile of that name in this account is {arn}");
    assert_profile_refused(&c, &elsewhere, &error).await;

    let missing = "arn:aws:iam::000000000000:instance-profile/no-such-profile";
    let error = format!("the instance profile {missing} named in spec.iam.profile of instance group(s) nodes does not exist");
    assert_profile_refused(&c, missing, &error).await;
}

/// Gives the nodes the profile `arn`, and asserts that an apply then fails with `error`
/// and writes nothing.
async fn assert_profile_refused(c: &Cluster, arn: &str, error: &str) {
    c.rewrite(ClusterYaml::new(&c.name).with_node_profile(arn));
    c.proxy.clear();
    let run = c.apply().await;
    run.assert_code(1);
    run.assert_stderr_has(error);
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_on_a_profile_that_is_not_their_groups_are_listed_to_roll() {
    let c = Cluster::applied("rolling", ClusterYaml::new).await;
    let old = format!("old-{}", c.name.split('.').next().unwrap());
    create_instance_profile(&old, None).await;

    let current = common::run_instance(&c.name, "nodes", &[], Some(&c.role("nodes"))).await;
    let stale = common::run_instance(&c.name, "nodes", &[], Some(&old)).await;
    let bare = common::run_instance(&c.name, "bastions", &[], None).await;
    let other_cluster =
        common::run_instance("some-other.k8s.local", "nodes", &[], Some(&old)).await;

    c.proxy.clear();
    let run = c.dry_run().await;
    run.assert_code(0);
    let expected = format!(
        "Instances that need a rolling update (their instance profile is not their group's):\n  {bare} (bastions)\t(no instance profile) -> {}\n  {stale} (nodes)\t{old} -> {}\n\n{NO_CHANGES}\n",
        c.role("bastions"),
        c.role("nodes")
    );
    assert_eq!(run.plan_text(), expected, "{run:?}");
    assert!(!run.stdout.contains(&current) && !run.stdout.contains(&other_cluster));
    assert_eq!(
        c.proxy
            .requests_with("DescribeInstances", "Filter.1.Value.1", &c.name),
        1
    );

    let ec2 = common::ec2_client().await;
    ec2.terminate_instances()
        .set_instance_ids(Some(vec![current, stale, bare, other_cluster]))
        .send()
        .await
        .unwrap();
}
