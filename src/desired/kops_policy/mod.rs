//! The inline policies kops 1.10 writes for the masters, nodes and bastions roles,
//! reproduced byte for byte so that a cluster moving from kops sees no change.
//!
//! The facts come from kops's source at tag 1.10.0 (pkg/model/iam/iam_builder.go and its
//! golden test files, pkg/model/iam.go, pkg/util/stringorslice); the code here is rolecall's
//! own. The submodules split the work: [`builder`] decides the statements, [`stores`] finds
//! the S3 locations, [`additional`] re-renders the user's extra statements, [`document`]
//! and [`gojson`] write them as Go's `json.MarshalIndent(p, "", "  ")` did.

mod additional;
mod builder;
mod document;

mod stores;

use crate::spec::{ClusterSpec, InstanceRole};

/// A spec that passed validation but still cannot give a kops policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BuildError {
    pub field: String,
    pub message: String,
}

/// The inline policy kops 1.10 writes as `<role>.<cluster>`, byte for byte (json.MarshalIndent with 2 spaces).
pub fn role_policy(spec: &ClusterSpec, role: InstanceRole) -> Result<String, BuildError> {
    let statements = builder::statements(spec, role)?;
    // kops's roles always have statements, so the list is never the nil one.
    Ok(document::policy_json(Some(
        statements
            .iter()
            .map(document::Statement::to_node)
            .collect(),
    )))
}

/// The `additional.<role>.<cluster>` policy document for `spec.additionalPolicies.<key>`,
/// if the key is present: Version 2012-10-17 and the user's statements, rendered as kops
/// renders them (see [`additional`] for what kops changes and what rolecall keeps).
pub fn additional_policy(spec: &ClusterSpec, role: InstanceRole) -> Option<String> {
    let policy = spec.additional_policies.get(&role)?;
    Some(additional::render(&policy.statements))
}

/// The AWS partition facts for a region.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// `arn:aws`, `arn:aws-cn` or `arn:aws-us-gov`: what kops puts before `:s3:::`.
    pub arn_prefix: &'static str,
    /// The EC2 service principal of the roles' trust policy.
    pub ec2_service: &'static str,
}

/// kops 1.10 knows exactly these regions outside the commercial partition; any other (or
/// none) is `arn:aws`. GovCloud keeps the commercial EC2 principal, as kops has it.
pub fn partition_for_region(region: Option<&str>) -> Partition {
    match region {
        Some("cn-north-1" | "cn-northwest-1") => Partition {
            arn_prefix: "arn:aws-cn",
            ec2_service: "ec2.amazonaws.com.cn",
        },
        Some("us-gov-west-1") => Partition {
            arn_prefix: "arn:aws-us-gov",
            ec2_service: "ec2.amazonaws.com",
        },
        _ => Partition {
            arn_prefix: "arn:aws",
            ec2_service: "ec2.amazonaws.com",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::compact_len;
    use crate::test_spec::cluster;

    /// The masters' policy of the cluster `name` with these spec lines.
    fn masters_policy(name: &str, spec_body: &str) -> Result<String, BuildError> {
        role_policy(&cluster(name, spec_body), InstanceRole::Master)
    }

    #[test]
    fn partitions_follow_kops_region_list() {
        let aws = partition_for_region(None);
        assert_eq!(
            (aws.arn_prefix, aws.ec2_service),
            ("arn:aws", "ec2.amazonaws.com")
        );
        assert_eq!(partition_for_region(Some("eu-west-1")), aws);
        for region in ["cn-north-1", "cn-northwest-1"] {
            let cn = partition_for_region(Some(region));
            assert_eq!(
                (cn.arn_prefix, cn.ec2_service),
                ("arn:aws-cn", "ec2.amazonaws.com.cn")
            );
        }
        let gov = partition_for_region(Some("us-gov-west-1"));
        assert_eq!(
            (gov.arn_prefix, gov.ec2_service),
            ("arn:aws-us-gov", "ec2.amazonaws.com")
        );
        // kops 1.10 predates us-gov-east-1 and treats it as commercial.
        assert_eq!(partition_for_region(Some("us-gov-east-1")), aws);
    }

    #[test]
    fn compact_len_of_a_kops_policy_matches_its_compact_json() {
        let doc = masters_policy(
            "example.k8s.local",
            "  configBase: s3://state/example.k8s.local\n",
        )
        .unwrap();
        let value: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(
            compact_len(&doc),
            serde_json::to_string(&value).unwrap().len()
        );
    }

    #[test]
    fn additional_policy_only_for_roles_with_a_key() {
        let body = "  configBase: s3://state/c\n  additionalPolicies:\n    node: |\n      [{\"Effect\": \"Allow\", \"Action\": [\"sqs:*\"], \"Resource\": \"*\"}]\n";
        let spec = cluster("example.k8s.local", body);
        assert_eq!(additional_policy(&spec, InstanceRole::Master), None);
        assert_eq!(
            additional_policy(&spec, InstanceRole::Node).unwrap(),
            "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"sqs:*\"\n      ],\n      \"Resource\": \"*\"\n    }\n  ]\n}"
        );
    }

    #[test]
    fn role_policy_errors_carry_the_field() {
        let body = "  configBase: s3://state/c\n  dnsZone: /hostedzone/\n";
        let err = masters_policy("example.com", body).unwrap_err();
        assert_eq!(err.field, "spec.dnsZone");
        assert!(err.to_string().starts_with("spec.dnsZone: "), "{err}");
    }
}
