//! What a change grants: the access a plan's change adds and removes, offline.
//!
//! Each policy document becomes rules `(effect, action pattern, resource pattern,
//! condition)`, one per action and resource of each statement. A rule of the new document is
//! *added* unless a rule of the old one covers it: same effect, an action pattern and a
//! resource pattern that match everything the new ones match (a `*` of the new pattern is
//! matched only by a `*` of the old), and no condition or the same one. Removed is the same
//! the other way round. This is sound where it matters: a new rule is never hidden, at
//! worst a rule that another, broader one covered in a way this check cannot see is listed
//! too. What it cannot judge (`NotAction`, `NotResource`, `NotPrincipal`, a managed policy
//! whose contents are not read, a boundary removed) is reported as "may add access".
//!
//! Trust policies are about who may assume the role: their principals (with the actions
//! and conditions they come with) are compared the same way, by set.
//!
//! Patterns are expanded against the catalogue of IAM actions for the one-action-per-entry
//! listing, through the `expand` function the caller gives.

pub mod effective;
#[cfg(test)]
mod tests;

use std::collections::BTreeSet;

use crate::operation::Operation;
use crate::plan::{Change, Plan};
use crate::policy::canonical;

/// Allow or Deny.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn name(self) -> &'static str {
        match self {
            Effect::Allow => "Allow",
            Effect::Deny => "Deny",
        }
    }
}

/// One rule of a policy: an action pattern on a resource pattern, under a condition
/// (canonical JSON, empty for none).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rule {
    pub effect: Effect,
    pub action: String,
    pub resource: String,
    pub condition: String,
}

/// The access one change adds and removes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessDiff {
    pub added: Vec<Rule>,
    pub removed: Vec<Rule>,
    /// Principals a trust policy gains or loses (`Service:ec2.amazonaws.com`, with the
    /// action and condition when they are not the plain `sts:AssumeRole`).
    pub principals_added: Vec<String>,
    pub principals_removed: Vec<String>,
    /// What the analysis cannot judge and may add access, each said in a few words.
    pub may_add: Vec<String>,
}

impl AccessDiff {
    /// Whether the change may grant anything it did not: an allow added, a deny removed, a
    /// principal added, or something that cannot be judged.
    pub fn widens(&self) -> bool {
        self.added.iter().any(|r| r.effect == Effect::Allow)
            || self.removed.iter().any(|r| r.effect == Effect::Deny)
            || !self.principals_added.is_empty()
            || !self.may_add.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.principals_added.is_empty()
            && self.principals_removed.is_empty()
            && self.may_add.is_empty()
    }
}

/// The access of every change of the plan, in the plan's order (`None` for a change that
/// grants nothing, such as creating an empty instance profile).
pub fn analyze(plan: &Plan) -> Vec<Option<AccessDiff>> {
    plan.changes.iter().map(of_change).collect()
}

/// The old and new text of a change's document field.
fn document_field(change: &Change, field: &str) -> (Option<String>, Option<String>) {
    change
        .fields
        .iter()
        .find(|f| f.field == field)
        .map(|f| (f.old.clone(), f.new.clone()))
        .unwrap_or((None, None))
}

pub fn of_change(change: &Change) -> Option<AccessDiff> {
    let mut diff = AccessDiff::default();
    match &change.operation {
        Operation::PutRolePolicy { document, .. } => {
            let (old, _) = document_field(change, "PolicyDocument");
            policy_diff(old.as_deref(), Some(document), &mut diff);
        }
        Operation::DeleteRolePolicy { name, .. } => {
            let (old, _) = document_field(change, "PolicyDocument");
            if let Some(old) = old {
                policy_diff(Some(&old), None, &mut diff);
            }
            if diff.is_empty() {
                // Its document was not read: all it granted goes, whatever it was.
                diff.removed.push(Rule {
                    effect: Effect::Allow,
                    action: format!("(all of inline policy {name})"),
                    resource: String::new(),
                    condition: String::new(),
                });
            }
        }
        Operation::CreateRole { trust_policy, .. } => {
            trust_diff(None, Some(trust_policy), &mut diff);
        }
        Operation::UpdateAssumeRolePolicy { trust_policy, .. } => {
            let (old, _) = document_field(change, "TrustPolicy");
            trust_diff(old.as_deref(), Some(trust_policy), &mut diff);
        }
        Operation::AttachRolePolicy { policy_arn, .. } => diff.may_add.push(format!(
            "attaches {policy_arn}, whose contents are not compared"
        )),
        Operation::DetachRolePolicy { policy_arn, .. } => diff.removed.push(Rule {
            effect: Effect::Allow,
            action: format!("(all of managed policy {policy_arn})"),
            resource: String::new(),
            condition: String::new(),
        }),
        Operation::DeleteRolePermissionsBoundary { .. } => diff
            .may_add
            .push("removes the permissions boundary, which capped the role's access".into()),
        Operation::PutRolePermissionsBoundary { arn, .. } => {
            let replaced = change
                .fields
                .iter()
                .any(|f| f.field == "PermissionsBoundary" && f.old.is_some());
            if replaced {
                diff.may_add.push(format!(
                    "replaces the permissions boundary with {arn}, which may allow more"
                ));
            } else {
                return None;
            }
        }
        Operation::AddRoleToInstanceProfile { profile, role } => diff.may_add.push(format!(
            "gives the instances of profile {profile} the access of role {role}"
        )),
        Operation::CreateOpenIdConnectProvider {
            url, client_ids, ..
        } => diff
            .principals_added
            .push(format!("tokens of {url} for {}", client_ids.join(", "))),
        Operation::AddClientIdToOpenIdConnectProvider { client_ids, .. } => diff
            .principals_added
            .push(format!("tokens for {}", client_ids.join(", "))),
        Operation::DeleteOpenIdConnectProvider { arn } => {
            diff.principals_removed.push(format!("tokens of {arn}"))
        }
        Operation::DeleteRole { .. }
        | Operation::CreateInstanceProfile { .. }
        | Operation::RemoveRoleFromInstanceProfile { .. }
        | Operation::DeleteInstanceProfile { .. } => return None,
    }
    (!diff.is_empty()).then_some(diff)
}

/// The rules of a policy document, and what in it cannot be judged. An unreadable
/// document cannot be judged either.
fn rules(text: &str) -> (BTreeSet<Rule>, Vec<String>) {
    let mut out = BTreeSet::new();
    let mut unclear = Vec::new();
    let Ok(policy) = canonical(text) else {
        return (
            out,
            vec!["a document that cannot be read as a policy".into()],
        );
    };
    for st in &policy.statements {
        let effect = if st.effect == "deny" {
            Effect::Deny
        } else {
            Effect::Allow
        };
        if effect == Effect::Allow && (st.not_action.is_some() || st.not_resource.is_some()) {
            unclear.push("a statement with NotAction or NotResource".into());
            continue;
        }
        let condition = if st.condition.is_empty() {
            String::new()
        } else {
            serde_json::to_string(&st.condition).unwrap_or_default()
        };
        let actions = st.action.clone().unwrap_or_default();
        let resources = st
            .resource
            .clone()
            .unwrap_or_else(|| BTreeSet::from(["*".to_string()]));
        for action in &actions {
            for resource in &resources {
                out.insert(Rule {
                    effect,
                    action: action.clone(),
                    resource: resource.clone(),
                    condition: condition.clone(),
                });
            }
        }
    }
    (out, unclear)
}

/// The rules of `new` no rule of `old` covers.
fn uncovered(new: &BTreeSet<Rule>, old: &BTreeSet<Rule>) -> Vec<Rule> {
    new.iter()
        .filter(|n| !old.iter().any(|o| covers(o, n)))
        .cloned()
        .collect()
}

/// Whether `old` grants (or denies) everything `new` does.
fn covers(old: &Rule, new: &Rule) -> bool {
    old.effect == new.effect
        && pattern_covers(
            &old.action.to_ascii_lowercase(),
            &new.action.to_ascii_lowercase(),
        )
        && pattern_covers(&old.resource, &new.resource)
        && (old.condition.is_empty() || old.condition == new.condition)
}

/// Whether every string the IAM pattern `inner` matches is matched by `outer`: `outer`
/// matched against `inner`'s text, where a `*` of `inner` is matched only by a `*` of
/// `outer`, and a `?` of `inner` by a `?` or `*` of `outer`.
pub fn pattern_covers(outer: &str, inner: &str) -> bool {
    let (o, i): (Vec<char>, Vec<char>) = (outer.chars().collect(), inner.chars().collect());
    // matches[j] after row k: outer[..k] covers inner[..j].
    let mut prev = vec![false; i.len() + 1];
    prev[0] = true;
    for &oc in &o {
        let mut cur = vec![false; i.len() + 1];
        if oc == '*' {
            // `*` covers any run of inner's characters, wildcards included.
            let mut any = false;
            for j in 0..=i.len() {
                any |= prev[j];
                cur[j] = any;
            }
        } else {
            for j in 1..=i.len() {
                let ic = i[j - 1];
                let ok = match oc {
                    '?' => ic != '*',
                    c => c == ic,
                };
                cur[j] = prev[j - 1] && ok;
            }
        }
        prev = cur;
    }
    prev[i.len()]
}

fn policy_diff(old: Option<&str>, new: Option<&str>, diff: &mut AccessDiff) {
    let (old_rules, _) = old.map(rules).unwrap_or_default();
    let (new_rules, unclear) = new.map(rules).unwrap_or_default();
    diff.added = uncovered(&new_rules, &old_rules);
    diff.removed = uncovered(&old_rules, &new_rules);
    // Only what the new document brings that the old did not have may widen.
    let old_unclear = old.map(|o| rules(o).1).unwrap_or_default();
    if unclear.len() > old_unclear.len() || (!unclear.is_empty() && old.is_none()) {
        diff.may_add
            .extend(unclear.into_iter().map(|u| format!("may add access: {u}")));
    }
}

/// A trust policy's principals, each with the action and condition that come with it.
fn principals(text: &str) -> (BTreeSet<String>, Vec<String>) {
    let mut out = BTreeSet::new();
    let mut unclear = Vec::new();
    let Ok(policy) = canonical(text) else {
        return (out, vec!["a trust policy that cannot be read".into()]);
    };
    for st in &policy.statements {
        if st.effect != "allow" {
            continue;
        }
        if st.not_principal.is_some() {
            unclear.push("a statement with NotPrincipal".into());
            continue;
        }
        let actions: Vec<&String> = st.action.iter().flatten().collect();
        let plain = actions.len() == 1 && actions[0] == "sts:assumerole";
        let mut extra = String::new();
        if !plain {
            let names: Vec<&str> = actions.iter().map(|a| a.as_str()).collect();
            extra.push_str(&format!(" ({})", names.join(", ")));
        }
        if !st.condition.is_empty() {
            extra.push_str(&format!(
                " when {}",
                serde_json::to_string(&st.condition).unwrap_or_default()
            ));
        }
        for (kind, ids) in st.principal.iter().flatten() {
            for id in ids {
                out.insert(format!("{kind}:{id}{extra}"));
            }
        }
    }
    (out, unclear)
}

fn trust_diff(old: Option<&str>, new: Option<&str>, diff: &mut AccessDiff) {
    let (old_p, _) = old.map(principals).unwrap_or_default();
    let (new_p, unclear) = new.map(principals).unwrap_or_default();
    diff.principals_added = new_p.difference(&old_p).cloned().collect();
    diff.principals_removed = old_p.difference(&new_p).cloned().collect();
    diff.may_add
        .extend(unclear.into_iter().map(|u| format!("may add access: {u}")));
}

/// The catalogue's expansion of an action pattern.
pub fn expand(pattern: &str) -> Vec<&'static str> {
    crate::catalogue::matching(pattern)
}

/// The actions a pattern stands for, through `expand` (the catalogue); a pattern the
/// catalogue does not know stands for itself.
pub fn actions_of(pattern: &str, expand: &dyn Fn(&str) -> Vec<&'static str>) -> Vec<String> {
    // A plain action too, for its spelling: rules hold actions lower-cased, as IAM
    // compares them.
    let found = expand(pattern);
    if found.is_empty() {
        vec![pattern.to_string()]
    } else {
        found.into_iter().map(str::to_string).collect()
    }
}

/// How many rules a line names before it counts the rest.
const SHOWN: usize = 6;

/// An action or pattern as AWS spells it: rules hold them lower-cased, as IAM compares
/// them; a plain action takes the catalogue's spelling, a pattern ending in `*` that of the
/// first action it matches, as far as its literal prefix goes.
fn spelled(action: &str, expand: &dyn Fn(&str) -> Vec<&'static str>) -> String {
    let found = expand(action);
    let Some(first) = found.first() else {
        return action.to_string();
    };
    if !action.contains(['*', '?']) {
        return first.to_string();
    }
    match action.strip_suffix('*') {
        Some(prefix)
            if !prefix.contains(['*', '?'])
                && first
                    .to_ascii_lowercase()
                    .starts_with(&prefix.to_ascii_lowercase()) =>
        {
            format!("{}*", &first[..prefix.len()])
        }
        _ => action.to_string(),
    }
}

/// One line for a change: `adds s3:* (148 actions) on arn:aws:s3:::data/*; removes ...`.
pub fn summary(diff: &AccessDiff, expand: &dyn Fn(&str) -> Vec<&'static str>) -> String {
    let mut parts = Vec::new();
    let rule = |r: &Rule| {
        let mut s = spelled(&r.action, expand);
        if r.action.contains(['*', '?']) {
            let n = actions_of(&r.action, expand).len();
            if n > 1 || actions_of(&r.action, expand)[0] != r.action {
                let noun = if n == 1 { "action" } else { "actions" };
                s.push_str(&format!(" ({n} {noun})"));
            }
        }
        if !r.resource.is_empty() {
            s.push_str(&format!(" on {}", r.resource));
        }
        if !r.condition.is_empty() {
            s.push_str(" (with a condition)");
        }
        if r.effect == Effect::Deny {
            s = format!("a deny of {s}");
        }
        s
    };
    // Short: the first few, then how many more (the JSON has them all).
    let list = |rules: &[Rule]| {
        let mut shown: Vec<String> = rules.iter().take(SHOWN).map(rule).collect();
        if rules.len() > SHOWN {
            shown.push(format!("and {} more", rules.len() - SHOWN));
        }
        shown.join(", ")
    };
    if !diff.added.is_empty() {
        parts.push(format!("adds {}", list(&diff.added)));
    }
    if !diff.removed.is_empty() {
        parts.push(format!("removes {}", list(&diff.removed)));
    }
    if !diff.principals_added.is_empty() {
        parts.push(format!("trusts {}", diff.principals_added.join(", ")));
    }
    if !diff.principals_removed.is_empty() {
        parts.push(format!(
            "no longer trusts {}",
            diff.principals_removed.join(", ")
        ));
    }
    for m in &diff.may_add {
        if m.starts_with("may add access") {
            parts.push(m.clone());
        } else {
            parts.push(format!("may add access: {m}"));
        }
    }
    parts.join("; ")
}

/// The JSON entries of a list of rules, one action per entry.
pub fn entries(rules: &[Rule], expand: &dyn Fn(&str) -> Vec<&'static str>) -> serde_json::Value {
    let mut out = Vec::new();
    for r in rules {
        let condition: serde_json::Value = if r.condition.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&r.condition).unwrap_or(serde_json::Value::Null)
        };
        for action in actions_of(&r.action, expand) {
            out.push(serde_json::json!({
                "effect": r.effect.name(),
                "action": action,
                "resource": r.resource,
                "condition": condition,
            }));
        }
    }
    serde_json::Value::Array(out)
}
