//! The Kubernetes annotations that match the pod roles, as YAML for `kubectl apply`:
//! namespaces for kube2iam (`iam.amazonaws.com/allowed-roles`) and kiam
//! (`iam.amazonaws.com/permitted`), service accounts for IRSA
//! (`eks.amazonaws.com/role-arn`), and the pod annotation (`iam.amazonaws.com/role`) as a
//! comment, since a pod's manifest is not this tool's to write.
//!
//! Every document goes through the YAML serializer, so a value can never leave its scalar
//! (a newline, a quote or `---` in a name stays in the name); the values in comments are
//! escaped so that none can end its comment line.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::desired::pod_roles::PodRoleSummary;
use crate::spec::PodIdentityMode;

/// One Kubernetes object: just what the annotations need.
#[derive(Serialize)]
struct Object<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata<'a>,
}

#[derive(Serialize)]
struct Metadata<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<&'a str>,
    annotations: BTreeMap<&'static str, Annotation<'a>>,
}

/// An annotation's value: single-quoted as ARNs and regular expressions read best, unless it
/// holds a character only double quotes can escape (the serializer refuses those in single
/// quotes); then the serializer picks.
struct Annotation<'a>(&'a str);

impl Serialize for Annotation<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let needs_escapes = self.0.chars().any(|c| {
            c.is_control()
                || matches!(
                    c,
                    '\u{FEFF}' | '\u{2028}' | '\u{2029}' | '\u{FFFE}' | '\u{FFFF}'
                )
        });
        if needs_escapes {
            self.0.serialize(serializer)
        } else {
            serde_saphyr::SingleQuoted(self.0).serialize(serializer)
        }
    }
}

/// The object as one YAML document (without its `---` separator).
fn document(object: &Object) -> String {
    // A struct of strings always serializes: plain, quoted or escaped as each value needs.
    serde_saphyr::to_string(object).expect("a Kubernetes object of strings serializes to YAML")
}

/// A value for a `#` comment: line breaks (YAML 1.1's NEL and separators included) and
/// other control characters are escaped, so the comment ends where rolecall ends it.
fn comment(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let unsafe_char = c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{FEFF}');
            let escaped: Vec<char> = if unsafe_char {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// kiam matches the pod's role annotation against this regular expression.
fn permitted_regex(arns: &[&str]) -> String {
    let escaped: Vec<String> = arns.iter().map(|a| regex_escape(a)).collect();
    format!("^({})$", escaped.join("|"))
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

pub fn render(summary: &PodRoleSummary) -> String {
    let mut out = String::new();
    if let Some(mode) = summary.mode {
        let mut by_namespace: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (arn, namespaces) in &summary.app_roles {
            for ns in namespaces {
                by_namespace.entry(ns).or_default().push(arn);
            }
        }
        for (ns, arns) in &by_namespace {
            let (key, value, how) = match mode {
                PodIdentityMode::Kube2iam => (
                    "iam.amazonaws.com/allowed-roles",
                    serde_json::to_string(arns).expect("strings serialise"),
                    "kube2iam, run with --namespace-restrictions",
                ),
                PodIdentityMode::Kiam => {
                    ("iam.amazonaws.com/permitted", permitted_regex(arns), "kiam")
                }
            };
            let namespace = Object {
                api_version: "v1",
                kind: "Namespace",
                metadata: Metadata {
                    name: ns,
                    namespace: None,
                    annotations: BTreeMap::from([(key, Annotation(&value))]),
                },
            };
            out.push_str(&format!(
                "# {how}: the roles pods in {} may assume\n",
                comment(ns)
            ));
            out.push_str(&document(&namespace));
            out.push_str(&format!(
                "# Pods in {} choose a role with this annotation on their template:\n",
                comment(ns)
            ));
            for arn in arns {
                out.push_str(&format!("#   iam.amazonaws.com/role: {}\n", comment(arn)));
            }
            out.push_str("---\n");
        }
    }
    for (ns, name, arn) in &summary.service_accounts {
        if ns.contains('*') {
            out.push_str(&format!(
                "# IRSA: service account {} in any namespace matching {} takes its role with\n#   eks.amazonaws.com/role-arn: {}\n---\n",
                comment(name),
                comment(ns),
                comment(arn)
            ));
            continue;
        }
        let account = Object {
            api_version: "v1",
            kind: "ServiceAccount",
            metadata: Metadata {
                name,
                namespace: Some(ns),
                annotations: BTreeMap::from([("eks.amazonaws.com/role-arn", Annotation(arn))]),
            },
        };
        out.push_str(&format!(
            "# IRSA: pods running as {}/{} get this role\n",
            comment(ns),
            comment(name)
        ));
        out.push_str(&document(&account));
        out.push_str("---\n");
    }
    if out.is_empty() {
        out.push_str("# The spec declares no pod roles (spec.iam.podIdentity or spec.iam.serviceAccountExternalPermissions).\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `kubectl apply` would read: every non-empty document of the output.
    fn documents(out: &str) -> Vec<serde_json::Value> {
        serde_saphyr::from_multiple(out).unwrap_or_else(|e| panic!("{e}\n{out}"))
    }

    fn kinds(out: &str) -> Vec<String> {
        documents(out)
            .iter()
            .map(|d| d["kind"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    const INJECTED: &str = "team\n---\napiVersion: v1\nkind: Secret";

    #[test]
    fn kube2iam_namespaces_list_their_roles_as_json() {
        let summary = PodRoleSummary {
            mode: Some(PodIdentityMode::Kube2iam),
            app_roles: vec![
                (
                    "arn:aws:iam::1:role/a.pods.c".into(),
                    vec!["billing".into()],
                ),
                (
                    "arn:aws:iam::1:role/b.pods.c".into(),
                    vec!["billing".into(), "ops".into()],
                ),
            ],
            ..Default::default()
        };
        let out = render(&summary);
        assert!(out.starts_with("# kube2iam, run with --namespace-restrictions: the roles pods in billing may assume\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: billing\n  annotations:\n    iam.amazonaws.com/allowed-roles: '[\"arn:aws:iam::1:role/a.pods.c\",\"arn:aws:iam::1:role/b.pods.c\"]'\n"), "{out}");
        assert!(out.contains("#   iam.amazonaws.com/role: arn:aws:iam::1:role/b.pods.c\n"));
        assert!(out.contains("  name: ops\n"));
        let docs = documents(&out);
        assert_eq!(docs.len(), 2, "{out}");
        assert_eq!(
            docs[0]["metadata"]["annotations"]["iam.amazonaws.com/allowed-roles"],
            r#"["arn:aws:iam::1:role/a.pods.c","arn:aws:iam::1:role/b.pods.c"]"#
        );
    }

    #[test]
    fn kiam_namespaces_get_an_anchored_regex() {
        let summary = PodRoleSummary {
            mode: Some(PodIdentityMode::Kiam),
            app_roles: vec![(
                "arn:aws:iam::1:role/a.pods.c".into(),
                vec!["billing".into()],
            )],
            ..Default::default()
        };
        let out = render(&summary);
        assert!(
            out.contains(
                "    iam.amazonaws.com/permitted: '^(arn:aws:iam::1:role/a\\.pods\\.c)$'\n"
            ),
            "{out}"
        );
        assert_eq!(
            documents(&out)[0]["metadata"]["annotations"]["iam.amazonaws.com/permitted"],
            r"^(arn:aws:iam::1:role/a\.pods\.c)$"
        );
    }

    #[test]
    fn irsa_service_accounts_carry_their_role_arn() {
        let summary = PodRoleSummary {
            service_accounts: vec![
                (
                    "kube-system".into(),
                    "external-dns".into(),
                    "arn:aws:iam::1:role/x".into(),
                ),
                (
                    "team-*".into(),
                    "reader".into(),
                    "arn:aws:iam::1:role/y".into(),
                ),
            ],
            ..Default::default()
        };
        let out = render(&summary);
        assert!(out.contains("kind: ServiceAccount\nmetadata:\n  name: external-dns\n  namespace: kube-system\n  annotations:\n    eks.amazonaws.com/role-arn: 'arn:aws:iam::1:role/x'\n"), "{out}");
        assert!(out.contains(
            "# IRSA: service account reader in any namespace matching team-* takes its role with\n"
        ));
        // The wildcard one is only a comment.
        assert_eq!(kinds(&out), ["ServiceAccount"], "{out}");
    }

    #[test]
    fn an_injected_namespace_stays_one_scalar() {
        for mode in [PodIdentityMode::Kube2iam, PodIdentityMode::Kiam] {
            let summary = PodRoleSummary {
                mode: Some(mode),
                app_roles: vec![("arn:aws:iam::1:role/a".into(), vec![INJECTED.into()])],
                ..Default::default()
            };
            let out = render(&summary);
            let docs = documents(&out);
            assert_eq!(kinds(&out), ["Namespace"], "{out}");
            assert_eq!(docs[0]["metadata"]["name"], INJECTED, "{out}");
            assert!(!out.lines().any(|l| l.starts_with("kind: Secret")), "{out}");
        }
    }

    #[test]
    fn injected_service_account_values_stay_in_their_scalars() {
        let summary = PodRoleSummary {
            service_accounts: vec![
                (INJECTED.into(), INJECTED.into(), INJECTED.into()),
                // A wildcard namespace is only named in a comment: it cannot end it either.
                (
                    format!("{INJECTED}-*"),
                    INJECTED.into(),
                    "arn\u{2028}kind: Secret".into(),
                ),
            ],
            ..Default::default()
        };
        let out = render(&summary);
        let docs = documents(&out);
        assert_eq!(kinds(&out), ["ServiceAccount"], "{out}");
        let metadata = &docs[0]["metadata"];
        assert_eq!(metadata["name"], INJECTED);
        assert_eq!(metadata["namespace"], INJECTED);
        assert_eq!(
            metadata["annotations"]["eks.amazonaws.com/role-arn"],
            INJECTED
        );
        // Every comment stays on its one line.
        for line in out.lines() {
            assert!(
                line.starts_with('#')
                    || line == "---"
                    || line.starts_with(' ')
                    || ["apiVersion:", "kind:", "metadata:"]
                        .iter()
                        .any(|k| line.starts_with(k)),
                "{line:?} in\n{out}"
            );
        }
        assert!(!out.contains('\u{2028}'), "{out}");
    }

    #[test]
    fn quotes_and_document_markers_stay_in_their_scalars() {
        for value in [
            "it's",
            "say \"hi\"",
            "---",
            "...",
            "- a",
            "# not a comment",
            "a: b",
        ] {
            let summary = PodRoleSummary {
                service_accounts: vec![("ns".into(), value.into(), value.into())],
                ..Default::default()
            };
            let out = render(&summary);
            let docs = documents(&out);
            assert_eq!(docs.len(), 1, "{out}");
            assert_eq!(docs[0]["metadata"]["name"], value, "{out}");
            assert_eq!(
                docs[0]["metadata"]["annotations"]["eks.amazonaws.com/role-arn"], value,
                "{out}"
            );
        }
    }

    #[test]
    fn comments_escape_line_breaks() {
        assert_eq!(
            comment("a\nb\rc\u{85}d\u{2028}e"),
            "a\\nb\\rc\\u{85}d\\u{2028}e"
        );
        assert_eq!(comment("plain-name"), "plain-name");
    }
}
