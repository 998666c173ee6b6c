//! The effective access of roles rolecall does not own (a role found through an instance
//! profile the spec names, or one under a lifecycle that only checks): the union of what
//! every policy on the role grants (its inline policies of any name and its managed
//! policies, as read by `cloud`), compared with what kops would grant it (the documents the
//! desired state would write on it).
//!
//! - **missing**: what kops would grant that no rule of the role allows: the cluster may
//!   break. Each expected rule is expanded through the catalogue, so that `ec2:Describe*`
//!   is covered by `ec2:*` or by its actions allowed one by one.
//! - **extra**: what the role allows that kops would not grant: beyond least privilege.
//!
//! Deny is treated conservatively: an expected action a deny of the role may touch (its
//! action pattern matches, and one resource pattern covers the other, whatever the deny's
//! condition) is counted as missing; denies are not subtracted from extra, so extra may
//! overstate. Allow statements with `NotAction` or `NotResource` cannot be judged: they
//! are named in `unclear`, and missing may then overstate.

use std::collections::BTreeSet;

use super::{actions_of, covers, pattern_covers, rules, Effect, Rule};
use crate::model::{ActualState, DesiredState, ResourceId, ResourceType};

/// A rule of missing or extra access, with the actions (through the catalogue) it stands
/// for that are missing or extra: all of them, or only some when the rest are covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub rule: Rule,
    pub actions: Vec<String>,
}

/// The comparison for one role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveAccess {
    pub missing: Vec<Grant>,
    pub extra: Vec<Grant>,
    /// What could not be judged, in a few words each.
    pub unclear: Vec<String>,
}

/// The effective access of one role rolecall does not own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleAccess {
    pub role: String,
    pub access: EffectiveAccess,
}

impl RoleAccess {
    pub fn id(&self) -> ResourceId {
        ResourceId::new(ResourceType::IamRole, &self.role)
    }
}

/// Every role whose granting policies were read (`ActualState::granting_policies`) and
/// that the desired state names, compared with the documents the desired state has for
/// it, in the roles' order.
pub fn analyze(
    desired: &DesiredState,
    actual: &ActualState,
    expand: &dyn Fn(&str) -> Vec<&'static str>,
) -> Vec<RoleAccess> {
    actual
        .granting_policies
        .iter()
        .filter(|(role, _)| desired.roles.iter().any(|r| &r.name == *role))
        .map(|(role, policies)| {
            let expected: Vec<&str> = desired
                .role_policies
                .iter()
                .filter(|p| &p.role == role)
                .filter_map(|p| p.document.as_deref())
                .collect();
            let actual: Vec<&str> = policies.iter().map(|p| p.document.as_str()).collect();
            RoleAccess {
                role: role.clone(),
                access: compare(&expected, &actual, expand),
            }
        })
        .collect()
}

/// What the `expected` documents grant and the `actual` ones do not (missing), and what
/// the actual ones allow beyond the expected (extra).
pub fn compare(
    expected: &[&str],
    actual: &[&str],
    expand: &dyn Fn(&str) -> Vec<&'static str>,
) -> EffectiveAccess {
    let mut wanted = BTreeSet::new();
    for doc in expected {
        wanted.extend(
            rules(doc)
                .0
                .into_iter()
                .filter(|r| r.effect == Effect::Allow),
        );
    }
    let (mut allows, mut denies) = (BTreeSet::new(), BTreeSet::new());
    let mut unclear = BTreeSet::new();
    for doc in actual {
        let (found, not_judged) = rules(doc);
        unclear.extend(not_judged);
        for r in found {
            match r.effect {
                Effect::Allow => allows.insert(r),
                Effect::Deny => denies.insert(r),
            };
        }
    }
    if !denies.is_empty() {
        unclear.insert(
            "a Deny: what it may touch counts as missing, and it is not taken off extra".into(),
        );
    }
    let denied = |action: &str, resource: &str| {
        let action = action.to_ascii_lowercase();
        denies.iter().any(|d| {
            let d_action = d.action.to_ascii_lowercase();
            (pattern_covers(&d_action, &action) || pattern_covers(&action, &d_action))
                && (pattern_covers(&d.resource, resource) || pattern_covers(resource, &d.resource))
        })
    };
    let missing = uncovered_grants(&wanted, &allows, expand, &denied);
    let extra = uncovered_grants(&allows, &wanted, expand, &|_: &str, _: &str| false);
    EffectiveAccess {
        missing,
        extra,
        unclear: unclear.into_iter().collect(),
    }
}

/// Each rule of `rules` with the actions it stands for that no rule of `by` covers (or that
/// `taken` says are taken away), when there are any.
fn uncovered_grants(
    rules: &BTreeSet<Rule>,
    by: &BTreeSet<Rule>,
    expand: &dyn Fn(&str) -> Vec<&'static str>,
    taken: &dyn Fn(&str, &str) -> bool,
) -> Vec<Grant> {
    let mut out = Vec::new();
    for rule in rules {
        let whole = by.iter().any(|o| covers(o, rule));
        let actions: Vec<String> = actions_of(&rule.action, expand)
            .into_iter()
            .filter(|action| {
                let one = Rule {
                    action: action.clone(),
                    ..rule.clone()
                };
                taken(action, &rule.resource) || !(whole || by.iter().any(|o| covers(o, &one)))
            })
            .collect();
        if !actions.is_empty() {
            out.push(Grant {
                rule: rule.clone(),
                actions,
            });
        }
    }
    out
}

/// At most this many grants on a line; the rest are counted.
const SHOWN: usize = 6;

/// A short line of grants: `s3:* (148 actions) on *, ec2:Describe* (3 of 120 actions) on *`,
/// `nothing` for none.
pub fn summary(grants: &[Grant], expand: &dyn Fn(&str) -> Vec<&'static str>) -> String {
    if grants.is_empty() {
        return "nothing".into();
    }
    let mut parts: Vec<String> = grants
        .iter()
        .take(SHOWN)
        .map(|g| {
            let r = &g.rule;
            let mut s = match g.actions.as_slice() {
                [one] if !r.action.contains(['*', '?']) => one.clone(),
                _ => r.action.clone(),
            };
            if r.action.contains(['*', '?']) {
                let all = actions_of(&r.action, expand).len();
                if g.actions.len() == all {
                    s.push_str(&format!(" ({all} actions)"));
                } else {
                    s.push_str(&format!(" ({} of {all} actions)", g.actions.len()));
                }
            }
            if !r.resource.is_empty() {
                s.push_str(&format!(" on {}", r.resource));
            }
            if !r.condition.is_empty() {
                s.push_str(" (with a condition)");
            }
            s
        })
        .collect();
    if grants.len() > SHOWN {
        parts.push(format!("and {} more", grants.len() - SHOWN));
    }
    parts.join(", ")
}

/// The JSON entries of grants, one action per entry, as `access::entries` gives them.
pub fn entries(grants: &[Grant]) -> serde_json::Value {
    let mut out = Vec::new();
    for g in grants {
        let condition: serde_json::Value = if g.rule.condition.is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&g.rule.condition).unwrap_or(serde_json::Value::Null)
        };
        for action in &g.actions {
            out.push(serde_json::json!({
                "effect": g.rule.effect.name(),
                "action": action,
                "resource": g.rule.resource,
                "condition": condition,
            }));
        }
    }
    serde_json::Value::Array(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::expand;

    const KOPS: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":["*"]},
        {"Effect":"Allow","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::state/cluster/*"]}]}"#;

    fn doc(statements: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":[{statements}]}}"#)
    }

    fn actions(grants: &[Grant]) -> Vec<(String, String)> {
        grants
            .iter()
            .flat_map(|g| {
                g.actions
                    .iter()
                    .map(|a| (a.clone(), g.rule.resource.clone()))
            })
            .collect()
    }

    #[test]
    fn an_action_kops_needs_that_nothing_allows_is_missing() {
        let actual = doc(
            r#"{"Effect":"Allow","Action":"ec2:DescribeInstances","Resource":"*"},
               {"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::state/cluster/*"}"#,
        );
        let a = compare(&[KOPS], &[&actual], &expand);
        assert_eq!(
            actions(&a.missing),
            vec![("ec2:DescribeRegions".into(), "*".into())]
        );
        assert!(a.extra.is_empty(), "{a:?}");
        assert_eq!(summary(&a.missing, &expand), "ec2:DescribeRegions on *");
    }

    #[test]
    fn a_managed_policys_ec2_star_covers_kops_ec2_actions_and_an_inline_policy_of_another_name_the_rest(
    ) {
        let managed = doc(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#);
        let other_inline =
            doc(r#"{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::state/*"}"#);
        let a = compare(&[KOPS], &[&managed, &other_inline], &expand);
        assert!(a.missing.is_empty(), "{a:?}");
        // ec2:* is wider than kops's two actions: the rest is extra, counted.
        assert_eq!(a.extra.len(), 2, "{a:?}");
        let all = expand("ec2:*").len();
        assert_eq!(a.extra[0].actions.len(), all - 2);
        assert!(summary(&a.extra, &expand)
            .starts_with(&format!("ec2:* ({} of {all} actions) on *", all - 2)));
        // The inline policy's wider path is extra too, as a whole.
        assert_eq!(
            actions(&a.extra[1..]),
            vec![("s3:GetObject".into(), "arn:aws:s3:::state/*".into())]
        );
    }

    #[test]
    fn s3_star_beyond_kops_s3_paths_is_extra() {
        let actual = doc(
            r#"{"Effect":"Allow","Action":["ec2:DescribeInstances","ec2:DescribeRegions"],"Resource":"*"},
               {"Effect":"Allow","Action":"s3:*","Resource":"*"}"#,
        );
        let a = compare(&[KOPS], &[&actual], &expand);
        assert!(a.missing.is_empty(), "{a:?}");
        let all = expand("s3:*").len();
        assert_eq!(a.extra.len(), 1);
        assert_eq!(a.extra[0].rule.action, "s3:*");
        // kops grants none of S3 on `*`: every action is extra.
        assert_eq!(a.extra[0].actions.len(), all);
        assert_eq!(
            summary(&a.extra, &expand),
            format!("s3:* ({all} actions) on *")
        );
        let json = entries(&a.extra);
        assert_eq!(json.as_array().unwrap().len(), all);
        assert_eq!(json[0]["effect"], "Allow");
    }

    #[test]
    fn a_deny_that_may_touch_a_needed_action_counts_it_missing() {
        let actual = doc(r#"{"Effect":"Allow","Action":"*","Resource":"*"},
               {"Effect":"Deny","Action":"s3:Get*","Resource":"arn:aws:s3:::state/*"}"#);
        let a = compare(&[KOPS], &[&actual], &expand);
        assert_eq!(
            actions(&a.missing),
            vec![("s3:GetObject".into(), "arn:aws:s3:::state/cluster/*".into())]
        );
        assert!(a.unclear.iter().any(|u| u.contains("Deny")), "{a:?}");
    }

    #[test]
    fn a_conditional_allow_does_not_cover_an_unconditional_need_and_not_action_is_unclear() {
        let actual = doc(
            r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*","Condition":{"StringEquals":{"aws:RequestedRegion":"eu-west-1"}}},
               {"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#,
        );
        let a = compare(&[KOPS], &[&actual], &expand);
        assert_eq!(actions(&a.missing).len(), 3, "{a:?}");
        assert!(a.unclear.iter().any(|u| u.contains("NotAction")), "{a:?}");
    }

    #[test]
    fn the_same_access_in_another_shape_is_neither_missing_nor_extra() {
        let a = compare(&[KOPS], &[KOPS], &expand);
        assert_eq!(a, EffectiveAccess::default());
        assert_eq!(summary(&a.missing, &expand), "nothing");
    }
}
