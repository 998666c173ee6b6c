//! Which kops release's IAM to build: 1.10's or 1.36's.
//!
//! The two differ in both directions (1.10's legacy policies grant `ec2:*`, 1.36's control
//! plane grants some 80 actions 1.10 never heard of), so a wrong guess narrows a running
//! cluster either way. The rule therefore never guesses: `--kops-version` decides, and
//! without it the spec must tell, through facts that exist in one release only:
//! - `spec.kubernetesVersion`: kops 1.10 runs Kubernetes up to 1.10; kops 1.36 refuses
//!   anything older than 1.31. A version in between belongs to a kops release rolecall
//!   does not build.
//! - `spec.iam.legacy: true` exists only up to kops 1.18.
//! - the fields and values of [`super::LATER_FIELDS`] exist only from kops 1.18 on.
//!
//! Signals that disagree, or none at all, are an error that names them.

use std::fmt;

use super::later_releases::{self, find, Tree};
use super::raw::At;
use super::validate::Checker;
use super::{InputError, SourceLocation};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Generation {
    #[default]
    Kops110,
    Kops136,
}

impl Generation {
    pub const ALL: [Generation; 2] = [Generation::Kops110, Generation::Kops136];

    /// As `--kops-version` takes it.
    pub fn version(self) -> &'static str {
        match self {
            Generation::Kops110 => "1.10",
            Generation::Kops136 => "1.36",
        }
    }

    pub fn from_version(s: &str) -> Option<Generation> {
        Generation::ALL.into_iter().find(|g| g.version() == s)
    }
}

impl fmt::Display for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "kops {}", self.version())
    }
}

/// The generation and why: shown in the plan's header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Chosen {
    pub generation: Generation,
    pub reason: String,
}

/// One fact of the spec that belongs to one generation.
pub(super) struct Signal {
    generation: Generation,
    what: String,
    at: SourceLocation,
}

/// The oldest Kubernetes kops 1.36 runs (`OldestSupportedKubernetesVersion`).
const KOPS_136_OLDEST: (u64, u64) = (1, 31);
/// The newest Kubernetes kops 1.10 runs.
const KOPS_110_NEWEST: (u64, u64) = (1, 10);

/// `v1.31.0` or `1.10.6` as (major, minor).
fn major_minor(version: &str) -> Option<(u64, u64)> {
    let v = version.trim().trim_start_matches('v');
    let mut parts = v.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

/// The facts of one document (`kind` Cluster or InstanceGroup) that belong to one
/// generation. A Kubernetes version of neither is an error unless `requested` decides.
pub(super) fn signals(
    c: &mut Checker,
    kind: &str,
    tree: &At<Tree>,
    requested: Option<Generation>,
) -> Vec<Signal> {
    let mut signals = Vec::new();
    if kind == "Cluster" {
        if let Some((_, v)) = find(tree, "spec.kubernetesVersion") {
            if let Tree::Scalar(text) = &v.value {
                let at = c.loc(v);
                let what = format!("spec.kubernetesVersion {text}");
                match major_minor(text) {
                    Some(mm) if mm <= KOPS_110_NEWEST => signals.push(Signal {
                        generation: Generation::Kops110,
                        what,
                        at,
                    }),
                    Some(mm) if mm >= KOPS_136_OLDEST => signals.push(Signal {
                        generation: Generation::Kops136,
                        what,
                        at,
                    }),
                    _ if requested.is_some() => {}
                    Some(_) => c.error(
                        v,
                        "spec.kubernetesVersion",
                        format!(
                            "{text} is run by kops releases 1.11 to 1.35, whose IAM rolecall does not build; pass --kops-version 1.10 or 1.36 to choose the IAM to build"
                        ),
                    ),
                    None => c.error(
                        v,
                        "spec.kubernetesVersion",
                        format!("{text:?} is not a Kubernetes version such as 1.31.0"),
                    ),
                }
            }
        }
        if let Some((_, v)) = find(tree, "spec.iam.legacy") {
            if matches!(&v.value, Tree::Scalar(s) if s == "true") {
                signals.push(Signal {
                    generation: Generation::Kops110,
                    what: "spec.iam.legacy: true".into(),
                    at: c.loc(v),
                });
            }
        }
    }
    for (field, at) in later_releases::found(tree, kind) {
        signals.push(Signal {
            generation: Generation::Kops136,
            what: format!("{} (kops {} and later)", field.path, field.release),
            at: c.loc(at),
        });
    }
    signals
}

/// Decides the generation from `requested` (the flag) and every document's signals. A
/// generation is always returned, so that the other checks still run.
pub(super) fn choose(
    signals: &[Signal],
    requested: Option<Generation>,
    cluster_at: &SourceLocation,
    errors: &mut Vec<InputError>,
) -> Chosen {
    if let Some(generation) = requested {
        return Chosen {
            generation,
            reason: "chosen by --kops-version".into(),
        };
    }
    let first_of = |g: Generation| signals.iter().find(|s| s.generation == g);
    match (first_of(Generation::Kops110), first_of(Generation::Kops136)) {
        (Some(old), Some(new)) => {
            errors.push(InputError::at(
                new.at.clone(),
                "spec",
                format!(
                    "the spec mixes kops releases: {} ({}) belongs to kops 1.10, {} to kops 1.36; pass --kops-version 1.10 or 1.36 to choose the IAM to build",
                    old.what, old.at, new.what
                ),
            ));
            Chosen::default()
        }
        (Some(s), None) | (None, Some(s)) => Chosen {
            generation: s.generation,
            reason: format!("inferred from {} at {}", s.what, s.at),
        },
        // A Kubernetes version of neither release has been reported already.
        (None, None)
            if errors
                .iter()
                .any(|e| e.field.as_deref() == Some("spec.kubernetesVersion")) =>
        {
            Chosen::default()
        }
        (None, None) => {
            errors.push(InputError::at(
                cluster_at.clone(),
                "spec.kubernetesVersion",
                "is missing, and nothing else in the spec tells which kops made the cluster; set it (kops always writes it) or pass --kops-version 1.10 or 1.36",
            ));
            Chosen::default()
        }
    }
}
