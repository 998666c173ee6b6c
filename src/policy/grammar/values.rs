//! The values of a statement's elements: actions, resources (ARNs), principals of each
//! type, and condition operators, keys and values.

use serde_json::Value;

use super::*;

/// `*`, or `service:action` where the action may hold the wildcards `*` and `?`.
pub fn action_error(action: &str) -> Option<String> {
    if action == "*" {
        return None;
    }
    let Some((service, name)) = action.split_once(':') else {
        return Some(format!(
            "{action:?} has no service prefix; write service:action, such as s3:GetObject, or *"
        ));
    };
    if service.is_empty()
        || !service
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Some(format!(
            "{action:?} has no valid service prefix before the colon; write service:action, such as s3:GetObject"
        ));
    }
    if name.is_empty() {
        return Some(format!(
            "{action:?} names no action after {service}:; write service:action, such as s3:GetObject"
        ));
    }
    if name.contains(':') {
        return Some(format!(
            "{action:?} has more than one colon; write service:action, such as s3:GetObject"
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "*?-_.".contains(c))
    {
        return Some(format!(
            "{action:?} is not an action name: use letters, digits and the wildcards * and ?"
        ));
    }
    None
}

/// `*`, or an ARN: `arn:partition:service:region:account:resource`.
pub fn resource_error(resource: &str) -> Option<String> {
    if resource == "*" || is_arn(resource) {
        return None;
    }
    Some(format!(
        "{resource:?} is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it"
    ))
}

/// `arn:partition:service:region:account:resource`, region and account possibly empty.
pub fn is_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, _region, _account, resource] = parts.as_slice() else {
        return false;
    };
    *arn == "arn"
        && !partition.is_empty()
        && !service.is_empty()
        && !resource.is_empty()
        && !s.contains(char::is_whitespace)
}

pub(super) fn principal_errors(principal: &Value) -> Vec<GrammarError> {
    const EXPECTED: &str =
        "it must be \"*\" or an object such as {\"Service\": \"ec2.amazonaws.com\"}";
    let map = match principal {
        Value::String(s) if s == "*" => return Vec::new(),
        Value::Object(map) if !map.is_empty() => map,
        Value::Object(_) => {
            return vec![GrammarError::new(
                "Principal",
                format!("is empty; {EXPECTED}"),
            )]
        }
        other => {
            return vec![GrammarError::new(
                "Principal",
                format!("is {other}; {EXPECTED}"),
            )]
        }
    };
    let mut errors = Vec::new();
    for (kind, ids) in map {
        let path = format!("Principal.{kind}");
        let item_error: fn(&str) -> Option<String> = match kind.as_str() {
            "AWS" => aws_principal_error,
            "Service" => service_principal_error,
            "Federated" => federated_principal_error,
            "CanonicalUser" => |s: &str| {
                (s.is_empty() || s.contains(char::is_whitespace))
                    .then(|| format!("{s:?} is not a canonical user id"))
            },
            _ => {
                errors.push(GrammarError::new(
                    path,
                    format!(
                        "is not a principal type; IAM knows {}",
                        list_words(&PRINCIPAL_TYPES)
                    ),
                ));
                continue;
            }
        };
        errors.extend(string_list_errors(&path, ids, "principal", item_error));
    }
    errors
}

fn aws_principal_error(s: &str) -> Option<String> {
    let account = s.len() == 12 && s.chars().all(|c| c.is_ascii_digit());
    (s != "*" && !account && !is_arn(s)).then(|| {
        format!("{s:?} is not an AWS principal: write an ARN (arn:aws:iam::123456789012:role/name), an account id or *")
    })
}

fn service_principal_error(s: &str) -> Option<String> {
    let ok = !s.is_empty()
        && s.contains('.')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    (!ok).then(|| format!("{s:?} is not a service principal such as ec2.amazonaws.com"))
}

fn federated_principal_error(s: &str) -> Option<String> {
    let ok = is_arn(s)
        || (!s.is_empty()
            && s.contains('.')
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-'));
    (!ok).then(|| {
        format!("{s:?} is not a federated principal: write an identity provider's ARN or a domain such as cognito-identity.amazonaws.com")
    })
}

/// Whether IAM knows the operator: one of [`CONDITION_OPERATORS`], with `IfExists` (not on
/// `Null`) and `ForAllValues:` or `ForAnyValue:` allowed.
pub fn is_condition_operator(op: &str) -> bool {
    let base = op
        .strip_prefix("ForAllValues:")
        .or_else(|| op.strip_prefix("ForAnyValue:"))
        .unwrap_or(op);
    match base.strip_suffix("IfExists") {
        Some(base) => base != "Null" && CONDITION_OPERATORS.contains(&base),
        None => CONDITION_OPERATORS.contains(&base),
    }
}

fn operator_error(op: &str) -> String {
    let lower = op.to_ascii_lowercase();
    let near = CONDITION_OPERATORS.iter().find(|known| {
        let known = known.to_ascii_lowercase();
        lower == known
            || lower.strip_suffix("ifexists") == Some(known.as_str())
            || lower.ends_with(&format!(":{known}"))
            || lower.ends_with(&format!(":{known}ifexists"))
    });
    match near {
        Some(known) => format!(
            "is not a condition operator; operator names are case-sensitive (IAM knows {known}, with the IfExists suffix and the ForAllValues: and ForAnyValue: prefixes)"
        ),
        None => "is not a condition operator; IAM knows StringEquals, StringLike, ArnLike, Bool, IpAddress, NumericEquals, DateLessThan, Null and their relatives, with the IfExists suffix and the ForAllValues: and ForAnyValue: prefixes".to_string(),
    }
}

pub(super) fn condition_errors(condition: &Value) -> Vec<GrammarError> {
    let ops = match object(
        condition,
        "Condition",
        "it must be an object of condition operators",
    ) {
        Ok(ops) => ops,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    for (op, keys) in ops {
        let path = format!("Condition.{op}");
        if !is_condition_operator(op) {
            errors.push(GrammarError::new(path.as_str(), operator_error(op)));
        }
        let keys = match object(
            keys,
            &path,
            "it must be an object of condition keys and values",
        ) {
            Ok(keys) => keys,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        for (key, values) in keys {
            let path = format!("{path}.{key}");
            let prefixed = key
                .split_once(':')
                .is_some_and(|(service, name)| !service.is_empty() && !name.is_empty());
            if !prefixed {
                errors.push(GrammarError::new(
                    path.as_str(),
                    "is not a condition key: IAM needs a service prefix, such as aws:SourceIp or ec2:ResourceTag/Name",
                ));
            }
            let scalar =
                |v: &Value| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_));
            let ok = match values {
                Value::Array(items) => items.iter().all(scalar),
                one => scalar(one),
            };
            if !ok {
                errors.push(GrammarError::new(
                    path,
                    "condition values must be strings, numbers or booleans, or a list of them",
                ));
            }
        }
    }
    errors
}
