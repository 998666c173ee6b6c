//! The plan's rules, on a one-role cluster (`desired`) and accounts built by hand.

use super::*;
use crate::model::{
    ActualInstanceProfile, ActualRole, DesiredInstanceProfile, DesiredProfileRole, DesiredRole,
    DesiredRolePolicy, Lifecycle, Owner, ResourceId, ResourceType, Tags,
};

mod boundary;
mod compare;
mod extras;
mod lifecycles;
mod ownership;
mod stages;
mod strays;
mod teardown;

const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ec2:DescribeRegions"],"Resource":["*"]}]}"#;

fn desired(additional: Option<&str>) -> DesiredState {
    DesiredState {
        cluster: "c".into(),
        roles: vec![DesiredRole {
            name: "nodes.c".into(),
            path: "/".into(),
            trust_policy: TRUST.into(),
            tags: Tags::new(),
            managed_policies: None,
            permissions_boundary: None,
            owned_only: false,
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        role_policies: vec![
            DesiredRolePolicy {
                role: "nodes.c".into(),
                name: "nodes.c".into(),
                document: Some(POLICY.into()),
                lifecycle: Lifecycle::Sync,
                external: false,
            },
            DesiredRolePolicy {
                role: "nodes.c".into(),
                name: "additional.nodes.c".into(),
                document: additional.map(str::to_string),
                lifecycle: Lifecycle::Sync,
                external: false,
            },
        ],
        instance_profiles: vec![DesiredInstanceProfile {
            name: "nodes.c".into(),
            path: "/".into(),
            tags: Tags::new(),
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        profile_roles: vec![DesiredProfileRole {
            profile: "nodes.c".into(),
            role: "nodes.c".into(),
            lifecycle: Lifecycle::Sync,
            external: false,
        }],
        external_profiles: vec![],
        ..DesiredState::default()
    }
}

/// The account as rolecall would leave it for `desired(None)`.
fn converged() -> ActualState {
    let mut actual = ActualState::default();
    actual.roles.insert(
        "nodes.c".into(),
        ActualRole {
            name: "nodes.c".into(),
            id: "AROA1".into(),
            arn: "arn:aws:iam::000000000000:role/nodes.c".into(),
            path: "/".into(),
            trust_policy: TRUST.into(),
            tags: Tags::new(),
            managed_policies: None,
            inline_policies: None,
            permissions_boundary: None,
        },
    );
    actual
        .role_policies
        .insert(("nodes.c".into(), "nodes.c".into()), POLICY.into());
    actual.instance_profiles.insert(
        "nodes.c".into(),
        ActualInstanceProfile {
            name: "nodes.c".into(),
            arn: "arn:aws:iam::000000000000:instance-profile/nodes.c".into(),
            roles: vec!["nodes.c".into()],
            tags: Default::default(),
        },
    );
    actual
}

/// The account's profile `nodes.c`, for a test to change.
fn profile(actual: &mut ActualState) -> &mut ActualInstanceProfile {
    actual.instance_profiles.get_mut("nodes.c").unwrap()
}

fn summary(plan: &Plan) -> Vec<(ChangeKind, String, &'static str)> {
    plan.changes
        .iter()
        .map(|c| (c.kind, c.id.to_string(), c.operation.action()))
        .collect()
}

fn with_lifecycle(mut state: DesiredState, l: Lifecycle) -> DesiredState {
    state.for_each_lifecycle(|_, _, lifecycle| *lifecycle = l);
    state
}

fn drifted() -> ActualState {
    let mut actual = converged();
    actual.role_policies.insert(
        ("nodes.c".into(), "nodes.c".into()),
        POLICY.replace("DescribeRegions", "DescribeInstances"),
    );
    actual
}

fn tagged(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn owned_by(cluster: &str) -> Tags {
    tagged(&[
        ("KubernetesCluster", cluster),
        (&format!("kubernetes.io/cluster/{cluster}"), "owned"),
    ])
}
