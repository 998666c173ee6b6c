//! JSON text as Go's `encoding/json` writes it with `json.MarshalIndent(v, "", "  ")`.
//!
//! kops 1.10 was built with Go 1.10, whose encoder differs from serde_json in ways that
//! change bytes: `<`, `>` and `&` become `\u003c`, `\u003e`, `\u0026` (HTML-safe output);
//! U+2028 and U+2029 are escaped; control characters other than `\n`, `\r` and `\t` are
//! written as `\u00XX` (Go only learnt `\b` and `\f` in 1.22); numbers decoded into
//! `interface{}` are float64 and written in Go's float format; map keys come out sorted.

use std::fmt::Write as _;

use serde_json::Value;

/// A JSON value whose object members keep the order they are to be written in.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Node {
    Null,
    Bool(bool),
    Number(f64),
    Str(String),
    Array(Vec<Node>),
    Object(Vec<(String, Node)>),
}

/// How to order the members of objects taken from a parsed [`Value`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyOrder {
    /// As Go writes a `map[string]interface{}`: sorted by key.
    Sorted,
    /// As the user wrote them.
    AsWritten,
}

impl Node {
    pub(crate) fn str(s: impl Into<String>) -> Node {
        Node::Str(s.into())
    }

    pub(crate) fn strings<S: AsRef<str>>(items: &[S]) -> Node {
        Node::Array(items.iter().map(|s| Node::str(s.as_ref())).collect())
    }

    pub(crate) fn from_value(v: &Value, order: KeyOrder) -> Node {
        match v {
            Value::Null => Node::Null,
            Value::Bool(b) => Node::Bool(*b),
            // Go decodes every JSON number into a float64. `as_f64` is always Some unless
            // serde_json's arbitrary_precision is on, and then only for unrepresentable text.
            Value::Number(n) => n.as_f64().map_or(Node::Null, Node::Number),
            Value::String(s) => Node::str(s.as_str()),
            Value::Array(items) => {
                Node::Array(items.iter().map(|i| Node::from_value(i, order)).collect())
            }
            Value::Object(map) => {
                let mut members: Vec<(String, Node)> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), Node::from_value(v, order)))
                    .collect();
                if order == KeyOrder::Sorted {
                    members.sort_by(|a, b| a.0.cmp(&b.0));
                }
                Node::Object(members)
            }
        }
    }

    /// The text `json.MarshalIndent(v, "", "  ")` produces.
    /// As Go 1.10 wrote it (kops 1.10).
    pub(crate) fn to_indented_json(&self) -> String {
        self.to_indented_json_as(GoRelease::Go1_10)
    }

    pub(crate) fn to_indented_json_as(&self, release: GoRelease) -> String {
        let mut out = String::new();
        write_node(&mut out, self, 0, release);
        out
    }
}

/// The Go release whose encoder wrote the text: they differ only in two escapes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum GoRelease {
    /// kops 1.10: `\u0008` and `\u000c`.
    Go1_10,
    /// Go 1.22 and later (kops 1.36): `\b` and `\f`.
    Go1_22,
}

fn write_node(out: &mut String, node: &Node, depth: usize, release: GoRelease) {
    match node {
        Node::Null => out.push_str("null"),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Number(n) => out.push_str(&format_number(*n)),
        Node::Str(s) => write_string(out, s, release),
        Node::Array(items) => write_container(out, ('[', ']'), items, depth, |out, item, d| {
            write_node(out, item, d, release)
        }),
        Node::Object(members) => {
            write_container(out, ('{', '}'), members, depth, |out, (key, value), d| {
                write_string(out, key, release);
                out.push_str(": ");
                write_node(out, value, d, release);
            })
        }
    }
}

/// Go's indenter puts each element on its own line but leaves empty containers as `[]`/`{}`.
fn write_container<T>(
    out: &mut String,
    (open, close): (char, char),
    items: &[T],
    depth: usize,
    write_item: impl Fn(&mut String, &T, usize),
) {
    out.push(open);
    if items.is_empty() {
        out.push(close);
        return;
    }
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        new_line(out, depth + 1);
        write_item(out, item, depth + 1);
    }
    new_line(out, depth);
    out.push(close);
}

fn new_line(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_string(out: &mut String, s: &str, release: GoRelease) {
    out.push('"');
    for ch in s.chars() {
        match ch {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' if release == GoRelease::Go1_22 => out.push_str("\\b"),
            '\u{c}' if release == GoRelease::Go1_22 => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => push_unicode_escape(out, ch),
            c if (c as u32) < 0x20 => push_unicode_escape(out, c),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn push_unicode_escape(out: &mut String, ch: char) {
    // Go writes the hex digits in lower case.
    write!(out, "\\u{:04x}", ch as u32).expect("writing to a String cannot fail");
}

/// Go's float64 encoding: shortest round-trip digits, plain notation for magnitudes in
/// [1e-6, 1e21), otherwise exponent notation with a sign (`1e+21`, `1e-7`).
fn format_number(f: f64) -> String {
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let text = format!("{f:e}");
        let (mantissa, exponent) = text
            .split_once('e')
            .expect("LowerExp always writes an exponent");
        let exponent: i32 = exponent
            .parse()
            .expect("LowerExp writes a decimal exponent");
        // Go pads exponents to two digits, then its encoder strips the pad from negative ones.
        if exponent < 0 {
            format!("{mantissa}e-{}", -exponent)
        } else {
            format!("{mantissa}e+{exponent:02}")
        }
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn render(v: Value, order: KeyOrder) -> String {
        Node::from_value(&v, order).to_indented_json()
    }

    #[test]
    fn indents_with_two_spaces_and_keeps_empty_containers_compact() {
        let text = render(
            json!({"a": [1, "x"], "b": {}, "c": [], "d": {"e": null}}),
            KeyOrder::AsWritten,
        );
        assert_eq!(
            text,
            "{\n  \"a\": [\n    1,\n    \"x\"\n  ],\n  \"b\": {},\n  \"c\": [],\n  \"d\": {\n    \"e\": null\n  }\n}"
        );
    }

    #[test]
    fn escapes_html_characters_like_go() {
        assert_eq!(
            render(json!("a<b>&c"), KeyOrder::AsWritten),
            r#""a\u003cb\u003e\u0026c""#
        );
    }

    #[test]
    fn escapes_control_characters_and_line_separators_like_go_1_10() {
        let s = "q\" b\\ n\n r\r t\t bs\u{8} ff\u{c} nul\u{0} us\u{1f} ls\u{2028} ps\u{2029} del\u{7f} é";
        assert_eq!(
            render(json!(s), KeyOrder::AsWritten),
            r#""q\" b\\ n\n r\r t\t bs\u0008 ff\u000c nul\u0000 us\u001f ls\u2028 ps\u2029 del"#
                .to_string()
                + "\u{7f} é\""
        );
    }

    #[test]
    fn escapes_keys_too() {
        assert_eq!(
            render(json!({"a&b": 1}), KeyOrder::AsWritten),
            "{\n  \"a\\u0026b\": 1\n}"
        );
    }

    #[test]
    fn writes_numbers_as_go_float64() {
        let cases = [
            (json!(10), "10"),
            (json!(-3), "-3"),
            (json!(1.0), "1"),
            (json!(0.5), "0.5"),
            (json!(1e20), "100000000000000000000"),
            (json!(1e21), "1e+21"),
            (json!(1.5e300), "1.5e+300"),
            (json!(0.000001), "0.000001"),
            (json!(1e-7), "1e-7"),
            (json!(-2.5e-10), "-2.5e-10"),
            (json!(12345678901234567890u64), "12345678901234567000"),
            (json!(0), "0"),
        ];
        for (value, expected) in cases {
            assert_eq!(render(value, KeyOrder::AsWritten), expected);
        }
    }

    #[test]
    fn sorts_map_keys_only_when_asked() {
        let v = json!({"b": 1, "a": {"d": 2, "c": 3}});
        assert_eq!(
            render(v.clone(), KeyOrder::Sorted),
            "{\n  \"a\": {\n    \"c\": 3,\n    \"d\": 2\n  },\n  \"b\": 1\n}"
        );
        assert_eq!(
            render(v, KeyOrder::AsWritten),
            "{\n  \"b\": 1,\n  \"a\": {\n    \"d\": 2,\n    \"c\": 3\n  }\n}"
        );
    }

    #[test]
    fn writes_booleans_and_null() {
        assert_eq!(
            render(json!([true, false, null]), KeyOrder::AsWritten),
            "[\n  true,\n  false,\n  null\n]"
        );
    }
}
