//! `rolecall delete` and removed instance groups against a real LocalStack: a whole cluster
//! torn down while look-alikes, another cluster's role and an unrelated role get no write;
//! a lifecycle override keeping a role; a teardown stopped half-way finished by the next
//! run; and a removed bastions group deleted by `update` when owned, only reported when
//! kops made it (untagged).

use crate::common;

use common::cluster::{Cluster, MUST_SPECIFY_YES, NO_CHANGES};
use common::proxy::Fault;
use common::spec::{
    issuer_discovery, pod_identity, service_account_permissions, ClusterYaml, SQS_STATEMENT,
};
use common::{add_role_to_instance_profile, put_role_policy, rolecall, ALLOW_S3, EC2_TRUST};
use common::{create_instance_profile, create_role, iam_client, managed_policy, role_exists};

const ACCOUNT: &str = "000000000000";
const NOT_OWNED: &str = "Not deleted: not provably this cluster's (no ownership tag):";

/// `delete -f <spec>` with more arguments, for a test cluster.
async fn delete(c: &Cluster, args: &[&str]) -> common::Run {
    let mut all = vec!["delete", "-f", &c.spec_path];
    all.extend_from_slice(args);
    rolecall(&c.proxy.endpoint, &all).await
}

fn nothing_left(c: &Cluster) -> String {
    format!(
        "Nothing of cluster {} is left that rolecall can delete",
        c.name
    )
}

async fn profile_exists(name: &str) -> bool {
    let iam = iam_client().await;
    let got = iam.get_instance_profile().instance_profile_name(name);
    got.send().await.is_ok()
}

async fn provider_exists(arn: &str) -> bool {
    let iam = iam_client().await;
    let got = iam.get_open_id_connect_provider();
    got.open_id_connect_provider_arn(arn).send().await.is_ok()
}

async fn policy_exists(arn: &str) -> bool {
    let iam = iam_client().await;
    iam.get_policy().policy_arn(arn).send().await.is_ok()
}

fn owned_by(cluster: &str) -> Vec<(String, String)> {
    vec![
        ("KubernetesCluster".into(), cluster.into()),
        (format!("kubernetes.io/cluster/{cluster}"), "owned".into()),
    ]
}

/// The cluster of the full teardown: masters, nodes, bastions, an additional node policy,
/// a kube2iam role (with its grant on the node role) and an IRSA service account with the
/// OIDC provider rolecall manages.
fn full(name: &str, readonly: &str) -> ClusterYaml {
    let iam = format!(
        "{}{}",
        pod_identity("kube2iam", readonly, &["app"]),
        service_account_permissions("external-dns", "kube-system", readonly)
    );
    ClusterYaml::new(name)
        .with_node_policy(SQS_STATEMENT)
        .with_spec(&issuer_discovery(name))
        .with_iam(&iam)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_is_torn_down_and_nothing_it_cannot_prove_it_owns_is_touched() {
    let name = common::unique_cluster("teardown");
    let short = name.split('.').next().unwrap().to_string();
    let readonly = managed_policy(&format!("{short}-readonly")).await;
    let c = Cluster::new_named(&name, |n| full(n, &readonly)).await;
    c.apply().await.assert_code(0);
    let desired = c.desired();
    let roles = [
        c.role("masters"),
        c.role("nodes"),
        c.role("bastions"),
        format!("app.pods.{name}"),
        format!("external-dns.kube-system.sa.{name}"),
    ];
    for role in &roles {
        assert!(role_exists(role).await, "{role} made by update");
    }
    let issuer = format!("rolecall-oidc.s3.us-east-1.amazonaws.com/{name}");
    let provider = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}");
    assert!(provider_exists(&provider).await);

    // Beside it: an untagged look-alike named like a pod role of this cluster, a role of
    // another cluster named alike, and an unrelated role, each with a policy.
    let look_alike = format!("ghost.pods.{name}");
    let foreign = format!("other.pods.{name}");
    let unrelated = format!("{short}-unrelated");
    create_role(&look_alike, EC2_TRUST, None).await;
    create_role(&foreign, EC2_TRUST, Some(&owned_by("other.k8s.local"))).await;
    create_role(&unrelated, EC2_TRUST, None).await;
    for role in [&look_alike, &foreign, &unrelated] {
        put_role_policy(role, "own", ALLOW_S3).await;
    }
    c.proxy.clear();

    // The dry run: every deletion in kops's layout, the look-alikes in their own section,
    // nothing written; bulk and per-object reads plan alike.
    let dry = delete(&c, &["--fetch", "per-object"]).await;
    dry.assert_code(0);
    dry.assert_stdout_has("Will delete resources:\n");
    for role in &roles {
        dry.assert_stdout_has(&format!("  IAMRole/{role}\n"));
    }
    dry.assert_stdout_has(&format!("  IAMOIDCProvider/{issuer}\n"));
    dry.assert_stdout_has(&format!("  IAMRolePolicy/kube2iam.{}\n", c.role("nodes")));
    dry.assert_stdout_has(&format!("{NOT_OWNED}\n  IAMRole/{look_alike}\n"));
    dry.assert_stdout_has(&format!("  IAMRole/{foreign}\n"));
    dry.assert_stdout_has("belongs to cluster other.k8s.local");
    assert!(!dry.stdout.contains(&unrelated), "{dry:?}");
    assert_eq!(dry.last_line(), MUST_SPECIFY_YES);
    c.assert_no_writes();
    let json = |run: &common::Run| -> serde_json::Value {
        run.assert_code(0);
        serde_json::from_str(&run.stdout).unwrap()
    };
    let per_object = json(&delete(&c, &["--output", "json", "--fetch", "per-object"]).await);
    let bulk = json(&delete(&c, &["--output", "json", "--fetch", "bulk"]).await);
    assert_eq!(per_object["changes"], bulk["changes"]);
    assert_eq!(per_object["not_owned"], bulk["not_owned"]);
    let listed: Vec<&str> = per_object["not_owned"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [
            format!("IAMRole/{look_alike}"),
            format!("IAMRole/{foreign}")
        ]
    );
    let changes = per_object["changes"].as_array().unwrap();
    assert!(changes.iter().all(|c| c["action"] == "delete"));
    // The provider goes after the roles that trust it, a role after what is on it.
    let stage = |op: &str| -> Vec<u64> {
        let of = changes.iter().filter(|c| c["operation"] == op);
        of.map(|c| c["stage"].as_u64().unwrap()).collect()
    };
    assert_eq!(stage("DeleteOpenIDConnectProvider"), [2]);
    assert!(stage("DeleteRole").iter().all(|s| *s == 1));
    assert!(stage("DeleteRolePolicy").iter().all(|s| *s == 0));
    c.assert_no_writes();

    // --yes: nothing of the cluster is left, read back with the tests' own client.
    let run = delete(&c, &["--yes"]).await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("\nApplied {} changes.\n", changes.len()));
    for role in &roles {
        assert!(!role_exists(role).await, "{role} deleted");
    }
    for profile in &desired.instance_profiles {
        assert!(
            !profile_exists(&profile.name).await,
            "{} deleted",
            profile.name
        );
    }
    assert!(!provider_exists(&provider).await);
    // The managed policy was only detached; the others got no write at all.
    assert!(policy_exists(&readonly).await);
    for role in [&look_alike, &foreign, &unrelated] {
        assert!(role_exists(role).await, "{role} untouched");
        assert!(
            c.proxy.writes_naming(role).is_empty(),
            "{role}: {:?}",
            c.proxy.writes_naming(role)
        );
        assert!(common::policy_document(role, "own").await.is_some());
    }

    // Again: nothing is left, nothing is written; update would make it all again.
    c.proxy.clear();
    let again = delete(&c, &["--detailed-exitcode"]).await;
    again.assert_code(0);
    assert_eq!(again.last_line(), nothing_left(&c));
    again.assert_stdout_has(NOT_OWNED);
    c.assert_no_writes();
    let update = c.dry_run().await;
    update.assert_code(0);
    for role in &roles {
        update.assert_stdout_has(&format!("  IAMRole/{role}\n"));
    }
    assert_eq!(update.last_line(), MUST_SPECIFY_YES);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lifecycle_override_keeps_a_role_and_what_is_on_it() {
    let c = Cluster::applied("teardown-keep", ClusterYaml::new).await;
    let bastions = c.role("bastions");
    let overrides = format!("IAMRole/{bastions}=Ignore");
    let dry = delete(
        &c,
        &["--lifecycle-overrides", &overrides, "--detailed-exitcode"],
    )
    .await;
    dry.assert_code(2);
    dry.assert_stdout_has(&format!(
        "Ignored (lifecycle Ignore: neither read nor written):\n  IAMRole/{bastions}\n"
    ));
    c.proxy.clear();
    delete(&c, &["--yes", "--lifecycle-overrides", &overrides])
        .await
        .assert_code(0);
    assert!(role_exists(&bastions).await);
    assert!(common::policy_document(&bastions, &bastions)
        .await
        .is_some());
    for w in c.proxy.write_requests() {
        let role = w.1.get("RoleName").map(String::as_str);
        let deletes_its_part = w.0 != "RemoveRoleFromInstanceProfile";
        assert!(
            !(role == Some(bastions.as_str()) && deletes_its_part),
            "{w:?}"
        );
    }
    assert!(!role_exists(&c.role("nodes")).await);
    assert!(!role_exists(&c.role("masters")).await);
    // The type override keeps every role; the profiles, which have their own lifecycle, go.
    let c = Cluster::applied("teardown-keep-type", ClusterYaml::new).await;
    let run = delete(
        &c,
        &[
            "--yes",
            "--lifecycle-overrides",
            "IAMRole=ExistsAndWarnIfChanges",
        ],
    )
    .await;
    run.assert_code(0);
    for prefix in ["masters", "nodes", "bastions"] {
        assert!(role_exists(&c.role(prefix)).await);
        assert!(!profile_exists(&c.role(prefix)).await);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_teardown_stopped_half_way_is_finished_by_the_next_run() {
    let c = Cluster::applied("teardown-stop", ClusterYaml::new).await;
    c.proxy.fail(
        "DeleteRole",
        Fault {
            status: 403,
            code: "AccessDenied".into(),
            message: "not allowed to delete this role".into(),
            times: 1,
        },
    );
    let stopped = delete(&c, &["--yes"]).await;
    stopped.assert_code(1);
    stopped.assert_stderr_has("Fix the cause and run again");
    let left = [c.role("masters"), c.role("nodes"), c.role("bastions")];
    let mut remaining = Vec::new();
    for role in &left {
        if role_exists(role).await {
            remaining.push(role.clone());
        }
    }
    assert_eq!(
        remaining.len(),
        1,
        "one DeleteRole was refused: {remaining:?}"
    );
    // The refused role has lost its policies and its profile: the next run reads what is
    // left and deletes only the role.
    c.proxy.clear();
    let run = delete(&c, &["--yes"]).await;
    run.assert_code(0);
    assert_eq!(c.proxy.writes(), ["DeleteRole"]);
    assert!(!role_exists(&remaining[0]).await);
    c.proxy.clear();
    assert_eq!(delete(&c, &[]).await.last_line(), nothing_left(&c));
    c.assert_no_writes();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_bastions_group_is_deleted_when_owned_and_reported_when_kops_made_it() {
    // Owned: rolecall made it, tagged; the spec drops the group; update deletes its IAM.
    let c = Cluster::applied("removed-owned", ClusterYaml::new).await;
    let bastions = c.role("bastions");
    c.rewrite(ClusterYaml::new(&c.name).with_groups(&["Master", "Node"]));
    let dry = c.dry_run().await;
    dry.assert_code(0);
    dry.assert_stdout_has(&format!(
        "Will delete resources:\n  IAMInstanceProfile/{bastions}\n"
    ));
    dry.assert_stdout_has(&format!("  IAMRole/{bastions}\n"));
    c.proxy.clear();
    c.apply().await.assert_code(0);
    let mut writes = c.proxy.writes();
    writes.sort();
    assert_eq!(
        writes,
        [
            "DeleteInstanceProfile",
            "DeleteRole",
            "DeleteRolePolicy",
            "RemoveRoleFromInstanceProfile"
        ]
    );
    assert!(!role_exists(&bastions).await && !profile_exists(&bastions).await);
    assert!(role_exists(&c.role("nodes")).await);
    c.apply_again_quietly().await;

    // Untagged: as kops 1.10 made it. Reported, never touched.
    let c = Cluster::new("removed-kops", |n| {
        ClusterYaml::new(n).with_groups(&["Master", "Node"])
    })
    .await;
    let bastions = c.role("bastions");
    create_role(&bastions, EC2_TRUST, None).await;
    put_role_policy(&bastions, &bastions, ALLOW_S3).await;
    create_instance_profile(&bastions, None).await;
    add_role_to_instance_profile(&bastions, &bastions).await;
    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("{NOT_OWNED}\n  IAMInstanceProfile/{bastions}\n"));
    run.assert_stdout_has(&format!("  IAMRole/{bastions}\n  \tits instance group's kind is no longer in the spec, but it is not tagged"));
    assert!(c.proxy.writes_naming(&bastions).is_empty());
    assert!(role_exists(&bastions).await && profile_exists(&bastions).await);
    assert_eq!(c.apply().await.last_line(), NO_CHANGES);
}
