//! Pod roles for kube2iam, kiam and IRSA against a real LocalStack: created, quiet on a
//! second run, a trust principal changed out of band restored in place, and a role removed
//! from the spec deleted only when this cluster owns it.

use crate::common;

use common::cluster::{Cluster, NO_CHANGES};
use common::spec::{issuer_discovery, pod_identity, ClusterYaml};
use common::{
    add_role_to_instance_profile, create_instance_profile, create_role, iam_client, managed_policy,
    oidc_audiences, put_role_policy, role_exists, role_id, set_trust, ALLOW_S3, EC2_TRUST,
};

const ACCOUNT: &str = "000000000000";
/// A trust policy for another account: what a hand-made change puts on a role.
const FOREIGN_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"sts:AssumeRole"}]}"#;

/// The IAM role of pod role `short` of `cluster`.
fn pod_role(short: &str, cluster: &str) -> String {
    format!("{short}.pods.{cluster}")
}

fn arn(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role}")
}

async fn trust_of(role: &str) -> serde_json::Value {
    serde_json::from_str(&common::trust_policy(role).await).unwrap()
}

async fn inline(role: &str, name: &str) -> Option<serde_json::Value> {
    serde_json::from_str(&common::policy_document(role, name).await?).ok()
}

async fn attached(role: &str) -> Vec<String> {
    let out = iam_client()
        .await
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .unwrap();
    out.attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
        .map(str::to_string)
        .collect()
}

/// A unique cluster name for `test`, its first label, and a managed policy made for it (the
/// ARN).
async fn cluster_with_policy(test: &str) -> (String, String, String) {
    let name = common::unique_cluster(test);
    let short = name.split('.').next().unwrap().to_string();
    let readonly = managed_policy(&format!("{short}-readonly")).await;
    (name, short, readonly)
}

/// An IRSA cluster for `test` whose OIDC provider rolecall manages, with one service account
/// `namespace/account` granted a managed policy made for it: (cluster, that policy's ARN).
async fn irsa_cluster(test: &str, namespace: &str, account: &str) -> (Cluster, String) {
    let (name, _, readonly) = cluster_with_policy(test).await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_service_account(account, namespace, &readonly)
    })
    .await;
    (c, readonly)
}

/// Changes a role's trust out of band, then checks rolecall puts it back in place.
async fn assert_trust_restored(c: &Cluster, role: &str) {
    let id = role_id(role).await;
    let expected = trust_of(role).await;
    set_trust(role, FOREIGN_TRUST).await;
    c.proxy.clear();
    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("  IAMRole/{role}\n  \tTrustPolicy\n"));
    assert_eq!(c.proxy.writes(), vec!["UpdateAssumeRolePolicy"]);
    assert_eq!(trust_of(role).await, expected);
    assert_eq!(role_id(role).await, id, "restored in place, not recreated");
}

#[tokio::test(flavor = "multi_thread")]
async fn kube2iam_roles_trust_the_node_role_and_removed_ones_are_deleted_only_when_owned() {
    let (name, _, readonly) = cluster_with_policy("kube2iam").await;
    let yaml = |roles: &[&str]| {
        ClusterYaml::new(&name).with_iam(&pod_identity("kube2iam", &readonly, roles))
    };
    let c = Cluster::new_named(&name, |_| yaml(&["billing", "ops"])).await;
    let (billing, ops, nodes) = (
        pod_role("billing", &name),
        pod_role("ops", &name),
        c.role("nodes"),
    );

    let run = c.apply().await;
    run.assert_code(0);
    for role in [&billing, &ops] {
        assert_eq!(
            trust_of(role).await["Statement"][0]["Principal"]["AWS"],
            serde_json::json!(arn(&nodes)),
            "{role} trusts exactly the node role"
        );
        assert_eq!(attached(role).await, vec![readonly.clone()]);
        assert!(inline(role, role).await.is_some());
    }
    let grant = inline(&nodes, &format!("kube2iam.{nodes}"))
        .await
        .expect("the node role's grant");
    assert_eq!(
        grant["Statement"][0]["Resource"],
        serde_json::json!([arn(&billing), arn(&ops)]),
        "the node role may assume exactly the application roles, not *"
    );

    c.apply_again_quietly().await;

    assert_trust_restored(&c, &billing).await;

    // A role of the same kind of name that someone else made, untagged: never touched.
    let foreign = format!("legacy.pods.{name}");
    create_role(&foreign, EC2_TRUST, None).await;

    c.rewrite(yaml(&["billing"]));
    c.proxy.clear();
    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("DeleteRole                IAMRole/{ops}"));
    assert!(!role_exists(&ops).await, "the owned role is deleted");
    assert!(
        role_exists(&foreign).await,
        "the untagged role is left alone"
    );
    run.assert_stdout_has(&format!(
        "  IAMRole/{foreign}\n  \tis named like a pod role"
    ));
    assert!(c.proxy.writes_naming(&foreign).is_empty());
    let grant = inline(&nodes, &format!("kube2iam.{nodes}")).await.unwrap();
    assert_eq!(
        grant["Statement"][0]["Resource"],
        serde_json::json!([arn(&billing)])
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kiam_chains_masters_to_the_server_role_to_the_application_roles() {
    let (name, _, readonly) = cluster_with_policy("kiam").await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&pod_identity("kiam", &readonly, &["billing"]))
    })
    .await;
    let server = format!("kiam-server.{name}");
    let (billing, masters) = (pod_role("billing", &name), c.role("masters"));

    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has(&format!(
        "kiam: run the kiam server with --assume-role-arn={}",
        arn(&server)
    ));
    assert_eq!(
        trust_of(&server).await["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(arn(&masters))
    );
    assert_eq!(
        trust_of(&billing).await["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(arn(&server))
    );
    assert_eq!(
        inline(&masters, &format!("kiam.{masters}")).await.unwrap()["Statement"][0]["Resource"],
        serde_json::json!([arn(&server)])
    );
    assert_eq!(
        inline(&server, &server).await.unwrap()["Statement"][0]["Resource"],
        serde_json::json!([arn(&billing)])
    );

    c.apply_again_quietly().await;

    assert_trust_restored(&c, &billing).await;

    let annotations =
        common::rolecall(&c.proxy.endpoint, &["annotations", "-f", &c.spec_path]).await;
    annotations.assert_code(0);
    annotations.assert_stdout_has(&format!(
        "    iam.amazonaws.com/permitted: '^({})$'\n",
        arn(&billing).replace('.', "\\.")
    ));

    // Removing the last role deletes it; the server role stays while kiam is configured.
    c.rewrite(ClusterYaml::new(&name).with_iam(&pod_identity("kiam", &readonly, &[])));
    let run = c.apply().await;
    run.assert_code(0);
    assert!(!role_exists(&billing).await);
    assert!(role_exists(&server).await);
}

#[tokio::test(flavor = "multi_thread")]
async fn irsa_roles_trust_the_oidc_provider_for_one_service_account() {
    let (c, readonly) = irsa_cluster("irsa", "kube-system", "external-dns").await;
    let name = c.name.clone();
    let role = format!("external-dns.kube-system.sa.{name}");
    let issuer = format!("rolecall-oidc.s3.us-east-1.amazonaws.com/{name}");
    let provider_arn = format!("arn:aws:iam::{ACCOUNT}:oidc-provider/{issuer}");

    let run = c.apply().await;
    run.assert_code(0);
    assert_eq!(oidc_audiences(&provider_arn).await, ["amazonaws.com"]);
    let statement = trust_of(&role).await["Statement"][0].clone();
    assert_eq!(
        statement["Principal"]["Federated"],
        serde_json::json!(provider_arn)
    );
    assert_eq!(statement["Action"], "sts:AssumeRoleWithWebIdentity");
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{issuer}:sub")],
        "system:serviceaccount:kube-system:external-dns"
    );
    assert_eq!(
        statement["Condition"]["StringEquals"][format!("{issuer}:aud")],
        serde_json::json!(["amazonaws.com"])
    );
    assert_eq!(attached(&role).await, vec![readonly.clone()]);

    c.apply_again_quietly().await;

    assert_trust_restored(&c, &role).await;

    let annotations =
        common::rolecall(&c.proxy.endpoint, &["annotations", "-f", &c.spec_path]).await;
    annotations.assert_stdout_has(&format!(
        "  name: external-dns\n  namespace: kube-system\n  annotations:\n    eks.amazonaws.com/role-arn: '{}'\n",
        arn(&role)
    ));

    // A managed policy no longer listed is detached.
    let permissions_inline = "    serviceAccountExternalPermissions:\n    - name: external-dns\n      namespace: kube-system\n      aws:\n        inlinePolicy: '[{\"Effect\": \"Allow\", \"Action\": \"route53:ChangeResourceRecordSets\", \"Resource\": \"*\"}]'\n";
    c.rewrite(
        ClusterYaml::new(&name)
            .with_spec(&issuer_discovery(&name))
            .with_iam(permissions_inline),
    );
    c.proxy.clear();
    let run = c.apply().await;
    run.assert_code(0);
    let mut writes = c.proxy.writes();
    writes.sort();
    assert_eq!(writes, ["DetachRolePolicy", "PutRolePolicy"]);
    assert!(attached(&role).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_node_group_kube2iam_finds_the_node_role_through_running_nodes() {
    let (name, short, readonly) = cluster_with_policy("k2i-ec2").await;
    // Nodes made outside this spec: a hand-made role in a hand-made profile.
    let (node_role, profile) = (
        format!("{short}-node-role"),
        format!("{short}-node-profile"),
    );
    create_role(&node_role, EC2_TRUST, None).await;
    create_instance_profile(&profile, None).await;
    add_role_to_instance_profile(&profile, &node_role).await;
    let instance =
        common::run_instance(&name, "nodes", &["k8s.io/role/node"], Some(&profile)).await;

    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n)
            .with_groups(&["Master"])
            .with_iam(&pod_identity("kube2iam", &readonly, &["billing"]))
    })
    .await;
    let run = c.apply().await;
    run.assert_code(0);
    let billing = format!("billing.pods.{name}");
    assert_eq!(
        trust_of(&billing).await["Statement"][0]["Principal"]["AWS"],
        serde_json::json!(arn(&node_role)),
        "the role of the running nodes is trusted"
    );
    // That role is not rolecall's: its grant is reported as missing, never written.
    let grant = format!("kube2iam.{node_role}");
    run.assert_stdout_has(&format!("  IAMRolePolicy/{grant}\n  \tlifecycle ExistsAndWarnIfChanges, but the object was not found"));
    assert!(
        c.proxy.writes_naming(&node_role).is_empty(),
        "{:?}",
        c.proxy.writes_naming(&node_role)
    );
    assert!(inline(&node_role, &grant).await.is_none());

    common::ec2_client()
        .await
        .terminate_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap();
}

/// A dry run with `--fetch fetch`, counting its calls into the file `calls`.
async fn plan_fetching(c: &Cluster, fetch: &str, calls: &std::path::Path) -> common::Run {
    c.run(&["--fetch", fetch, "--calls-json", calls.to_str().unwrap()])
        .await
}

fn calls(path: &std::path::Path) -> std::collections::BTreeMap<String, u64> {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn per_object_and_bulk_reads_give_the_same_plan() {
    let (name, short, readonly) = cluster_with_policy("fetch").await;
    let other = managed_policy(&format!("{short}-other")).await;
    let yaml = |roles: &[&str]| {
        ClusterYaml::new(&name).with_iam(&pod_identity("kube2iam", &readonly, roles))
    };
    let c = Cluster::new_named(&name, |_| yaml(&["a", "b", "c"])).await;
    assert_eq!(c.apply().await.code, 0);

    // Drift of every kind the plan knows.
    let iam = iam_client().await;
    let (a, b, nodes) = (
        format!("a.pods.{name}"),
        format!("b.pods.{name}"),
        format!("nodes.{name}"),
    );
    set_trust(&a, FOREIGN_TRUST).await;
    put_role_policy(&b, &b, ALLOW_S3).await;
    iam.attach_role_policy()
        .role_name(&b)
        .policy_arn(&other)
        .send()
        .await
        .unwrap();
    put_role_policy(
        &nodes,
        &nodes,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#,
    )
    .await;
    c.rewrite(yaml(&["a", "b"])); // c.pods is now an owned stray

    let dir = common::scratch_dir(&name);
    let (per_object_calls, bulk_calls) = (dir.join("per-object.json"), dir.join("bulk.json"));
    let per_object = plan_fetching(&c, "per-object", &per_object_calls).await;
    let bulk = plan_fetching(&c, "bulk", &bulk_calls).await;
    per_object.assert_code(0);
    for expected in [
        format!("  IAMRole/{a}\n  \tTrustPolicy\n"),
        format!("  IAMRolePolicy/{b}\n  \tPolicyDocument\n"),
        format!("  IAMRolePolicyAttachment/{b}/{other}\n"),
        format!("  IAMRole/c.pods.{name}\n"),
        format!("  IAMRolePolicy/{nodes}\n"),
    ] {
        assert!(
            per_object.stdout.contains(&expected),
            "{expected:?} missing:\n{per_object:?}"
        );
    }
    assert_eq!(
        per_object.stdout, bulk.stdout,
        "the two strategies must plan alike"
    );
    assert_eq!(per_object.code, bulk.code);

    let (per_object_calls, bulk_calls) = (calls(&per_object_calls), calls(&bulk_calls));
    assert!(per_object_calls["GetRole"] >= 5, "{per_object_calls:?}");
    assert!(!per_object_calls.contains_key("GetAccountAuthorizationDetails"));
    assert_eq!(
        bulk_calls["GetAccountAuthorizationDetails"], 1,
        "{bulk_calls:?}"
    );
    assert!(
        !bulk_calls.contains_key("GetRole") && !bulk_calls.contains_key("GetRolePolicy"),
        "{bulk_calls:?}"
    );
    let total = |m: &std::collections::BTreeMap<String, u64>| m.values().sum::<u64>();
    assert!(
        total(&bulk_calls) < total(&per_object_calls),
        "{bulk_calls:?} vs {per_object_calls:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_bulk_page_is_followed_to_its_marker_even_when_empty() {
    let (name, _, readonly) = cluster_with_policy("pages").await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&pod_identity("kube2iam", &readonly, &["a", "b"]))
    })
    .await;
    assert_eq!(c.apply().await.code, 0);

    // LocalStack answers in one page whatever MaxItems says; IAM may end a page early, even
    // with nothing in it, and mark it truncated. The next page is asked for by its marker.
    c.proxy.answer(
        "GetAccountAuthorizationDetails",
        "<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <GetAccountAuthorizationDetailsResult><IsTruncated>true</IsTruncated>\
         <Marker>page-two</Marker><RoleDetailList/><UserDetailList/><GroupDetailList/><Policies/>\
         </GetAccountAuthorizationDetailsResult><ResponseMetadata><RequestId>1</RequestId>\
         </ResponseMetadata></GetAccountAuthorizationDetailsResponse>",
        1,
    );
    c.proxy.clear();
    let run = c.run(&["--fetch", "bulk"]).await;
    assert_eq!(run.last_line(), NO_CHANGES, "{run:?}");
    // One first page, and every later request follows its marker. LocalStack sometimes
    // answers GetAccountAuthorizationDetails with a 500 ("dictionary changed size during
    // iteration") while other tests write, and the SDK retries that same request: so the
    // marker's request is counted at least once rather than exactly once.
    let pages = c.proxy.requests("GetAccountAuthorizationDetails");
    let following = c
        .proxy
        .requests_with("GetAccountAuthorizationDetails", "Marker", "page-two");
    assert!(following >= 1, "{run:?}");
    assert_eq!(pages - following, 1, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bulk_read_follows_every_page_iam_gives() {
    let (name, _, readonly) = cluster_with_policy("paged").await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&pod_identity("kube2iam", &readonly, &["a", "b", "c"]))
    })
    .await;
    assert_eq!(c.apply().await.code, 0);
    let b = format!("b.pods.{name}");
    put_role_policy(
        &b,
        &b,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
    )
    .await;

    // Pages of two roles, as IAM may cut them short of MaxItems: the cluster's roles and
    // the account's others lie on many pages, and a page left unread would show its
    // roles as missing, to be created.
    c.proxy.page_role_details(common::proxy::Paging {
        page_cap: 2,
        ..common::proxy::Paging::sizes_only()
    });
    c.proxy.clear();
    let run = c.run(&["--fetch", "bulk"]).await;
    run.assert_code(0);
    assert!(
        run.stdout
            .contains(&format!("  IAMRolePolicy/{b}\n  \tPolicyDocument\n")),
        "{run:?}"
    );
    for role in ["masters", "nodes", "bastions", "a.pods", "c.pods"] {
        let id = format!("IAMRole/{role}.{name}");
        assert!(!run.stdout.contains(&id), "{id} planned: {run:?}");
    }
    let pages = c.proxy.requests("GetAccountAuthorizationDetails");
    let first_pages = pages
        - c.proxy
            .requests_with_param("GetAccountAuthorizationDetails", "Marker");
    assert!(pages >= 3, "{pages} pages: {run:?}");
    assert_eq!(
        first_pages, 1,
        "one listing, followed page by page: {run:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_provider_made_by_an_attempt_whose_answer_was_lost_is_taken_as_made() {
    let (c, _) = irsa_cluster("irsa-lost", "default", "app").await;
    // IAM makes the provider, but its answer comes after the 1 s attempt timeout: the retry
    // is refused as a duplicate of what the first attempt made.
    c.proxy.stall_action(
        "CreateOpenIDConnectProvider",
        1,
        std::time::Duration::from_secs(3),
    );
    let run = c.run(&["--yes", "--attempt-timeout", "1"]).await;
    run.assert_code(0);
    let actions = c.proxy.actions();
    let creates = actions
        .iter()
        .filter(|a| *a == "CreateOpenIDConnectProvider")
        .count();
    assert!(creates >= 2, "{actions:?}");
    // The refused retry was followed by reading the provider back.
    let last_create = actions
        .iter()
        .rposition(|a| a == "CreateOpenIDConnectProvider")
        .unwrap();
    assert!(
        actions[last_create..]
            .iter()
            .any(|a| a == "GetOpenIDConnectProvider"),
        "{actions:?}"
    );
    c.proxy.clear();
    let again = c.dry_run().await;
    assert_eq!(again.last_line(), NO_CHANGES, "{again:?}");
}
