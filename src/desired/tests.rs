use super::*;
use crate::model::Lifecycle;
use crate::test_spec::cluster;

const STATE: &str = "  configBase: s3://state/example.k8s.local\n  iam:\n    legacy: false\n";

#[test]
fn each_role_gets_a_role_policies_a_profile_and_a_link() {
    let state = desired_state(&cluster("example.k8s.local", STATE)).unwrap();
    let roles: Vec<&str> = state.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        roles,
        [
            "masters.example.k8s.local",
            "nodes.example.k8s.local",
            "bastions.example.k8s.local"
        ]
    );
    let policies: Vec<(&str, bool)> = state
        .role_policies
        .iter()
        .map(|p| (p.name.as_str(), p.document.is_some()))
        .collect();
    assert_eq!(
        policies,
        [
            ("masters.example.k8s.local", true),
            ("additional.masters.example.k8s.local", false),
            ("nodes.example.k8s.local", true),
            ("additional.nodes.example.k8s.local", false),
            ("bastions.example.k8s.local", true),
            ("additional.bastions.example.k8s.local", false),
        ]
    );
    assert_eq!(state.instance_profiles.len(), 3);
    for link in &state.profile_roles {
        assert_eq!(
            link.profile, link.role,
            "kops names the profile after its role"
        );
    }
    assert!(state
        .roles
        .iter()
        .all(|r| r.lifecycle == Lifecycle::Sync && r.path == "/"));
}

#[test]
fn the_trust_policy_is_kops_template_to_the_byte() {
    let state = desired_state(&cluster("example.k8s.local", STATE)).unwrap();
    assert_eq!(
        state.roles[0].trust_policy,
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Principal\": { \"Service\": \"ec2.amazonaws.com\"},\n      \"Action\": \"sts:AssumeRole\"\n    }\n  ]\n}"
    );
}

#[test]
fn china_regions_trust_the_china_ec2_principal() {
    let body = format!("{STATE}  subnets:\n  - name: a\n    zone: cn-north-1a\n");
    let state = desired_state(&cluster("example.k8s.local", &body)).unwrap();
    assert!(state.roles[0]
        .trust_policy
        .contains("\"ec2.amazonaws.com.cn\""));
}

#[test]
fn created_objects_carry_the_cluster_ownership_tags() {
    let state = desired_state(&cluster("example.k8s.local", STATE)).unwrap();
    let expected = Tags::from([
        (
            "KubernetesCluster".to_string(),
            "example.k8s.local".to_string(),
        ),
        (
            "kubernetes.io/cluster/example.k8s.local".to_string(),
            "owned".to_string(),
        ),
    ]);
    assert!(state.roles.iter().all(|r| r.tags == expected));
    assert!(state.instance_profiles.iter().all(|p| p.tags == expected));
}

#[test]
fn an_additional_policy_is_desired_only_for_its_role() {
    let body = format!(
        "{STATE}  additionalPolicies:\n    node: '[{{\"Effect\": \"Allow\", \"Action\": \"sqs:*\", \"Resource\": \"*\"}}]'\n"
    );
    let state = desired_state(&cluster("example.k8s.local", &body)).unwrap();
    let with_doc: Vec<&str> = state
        .role_policies
        .iter()
        .filter(|p| p.name.starts_with("additional.") && p.document.is_some())
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(with_doc, ["additional.nodes.example.k8s.local"]);
}

#[test]
fn groups_with_their_own_instance_profile_get_no_managed_role() {
    let text = "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: example.k8s.local\nspec:\n  cloudProvider: aws\n  configBase: s3://state/example.k8s.local\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: nodes\nspec:\n  role: Node\n  iam:\n    profile: arn:aws:iam::123456789012:instance-profile/custom\n---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: master\nspec:\n  role: Master\n";
    let spec = crate::spec::parse_documents_as(
        &[crate::spec::SourceFile {
            path: "c.yaml".into(),
            text: text.into(),
        }],
        Some(crate::spec::Generation::Kops110),
    )
    .unwrap();
    let state = desired_state(&spec).unwrap();
    let roles: Vec<&str> = state.roles.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(roles, ["masters.example.k8s.local"]);
}

#[test]
fn a_role_name_over_64_characters_is_an_error_with_the_figure() {
    let name = format!("{}.k8s.local", "a".repeat(50));
    let errors = desired_state(&cluster(&name, STATE)).unwrap_err();
    let text = errors.to_string();
    assert!(
        text.contains(&format!(
            "metadata.name: the role name \"masters.{name}\" is 68 characters long; IAM allows at most 64"
        )),
        "{text}"
    );
    assert!(text.starts_with("test.yaml:2:7: "), "{text}");
}

#[test]
fn inline_policies_over_10240_characters_are_an_error_naming_the_role_and_size() {
    let resources: Vec<String> = (0..300)
        .map(|i| format!("\"arn:aws:s3:::bucket-number-{i:04}/*\""))
        .collect();
    let body = format!(
        "{STATE}  additionalPolicies:\n    node: '[{{\"Effect\": \"Allow\", \"Action\": \"s3:GetObject\", \"Resource\": [{}]}}]'\n",
        resources.join(", ")
    );
    let spec = cluster("example.k8s.local", &body);
    let main = kops_policy::role_policy(&spec, InstanceRole::Node).unwrap();
    let additional = kops_policy::additional_policy(&spec, InstanceRole::Node).unwrap();
    let total = policy::compact_len(&main) + policy::compact_len(&additional);
    assert!(total > MAX_ROLE_INLINE_POLICY_SIZE);
    let text = desired_state(&spec).unwrap_err().to_string();
    assert_eq!(
        text,
        format!(
            "test.yaml:11:11: spec.additionalPolicies.node: the inline policies of role nodes.example.k8s.local add up to {total} characters without white space; IAM allows at most 10240"
        )
    );
}

/// A cluster whose two instance groups (name, role) name one instance profile, read from c.yaml.
fn groups_on_one_profile(arn: &str, groups: [(&str, &str); 2]) -> crate::spec::ClusterSpec {
    let mut text = "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: example.k8s.local\nspec:\n  cloudProvider: aws\n  configBase: s3://state/example.k8s.local\n".to_string();
    for (name, role) in groups {
        text += &format!("---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: {name}\nspec:\n  role: {role}\n  iam:\n    profile: {arn}\n");
    }
    crate::spec::parse_documents_as(
        &[crate::spec::SourceFile {
            path: "c.yaml".into(),
            text,
        }],
        Some(crate::spec::Generation::Kops110),
    )
    .unwrap()
}

#[test]
fn groups_of_two_roles_on_one_profile_are_an_error() {
    let arn = "arn:aws:iam::123456789012:instance-profile/shared";
    let spec = groups_on_one_profile(arn, [("nodes", "Node"), ("bastions", "Bastion")]);
    assert_eq!(
        desired_state(&spec).unwrap_err().to_string(),
        format!("c.yaml:19:7: spec.iam.profile: instance groups nodes (Node) and bastions (Bastion) share the instance profile {arn}; a profile holds one role, so groups of different roles need different profiles")
    );
}

#[test]
fn groups_of_one_role_may_share_a_profile() {
    let arn = "arn:aws:iam::123456789012:instance-profile/shared";
    let spec = groups_on_one_profile(arn, [("nodes-a", "Node"), ("nodes-b", "Node")]);
    let state = desired_state(&spec).unwrap();
    assert!(state.roles.is_empty());
    assert_eq!(state.external_profiles.len(), 1);
    assert_eq!(state.external_profiles[0].name, "shared");
    assert_eq!(state.external_profiles[0].groups, ["nodes-a", "nodes-b"]);
}

/// A legacy cluster's masters and nodes both name the hosted zone: a bad `dnsZone` is one
/// error, not one per role.
#[test]
fn a_bad_zone_is_reported_once_for_all_roles() {
    let body = "  configBase: s3://state/c\n  dnsZone: /hostedzone/\n";
    let errors = desired_state(&cluster("example.com", body)).unwrap_err();
    assert_eq!(errors.0.len(), 1, "{errors}");
    assert_eq!(errors.0[0].field.as_deref(), Some("spec.dnsZone"));
}

#[test]
fn the_kinds_no_group_has_are_removed_groups_by_kops_names() {
    let all = desired_state(&cluster("example.k8s.local", STATE)).unwrap();
    // kops 1.10 has no API-server groups, so they are never a removed kind.
    assert!(all.removed_groups.is_empty(), "{:?}", all.removed_groups);
    let text = crate::test_spec::cluster_text("example.k8s.local", STATE);
    let without_bastions: String = text
        .split_inclusive("---\n")
        .filter(|doc| !doc.contains("role: Bastion"))
        .collect();
    let spec = crate::spec::parse_documents_as(
        &[crate::spec::SourceFile {
            path: "test.yaml".into(),
            text: without_bastions.trim_end_matches("---\n").to_string(),
        }],
        Some(crate::spec::Generation::Kops110),
    )
    .unwrap();
    let state = desired_state(&spec).unwrap();
    assert_eq!(state.removed_groups, ["bastions.example.k8s.local"]);
    assert!(state.roles.iter().all(|r| !r.name.starts_with("bastions.")));
}
