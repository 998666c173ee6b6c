//! rolecall's policies against kops 1.10.0's own golden files.
//!
//! The inputs are kops YAML specs read by rolecall's parser (tests/fixtures/specs), the
//! expected outputs kops's golden files (tests/fixtures/kops-1.10.0-golden, see its README).
//! Like kops's test, the comparison trims white space at both ends; rolecall's own output
//! has none there, which is checked too. No AWS is needed.

use std::path::{Path, PathBuf};

use rolecall::desired::kops_policy::{additional_policy, role_policy};
use rolecall::spec::{load_files, ClusterSpec, Generation, InstanceRole};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A cluster file from the iam-builder-test specs, with the shared instance groups.
///
/// kops's test gives bare KMS key ids (`key-id-1`), which IAM refuses as a Resource and
/// rolecall's spec layer therefore refuses too; the fixtures give them as key ARNs, cut
/// back to kops's bare ids here so that the output can be compared with kops's goldens.
fn iam_builder_spec(cluster_file: &str) -> ClusterSpec {
    let dir = fixtures().join("specs/iam-builder-test");
    let files = [dir.join(cluster_file), dir.join("instancegroups.yaml")];
    let mut spec = load_files(&files, Some(Generation::Kops110))
        .unwrap_or_else(|e| panic!("{cluster_file} does not load: {e:?}"));
    for member in spec
        .etcd_clusters
        .iter_mut()
        .flat_map(|c| c.members.iter_mut())
    {
        if let Some(key) = &mut member.kms_key_id {
            *key = key.rsplit('/').next().unwrap_or(key).to_string();
        }
    }
    spec
}

fn golden(name: &str) -> String {
    let path = fixtures()
        .join("kops-1.10.0-golden")
        .join(format!("iam_builder_{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn assert_matches_golden(spec: &ClusterSpec, role: InstanceRole, golden_name: &str) {
    let actual = role_policy(spec, role).unwrap_or_else(|e| panic!("{role} policy: {e}"));
    let expected = golden(golden_name);
    assert_eq!(
        actual,
        actual.trim(),
        "{role}: rolecall's output has surrounding white space"
    );
    assert!(
        actual.trim() == expected.trim(),
        "{role} policy differs from iam_builder_{golden_name}.json\n--- expected\n{}\n--- actual\n{}",
        expected.trim(),
        actual
    );
}

#[test]
fn master_legacy_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-legacy.yaml"),
        InstanceRole::Master,
        "master_legacy",
    );
}

#[test]
fn master_strict_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-strict.yaml"),
        InstanceRole::Master,
        "master_strict",
    );
}

#[test]
fn master_strict_ecr_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-strict-ecr.yaml"),
        InstanceRole::Master,
        "master_strict_ecr",
    );
}

#[test]
fn node_legacy_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-legacy.yaml"),
        InstanceRole::Node,
        "node_legacy",
    );
}

#[test]
fn node_strict_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-strict.yaml"),
        InstanceRole::Node,
        "node_strict",
    );
}

#[test]
fn node_strict_ecr_matches_kops() {
    assert_matches_golden(
        &iam_builder_spec("cluster-strict-ecr.yaml"),
        InstanceRole::Node,
        "node_strict_ecr",
    );
}

#[test]
fn bastion_matches_kops_in_every_mode() {
    for file in [
        "cluster-legacy.yaml",
        "cluster-strict.yaml",
        "cluster-strict-ecr.yaml",
    ] {
        assert_matches_golden(&iam_builder_spec(file), InstanceRole::Bastion, "bastion");
    }
}

#[test]
fn no_iam_section_gives_the_legacy_policies() {
    let spec = iam_builder_spec("cluster-no-iam.yaml");
    assert_matches_golden(&spec, InstanceRole::Master, "master_legacy");
    assert_matches_golden(&spec, InstanceRole::Node, "node_legacy");
    assert_matches_golden(&spec, InstanceRole::Bastion, "bastion");
}

#[test]
fn explicit_stores_without_config_base_give_the_same_policies() {
    let spec = iam_builder_spec("cluster-strict-full-stores.yaml");
    assert_matches_golden(&spec, InstanceRole::Master, "master_strict");
    assert_matches_golden(&spec, InstanceRole::Node, "node_strict");
}

#[test]
fn the_goldens_have_no_additional_policies() {
    let spec = iam_builder_spec("cluster-strict.yaml");
    for role in InstanceRole::ALL {
        assert_eq!(additional_policy(&spec, role), None);
    }
}

fn additional_spec() -> ClusterSpec {
    load_files(
        &[fixtures().join("specs/additional-policies.yaml")],
        Some(Generation::Kops110),
    )
    .expect("additional-policies.yaml loads")
}

#[test]
fn additional_policies_are_written_back_like_kops() {
    // kops's order and shapes; Go's HTML escaping and sorted, float64 Condition; and the
    // Sid that kops would drop, kept after the fields kops knows.
    let expected = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": "sqs:ReceiveMessage",
      "Resource": [
        "arn:aws:sqs:eu-west-1:123456789012:jobs"
      ]
    },
    {
      "Effect": "Allow",
      "Action": [
        "ec2:CreateTags",
        "ec2:DeleteTags"
      ],
      "Resource": "*",
      "Condition": {
        "NumericLessThan": {
          "ec2:Quota": 1
        },
        "StringLike": {
          "ec2:ResourceTag/team": [
            "a\u0026b",
            "\u003cops\u003e"
          ]
        }
      },
      "Sid": "TaggedOnly"
    }
  ]
}"#;
    assert_eq!(
        additional_policy(&additional_spec(), InstanceRole::Node).as_deref(),
        Some(expected)
    );
}

#[test]
fn an_empty_additional_condition_is_left_out() {
    let expected = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": [
        "s3:GetObject"
      ],
      "Resource": [
        "arn:aws:s3:::extra/*"
      ]
    }
  ]
}"#;
    assert_eq!(
        additional_policy(&additional_spec(), InstanceRole::Master).as_deref(),
        Some(expected)
    );
    assert_eq!(
        additional_policy(&additional_spec(), InstanceRole::Bastion),
        None
    );
}
