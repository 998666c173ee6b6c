//! Lifecycles and externally owned IAM against a real LocalStack. The recording proxy proves
//! what was not sent: no write for an object rolecall only checks, no read for an ignored one.

mod common;

use common::cluster::{Cluster, NO_CHANGES};
use common::proxy::Fault;
use common::spec::ClusterYaml;
use common::{iam_client, policy_document};

const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
const TAMPERED: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions","s3:*"],"Resource":"*"}]}"#;

async fn tamper_nodes_policy(c: &Cluster) {
    let nodes = c.role("nodes");
    iam_client()
        .await
        .put_role_policy()
        .role_name(&nodes)
        .policy_name(&nodes)
        .policy_document(TAMPERED)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn kops_style_overrides_print_drift_and_write_nothing() {
    let c = Cluster::new("warn-drift", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    tamper_nodes_policy(&c).await;
    let nodes = c.role("nodes");

    c.proxy.clear();
    let run = c
        .run(&[
            "--yes",
            "--lifecycle-overrides",
            "IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges",
        ])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    let expected = format!(
        "Drift in objects rolecall only checks (not changed):\n  IAMRolePolicy/{nodes} (ExistsAndWarnIfChanges)\n  \tPolicyDocument\n  \t    --- expected\n  \t    +++ actual\n"
    );
    assert!(run.stdout.starts_with(&expected), "{run:?}");
    assert!(run.stdout.contains("+        \"s3:*\""), "{run:?}");
    assert_eq!(run.last_line(), NO_CHANGES);
    assert_eq!(
        policy_document(&nodes, &nodes).await.as_deref(),
        Some(TAMPERED),
        "the account is unchanged"
    );

    // The same drift in a dry run.
    let dry = c
        .run(&[
            "--lifecycle-overrides",
            "IAMRolePolicy=ExistsAndWarnIfChanges",
        ])
        .await;
    assert!(dry.stdout.starts_with(&expected), "{dry:?}");
    assert!(c.proxy.writes().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn exists_and_validates_fails_on_drift_without_writing() {
    let c = Cluster::new("validates", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    tamper_nodes_policy(&c).await;
    let nodes = c.role("nodes");

    c.proxy.clear();
    let run = c
        .run(&[
            "--yes",
            "--lifecycle-overrides",
            "IAMRolePolicy=ExistsAndValidates",
        ])
        .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stdout
            .contains(&format!("IAMRolePolicy/{nodes} (ExistsAndValidates)")),
        "{run:?}"
    );
    assert!(
        run.stdout.contains(&format!(
            "Errors:\n  IAMRolePolicy/{nodes}\n  \tlifecycle ExistsAndValidates, but the object does not match the spec"
        )),
        "{run:?}"
    );
    assert_eq!(
        run.last_line(),
        "Nothing was applied: fix the errors above first"
    );
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    assert_eq!(
        policy_document(&nodes, &nodes).await.as_deref(),
        Some(TAMPERED)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ignored_object_is_neither_read_nor_written() {
    let c = Cluster::new("ignore", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    tamper_nodes_policy(&c).await;
    let nodes = c.role("nodes");

    c.proxy.clear();
    let target = format!("IAMRolePolicy/{nodes}=Ignore");
    let run = c.run(&["--yes", "--lifecycle-overrides", &target]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
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
    assert!(c.proxy.writes().is_empty());
    assert_eq!(
        policy_document(&nodes, &nodes).await.as_deref(),
        Some(TAMPERED)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn checking_lifecycles_on_an_empty_account_warn_and_create_nothing() {
    let c = Cluster::new("warn-missing", ClusterYaml::new).await;
    let run = c
        .run(&[
            "--yes",
            "--lifecycle-overrides",
            "IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfile=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges",
        ])
        .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.starts_with("Warnings:\n"), "{run:?}");
    assert!(run.stdout.contains(&format!(
        "  IAMRole/{}\n  \tlifecycle ExistsAndWarnIfChanges, but the object was not found; rolecall does not create it\n",
        c.role("nodes")
    )));
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    assert!(iam_client()
        .await
        .get_role()
        .role_name(c.role("nodes"))
        .send()
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn warn_if_insufficient_access_turns_a_refused_read_into_a_warning() {
    let c = Cluster::new("denied", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    let denied = Fault {
        status: 403,
        code: "AccessDenied".into(),
        message: "User: arn:aws:iam::000000000000:user/ci is not authorized to perform: iam:GetRolePolicy".into(),
        times: usize::MAX,
    };
    c.proxy.fail("GetRolePolicy", denied);

    let strict = c.run(&["--yes"]).await;
    assert_eq!(strict.code, 1, "{strict:?}");
    assert!(
        strict.stdout.contains(
            "could not be read: User: arn:aws:iam::000000000000:user/ci is not authorized"
        ),
        "{strict:?}"
    );

    c.proxy.clear();
    let lenient = c
        .run(&[
            "--yes",
            "--lifecycle-overrides",
            "IAMRolePolicy=WarnIfInsufficientAccess",
        ])
        .await;
    assert_eq!(lenient.code, 0, "{lenient:?}");
    assert!(
        lenient
            .stdout
            .contains("assuming it is correctly configured"),
        "{lenient:?}"
    );
    assert_eq!(lenient.last_line(), NO_CHANGES);
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
}

/// A hand-made role in a hand-made profile, as an organisation that forbids tools to create
/// IAM would give it: names unlike kops's, a policy that is not quite what kops generates.
async fn hand_made_profile(cluster: &str, with_role: bool) -> (String, String, String) {
    let iam = iam_client().await;
    let suffix = cluster.split('.').next().unwrap();
    let role = format!("hand-made-role-{suffix}");
    let profile = format!("hand-made-profile-{suffix}");
    let created = iam
        .create_instance_profile()
        .instance_profile_name(&profile)
        .send()
        .await
        .unwrap();
    let arn = created.instance_profile().unwrap().arn().to_string();
    if with_role {
        iam.create_role()
            .role_name(&role)
            .assume_role_policy_document(EC2_TRUST)
            .send()
            .await
            .unwrap();
        iam.put_role_policy()
            .role_name(&role)
            .policy_name(&role)
            .policy_document(TAMPERED)
            .send()
            .await
            .unwrap();
        iam.add_role_to_instance_profile()
            .instance_profile_name(&profile)
            .role_name(&role)
            .send()
            .await
            .unwrap();
    }
    (arn, profile, role)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_profile_is_checked_through_its_real_role_beside_managed_groups() {
    let name = common::unique_cluster("hand-made");
    let (arn, profile, role) = hand_made_profile(&name, true).await;
    let c = Cluster::new_named(&name, |n| ClusterYaml::new(n).with_node_profile(&arn)).await;

    let run = c.apply().await;
    assert_eq!(run.code, 0, "{run:?}");
    // The managed groups are created...
    for prefix in ["masters", "bastions"] {
        assert!(
            run.stdout.contains(&format!(
                "CreateRole                IAMRole/{}",
                c.role(prefix)
            )),
            "{run:?}"
        );
    }
    // ...the nodes get no managed IAM...
    assert!(!run.stdout.contains(&c.role("nodes")), "{run:?}");
    assert!(iam_client()
        .await
        .get_role()
        .role_name(c.role("nodes"))
        .send()
        .await
        .is_err());
    // ...and the hand-made role, found through the profile, is compared and left alone.
    assert!(
        run.stdout.contains(&format!(
            "  IAMRolePolicy/{role} (ExistsAndWarnIfChanges)\n  \tPolicyDocument\n"
        )),
        "{run:?}"
    );
    assert!(run.stdout.contains("+        \"s3:*\""), "{run:?}");
    for object in [&role, &profile] {
        assert!(
            c.proxy.writes_naming(object).is_empty(),
            "{object} written: {:?}",
            c.proxy.writes_naming(object)
        );
    }
    assert_eq!(
        policy_document(&role, &role).await.as_deref(),
        Some(TAMPERED)
    );

    c.proxy.clear();
    let again = c.apply().await;
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
    assert_eq!(again.last_line(), NO_CHANGES);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_with_no_role_is_reported_and_a_missing_or_foreign_one_is_an_error() {
    let name = common::unique_cluster("empty-profile");
    let (arn, profile, _) = hand_made_profile(&name, false).await;
    let c = Cluster::new_named(&name, |n| ClusterYaml::new(n).with_node_profile(&arn)).await;
    let run = c.dry_run().await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("  IAMInstanceProfile/{profile}\n  \tholds no role, so its instances get no IAM permissions")),
        "{run:?}"
    );

    // The right name in another account is not this account's profile.
    let elsewhere = arn.replace(":000000000000:", ":111122223333:");
    c.rewrite(ClusterYaml::new(&name).with_node_profile(&elsewhere));
    c.proxy.clear();
    let run = c.apply().await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "spec.iam.profile of instance group(s) nodes names {elsewhere}, but the profile of that name in this account is {arn}"
        )),
        "{run:?}"
    );
    assert!(c.proxy.writes().is_empty(), "{:?}", c.proxy.writes());

    let missing = "arn:aws:iam::000000000000:instance-profile/no-such-profile";
    c.rewrite(ClusterYaml::new(&name).with_node_profile(missing));
    c.proxy.clear();
    let run = c.apply().await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains(&format!(
            "the instance profile {missing} named in spec.iam.profile of instance group(s) nodes does not exist"
        )),
        "{run:?}"
    );
    assert!(
        c.proxy.writes().is_empty(),
        "writes: {:?}",
        c.proxy.writes()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn instances_on_a_profile_that_is_not_their_groups_are_listed_to_roll() {
    let c = Cluster::new("rolling", ClusterYaml::new).await;
    assert_eq!(c.apply().await.code, 0);
    let old = format!("old-{}", c.name.split('.').next().unwrap());
    iam_client()
        .await
        .create_instance_profile()
        .instance_profile_name(&old)
        .send()
        .await
        .unwrap();

    let current = common::run_instance(&c.name, "nodes", &[], Some(&c.role("nodes"))).await;
    let stale = common::run_instance(&c.name, "nodes", &[], Some(&old)).await;
    let bare = common::run_instance(&c.name, "bastions", &[], None).await;
    let other_cluster =
        common::run_instance("some-other.k8s.local", "nodes", &[], Some(&old)).await;

    c.proxy.clear();
    let run = c.dry_run().await;
    assert_eq!(run.code, 0, "{run:?}");
    let expected = format!(
        "Instances that need a rolling update (their instance profile is not their group's):\n  {bare} (bastions)\t(no instance profile) -> {}\n  {stale} (nodes)\t{old} -> {}\n\n{NO_CHANGES}\n",
        c.role("bastions"),
        c.role("nodes")
    );
    assert_eq!(run.stdout, expected, "{run:?}");
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
