//! The IAM parts users write in the spec, checked before anything reaches AWS: the policy
//! statements of `spec.additionalPolicies.<role>` and of a pod role's `inlinePolicy` (a JSON
//! array in a YAML string, checked against IAM's grammar, [`crate::policy::grammar`]), and
//! the etcd members' KMS keys, which kops puts into the masters' policy as a Resource.
//!
//! A statement's problem is reported where it stands: when the policy is a block scalar
//! (`|`) or a one-line quoted string, at the line and column of the statement's element in
//! the file; otherwise at the value, with the line inside the policy.

use serde_json::{Map, Value};

use super::raw::At;
use super::validate::Checker;
use super::{InputError, SourceLocation};
use crate::policy::grammar::{self, DocumentKind};

/// How the statements' element names are read before they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ElementNames {
    /// As written: a pod role's inline policy goes to IAM unchanged.
    AsWritten,
    /// kops reads `Effect`, `Action`, `Resource` and `Condition` case-insensitively (the
    /// last of two spellings wins) and writes them back in that spelling, leaving out an
    /// empty `Condition`: `spec.additionalPolicies`.
    Kops,
}

/// Checks the statements of the identity policy in `value` (already parsed into
/// `statements`) against IAM's grammar. True when all pass.
pub(super) fn check_statements(
    c: &mut Checker,
    value: &At<String>,
    field: &str,
    statements: &[Value],
    names: ElementNames,
) -> bool {
    let written: Vec<Value> = statements
        .iter()
        .map(|st| match (names, st) {
            (ElementNames::Kops, Value::Object(map)) => Value::Object(as_kops_writes(map)),
            _ => st.clone(),
        })
        .collect();
    let errors = grammar::check_statements(&written, DocumentKind::Identity);
    let ok = errors.is_empty();
    let mut placed: Vec<InputError> = errors
        .into_iter()
        .map(|(i, e)| {
            let element = e.path.split(['.', '[']).next().unwrap_or("");
            let (location, label) = place(c, value, i, element);
            let message = if e.path.is_empty() {
                format!("{label} {}", e.message)
            } else {
                format!("{label}, {}: {}", e.path, e.message)
            };
            InputError::at(location, field, message)
        })
        .collect();
    // In the order they stand in the file.
    placed.sort_by_key(|e| e.location.as_ref().map(|l| (l.line, l.column)));
    c.errors.append(&mut placed);
    ok
}

/// The statements of a policy written as a JSON array in a YAML string, as kops takes them
/// in `spec.additionalPolicies` and `inlinePolicy`: a non-empty array of statements that
/// IAM's grammar accepts in an identity policy, with element names read as `names` says.
pub(super) fn policy_statements(
    c: &mut Checker,
    value: &At<String>,
    field: &str,
    names: ElementNames,
) -> Option<Vec<serde_json::Value>> {
    let parsed: serde_json::Value = match serde_json::from_str(&value.value) {
        Ok(v) => v,
        Err(e) => {
            c.error(
                value,
                field,
                format!(
                    "is not valid JSON: {} at line {} column {} of the policy",
                    strip_serde_position(&e),
                    e.line(),
                    e.column()
                ),
            );
            return None;
        }
    };
    let serde_json::Value::Array(statements) = parsed else {
        c.error(
            value,
            field,
            "must be a JSON array of policy statements, such as [{\"Effect\": \"Allow\", ...}]",
        );
        return None;
    };
    if statements.is_empty() {
        c.error(
            value,
            field,
            "is an empty list; IAM rejects a policy with no statements. Remove the key to delete the policy",
        );
        return None;
    }
    check_statements(c, value, field, &statements, names).then_some(statements)
}

/// serde_json appends "at line L column C" to its messages; the caller states the place itself.
fn strip_serde_position(e: &serde_json::Error) -> String {
    let s = e.to_string();
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The statement as kops writes it back: its four known elements in their spelling.
fn as_kops_writes(map: &Map<String, Value>) -> Map<String, Value> {
    const KNOWN: [&str; 4] = ["Effect", "Action", "Resource", "Condition"];
    let mut out = Map::new();
    for (key, value) in map {
        let folded: String = key.chars().map(go_fold).collect();
        let name = KNOWN
            .iter()
            .find(|k| k.to_ascii_lowercase() == folded)
            .map_or_else(|| key.clone(), |k| k.to_string());
        out.insert(name, value.clone());
    }
    let empty_condition = match out.get("Condition") {
        Some(Value::Null) => true,
        Some(Value::Object(m)) => m.is_empty(),
        _ => false,
    };
    if empty_condition {
        out.remove("Condition");
    }
    out
}

/// Go's simple case folding as `encoding/json` matches field names (the long s and the
/// Kelvin sign fold to ASCII letters).
fn go_fold(c: char) -> char {
    match c {
        '\u{17f}' => 's',
        '\u{212a}' => 'k',
        c => c.to_ascii_lowercase(),
    }
}

/// Where statement `index`'s `element` (or the statement, when empty or absent) stands,
/// and how to name the statement in the message.
fn place(c: &Checker, value: &At<String>, index: usize, element: &str) -> (SourceLocation, String) {
    let text = value.value.as_str();
    let label = format!("statement {index}");
    let offset = statement_offset(text, index).map(|start| {
        (!element.is_empty())
            .then(|| key_offset(text, start, element))
            .flatten()
            .unwrap_or(start)
    });
    let Some(offset) = offset else {
        return (c.loc(value), label);
    };
    let (line, column) = line_and_column(text, offset);
    match file_position(c, value, line, column) {
        Some(location) => (location, label),
        None if text.lines().count() > 1 => (
            c.loc(value),
            format!("statement {index} (line {line} of the policy)"),
        ),
        None => (c.loc(value), label),
    }
}

/// The place in the file of the policy's `line` (1-based) and `column` (0-based, in
/// characters), when the file holds the policy's lines as they are: a block scalar, or a
/// quoted string on one line. `None` when it cannot tell (a folded or escaped string).
fn file_position(
    c: &Checker,
    value: &At<String>,
    line: usize,
    column: usize,
) -> Option<SourceLocation> {
    let policy_line = value.value.lines().nth(line - 1)?;
    let first_line = usize::try_from(value.referenced.line()).ok()?;
    let first_column = usize::try_from(value.referenced.column())
        .ok()?
        .checked_sub(1)?;
    let file_line_number = first_line + line - 1;
    let file_line = c.source.lines().nth(file_line_number.checked_sub(1)?)?;
    let mut begin = first_column;
    if line == 1 && matches!(file_line.chars().nth(begin), Some('\'' | '"')) {
        begin += 1;
    }
    let rest: String = file_line.chars().skip(begin).collect();
    if !rest.starts_with(policy_line) {
        return None;
    }
    Some(SourceLocation {
        file: c.file.to_path_buf(),
        line: file_line_number as u64,
        column: (begin + column + 1) as u64,
    })
}

/// The 1-based line and 0-based character column of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (
        before.matches('\n').count() + 1,
        text[line_start..offset].chars().count(),
    )
}

/// The byte offset of element `index` of the JSON array that is the whole of `text`.
fn statement_offset(text: &str, index: usize) -> Option<usize> {
    let open = text.find(|c: char| !c.is_whitespace())?;
    if !text[open..].starts_with('[') {
        return None;
    }
    children(text, open).get(index).map(|(offset, _)| *offset)
}

/// The byte offset of `key` in the JSON object at `object`: the last one written so, else
/// the last one spelled so in another case.
fn key_offset(text: &str, object: usize, key: &str) -> Option<usize> {
    if !text[object..].starts_with('{') {
        return None;
    }
    let keys = children(text, object);
    let find = |matches: &dyn Fn(&str) -> bool| {
        keys.iter()
            .rev()
            .find(|(_, k)| k.as_deref().is_some_and(matches))
            .map(|(offset, _)| *offset)
    };
    find(&|k| k == key).or_else(|| find(&|k| k.eq_ignore_ascii_case(key)))
}

/// The direct children of the JSON array or object that opens at byte `open`: each
/// element's offset, or each key's offset with the key. The text is valid JSON (it parsed).
fn children(text: &str, open: usize) -> Vec<(usize, Option<String>)> {
    let bytes = text.as_bytes();
    let is_object = bytes.get(open) == Some(&b'{');
    let mut out = Vec::new();
    let mut depth = 0usize;
    // Whether the next token at depth 0 begins a child (after the opening bracket or a comma).
    let mut expecting = true;
    let mut i = open + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                if depth == 0 && expecting {
                    let key = is_object
                        .then(|| serde_json::from_str::<String>(&text[i..=end]).ok())
                        .flatten();
                    out.push((i, key));
                    expecting = false;
                }
                i = end;
            }
            b'[' | b'{' => {
                if depth == 0 && expecting {
                    out.push((i, None));
                    expecting = false;
                }
                depth += 1;
            }
            b']' | b'}' => {
                if depth == 0 {
                    break;
                }
                depth -= 1;
            }
            b',' if depth == 0 => expecting = true,
            b' ' | b'\t' | b'\n' | b'\r' | b':' | b',' => {}
            _ => {
                if depth == 0 && expecting {
                    out.push((i, None));
                    expecting = false;
                }
            }
        }
        i += 1;
    }
    out
}

/// The offset of the quote that closes the string opening at `start`.
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i,
            _ => i += 1,
        }
    }
    bytes.len().saturating_sub(1)
}

/// `arn:<partition>:kms:<region>:<12-digit account>:key/<key id>`: what IAM takes as the
/// Resource of a KMS grant. A bare key id, an alias or an alias ARN is not one.
pub(super) fn is_kms_key_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    let [arn, partition, service, region, account, resource] = parts.as_slice() else {
        return false;
    };
    let id_char = |c: char| c.is_ascii_alphanumeric() || c == '-';
    *arn == "arn"
        && partition.starts_with("aws")
        && partition.chars().all(id_char)
        && *service == "kms"
        && !region.is_empty()
        && region.chars().all(id_char)
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && resource
            .strip_prefix("key/")
            .is_some_and(|id| !id.is_empty() && id.chars().all(id_char))
}

/// `spec.etcdClusters[].etcdMembers[].kmsKeyId`.
pub(super) fn check_kms_key_id(c: &mut Checker, key: &At<String>, field: &str) {
    let v = key.value.as_str();
    if v.trim().is_empty() {
        c.error(key, field, "must not be empty when given");
    } else if !is_kms_key_arn(v) && !c.kops136 {
        // kops 1.36 puts no key in a policy (kms:ViaService conditions instead).
        c.error(
            key,
            field,
            format!(
                "{v:?} is not a KMS key ARN such as arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab; kops grants the masters this key as a policy Resource, where IAM takes only ARNs"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn children_are_found_past_strings_and_nesting() {
        let text = r#" [ {"a": "x,]}", "b": [1, {"c": 2}]}, "s\"t", 3 ]"#;
        let items = children(text, 1);
        let offsets: Vec<&str> = items.iter().map(|(o, _)| &text[*o..*o + 3]).collect();
        assert_eq!(offsets, [r#"{"a"#, r#""s\"#, "3 ]"]);
        let keys: Vec<Option<String>> = children(text, items[0].0)
            .into_iter()
            .map(|(_, k)| k)
            .collect();
        assert_eq!(keys, [Some("a".to_string()), Some("b".to_string())]);
        assert_eq!(statement_offset(text, 1), Some(items[1].0));
        assert_eq!(statement_offset(text, 3), None);
        assert_eq!(statement_offset(r#"{"a": 1}"#, 0), None);
        assert_eq!(
            key_offset(r#"{"action": 1, "Action": 2}"#, 0, "Action"),
            Some(14)
        );
        assert_eq!(key_offset(r#"{"action": 1}"#, 0, "Action"), Some(1));
        assert_eq!(key_offset(r#"{"Effect": 1}"#, 0, "Action"), None);
    }

    #[test]
    fn lines_and_columns_count_characters() {
        assert_eq!(line_and_column("ab\n  é\"x", 7), (2, 3));
        assert_eq!(line_and_column("abc", 0), (1, 0));
    }

    #[test]
    fn kops_writes_its_four_elements_in_one_spelling() {
        let map = serde_json::json!({"effect": "Allow", "ACTION": "a:B", "Action": "c:D", "Re\u{17f}ource": "*", "Sid": "S", "Condition": {}});
        let written = as_kops_writes(map.as_object().unwrap());
        assert_eq!(
            Value::Object(written),
            serde_json::json!({"Effect": "Allow", "Action": "c:D", "Resource": "*", "Sid": "S"})
        );
    }

    #[test]
    fn kms_key_arns() {
        for good in [
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws-cn:kms:cn-north-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
        ] {
            assert!(is_kms_key_arn(good), "{good}");
        }
        for bad in [
            "key-id-1",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            "alias/etcd",
            "arn:aws:kms:us-east-1:123456789012:alias/etcd",
            "arn:aws:kms::123456789012:key/k",
            "arn:aws:kms:us-east-1:1234:key/k",
            "arn:aws:kms:us-east-1:123456789012:key/",
            "arn:aws:ec2:us-east-1:123456789012:key/k",
            "arn:aws:kms:us-east-1:123456789012:key/k\nx",
        ] {
            assert!(!is_kms_key_arn(bad), "{bad:?}");
        }
    }
}
