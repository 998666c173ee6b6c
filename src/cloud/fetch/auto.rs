//! What `--fetch auto` reads with: the strategy whose reads take fewer round trips, from the
//! calls per object would send and the account's size, which a bulk read pays for.
//!
//! Per object sends about four calls a role, concurrently: about calls / concurrency round
//! trips. Bulk sends one GetAccountAuthorizationDetails page per 1,000 roles of the
//! account, one after the other (each needs the last one's marker), and IAM takes longer to
//! build a longer page: a round trip per page plus one per `ROLES_PER_ROUND_TRIP` roles on
//! it. A small cluster in a large account is read per object; a large one, in bulk.

use super::{wanted_roles, FetchStrategy};
use crate::cloud::Cloud;
use crate::model::DesiredState;

/// Up to this many roles, per object whatever the account: it costs about 80 calls, a few
/// round trips, and needs no look at the account's size.
pub const BULK_ABOVE_ROLES: usize = 20;

/// The roles in a full GetAccountAuthorizationDetails page (its MaxItems at most).
const ROLES_PER_PAGE: usize = 1000;

/// How many roles on a page cost IAM as long to build as one more round trip. A model: a
/// round trip of 50 ms (IAM's global endpoint from another continent) and LocalStack's own
/// cost to build a role's details, about 0.75 ms, measured in the benchmark
/// (docs/performance.md, "Large accounts as IAM pages them").
const ROLES_PER_ROUND_TRIP: usize = 66;

/// IAM's most roles per account (its quota, raised as far as it goes): the dearest bulk
/// read there can be.
const MOST_ROLES: usize = 10_000;

/// Round trips of a per-object read of `calls` calls at `concurrency`: a role's reads are
/// a chain of three (GetRole, the lists, its policies), so never fewer than three.
fn per_object_round_trips(calls: usize, concurrency: usize) -> usize {
    calls.div_ceil(concurrency.max(1)).max(3)
}

/// Round trips of a bulk read of an account of `roles` roles: its pages, one after the
/// other, and their build time.
fn bulk_round_trips(roles: usize) -> usize {
    roles.div_ceil(ROLES_PER_PAGE).max(1) + roles / ROLES_PER_ROUND_TRIP
}

/// The calls a per-object read of `desired` sends, counting each policy the spec names as
/// present: GetRole, ListRolePolicies and ListAttachedRolePolicies where a role is read
/// whole, GetRolePolicy for each policy, GetInstanceProfile for each profile.
fn per_object_calls(desired: &DesiredState) -> usize {
    let roles: usize = wanted_roles(desired)
        .values()
        .map(|w| {
            usize::from(w.read_role)
                + usize::from(w.attachments)
                + usize::from(w.all_policies)
                + w.policies.len()
        })
        .sum();
    roles + desired.instance_profiles.len()
}

/// Auto's choice when it needs no look at the account: per object for a small cluster,
/// bulk when per object would cost more even than the largest account's pages; `None`
/// when the account's size decides.
fn without_account_size(roles: usize, calls: usize, concurrency: usize) -> Option<FetchStrategy> {
    if roles <= BULK_ABOVE_ROLES {
        Some(FetchStrategy::PerObject)
    } else if per_object_round_trips(calls, concurrency) > bulk_round_trips(MOST_ROLES) {
        Some(FetchStrategy::Bulk)
    } else {
        None
    }
}

/// Auto's choice for an account of `account_roles` roles (`None`: unknown, and bulk, as it
/// was before the account's size was looked at).
fn with_account_size(
    calls: usize,
    concurrency: usize,
    account_roles: Option<usize>,
) -> FetchStrategy {
    match account_roles {
        Some(roles) if per_object_round_trips(calls, concurrency) <= bulk_round_trips(roles) => {
            FetchStrategy::PerObject
        }
        _ => FetchStrategy::Bulk,
    }
}

impl Cloud {
    /// Auto made concrete for `desired`: one GetAccountSummary, only when the account's size
    /// can change the answer (a round trip, where the choice saves several).
    pub(super) async fn choose_fetch(&self, desired: &DesiredState) -> FetchStrategy {
        let calls = per_object_calls(desired);
        if let Some(strategy) = without_account_size(desired.roles.len(), calls, self.concurrency) {
            return strategy;
        }
        let roles = self.account_roles().await;
        let strategy = with_account_size(calls, self.concurrency, roles);
        tracing::debug!(?roles, calls, ?strategy, "--fetch auto");
        strategy
    }

    /// How many roles the account holds (GetAccountSummary), or `None` when it cannot say.
    async fn account_roles(&self) -> Option<usize> {
        let send = self.iam.get_account_summary().send();
        match self.call("GetAccountSummary", send).await {
            Ok(out) => out
                .summary_map()
                .and_then(|m| m.get(&aws_sdk_iam::types::SummaryKeyType::Roles))
                .and_then(|n| usize::try_from(*n).ok()),
            Err(e) => {
                let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e).unwrap_or("no code");
                tracing::debug!("the account's size is unknown ({code}): reading in bulk");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A cluster of `roles` roles, each read whole with one inline policy: four calls a role.
    fn calls(roles: usize) -> usize {
        4 * roles
    }

    #[test]
    fn a_small_cluster_is_read_per_object_without_looking_at_the_account() {
        assert_eq!(
            without_account_size(20, calls(20), 8),
            Some(FetchStrategy::PerObject)
        );
    }

    #[test]
    fn a_large_cluster_is_read_in_bulk_without_looking_at_the_account() {
        // 1,000 roles at 8: 500 round trips per object, more than any account's pages.
        assert_eq!(
            without_account_size(1000, calls(1000), 8),
            Some(FetchStrategy::Bulk)
        );
    }

    #[test]
    fn between_the_two_the_account_decides() {
        assert_eq!(without_account_size(30, calls(30), 8), None);
        // 30 roles: 15 round trips per object; 10 pages of 10,000 roles cost far more.
        assert_eq!(
            with_account_size(calls(30), 8, Some(10_000)),
            FetchStrategy::PerObject
        );
        // In an account of 140 roles, one light page.
        assert_eq!(
            with_account_size(calls(30), 8, Some(140)),
            FetchStrategy::Bulk
        );
    }

    #[test]
    fn an_account_that_will_not_say_its_size_is_read_in_bulk() {
        assert_eq!(with_account_size(calls(30), 8, None), FetchStrategy::Bulk);
    }

    #[test]
    fn lower_concurrency_makes_per_object_dearer() {
        // 100 roles in 2,000: per object 50 round trips at 8, 400 at 1; bulk 2 + 30.
        assert_eq!(
            with_account_size(calls(100), 8, Some(2_000)),
            FetchStrategy::Bulk
        );
        assert_eq!(
            with_account_size(calls(100), 64, Some(2_000)),
            FetchStrategy::PerObject
        );
    }
}
