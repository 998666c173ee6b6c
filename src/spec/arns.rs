//! The IAM ARNs users write in the spec: instance profiles, roles and managed policies.

/// `arn:<partition>:iam::<12 digits>:instance-profile/<path/>name`.
pub fn is_instance_profile_arn(s: &str) -> bool {
    is_iam_arn(s, "instance-profile", false)
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`.
pub fn is_role_arn(s: &str) -> bool {
    is_iam_arn(s, "role", false)
}

/// A managed policy: `arn:<partition>:iam::<12 digits or aws>:policy/<path/>name`.
pub fn is_managed_policy_arn(s: &str) -> bool {
    is_iam_arn(s, "policy", true)
}

/// `arn:<partition>:iam::<account>:<kind>/<path/>name`; `aws` is the account of the
/// policies AWS manages.
fn is_iam_arn(s: &str, kind: &str, aws_account: bool) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let account_ok = (account.len() == 12 && account.chars().all(|ch| ch.is_ascii_digit()))
        || (aws_account && *account == "aws");
    *arn == "arn"
        && partition.starts_with("aws")
        && *service == "iam"
        && region.is_empty()
        && account_ok
        && resource
            .strip_prefix(kind)
            .and_then(|r| r.strip_prefix('/'))
            .is_some_and(|name| {
                !name.is_empty() && !name.ends_with('/') && !name.contains(char::is_whitespace)
            })
}
