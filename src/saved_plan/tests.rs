use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::fingerprint::{stale, Fingerprint, Fingerprinted, Seen};
use super::touched::{touched, touched_by, Touched};
use super::*;
use crate::model::{ActualInstanceProfile, ActualRole, Tags};

fn tags(pairs: &[(&str, &str)]) -> Tags {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// One operation of every kind.
fn every_operation() -> Vec<Operation> {
    let owned = tags(&[("kubernetes.io/cluster/c", "owned")]);
    vec![
        Operation::CreateRole {
            name: "nodes.c".into(),
            path: "/".into(),
            trust_policy: r#"{"Version":"2012-10-17"}"#.into(),
            tags: owned.clone(),
            permissions_boundary: Some("arn:aws:iam::123456789012:policy/b".into()),
        },
        Operation::UpdateAssumeRolePolicy {
            role: "nodes.c".into(),
            trust_policy: "{}".into(),
        },
        Operation::PutRolePermissionsBoundary {
            role: "nodes.c".into(),
            arn: "arn:aws:iam::123456789012:policy/b".into(),
        },
        Operation::DeleteRolePermissionsBoundary {
            role: "nodes.c".into(),
        },
        Operation::PutRolePolicy {
            role: "nodes.c".into(),
            name: "additional.nodes.c".into(),
            document: "{\"Statement\": []}\n".into(),
        },
        Operation::DeleteRolePolicy {
            role: "nodes.c".into(),
            name: "kube2iam.nodes.c".into(),
        },
        Operation::CreateInstanceProfile {
            name: "nodes.c".into(),
            path: "/".into(),
            tags: owned.clone(),
        },
        Operation::AddRoleToInstanceProfile {
            profile: "nodes.c".into(),
            role: "nodes.c".into(),
        },
        Operation::AttachRolePolicy {
            role: "app.c".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
        Operation::DetachRolePolicy {
            role: "old.c".into(),
            policy_arn: "arn:aws:iam::aws:policy/ReadOnlyAccess".into(),
        },
        Operation::DeleteRole {
            name: "old.c".into(),
        },
        Operation::CreateOpenIdConnectProvider {
            arn: "arn:aws:iam::123456789012:oidc-provider/issuer.example/c".into(),
            url: "https://issuer.example/c".into(),
            client_ids: vec!["sts.amazonaws.com".into()],
            tags: owned,
            thumbprints: vec![],
        },
        Operation::AddClientIdToOpenIdConnectProvider {
            arn: "arn:aws:iam::123456789012:oidc-provider/issuer.example/c".into(),
            client_ids: vec!["other".into()],
        },
        Operation::RemoveRoleFromInstanceProfile {
            profile: "bastions.c".into(),
            role: "bastions.c".into(),
        },
        Operation::DeleteInstanceProfile {
            name: "bastions.c".into(),
        },
        Operation::DeleteOpenIdConnectProvider {
            arn: "arn:aws:iam::123456789012:oidc-provider/issuer.example/c".into(),
        },
    ]
}

fn changes() -> Vec<Change> {
    every_operation()
        .into_iter()
        .enumerate()
        .map(|(i, operation)| Change {
            id: ResourceId::new(ResourceType::IamRole, format!("r{i}")),
            kind: ChangeKind::Modify,
            fields: Vec::new(),
            operation,
            stage: (i % 3) as u8,
        })
        .collect()
}

fn saved_plan() -> SavedPlan {
    let plan = Plan {
        changes: changes(),
        ..Plan::default()
    };
    let fingerprints = touched(&plan.changes)
        .into_iter()
        .map(|object| Fingerprinted {
            object,
            fingerprint: Fingerprint::Absent,
        })
        .collect();
    SavedPlan {
        format_version: FORMAT_VERSION.into(),
        rolecall_version: ROLECALL_VERSION.into(),
        cluster: "c".into(),
        kops_version: "1.10".into(),
        kops_version_reason: "chosen by --kops-version".into(),
        spec_files: vec![SpecFile {
            path: "cluster.yaml".into(),
            sha256: sha256_hex(b"spec"),
        }],
        account: "123456789012".into(),
        region: "us-east-1".into(),
        endpoint: Some("http://localhost:4566".into()),
        settings: PlanSettings {
            lifecycle_overrides: vec!["IAMRole=ExistsAndWarnIfChanges".into()],
            fetch: "auto".into(),
            ..PlanSettings::default()
        },
        changes: saved_changes(&plan),
        fingerprints,
        plan: serde_json::json!({"format_version": "1", "changes": []}),
        text: "IAM of kops 1.10 (chosen by --kops-version)\n\n".into(),
    }
}

fn parse(text: &str) -> Result<SavedPlan, Refusal> {
    SavedPlan::parse(Path::new("plan.json"), text)
}

#[test]
fn a_plan_file_reads_back_as_written_with_every_operation_as_sent() {
    let saved = saved_plan();
    let read = parse(&saved.to_json()).unwrap();
    assert_eq!(read, saved);
    let plan = read.to_plan();
    let original = changes();
    assert_eq!(plan.changes.len(), original.len());
    for (back, change) in plan.changes.iter().zip(&original) {
        assert_eq!(
            (&back.id, back.kind, &back.operation, back.stage),
            (&change.id, change.kind, &change.operation, change.stage)
        );
    }
}

#[test]
fn each_operation_is_saved_under_iams_name_for_the_call() {
    for op in every_operation() {
        let value = serde_json::to_value(&op).unwrap();
        assert_eq!(value["action"], op.action(), "{value}");
    }
}

#[test]
fn a_corrupt_or_foreign_file_is_refused_with_the_reason() {
    let message = |text: &str| parse(text).unwrap_err().to_string();
    assert!(message("{not json").starts_with("plan.json is not a rolecall plan file: not JSON"));
    assert_eq!(
        message("{}"),
        "plan.json is not a rolecall plan file: it has no format_version"
    );
    assert_eq!(
        message(r#"{"format_version": "2"}"#),
        "plan.json is a plan file of format version 2; this rolecall reads version 1"
    );
    let mut value = serde_json::to_value(saved_plan()).unwrap();
    value["rolecall_version"] = "0.0.1".into();
    assert_eq!(
        message(&value.to_string()),
        format!("plan.json was made by rolecall 0.0.1, and this is rolecall {ROLECALL_VERSION}: plan again with this release")
    );
    let mut value = serde_json::to_value(saved_plan()).unwrap();
    value["surprise"] = true.into();
    assert!(message(&value.to_string()).contains("unknown field `surprise`"));
    let mut value = serde_json::to_value(saved_plan()).unwrap();
    value["changes"][0]["operation"]["action"] = "DeleteEverything".into();
    assert!(message(&value.to_string()).contains("unknown variant `DeleteEverything`"));
}

#[test]
fn a_change_whose_objects_have_no_fingerprint_is_refused() {
    let mut saved = saved_plan();
    saved.fingerprints.retain(
        |f| !matches!(&f.object, Touched::RolePolicy { name, .. } if name == "kube2iam.nodes.c"),
    );
    let err = parse(&saved.to_json()).unwrap_err().to_string();
    assert_eq!(err, "plan.json is not a rolecall plan file: change IAMRole/r5 touches IAMRolePolicy/kube2iam.nodes.c (role nodes.c), which has no fingerprint");
}

#[test]
fn an_operation_touches_what_it_writes_and_the_role_or_profile_it_writes_into() {
    let ops = every_operation();
    assert_eq!(
        touched_by(&ops[4]),
        [
            Touched::Role {
                name: "nodes.c".into()
            },
            Touched::RolePolicy {
                role: "nodes.c".into(),
                name: "additional.nodes.c".into()
            }
        ]
    );
    assert_eq!(
        touched_by(&ops[7]),
        [
            Touched::Role {
                name: "nodes.c".into()
            },
            Touched::InstanceProfile {
                name: "nodes.c".into()
            }
        ]
    );
    // Once each, however many changes touch an object.
    let all = touched(&changes());
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), all.len());
    // Nine objects for the other operations, and bastions.c with its profile for the deletes.
    assert_eq!(all.len(), 11, "{all:?}");
}

fn role(trust: &str, tags: Tags) -> ActualRole {
    ActualRole {
        name: "nodes.c".into(),
        id: "AROA1".into(),
        arn: "arn:aws:iam::123456789012:role/nodes.c".into(),
        path: "/".into(),
        trust_policy: trust.into(),
        tags,
        managed_policies: None,
        inline_policies: None,
        permissions_boundary: None,
    }
}

#[test]
fn fingerprints_name_what_changed_since_planning() {
    let owned = tags(&[("kubernetes.io/cluster/c", "owned")]);
    let planned = Fingerprint::of(Seen::Role(&role("{}", owned.clone())));
    // Equal reads, equal fingerprints; the role's id is not what the plan depends on.
    let mut same = role("{}", owned.clone());
    same.id = "AROA2".into();
    assert_eq!(
        Fingerprint::of(Seen::Role(&same)).changed_since(&planned),
        None
    );
    let edited = Fingerprint::of(Seen::Role(&role("{ }", owned)));
    assert_eq!(
        edited.changed_since(&planned).as_deref(),
        Some("trust_policy changed since planned")
    );
    let claimed = Fingerprint::of(Seen::Role(&role(
        "{ }",
        tags(&[("kubernetes.io/cluster/other", "owned")]),
    )));
    assert_eq!(
        claimed.changed_since(&planned).as_deref(),
        Some("tags, trust_policy changed since planned")
    );
    let absent = Fingerprint::of(Seen::Absent);
    assert_eq!(
        planned.changed_since(&absent).as_deref(),
        Some("was absent when planned, now exists")
    );
    assert_eq!(
        absent.changed_since(&planned).as_deref(),
        Some("existed when planned, now absent")
    );
    assert_eq!(
        Fingerprint::of(Seen::Denied)
            .changed_since(&planned)
            .as_deref(),
        Some("can no longer be read (access denied)")
    );
    let denied = Fingerprint::of(Seen::Denied);
    assert_eq!(denied.changed_since(&denied), None);
    assert_eq!(Fingerprint::of(Seen::Attached(false)), absent);
}

#[test]
fn fingerprints_of_documents_and_profiles_change_with_any_byte() {
    let a = Fingerprint::of(Seen::Policy(r#"{"Version":"2012-10-17"}"#));
    let b = Fingerprint::of(Seen::Policy(r#"{"Version": "2012-10-17"}"#));
    assert_eq!(
        b.changed_since(&a).as_deref(),
        Some("document changed since planned")
    );
    let profile = |roles: &[&str]| ActualInstanceProfile {
        name: "nodes.c".into(),
        arn: "arn:aws:iam::123456789012:instance-profile/nodes.c".into(),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        tags: Tags::new(),
    };
    let empty = Fingerprint::of(Seen::Profile(&profile(&[])));
    let taken = Fingerprint::of(Seen::Profile(&profile(&["someone-elses"])));
    assert_eq!(
        taken.changed_since(&empty).as_deref(),
        Some("roles changed since planned")
    );
}

#[test]
fn a_stale_plan_names_each_object_that_changed() {
    let policy = Touched::RolePolicy {
        role: "nodes.c".into(),
        name: "nodes.c".into(),
    };
    let profile = Touched::InstanceProfile {
        name: "nodes.c".into(),
    };
    let planned = vec![
        Fingerprinted {
            object: policy.clone(),
            fingerprint: Fingerprint::of(Seen::Policy("{}")),
        },
        Fingerprinted {
            object: profile.clone(),
            fingerprint: Fingerprint::Absent,
        },
    ];
    let mut now = BTreeMap::from([
        (policy.clone(), Fingerprint::of(Seen::Policy("{}"))),
        (profile.clone(), Fingerprint::Absent),
    ]);
    assert!(stale(&planned, &now).is_empty());
    now.insert(policy, Fingerprint::of(Seen::Policy("{\"x\":1}")));
    now.remove(&profile);
    assert_eq!(
        stale(&planned, &now),
        [
            "IAMRolePolicy/nodes.c (role nodes.c): document changed since planned",
            "IAMInstanceProfile/nodes.c: was not read again"
        ]
    );
    let refusal = Refusal::Stale(stale(&planned, &now)).to_string();
    assert!(
        refusal.starts_with("Saved plan is stale: 2 object(s) it changes are no longer as they were when it was made; nothing was written. Plan again.\n  IAMRolePolicy/nodes.c (role nodes.c): document changed"),
        "{refusal}"
    );
}

#[test]
fn a_spec_file_is_checked_by_its_bytes() {
    let file = SpecFile {
        path: "cluster.yaml".into(),
        sha256: sha256_hex(b"kind: Cluster\n"),
    };
    assert!(SavedPlan::spec_change(&file, Ok(b"kind: Cluster\n".to_vec())).is_none());
    let changed = SavedPlan::spec_change(&file, Ok(b"kind: Cluster \n".to_vec())).unwrap();
    assert_eq!(
        changed.to_string(),
        "spec file cluster.yaml changed since the plan was made; nothing was written. Plan again"
    );
    let gone = std::io::Error::from(std::io::ErrorKind::NotFound);
    let missing = SavedPlan::spec_change(&file, Err(gone)).unwrap();
    assert!(missing
        .to_string()
        .starts_with("spec file cluster.yaml cannot be read (entity not found)"));
}

#[test]
fn digests_are_sha256_in_hex() {
    assert_eq!(
        sha256_hex(b"abc"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}

#[test]
fn endpoints_are_recorded_without_a_user_or_password() {
    assert_eq!(
        endpoint_without_userinfo("https://user:secret@proxy.example:8443/aws?x=1"),
        "https://proxy.example:8443/aws?x=1"
    );
    assert_eq!(
        endpoint_without_userinfo("http://127.0.0.1:4566"),
        "http://127.0.0.1:4566"
    );
}
