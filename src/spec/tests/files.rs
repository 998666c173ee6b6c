//! The files kops users have: `kops get -o yaml` with documents of other kinds, `-o json`
//! (an object, or an array), standard input, and the `--full` output that is refused.

use super::*;

/// `kops get example.k8s.local -o yaml` of kops 1.10, cut short: sorted keys, fields
/// rolecall does not read, `\n---\n\n` between documents and no leading `---`; then a
/// Keyset and an SSHCredential, as `kops get all` adds them.
const KOPS_GET_YAML: &str = "apiVersion: kops/v1alpha2
kind: Cluster
metadata:
  creationTimestamp: 2018-07-01T10:00:00Z
  name: example.k8s.local
spec:
  api:
    loadBalancer:
      type: Public
  channel: stable
  cloudProvider: aws
  configBase: s3://state/example.k8s.local
  iam:
    allowContainerRegistry: true
    legacy: false
  kubernetesVersion: 1.10.3
  networking:
    kubenet: {}
  subnets:
  - cidr: 172.20.32.0/19
    name: eu-west-1a
    type: Public
    zone: eu-west-1a

---

apiVersion: kops/v1alpha2
kind: InstanceGroup
metadata:
  creationTimestamp: 2018-07-01T10:00:00Z
  labels:
    kops.k8s.io/cluster: example.k8s.local
  name: nodes
spec:
  image: kope.io/k8s-1.9-debian-jessie-amd64-hvm-ebs-2018-03-11
  machineType: t2.medium
  maxSize: 2
  minSize: 2
  role: Node
  subnets:
  - eu-west-1a

---

apiVersion: kops.k8s.io/v1alpha2
kind: Keyset
metadata:
  creationTimestamp: null
  name: ca
spec:
  keys:
  - id: \"6543210\"
    publicMaterial: LS0tLS1CRUdJTg==
  type: Keypair

---

apiVersion: kops.k8s.io/v1alpha2
kind: SSHCredential
metadata:
  creationTimestamp: null
  labels:
    kops.k8s.io/cluster: example.k8s.local
  name: admin
spec:
  publicKey: ssh-rsa AAAAB3NzaC1yc2E admin@example
";

fn parse_as(path: &str, text: &str) -> Result<ClusterSpec, InputErrors> {
    parse_files(&[(path, text)])
}

fn skipped(kind: &str, name: Option<&str>, place: (&str, u64, u64)) -> SkippedDocument {
    let (file, line, column) = place;
    SkippedDocument {
        kind: kind.into(),
        name: name.map(Into::into),
        location: SourceLocation {
            file: file.into(),
            line,
            column,
        },
    }
}

#[test]
fn kops_get_yaml_parses_and_its_other_kinds_are_skipped_with_one_note() {
    let spec = parse_as("kops.yaml", KOPS_GET_YAML).unwrap();
    assert_eq!(spec.name, "example.k8s.local");
    assert_eq!(spec.region.as_deref(), Some("eu-west-1"));
    assert_eq!(spec.networking.as_deref(), Some("kubenet"));
    assert_eq!(spec.instance_groups.len(), 1);
    assert_eq!(
        spec.skipped,
        vec![
            skipped("Keyset", Some("ca"), ("kops.yaml", 46, 7)),
            skipped("SSHCredential", Some("admin"), ("kops.yaml", 59, 7)),
        ]
    );
    assert_eq!(
        skipped_note(&spec.skipped).unwrap(),
        "note: skipped 2 documents rolecall does not use: Keyset/ca (kops.yaml:46:7), SSHCredential/admin (kops.yaml:59:7)"
    );
}

#[test]
fn a_cluster_with_nothing_skipped_has_no_note_and_one_skipped_is_singular() {
    let spec = parse(&with_cluster("")).unwrap();
    assert_eq!(spec.skipped, vec![]);
    assert_eq!(skipped_note(&spec.skipped), None);
    let one = [skipped("Addon", None, ("kops.yaml", 3, 7))];
    assert_eq!(
        skipped_note(&one).unwrap(),
        "note: skipped 1 document rolecall does not use: Addon (kops.yaml:3:7)"
    );
}

/// The spec of a skipped kind is not read, so fields that would be wrong in a Cluster
/// (an Addon's, any kind's) are no error.
#[test]
fn a_skipped_document_is_not_read_past_its_kind_and_name() {
    let addon = "apiVersion: addons.example.com/v1\nkind: Addon\nmetadata:\n  name: x\nspec:\n  iam: not-a-map\n  role: [1, 2]\n  externalPolicies: {}\n";
    let spec = parse(&format!("{}---\n{addon}", with_cluster(""))).unwrap();
    assert_eq!(spec.skipped[0].to_string(), "Addon/x (cluster.yaml:27:7)");
}

/// A misspelt kind is skipped like any other; with no Cluster left, the error says what
/// was skipped.
#[test]
fn no_cluster_names_the_documents_skipped() {
    assert_eq!(
        error(&format!("{}---\n{NODES}", CLUSTER.replace("kind: Cluster", "kind: Clustr"))),
        "kind: no Cluster document in the input; one is required (skipped 1 document rolecall does not use: Clustr/example.k8s.local (cluster.yaml:2:7))"
    );
}

#[test]
fn both_api_groups_of_v1alpha2_are_accepted() {
    let old_group = with_cluster("").replace("kops.k8s.io/v1alpha2", "kops/v1alpha2");
    assert_eq!(
        parse(&old_group).unwrap(),
        parse(&with_cluster("")).unwrap()
    );
}

#[test]
fn fields_rolecall_does_not_read_are_accepted() {
    let spec = parse(&with_cluster(
        "  kubeProxy:\n    enabled: true\n  someFutureField:\n    nested: [1, 2]\n",
    ))
    .unwrap();
    // The same number of lines, so that the places are the same.
    let without = with_cluster("  # a\n  # b\n  # c\n  # d\n");
    assert_eq!(spec, parse(&without).unwrap());
}

/// `kops get clusters NAME -o json` prints the Cluster alone, one compact object.
const CLUSTER_JSON: &str = r#"{"kind":"Cluster","apiVersion":"kops/v1alpha2","metadata":{"name":"example.k8s.local","creationTimestamp":"2018-07-01T10:00:00Z"},"spec":{"channel":"stable","cloudProvider":"aws","configBase":"s3://state/example.k8s.local","iam":{"legacy":false,"allowContainerRegistry":true},"subnets":[{"name":"eu-west-1a","zone":"eu-west-1a","cidr":"172.20.32.0/19","type":"Public"}],"kubernetesVersion":"1.10.3"}}"#;

const NODES_JSON: &str = r#"{"kind":"InstanceGroup","apiVersion":"kops/v1alpha2","metadata":{"name":"nodes","labels":{"kops.k8s.io/cluster":"example.k8s.local"}},"spec":{"role":"Node","machineType":"t2.medium","subnets":["eu-west-1a"]}}"#;

#[test]
fn a_json_object_per_file_parses_like_yaml() {
    let spec = parse_files(&[
        ("cluster.json", &format!("{CLUSTER_JSON}\n")),
        ("nodes.json", &format!("{NODES_JSON}\n")),
    ])
    .unwrap();
    assert_eq!(spec.name, "example.k8s.local");
    assert_eq!(spec.region.as_deref(), Some("eu-west-1"));
    assert!(spec.iam.allow_container_registry);
    assert_eq!(spec.instance_groups[0].location, {
        let column = NODES_JSON.find(r#""InstanceGroup""#).unwrap() as u64 + 1;
        SourceLocation {
            file: "nodes.json".into(),
            line: 1,
            column,
        }
    });
}

/// `kops get NAME -o json` prints more than one object as a JSON array, each object
/// compact on a line of its own.
#[test]
fn a_json_array_parses_and_skips_other_kinds() {
    let keyset = r#"{"kind":"Keyset","apiVersion":"kops/v1alpha2","metadata":{"name":"ca"},"spec":{"type":"Keypair"}}"#;
    let text = format!("[{CLUSTER_JSON}\n,{NODES_JSON}\n,{keyset}\n]\n");
    let spec = parse_as("all.json", &text).unwrap();
    assert_eq!(spec.instance_groups.len(), 1);
    assert_eq!(spec.instance_groups[0].location.line, 2);
    let column = ",{\"kind\":".len() as u64 + 1;
    assert_eq!(
        spec.skipped,
        vec![skipped("Keyset", Some("ca"), ("all.json", 3, column))]
    );
}

#[test]
fn an_error_in_json_names_the_file_line_column_and_field() {
    let nodes = NODES_JSON.replace(r#""role":"Node""#, r#""role":"Worker""#);
    let text = format!("[{CLUSTER_JSON}\n,{nodes}\n]\n");
    let column = nodes.find(r#""Worker""#).unwrap() + 2;
    assert_eq!(
        parse_as("all.json", &text).unwrap_err().to_string(),
        format!("all.json:2:{column}: spec.role: unknown instance group role \"Worker\"; valid roles are Master, Node and Bastion")
    );
    // A type error, found by the parser, is placed and named too: in an array (after
    // its `[`)...
    let legacy = CLUSTER_JSON.replace(r#""legacy":false"#, r#""legacy":"perhaps""#);
    let column = legacy.find(r#""perhaps""#).unwrap() + 1;
    assert_eq!(
        parse_as("all.json", &format!("[{legacy}\n,{NODES_JSON}\n]\n"))
            .unwrap_err()
            .to_string(),
        format!(
            "all.json:1:{}: spec.iam.legacy: invalid boolean",
            column + 1
        )
    );
    // ...and in one object.
    assert_eq!(
        parse_as("cluster.json", &format!("{legacy}\n"))
            .unwrap_err()
            .to_string(),
        format!("cluster.json:1:{column}: spec.iam.legacy: invalid boolean")
    );
}

#[test]
fn malformed_json_names_the_line() {
    let text = format!("[{CLUSTER_JSON}\n,{}\n]\n", &NODES_JSON[..40]);
    let e = parse_as("all.json", &text).unwrap_err().to_string();
    assert!(e.starts_with("all.json:"), "{e}");
    assert_eq!(e.lines().count(), 1, "{e}");
}

#[test]
fn standard_input_is_read_for_a_dash_and_named_stdin() {
    let text = with_cluster("");
    let spec = load_files_from(
        &[PathBuf::from("-")],
        text.as_bytes(),
        Some(Generation::Kops110),
    )
    .unwrap();
    assert_eq!(spec.location.file, PathBuf::from("<stdin>"));
    assert_eq!(spec, {
        let mut from_file = parse_as("<stdin>", &text).unwrap();
        from_file.location.file = "<stdin>".into();
        from_file
    });
    let bad = with_cluster("").replace("role: Node", "role: Worker");
    assert_eq!(
        load_files_from(&[PathBuf::from("-")], bad.as_bytes(), Some(Generation::Kops110))
            .unwrap_err()
            .to_string(),
        "<stdin>:22:9: spec.role: unknown instance group role \"Worker\"; valid roles are Master, Node and Bastion"
    );
}

#[test]
fn standard_input_is_read_once() {
    let e =
        load_files_from(&["-".into(), "-".into()], with_cluster("").as_bytes(), None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "<stdin>: -f - is given twice; standard input can be read once"
    );
}

/// `kops get --full` starts with `//` lines; the completed spec it prints is not what kops
/// builds the IAM from.
#[test]
fn the_output_of_kops_get_full_is_refused() {
    let full = format!(
        "\n// Full cluster spec, completed by kops\n// Fields may change between releases\n{}",
        with_cluster("")
    );
    assert_eq!(
        error(&full),
        "cluster.yaml:2:1: starts with // comment lines, as kops get --full prints them; rolecall reads the spec as written, not the completed one: run kops get without --full"
    );
}
