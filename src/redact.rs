//! Keeps credentials out of every log line, at every level. The AWS SDK's own logs name the
//! access key id (aws-config's `loaded base credentials`; it redacts the secret and token
//! itself), so everything rolecall logs passes through [`RedactingWriter`]: access key ids
//! (`AKIA`/`ASIA` and 16 more upper-case letters or digits) are masked, so is the value of any
//! field named like a credential (`access_key_id: "..."`, `aws_secret_access_key=...`)
//! whatever its shape, and so is any secret registered once credentials resolve.

use std::io::Write;
use std::sync::RwLock;

static SECRETS: RwLock<Vec<String>> = RwLock::new(Vec::new());

pub const MASK: &str = "** redacted **";

/// Masks this value wherever it appears in the logs from now on.
pub fn register(secret: &str) {
    if secret.len() >= 8 {
        SECRETS
            .write()
            .expect("redaction list")
            .push(secret.to_string());
    }
}

/// Fields whose value is a credential, as the SDK's `Debug` output and profile files name
/// them (`aws_access_key_id` and the like contain these).
const CREDENTIAL_FIELDS: [&str; 3] = ["access_key_id", "secret_access_key", "session_token"];

/// The text with access key ids, credential fields and registered secrets masked.
pub fn redact(text: &str) -> String {
    let mut out = mask_credential_fields(&mask_access_key_ids(text));
    for secret in SECRETS.read().expect("redaction list").iter() {
        out = out.replace(secret.as_str(), MASK);
    }
    out
}

fn mask_access_key_ids(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        let prefix = bytes[i..].starts_with(b"AKIA") || bytes[i..].starts_with(b"ASIA");
        let body = bytes.get(i + 4..i + 20);
        let is_key = prefix
            && body.is_some_and(|b| {
                b.iter()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            });
        if is_key {
            out.push_str(MASK);
            i += 20;
        } else {
            let ch = text[i..].chars().next().expect("in bounds");
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// Masks the value after each credential field name and its `:` or `=`: a quoted string
/// (escapes included), `Some("...")`, or a bare word up to a space, `,`, `)`, `}` or `]`.
fn mask_credential_fields(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, field)) = CREDENTIAL_FIELDS
        .iter()
        .filter_map(|f| rest.find(f).map(|at| (at, *f)))
        .min()
    {
        let after_name = at + field.len();
        out.push_str(&rest[..after_name]);
        rest = &rest[after_name..];
        let Some(value_at) = value_start(rest) else {
            continue;
        };
        out.push_str(&rest[..value_at]);
        rest = &rest[value_at..];
        let (wrapped, inner) = match rest.strip_prefix("Some(") {
            Some(inner) => (true, inner),
            None => (false, rest),
        };
        if wrapped {
            out.push_str("Some(");
        }
        let value_len = match inner.strip_prefix('"') {
            Some(quoted) => quoted_len(quoted).map_or(inner.len(), |n| n + 2),
            None => inner
                .find(|c: char| c.is_whitespace() || ",)}]".contains(c))
                .unwrap_or(inner.len()),
        };
        if value_len > 0 {
            out.push_str(if inner.starts_with('"') {
                "\"** redacted **\""
            } else {
                MASK
            });
        }
        rest = &inner[value_len..];
    }
    out.push_str(rest);
    out
}

/// Where a field's value starts after its name: past an optional closing quote (a JSON key),
/// spaces, one `:` or `=`, and spaces. None when no separator follows: a mere mention.
fn value_start(after_name: &str) -> Option<usize> {
    let s = after_name.strip_prefix('"').unwrap_or(after_name);
    let s = s.trim_start_matches(' ');
    let s = s.strip_prefix([':', '='])?;
    let s = s.trim_start_matches(' ');
    Some(after_name.len() - s.len())
}

/// The length of a quoted string's contents, up to its unescaped closing quote.
fn quoted_len(quoted: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in quoted.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(i),
            _ => {}
        }
    }
    None
}

/// A writer for the log subscriber that redacts each write before it reaches `inner`.
pub struct RedactingWriter<W: Write>(pub W);

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The formatter writes a whole event at once, so a secret is never split in two.
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_key_ids_are_masked() {
        assert_eq!(
            redact("access_key_id: \"AKIAIOSFODNN7EXAMPLE\", other"),
            "access_key_id: \"** redacted **\", other"
        );
        assert_eq!(
            redact("Credential=ASIAXXXXXXXXXXXXXXXX/2026"),
            "Credential=** redacted **/2026"
        );
        assert_eq!(redact("AKIA too short"), "AKIA too short");
        assert_eq!(redact("é AKIA"), "é AKIA");
    }

    #[test]
    fn credential_fields_are_masked_whatever_their_shape() {
        // aws-config's `loaded base credentials` line, with a key id from a profile file.
        assert_eq!(
            redact(
                r#"creds=Credentials { provider_name: "ProfileFile", access_key_id: "rolecallsentinelkey42", secret_access_key: "** redacted **", expires_after: "never" }"#
            ),
            r#"creds=Credentials { provider_name: "ProfileFile", access_key_id: "** redacted **", secret_access_key: "** redacted **", expires_after: "never" }"#
        );
        assert_eq!(
            redact("access_key_id=abc def"),
            "access_key_id=** redacted ** def"
        );
        assert_eq!(
            redact(r#"{"aws_session_token": "t\"ok,en", "n": 1}"#),
            r#"{"aws_session_token": "** redacted **", "n": 1}"#
        );
        assert_eq!(
            redact(r#"session_token: Some("tok"), x"#),
            r#"session_token: Some("** redacted **"), x"#
        );
        assert_eq!(
            redact("aws_access_key_id = short\n"),
            "aws_access_key_id = ** redacted **\n"
        );
        // A mention is not a field; an unterminated quote masks to the end.
        assert_eq!(redact("no access_key_id found"), "no access_key_id found");
        assert_eq!(
            redact(r#"access_key_id: "cut"#),
            r#"access_key_id: "** redacted **""#
        );
        assert_eq!(redact("access_key_id: , é"), "access_key_id: , é");
    }

    #[test]
    fn registered_secrets_are_masked() {
        register("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(
            redact("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end"),
            "key ** redacted ** end"
        );
    }
}
