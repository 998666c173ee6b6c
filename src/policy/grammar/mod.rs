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

mod values;
pub use values::{action_error, is_arn, is_condition_operator, resource_error};
use values::{condition_errors, principal_errors};

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
mod tests;
