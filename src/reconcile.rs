//! The pipeline, without printing: spec -> desired -> read -> plan, returned as an
//! [`Outcome`] for the CLI to render and apply, or an [`Error`] for it to report. Like a
//! kube-rs controller's `reconcile`, the error policy (messages, exit codes) lives apart.

pub mod pod_roles;

use std::borrow::Cow;
use std::path::PathBuf;

use crate::cloud::{Cloud, ConnectOptions, FetchStrategy};
use crate::desired::dns_zone::{self, ZoneQuery};
use crate::desired::pod_roles::PodRoleSummary;
use crate::error::Error;
use crate::lifecycle::{self, Overrides};
use crate::model::{ActualState, DesiredState};
use crate::plan::Plan;
use crate::rolling::StaleInstance;
use crate::spec::{ClusterSpec, InstanceRole};
use crate::{desired, lint, plan, policy, rolling, spec};

use pod_roles::BaseRoles;

/// The target of the pipeline's logs: the one they had when the CLI ran the pipeline, so
/// that log lines and `RUST_LOG` filters stay as they were.
const LOG_TARGET: &str = "rolecall::cli";

/// A spec that passed every check that needs no AWS call, and its desired state.
#[derive(Debug)]
pub struct Checked {
    pub cluster: ClusterSpec,
    pub desired: DesiredState,
}

/// Reads the spec, validates it, builds the desired state (with a stand-in hosted zone ID
/// when the zone is to be looked up in Route53) and checks the pod roles with a stand-in
/// account: everything the input can get wrong is found before the first AWS call. Every
/// command starts here.
pub fn load(files: &[PathBuf], requested: Option<spec::Generation>) -> Result<Checked, Error> {
    let cluster = spec::load_files(files, requested)?;
    let desired = desired::desired_state(&with_stand_in_zone(&cluster))?;
    pod_roles::check_before_any_call(&cluster)?;
    Ok(Checked { cluster, desired })
}

/// The spec to build before the hosted zone is known: its `dnsZone` a stand-in ID when the
/// zone is to be looked up. A `dnsZone` that is no ID at all stays, for the build to report.
fn with_stand_in_zone(cluster: &ClusterSpec) -> Cow<'_, ClusterSpec> {
    match dns_zone::query(cluster) {
        Ok(query) if query.needs_lookup() => Cow::Owned(ClusterSpec {
            dns_zone: Some(dns_zone::STAND_IN_ID.into()),
            ..cluster.clone()
        }),
        _ => Cow::Borrowed(cluster),
    }
}

/// The hosted zone found as kops 1.10 finds it (or `--dns-zone-id`), put in the spec as an
/// ID, and the desired state built again with it. Nothing to do for a gossip cluster or a
/// spec that gives the ID. Reads Route53 only when the zone must be looked up.
pub async fn with_hosted_zone(
    cloud: &Cloud,
    checked: Checked,
    given_id: Option<&str>,
) -> Result<Checked, Error> {
    let query = match dns_zone::query(&checked.cluster) {
        Ok(ZoneQuery::Gossip) => {
            if given_id.is_some() {
                tracing::warn!(target: LOG_TARGET, "--dns-zone-id is ignored: {} is a gossip cluster, which has no hosted zone", checked.cluster.name);
            }
            return Ok(checked);
        }
        Ok(query) => query,
        // `load` refused it already.
        Err(_) => return Ok(checked),
    };
    let id = match given_id {
        Some(id) => id.to_string(),
        None if !query.needs_lookup() => return Ok(checked),
        None => {
            let zones = match &query {
                ZoneQuery::ByName { name, .. } => cloud.hosted_zones_named(name).await?,
                _ => cloud.hosted_zones().await?,
            };
            // Only a gossip cluster resolves to no zone, and it returned above.
            let Some(id) = dns_zone::resolve(&query, &zones)? else {
                return Ok(checked);
            };
            tracing::info!(target: LOG_TARGET, zone = %id, "found the cluster's hosted zone");
            id
        }
    };
    let cluster = ClusterSpec {
        dns_zone: Some(id),
        ..checked.cluster
    };
    let desired = desired::desired_state(&cluster)?;
    Ok(Checked { cluster, desired })
}

/// Connects to AWS; the spec's region is the fallback when the standard chain has none, and
/// the region of the cluster's instances.
pub async fn connect(
    cluster: &ClusterSpec,
    endpoint_url: Option<String>,
    options: ConnectOptions,
) -> Result<Cloud, Error> {
    let cloud = Cloud::connect(&ConnectOptions {
        endpoint_url,
        fallback_region: cluster.region.clone(),
        cluster_region: cluster.region.clone(),
        ..options
    })
    .await?;
    Ok(cloud)
}

/// The pod roles as `annotations` prints them: in the account given, with no AWS call, or
/// else in the account of the credentials, connected to with `connect`'s arguments.
pub async fn pod_role_summary(
    checked: Checked,
    account: Option<&str>,
    endpoint_url: Option<String>,
    options: ConnectOptions,
) -> Result<PodRoleSummary, Error> {
    let Checked {
        cluster,
        mut desired,
    } = checked;
    if let Some(account) = account {
        return Ok(pod_roles::in_given_account(
            &cluster,
            account,
            &mut desired,
        )?);
    }
    let cloud = connect(&cluster, endpoint_url, options).await?;
    // The annotations name only the application roles: the account is all they need.
    let base = BaseRoles::FromSpec;
    pod_roles::in_callers_account(&cloud, &cluster, &mut desired, base).await
}

/// How to plan, from the flags.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `--lifecycle-overrides`, parsed.
    pub overrides: Overrides,
    pub fetch: FetchStrategy,
    /// `--strict`: the lint's findings (security patterns, unknown actions) are errors.
    pub strict: bool,
    /// `--dns-zone-id`: the hosted zone's ID, instead of the spec's `dnsZone` or a lookup.
    pub dns_zone_id: Option<String>,
    /// The plan's options (`--remove-extra-inline-policies`).
    pub plan: plan::PlanOptions,
}

/// What a run found: everything `update` prints, in text or JSON.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The cluster's name.
    pub cluster: String,
    pub plan: Plan,
    /// The pod roles, for the notes on what they need outside IAM.
    pub pods: PodRoleSummary,
    /// Running instances whose instance profile is not their group's.
    pub stale: Vec<StaleInstance>,
    /// The kops release whose IAM the plan builds, and why.
    pub generation: spec::Chosen,
    /// The access each change adds and removes, in the order of `plan.changes`.
    pub access: Vec<Option<crate::access::AccessDiff>>,
    /// The effective access of the roles rolecall does not own or only checks, compared
    /// with what kops would grant them (docs/access.md).
    pub effective: Vec<crate::access::effective::RoleAccess>,
}

impl Outcome {
    /// `--yes` writes only a plan that has changes and no errors.
    pub fn may_apply(&self) -> bool {
        self.plan.has_changes() && self.plan.errors.is_empty()
    }

    /// The changes that may grant access they did not, with what they add: what
    /// `--deny-new-access` refuses.
    pub fn widening(&self) -> Vec<(&crate::plan::Change, &crate::access::AccessDiff)> {
        self.plan
            .changes
            .iter()
            .zip(&self.access)
            .filter_map(|(c, a)| a.as_ref().filter(|a| a.widens()).map(|a| (c, a)))
            .collect()
    }
}

/// Reads the account and plans. Nothing is written.
pub async fn reconcile(
    cloud: &Cloud,
    checked: Checked,
    settings: &Settings,
) -> Result<Outcome, Error> {
    let Checked {
        cluster,
        mut desired,
    } = with_hosted_zone(cloud, checked, settings.dns_zone_id.as_deref()).await?;
    // The role in an instance profile the spec names is known only once the profile is read;
    // pod roles trust it and object overrides can name it, so both come after this read, and
    // before any write.
    let mut known = ActualState::default();
    for (profile, found) in cloud.read_external_profiles(&desired).await? {
        desired.adopt_external_profile(&profile, found.roles.first().map(String::as_str));
        known.instance_profiles.insert(found.name.clone(), found);
    }
    let pods =
        pod_roles::in_callers_account(cloud, &cluster, &mut desired, BaseRoles::Resolved).await?;
    lifecycle::apply_overrides(&mut desired, &settings.overrides)?;
    // The spec's own documents were checked as it was read; this also covers what rolecall
    // generates, so that IAM never refuses a document half-way through an apply.
    let invalid = policy::grammar::check_desired(&desired);
    if !invalid.is_empty() {
        return Err(Error::Documents(invalid));
    }
    if settings.plan.teardown {
        return teardown(cloud, cluster, &desired, known, settings).await;
    }
    // The instances to roll depend on the spec alone: list them while the account is read.
    let (actual, stale) = tokio::join!(
        cloud.fetch(&desired, known, settings.fetch),
        stale_instances(cloud, &cluster)
    );
    // The roles rolecall does not own or only checks: everything that grants them access,
    // for the effective-access report.
    let actual = cloud.read_granting_policies(&desired, actual?).await?;
    let mut plan = plan::plan_with(&desired, &actual, settings.plan);
    let mut kops_policies: std::collections::BTreeSet<String> = InstanceRole::ALL
        .map(|r| desired::group_role_name(&cluster, r))
        .into_iter()
        .collect();
    if let (spec::Generation::Kops136, Some(k)) = (cluster.generation.generation, &cluster.kops136)
    {
        kops_policies.extend(desired::kops136::service_accounts::addon_role_names(
            &cluster, k,
        ));
    }
    lint::add_to_plan(
        &mut plan,
        lint::lint(&desired),
        settings.strict,
        &kops_policies,
    );
    tracing::debug!(target: LOG_TARGET, calls = ?cloud.call_counts(), "read the account");
    let access = crate::access::analyze(&plan);
    let effective = crate::access::effective::analyze(&desired, &actual, &crate::access::expand);
    Ok(Outcome {
        cluster: cluster.name,
        plan,
        pods,
        stale,
        generation: cluster.generation,
        access,
        effective,
    })
}

/// `delete`: the same read, and the plan of deleting what the cluster owns. What concerns
/// the objects' future (the lint, the effective access, the instances to roll, the notes
/// on what pod roles need outside IAM) is left out.
async fn teardown(
    cloud: &Cloud,
    cluster: ClusterSpec,
    desired: &DesiredState,
    known: ActualState,
    settings: &Settings,
) -> Result<Outcome, Error> {
    let actual = cloud.fetch(desired, known, settings.fetch).await?;
    let plan = plan::plan_with(desired, &actual, settings.plan);
    tracing::debug!(target: LOG_TARGET, calls = ?cloud.call_counts(), "read the account");
    let access = crate::access::analyze(&plan);
    Ok(Outcome {
        cluster: cluster.name,
        plan,
        pods: PodRoleSummary::default(),
        stale: Vec::new(),
        generation: cluster.generation,
        access,
        effective: Vec::new(),
    })
}

/// The instances to roll. Listing them needs EC2 read access, which an IAM-only role may
/// lack: then it is a warning, not a failure.
async fn stale_instances(cloud: &Cloud, cluster: &ClusterSpec) -> Vec<StaleInstance> {
    match cloud.cluster_instances(&cluster.name).await {
        Ok(instances) => rolling::stale_instances(cluster, &instances),
        Err(e) => {
            tracing::warn!(target: LOG_TARGET, "could not list the cluster's instances to find those that need a rolling update: {e}");
            Vec::new()
        }
    }
}
