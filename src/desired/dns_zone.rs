//! Which Route53 hosted zone the masters' (and legacy nodes') policy names, decided as
//! kops 1.10 does. Pure: [`query`] says what to ask Route53 from the spec alone, and
//! [`resolve`] picks the zone from what Route53 answered; `cloud::route53` does the reads.
//!
//! kops 1.10's rule (pkg/dns/gossip.go, upup/pkg/fi/cloudup/utils.go `FindDNSHostedZone`,
//! awstasks/dnszone.go `findExisting`):
//! - a gossip cluster (`<name>.k8s.local`) has no zone, and no Route53 statements;
//! - a `dnsZone` without a `.` is a zone ID, used as given (`/hostedzone/` trimmed);
//! - a `dnsZone` with a `.` is a zone name: ListHostedZonesByName, then the zones of exactly
//!   that name (trailing dot added) whose private flag is `topology.dns.type == Private`;
//! - no `dnsZone`: every zone (ListHostedZones, all pages) whose name is a label-aligned
//!   suffix of the cluster name, of the spec's DNS type when the zone says its type, the
//!   longest winning. None, or a tie, is an error.

use std::fmt;

use crate::spec::{ClusterSpec, DnsType};

use super::BuildError;

/// The field every message here is about.
pub const FIELD: &str = "spec.dnsZone";

/// The zone ID the desired state is first built with when the zone must be looked up, so
/// that every other input error is found before any AWS call. The build is repeated with
/// the real ID once it is known, and that build's checks (the policy size among them) are
/// the ones that count.
pub const STAND_IN_ID: &str = "ZLOOKEDUPLATER";

/// What to ask Route53 for the cluster's hosted zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneQuery {
    /// A gossip cluster: no zone, no Route53 statements.
    Gossip,
    /// A zone ID, `/hostedzone/` trimmed: no lookup.
    Id(String),
    /// A zone name, with its trailing dot: ListHostedZonesByName, the exact name, and a
    /// private zone exactly when `private`.
    ByName { name: String, private: bool },
    /// No `dnsZone`: every zone, for the longest suffix of the cluster name of this type.
    Search { cluster: String, dns_type: DnsType },
}

impl ZoneQuery {
    /// Whether Route53 must be asked.
    pub fn needs_lookup(&self) -> bool {
        matches!(self, ZoneQuery::ByName { .. } | ZoneQuery::Search { .. })
    }
}

/// kops's own test for gossip names: `<anything>.k8s.local`, with a trailing dot allowed.
pub fn is_gossip(cluster: &str) -> bool {
    dotted(cluster).ends_with(".k8s.local")
}

/// A zone ID as kops reads one: a leading `/` and then `hostedzone/` trimmed. None when
/// nothing is left.
pub fn zone_id(given: &str) -> Option<&str> {
    let trimmed = given.strip_prefix('/').unwrap_or(given);
    let id = trimmed.strip_prefix("hostedzone/").unwrap_or(trimmed);
    (!id.is_empty()).then_some(id)
}

/// What the spec asks for. The one error is a `dnsZone` that is only `/hostedzone/`.
pub fn query(spec: &ClusterSpec) -> Result<ZoneQuery, BuildError> {
    // kops 1.36 publishes no records for `topology.dns.type: None` either.
    let no_dns = spec.kops136.as_ref().is_some_and(|k| k.dns_none);
    if is_gossip(&spec.name) || no_dns {
        return Ok(ZoneQuery::Gossip);
    }
    match spec.dns_zone.as_deref() {
        None => Ok(ZoneQuery::Search {
            cluster: spec.name.clone(),
            dns_type: spec.dns_type,
        }),
        Some(name) if name.contains('.') => Ok(ZoneQuery::ByName {
            name: if name.ends_with('.') {
                name.to_string()
            } else {
                format!("{name}.")
            },
            private: spec.dns_type == DnsType::Private,
        }),
        Some(given) => match zone_id(given) {
            Some(id) => Ok(ZoneQuery::Id(id.to_string())),
            None => Err(BuildError {
                field: FIELD.into(),
                message: format!("{given:?} names no hosted zone ID"),
            }),
        },
    }
}

/// A hosted zone as Route53 lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedZone {
    /// As Route53 gives it (`/hostedzone/Z1D633PJN98FT9`) or bare.
    pub id: String,
    /// With Route53's trailing dot.
    pub name: String,
    /// `Config.PrivateZone`; None when the zone has no config, which kops's type filter
    /// lets through.
    pub private: Option<bool>,
}

impl HostedZone {
    fn bare_id(&self) -> &str {
        zone_id(&self.id).unwrap_or(&self.id)
    }

    fn dns_type(&self) -> Option<DnsType> {
        self.private
            .map(|p| if p { DnsType::Private } else { DnsType::Public })
    }
}

/// Why no zone could be chosen. Every variant names the zones it saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZoneError {
    /// No `dnsZone`, and no zone of the spec's type is a suffix of the cluster name.
    NoneFound {
        cluster: String,
        dns_type: DnsType,
        /// Matching zones of the other type, left out.
        other_type: Vec<HostedZone>,
    },
    /// No `dnsZone`, and several zones are the longest suffix.
    Tie {
        cluster: String,
        zones: Vec<HostedZone>,
    },
    /// No zone of that name and type.
    NameNotFound {
        name: String,
        dns_type: DnsType,
        other_type: Vec<HostedZone>,
    },
    /// Several zones of that name and type.
    NameTie {
        name: String,
        zones: Vec<HostedZone>,
    },
}

/// The zone's ID from what Route53 answered for `query`: None for a gossip cluster.
pub fn resolve(query: &ZoneQuery, zones: &[HostedZone]) -> Result<Option<String>, ZoneError> {
    match query {
        ZoneQuery::Gossip => Ok(None),
        ZoneQuery::Id(id) => Ok(Some(id.clone())),
        ZoneQuery::ByName { name, private } => {
            let (kept, other_type): (Vec<_>, Vec<_>) = zones
                .iter()
                .filter(|z| z.name == *name)
                .cloned()
                .partition(|z| z.private.unwrap_or(false) == *private);
            let dns_type = if *private {
                DnsType::Private
            } else {
                DnsType::Public
            };
            match kept.as_slice() {
                [one] => Ok(Some(one.bare_id().to_string())),
                [] => Err(ZoneError::NameNotFound {
                    name: name.clone(),
                    dns_type,
                    other_type,
                }),
                _ => Err(ZoneError::NameTie {
                    name: name.clone(),
                    zones: kept,
                }),
            }
        }
        ZoneQuery::Search { cluster, dns_type } => {
            let cluster_dotted = dotted(cluster);
            let (kept, other_type): (Vec<_>, Vec<_>) = zones
                .iter()
                .filter(|z| cluster_dotted.ends_with(&dotted(&z.name)))
                .cloned()
                .partition(|z| z.dns_type().is_none_or(|t| t == *dns_type));
            let longest = kept.iter().map(|z| dotted(&z.name).len()).max();
            let best: Vec<HostedZone> = kept
                .into_iter()
                .filter(|z| Some(dotted(&z.name).len()) == longest)
                .collect();
            match best.as_slice() {
                [one] => Ok(Some(one.bare_id().to_string())),
                [] => Err(ZoneError::NoneFound {
                    cluster: cluster.clone(),
                    dns_type: *dns_type,
                    other_type,
                }),
                _ => Err(ZoneError::Tie {
                    cluster: cluster.clone(),
                    zones: best,
                }),
            }
        }
    }
}

/// `.` and the name without its trailing dot: kops compares names this way so that a
/// suffix must start at a label (`ample.com` is no suffix of `example.com`).
fn dotted(name: &str) -> String {
    format!(".{}", name.strip_suffix('.').unwrap_or(name))
}

/// The names a zone of the cluster may have: the cluster name and each of its suffixes
/// that starts at a label.
fn searched_names(cluster: &str) -> Vec<&str> {
    let name = cluster.strip_suffix('.').unwrap_or(cluster);
    let mut out = vec![name];
    out.extend(name.match_indices('.').map(|(i, _)| &name[i + 1..]));
    out
}

fn type_word(t: DnsType) -> &'static str {
    match t {
        DnsType::Public => "public",
        DnsType::Private => "private",
    }
}

fn type_value(t: DnsType) -> &'static str {
    match t {
        DnsType::Public => "Public",
        DnsType::Private => "Private",
    }
}

/// The zones a lookup left out for being of the other type, if any, after a `;`.
fn left_out(
    f: &mut fmt::Formatter<'_>,
    dns_type: DnsType,
    other_type: &[HostedZone],
) -> fmt::Result {
    if other_type.is_empty() {
        return Ok(());
    }
    let (kind, zones) = (type_value(dns_type), Zones(other_type));
    write!(
        f,
        "; left out, as spec.topology.dns.type is {kind}: {zones}"
    )
}

/// `example.com. (Z1D633PJN98FT9, private), ...`
struct Zones<'a>(&'a [HostedZone]);

impl fmt::Display for Zones<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, z) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} ({}", z.name, z.bare_id())?;
            if let Some(t) = z.dns_type() {
                write!(f, ", {}", type_word(t))?;
            }
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl fmt::Display for ZoneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{FIELD}: ")?;
        match self {
            ZoneError::NoneFound {
                cluster,
                dns_type,
                other_type,
            } => {
                let names = searched_names(cluster);
                let example = names
                    .len()
                    .checked_sub(2)
                    .and_then(|i| names.get(i))
                    .unwrap_or(&names[0]);
                write!(
                    f,
                    "is not set, and no {} hosted zone matches cluster {cluster:?}: none is named {}",
                    type_word(*dns_type),
                    names.join(", ")
                )?;
                left_out(f, *dns_type, other_type)?;
                write!(
                    f,
                    ". Create one (e.g. {example:?}) first, or set {FIELD} to a zone's name or ID"
                )
            }
            ZoneError::Tie { cluster, zones } => write!(
                f,
                "is not set, and {} hosted zones match cluster {cluster:?} equally: {}. Set {FIELD} \
                 (or pass --dns-zone-id) to the ID of the one to use",
                zones.len(),
                Zones(zones)
            ),
            ZoneError::NameNotFound {
                name,
                dns_type,
                other_type,
            } => {
                write!(
                    f,
                    "no {} hosted zone is named {name:?}",
                    type_word(*dns_type)
                )?;
                left_out(f, *dns_type, other_type)?;
                write!(
                    f,
                    ". rolecall does not create hosted zones as kops would: create it first, \
                     or set {FIELD} to an existing zone's ID"
                )
            }
            ZoneError::NameTie { name, zones } => write!(
                f,
                "{} hosted zones are named {name:?}: {}. Set {FIELD} (or pass --dns-zone-id) \
                 to the ID of the one to use",
                zones.len(),
                Zones(zones)
            ),
        }
    }
}

impl std::error::Error for ZoneError {}

#[cfg(test)]
mod tests;
