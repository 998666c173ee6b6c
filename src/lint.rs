//! A security lint on every policy rolecall would write, before it writes: the patterns that
//! widen access by accident. Findings are warnings, or errors with `--strict`; kops's own
//! generated policies are never blocked (their findings stay warnings), since a cluster
//! needs them.

use std::collections::BTreeSet;

use crate::model::{DesiredState, ResourceId, ResourceType};
use crate::plan::{Plan, Problem};
use crate::policy::{self, CanonicalPolicy};

/// What the lint found in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: ResourceId,
    pub message: String,
}

/// The documents rolecall would write, linted.
pub fn lint(desired: &DesiredState) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rp in desired
        .role_policies
        .iter()
        .filter(|p| p.lifecycle.writes())
    {
        if let Some(Ok(doc)) = rp.document.as_deref().map(policy::canonical) {
            for message in permission_findings(&doc) {
                findings.push(Finding {
                    id: rp.id(),
                    message,
                });
            }
        }
    }
    for role in desired.roles.iter().filter(|r| r.lifecycle.writes()) {
        if let Ok(doc) = policy::canonical(&role.trust_policy) {
            for message in trust_findings(&doc) {
                findings.push(Finding {
                    id: role.id(),
                    message,
                });
            }
        }
    }
    findings
}

/// Adds the findings to the plan: warnings, or errors when `strict`, but never errors for
/// the policies kops itself generates (`kops_policies`, by name).
pub fn add_to_plan(
    plan: &mut Plan,
    findings: Vec<Finding>,
    strict: bool,
    kops_policies: &BTreeSet<String>,
) {
    for f in findings {
        let kops_own =
            f.id.kind == ResourceType::IamRolePolicy && kops_policies.contains(&f.id.name);
        let problem = Problem {
            id: f.id,
            message: format!("security lint: {}", f.message),
        };
        if strict && !kops_own {
            plan.errors.push(problem);
        } else {
            plan.warnings.push(problem);
        }
    }
    plan.sort();
}

fn permission_findings(doc: &CanonicalPolicy) -> Vec<String> {
    let mut out = Vec::new();
    for st in doc.statements.iter().filter(|s| s.effect == "allow") {
        let actions = st.action.clone().unwrap_or_default();
        let everywhere = st.resource.as_ref().is_some_and(|r| r.contains("*"));
        if actions.contains("*") {
            out.push("allows every action (\"Action\": \"*\")".to_string());
        }
        if actions.contains("iam:*") {
            out.push(
                "allows every IAM action (iam:*), which can grant itself anything".to_string(),
            );
        }
        if let Some(excluded) = &st.not_action {
            let excluded: Vec<&str> = excluded.iter().map(String::as_str).collect();
            out.push(format!(
                "allows every action except {} (\"Allow\" with \"NotAction\"), including every service added later; list the actions to allow instead",
                excluded.join(", ")
            ));
        }
        for (action, what) in [
            ("iam:passrole", "iam:PassRole"),
            ("sts:assumerole", "sts:AssumeRole"),
        ] {
            if everywhere && actions.contains(action) {
                out.push(format!(
                    "allows {what} on every role (\"Resource\": \"*\"); name the roles instead"
                ));
            }
        }
    }
    out
}

fn trust_findings(doc: &CanonicalPolicy) -> Vec<String> {
    let mut out = Vec::new();
    for st in doc.statements.iter().filter(|s| s.effect == "allow") {
        let Some(principals) = &st.principal else {
            continue;
        };
        if principals.get("AWS").is_some_and(|p| p.contains("*")) {
            out.push("trusts every AWS principal (\"Principal\": \"*\")".to_string());
        }
        let oidc = principals
            .get("Federated")
            .is_some_and(|p| p.iter().any(|arn| arn.contains(":oidc-provider/")));
        let web_identity = st
            .action
            .as_ref()
            .is_some_and(|a| a.contains("sts:assumerolewithwebidentity"));
        let has_sub = st
            .condition
            .values()
            .any(|keys| keys.keys().any(|k| k.ends_with(":sub")));
        if oidc && web_identity && !has_sub {
            out.push("trusts the cluster's OIDC provider without a :sub condition, so every service account may assume it".to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms(doc: &str) -> Vec<String> {
        permission_findings(&policy::canonical(doc).unwrap())
    }

    fn trust(doc: &str) -> Vec<String> {
        trust_findings(&policy::canonical(doc).unwrap())
    }

    #[test]
    fn star_and_iam_star_actions_are_found() {
        assert_eq!(
            perms(r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#).len(),
            1
        );
        assert!(perms(r#"{"Statement":[{"Effect":"Allow","Action":["IAM:*"],"Resource":"arn:aws:iam::1:role/x"}]}"#)[0]
            .contains("every IAM action"));
        assert!(
            perms(r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#).is_empty()
        );
        assert!(
            perms(r#"{"Statement":[{"Effect":"Allow","Action":"ec2:*","Resource":"*"}]}"#)
                .is_empty()
        );
    }

    #[test]
    fn allow_with_not_action_is_found_but_deny_with_not_action_is_not() {
        let found =
            perms(r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#);
        assert_eq!(
            found,
            ["allows every action except iam:* (\"Allow\" with \"NotAction\"), including every service added later; list the actions to allow instead"]
        );
        // Canonical actions are lower-cased; more than one is listed in order.
        assert!(perms(
            r#"{"Statement":[{"Effect":"Allow","NotAction":["s3:*","IAM:*"],"NotResource":"arn:aws:s3:::b"}]}"#
        )[0]
        .starts_with("allows every action except iam:*, s3:* "));
        // Denying everything but a list narrows access: not a finding.
        assert!(perms(
            r#"{"Statement":[{"Effect":"Deny","NotAction":["sts:GetCallerIdentity"],"Resource":"*"}]}"#
        )
        .is_empty());
    }

    #[test]
    fn pass_role_and_assume_role_on_star_are_found_but_not_on_named_roles() {
        let found = perms(
            r#"{"Statement":[{"Effect":"Allow","Action":["iam:PassRole","sts:AssumeRole"],"Resource":"*"}]}"#,
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(perms(r#"{"Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"arn:aws:iam::1:role/app"}]}"#).is_empty());
    }

    #[test]
    fn a_star_principal_and_an_irsa_trust_without_sub_are_found() {
        assert_eq!(
            trust(
                r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#
            ),
            ["trusts every AWS principal (\"Principal\": \"*\")"]
        );
        let without_sub = r#"{"Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::1:oidc-provider/o.example.com"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"o.example.com:aud":"amazonaws.com"}}}]}"#;
        assert!(trust(without_sub)[0].contains("without a :sub condition"));
        let with_sub = without_sub.replace(
            ":aud\":\"amazonaws.com\"",
            ":sub\":\"system:serviceaccount:a:b\"",
        );
        assert!(trust(&with_sub).is_empty());
    }

    #[test]
    fn kops_generated_policies_and_trusts_pass_even_in_legacy_mode() {
        // No spec.iam: kops's legacy policies, the broadest it writes.
        let spec =
            crate::test_spec::cluster("c.k8s.local", "  configBase: s3://state/c.k8s.local\n");
        assert!(spec.iam.legacy);
        let desired = crate::desired::desired_state(&spec).unwrap();
        assert_eq!(lint(&desired), vec![]);
        for iam in [
            "{legacy: false}",
            "{legacy: false, allowContainerRegistry: true}",
            "{legacy: true, allowContainerRegistry: true}",
        ] {
            let spec = crate::test_spec::cluster(
                "c.k8s.local",
                &format!("  configBase: s3://state/c.k8s.local\n  iam: {iam}\n  dnsZone: Z1\n  networking:\n    amazonvpc: {{}}\n"),
            );
            let desired = crate::desired::desired_state(&spec).unwrap();
            assert_eq!(lint(&desired), vec![], "{iam}");
        }
    }

    #[test]
    fn strict_turns_findings_into_errors_except_on_kops_policies() {
        let id = |name: &str| ResourceId::new(ResourceType::IamRolePolicy, name);
        let findings = vec![
            Finding {
                id: id("nodes.c"),
                message: "x".into(),
            },
            Finding {
                id: id("additional.nodes.c"),
                message: "y".into(),
            },
        ];
        let kops = BTreeSet::from(["nodes.c".to_string()]);
        let mut plan = Plan::default();
        add_to_plan(&mut plan, findings.clone(), true, &kops);
        assert_eq!(plan.errors.len(), 1);
        assert_eq!(plan.errors[0].id, id("additional.nodes.c"));
        assert_eq!(plan.warnings.len(), 1);
        let mut lenient = Plan::default();
        add_to_plan(&mut lenient, findings, false, &kops);
        assert_eq!(lenient.warnings.len(), 2);
        assert!(lenient.errors.is_empty());
    }
}
