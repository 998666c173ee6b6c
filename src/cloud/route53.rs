//! Route53: the hosted zones kops 1.10 reads to find the cluster's zone, as
//! `desired::dns_zone` asks for them. Reads only.

use crate::desired::dns_zone::HostedZone;

use super::error::cloud_error;
use super::{Cloud, CloudError};

/// What a failed read is about, and how to do without it.
const WHY: &str =
    "to find the cluster's hosted zone (an ID in spec.dnsZone or --dns-zone-id needs no lookup)";

impl Cloud {
    /// Every hosted zone of the account, every page: ListHostedZones, as kops's search by
    /// cluster name reads them.
    pub async fn hosted_zones(&self) -> Result<Vec<HostedZone>, CloudError> {
        let target = || format!("hosted zones, {WHY}");
        let mut pages = self.route53.list_hosted_zones().into_paginator().send();
        let mut zones = Vec::new();
        while let Some(page) = self
            .next_page("ListHostedZones", target, pages.next())
            .await?
        {
            zones.extend(page.hosted_zones().iter().map(zone_of));
        }
        Ok(zones)
    }

    /// The zones Route53 lists from `name` on: one ListHostedZonesByName call, not paged, as
    /// kops made it (the zones of exactly that name come first).
    pub async fn hosted_zones_named(&self, name: &str) -> Result<Vec<HostedZone>, CloudError> {
        let send = self
            .route53
            .list_hosted_zones_by_name()
            .dns_name(name)
            .send();
        let page = self
            .call("ListHostedZonesByName", send)
            .await
            .map_err(|e| {
                cloud_error(
                    "ListHostedZonesByName",
                    format!("hosted zones named {name}, {WHY}"),
                    e,
                )
            })?;
        Ok(page.hosted_zones().iter().map(zone_of).collect())
    }
}

fn zone_of(zone: &aws_sdk_route53::types::HostedZone) -> HostedZone {
    HostedZone {
        id: zone.id().to_string(),
        name: zone.name().to_string(),
        private: zone.config().map(|c| c.private_zone()),
    }
}
