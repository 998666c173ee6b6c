//! Drift on the roles rolecall manages, against a real LocalStack: what someone adds by hand
//! to an instance-group role (an inline policy, an attachment, a boundary, a changed tag) is
//! reported by both reads alike and written by neither, and only the extra inline policy is
//! removed, and only when asked (`--remove-extra-inline-policies`). The recording proxy
//! proves what was written; the account is read back with the tests' own client.

use crate::common;

use common::cluster::{Cluster, MUST_SPECIFY_YES, NO_CHANGES};
use common::spec::ClusterYaml;
use common::{iam_client, managed_policy, policy_document, put_role_policy};

const STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// The plan's drift, as `--output json` gives it, read with `--fetch <fetch>`.
async fn drift_json(c: &Cluster, fetch: &str) -> serde_json::Value {
    let run = c.run(&["--fetch", fetch, "--output", "json"]).await;
    run.assert_code(0);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["changes"], serde_json::json!([]), "{fetch}: {doc:#}");
    doc["drift"].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn hand_made_extras_on_an_instance_group_role_are_drift_and_only_the_inline_policy_is_removed_on_request(
) {
    let c = Cluster::applied("role-drift", ClusterYaml::new).await;
    let nodes = c.role("nodes");
    let iam = iam_client().await;
    let boundary = managed_policy(&format!("{}-boundary", c.name.split('.').next().unwrap())).await;
    put_role_policy(&nodes, "extra", STAR).await;
    iam.attach_role_policy()
        .role_name(&nodes)
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    iam.put_role_permissions_boundary()
        .role_name(&nodes)
        .permissions_boundary(&boundary)
        .send()
        .await
        .unwrap();
    // A tag rolecall set, removed (changed to another cluster's name, it would make the
    // role that cluster's: an error, tested in the unit tests).
    iam.untag_role()
        .role_name(&nodes)
        .tag_keys("KubernetesCluster")
        .send()
        .await
        .unwrap();
    c.proxy.clear();

    // The cost per object: one list of each kind per managed role (masters, nodes,
    // bastions), and GetRolePolicy only for the policies the lists show (each role's own,
    // and the extra one).
    c.run(&["--fetch", "per-object"]).await.assert_code(0);
    let calls = c.proxy.take_counts();
    assert_eq!(calls.get("GetRole"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("ListRolePolicies"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("ListAttachedRolePolicies"), Some(&3), "{calls:?}");
    assert_eq!(calls.get("GetRolePolicy"), Some(&4), "{calls:?}");
    c.proxy.clear();

    // A dry run, both ways of reading: each extra is drift, nothing is written.
    for fetch in ["per-object", "bulk"] {
        let dry = c.run(&["--fetch", fetch]).await;
        dry.assert_code(0);
        dry.assert_stdout_has(&format!("  IAMRole/{nodes} (Sync)\n"));
        dry.assert_stdout_has(&format!(
            "Tags                \t expected KubernetesCluster={} but found KubernetesCluster (absent)",
            c.name
        ));
        dry.assert_stdout_has(&format!("PermissionsBoundary \t{boundary}"));
        dry.assert_stdout_has(&format!(
            "  IAMRolePolicy/extra (Sync)\n  \tRole                \t{nodes}\n  \tPolicyDocument\n"
        ));
        dry.assert_stdout_has("+      \"Action\": \"*\",");
        dry.assert_stdout_has(&format!(
            "  IAMRolePolicyAttachment/{nodes}/{ADMIN} (Sync)\n"
        ));
        assert_eq!(dry.last_line(), NO_CHANGES, "{fetch}: {dry:?}");
        c.assert_no_writes();
    }
    let per_object = drift_json(&c, "per-object").await;
    assert_eq!(per_object.as_array().unwrap().len(), 3, "{per_object:#}");
    assert_eq!(
        per_object,
        drift_json(&c, "bulk").await,
        "both reads plan alike"
    );
    c.assert_no_writes();

    // The flag, as a dry run: one delete; applied: exactly that write.
    for fetch in ["per-object", "bulk"] {
        let planned = c
            .run(&["--fetch", fetch, "--remove-extra-inline-policies"])
            .await;
        planned.assert_stdout_starts("Will delete resources:\n  IAMRolePolicy/extra\n");
        assert_eq!(planned.last_line(), MUST_SPECIFY_YES);
    }
    c.assert_no_writes();
    let applied = c.run(&["--remove-extra-inline-policies", "--yes"]).await;
    applied.assert_code(0);
    let writes = c.proxy.write_requests();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, "DeleteRolePolicy");
    assert_eq!(writes[0].1["RoleName"], nodes);
    assert_eq!(writes[0].1["PolicyName"], "extra");

    // The account: the extra policy gone, everything else as the hand left it.
    assert_eq!(policy_document(&nodes, "extra").await, None);
    assert!(policy_document(&nodes, &nodes).await.is_some());
    let role = iam.get_role().role_name(&nodes).send().await.unwrap();
    let role = role.role().unwrap();
    assert_eq!(
        role.permissions_boundary()
            .and_then(|b| b.permissions_boundary_arn()),
        Some(boundary.as_str())
    );
    assert!(!role.tags().iter().any(|t| t.key() == "KubernetesCluster"));
    let attached = iam
        .list_attached_role_policies()
        .role_name(&nodes)
        .send()
        .await
        .unwrap();
    assert!(attached
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(ADMIN)));

    // The rest is still drift, and the flag has nothing more to do.
    c.proxy.clear();
    let after = drift_json(&c, "per-object").await;
    assert_eq!(after.as_array().unwrap().len(), 2, "{after:#}");
    let again = c.run(&["--remove-extra-inline-policies", "--yes"]).await;
    assert_eq!(again.last_line(), NO_CHANGES);
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_extra_inline_policy_on_an_owned_pod_role_is_deleted_without_the_flag() {
    let name = common::unique_cluster("pod-extra");
    let readonly = managed_policy(&format!("{}-ro", name.split('.').next().unwrap())).await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&common::spec::pod_identity("kube2iam", &readonly, &["app"]))
    })
    .await;
    c.apply().await.assert_code(0);
    let app = format!("app.pods.{name}");
    put_role_policy(&app, "extra", STAR).await;
    c.proxy.clear();

    let dry = c.dry_run().await;
    dry.assert_stdout_starts("Will delete resources:\n  IAMRolePolicy/extra\n");
    c.assert_no_writes();
    c.apply().await.assert_code(0);
    let writes = c.proxy.write_requests();
    assert_eq!(writes.len(), 1, "{writes:?}");
    assert_eq!(writes[0].0, "DeleteRolePolicy");
    assert_eq!(writes[0].1["RoleName"], app);
    assert_eq!(policy_document(&app, "extra").await, None);
    assert!(policy_document(&app, &app).await.is_some());
    c.apply_again_quietly().await;
}
