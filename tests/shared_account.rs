//! A shared account, tried as a hostile user would: other clusters' IAM under colliding
//! names, objects made by hand, stray pod roles under checking lifecycles, grants left from
//! an earlier mode. The recording proxy counts every write; the account is read back with the
//! tests' own client.

use crate::common;

use common::cluster::Cluster;
use common::spec::{issuer_discovery, pod_identity, service_account_permissions, ClusterYaml};
use common::{
    create_instance_profile, create_role, iam_client, iam_tags, managed_policy, oidc_audiences,
    policy_document, put_role_policy, role_exists, trust_policy, unique_cluster, EC2_TRUST,
};

const HAND_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#;

fn owned_by(cluster: &str) -> Vec<(String, String)> {
    vec![
        ("KubernetesCluster".into(), cluster.into()),
        (format!("kubernetes.io/cluster/{cluster}"), "owned".into()),
    ]
}

/// Makes a role by hand, with an EC2 trust, `tags` and one inline policy named as the role.
async fn hand_made_role(name: &str, tags: &[(String, String)]) {
    create_role(name, EC2_TRUST, Some(tags)).await;
    put_role_policy(name, name, HAND_POLICY).await;
}

/// A customer managed policy made for the cluster `name`, to attach: its ARN.
async fn readonly_policy(name: &str) -> String {
    managed_policy(&format!("{}-ro", name.split('.').next().unwrap())).await
}

/// Makes an OIDC provider by hand for `url`, with one audience and `tags` when given; its ARN.
async fn create_oidc_provider(
    url: &str,
    audience: &str,
    tags: Option<&[(String, String)]>,
) -> String {
    let made = iam_client()
        .await
        .create_open_id_connect_provider()
        .url(url)
        .client_id_list(audience)
        .thumbprint_list("9e99a48a9960b14926bb7f3b02e22da2b0ab7280")
        .set_tags(tags.map(iam_tags))
        .send()
        .await
        .unwrap();
    made.open_id_connect_provider_arn().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_stray_pod_role_obeys_lifecycles() {
    let name = unique_cluster("stray-lc");
    let readonly = readonly_policy(&name).await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&pod_identity("kube2iam", &readonly, &["keep", "old-app"]))
    })
    .await;
    let run = c.apply().await;
    run.assert_code(0);
    let stray = format!("old-app.pods.{}", c.name);
    assert!(role_exists(&stray).await);

    c.rewrite(ClusterYaml::new(&c.name).with_iam(&pod_identity("kube2iam", &readonly, &["keep"])));
    for lifecycle in ["ExistsAndValidates", "ExistsAndWarnIfChanges", "Ignore"] {
        c.proxy.clear();
        let overrides = format!(
            "IAMRole={lifecycle},IAMRolePolicy={lifecycle},IAMInstanceProfile={lifecycle},IAMInstanceProfileRole={lifecycle},IAMOIDCProvider={lifecycle}"
        );
        let run = c.apply_with_overrides(&overrides).await;
        assert!(
            c.proxy.writes_naming(&stray).is_empty(),
            "{lifecycle}: {:?}\n{run:?}",
            c.proxy.writes()
        );
        assert!(role_exists(&stray).await, "{lifecycle}: {run:?}");
    }

    // One object override keeps the one stray; the rest of the plan is applied.
    c.proxy.clear();
    let one = format!("IAMRole/{stray}=ExistsAndWarnIfChanges");
    let run = c.apply_with_overrides(&one).await;
    run.assert_code(0);
    run.assert_stdout_has(&format!("IAMRole/{stray}"));
    assert!(c.proxy.writes_naming(&stray).is_empty(), "{run:?}");
    assert!(role_exists(&stray).await);

    // An object override naming nothing in the spec or the account is an error.
    c.proxy.clear();
    let typo = format!("IAMRole/nope.pods.{}=Ignore", c.name);
    let run = c.apply_with_overrides(&typo).await;
    run.assert_code(1);
    run.assert_stdout_has("neither an object of this cluster");
    c.assert_no_writes();

    // Under Sync it goes.
    let run = c.apply().await;
    run.assert_code(0);
    assert!(!role_exists(&stray).await, "{run:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_clusters_instance_group_role_is_never_written() {
    let name = unique_cluster("takeover-tag");
    let other = unique_cluster("other");
    let nodes = format!("nodes.{name}");
    hand_made_role(&nodes, &owned_by(&other)).await;
    let c = Cluster::new_named(&name, ClusterYaml::new).await;

    let run = c.apply().await;
    run.assert_code(1);
    run.assert_stdout_has(&format!("IAMRole/{nodes}\n  \tbelongs to cluster {other} "));
    c.assert_no_writes();
    assert_eq!(
        policy_document(&nodes, &nodes).await.as_deref(),
        Some(HAND_POLICY)
    );

    // Told to only check it, the plan goes ahead and leaves that role alone.
    let run = c
        .apply_with_overrides(&format!("IAMRole/{nodes}=ExistsAndWarnIfChanges"))
        .await;
    run.assert_code(0);
    let to_role: Vec<_> = c
        .proxy
        .write_requests()
        .into_iter()
        .filter(|(_, params)| params.get("RoleName") == Some(&nodes))
        .collect();
    assert!(to_role.is_empty(), "{to_role:?}\n{run:?}");
    assert_eq!(
        policy_document(&nodes, &nodes).await.as_deref(),
        Some(HAND_POLICY)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_named_like_another_clusters_service_accounts_takes_nothing_over() {
    // Cluster A's IRSA role for service account `masters` in namespace `team` is
    // `masters.team.sa.<A>`: the masters' role of a cluster named `team.sa.<A>`.
    let a = unique_cluster("irsa-a");
    let readonly = readonly_policy(&a).await;
    let cluster_a = Cluster::new_named(&a, |n| {
        ClusterYaml::new(n).with_service_account("masters", "team", &readonly)
    })
    .await;
    let run = cluster_a.apply().await;
    run.assert_code(0);
    let shared_name = format!("masters.team.sa.{a}");
    let trust_before = trust_policy(&shared_name).await;
    assert!(trust_before.contains("Federated"), "{trust_before}");

    let b = Cluster::new_named(&format!("team.sa.{a}"), ClusterYaml::new).await;
    let run = b.apply().await;
    run.assert_code(1);
    run.assert_stdout_has(&format!(
        "IAMRole/{shared_name}\n  \tbelongs to cluster {a} "
    ));
    b.assert_no_writes();
    assert_eq!(trust_policy(&shared_name).await, trust_before);
    assert_eq!(policy_document(&shared_name, &shared_name).await, None);

    // And A still plans nothing: B's failed run left its roles alone.
    let run = cluster_a.dry_run().await;
    run.assert_code(0);
    run.assert_stdout_has(common::cluster::NO_CHANGES);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oidc_provider_someone_else_made_is_only_checked() {
    let name = unique_cluster("oidc-foreign");
    let readonly = readonly_policy(&name).await;
    let url = format!("https://rolecall-oidc.s3.us-east-1.amazonaws.com/{name}");
    let arn = create_oidc_provider(&url, "someone-elses-audience", None).await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_service_account("shipper", "logs", &readonly)
    })
    .await;

    let run = c.apply().await;
    run.assert_code(0);
    run.assert_stdout_has("someone else made it");
    let writes = c.proxy.writes();
    assert!(
        !writes.iter().any(|w| w.contains("OpenIDConnectProvider")),
        "{writes:?}"
    );
    // The service account's role is still made: it trusts the provider as it is.
    assert!(role_exists(&format!("shipper.logs.sa.{name}")).await);
    assert_eq!(oidc_audiences(&arn).await, ["someone-elses-audience"]);
    // The missing audience stays drift, run after run.
    let run = c.dry_run().await;
    run.assert_stdout_has("amazonaws.com");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_for_a_mode_no_longer_used_is_deleted() {
    let name = unique_cluster("stale-grant");
    let readonly = readonly_policy(&name).await;
    let c = Cluster::new_named(&name, |n| {
        ClusterYaml::new(n).with_iam(&pod_identity("kube2iam", &readonly, &["app"]))
    })
    .await;
    let (nodes, masters) = (c.role("nodes"), c.role("masters"));
    let kube2iam = format!("kube2iam.{nodes}");
    let kiam = format!("kiam.{masters}");
    assert_eq!(c.apply().await.code, 0);
    assert!(policy_document(&nodes, &kube2iam).await.is_some());

    // kube2iam -> kiam: the nodes' grant goes, the masters' comes.
    c.rewrite(ClusterYaml::new(&c.name).with_iam(&pod_identity("kiam", &readonly, &["app"])));
    let run = c.apply().await;
    run.assert_code(0);
    assert_eq!(
        c.proxy
            .requests_with("DeleteRolePolicy", "PolicyName", &kube2iam),
        1
    );
    assert_eq!(policy_document(&nodes, &kube2iam).await, None);
    assert!(policy_document(&masters, &kiam).await.is_some());

    // Under a checking lifecycle the stale grant is drift, not deleted.
    c.rewrite(ClusterYaml::new(&c.name));
    c.proxy.clear();
    let keep = format!("IAMRolePolicy/{kiam}=ExistsAndWarnIfChanges");
    let run = c.apply_with_overrides(&keep).await;
    run.assert_code(0);
    assert!(c.proxy.writes_naming(&kiam).is_empty(), "{run:?}");
    assert!(policy_document(&masters, &kiam).await.is_some());

    // No pod identity at all: the masters' grant and kiam's server role go.
    let run = c.apply().await;
    run.assert_code(0);
    assert_eq!(policy_document(&masters, &kiam).await, None);
    assert!(!role_exists(&format!("kiam-server.{name}")).await);
    assert!(!role_exists(&format!("app.pods.{name}")).await);
    let run = c.dry_run().await;
    run.assert_stdout_has(common::cluster::NO_CHANGES);
}

// ---------------------------------------------------------------------------------------
// A property over random shared accounts: apply sends exactly the writes the plan lists,
// and never one to an object this cluster does not own or whose lifecycle forbids it.

/// A small deterministic generator, so that a failing case is reproduced from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[(self.next() % items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How an object was left in the account before rolecall runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seeded {
    Absent,
    /// Made by hand, untagged.
    Unmarked,
    /// Tagged as this cluster's.
    Ours,
    /// Tagged as another cluster's.
    Others,
}

const STATES: [Seeded; 4] = [
    Seeded::Absent,
    Seeded::Unmarked,
    Seeded::Ours,
    Seeded::Others,
];
const LIFECYCLES: [&str; 5] = [
    "Sync",
    "Ignore",
    "WarnIfInsufficientAccess",
    "ExistsAndValidates",
    "ExistsAndWarnIfChanges",
];
const TYPES: [&str; 5] = [
    "IAMRole",
    "IAMRolePolicy",
    "IAMInstanceProfile",
    "IAMInstanceProfileRole",
    "IAMOIDCProvider",
];

#[derive(Debug)]
struct Scenario {
    /// role -> (kind, how it was seeded); kind is "group", "pod" or "stray".
    roles: std::collections::BTreeMap<String, (&'static str, Seeded)>,
    profiles: std::collections::BTreeMap<String, Seeded>,
    provider: Option<(String, Seeded)>,
    overrides: Vec<String>,
}

impl Scenario {
    /// The lifecycle the overrides give an object, as `--lifecycle-overrides` documents it.
    fn lifecycle(&self, kind: &str, name: &str, role: Option<&str>) -> &str {
        let find = |target: &str| {
            self.overrides
                .iter()
                .rev()
                .find_map(|o| o.strip_prefix(&format!("{target}=")))
        };
        find(&format!("{kind}/{name}"))
            .or_else(|| role.and_then(|r| find(&format!("IAMRole/{r}"))))
            .or_else(|| find(kind))
            .unwrap_or("Sync")
    }
}

fn tags_for(state: Seeded, cluster: &str, other: &str) -> Vec<(String, String)> {
    match state {
        Seeded::Ours => owned_by(cluster),
        Seeded::Others => owned_by(other),
        _ => vec![],
    }
}

async fn random_case(seed: u64) {
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let cluster = unique_cluster(&format!("prop{seed}"));
    let other = unique_cluster("owner");
    let readonly = readonly_policy(&cluster).await;
    let irsa = rng.chance(50);
    let mut s = Scenario {
        roles: Default::default(),
        profiles: Default::default(),
        provider: None,
        overrides: vec![],
    };
    for group in ["masters", "nodes", "bastions"] {
        let name = format!("{group}.{cluster}");
        s.roles.insert(name.clone(), ("group", rng.pick(&STATES)));
        s.profiles.insert(name, rng.pick(&STATES));
    }
    for pod in ["app.pods", "web.pods"] {
        s.roles
            .insert(format!("{pod}.{cluster}"), ("pod", rng.pick(&STATES)));
    }
    if irsa {
        s.roles
            .insert(format!("sa1.ns.sa.{cluster}"), ("pod", rng.pick(&STATES)));
        let url = format!("https://rolecall-oidc.s3.us-east-1.amazonaws.com/{cluster}");
        s.provider = Some((url, rng.pick(&STATES)));
    }
    s.roles
        .insert(format!("old.pods.{cluster}"), ("stray", rng.pick(&STATES)));
    // Another cluster's object makes the plan fail, as it must: keep it to one object in
    // half of the cases, so that the others show what is written, and sometimes tell rolecall
    // to only check it, so that the plan goes ahead beside it.
    for state in s
        .roles
        .values_mut()
        .map(|r| &mut r.1)
        .chain(s.profiles.values_mut())
    {
        if *state == Seeded::Others {
            *state = Seeded::Unmarked;
        }
    }
    if let Some((_, state)) = &mut s.provider {
        if *state == Seeded::Others {
            *state = Seeded::Ours;
        }
    }
    if rng.chance(50) {
        let names: Vec<String> = s.roles.keys().cloned().collect();
        let name = names[(rng.next() % names.len() as u64) as usize].clone();
        s.roles.get_mut(&name).unwrap().1 = Seeded::Others;
        if rng.chance(50) {
            s.overrides
                .push(format!("IAMRole/{name}=ExistsAndWarnIfChanges"));
        }
    }
    for kind in TYPES {
        if rng.chance(30) {
            s.overrides
                .push(format!("{kind}={}", rng.pick(&LIFECYCLES)));
        }
    }
    if rng.chance(50) {
        let names: Vec<&String> = s.roles.keys().collect();
        let name = names[(rng.next() % names.len() as u64) as usize].clone();
        let kind = rng.pick(&["IAMRole", "IAMRolePolicy"]);
        s.overrides
            .push(format!("{kind}/{name}={}", rng.pick(&LIFECYCLES)));
    }

    // The account as the scenario says.
    for (name, (_, state)) in &s.roles {
        if *state != Seeded::Absent {
            hand_made_role(name, &tags_for(*state, &cluster, &other)).await;
        }
    }
    for (name, state) in &s.profiles {
        if *state != Seeded::Absent {
            create_instance_profile(name, Some(&tags_for(*state, &cluster, &other))).await;
        }
    }
    if let Some((url, state)) = &s.provider {
        if *state != Seeded::Absent {
            // Ours holds every audience; someone else's lacks the cluster's.
            let audience = if *state == Seeded::Ours {
                "amazonaws.com"
            } else {
                "someone-elses"
            };
            let tags = tags_for(*state, &cluster, &other);
            create_oidc_provider(url, audience, Some(&tags)).await;
        }
    }

    let mut iam = pod_identity("kube2iam", &readonly, &["app", "web"]);
    let mut spec = String::new();
    if irsa {
        iam.push_str(&service_account_permissions("sa1", "ns", &readonly));
        spec = issuer_discovery(&cluster);
    }
    let c = Cluster::new_named(&cluster, |n| {
        ClusterYaml::new(n).with_iam(&iam).with_spec(&spec)
    })
    .await;
    let overrides = s.overrides.join(",");
    // Lifecycles can make a change need a role that does not exist: IAM's NoSuchEntity is
    // then no propagation delay to wait out for two minutes.
    let mut args = vec!["--output", "json", "--consistency-timeout", "3"];
    if !overrides.is_empty() {
        args.extend(["--lifecycle-overrides", overrides.as_str()]);
    }

    let dry = c.run(&args).await;
    let planned: serde_json::Value = match dry.code {
        0 => serde_json::from_str(&dry.stdout).unwrap_or_else(|e| panic!("{e}: {dry:?}")),
        // Bad input (an object override that names nothing): nothing may be written.
        _ => serde_json::json!({"errors": ["exit 1"], "changes": []}),
    };
    c.proxy.clear();
    let mut yes = args.clone();
    yes.push("--yes");
    let run = c.run(&yes).await;
    let writes = c.proxy.write_requests();
    let context = format!("seed {seed}: {s:#?}\n{run:?}\nwrites: {writes:#?}");

    let has_errors = planned["errors"].as_array().is_some_and(|e| !e.is_empty());
    if has_errors {
        assert!(writes.is_empty(), "a plan with errors wrote: {context}");
        return;
    }
    let mut planned_ops: Vec<String> = planned["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["operation"].as_str().unwrap().to_string())
        .collect();
    // A write retried (a propagation wait, a lost answer) is one planned change: count each
    // request once per action and object.
    let mut sent: Vec<String> = writes
        .iter()
        .map(|(a, params)| {
            let mut key: Vec<String> = params
                .iter()
                .filter(|(k, _)| k.ends_with("Name") || k.ends_with("Arn") || *k == "Url")
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            key.sort();
            (a.clone(), key)
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|(a, _)| a)
        .collect();
    planned_ops.sort();
    sent.sort();
    // Lifecycles can ask for the impossible (a policy to put on an ignored role that does not
    // exist): IAM refuses, the apply stops, and what it sent is still only what was planned.
    let failed = run.code != 0;
    if failed {
        assert!(run.stderr.contains("stopped after"), "{context}");
        let mut left = planned_ops.clone();
        for op in &sent {
            let at = left.iter().position(|p| p == op);
            let at = at.unwrap_or_else(|| panic!("{op} was not planned: {context}"));
            left.remove(at);
        }
    } else {
        assert_eq!(
            sent, planned_ops,
            "apply sent other writes than the plan listed: {context}"
        );
    }

    for (action, params) in &writes {
        let role = params.get("RoleName").map(String::as_str);
        if let Some(role) = role {
            let (kind, state) = s
                .roles
                .get(role)
                .copied()
                .unwrap_or(("group", Seeded::Absent));
            assert_ne!(
                state,
                Seeded::Others,
                "{action} on another cluster's role {role}: {context}"
            );
            if kind != "group" {
                assert_ne!(
                    state,
                    Seeded::Unmarked,
                    "{action} on a hand-made pod role {role}: {context}"
                );
            }
            if kind == "stray" {
                assert_eq!(
                    state,
                    Seeded::Ours,
                    "{action} on a stray not ours: {context}"
                );
            }
            if action == "CreateRole" {
                assert_eq!(state, Seeded::Absent, "{context}");
            }
        }
        if let Some(profile) = params.get("InstanceProfileName") {
            let state = s.profiles.get(profile).copied().unwrap_or(Seeded::Absent);
            assert_ne!(
                state,
                Seeded::Others,
                "{action} on another cluster's profile: {context}"
            );
        }
        if action.contains("OpenIDConnectProvider") {
            let state = s.provider.as_ref().map(|p| p.1).unwrap();
            assert!(
                matches!(state, Seeded::Absent | Seeded::Ours),
                "{action} on a provider not ours: {context}"
            );
        }
        let (kind, name, of_role) = match action.as_str() {
            "PutRolePolicy" | "DeleteRolePolicy" => {
                ("IAMRolePolicy", params["PolicyName"].clone(), role)
            }
            "CreateInstanceProfile" => (
                "IAMInstanceProfile",
                params["InstanceProfileName"].clone(),
                None,
            ),
            "AddRoleToInstanceProfile" => (
                "IAMInstanceProfileRole",
                params["InstanceProfileName"].clone(),
                None,
            ),
            a if a.contains("OpenIDConnectProvider") => (
                "IAMOIDCProvider",
                s.provider
                    .as_ref()
                    .unwrap()
                    .0
                    .trim_start_matches("https://")
                    .to_string(),
                None,
            ),
            _ => ("IAMRole", role.unwrap().to_string(), None),
        };
        // A pod role's policy falls back on its role's object override only as a stray.
        let of_role = of_role.filter(|r| s.roles.get(*r).is_some_and(|(k, _)| *k == "stray"));
        let lifecycle = s.lifecycle(kind, &name, of_role);
        assert!(
            matches!(lifecycle, "Sync" | "WarnIfInsufficientAccess"),
            "{action} on {kind}/{name} under {lifecycle}: {context}"
        );
    }

    if failed {
        return;
    }
    // What was planned is done: the next plan has nothing left to change.
    let again = c.run(&args).await;
    let after: serde_json::Value =
        serde_json::from_str(&again.stdout).unwrap_or_else(|e| panic!("{e}: {again:?}\n{context}"));
    assert_eq!(
        after["changes"].as_array().map(Vec::len),
        Some(0),
        "not converged: {after:#}\n{context}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn random_shared_accounts_get_exactly_the_planned_writes_and_none_to_others() {
    const CASES: u64 = 16;
    let mut cases = tokio::task::JoinSet::new();
    for seed in 1..=CASES {
        cases.spawn(common::same_localstack(random_case(seed)));
    }
    let mut failures = Vec::new();
    while let Some(done) = cases.join_next().await {
        if let Err(e) = done {
            let payload = e.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {CASES} cases failed:\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
