//! IAM's policy grammar, checked before the first call: a document IAM would refuse must
//! stop the run before anything is written, not halfway through an apply.
//!
//! What is checked, for identity (inline) policies and role trust policies alike unless
//! said otherwise:
//! - the top level: `Version` (`2012-10-17` or `2008-10-17`), `Id`, and `Statement`, a
//!   statement or a non-empty list of them; no other element;
//! - `Sid`: ASCII letters and digits, unique within the document;
//! - `Effect`: `Allow` or `Deny`;
//! - exactly one of `Action` and `NotAction`, each action `*` or `service:action`;
//! - identity policies: exactly one of `Resource` and `NotResource`, each `*` or an ARN
//!   (`arn:partition:service:region:account:resource`), and no `Principal`;
//! - trust policies: a `Principal` (`*` or a map of `AWS`, `Service`, `Federated` and
//!   `CanonicalUser`), and no `NotPrincipal`, `Resource` or `NotResource`;
//! - `Condition`: IAM's operators, with the `IfExists` suffix (not on `Null`) and the
//!   `ForAllValues:`/`ForAnyValue:` prefixes; keys with a service prefix; values strings,
//!   numbers or booleans;
//! - characters: IAM takes tab, line feed, carriage return and U+0020 to U+00FF;
//! - size, white space not counted: an identity policy at most 10,240 characters (the
//!   limit of all of a role's inline policies together), a trust policy at most 4,096 (the
//!   default quota is 2,048, raisable to 4,096; above the default, IAM refuses the
//!   document unless the account's quota was raised).
//!
//! Element names are case-sensitive. Each error names its place as a path into the
//! document, such as `Statement[2].Action`.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use super::compact_len;
use crate::desired::MAX_ROLE_INLINE_POLICY_SIZE;
use crate::model::{DesiredState, ResourceId, ResourceType};

/// The largest trust policy any account takes: the quota's maximum.
pub const MAX_TRUST_POLICY_SIZE: usize = 4_096;
/// The trust policy quota of an account that did not ask for more.
pub const DEFAULT_TRUST_POLICY_QUOTA: usize = 2_048;

/// The policy language versions IAM knows.
pub const VERSIONS: [&str; 2] = ["2012-10-17", "2008-10-17"];

/// IAM's condition operators, without the `IfExists` suffix and the set prefixes.
pub const CONDITION_OPERATORS: [&str; 27] = [
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const PRINCIPAL_TYPES: [&str; 4] = ["AWS", "Service", "Federated", "CanonicalUser"];

/// Which kind of document: the grammar differs in principals and resources.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DocumentKind {
    /// An inline policy on a role: what the role may do.
    Identity,
    /// A role's trust (assume-role) policy: who may take the role.
    Trust,
}

impl DocumentKind {
    fn elements(self) -> &'static [&'static str] {
        match self {
            DocumentKind::Identity => &[
                "Sid",
                "Effect",
                "Action",
                "NotAction",
                "Resource",
                "NotResource",
                "Condition",
            ],
            DocumentKind::Trust => &[
                "Sid",
                "Effect",
                "Principal",
                "Action",
                "NotAction",
                "Condition",
            ],
        }
    }
}

/// One way a document breaks IAM's grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrammarError {
    /// Where in the document, such as `Statement[2].Action` or `Statement[0].Action[1]`;
    /// empty for the document as a whole.
    pub path: String,
    pub message: String,
}

impl GrammarError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        GrammarError {
            path: path.into(),
            message: message.into(),
        }
    }

    /// The same error under `prefix` (a statement's path, say).
    fn under(mut self, prefix: &str) -> Self {
        self.path = join(prefix, &self.path);
        self
    }
}

impl fmt::Display for GrammarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for GrammarError {}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (_, true) => prefix.to_string(),
        _ if path.starts_with('[') => format!("{prefix}{path}"),
        _ => format!("{prefix}.{path}"),
    }
}

/// Every way `document` breaks IAM's grammar for its kind; empty when IAM would take it.
pub fn check(document: &str, kind: DocumentKind) -> Vec<GrammarError> {
    let value: Value = match serde_json::from_str(document) {
        Ok(v) => v,
        Err(e) => return vec![GrammarError::new("", format!("is not valid JSON: {e}"))],
    };
    let Value::Object(top) = &value else {
        return vec![GrammarError::new(
            "",
            "a policy must be a JSON object with Version and Statement",
        )];
    };
    let mut errors = Vec::new();
    for (key, v) in top {
        match key.as_str() {
            "Version" => match v.as_str() {
                Some(s) if VERSIONS.contains(&s) => {}
                _ => errors.push(GrammarError::new(
                    "Version",
                    format!("{v} is not a policy language version; IAM knows \"2012-10-17\" and \"2008-10-17\""),
                )),
            },
            "Id" => {
                if !v.is_string() {
                    errors.push(GrammarError::new("Id", "must be a string"));
                }
            }
            "Statement" => {}
            other => errors.push(GrammarError::new(
                other,
                "is not a policy element; IAM knows Version, Id and Statement",
            )),
        }
    }
    match top.get("Statement") {
        None => errors.push(GrammarError::new("Statement", "is required but missing")),
        Some(single @ Value::Object(_)) => errors.extend(
            check_statements(std::slice::from_ref(single), kind)
                .into_iter()
                .map(|(_, e)| e.under("Statement")),
        ),
        Some(Value::Array(list)) if list.is_empty() => errors.push(GrammarError::new(
            "Statement",
            "is an empty list; IAM refuses a policy with no statements",
        )),
        Some(Value::Array(list)) => errors.extend(
            check_statements(list, kind)
                .into_iter()
                .map(|(i, e)| e.under(&format!("Statement[{i}]"))),
        ),
        Some(other) => errors.push(GrammarError::new(
            "Statement",
            format!(
                "is {}; it must be a statement object or a list of them",
                kind_of(other)
            ),
        )),
    }
    for (key, _) in top {
        if let Some(e) = character_error(key) {
            errors.push(GrammarError::new(
                "",
                format!("the element name {key:?} {e}"),
            ));
        }
    }
    for name in ["Version", "Id"] {
        if let Some(e) = top
            .get(name)
            .and_then(Value::as_str)
            .and_then(character_error)
        {
            errors.push(GrammarError::new(name, e));
        }
    }
    errors.extend(size_error(document, kind));
    errors
}

/// The statements of one document, each checked, and their Sids unique. Each error comes
/// with its statement's index and a path relative to that statement (empty for the
/// statement as a whole).
pub fn check_statements(statements: &[Value], kind: DocumentKind) -> Vec<(usize, GrammarError)> {
    let mut errors = Vec::new();
    let mut sids: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, statement) in statements.iter().enumerate() {
        errors.extend(check_statement(statement, kind).into_iter().map(|e| (i, e)));
        let Some(sid) = statement.get("Sid").and_then(Value::as_str) else {
            continue;
        };
        if sid.is_empty() {
            continue;
        }
        if let Some(first) = sids.get(sid) {
            errors.push((
                i,
                GrammarError::new(
                    "Sid",
                    format!("{sid:?} is also the Sid of statement {first}; IAM needs Sids unique within a policy"),
                ),
            ));
        } else {
            sids.insert(sid, i);
        }
    }
    errors
}

/// One statement; paths are relative to it (`Action`, `Condition.StringEquals`, or empty
/// for the statement as a whole).
pub fn check_statement(statement: &Value, kind: DocumentKind) -> Vec<GrammarError> {
    let st = match object(statement, "", "a statement must be a JSON object") {
        Ok(st) => st,
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    for key in st.keys() {
        if let Some(message) = element_error(key, kind) {
            errors.push(GrammarError::new(key.as_str(), message));
        }
    }
    // An element written in another case is reported as such, not as missing too.
    let miscased = |names: &[&str]| {
        st.keys()
            .any(|k| names.iter().any(|n| k != n && k.eq_ignore_ascii_case(n)))
    };
    if let Some(sid) = st.get("Sid") {
        match sid.as_str() {
            Some(s) if s.chars().all(|c| c.is_ascii_alphanumeric()) => {}
            Some(s) => errors.push(GrammarError::new(
                "Sid",
                format!("{s:?} is not a valid Sid; IAM takes only ASCII letters and digits"),
            )),
            None => errors.push(GrammarError::new("Sid", "must be a string")),
        }
    }
    match st.get("Effect") {
        None if miscased(&["Effect"]) => {}
        None => errors.push(GrammarError::new(
            "",
            "has no Effect; it must be \"Allow\" or \"Deny\"",
        )),
        Some(Value::String(s)) if s == "Allow" || s == "Deny" => {}
        Some(other) => errors.push(GrammarError::new(
            "Effect",
            format!("{other} is not an effect; it must be \"Allow\" or \"Deny\""),
        )),
    }
    errors.extend(exactly_one(
        st,
        ["Action", "NotAction"],
        "action",
        action_error,
        miscased(&["Action", "NotAction"]),
    ));
    match kind {
        DocumentKind::Identity => errors.extend(exactly_one(
            st,
            ["Resource", "NotResource"],
            "resource",
            resource_error,
            miscased(&["Resource", "NotResource"]),
        )),
        DocumentKind::Trust => match st.get("Principal") {
            None if st.contains_key("NotPrincipal") || miscased(&["Principal"]) => {}
            None => errors.push(GrammarError::new(
                "",
                "has no Principal; a trust policy must name whom it trusts",
            )),
            Some(p) => errors.extend(principal_errors(p)),
        },
    }
    if let Some(condition) = st.get("Condition") {
        errors.extend(condition_errors(condition));
    }
    walk_strings(statement, "", &mut |path, s| {
        if let Some(e) = character_error(s) {
            errors.push(GrammarError::new(path, e));
        }
    });
    errors
}

/// Why `key` is not an element of a statement of this kind, if it is not.
fn element_error(key: &str, kind: DocumentKind) -> Option<String> {
    let elements = kind.elements();
    if elements.contains(&key) {
        return None;
    }
    Some(match (kind, key) {
        (DocumentKind::Identity, "Principal" | "NotPrincipal") => format!(
            "an identity policy takes no {key}; IAM refuses it (\"Policy document should not specify a principal\"). Whom a role trusts belongs in its trust policy"
        ),
        (DocumentKind::Trust, "Resource" | "NotResource") => format!(
            "a trust policy takes no {key}; IAM refuses it (\"Has prohibited field {key}\"): the resource is the role itself"
        ),
        (DocumentKind::Trust, "NotPrincipal") => {
            "a role's trust policy takes Principal, not NotPrincipal".to_string()
        }
        _ => match elements.iter().find(|e| e.eq_ignore_ascii_case(key)) {
            Some(e) => format!(
                "is not a statement element; element names are case-sensitive: write {e:?}"
            ),
            None => format!(
                "is not a statement element; IAM knows {}",
                list_words(elements)
            ),
        },
    })
}

fn list_words(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Exactly one of `positive` and `negative`, each a string or a non-empty list of strings
/// that `item_error` accepts. Having neither is not reported when `miscased` (one of them
/// is written in another case, which is reported instead).
fn exactly_one(
    st: &Map<String, Value>,
    [positive, negative]: [&str; 2],
    what: &str,
    item_error: fn(&str) -> Option<String>,
    miscased: bool,
) -> Vec<GrammarError> {
    match (st.get(positive), st.get(negative)) {
        (Some(_), Some(_)) => vec![GrammarError::new(
            "",
            format!("has both {positive} and {negative}; IAM takes exactly one of them"),
        )],
        (None, None) if miscased => Vec::new(),
        (None, None) => vec![GrammarError::new(
            "",
            format!("has no {positive} or {negative}; IAM needs exactly one of them"),
        )],
        (Some(v), None) => string_list_errors(positive, v, what, item_error),
        (None, Some(v)) => string_list_errors(negative, v, what, item_error),
    }
}

/// A string or a non-empty list of strings, each checked by `item_error`.
fn string_list_errors(
    path: &str,
    value: &Value,
    what: &str,
    item_error: fn(&str) -> Option<String>,
) -> Vec<GrammarError> {
    match value {
        Value::String(s) => item_error(s)
            .map(|e| GrammarError::new(path, e))
            .into_iter()
            .collect(),
        Value::Array(items) if items.is_empty() => vec![GrammarError::new(
            path,
            format!("is an empty list; IAM needs at least one {what}"),
        )],
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| {
                let message = match item.as_str() {
                    Some(s) => item_error(s)?,
                    None => format!("is {}; each {what} must be a string", kind_of(item)),
                };
                Some(GrammarError::new(format!("{path}[{i}]"), message))
            })
            .collect(),
        other => vec![GrammarError::new(
            path,
            format!(
                "is {}; it must be a string or a list of strings",
                kind_of(other)
            ),
        )],
    }
}

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

fn principal_errors(principal: &Value) -> Vec<GrammarError> {
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

fn condition_errors(condition: &Value) -> Vec<GrammarError> {
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

/// IAM takes tab, line feed, carriage return and U+0020 to U+00FF in a policy.
fn character_error(s: &str) -> Option<String> {
    let bad = s
        .chars()
        .find(|c| !matches!(*c, '\t' | '\n' | '\r' | '\u{20}'..='\u{ff}'))?;
    Some(format!(
        "contains the character U+{:04X}; IAM takes only tab, line feed, carriage return and U+0020 to U+00FF in a policy",
        bad as u32
    ))
}

/// Calls `f` on every string in `value` (object keys too), with its path.
fn walk_strings(value: &Value, path: &str, f: &mut dyn FnMut(&str, &str)) {
    match value {
        Value::String(s) => f(path, s),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk_strings(item, &format!("{path}[{i}]"), f);
            }
        }
        Value::Object(map) => {
            for (key, v) in map {
                let child = join(path, key);
                f(&child, key);
                walk_strings(v, &child, f);
            }
        }
        _ => {}
    }
}

fn size_error(document: &str, kind: DocumentKind) -> Option<GrammarError> {
    let size = compact_len(document);
    let message = match kind {
        DocumentKind::Identity if size > MAX_ROLE_INLINE_POLICY_SIZE => format!(
            "is {size} characters without white space; IAM allows at most {MAX_ROLE_INLINE_POLICY_SIZE} for all of a role's inline policies together"
        ),
        DocumentKind::Trust if size > MAX_TRUST_POLICY_SIZE => format!(
            "is {size} characters without white space; IAM's trust policy quota is {DEFAULT_TRUST_POLICY_QUOTA} by default and at most {MAX_TRUST_POLICY_SIZE}"
        ),
        _ => return None,
    };
    Some(GrammarError::new("", message))
}

/// The value as a JSON object, or the error at `path` that says what it is instead and
/// what it must be.
fn object<'a>(
    value: &'a Value,
    path: &str,
    must: &str,
) -> Result<&'a serde_json::Map<String, Value>, GrammarError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(GrammarError::new(
            path,
            format!("is {}; {must}", kind_of(other)),
        )),
    }
}

/// How a JSON value is described in messages.
fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Every document the desired state would write, checked: each role's trust policy and
/// each inline policy that has a document, and the inline policies of each role together
/// against IAM's 10,240 characters. External objects (another's instance profile's role
/// and policies) are only compared, never written, and are skipped.
pub fn check_desired(desired: &DesiredState) -> Vec<(ResourceId, GrammarError)> {
    let mut errors = Vec::new();
    for role in desired.roles.iter().filter(|r| !r.external) {
        errors.extend(
            check(&role.trust_policy, DocumentKind::Trust)
                .into_iter()
                .map(|e| (role.id(), e)),
        );
    }
    // Per role: the size of its documents together, and whether one alone is too big
    // (then that document's own error says it).
    let mut sizes: BTreeMap<&str, (usize, bool)> = BTreeMap::new();
    for policy in desired.role_policies.iter().filter(|p| !p.external) {
        let Some(document) = &policy.document else {
            continue;
        };
        errors.extend(
            check(document, DocumentKind::Identity)
                .into_iter()
                .map(|e| (policy.id(), e)),
        );
        let size = compact_len(document);
        let entry = sizes.entry(policy.role.as_str()).or_default();
        entry.0 += size;
        entry.1 |= size > MAX_ROLE_INLINE_POLICY_SIZE;
    }
    for (role, (total, one_too_big)) in sizes {
        if total > MAX_ROLE_INLINE_POLICY_SIZE && !one_too_big {
            errors.push((
                ResourceId::new(ResourceType::IamRole, role),
                GrammarError::new(
                    "",
                    format!("the inline policies rolecall would write on role {role} add up to {total} characters without white space; IAM allows at most {MAX_ROLE_INLINE_POLICY_SIZE}"),
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::desired::desired_state;
    use crate::desired::pod_roles::{add_pod_roles, PodContext};
    use crate::model::{DesiredRole, DesiredRolePolicy};
    use crate::test_spec::cluster;

    fn identity(statements: Value) -> Vec<String> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        check(&doc, DocumentKind::Identity)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn trust(statements: Value) -> Vec<String> {
        let doc = json!({"Version": "2012-10-17", "Statement": statements}).to_string();
        check(&doc, DocumentKind::Trust)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    /// One identity statement with `extra` merged over a valid one.
    fn statement(extra: Value) -> Value {
        let mut st = json!({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"});
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                st.as_object_mut().unwrap().remove(k);
            } else {
                st[k] = v.clone();
            }
        }
        st
    }

    fn one(statement_errors: Vec<String>) -> String {
        assert_eq!(statement_errors.len(), 1, "{statement_errors:?}");
        statement_errors.into_iter().next().unwrap()
    }

    const EC2_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    #[test]
    fn a_valid_identity_policy_and_a_valid_trust_policy_pass() {
        assert_eq!(
            identity(json!([statement(json!({}))])),
            Vec::<String>::new()
        );
        assert_eq!(check(EC2_TRUST, DocumentKind::Trust), vec![]);
        // A single statement object, a Deny, lists, NotAction with NotResource, conditions.
        let doc = json!({"Version": "2012-10-17", "Id": "x", "Statement": {
            "Sid": "Deny1", "Effect": "Deny", "NotAction": ["iam:*", "sts:Get*"],
            "NotResource": ["arn:aws:iam::123456789012:role/a", "arn:aws-cn:s3:::b/*"],
            "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": ["a*", "b?"]},
                          "Bool": {"aws:SecureTransport": false},
                          "NumericLessThan": {"s3:max-keys": 10}}}});
        assert_eq!(check(&doc.to_string(), DocumentKind::Identity), vec![]);
    }

    #[test]
    fn a_statement_needs_exactly_one_of_action_and_not_action() {
        assert_eq!(
            one(identity(json!([statement(json!({"Action": null}))]))),
            "Statement[0]: has no Action or NotAction; IAM needs exactly one of them"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"NotAction": "iam:*"}))]))),
            "Statement[0]: has both Action and NotAction; IAM takes exactly one of them"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Action": []}))]))),
            "Statement[0].Action: is an empty list; IAM needs at least one action"
        );
        assert_eq!(
            one(identity(json!([statement(
                json!({"Action": ["s3:GetObject", 3]})
            )]))),
            "Statement[0].Action[1]: is a number; each action must be a string"
        );
        assert_eq!(
            one(identity(json!([statement(
                json!({"Action": {"s3": "GetObject"}})
            )]))),
            "Statement[0].Action: is an object; it must be a string or a list of strings"
        );
    }

    #[test]
    fn actions_need_a_service_prefix() {
        assert_eq!(
            one(identity(json!([statement(json!({"Action": "s3GetObject"}))]))),
            "Statement[0].Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Action": ["s3:GetObject", ":GetObject"]}))]))),
            "Statement[0].Action[1]: \":GetObject\" has no valid service prefix before the colon; write service:action, such as s3:GetObject"
        );
        for bad in ["s3:", "s3:Get:Object", "s3:Get Object", "s 3:GetObject", ""] {
            assert_eq!(
                identity(json!([statement(json!({"Action": bad}))])).len(),
                1,
                "{bad:?}"
            );
        }
        for good in [
            "*",
            "s3:*",
            "ec2:Describe*",
            "EC2:describeinstances",
            "execute-api:Invoke",
            "s3:Get?bject",
        ] {
            assert_eq!(action_error(good), None, "{good}");
        }
    }

    #[test]
    fn resources_are_star_or_arns_and_identity_policies_need_one() {
        assert_eq!(
            one(identity(json!([statement(json!({"Resource": ["key-id-1"]}))]))),
            "Statement[0].Resource[0]: \"key-id-1\" is neither * nor an ARN (arn:partition:service:region:account:resource); IAM refuses it"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Resource": null}))]))),
            "Statement[0]: has no Resource or NotResource; IAM needs exactly one of them"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"NotResource": "*"}))]))),
            "Statement[0]: has both Resource and NotResource; IAM takes exactly one of them"
        );
        for bad in [
            "arn:aws:s3",
            "arn::s3:::b",
            "arn:aws::::x",
            "arn:aws:s3:::",
            "s3:::b",
            "arn:aws:s3:::a b",
        ] {
            assert!(resource_error(bad).is_some(), "{bad}");
        }
        for good in [
            "*",
            "arn:aws:s3:::b/*",
            "arn:aws:kms:us-east-1:123456789012:key/k",
            "arn:aws:ec2:*:*:instance/*",
            "arn:aws:route53:::hostedzone/Z1",
        ] {
            assert_eq!(resource_error(good), None, "{good}");
        }
    }

    #[test]
    fn principals_belong_to_trust_policies_only() {
        assert_eq!(
            one(identity(json!([statement(json!({"Principal": {"AWS": "*"}}))]))),
            "Statement[0].Principal: an identity policy takes no Principal; IAM refuses it (\"Policy document should not specify a principal\"). Whom a role trusts belongs in its trust policy"
        );
        assert!(one(identity(json!([statement(
            json!({"NotPrincipal": {"AWS": "*"}})
        )])))
        .starts_with("Statement[0].NotPrincipal: an identity policy takes no NotPrincipal"));
        let assume = json!({"Effect": "Allow", "Action": "sts:AssumeRole"});
        assert_eq!(
            one(trust(json!([assume.clone()]))),
            "Statement[0]: has no Principal; a trust policy must name whom it trusts"
        );
        let mut with_not = assume.clone();
        with_not["NotPrincipal"] = json!({"AWS": "arn:aws:iam::123456789012:root"});
        assert_eq!(
            one(trust(json!([with_not]))),
            "Statement[0].NotPrincipal: a role's trust policy takes Principal, not NotPrincipal"
        );
    }

    #[test]
    fn trust_policies_take_no_resource() {
        let mut st: Value =
            serde_json::from_str::<Value>(EC2_TRUST).unwrap()["Statement"][0].clone();
        st["Resource"] = json!("*");
        assert_eq!(
            one(trust(json!([st.clone()]))),
            "Statement[0].Resource: a trust policy takes no Resource; IAM refuses it (\"Has prohibited field Resource\"): the resource is the role itself"
        );
        st.as_object_mut().unwrap().remove("Resource");
        st["NotResource"] = json!("*");
        assert!(one(trust(json!([st])))
            .starts_with("Statement[0].NotResource: a trust policy takes no NotResource"));
    }

    #[test]
    fn principal_shapes_are_checked() {
        let with = |p: Value| {
            trust(json!([{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"}]))
        };
        for good in [
            json!("*"),
            json!({"AWS": "*"}),
            json!({"AWS": ["123456789012", "arn:aws:iam::123456789012:role/a"]}),
            json!({"Service": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}),
            json!({"Federated": "arn:aws:iam::123456789012:oidc-provider/b.s3.us-east-1.amazonaws.com/c"}),
            json!({"Federated": "cognito-identity.amazonaws.com"}),
            json!({"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"}),
        ] {
            assert_eq!(with(good.clone()), Vec::<String>::new(), "{good}");
        }
        assert_eq!(
            one(with(json!({"Role": "x"}))),
            "Statement[0].Principal.Role: is not a principal type; IAM knows AWS, Service, Federated and CanonicalUser"
        );
        assert_eq!(
            one(with(json!({"AWS": ["arn:aws:iam::123456789012:role/a", "kiam-server"]}))),
            "Statement[0].Principal.AWS[1]: \"kiam-server\" is not an AWS principal: write an ARN (arn:aws:iam::123456789012:role/name), an account id or *"
        );
        assert_eq!(
            one(with(json!({"Service": "ec2"}))),
            "Statement[0].Principal.Service: \"ec2\" is not a service principal such as ec2.amazonaws.com"
        );
        assert!(one(with(json!({"Federated": "not a provider"})))
            .contains("is not a federated principal"));
        assert!(one(with(json!("ec2.amazonaws.com"))).starts_with(
            "Statement[0].Principal: is \"ec2.amazonaws.com\"; it must be \"*\" or an object"
        ));
        assert!(one(with(json!({}))).starts_with("Statement[0].Principal: is empty"));
    }

    #[test]
    fn effect_version_sid_and_the_top_level_are_checked() {
        assert_eq!(
            one(identity(json!([statement(json!({"Effect": "Permit"}))]))),
            "Statement[0].Effect: \"Permit\" is not an effect; it must be \"Allow\" or \"Deny\""
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Effect": null}))]))),
            "Statement[0]: has no Effect; it must be \"Allow\" or \"Deny\""
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Sid": "read the bucket"}))]))),
            "Statement[0].Sid: \"read the bucket\" is not a valid Sid; IAM takes only ASCII letters and digits"
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Sid": "A1"})), statement(json!({"Sid": "A1"}))]))),
            "Statement[1].Sid: \"A1\" is also the Sid of statement 0; IAM needs Sids unique within a policy"
        );
        let st = statement(json!({}));
        let errors = |doc: Value| -> Vec<String> {
            check(&doc.to_string(), DocumentKind::Identity)
                .iter()
                .map(ToString::to_string)
                .collect()
        };
        assert_eq!(
            one(errors(json!({"Version": "2012-10-18", "Statement": [st.clone()]}))),
            "Version: \"2012-10-18\" is not a policy language version; IAM knows \"2012-10-17\" and \"2008-10-17\""
        );
        assert_eq!(
            errors(json!({"Version": "2008-10-17", "Statement": [st.clone()]})),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(json!({"Statement": [st.clone()]})),
            Vec::<String>::new()
        );
        assert_eq!(
            one(errors(
                json!({"Version": "2012-10-17", "Statements": [st.clone()], "Statement": [st.clone()]})
            )),
            "Statements: is not a policy element; IAM knows Version, Id and Statement"
        );
        assert_eq!(
            one(errors(json!({"Version": "2012-10-17"}))),
            "Statement: is required but missing"
        );
        assert_eq!(
            one(errors(json!({"Version": "2012-10-17", "Statement": []}))),
            "Statement: is an empty list; IAM refuses a policy with no statements"
        );
        assert_eq!(
            one(errors(json!({"Version": "2012-10-17", "Statement": null}))),
            "Statement: is null; it must be a statement object or a list of them"
        );
        assert_eq!(
            one(errors(
                json!({"Version": "2012-10-17", "Statement": ["Allow"]})
            )),
            "Statement[0]: is a string; a statement must be a JSON object"
        );
        assert_eq!(
            one(errors(json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3", "Resource": "*"}}))),
            "Statement.Action: \"s3\" has no service prefix; write service:action, such as s3:GetObject, or *"
        );
        assert!(check("{", DocumentKind::Identity)[0]
            .message
            .starts_with("is not valid JSON"));
        assert_eq!(
            check("[]", DocumentKind::Trust)[0].to_string(),
            "a policy must be a JSON object with Version and Statement"
        );
    }

    #[test]
    fn element_names_are_case_sensitive_and_unknown_ones_refused() {
        // Reported once: as written in the wrong case, not also as missing.
        assert_eq!(
            one(identity(json!([{"Effect": "Allow", "Action": "s3:*", "resource": "*"}]))),
            "Statement[0].resource: is not a statement element; element names are case-sensitive: write \"Resource\""
        );
        assert_eq!(
            identity(json!([{"effect": "Allow", "notaction": "s3:*", "Resource": "*"}])),
            [
                "Statement[0].effect: is not a statement element; element names are case-sensitive: write \"Effect\"",
                "Statement[0].notaction: is not a statement element; element names are case-sensitive: write \"NotAction\"",
            ]
        );
        assert_eq!(
            one(trust(json!([{"Effect": "Allow", "principal": "*", "Action": "sts:AssumeRole"}]))),
            "Statement[0].principal: is not a statement element; element names are case-sensitive: write \"Principal\""
        );
        assert_eq!(
            one(identity(json!([statement(json!({"Comment": "why"}))]))),
            "Statement[0].Comment: is not a statement element; IAM knows Sid, Effect, Action, NotAction, Resource, NotResource and Condition"
        );
        assert!(one(trust(json!([{"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole", "Comment": "x"}])))
            .ends_with("IAM knows Sid, Effect, Principal, Action, NotAction and Condition"));
    }

    #[test]
    fn condition_operators_come_from_iam_list() {
        let with = |c: Value| identity(json!([statement(json!({"Condition": c}))]));
        for op in [
            "StringEquals",
            "StringNotEqualsIgnoreCase",
            "StringLikeIfExists",
            "ArnLike",
            "ArnNotEqualsIfExists",
            "IpAddress",
            "NotIpAddress",
            "DateGreaterThanEquals",
            "NumericLessThanEqualsIfExists",
            "BinaryEquals",
            "Bool",
            "BoolIfExists",
            "Null",
            "ForAllValues:StringEquals",
            "ForAnyValue:StringLikeIfExists",
        ] {
            assert!(is_condition_operator(op), "{op}");
            assert_eq!(
                with(json!({op: {"aws:PrincipalTag/team": "a"}})),
                Vec::<String>::new(),
                "{op}"
            );
        }
        for op in [
            "StringEqual",
            "NullIfExists",
            "ForAllValue:StringEquals",
            "IfExists",
            "stringequals",
            "StringEqualsIfExistsIfExists",
            "ForAllValues:ForAnyValue:StringEquals",
        ] {
            assert!(!is_condition_operator(op), "{op}");
        }
        assert_eq!(
            one(with(json!({"stringEquals": {"aws:SourceVpc": "vpc-1"}}))),
            "Statement[0].Condition.stringEquals: is not a condition operator; operator names are case-sensitive (IAM knows StringEquals, with the IfExists suffix and the ForAllValues: and ForAnyValue: prefixes)"
        );
        assert!(one(with(json!({"Matches": {"aws:SourceVpc": "vpc-1"}})))
            .starts_with("Statement[0].Condition.Matches: is not a condition operator; IAM knows StringEquals"));
    }

    #[test]
    fn condition_keys_need_a_prefix_and_values_are_scalars() {
        let with = |c: Value| identity(json!([statement(json!({"Condition": c}))]));
        assert_eq!(
            one(with(json!({"StringEquals": {"SourceVpc": "vpc-1"}}))),
            "Statement[0].Condition.StringEquals.SourceVpc: is not a condition key: IAM needs a service prefix, such as aws:SourceIp or ec2:ResourceTag/Name"
        );
        assert_eq!(
            one(with(json!({"StringEquals": {"aws:SourceVpc": {"a": "b"}}}))),
            "Statement[0].Condition.StringEquals.aws:SourceVpc: condition values must be strings, numbers or booleans, or a list of them"
        );
        assert_eq!(
            one(with(json!({"StringEquals": "aws:SourceVpc"}))),
            "Statement[0].Condition.StringEquals: is a string; it must be an object of condition keys and values"
        );
        assert_eq!(
            one(with(json!("aws:SourceVpc"))),
            "Statement[0].Condition: is a string; it must be an object of condition operators"
        );
        // IRSA's keys: the issuer's host and path, then :sub or :aud.
        assert_eq!(
            with(
                json!({"StringEquals": {"oidc.s3.us-east-1.amazonaws.com/c:sub": "system:serviceaccount:a:b"}})
            ),
            Vec::<String>::new()
        );
    }

    #[test]
    fn characters_outside_what_iam_takes_are_refused() {
        assert_eq!(
            one(identity(json!([statement(json!({"Resource": "arn:aws:s3:::caf\u{e9}/\u{2603}"}))]))),
            "Statement[0].Resource: contains the character U+2603; IAM takes only tab, line feed, carriage return and U+0020 to U+00FF in a policy"
        );
        assert!(one(identity(json!([statement(
            json!({"Sid": "A", "Condition": {"StringEquals": {"aws:x": "a\u{1}"}}})
        )])))
        .starts_with("Statement[0].Condition.StringEquals.aws:x: contains the character U+0001"));
    }

    #[test]
    fn trust_policies_may_reach_4096_characters_and_identity_policies_10240() {
        let principals = |n: usize| -> Vec<String> {
            (0..n)
                .map(|i| format!("arn:aws:iam::123456789012:role/r{i:05}"))
                .collect()
        };
        let trust_doc = |n: usize| {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": principals(n)}, "Action": "sts:AssumeRole"}]}).to_string()
        };
        // Over the default quota of 2,048 but within the raised one: accepted.
        let medium = trust_doc(60);
        assert!(
            compact_len(&medium) > DEFAULT_TRUST_POLICY_QUOTA
                && compact_len(&medium) <= MAX_TRUST_POLICY_SIZE
        );
        assert_eq!(check(&medium, DocumentKind::Trust), vec![]);
        let big = trust_doc(120);
        let errors = check(&big, DocumentKind::Trust);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0].to_string(),
            format!("is {} characters without white space; IAM's trust policy quota is 2048 by default and at most 4096", compact_len(&big))
        );
        let resources: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:s3:::bucket-{i:04}/*"))
            .collect();
        let huge = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]}).to_string();
        let errors = check(&huge, DocumentKind::Identity);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert!(errors[0]
            .message
            .ends_with("IAM allows at most 10240 for all of a role's inline policies together"));
    }

    fn assert_all_pass(desired: &DesiredState) {
        let errors = check_desired(desired);
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(!desired.roles.is_empty());
    }

    const KMS: &str = "  etcdClusters:
  - name: main
    etcdMembers:
    - {name: a, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'}
    - {name: b, kmsKeyId: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ac'}
    backups: {backupStore: 's3://backups/c.k8s.local/main'}
  - name: events
    etcdMembers: [{name: a}]
";

    #[test]
    fn every_policy_kops_generates_passes() {
        let base = "  configBase: s3://state/c.k8s.local\n";
        let additional = "  additionalPolicies:
    node: '[{\"Effect\": \"Allow\", \"Action\": [\"sqs:*\"], \"Resource\": \"arn:aws:sqs:us-east-1:123456789012:q\"}]'
    master: |
      [{\"Effect\": \"Deny\", \"NotAction\": \"iam:*\", \"NotResource\": [\"*\"], \"Sid\": \"NoIam\",
        \"Condition\": {\"Bool\": {\"aws:SecureTransport\": \"false\"}}}]
";
        for (what, body) in [
            ("legacy, the default", format!("{base}{KMS}")),
            ("legacy", format!("{base}  iam: {{legacy: true}}\n{KMS}  dnsZone: Z1234\n")),
            ("strict", format!("{base}  iam: {{legacy: false}}\n{KMS}")),
            ("strict with ECR", format!("{base}  iam: {{legacy: false, allowContainerRegistry: true}}\n{KMS}")),
            ("strict with a zone and stores", format!("{base}  iam: {{legacy: false}}\n  dnsZone: example.com\n  keyStore: s3://keys/c\n  secretStore: s3://secrets/c\n  kubeAPIServer: {{enableBootstrapAuthToken: true}}\n")),
            ("strict with additional policies", format!("{base}  iam: {{legacy: false}}\n{additional}")),
            ("China", format!("{base}  iam: {{legacy: false}}\n  subnets: [{{name: a, zone: cn-north-1a}}]\n")),
            ("GovCloud", format!("{base}  iam: {{legacy: false}}\n  subnets: [{{name: a, zone: us-gov-west-1a}}]\n")),
        ] {
            let desired = desired_state(&cluster("c.k8s.local", &body)).unwrap_or_else(|e| panic!("{what}: {e}"));
            let errors = check_desired(&desired);
            assert!(errors.is_empty(), "{what}: {errors:#?}");
        }
        for networking in [
            "calico",
            "cilium",
            "kuberouter",
            "romana",
            "amazonvpc",
            "amazon-vpc-routed-eni",
        ] {
            for legacy in [true, false] {
                let body = format!(
                    "{base}  iam: {{legacy: {legacy}}}\n  networking:\n    {networking}: {{}}\n"
                );
                assert_all_pass(&desired_state(&cluster("c.k8s.local", &body)).unwrap());
            }
        }
    }

    #[test]
    fn kops_1_10_golden_policies_fail_only_on_their_bare_kms_key_ids() {
        for (name, text) in [
            (
                "bastion",
                include_str!("../../tests/fixtures/kops-1.10.0-golden/iam_builder_bastion.json"),
            ),
            (
                "node_legacy",
                include_str!(
                    "../../tests/fixtures/kops-1.10.0-golden/iam_builder_node_legacy.json"
                ),
            ),
            (
                "node_strict",
                include_str!(
                    "../../tests/fixtures/kops-1.10.0-golden/iam_builder_node_strict.json"
                ),
            ),
            (
                "node_strict_ecr",
                include_str!(
                    "../../tests/fixtures/kops-1.10.0-golden/iam_builder_node_strict_ecr.json"
                ),
            ),
        ] {
            assert_eq!(check(text, DocumentKind::Identity), vec![], "{name}");
        }
        // kops's own test gives bare key ids ("key-id-1"), which IAM refuses as a Resource:
        // issue 11's failure, and nothing else.
        for text in [
            include_str!("../../tests/fixtures/kops-1.10.0-golden/iam_builder_master_legacy.json"),
            include_str!("../../tests/fixtures/kops-1.10.0-golden/iam_builder_master_strict.json"),
            include_str!(
                "../../tests/fixtures/kops-1.10.0-golden/iam_builder_master_strict_ecr.json"
            ),
        ] {
            let errors = check(text, DocumentKind::Identity);
            assert!(!errors.is_empty());
            for e in errors {
                assert!(
                    e.message.starts_with("\"key-id-") && e.path.contains(".Resource["),
                    "{e}"
                );
            }
        }
    }

    fn with_pod_roles(body: &str) -> DesiredState {
        let spec = cluster("c.k8s.local", body);
        let mut desired = desired_state(&spec).unwrap();
        add_pod_roles(&spec, &PodContext::for_tests(), &mut desired).unwrap();
        desired
    }

    #[test]
    fn every_pod_role_document_passes() {
        let roles = "      roles:
      - name: billing
        namespaces: [billing, reports]
        policyARNs: [arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess]
      - name: queue
        namespaces: [jobs]
        inlinePolicy: '[{\"Effect\": \"Allow\", \"Action\": \"sqs:ReceiveMessage\", \"Resource\": \"*\"}]'
";
        let base = "  configBase: s3://state/c.k8s.local\n  iam:\n    legacy: false\n";
        for mode in [
            "kube2iam",
            "kiam",
            "kiam\n      kiamServerRoleARN: arn:aws:iam::123456789012:role/kiam-server",
        ] {
            let desired = with_pod_roles(&format!(
                "{base}    podIdentity:\n      mode: {mode}\n{roles}"
            ));
            assert!(desired
                .roles
                .iter()
                .any(|r| r.name.ends_with(".pods.c.k8s.local")));
            assert_all_pass(&desired);
        }
        let irsa = format!("{base}    serviceAccountExternalPermissions:
    - name: external-dns
      namespace: kube-system
      aws:
        policyARNs: [arn:aws:iam::aws:policy/AmazonRoute53FullAccess]
    - name: shipper
      namespace: '*'
      aws:
        inlinePolicy: '[{{\"Effect\": \"Allow\", \"Action\": [\"logs:PutLogEvents\"], \"Resource\": [\"*\"]}}]'
  serviceAccountIssuerDiscovery:
    discoveryStore: s3://oidc/c.k8s.local
    enableAWSOIDCProvider: true
    additionalAudiences: [sts.amazonaws.com]
  subnets: [{{name: a, zone: us-east-1a}}]
");
        let desired = with_pod_roles(&irsa);
        assert!(desired
            .roles
            .iter()
            .any(|r| r.name.ends_with(".sa.c.k8s.local")));
        assert_all_pass(&desired);
    }

    /// The state of a plain cluster, whose first role and policy serve as templates.
    fn plain() -> DesiredState {
        desired_state(&cluster(
            "c.k8s.local",
            "  configBase: s3://state/c.k8s.local\n  iam: {legacy: false}\n",
        ))
        .unwrap()
    }

    fn role(name: &str, trust_policy: &str, external: bool) -> DesiredRole {
        DesiredRole {
            name: name.into(),
            trust_policy: trust_policy.into(),
            external,
            ..plain().roles[0].clone()
        }
    }

    fn policy(
        role: &str,
        name: &str,
        document: Option<String>,
        external: bool,
    ) -> DesiredRolePolicy {
        DesiredRolePolicy {
            role: role.into(),
            name: name.into(),
            document,
            external,
            ..plain().role_policies[0].clone()
        }
    }

    #[test]
    fn check_desired_names_the_object_and_skips_external_ones() {
        let bad_policy = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3GetObject", "Resource": "*"}]}).to_string();
        let bad_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#;
        let desired = DesiredState {
            cluster: "c".into(),
            roles: vec![
                role("mine", bad_trust, false),
                role("theirs", bad_trust, true),
            ],
            role_policies: vec![
                policy("mine", "mine", Some(bad_policy.clone()), false),
                policy("mine", "additional.mine", None, false),
                policy("theirs", "theirs", Some(bad_policy), true),
            ],
            ..DesiredState::default()
        };
        let errors: Vec<String> = check_desired(&desired)
            .iter()
            .map(|(id, e)| format!("{id}: {e}"))
            .collect();
        assert_eq!(
            errors,
            [
                "IAMRole/mine: Statement[0]: has no Principal; a trust policy must name whom it trusts",
                "IAMRolePolicy/mine: Statement[0].Action: \"s3GetObject\" has no service prefix; write service:action, such as s3:GetObject, or *",
            ]
        );
    }

    #[test]
    fn check_desired_adds_up_the_inline_policies_of_each_role() {
        let resources = |from: usize| -> Vec<String> {
            (from..from + 200)
                .map(|i| format!("arn:aws:s3:::bucket-{i:04}/*"))
                .collect()
        };
        let doc = |from| {
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources(from)}]}).to_string()
        };
        let (a, b) = (doc(0), doc(200));
        assert!(compact_len(&a) <= MAX_ROLE_INLINE_POLICY_SIZE);
        let trust = EC2_TRUST;
        let desired = DesiredState {
            cluster: "c".into(),
            roles: vec![role("nodes", trust, false)],
            role_policies: vec![
                policy("nodes", "nodes", Some(a.clone()), false),
                policy("nodes", "kube2iam.nodes", Some(b.clone()), false),
                // Someone else's policy on the role is not written, so not counted.
                policy("nodes", "other", Some(a.clone()), true),
            ],
            ..DesiredState::default()
        };
        let errors = check_desired(&desired);
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(errors[0].0, ResourceId::new(ResourceType::IamRole, "nodes"));
        assert_eq!(
            errors[0].1.to_string(),
            format!(
                "the inline policies rolecall would write on role nodes add up to {} characters without white space; IAM allows at most 10240",
                compact_len(&a) + compact_len(&b)
            )
        );
    }
}
