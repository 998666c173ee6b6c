//! Role permissions boundaries against a real LocalStack. The test sets them on the desired
//! state rolecall's library builds from a kops 1.10 spec, and reads, plans and applies
//! through the library (`Cloud` behind the recording proxy, both fetch strategies); the
//! account is checked with the tests' own IAM client. The binary on that spec (kops 1.10
//! never manages a boundary) leaves them alone; a state that manages them and names none
//! removes them; and a boundary deleted from a role that is gone counts as done.
//! (tests/kops136_inputs.rs covers `spec.iam.permissionsBoundary` of kops 1.36 end to end.)

use crate::common;

use common::cluster::{Cluster, NO_CHANGES};
use common::iam_client;
use common::spec::ClusterYaml;
use rolecall::cloud::{Cloud, ConnectOptions, FetchStrategy};
use rolecall::model::{ActualState, DesiredState, Lifecycle, ResourceId, ResourceType};
use rolecall::plan::{plan, Change, ChangeKind, Operation, Plan};

const READ_ONLY: &str = "arn:aws:iam::aws:policy/ReadOnlyAccess";
const POWER_USER: &str = "arn:aws:iam::aws:policy/PowerUserAccess";

/// The spec's desired state with `arn` as every role's boundary.
fn bounded(desired: &DesiredState, arn: Option<&str>) -> DesiredState {
    let mut bounded = desired.clone();
    for role in &mut bounded.roles {
        role.permissions_boundary = Some(arn.map(str::to_string));
    }
    bounded
}

/// A `Cloud` for the library's calls, with the same test credentials as the binary's runs
/// and nothing read from the machine's AWS configuration. The environment is the test
/// binary's, shared with the other tests: every other test gives its clients and the
/// rolecall processes it starts their credentials explicitly, so these values change nothing
/// they read (and std serialises the reads and writes of the environment).
async fn connect(endpoint: &str) -> Cloud {
    for (key, value) in [
        ("AWS_ACCESS_KEY_ID", "test"),
        ("AWS_SECRET_ACCESS_KEY", "test"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_CONFIG_FILE", "/nonexistent/rolecall-tests"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/rolecall-tests"),
    ] {
        std::env::set_var(key, value);
    }
    for key in ["AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"] {
        std::env::remove_var(key);
    }
    let options = ConnectOptions {
        endpoint_url: Some(endpoint.into()),
        ..ConnectOptions::default()
    };
    Cloud::connect(&options)
        .await
        .expect("connect to LocalStack")
}

/// The plan for `desired` from the account as each fetch strategy reads it: both must read
/// the boundary (GetRole, GetAccountAuthorizationDetails) and so plan alike.
async fn plan_both(cloud: &Cloud, desired: &DesiredState) -> Plan {
    let mut plans = Vec::new();
    for strategy in [FetchStrategy::PerObject, FetchStrategy::Bulk] {
        let actual = cloud
            .fetch(desired, ActualState::default(), strategy)
            .await
            .unwrap();
        plans.push(plan(desired, &actual));
    }
    assert_eq!(plans[0], plans[1], "the two strategies plan alike");
    plans.pop().unwrap()
}

async fn apply(cloud: &Cloud, plan: &Plan) {
    assert!(plan.errors.is_empty(), "{:?}", plan.errors);
    let mut out = Vec::new();
    let report = rolecall::apply::apply(cloud, plan, &mut out, false).await;
    assert!(report.succeeded(), "{}", String::from_utf8_lossy(&out));
}

fn operations(plan: &Plan) -> Vec<&'static str> {
    plan.changes.iter().map(|c| c.operation.action()).collect()
}

/// The role's boundary, read with the tests' own client.
async fn boundary_of(role: &str) -> Option<String> {
    let out = iam_client()
        .await
        .get_role()
        .role_name(role)
        .send()
        .await
        .unwrap();
    out.role()
        .unwrap()
        .permissions_boundary()
        .and_then(|b| b.permissions_boundary_arn())
        .map(str::to_string)
}

async fn assert_boundaries(roles: &[String], expected: Option<&str>) {
    for role in roles {
        assert_eq!(boundary_of(role).await.as_deref(), expected, "role {role}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_boundary_is_created_with_the_role_changed_drifts_and_is_removed() {
    let c = Cluster::new("boundary", ClusterYaml::new).await;
    let cloud = connect(&c.proxy.endpoint).await;
    let spec = c.desired();
    let roles: Vec<String> = spec.roles.iter().map(|r| r.name.clone()).collect();
    assert_eq!(roles.len(), 3, "{roles:?}");

    // Created with the role, and shown in the plan.
    let read_only = bounded(&spec, Some(READ_ONLY));
    let first = plan_both(&cloud, &read_only).await;
    let creates: Vec<_> = first
        .changes
        .iter()
        .filter(|c| c.operation.action() == "CreateRole")
        .collect();
    assert_eq!(creates.len(), 3);
    for create in creates {
        assert!(
            create
                .fields
                .iter()
                .any(|f| f.field == "PermissionsBoundary" && f.new.as_deref() == Some(READ_ONLY)),
            "{create:?}"
        );
    }
    apply(&cloud, &first).await;
    assert!(!c
        .proxy
        .writes()
        .contains(&"PutRolePermissionsBoundary".to_string()));
    assert_boundaries(&roles, Some(READ_ONLY)).await;
    assert!(!plan_both(&cloud, &read_only).await.has_changes());

    // Changed: one put per role, and nothing else.
    let power_user = bounded(&spec, Some(POWER_USER));
    let change = plan_both(&cloud, &power_user).await;
    assert_eq!(operations(&change), ["PutRolePermissionsBoundary"; 3]);
    c.proxy.clear();
    apply(&cloud, &change).await;
    assert_eq!(c.proxy.writes(), ["PutRolePermissionsBoundary"; 3]);
    assert_boundaries(&roles, Some(POWER_USER)).await;
    assert!(!plan_both(&cloud, &power_user).await.has_changes());

    // Under a lifecycle that does not write, a different boundary is drift.
    let mut checked = read_only.clone();
    for role in &mut checked.roles {
        role.lifecycle = Lifecycle::ExistsAndWarnIfChanges;
    }
    let drift = plan_both(&cloud, &checked).await;
    assert!(!drift.has_changes() && drift.errors.is_empty(), "{drift:?}");
    assert_eq!(drift.drift.len(), 3, "{:?}", drift.drift);
    for d in &drift.drift {
        let field = &d.fields[0];
        assert_eq!(field.field, "PermissionsBoundary");
        assert_eq!(
            (field.old.as_deref(), field.new.as_deref()),
            (Some(POWER_USER), Some(READ_ONLY))
        );
    }

    // kops 1.10's IAM never manages a boundary: the binary, on this kops 1.10 spec, leaves
    // the ones the roles have alone, and reports each as drift (informational).
    c.proxy.clear();
    let run = c.dry_run().await;
    run.assert_code(0);
    let mut expected = "Drift in objects rolecall only checks (not changed):\n".to_string();
    let mut sorted = roles.clone();
    sorted.sort();
    for role in &sorted {
        expected.push_str(&format!(
            "  IAMRole/{role} (Sync)\n  \tPermissionsBoundary \t{POWER_USER}\n"
        ));
    }
    assert_eq!(
        run.plan_text(),
        format!("{expected}\n{NO_CHANGES}\n"),
        "{run:?}"
    );
    c.assert_no_writes();
    assert_boundaries(&roles, Some(POWER_USER)).await;

    // Where the generation manages it (kops 1.36) and the spec names none, they go.
    let none = bounded(&spec, None);
    let removal = plan_both(&cloud, &none).await;
    assert_eq!(operations(&removal), ["DeleteRolePermissionsBoundary"; 3]);
    c.proxy.clear();
    apply(&cloud, &removal).await;
    assert_eq!(c.proxy.writes(), ["DeleteRolePermissionsBoundary"; 3]);
    assert_boundaries(&roles, None).await;
    assert!(!plan_both(&cloud, &none).await.has_changes());

    // Deleting the boundary of a role that is gone: IAM answers NoSuchEntity, which for
    // this call means done.
    let gone = c.role("gone");
    let delete = Plan {
        changes: vec![Change {
            id: ResourceId::new(ResourceType::IamRole, &gone),
            kind: ChangeKind::Modify,
            fields: vec![],
            operation: Operation::DeleteRolePermissionsBoundary { role: gone },
            stage: 0,
        }],
        ..Plan::default()
    };
    c.proxy.clear();
    apply(&cloud, &delete).await;
    assert_eq!(c.proxy.writes(), ["DeleteRolePermissionsBoundary"]);
}
