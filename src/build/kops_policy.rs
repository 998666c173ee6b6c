//! PLACEHOLDER, being replaced by the full kops 1.10 policy builder.

use crate::spec::{ClusterSpec, InstanceRole};

/// An error in building a policy from a valid-looking spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct BuildError {
    pub field: String,
    pub message: String,
}

/// The inline policy kops 1.10 writes as `<role>.<cluster>`, byte for byte.
pub fn role_policy(_spec: &ClusterSpec, _role: InstanceRole) -> Result<String, BuildError> {
    Ok("{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": [\n        \"ec2:DescribeRegions\"\n      ],\n      \"Resource\": [\n        \"*\"\n      ]\n    }\n  ]\n}".to_string())
}

/// The `additional.<role>.<cluster>` policy for `spec.additionalPolicies.<key>`, if any.
pub fn additional_policy(spec: &ClusterSpec, role: InstanceRole) -> Option<String> {
    let p = spec.additional_policies.get(&role)?;
    let doc = serde_json::json!({"Version": "2012-10-17", "Statement": p.statements});
    Some(serde_json::to_string_pretty(&doc).expect("json"))
}

pub struct Partition {
    pub arn_prefix: &'static str,
    pub ec2_service: &'static str,
}

pub fn partition_for_region(_region: Option<&str>) -> Partition {
    Partition {
        arn_prefix: "arn:aws",
        ec2_service: "ec2.amazonaws.com",
    }
}
