//! rolecall's IAM against what kops 1.10.0's own integration tests expect.
//!
//! Each case is one directory of tests/fixtures/kops-1.10.0-integration (see its README): a
//! kops `v1alpha2` input copied verbatim from kops's `tests/integration/update_cluster/`, and
//! the IAM kops's test expects from it. The input goes verbatim through rolecall's parser.
//! kops resolves the cluster's hosted zone in Route53 (its harness mocks three zones);
//! rolecall cannot yet, so the test sets `dns_zone` to the id kops's harness resolves, then
//! builds the desired state. No AWS is needed.
//!
//! - CloudFormation cases: every role's trust policy and inline policy equal kops's
//!   `AWS::IAM::Role` and `AWS::IAM::Policy` documents as JSON values (so string-or-list
//!   shapes count), statement by statement in kops's order, with kops's statement counts;
//!   and one instance profile per role, holding it.
//! - Terraform cases: the names of roles, inline policies and instance profiles (and which
//!   role each policy and profile belongs to) equal those in kops's `kubernetes.tf` (its IAM
//!   blocks, extracted into `iam.tf`). kops 1.10 did not commit the Terraform documents, so
//!   there is nothing more to compare.
//! - existing_iam, existing_iam_cloudformation: the instance groups' own instance profiles
//!   are recognised as external (no role, policy or profile of rolecall's own), are the ones
//!   kops's output launches instances with, and kops's lifecycle overrides for the case
//!   are accepted.
//! - lifecycle_phases: the names in kops's `security-kubernetes.tf` (the IAM phase). kops
//!   skips that phase's test at 1.10, so this file is what kops wrote, never checked by kops.
//!
//! A case where rolecall differs from kops is a finding: it goes into [`KNOWN_DIFFERENCES`]
//! with the reason, where the test checks that it still differs (so that a fix is noticed).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rolecall::desired::desired_state;
use rolecall::lifecycle::{apply_overrides, parse_overrides};
use rolecall::model::DesiredState;
use rolecall::spec::{parse_documents, ClusterSpec, SourceFile};
use serde_json::Value;

/// The zones kops's harness mocks (pkg/testutils/integrationtestharness.go, SetupMockAWS).
const ZONE_EXAMPLE_COM: &str = "Z1AFAKE1ZON3YO";
const ZONE_INTERNAL_EXAMPLE_COM: &str = "Z2AFAKE1ZON3NO";
const ZONE_PRIVATE_EXAMPLE_COM: &str = "Z3AFAKE1ZOMORE";

/// A case where rolecall differs from kops: a finding, documented here rather than hidden.
struct KnownDifference {
    /// `<dir>/<expected file>`.
    label: &'static str,
    /// A part of the error the case gives now, so that another failure is still reported.
    error: &'static str,
    why: &'static str,
}

/// Cases where rolecall differs from kops. The test checks each still differs, this way.
const KNOWN_DIFFERENCES: &[KnownDifference] = &[KnownDifference {
    label: "existing_iam/launch_configurations.tf",
    error: "spec.iam.profile: \"arn:aws:iam::4222917490108:instance-profile/kops-custom-master-role\" is not an instance profile ARN",
    why: "kops's input gives the three master groups a profile ARN with a 13-digit account id \
          (4222917490108, the nodes' has 12: 422917490108). kops 1.10 checks profile ARNs \
          with ^arn:aws:iam::\\d+:instance-profile/\\S+$ (any number of digits) and uses \
          only the name after the slash, so it accepts the input; rolecall requires IAM's \
          12-digit account id and refuses it at parse time (in-v1alpha2.yaml lines 64, 84, 104)",
}];

#[derive(Clone, Copy)]
enum Expected {
    /// `cloudformation.json`: the documents.
    CloudFormation,
    /// The IAM blocks of kops's Terraform output, extracted into this file: the names.
    Terraform(&'static str),
    /// Every group names its own instance profile; kops's Terraform output
    /// (`launch_configurations.tf`) launches each group with it. With kops's overrides.
    ExistingProfilesTerraform(&'static str),
    /// The same with kops's CloudFormation output (`cloudformation.json`).
    ExistingProfilesCloudFormation(&'static str),
}

impl Expected {
    fn file(self) -> &'static str {
        match self {
            Expected::CloudFormation | Expected::ExistingProfilesCloudFormation(_) => {
                "cloudformation.json"
            }
            Expected::Terraform(file) => file,
            Expected::ExistingProfilesTerraform(_) => "launch_configurations.tf",
        }
    }
}

struct Case {
    dir: &'static str,
    cluster: &'static str,
    /// The hosted zone id kops's harness resolves for the cluster.
    zone: &'static str,
    expected: Expected,
    /// Whether the spec has a bastion instance group.
    bastion: bool,
}

impl Case {
    /// `<dir>/<expected file>`, as in [`KNOWN_DIFFERENCES`].
    fn label(&self) -> String {
        format!("{}/{}", self.dir, self.expected.file())
    }
}

const fn case(
    dir: &'static str,
    cluster: &'static str,
    zone: &'static str,
    expected: Expected,
    bastion: bool,
) -> Case {
    Case {
        dir,
        cluster,
        zone,
        expected,
        bastion,
    }
}

const TF: Expected = Expected::Terraform("iam.tf");
const CFN: Expected = Expected::CloudFormation;

/// kops's AWS v1alpha2 cases (cmd/kops/integration_test.go). externallb is run by kops both
/// ways and has both files.
#[rustfmt::skip]
const CASES: &[Case] = &[
    case("minimal", "minimal.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("minimal-cloudformation", "minimal.example.com", ZONE_EXAMPLE_COM, CFN, false),
    case("additional_cidr", "additionalcidr.example.com", ZONE_EXAMPLE_COM, CFN, false),
    case("additional_user-data", "additionaluserdata.example.com", ZONE_EXAMPLE_COM, CFN, false),
    case("externallb", "externallb.example.com", ZONE_EXAMPLE_COM, CFN, false),
    case("externallb", "externallb.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("complex", "complex.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("ha", "ha.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("shared_subnet", "sharedsubnet.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("shared_vpc", "sharedvpc.example.com", ZONE_EXAMPLE_COM, TF, false),
    case("bastionadditional_user-data", "bastionuserdata.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("private-shared-subnet", "private-shared-subnet.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privatecalico", "privatecalico.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privatecanal", "privatecanal.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privateflannel", "privateflannel.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privatekopeio", "privatekopeio.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privateweave", "privateweave.example.com", ZONE_EXAMPLE_COM, TF, true),
    case("privatedns1", "privatedns1.example.com", ZONE_INTERNAL_EXAMPLE_COM, TF, true),
    case("privatedns2", "privatedns2.example.com", ZONE_PRIVATE_EXAMPLE_COM, TF, true),
    // kops's TestPhaseIAM is skipped at 1.10, so security-kubernetes.tf is kops's output that
    // kops's own test never compared; its names are still kops's naming.
    case("lifecycle_phases", "lifecyclephases.example.com", ZONE_EXAMPLE_COM, Expected::Terraform("security-iam.tf"), true),
    // runTestAWS with expectPolicies=false.
    case("existing_iam", "existing-iam.example.com", ZONE_EXAMPLE_COM, Expected::ExistingProfilesTerraform("IAMRole=Ignore,IAMRolePolicy=Ignore,IAMInstanceProfileRole=Ignore"), false),
    // TestExistingIAMCloudformation.
    case("existing_iam_cloudformation", "minimal.example.com", ZONE_EXAMPLE_COM, Expected::ExistingProfilesCloudFormation("IAMRole=ExistsAndWarnIfChanges,IAMRolePolicy=ExistsAndWarnIfChanges,IAMInstanceProfileRole=ExistsAndWarnIfChanges"), false),
];

fn case_dir(dir: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/kops-1.10.0-integration")
        .join(dir)
}

fn read(dir: &str, file: &str) -> String {
    let path = case_dir(dir).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The case's input, verbatim, through rolecall's parser.
fn parse_input(dir: &str) -> Result<ClusterSpec, String> {
    let file = SourceFile {
        path: PathBuf::from(format!("{dir}/in-v1alpha2.yaml")),
        text: read(dir, "in-v1alpha2.yaml"),
    };
    parse_documents(&[file]).map_err(|e| format!("the input does not parse: {e}"))
}

/// Parses the input, gives it the zone kops's harness resolves, and builds the desired state.
fn build(dir: &str, cluster: &str, zone: &str) -> Result<DesiredState, String> {
    let mut spec = parse_input(dir)?;
    if spec.name != cluster {
        return Err(format!(
            "cluster name {:?}, kops's test says {cluster:?}",
            spec.name
        ));
    }
    spec.dns_zone = Some(zone.to_string());
    desired_state(&spec).map_err(|e| format!("no desired state: {e}"))
}

/// Runs every check of one case, returning the first difference from kops.
fn check_case(case: &Case) -> Result<(), String> {
    let mut desired = build(case.dir, case.cluster, case.zone)?;
    match case.expected {
        Expected::CloudFormation => {
            check_role_names(case, &desired)?;
            check_cloudformation(case, &desired)
        }
        Expected::Terraform(file) => {
            check_role_names(case, &desired)?;
            check_terraform(&read(case.dir, file), &desired)
        }
        Expected::ExistingProfilesTerraform(overrides) => {
            check_no_iam_of_our_own(&desired)?;
            let launched = terraform_launch_profiles(&read(case.dir, "launch_configurations.tf"));
            check_external_profiles(&desired, &launched)?;
            apply_kops_overrides(&mut desired, overrides)
        }
        Expected::ExistingProfilesCloudFormation(overrides) => {
            check_no_iam_of_our_own(&desired)?;
            let launched = cloudformation_launch_profiles(&read(case.dir, "cloudformation.json"))?;
            check_external_profiles(&desired, &launched)?;
            apply_kops_overrides(&mut desired, overrides)
        }
    }
}

/// masters and nodes, and bastions where the spec has a bastion group.
fn check_role_names(case: &Case, desired: &DesiredState) -> Result<(), String> {
    let prefixes: &[&str] = if case.bastion {
        &["masters", "nodes", "bastions"]
    } else {
        &["masters", "nodes"]
    };
    let expected: BTreeSet<String> = prefixes
        .iter()
        .map(|p| format!("{p}.{}", case.cluster))
        .collect();
    let roles: BTreeSet<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
    if roles != expected {
        return Err(format!("roles {roles:?}, expected {expected:?}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// CloudFormation

/// The IAM in a kops cloudformation.json, by role name.
#[derive(Debug, Default)]
struct CfnIam {
    /// Role name -> trust policy.
    roles: BTreeMap<String, Value>,
    /// (role name, policy name) -> document.
    policies: BTreeMap<(String, String), Value>,
    /// The role each instance profile holds (kops's CloudFormation names no profile).
    profile_roles: Vec<String>,
}

fn cfn_resources(text: &str) -> serde_json::Map<String, Value> {
    let template: Value = serde_json::from_str(text).expect("cloudformation.json is JSON");
    template["Resources"]
        .as_object()
        .expect("cloudformation.json has Resources")
        .clone()
}

fn cfn_iam(text: &str) -> CfnIam {
    let resources = cfn_resources(text);
    // Logical id -> RoleName, for the Refs.
    let role_names: BTreeMap<&str, String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::IAM::Role")
        .map(|(id, r)| {
            let name = r["Properties"]["RoleName"]
                .as_str()
                .unwrap_or_else(|| panic!("{id} has no RoleName"));
            (id.as_str(), name.to_string())
        })
        .collect();
    let role_of = |reference: &Value| -> String {
        let id = reference["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("not a Ref: {reference}"));
        role_names
            .get(id)
            .unwrap_or_else(|| panic!("Ref to no role: {id}"))
            .clone()
    };
    let mut iam = CfnIam::default();
    for (id, resource) in &resources {
        let props = &resource["Properties"];
        match resource["Type"].as_str().unwrap_or_default() {
            "AWS::IAM::Role" => {
                iam.roles.insert(
                    role_names[id.as_str()].clone(),
                    props["AssumeRolePolicyDocument"].clone(),
                );
            }
            "AWS::IAM::Policy" => {
                let roles = props["Roles"].as_array().expect("a policy's Roles");
                assert_eq!(roles.len(), 1, "{id}: kops attaches a policy to one role");
                let name = props["PolicyName"].as_str().expect("a PolicyName");
                iam.policies.insert(
                    (role_of(&roles[0]), name.to_string()),
                    props["PolicyDocument"].clone(),
                );
            }
            "AWS::IAM::InstanceProfile" => {
                let roles = props["Roles"].as_array().expect("a profile's Roles");
                assert_eq!(roles.len(), 1, "{id}: a profile holds one role");
                iam.profile_roles.push(role_of(&roles[0]));
            }
            other if other.starts_with("AWS::IAM::") => panic!("{id}: unexpected {other}"),
            _ => {}
        }
    }
    iam
}

/// kops's statement counts in legacy mode: masters 9 (with `route53:ListHostedZones` twice),
/// nodes 6 (also twice). Checked on the fixture, so that a wrong fixture is not compared.
fn kops_statement_count(role: &str) -> usize {
    if role.starts_with("masters.") {
        9
    } else if role.starts_with("nodes.") {
        6
    } else {
        1
    }
}

fn statements(document: &Value) -> &Vec<Value> {
    document["Statement"]
        .as_array()
        .expect("a document's Statement list")
}

fn check_cloudformation(case: &Case, desired: &DesiredState) -> Result<(), String> {
    let cfn = cfn_iam(&read(case.dir, "cloudformation.json"));

    let ours: BTreeSet<&String> = desired.roles.iter().map(|r| &r.name).collect();
    let kops: BTreeSet<&String> = cfn.roles.keys().collect();
    if ours != kops {
        return Err(format!("roles {ours:?}, kops has {kops:?}"));
    }
    for role in &desired.roles {
        let ours: Value = serde_json::from_str(&role.trust_policy).expect("our trust is JSON");
        if ours != cfn.roles[&role.name] {
            return Err(format!(
                "trust policy of {}: ours {ours}, kops's {}",
                role.name, cfn.roles[&role.name]
            ));
        }
    }

    let ours: BTreeMap<(String, String), &str> = desired
        .role_policies
        .iter()
        .filter_map(|p| Some(((p.role.clone(), p.name.clone()), p.document.as_deref()?)))
        .collect();
    let kops_keys: BTreeSet<&(String, String)> = cfn.policies.keys().collect();
    if ours.keys().collect::<BTreeSet<_>>() != kops_keys {
        return Err(format!(
            "inline policies (role, name) {:?}, kops has {kops_keys:?}",
            ours.keys().collect::<Vec<_>>()
        ));
    }
    for ((role, name), text) in &ours {
        let kops = &cfn.policies[&(role.clone(), name.clone())];
        let expected_count = kops_statement_count(role);
        assert_eq!(
            statements(kops).len(),
            expected_count,
            "{}: kops's {name} is not as the README describes",
            case.dir
        );
        let ours: Value = serde_json::from_str(text).expect("our policy is JSON");
        if ours["Version"] != kops["Version"] {
            return Err(format!(
                "{name}: Version {} against kops's {}",
                ours["Version"], kops["Version"]
            ));
        }
        let (a, b) = (statements(&ours), statements(kops));
        if a.len() != b.len() {
            return Err(format!(
                "{name}: {} statements, kops has {}\n--- ours\n{text}\n--- kops\n{kops:#}",
                a.len(),
                b.len()
            ));
        }
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            if a != b {
                return Err(format!("{name}: statement {i} is {a}, kops's is {b}"));
            }
        }
        let keys = |v: &Value| {
            v.as_object()
                .map(|o| o.keys().cloned().collect::<BTreeSet<_>>())
        };
        if keys(&ours) != keys(kops) {
            return Err(format!("{name}: top-level keys differ from kops's"));
        }
    }

    // kops's template names no profile; rolecall names each after its role, as kops's direct
    // and Terraform targets do.
    let ours: Vec<String> = desired
        .profile_roles
        .iter()
        .map(|link| {
            assert_eq!(link.profile, link.role, "a profile named after its role");
            link.role.clone()
        })
        .collect();
    let mut kops = cfn.profile_roles.clone();
    kops.sort();
    let mut ours_sorted = ours.clone();
    ours_sorted.sort();
    if ours_sorted != kops {
        return Err(format!(
            "instance profiles holding {ours_sorted:?}, kops's hold {kops:?}"
        ));
    }
    let profiles: BTreeSet<&String> = desired.instance_profiles.iter().map(|p| &p.name).collect();
    if profiles != ours.iter().collect() {
        return Err(format!("instance profiles {profiles:?}, links {ours:?}"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Terraform

/// One `resource "<type>" "<tf name>" { ... }` block: its attributes `key = "value"`.
#[derive(Debug)]
struct TfResource {
    kind: String,
    tf_name: String,
    attributes: BTreeMap<String, String>,
}

/// Reads the flat resource blocks kops 1.10 writes (one `key = "value"` a line).
fn tf_resources(text: &str) -> Vec<TfResource> {
    let mut out = Vec::new();
    let mut current: Option<TfResource> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("resource ") {
            let parts: Vec<&str> = rest.split('"').collect();
            assert!(parts.len() >= 4, "not a resource line: {line}");
            current = Some(TfResource {
                kind: parts[1].to_string(),
                tf_name: parts[3].to_string(),
                attributes: BTreeMap::new(),
            });
        } else if line == "}" {
            out.push(current.take().expect("a block ends after it starts"));
        } else if let Some(resource) = &mut current {
            if let Some((key, value)) = line.split_once('=') {
                let value = value.trim();
                if let Some(value) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    resource
                        .attributes
                        .insert(key.trim().to_string(), value.to_string());
                }
            }
        }
    }
    assert!(current.is_none(), "an unterminated block");
    out
}

/// The Terraform IAM by IAM name: roles, (role, policy) pairs and (profile, role) pairs.
type TfIam = (
    BTreeSet<String>,
    BTreeSet<(String, String)>,
    BTreeSet<(String, String)>,
);

fn tf_iam(text: &str) -> TfIam {
    let resources = tf_resources(text);
    let name = |r: &TfResource| -> String {
        r.attributes
            .get("name")
            .unwrap_or_else(|| panic!("{} {} has no name", r.kind, r.tf_name))
            .clone()
    };
    let role_names: BTreeMap<&str, String> = resources
        .iter()
        .filter(|r| r.kind == "aws_iam_role")
        .map(|r| (r.tf_name.as_str(), name(r)))
        .collect();
    let role_of = |r: &TfResource| -> String {
        let reference = &r.attributes["role"];
        let tf_name = reference
            .strip_prefix("${aws_iam_role.")
            .and_then(|v| v.strip_suffix(".name}"))
            .unwrap_or_else(|| panic!("{}: role is not a reference: {reference}", r.tf_name));
        role_names[tf_name].clone()
    };
    let mut roles = BTreeSet::new();
    let mut policies = BTreeSet::new();
    let mut profiles = BTreeSet::new();
    for r in &resources {
        match r.kind.as_str() {
            "aws_iam_role" => {
                roles.insert(name(r));
            }
            "aws_iam_role_policy" => {
                policies.insert((role_of(r), name(r)));
            }
            "aws_iam_instance_profile" => {
                profiles.insert((name(r), role_of(r)));
            }
            other => panic!("unexpected resource {other}"),
        }
    }
    (roles, policies, profiles)
}

fn check_terraform(text: &str, desired: &DesiredState) -> Result<(), String> {
    let (kops_roles, kops_policies, kops_profiles) = tf_iam(text);
    let roles: BTreeSet<String> = desired.roles.iter().map(|r| r.name.clone()).collect();
    if roles != kops_roles {
        return Err(format!("roles {roles:?}, kops has {kops_roles:?}"));
    }
    // The additional.* entries without a document say "must not exist"; kops writes none.
    let policies: BTreeSet<(String, String)> = desired
        .role_policies
        .iter()
        .filter(|p| p.document.is_some())
        .map(|p| (p.role.clone(), p.name.clone()))
        .collect();
    if policies != kops_policies {
        return Err(format!(
            "inline policies (role, name) {policies:?}, kops has {kops_policies:?}"
        ));
    }
    let profiles: BTreeSet<(String, String)> = desired
        .profile_roles
        .iter()
        .map(|l| (l.profile.clone(), l.role.clone()))
        .collect();
    let profile_names: BTreeSet<String> = desired
        .instance_profiles
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let kops_profile_names: BTreeSet<String> =
        kops_profiles.iter().map(|(p, _)| p.clone()).collect();
    if profiles != kops_profiles || profile_names != kops_profile_names {
        return Err(format!(
            "instance profiles (profile, role) {profiles:?}, kops has {kops_profiles:?}"
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Existing instance profiles

/// rolecall makes no role, policy or profile of its own when every group brings a profile.
fn check_no_iam_of_our_own(desired: &DesiredState) -> Result<(), String> {
    if !desired.roles.is_empty()
        || !desired.role_policies.is_empty()
        || !desired.instance_profiles.is_empty()
        || !desired.profile_roles.is_empty()
    {
        return Err(format!(
            "IAM of rolecall's own: roles {:?}, policies {:?}, profiles {:?}",
            desired.roles.iter().map(|r| &r.name).collect::<Vec<_>>(),
            desired
                .role_policies
                .iter()
                .map(|p| &p.name)
                .collect::<Vec<_>>(),
            desired
                .instance_profiles
                .iter()
                .map(|p| &p.name)
                .collect::<Vec<_>>(),
        ));
    }
    Ok(())
}

/// (instance group, profile name) from kops's Terraform launch configurations, whose
/// `name_prefix` is `<group>.<masters|nodes>.<cluster>-`.
fn terraform_launch_profiles(text: &str) -> BTreeSet<(String, String)> {
    tf_resources(text)
        .into_iter()
        .map(|r| {
            assert_eq!(r.kind, "aws_launch_configuration");
            let group = r.attributes["name_prefix"]
                .split('.')
                .next()
                .expect("a name_prefix")
                .to_string();
            (group, r.attributes["iam_instance_profile"].clone())
        })
        .collect()
}

/// (instance group, profile name) from kops's CloudFormation launch configurations, which
/// carry no group name: each group's is found by its logical id,
/// `AWSAutoScalingLaunchConfiguration<group><role><cluster>` with the dots and dashes dropped.
/// Also checks that the template has no IAM resources.
fn cloudformation_launch_profiles(text: &str) -> Result<BTreeSet<(String, String)>, String> {
    let resources = cfn_resources(text);
    if let Some((id, _)) = resources.iter().find(|(_, r)| {
        r["Type"]
            .as_str()
            .unwrap_or_default()
            .starts_with("AWS::IAM::")
    }) {
        return Err(format!("kops's template has IAM: {id}"));
    }
    Ok(resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::AutoScaling::LaunchConfiguration")
        .map(|(id, r)| {
            let profile = r["Properties"]["IamInstanceProfile"]
                .as_str()
                .expect("a profile name")
                .to_string();
            (id.clone(), profile)
        })
        .collect())
}

/// The external profiles rolecall recognises are the ones kops launches each group with.
/// `launched` is keyed by group name, or for CloudFormation by the launch configuration's
/// logical id, which begins with the group's name squashed.
fn check_external_profiles(
    desired: &DesiredState,
    launched: &BTreeSet<(String, String)>,
) -> Result<(), String> {
    let squash = |s: &str| s.replace(['.', '-'], "");
    let ours: BTreeSet<(String, String)> = desired
        .external_profiles
        .iter()
        .flat_map(|p| p.groups.iter().map(move |g| (g.clone(), p.name.clone())))
        .collect();
    let kops: BTreeSet<(String, String)> = launched
        .iter()
        .map(|(key, profile)| {
            let group = ours
                .iter()
                .map(|(g, _)| g)
                .find(|g| {
                    key == *g
                        || key
                            .strip_prefix("AWSAutoScalingLaunchConfiguration")
                            .is_some_and(|rest| rest.starts_with(&squash(g)))
                })
                .cloned()
                .unwrap_or_else(|| key.clone());
            (group, profile.clone())
        })
        .collect();
    if ours != kops {
        return Err(format!(
            "external profiles by group {ours:?}, kops launches {kops:?}"
        ));
    }
    for profile in &desired.external_profiles {
        let kind = if profile.name.contains("master") {
            "masters"
        } else {
            "nodes"
        };
        if profile.role_kind != kind {
            return Err(format!(
                "{} holds a {} role, expected {kind}",
                profile.name, profile.role_kind
            ));
        }
    }
    Ok(())
}

/// kops's overrides for the case, through rolecall's flag parser and onto the desired state.
fn apply_kops_overrides(desired: &mut DesiredState, overrides: &str) -> Result<(), String> {
    let parsed = parse_overrides(&[overrides.to_string()])
        .map_err(|e| format!("kops's overrides {overrides:?} do not parse: {e}"))?;
    apply_overrides(desired, &parsed)
        .map_err(|e| format!("kops's overrides {overrides:?} do not apply: {e}"))
}

// ---------------------------------------------------------------------------------------
// The tests

#[test]
fn kops_integration_cases_match_kops() {
    let mut unexpected = Vec::new();
    for case in CASES {
        let label = case.label();
        let known = KNOWN_DIFFERENCES.iter().find(|k| k.label == label);
        match (check_case(case), known) {
            (Ok(()), None) => {}
            (Err(e), Some(k)) if e.contains(k.error) => {
                eprintln!("{label}: differs from kops, as known ({}): {e}", k.why)
            }
            (Err(e), Some(k)) => unexpected.push(format!(
                "{label}: differs otherwise than known (expected an error with {:?}): {e}",
                k.error
            )),
            (Err(e), None) => unexpected.push(format!("{label}: {e}")),
            (Ok(()), Some(k)) => unexpected.push(format!(
                "{label} now matches kops: take it out of KNOWN_DIFFERENCES ({})",
                k.why
            )),
        }
    }
    assert!(unexpected.is_empty(), "\n{}", unexpected.join("\n\n"));
}

#[test]
fn every_fixture_directory_is_a_case_and_every_difference_a_case() {
    let dirs: BTreeSet<String> = std::fs::read_dir(case_dir(""))
        .expect("the fixtures directory")
        .map(|e| e.expect("a directory entry"))
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    let covered: BTreeSet<String> = CASES.iter().map(|c| c.dir.to_string()).collect();
    assert_eq!(dirs, covered);
    let labels: BTreeSet<String> = CASES.iter().map(Case::label).collect();
    assert_eq!(labels.len(), CASES.len(), "a case is listed twice");
    for k in KNOWN_DIFFERENCES {
        assert!(labels.contains(k.label), "{} is no case", k.label);
    }
}
