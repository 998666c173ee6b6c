//! IAM policy documents: decoding what AWS returns, semantic equality, and a display form
//! for diffs.
//!
//! Equality follows what IAM itself treats as the same document, so that a plan is quiet
//! when nothing real changed: white space and key order do not matter, a string equals a
//! one-element list, the order of statements, actions, resources, principals and condition
//! values does not matter, nor does the case of `Effect` or of action names (IAM matches
//! actions case-insensitively), and `"Principal": "*"` equals `{"AWS": "*"}`. `Version`,
//! `Id`, `Sid`, resources and condition operators are compared exactly.

pub mod grammar;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// Why a document is not a policy rolecall can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct PolicyError(pub String);

/// IAM returns documents percent-encoded (RFC 3986). Some SDKs decode them, the Rust SDK
/// does not; a document that is already JSON is left alone so decoding twice is harmless.
pub fn decode_aws_document(text: &str) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return text.to_string();
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

/// True when IAM treats the two documents as the same policy. A document that does not
/// parse equals only the identical text.
pub fn equivalent(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

/// The canonical form of a policy: two documents are equivalent exactly when their
/// canonical forms are equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CanonicalPolicy {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: BTreeSet<CanonicalStatement>,
    /// Top-level keys IAM does not define, kept as sorted JSON so they still count.
    pub other: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct CanonicalStatement {
    pub sid: Option<String>,
    /// Lower-cased: IAM accepts `allow` as `Allow`.
    pub effect: String,
    pub principal: Option<Principals>,
    pub not_principal: Option<Principals>,
    pub action: Option<BTreeSet<String>>,
    pub not_action: Option<BTreeSet<String>>,
    pub resource: Option<BTreeSet<String>>,
    pub not_resource: Option<BTreeSet<String>>,
    /// operator -> lower-cased condition key -> values.
    pub condition: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
    pub other: BTreeMap<String, String>,
}

/// Principal type (`AWS`, `Service`, `Federated`, ...) -> principals.
pub type Principals = BTreeMap<String, BTreeSet<String>>;

/// The value's members, or `error` when it is not a JSON object.
fn object(value: Value, error: &str) -> Result<serde_json::Map<String, Value>, PolicyError> {
    match value {
        Value::Object(members) => Ok(members),
        _ => Err(PolicyError(error.into())),
    }
}

/// Parses a policy document into its canonical form.
pub fn canonical(text: &str) -> Result<CanonicalPolicy, PolicyError> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| PolicyError(format!("not valid JSON: {e}")))?;
    let obj = object(value, "a policy must be a JSON object")?;
    let mut policy = CanonicalPolicy::default();
    for (key, v) in obj {
        match key.as_str() {
            "Version" => policy.version = Some(string_field(&v, "Version")?),
            "Id" => policy.id = Some(string_field(&v, "Id")?),
            "Statement" => {
                let list = match v {
                    Value::Array(items) => items,
                    single @ Value::Object(_) => vec![single],
                    _ => {
                        return Err(PolicyError(
                            "Statement must be an object or a list of objects".into(),
                        ))
                    }
                };
                for st in list {
                    policy.statements.insert(canonical_statement(st)?);
                }
            }
            _ => {
                policy.other.insert(key, sorted_json(&v));
            }
        }
    }
    Ok(policy)
}

fn canonical_statement(value: Value) -> Result<CanonicalStatement, PolicyError> {
    let obj = object(value, "each statement must be a JSON object")?;
    let mut st = CanonicalStatement::default();
    for (key, v) in obj {
        match key.as_str() {
            "Sid" => st.sid = Some(string_field(&v, "Sid")?),
            "Effect" => st.effect = string_field(&v, "Effect")?.to_ascii_lowercase(),
            "Principal" => st.principal = Some(principals(&v)?),
            "NotPrincipal" => st.not_principal = Some(principals(&v)?),
            "Action" => st.action = Some(lowercase(string_set(&v, "Action")?)),
            "NotAction" => st.not_action = Some(lowercase(string_set(&v, "NotAction")?)),
            "Resource" => st.resource = Some(string_set(&v, "Resource")?),
            "NotResource" => st.not_resource = Some(string_set(&v, "NotResource")?),
            "Condition" => st.condition = conditions(&v)?,
            _ => {
                st.other.insert(key, sorted_json(&v));
            }
        }
    }
    Ok(st)
}

fn string_field(v: &Value, name: &str) -> Result<String, PolicyError> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| PolicyError(format!("{name} must be a string")))
}

/// A string or a list of strings, as a set.
fn string_set(v: &Value, name: &str) -> Result<BTreeSet<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(BTreeSet::from([s.clone()])),
        Value::Array(items) => items
            .iter()
            .map(|i| string_field(i, name))
            .collect::<Result<BTreeSet<_>, _>>(),
        _ => Err(PolicyError(format!(
            "{name} must be a string or a list of strings"
        ))),
    }
}

fn lowercase(set: BTreeSet<String>) -> BTreeSet<String> {
    set.into_iter().map(|s| s.to_ascii_lowercase()).collect()
}

fn principals(v: &Value) -> Result<Principals, PolicyError> {
    match v {
        // IAM documents `"Principal": "*"` as the same as `{"AWS": "*"}`.
        Value::String(s) if s == "*" => Ok(BTreeMap::from([(
            "AWS".to_string(),
            BTreeSet::from(["*".to_string()]),
        )])),
        Value::Object(map) => {
            let mut out = BTreeMap::new();
            for (kind, ids) in map {
                let ids = string_set(ids, "Principal")?
                    .into_iter()
                    .map(|id| normalize_principal_id(kind, id))
                    .collect();
                out.insert(kind.clone(), ids);
            }
            Ok(out)
        }
        _ => Err(PolicyError("Principal must be \"*\" or an object".into())),
    }
}

/// IAM stores a bare account id as the account's root ARN.
fn normalize_principal_id(kind: &str, id: String) -> String {
    if kind == "AWS" && id.len() == 12 && id.chars().all(|c| c.is_ascii_digit()) {
        format!("arn:aws:iam::{id}:root")
    } else {
        id
    }
}

fn conditions(
    v: &Value,
) -> Result<BTreeMap<String, BTreeMap<String, BTreeSet<String>>>, PolicyError> {
    let Value::Object(ops) = v else {
        return Err(PolicyError("Condition must be an object".into()));
    };
    let mut out = BTreeMap::new();
    for (op, keys) in ops {
        let Value::Object(keys) = keys else {
            return Err(PolicyError(format!("Condition.{op} must be an object")));
        };
        let mut entry = BTreeMap::new();
        for (key, values) in keys {
            let values: Vec<&Value> = match values {
                Value::Array(items) => items.iter().collect(),
                one => vec![one],
            };
            let set = values
                .into_iter()
                .map(condition_value)
                .collect::<Result<_, _>>()?;
            // Condition keys are case-insensitive in IAM.
            entry.insert(key.to_ascii_lowercase(), set);
        }
        out.insert(op.clone(), entry);
    }
    Ok(out)
}

/// IAM treats `true` and `"true"`, `1` and `"1"` alike in conditions.
fn condition_value(v: &Value) -> Result<String, PolicyError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(PolicyError(
            "condition values must be strings, numbers or booleans".into(),
        )),
    }
}

/// JSON with object keys sorted, so that unknown fields compare by content.
fn sorted_json(v: &Value) -> String {
    fn sort(v: &Value) -> Value {
        match v {
            Value::Object(m) => {
                let sorted: BTreeMap<&String, Value> =
                    m.iter().map(|(k, v)| (k, sort(v))).collect();
                Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sort).collect()),
            other => other.clone(),
        }
    }
    sort(v).to_string()
}

const TOP_LEVEL_ORDER: [&str; 3] = ["Version", "Id", "Statement"];
const STATEMENT_ORDER: [&str; 9] = [
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// The document as people read it in a diff: pretty JSON, two-space indent, keys in one
/// fixed order on both sides so that a diff shows content, not layout. Text that is not
/// JSON is shown as it is.
pub fn display(text: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let ordered = match value {
        Value::Object(obj) => {
            let mut obj = reorder(obj, &TOP_LEVEL_ORDER);
            if let Some(st) = obj.get_mut("Statement") {
                match st {
                    Value::Array(items) => {
                        for item in items {
                            order_statement(item);
                        }
                    }
                    single => order_statement(single),
                }
            }
            Value::Object(obj)
        }
        other => other,
    };
    serde_json::to_string_pretty(&ordered).unwrap_or_else(|_| text.to_string())
}

fn order_statement(v: &mut Value) {
    if let Value::Object(obj) = v {
        *obj = reorder(std::mem::take(obj), &STATEMENT_ORDER);
    }
}

fn reorder(mut obj: Map<String, Value>, order: &[&str]) -> Map<String, Value> {
    let mut out = Map::new();
    for key in order {
        if let Some(v) = obj.remove(*key) {
            out.insert((*key).to_string(), v);
        }
    }
    out.extend(obj);
    out
}

/// The size checked against IAM's quotas, as kops (since v1.22) checks it: the length in
/// bytes with every white-space character removed, inside strings too. IAM does not count
/// white space; removing it inside strings as well errs on the safe side. Rust's
/// `char::is_whitespace` and Go's `unicode.IsSpace` are the same Unicode White_Space set.
pub fn compact_len(text: &str) -> usize {
    text.chars()
        .filter(|c| !c.is_whitespace())
        .map(char::len_utf8)
        .sum()
}

#[cfg(test)]
mod tests;
