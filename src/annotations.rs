//! The Kubernetes annotations that match the pod roles, as YAML for `kubectl apply`:
//! namespaces for kube2iam (`iam.amazonaws.com/allowed-roles`) and kiam
//! (`iam.amazonaws.com/permitted`), service accounts for IRSA
//! (`eks.amazonaws.com/role-arn`), and the pod annotation (`iam.amazonaws.com/role`) as a
//! comment, since a pod's manifest is not this tool's to write.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::build::pod_roles::PodRoleSummary;
use crate::spec::PodIdentityMode;

/// YAML single-quoted scalar.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
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
            let _ = write!(
                out,
                "# {how}: the roles pods in {ns} may assume\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  annotations:\n    {key}: {}\n",
                quote(&value)
            );
            let _ = writeln!(
                out,
                "# Pods in {ns} choose a role with this annotation on their template:"
            );
            for arn in arns {
                let _ = writeln!(out, "#   iam.amazonaws.com/role: {arn}");
            }
            out.push_str("---\n");
        }
    }
    for (ns, name, arn) in &summary.service_accounts {
        if ns.contains('*') {
            let _ = write!(
                out,
                "# IRSA: service account {name} in any namespace matching {ns} takes its role with\n#   eks.amazonaws.com/role-arn: {arn}\n---\n"
            );
            continue;
        }
        let _ = write!(
            out,
            "# IRSA: pods running as {ns}/{name} get this role\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n  namespace: {ns}\n  annotations:\n    eks.amazonaws.com/role-arn: {}\n---\n",
            quote(arn)
        );
    }
    if out.is_empty() {
        out.push_str("# The spec declares no pod roles (spec.iam.podIdentity or spec.iam.serviceAccountExternalPermissions).\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert!(render(&summary)
            .contains("    iam.amazonaws.com/permitted: '^(arn:aws:iam::1:role/a\\.pods\\.c)$'\n"));
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
        assert!(out.contains("kind: ServiceAccount\nmetadata:\n  name: external-dns\n  namespace: kube-system\n  annotations:\n    eks.amazonaws.com/role-arn: 'arn:aws:iam::1:role/x'\n"));
        assert!(out.contains(
            "# IRSA: service account reader in any namespace matching team-* takes its role with\n"
        ));
    }

    #[test]
    fn quotes_are_doubled_in_yaml_strings() {
        assert_eq!(quote("it's"), "'it''s'");
    }
}
