//! What a change grants, through the binary against LocalStack: the plan's access lines,
//! the JSON entries, and `--deny-new-access`, which refuses a widening plan before any
//! write (the recording proxy counts them) and lets a narrowing one through.

use crate::common;

use common::cluster::Cluster;
use common::iam_client;
use common::spec::ClusterYaml;
use serde_json::Value;

const BUCKET: &str = "arn:aws:s3:::access-test-data/*";

fn reads(name: &str) -> ClusterYaml {
    ClusterYaml::new(name).with_node_policy(&format!(
        r#"[{{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["{BUCKET}"]}}]"#
    ))
}

fn everything(name: &str) -> ClusterYaml {
    ClusterYaml::new(name).with_node_policy(&format!(
        r#"[{{"Effect": "Allow", "Action": ["s3:*"], "Resource": ["{BUCKET}"]}}]"#
    ))
}

async fn additional_policy(role: &str) -> String {
    let got = iam_client()
        .await
        .get_role_policy()
        .role_name(role)
        .policy_name(format!("additional.{role}"))
        .send()
        .await
        .unwrap();
    percent_encoding::percent_decode_str(got.policy_document())
        .decode_utf8()
        .unwrap()
        .into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_widening_change_is_shown_and_refused_by_the_gate_and_a_narrowing_one_passes() {
    let c = Cluster::applied("access", reads).await;
    let nodes = c.role("nodes");
    let policy = format!("IAMRolePolicy/additional.{nodes}");

    // s3:GetObject -> s3:*: the plan says what is added, and what is no longer granted
    // alone is not "removed" (s3:* covers it).
    c.rewrite(everything(&c.name));
    let dry = c.dry_run().await;
    dry.assert_code(0);
    dry.assert_stdout_has(&format!("Access:\n  {policy}\tadds s3:* ("));
    dry.assert_stdout_has(&format!("actions) on {BUCKET}\n"));
    assert!(!dry.stdout.contains("removes s3:GetObject"), "{dry:?}");

    // JSON: one action per entry, s3:GetObject among them.
    let json = c.run(&["--output", "json"]).await;
    let doc: Value = serde_json::from_str(&json.stdout).unwrap();
    let change = doc["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == policy.as_str())
        .unwrap_or_else(|| panic!("{doc:#}"));
    let added = change["access"]["added"].as_array().unwrap();
    assert_eq!(change["access"]["widens"], true);
    assert!(added.len() > 1, "{added:?}");
    assert!(added
        .iter()
        .all(|e| e["effect"] == "Allow" && e["resource"] == BUCKET));
    assert!(
        added
            .iter()
            .all(|e| !e["action"].as_str().unwrap().contains('*')),
        "{added:?}"
    );
    assert!(
        added.iter().any(|e| e["action"] == "s3:GetObject"),
        "{added:?}"
    );

    // The gate: refused, named, nothing written, the account as it was.
    c.proxy.clear();
    let refused = c.run(&["--yes", "--deny-new-access"]).await;
    refused.assert_code(1);
    assert!(
        refused.stderr.contains(&format!("  {policy}: adds s3:* (")),
        "{refused:?}"
    );
    c.assert_no_writes();
    assert!(additional_policy(&nodes).await.contains("s3:GetObject"));

    // Without the gate it applies; back to s3:GetObject is a narrowing the gate lets through.
    c.apply().await.assert_code(0);
    c.rewrite(reads(&c.name));
    c.proxy.clear();
    let narrowed = c.run(&["--yes", "--deny-new-access"]).await;
    narrowed.assert_code(0);
    narrowed.assert_stdout_has(&format!("  {policy}\tremoves s3:* ("));
    assert_eq!(c.proxy.writes(), ["PutRolePolicy"]);
    assert!(!additional_policy(&nodes).await.contains("s3:*"));
}
