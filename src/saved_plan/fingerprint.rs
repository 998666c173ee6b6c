//! Fingerprints: what a touched object looked like when the plan was made, as a digest per
//! field the plan depends on, so that `apply` can tell whether it is still so and name what
//! changed. Built from what was read; comparing them needs no I/O.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::sha256_hex;
use super::touched::Touched;
use crate::model::{ActualInstanceProfile, ActualOidcProvider, ActualRole};

/// An object's state when read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase", deny_unknown_fields)]
pub enum Fingerprint {
    Absent,
    /// The read was refused for lack of access: nothing is known but that.
    Denied,
    /// The SHA-256 of each field's value, as JSON (a digest, so that documents stay out of
    /// the file twice and a change in any byte shows).
    Present {
        fields: BTreeMap<String, String>,
    },
}

/// What a read of a touched object found.
#[derive(Debug, Clone, Copy)]
pub enum Seen<'a> {
    Absent,
    Denied,
    Role(&'a ActualRole),
    /// An inline policy's document, decoded.
    Policy(&'a str),
    Profile(&'a ActualInstanceProfile),
    /// Whether the managed policy is attached to the role.
    Attached(bool),
    Provider(&'a ActualOidcProvider),
}

/// One touched object and its fingerprint, as the file holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fingerprinted {
    pub object: Touched,
    pub fingerprint: Fingerprint,
}

fn digest(value: impl Serialize) -> String {
    sha256_hex(
        serde_json::to_string(&value)
            .expect("plain values serialise")
            .as_bytes(),
    )
}

impl Fingerprint {
    /// The fields each kind of object is fingerprinted by: what the plan compared or what
    /// decides whether rolecall may write it (tags). A role's inline policies and
    /// attachments are objects of their own.
    pub fn of(seen: Seen<'_>) -> Fingerprint {
        let fields: Vec<(&str, String)> = match seen {
            Seen::Absent | Seen::Attached(false) => return Fingerprint::Absent,
            Seen::Denied => return Fingerprint::Denied,
            Seen::Role(r) => vec![
                ("path", digest(&r.path)),
                ("trust_policy", digest(&r.trust_policy)),
                ("tags", digest(&r.tags)),
                ("permissions_boundary", digest(&r.permissions_boundary)),
            ],
            Seen::Policy(document) => vec![("document", digest(document))],
            Seen::Profile(p) => vec![("roles", digest(&p.roles)), ("tags", digest(&p.tags))],
            Seen::Attached(true) => vec![("attached", digest(true))],
            Seen::Provider(p) => vec![
                ("client_ids", digest(&p.client_ids)),
                ("tags", digest(&p.tags)),
            ],
        };
        Fingerprint::Present {
            fields: fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
        }
    }

    /// How the object changed since `planned`, in words, or `None` when it is as it was. A
    /// read refused both times is taken as unchanged, as `update --yes` would go on too.
    pub fn changed_since(&self, planned: &Fingerprint) -> Option<String> {
        use Fingerprint::*;
        match (planned, self) {
            (a, b) if a == b => None,
            (Absent, Present { .. }) => Some("was absent when planned, now exists".into()),
            (Present { .. }, Absent) => Some("existed when planned, now absent".into()),
            (_, Denied) => Some("can no longer be read (access denied)".into()),
            (Denied, _) => Some("could not be read when planned, now can".into()),
            (Present { fields: was }, Present { fields: now }) => {
                let changed: Vec<&str> = was
                    .keys()
                    .chain(now.keys())
                    .filter(|k| was.get(*k) != now.get(*k))
                    .map(String::as_str)
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect();
                Some(format!("{} changed since planned", changed.join(", ")))
            }
            (Absent, Absent) => None,
        }
    }
}

/// Each object of `planned` whose state `now` differs, with how; an object `now` lacks
/// (never read) counts as changed.
pub fn stale(planned: &[Fingerprinted], now: &BTreeMap<Touched, Fingerprint>) -> Vec<String> {
    planned
        .iter()
        .filter_map(|p| {
            let what = match now.get(&p.object) {
                Some(f) => f.changed_since(&p.fingerprint)?,
                None => "was not read again".into(),
            };
            Some(format!("{}: {what}", p.object))
        })
        .collect()
}
