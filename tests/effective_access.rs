//! The effective access of roles rolecall does not own, against a real LocalStack: a
//! hand-made role in a hand-made profile whose access comes from an inline policy of
//! another name and from managed policies (a customer one and an AWS one), and a
//! cluster role only checked by an override, holding the same customer policy. The dry run
//! reports what kops would grant that they lack and what they have beyond it, writes
//! nothing, and reads each managed policy's document once.

use crate::common;

use common::cluster::Cluster;
use common::spec::ClusterYaml;
use common::{
    add_role_to_instance_profile, create_instance_profile, create_role, iam_client,
    put_role_policy, EC2_TRUST,
};

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const QUEUE: &str = "arn:aws:sqs:us-east-1:000000000000:jobs";

/// Only some of what kops gives nodes, under a name kops does not use.
const HAND_WRITTEN: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeInstances"],"Resource":"*"}]}"#;

/// A customer managed policy that grants far more of S3 than kops does.
async fn customer_policy(name: &str) -> String {
    let out = iam_client()
        .await
        .create_policy()
        .policy_name(name)
        .policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        )
        .send()
        .await
        .unwrap();
    out.policy().unwrap().arn().unwrap().to_string()
}

async fn attach(role: &str, arn: &str) {
    iam_client()
        .await
        .attach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn roles_others_own_show_missing_and_extra_access_read_once_per_managed_policy() {
    let name = common::unique_cluster("effective");
    let suffix = name.split('.').next().unwrap().to_string();
    let role = format!("hand-made-role-{suffix}");
    let profile = format!("hand-made-profile-{suffix}");
    let arn = create_instance_profile(&profile, None).await;
    create_role(&role, EC2_TRUST, None).await;
    put_role_policy(&role, "hand-written", HAND_WRITTEN).await;
    add_role_to_instance_profile(&profile, &role).await;
    let s3_everywhere = customer_policy(&format!("s3-everywhere-{suffix}")).await;
    attach(&role, &s3_everywhere).await;
    attach(&role, READ_ONLY).await;

    // The nodes' additional policy asks for a write that none of the role's policies allows.
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n)
            .with_node_profile(&arn)
            .with_node_policy(&format!(
                r#"[{{"Effect": "Allow", "Action": ["sqs:DeleteMessage"], "Resource": ["{QUEUE}"]}}]"#
            ))
    })
    .await;
    // The masters' role exists (rolecall made it) and holds the same customer policy.
    c.apply().await.assert_code(0);
    let masters = c.role("masters");
    attach(&masters, &s3_everywhere).await;
    let overrides = format!("IAMRole/{masters}=ExistsAndWarnIfChanges");

    c.proxy.clear();
    let run = c.run(&["--lifecycle-overrides", &overrides]).await;
    run.assert_code(0);
    let counts = c.proxy.take_counts();
    c.assert_no_writes();
    run.assert_stdout_has("Effective access of roles others own:\n");
    // The hand-made role: ReadOnlyAccess, s3:* and the inline policy of another name cover
    // kops's reads, not the additional policy's write; s3:* and ReadOnlyAccess go beyond.
    let section = run
        .stdout
        .split("Effective access of roles others own:\n")
        .nth(1)
        .unwrap();
    let hand_made = section
        .split(&format!("  IAMRole/{role}\n"))
        .nth(1)
        .expect("the hand-made role is reported");
    let mut lines = hand_made.lines();
    let missing = lines.next().unwrap();
    let extra = lines.next().unwrap();
    assert_eq!(
        missing,
        format!("  \tmissing: sqs:DeleteMessage on {QUEUE}"),
        "{run:?}"
    );
    assert!(
        extra.starts_with("  \textra: ") && extra.contains(" more"),
        "{run:?}"
    );
    // The masters' role has all kops gives it, and the customer policy beyond.
    run.assert_stdout_has(&format!(
        "  IAMRole/{masters}\n  \tmissing: nothing\n  \textra: s3:* ("
    ));
    // Each managed policy's document read once, though the customer one is on two roles.
    assert_eq!(counts.get("GetPolicyVersion"), Some(&2), "{counts:?}");
    assert_eq!(counts.get("GetPolicy"), Some(&2), "{counts:?}");

    // The same in JSON.
    let json = c
        .run(&["--lifecycle-overrides", &overrides, "--output", "json"])
        .await;
    json.assert_code(0);
    c.assert_no_writes();
    let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let roles = doc["effective_access"].as_array().unwrap();
    let of = |id: String| {
        roles
            .iter()
            .find(|r| r["id"] == id.as_str())
            .unwrap_or_else(|| panic!("{id} in {roles:?}"))["access"]
            .clone()
    };
    let hand = of(format!("IAMRole/{role}"));
    assert_eq!(
        hand["missing"],
        serde_json::json!([{"effect": "Allow", "action": "sqs:DeleteMessage", "resource": QUEUE, "condition": null}])
    );
    let extra = hand["extra"].as_array().unwrap();
    assert!(
        extra
            .iter()
            .any(|e| e["action"] == "s3:PutObject" && e["resource"] == "*"),
        "{hand}"
    );
    let m = of(format!("IAMRole/{masters}"));
    assert_eq!(m["missing"], serde_json::json!([]));

    // Read in bulk, the same report.
    let bulk = c
        .run(&[
            "--lifecycle-overrides",
            &overrides,
            "--output",
            "json",
            "--fetch",
            "bulk",
        ])
        .await;
    bulk.assert_code(0);
    let bulk: serde_json::Value = serde_json::from_str(&bulk.stdout).unwrap();
    assert_eq!(bulk["effective_access"], doc["effective_access"]);
}
