//! A security lint on every policy rolecall would write, before it writes: the patterns that
//! widen access by accident. Findings are warnings, or errors with `--strict`; kops's own
//! generated policies are never blocked (their findings stay warnings), since a cluster
//! needs them.
//!
//! The same pass checks every action against the catalogue of IAM actions ([`catalogue`]):
//! an action AWS does not define grants nothing, and is most often a typo, so it is named
//! with the nearest real one.

use std::collections::BTreeSet;

use crate::catalogue;
use crate::model::{DesiredState, ResourceId, ResourceType};
use crate::plan::{Plan, Problem};
use crate::policy::{self, CanonicalPolicy};

/// What the lint found in one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub id: ResourceId,
    pub kind: FindingKind,
    pub message: String,
}

/// What a finding is about, which names it in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FindingKind {
    /// A pattern that widens access (`security lint: ...`).
    Security,
    /// An action the catalogue of IAM actions does not know (`lint: unknown action ...`).
    UnknownAction,
}

impl FindingKind {
    fn label(self) -> &'static str {
        match self {
            FindingKind::Security => "security lint",
            FindingKind::UnknownAction => "lint",
        }
    }
}

/// The documents rolecall would write, linted.
pub fn lint(desired: &DesiredState) -> Vec<Finding> {
    let mut findings = Vec::new();
    for rp in desired
        .role_policies
        .iter()
        .filter(|p| p.lifecycle.writes())
    {
        let Some(document) = rp.document.as_deref() else {
            continue;
        };
        if let Ok(doc) = policy::canonical(document) {
            for message in permission_findings(&doc) {
                findings.push(Finding {
                    id: rp.id(),
                    kind: FindingKind::Security,
                    message,
                });
            }
        }
        for message in action_findings(document) {
            findings.push(Finding {
                id: rp.id(),
                kind: FindingKind::UnknownAction,
                message,
            });
        }
    }
    for role in desired.roles.iter().filter(|r| r.lifecycle.writes()) {
        if let Ok(doc) = policy::canonical(&role.trust_policy) {
            for message in trust_findings(&doc) {
                findings.push(Finding {
                    id: role.id(),
                    kind: FindingKind::Security,
                    message,
                });
            }
        }
        for message in action_findings(&role.trust_policy) {
            findings.push(Finding {
                id: role.id(),
                kind: FindingKind::UnknownAction,
                message,
            });
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
            message: format!("{}: {}", f.kind.label(), f.message),
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

/// The actions (and `NotAction`s) of a document that the catalogue does not know, in the
/// document's own spelling, each once: an unknown service prefix, an unknown action, or a
/// pattern that matches no action of its service; with the nearest known one when there is
/// one close enough to be a typo. `*` is known; a document that is not JSON is left to the
/// grammar check.
fn action_findings(document: &str) -> Vec<String> {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(document) else {
        return Vec::new();
    };
    let statements = match doc.get("Statement") {
        Some(serde_json::Value::Array(list)) => list.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for st in statements {
        for key in ["Action", "NotAction"] {
            let actions: Vec<&str> = match st.get(key) {
                Some(serde_json::Value::String(a)) => vec![a.as_str()],
                Some(serde_json::Value::Array(list)) => {
                    list.iter().filter_map(|a| a.as_str()).collect()
                }
                _ => Vec::new(),
            };
            for action in actions {
                if seen.insert(action.to_ascii_lowercase()) {
                    out.extend(unknown_action(action));
                }
            }
        }
    }
    out
}

/// Why the catalogue does not know `action`, or `None` when it does.
fn unknown_action(action: &str) -> Option<String> {
    if action == "*" {
        return None;
    }
    let wildcard = action.contains(['*', '?']);
    let Some((service, _)) = action.split_once(':') else {
        return Some(format!("unknown action {action} (no service prefix)"));
    };
    if !service.contains(['*', '?']) && !catalogue::service_known(service) {
        let hint = catalogue::nearest(action)
            .or_else(|| catalogue::nearest_service(service))
            .map(|n| format!("; did you mean {n}?"))
            .unwrap_or_default();
        return Some(format!(
            "unknown service prefix {service} in {action}{hint}"
        ));
    }
    if wildcard {
        return catalogue::matching(action)
            .is_empty()
            .then(|| format!("unknown action {action}: the pattern matches no known action"));
    }
    if catalogue::is_known(action) {
        return None;
    }
    let hint = catalogue::nearest(action)
        .map(|n| format!("; did you mean {n}?"))
        .unwrap_or_default();
    Some(format!("unknown action {action}{hint}"))
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
    use std::collections::BTreeMap;

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

    fn actions(doc: &str) -> Vec<String> {
        action_findings(doc)
    }

    #[test]
    fn unknown_actions_are_named_with_the_nearest_known_one() {
        assert_eq!(
            actions(
                r#"{"Statement":[{"Effect":"Allow","Action":["s3:GetObjcet","s3:GetObject","S3:getobjcet"],"Resource":"*"}]}"#
            ),
            ["unknown action s3:GetObjcet; did you mean s3:GetObject?"],
            "in the document's spelling, once"
        );
        assert_eq!(
            actions(r#"{"Statement":{"Effect":"Deny","NotAction":"s4:GetObject","Resource":"*"}}"#),
            ["unknown service prefix s4 in s4:GetObject; did you mean s3:GetObject?"]
        );
        assert_eq!(
            actions(
                r#"{"Statement":[{"Effect":"Allow","Action":"nosuchsvc:Get*","Resource":"*"}]}"#
            ),
            ["unknown service prefix nosuchsvc in nosuchsvc:Get*"]
        );
        assert_eq!(
            actions(
                r#"{"Statement":[{"Effect":"Allow","Action":["s3:Gte*","s3:Get*","ec2:Describe*","*"],"Resource":"*"}]}"#
            ),
            ["unknown action s3:Gte*: the pattern matches no known action"]
        );
        assert_eq!(
            actions(
                r#"{"Statement":[{"Effect":"Allow","Action":"s3:Completely","Resource":"*"}]}"#
            ),
            ["unknown action s3:Completely"],
            "no suggestion when nothing is close"
        );
        // Trust policies' sts actions are known; only an unknown one is found.
        assert!(actions(r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":["sts:AssumeRole","sts:TagSession","sts:AssumeRoleWithWebIdentity"]}]}"#).is_empty());
        assert_eq!(
            actions(
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRol"}]}"#
            ),
            ["unknown action sts:AssumeRol; did you mean sts:AssumeRole?"]
        );
    }

    #[test]
    fn an_unknown_action_in_an_additional_policy_is_a_warning_or_with_strict_an_error() {
        let spec = crate::test_spec::cluster(
            "c.k8s.local",
            "  configBase: s3://state/c.k8s.local\n  additionalPolicies:\n    node: '[{\"Effect\": \"Allow\", \"Action\": [\"s3:GetObjcet\"], \"Resource\": \"*\"}]'\n",
        );
        let desired = crate::desired::desired_state(&spec).unwrap();
        let findings = lint(&desired);
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert_eq!(findings[0].kind, FindingKind::UnknownAction);
        assert_eq!(
            findings[0].id,
            ResourceId::new(ResourceType::IamRolePolicy, "additional.nodes.c.k8s.local")
        );
        let kops = BTreeSet::from(["nodes.c.k8s.local".to_string()]);
        let mut lenient = Plan::default();
        add_to_plan(&mut lenient, findings.clone(), false, &kops);
        assert_eq!(
            lenient.warnings[0].message,
            "lint: unknown action s3:GetObjcet; did you mean s3:GetObject?"
        );
        assert!(lenient.errors.is_empty());
        let mut strict = Plan::default();
        add_to_plan(&mut strict, findings, true, &kops);
        assert_eq!(strict.errors.len(), 1);
        assert!(strict.warnings.is_empty());
    }

    /// Actions kops writes that the catalogue does not know, with why. Each is still
    /// reported (as a warning: kops's own policies are never blocked).
    const KOPS_EXCEPTIONS: &[(&str, &str)] = &[];

    /// Every document in `state` that rolecall would write, with where it comes from.
    fn documents(state: &DesiredState) -> Vec<(String, String)> {
        let policies = state
            .role_policies
            .iter()
            .filter_map(|p| Some((p.id().name, p.document.clone()?)));
        let trusts = state
            .roles
            .iter()
            .map(|r| (r.id().name, r.trust_policy.clone()));
        policies.chain(trusts).collect()
    }

    /// Unknown actions in `docs`, by message, with a document each appears in; the known
    /// exceptions left out.
    fn unknown_in(docs: Vec<(String, String)>) -> BTreeMap<String, String> {
        let mut unknown = BTreeMap::new();
        for (origin, doc) in docs {
            for message in action_findings(&doc) {
                if !KOPS_EXCEPTIONS
                    .iter()
                    .any(|(a, _)| message.contains(&format!(" {a}")))
                {
                    unknown.entry(message).or_insert(origin.clone());
                }
            }
        }
        unknown
    }

    /// A document with one typo, added to the documents checked, so that a check that
    /// reads nothing fails.
    fn probe() -> (String, String) {
        let doc = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObjcet","Resource":"*"}]}"#;
        ("probe".to_string(), doc.to_string())
    }

    fn probe_only() -> BTreeMap<String, String> {
        BTreeMap::from([(
            "unknown action s3:GetObjcet; did you mean s3:GetObject?".to_string(),
            "probe".to_string(),
        )])
    }

    #[test]
    fn every_action_of_kops_1_10_and_1_36_builders_is_in_the_catalogue() {
        use crate::desired::pod_roles::{add_pod_roles, PodContext};
        use crate::spec::{parse_documents_as, Generation, SourceFile};
        let mut docs = Vec::new();
        // kops 1.10: each IAM mode.
        for iam in [
            "",
            "  iam: {legacy: false}\n",
            "  iam: {legacy: false, allowContainerRegistry: true}\n",
            "  iam: {legacy: true, allowContainerRegistry: true}\n",
        ] {
            let spec = crate::test_spec::cluster(
                "c.k8s.local",
                &format!("  configBase: s3://state/c.k8s.local\n{iam}"),
            );
            docs.extend(documents(&crate::desired::desired_state(&spec).unwrap()));
        }
        // kops 1.36: every case of kops's integration tests rolecall builds, with the
        // service-account roles of its addons.
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/kops-1.36.2/integration");
        let mut built = 0;
        for case in std::fs::read_dir(&root).unwrap() {
            let input = case.unwrap().path().join("in-v1alpha2.yaml");
            let Ok(text) = std::fs::read_to_string(&input) else {
                continue;
            };
            let file = SourceFile {
                path: input.clone(),
                text,
            };
            let Ok(spec) = parse_documents_as(&[file], Some(Generation::Kops136)) else {
                continue;
            };
            let Ok(mut state) = crate::desired::desired_state(&spec) else {
                continue;
            };
            let pods = PodContext {
                node_roles: Vec::new(),
                master_roles: Vec::new(),
                ..PodContext::for_tests()
            };
            if add_pod_roles(&spec, &pods, &mut state).is_err() {
                continue;
            }
            built += 1;
            docs.extend(documents(&state));
        }
        assert!(built > 40, "only {built} kops 1.36 cases built");
        docs.push(probe());
        assert_eq!(unknown_in(docs), probe_only());
    }

    #[test]
    fn every_action_of_kops_own_goldens_is_in_the_catalogue() {
        // kops's files themselves (kops 1.10's builder goldens, kops 1.36's builder goldens
        // and the policies of its integration cases), which the golden tests show rolecall
        // writes byte for byte.
        fn walk(dir: &std::path::Path, out: &mut Vec<(String, String)>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if path.is_dir() {
                    walk(&path, out);
                } else if name.ends_with("_policy")
                    || name.starts_with("iam_builder_")
                    || name.starts_with("tests_")
                {
                    let text = std::fs::read_to_string(&path).unwrap();
                    out.push((path.display().to_string(), text));
                }
            }
        }
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let mut docs = Vec::new();
        walk(&fixtures.join("kops-1.10.0-golden"), &mut docs);
        walk(&fixtures.join("kops-1.36.2"), &mut docs);
        assert!(docs.len() > 300, "{}", docs.len());
        docs.push(probe());
        assert_eq!(unknown_in(docs), probe_only());
    }

    #[test]
    fn strict_turns_findings_into_errors_except_on_kops_policies() {
        let id = |name: &str| ResourceId::new(ResourceType::IamRolePolicy, name);
        let findings = vec![
            Finding {
                id: id("nodes.c"),
                kind: FindingKind::Security,
                message: "x".into(),
            },
            Finding {
                id: id("additional.nodes.c"),
                kind: FindingKind::UnknownAction,
                message: "y".into(),
            },
        ];
        let kops = BTreeSet::from(["nodes.c".to_string()]);
        let mut plan = Plan::default();
        add_to_plan(&mut plan, findings.clone(), true, &kops);
        assert_eq!(plan.errors.len(), 1);
        assert_eq!(plan.errors[0].id, id("additional.nodes.c"));
        assert_eq!(plan.errors[0].message, "lint: y");
        assert_eq!(plan.warnings[0].message, "security lint: x");
        assert_eq!(plan.warnings.len(), 1);
        let mut lenient = Plan::default();
        add_to_plan(&mut lenient, findings, false, &kops);
        assert_eq!(lenient.warnings.len(), 2);
        assert!(lenient.errors.is_empty());
    }
}
