//! `--lifecycle-overrides`, in kops's syntax and more: `Type=Lifecycle` for every object of a
//! type, as kops has it, and `Type/name=Lifecycle` for one object, which kops cannot do.
//! Unknown types, objects and lifecycles are errors that list the valid ones (kops
//! silently accepts an unknown type). Without the flag, `KOPS_LIFECYCLE_OVERRIDES` is read,
//! the variable kops binds to it.

pub use crate::model::Overrides;
use crate::model::{DesiredState, Lifecycle, ResourceId, ResourceType};
use crate::spec::InputError;

const FLAG: &str = Overrides::FLAG;
pub const ENV: &str = Overrides::ENV;

/// The types an override may name. Managed policy attachments are not among them: they
/// follow their role, and kops has no such task (its attachments belong to IAMRolePolicy).
fn valid_types() -> String {
    ResourceType::ALL
        .into_iter()
        .filter(|t| *t != ResourceType::IamRolePolicyAttachment)
        .map(|t| t.name())
        .collect::<Vec<_>>()
        .join(", ")
}

fn valid_lifecycles() -> String {
    Lifecycle::ALL.map(|l| l.name()).join(", ")
}

/// The run's overrides: the flag's when it is given at all, otherwise the variable's, as
/// viper lets a flag that was set win over its variable. viper hands a string slice its
/// variable split at white space, while the flag's syntax separates entries with commas:
/// the variable takes either.
pub fn run_overrides(flag: &[String], env: Option<&str>) -> Result<Overrides, InputError> {
    match env {
        Some(value) if flag.is_empty() => {
            let entries = value.split(|c: char| c == ',' || c.is_whitespace());
            Ok(Overrides {
                from_env: true,
                ..parse_entries(ENV, entries)?
            })
        }
        _ => parse_overrides(flag),
    }
}

/// Parses the flag's values: each a comma-separated list of `Target=Lifecycle`.
pub fn parse_overrides(values: &[String]) -> Result<Overrides, InputError> {
    parse_entries(FLAG, values.iter().flat_map(|v| v.split(',')))
}

/// Parses `Target=Lifecycle` entries; errors name `source`, the flag or the variable.
fn parse_entries<'a>(
    source: &str,
    entries: impl Iterator<Item = &'a str>,
) -> Result<Overrides, InputError> {
    let mut overrides = Overrides::default();
    for entry in entries.map(str::trim).filter(|e| !e.is_empty()) {
        let Some((target, lifecycle)) = entry.split_once('=') else {
            return Err(InputError::general(
                source,
                format!("{entry:?} is not Type=Lifecycle or Type/name=Lifecycle, such as IAMRole=ExistsAndWarnIfChanges"),
            ));
        };
        let lifecycle = Lifecycle::from_name(lifecycle.trim()).ok_or_else(|| {
            InputError::general(
                source,
                format!(
                    "unknown lifecycle {:?} in {entry:?}; valid lifecycles are {}",
                    lifecycle.trim(),
                    valid_lifecycles()
                ),
            )
        })?;
        let target = target.trim();
        let (type_name, object) = match target.split_once('/') {
            Some((t, name)) => (t, Some(name)),
            None => (target, None),
        };
        let kind = ResourceType::from_name(type_name).ok_or_else(|| {
            InputError::general(
                source,
                format!(
                    "unknown type {type_name:?} in {entry:?}; valid types are {}",
                    valid_types()
                ),
            )
        })?;
        if kind == ResourceType::IamRolePolicyAttachment {
            return Err(InputError::general(
                source,
                format!("{entry:?}: managed policy attachments follow their role's lifecycle, and kops has no such type; override the role instead (IAMRole=... or IAMRole/<name>=...)"),
            ));
        }
        match object {
            None => {
                overrides.by_type.insert(kind, lifecycle);
            }
            Some("") => {
                return Err(InputError::general(
                    source,
                    format!("{entry:?} names no object after {type_name}/"),
                ));
            }
            Some(name) => {
                overrides
                    .by_object
                    .insert(ResourceId::new(kind, name), lifecycle);
            }
        }
    }
    Ok(overrides)
}

/// Sets each object's lifecycle: an object override wins over a type override, which wins
/// over the builder's. A type override does not make an externally owned object writable:
/// only an override naming that object can.
pub fn apply_overrides(
    desired: &mut DesiredState,
    overrides: &Overrides,
) -> Result<(), InputError> {
    for id in overrides.by_object.keys() {
        // A stray pod role or a removed group's IAM (in the account, no longer in the spec)
        // is found only once the account is read; the plan says if such an override then
        // names nothing.
        let may_be_stray = matches!(id.kind, ResourceType::IamRole | ResourceType::IamRolePolicy)
            && desired.pod_role_scope.contains(&id.name);
        if !desired.contains(id) && !may_be_stray && !desired.names_removed_group(id) {
            let known: Vec<String> = desired
                .ids()
                .into_iter()
                .filter(|d| d.kind == id.kind)
                .map(|d| d.to_string())
                .collect();
            return Err(InputError::general(
                overrides.source(),
                format!(
                    "{id} is not an object of this cluster; the {} objects are: {}",
                    id.kind.name(),
                    if known.is_empty() {
                        "(none)".to_string()
                    } else {
                        known.join(", ")
                    }
                ),
            ));
        }
    }
    desired.overrides = overrides.clone();
    desired.for_each_lifecycle(|id, external, lifecycle| {
        if let Some(l) = overrides.by_object.get(id) {
            *lifecycle = *l;
        } else if let Some(l) = overrides.by_type.get(&id.kind) {
            if !external || !l.writes() {
                *lifecycle = *l;
            }
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Overrides, String> {
        parse_overrides(&[s.to_string()]).map_err(|e| e.to_string())
    }

    #[test]
    fn kops_syntax_sets_whole_types() {
        let o = parse("IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges").unwrap();
        assert_eq!(o.by_type.len(), 3);
        assert_eq!(
            o.by_type[&ResourceType::IamRole],
            Lifecycle::ExistsAndWarnIfChanges
        );
        assert!(o.by_object.is_empty());
    }

    #[test]
    fn one_object_can_be_named() {
        let o = parse("IAMRolePolicy/additional.nodes.example.com=Ignore").unwrap();
        assert_eq!(
            o.by_object
                [&ResourceId::new(ResourceType::IamRolePolicy, "additional.nodes.example.com")],
            Lifecycle::Ignore
        );
    }

    #[test]
    fn repeated_flags_add_up() {
        let o = parse_overrides(&[
            "IAMRole=Ignore".into(),
            "IAMInstanceProfile=ExistsAndValidates".into(),
        ])
        .unwrap();
        assert_eq!(o.by_type.len(), 2);
    }

    #[test]
    fn an_unknown_type_lists_the_valid_ones() {
        assert_eq!(
            parse("IAMUser=Ignore").unwrap_err(),
            "--lifecycle-overrides: unknown type \"IAMUser\" in \"IAMUser=Ignore\"; valid types are IAMInstanceProfile, IAMInstanceProfileRole, IAMOIDCProvider, IAMRole, IAMRolePolicy"
        );
    }

    fn flag(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| v.to_string()).collect()
    }

    #[test]
    fn the_variable_is_read_only_without_the_flag() {
        let from_env = run_overrides(&[], Some("IAMRole=Ignore")).unwrap();
        assert_eq!(from_env.by_type[&ResourceType::IamRole], Lifecycle::Ignore);
        assert!(from_env.from_env);
        let from_flag = run_overrides(&flag(&["IAMRolePolicy=Ignore"]), Some("IAMRole=Ignore"));
        let from_flag = from_flag.unwrap();
        assert_eq!(from_flag.by_type.len(), 1);
        assert_eq!(
            from_flag.by_type[&ResourceType::IamRolePolicy],
            Lifecycle::Ignore
        );
        assert!(!from_flag.from_env);
        // A flag given empty is still given, as pflag marks it changed.
        assert!(run_overrides(&flag(&[""]), Some("IAMRole=Ignore"))
            .unwrap()
            .is_empty());
        assert!(run_overrides(&[], None).unwrap().is_empty());
    }

    #[test]
    fn the_variable_takes_commas_as_the_flag_and_white_space_as_viper() {
        let o = run_overrides(
            &[],
            Some("IAMRole=Ignore,IAMRolePolicy=ExistsAndValidates IAMInstanceProfile=Ignore\n"),
        )
        .unwrap();
        assert_eq!(o.by_type.len(), 3);
        assert!(run_overrides(&[], Some("")).unwrap().is_empty());
    }

    #[test]
    fn errors_in_the_variable_name_the_variable() {
        assert_eq!(
            run_overrides(&[], Some("IAMRole=sync")).unwrap_err().to_string(),
            "KOPS_LIFECYCLE_OVERRIDES: unknown lifecycle \"sync\" in \"IAMRole=sync\"; valid lifecycles are Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates, ExistsAndWarnIfChanges"
        );
    }

    #[test]
    fn an_unknown_lifecycle_lists_the_valid_ones() {
        assert_eq!(
            parse("IAMRole=Skip").unwrap_err(),
            "--lifecycle-overrides: unknown lifecycle \"Skip\" in \"IAMRole=Skip\"; valid lifecycles are Sync, Ignore, WarnIfInsufficientAccess, ExistsAndValidates, ExistsAndWarnIfChanges"
        );
    }

    #[test]
    fn attachments_follow_their_role_and_cannot_be_overridden() {
        for entry in [
            "IAMRolePolicyAttachment=Ignore",
            "IAMRolePolicyAttachment/nodes.c/arn:aws:iam::aws:policy/ReadOnlyAccess=Ignore",
        ] {
            assert!(parse(entry)
                .unwrap_err()
                .contains("managed policy attachments follow their role's lifecycle"));
        }
        assert!(!valid_types().contains("IAMRolePolicyAttachment"));
    }

    #[test]
    fn lifecycle_names_are_case_sensitive_as_in_kops() {
        assert!(parse("IAMRole=sync").is_err());
    }

    #[test]
    fn a_malformed_entry_is_an_error() {
        assert_eq!(
            parse("IAMRole").unwrap_err(),
            "--lifecycle-overrides: \"IAMRole\" is not Type=Lifecycle or Type/name=Lifecycle, such as IAMRole=ExistsAndWarnIfChanges"
        );
        assert!(parse("IAMRole/=Ignore").is_err());
    }
}

#[cfg(test)]
mod apply_tests {
    use super::*;
    use crate::model::ExternalProfile;
    use crate::test_spec::cluster;

    fn state() -> DesiredState {
        let spec = cluster(
            "example.k8s.local",
            "  configBase: s3://state/example.k8s.local\n",
        );
        let mut state = crate::desired::desired_state(&spec).unwrap();
        let external = ExternalProfile {
            arn: "arn:aws:iam::123456789012:instance-profile/custom".into(),
            name: "custom".into(),
            groups: vec!["workers".into()],
            role_kind: "nodes".into(),
            expected_trust_policy: "{}".into(),
            expected_policy: "{}".into(),
            expected_additional_policy: None,
        };
        state.adopt_external_profile(&external, Some("custom-role"));
        state
    }

    fn lifecycle(state: &DesiredState, id: &str) -> Lifecycle {
        let (kind, name) = id.split_once('/').unwrap();
        state
            .lifecycle_of(&ResourceId::new(
                ResourceType::from_name(kind).unwrap(),
                name,
            ))
            .unwrap()
    }

    /// Each object's lifecycle, given as `Type/name=Lifecycle` separated by spaces, checked
    /// so that a failure names the object.
    fn expect_lifecycles(state: &DesiredState, expected: &str) {
        for entry in expected.split_whitespace() {
            let (id, want) = entry.split_once('=').unwrap();
            let want = Lifecycle::from_name(want).unwrap();
            assert_eq!(lifecycle(state, id), want, "{id}");
        }
    }

    fn overrides(s: &str) -> Overrides {
        parse_overrides(&[s.to_string()]).unwrap()
    }

    #[test]
    fn external_objects_are_only_checked_by_default() {
        let state = state();
        expect_lifecycles(
            &state,
            "IAMRole/custom-role=ExistsAndWarnIfChanges \
             IAMRolePolicy/custom-role=ExistsAndWarnIfChanges \
             IAMInstanceProfile/custom=ExistsAndWarnIfChanges \
             IAMRole/nodes.example.k8s.local=Sync",
        );
    }

    #[test]
    fn a_type_override_applies_to_every_managed_object_of_that_type() {
        let mut state = state();
        apply_overrides(&mut state, &overrides("IAMRolePolicy=ExistsAndValidates")).unwrap();
        expect_lifecycles(
            &state,
            "IAMRolePolicy/nodes.example.k8s.local=ExistsAndValidates \
             IAMRolePolicy/custom-role=ExistsAndValidates \
             IAMRole/nodes.example.k8s.local=Sync",
        );
    }

    #[test]
    fn a_type_override_never_makes_an_external_object_writable() {
        let mut state = state();
        apply_overrides(
            &mut state,
            &overrides("IAMRole=Sync,IAMRolePolicy=WarnIfInsufficientAccess"),
        )
        .unwrap();
        expect_lifecycles(
            &state,
            "IAMRole/custom-role=ExistsAndWarnIfChanges \
             IAMRolePolicy/custom-role=ExistsAndWarnIfChanges",
        );
    }

    #[test]
    fn an_object_override_wins_over_a_type_override() {
        let mut state = state();
        apply_overrides(
            &mut state,
            &overrides("IAMRolePolicy=Ignore,IAMRolePolicy/additional.nodes.example.k8s.local=Sync,IAMRolePolicy/custom-role=Sync"),
        )
        .unwrap();
        expect_lifecycles(
            &state,
            "IAMRolePolicy/nodes.example.k8s.local=Ignore \
             IAMRolePolicy/additional.nodes.example.k8s.local=Sync \
             IAMRolePolicy/custom-role=Sync",
        );
    }

    #[test]
    fn an_unknown_object_lists_the_objects_of_its_type() {
        let mut state = state();
        let e = apply_overrides(
            &mut state,
            &overrides("IAMInstanceProfile/nodes.example.com=Ignore"),
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "--lifecycle-overrides: IAMInstanceProfile/nodes.example.com is not an object of this cluster; the IAMInstanceProfile objects are: IAMInstanceProfile/masters.example.k8s.local, IAMInstanceProfile/nodes.example.k8s.local, IAMInstanceProfile/bastions.example.k8s.local, IAMInstanceProfile/custom"
        );
    }
}
