//! Keeps credentials out of every log line, at every level. The AWS SDK's own trace logs name
//! the access key id (it redacts the secret and token itself), so everything rolecall logs
//! passes through [`RedactingWriter`]: access key ids (`AKIA`/`ASIA` and 16 more upper-case
//! letters or digits) are masked, and so is any secret registered once credentials resolve.

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

/// The text with access key ids and registered secrets masked.
pub fn redact(text: &str) -> String {
    let mut out = mask_access_key_ids(text);
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
    fn registered_secrets_are_masked() {
        register("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        assert_eq!(
            redact("key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end"),
            "key ** redacted ** end"
        );
    }
}
