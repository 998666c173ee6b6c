//! Which running instances need a rolling update: those whose instance profile is not the one
//! their instance group now has (a group moved to an existing profile, or back). An instance
//! keeps the profile it was launched with, so IAM changes alone do not reach it.

use std::collections::BTreeMap;

use crate::desired::group_role_name;
use crate::spec::ClusterSpec;

/// A running instance of the cluster, as EC2 describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInstance {
    pub id: String,
    /// The `kops.k8s.io/instancegroup` tag.
    pub group: String,
    /// The ARN of the instance profile it runs with, if any.
    pub profile_arn: Option<String>,
}

/// An instance to roll, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleInstance {
    pub id: String,
    pub group: String,
    /// The profile it runs with (a name), or `None`.
    pub current: Option<String>,
    pub expected: String,
}

/// The instance profile each instance group should run with, by group name.
pub fn expected_profiles(spec: &ClusterSpec) -> BTreeMap<String, String> {
    spec.instance_groups
        .iter()
        .map(|ig| {
            let profile = match &ig.profile {
                Some(arn) => profile_name(arn).to_string(),
                None => group_role_name(spec, ig.role),
            };
            (ig.name.clone(), profile)
        })
        .collect()
}

/// Instances whose profile differs from their group's, sorted by group then id. Instances of
/// groups the spec does not have are left out: they are not this spec's to judge.
pub fn stale_instances(spec: &ClusterSpec, instances: &[ClusterInstance]) -> Vec<StaleInstance> {
    let expected = expected_profiles(spec);
    let mut stale: Vec<StaleInstance> = instances
        .iter()
        .filter_map(|i| {
            let want = expected.get(&i.group)?;
            let current = i.profile_arn.as_deref().map(profile_name);
            (current != Some(want.as_str())).then(|| StaleInstance {
                id: i.id.clone(),
                group: i.group.clone(),
                current: current.map(str::to_string),
                expected: want.clone(),
            })
        })
        .collect();
    stale.sort_by(|a, b| (&a.group, &a.id).cmp(&(&b.group, &b.id)));
    stale
}

/// `arn:aws:iam::123456789012:instance-profile/path/name` -> `name`.
fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The section printed after the plan, or nothing when no instance is stale.
pub fn render(stale: &[StaleInstance]) -> String {
    if stale.is_empty() {
        return String::new();
    }
    let mut out = String::from(
        "Instances that need a rolling update (their instance profile is not their group's):\n",
    );
    for s in stale {
        out.push_str(&format!(
            "  {} ({})\t{} -> {}\n",
            s.id,
            s.group,
            s.current.as_deref().unwrap_or("(no instance profile)"),
            s.expected
        ));
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{parse_documents_as, SourceFile};

    fn spec() -> ClusterSpec {
        let text = "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: c.k8s.local\nspec:\n  cloudProvider: aws\n  configBase: s3://state/c.k8s.local\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\nspec:\n  role: Node\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: gpu\nspec:\n  role: Node\n  iam:\n    profile: arn:aws:iam::123456789012:instance-profile/team/gpu-nodes\n";
        parse_documents_as(
            &[SourceFile {
                path: "c.yaml".into(),
                text: text.into(),
            }],
            Some(crate::spec::Generation::Kops110),
        )
        .unwrap()
    }

    fn instance(id: &str, group: &str, profile: Option<&str>) -> ClusterInstance {
        ClusterInstance {
            id: id.into(),
            group: group.into(),
            profile_arn: profile.map(|p| format!("arn:aws:iam::123456789012:instance-profile/{p}")),
        }
    }

    #[test]
    fn managed_groups_expect_kops_names_and_others_their_own_profile() {
        let expected = expected_profiles(&spec());
        assert_eq!(expected["nodes"], "nodes.c.k8s.local");
        assert_eq!(expected["gpu"], "gpu-nodes");
    }

    #[test]
    fn only_instances_on_another_profile_are_listed() {
        let instances = [
            instance("i-1", "nodes", Some("nodes.c.k8s.local")),
            instance("i-2", "nodes", Some("old-nodes")),
            instance("i-3", "gpu", None),
            instance("i-4", "gpu", Some("team/gpu-nodes")),
            instance("i-5", "removed-group", Some("anything")),
        ];
        let stale = stale_instances(&spec(), &instances);
        let ids: Vec<&str> = stale.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["i-3", "i-2"]);
        assert_eq!(
            render(&stale),
            "Instances that need a rolling update (their instance profile is not their group's):\n  i-3 (gpu)\t(no instance profile) -> gpu-nodes\n  i-2 (nodes)\told-nodes -> nodes.c.k8s.local\n\n"
        );
        assert_eq!(render(&[]), "");
    }
}
