use super::*;
use crate::test_spec::cluster;

fn zone(id: &str, name: &str, private: Option<bool>) -> HostedZone {
    HostedZone {
        id: format!("/hostedzone/{id}"),
        name: name.into(),
        private,
    }
}

fn public(id: &str, name: &str) -> HostedZone {
    zone(id, name, Some(false))
}

fn private(id: &str, name: &str) -> HostedZone {
    zone(id, name, Some(true))
}

const BASE: &str = "  configBase: s3://state/c\n";

fn query_of(name: &str, extra: &str) -> ZoneQuery {
    query(&cluster(name, &format!("{BASE}{extra}"))).unwrap()
}

fn search(cluster: &str, dns_type: DnsType) -> ZoneQuery {
    ZoneQuery::Search {
        cluster: cluster.into(),
        dns_type,
    }
}

#[test]
fn an_id_is_used_as_given_with_route53s_prefix_trimmed() {
    for given in ["Z1ABC", "/hostedzone/Z1ABC", "hostedzone/Z1ABC", "/Z1ABC"] {
        let q = query_of("a.example.com", &format!("  dnsZone: {given:?}\n"));
        assert_eq!(q, ZoneQuery::Id("Z1ABC".into()), "{given}");
        assert!(!q.needs_lookup());
        assert_eq!(resolve(&q, &[]), Ok(Some("Z1ABC".into())));
    }
    // No "Z" prefix is required: LocalStack's ids need not start with one.
    let q = query_of("a.example.com", "  dnsZone: 0A1B2C\n");
    assert_eq!(q, ZoneQuery::Id("0A1B2C".into()));
}

#[test]
fn an_id_that_is_only_the_prefix_is_an_error() {
    let spec = cluster("a.example.com", &format!("{BASE}  dnsZone: /hostedzone/\n"));
    let err = query(&spec).unwrap_err();
    assert_eq!(err.field, FIELD);
    assert!(err.message.contains("\"/hostedzone/\""), "{err}");
}

#[test]
fn gossip_clusters_need_no_zone_even_with_a_dns_zone() {
    for extra in ["", "  dnsZone: Z1\n", "  dnsZone: example.com\n"] {
        let q = query_of("a.k8s.local", extra);
        assert_eq!(q, ZoneQuery::Gossip);
        assert_eq!(resolve(&q, &[public("Z1", "k8s.local.")]), Ok(None));
    }
}

#[test]
fn gossip_names_end_in_k8s_local() {
    assert!(is_gossip("example.k8s.local"));
    assert!(is_gossip("example.k8s.local."));
    assert!(is_gossip("k8s.local"));
    assert!(!is_gossip("examplek8s.local"));
    assert!(!is_gossip("example.k8s.local.com"));
    assert!(!is_gossip("example.com"));
}

#[test]
fn a_name_gets_a_trailing_dot_and_the_type_of_the_topology() {
    let q = query_of("a.example.com", "  dnsZone: example.com\n");
    assert_eq!(
        q,
        ZoneQuery::ByName {
            name: "example.com.".into(),
            private: false
        }
    );
    assert!(q.needs_lookup());
    let q = query_of(
        "a.example.com",
        "  dnsZone: internal.example.com.\n  topology:\n    dns:\n      type: Private\n",
    );
    assert_eq!(
        q,
        ZoneQuery::ByName {
            name: "internal.example.com.".into(),
            private: true
        }
    );
}

#[test]
fn no_dns_zone_searches_with_the_topologys_type() {
    assert_eq!(
        query_of("a.example.com", ""),
        search("a.example.com", DnsType::Public)
    );
    assert_eq!(
        query_of("a.example.com", "  topology: {dns: {type: Private}}\n"),
        search("a.example.com", DnsType::Private)
    );
}

fn by_name(name: &str, private: bool) -> ZoneQuery {
    ZoneQuery::ByName {
        name: name.into(),
        private,
    }
}

#[test]
fn a_name_finds_the_zone_of_that_exact_name_and_type() {
    let zones = [
        public("ZPUB", "example.com."),
        private("ZPRIV", "example.com."),
        public("ZSUB", "sub.example.com."),
        // Route53 compares names exactly; so does kops.
        public("ZUPPER", "Example.com."),
    ];
    assert_eq!(
        resolve(&by_name("example.com.", false), &zones),
        Ok(Some("ZPUB".into()))
    );
    assert_eq!(
        resolve(&by_name("example.com.", true), &zones),
        Ok(Some("ZPRIV".into()))
    );
    // A zone with no config counts as public for a name, as kops's BoolValue reads it.
    let bare = [zone("ZBARE", "example.com.", None)];
    assert_eq!(
        resolve(&by_name("example.com.", false), &bare),
        Ok(Some("ZBARE".into()))
    );
}

#[test]
fn a_name_of_the_other_type_is_an_error_naming_the_zone_left_out() {
    let zones = [private("ZPRIV", "internal.example.com.")];
    let err = resolve(&by_name("internal.example.com.", false), &zones).unwrap_err();
    assert_eq!(
        err,
        ZoneError::NameNotFound {
            name: "internal.example.com.".into(),
            dns_type: DnsType::Public,
            other_type: zones.to_vec(),
        }
    );
    assert_eq!(
        err.to_string(),
        "spec.dnsZone: no public hosted zone is named \"internal.example.com.\"; left out, as \
         spec.topology.dns.type is Public: internal.example.com. (ZPRIV, private). rolecall does \
         not create hosted zones as kops would: create it first, or set spec.dnsZone to an \
         existing zone's ID"
    );
    let none = resolve(&by_name("internal.example.com.", true), &[]).unwrap_err();
    assert!(none.to_string().starts_with(
        "spec.dnsZone: no private hosted zone is named \"internal.example.com.\". rolecall"
    ));
}

#[test]
fn two_zones_of_one_name_and_type_are_an_error_naming_both() {
    let zones = [public("ZA", "example.com."), public("ZB", "example.com.")];
    let err = resolve(&by_name("example.com.", false), &zones).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.dnsZone: 2 hosted zones are named \"example.com.\": example.com. (ZA, public), \
         example.com. (ZB, public). Set spec.dnsZone (or pass --dns-zone-id) to the ID of the \
         one to use"
    );
}

#[test]
fn the_search_takes_the_longest_suffix_of_the_clusters_type() {
    let zones = [
        public("ZCOM", "com."),
        public("ZEX", "example.com."),
        public("ZSUB", "sub.example.com."),
        private("ZDEEP", "a.sub.example.com."),
        public("ZOTHER", "other.com."),
    ];
    let public_search = search("a.sub.example.com", DnsType::Public);
    assert_eq!(resolve(&public_search, &zones), Ok(Some("ZSUB".into())));
    let private_search = search("a.sub.example.com", DnsType::Private);
    assert_eq!(resolve(&private_search, &zones), Ok(Some("ZDEEP".into())));
    // A zone with no config passes the type filter.
    let bare = [zone("ZBARE", "example.com.", None)];
    assert_eq!(resolve(&private_search, &bare), Ok(Some("ZBARE".into())));
}

#[test]
fn the_search_matches_whole_labels_only() {
    let zones = [public("ZAMPLE", "ample.com.")];
    let err = resolve(&search("a.example.com", DnsType::Public), &zones).unwrap_err();
    assert!(matches!(err, ZoneError::NoneFound { .. }), "{err:?}");
    // A zone named as the cluster itself matches.
    let own = [public("ZOWN", "a.example.com.")];
    assert_eq!(
        resolve(&search("a.example.com", DnsType::Public), &own),
        Ok(Some("ZOWN".into()))
    );
}

#[test]
fn trailing_dots_do_not_matter_to_the_search() {
    let zones = [public("ZEX", "example.com."), public("ZNODOT", "b.com")];
    for cluster in ["a.example.com", "a.example.com."] {
        assert_eq!(
            resolve(&search(cluster, DnsType::Public), &zones),
            Ok(Some("ZEX".into()))
        );
    }
    assert_eq!(
        resolve(&search("a.b.com.", DnsType::Public), &zones),
        Ok(Some("ZNODOT".into()))
    );
}

#[test]
fn a_tie_is_an_error_naming_the_zones_with_their_ids() {
    let zones = [
        public("ZA", "example.com."),
        public("ZB", "example.com."),
        public("ZCOM", "com."),
    ];
    let err = resolve(&search("a.example.com", DnsType::Public), &zones).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.dnsZone: is not set, and 2 hosted zones match cluster \"a.example.com\" equally: \
         example.com. (ZA, public), example.com. (ZB, public). Set spec.dnsZone (or pass \
         --dns-zone-id) to the ID of the one to use"
    );
}

#[test]
fn no_match_names_the_names_searched_and_the_zones_of_the_other_type() {
    let zones = [
        private("ZPRIV", "example.com."),
        public("ZOTHER", "other.com."),
    ];
    let err = resolve(&search("a.example.com", DnsType::Public), &zones).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.dnsZone: is not set, and no public hosted zone matches cluster \"a.example.com\": \
         none is named a.example.com, example.com, com; left out, as spec.topology.dns.type is \
         Public: example.com. (ZPRIV, private). Create one (e.g. \"example.com\") first, or set \
         spec.dnsZone to a zone's name or ID"
    );
    let err = resolve(&search("a.example.com", DnsType::Private), &[]).unwrap_err();
    assert_eq!(
        err.to_string(),
        "spec.dnsZone: is not set, and no private hosted zone matches cluster \"a.example.com\": \
         none is named a.example.com, example.com, com. Create one (e.g. \"example.com\") first, \
         or set spec.dnsZone to a zone's name or ID"
    );
}

/// kops 1.10 compares the type exactly: anything but `Public` or `Private` is its
/// `Unknown DNS type`, reported where it is written.
#[test]
fn the_dns_type_is_public_or_private_exactly() {
    use crate::spec::{parse_documents_as, SourceFile};
    let parse = |kind: &str| {
        let body = format!("{BASE}  topology:\n    dns:\n      type: {kind}\n");
        let text = crate::test_spec::cluster_text("a.example.com", &body);
        parse_documents_as(
            &[SourceFile {
                path: "c.yaml".into(),
                text,
            }],
            Some(crate::spec::Generation::Kops110),
        )
    };
    assert_eq!(parse("Public").unwrap().dns_type, DnsType::Public);
    assert_eq!(parse("Private").unwrap().dns_type, DnsType::Private);
    for bad in ["private", "PUBLIC", "Internal"] {
        let errors = parse(bad).unwrap_err();
        assert_eq!(
            errors.to_string(),
            format!("c.yaml:10:13: spec.topology.dns.type: unknown DNS type {bad:?}: use Public or Private"),
        );
    }
}
