//! Specs for the unit tests, parsed from YAML by rolecall's own spec layer.

use std::path::PathBuf;

use crate::spec::{parse_documents, ClusterSpec, SourceFile};

/// A cluster named `name` whose spec has `cloudProvider: aws` plus `spec_body` (lines
/// indented by two spaces), with one instance group of each role.
pub(crate) fn cluster(name: &str, spec_body: &str) -> ClusterSpec {
    let mut text = format!(
        "apiVersion: kops.k8s.io/v1alpha2\nkind: Cluster\nmetadata:\n  name: {name}\nspec:\n  cloudProvider: aws\n{spec_body}"
    );
    for (group, role) in [
        ("master-a", "Master"),
        ("nodes", "Node"),
        ("bastions", "Bastion"),
    ] {
        text.push_str(&format!(
            "---\napiVersion: kops.k8s.io/v1alpha2\nkind: InstanceGroup\nmetadata:\n  name: {group}\nspec:\n  role: {role}\n"
        ));
    }
    let file = SourceFile {
        path: PathBuf::from("test.yaml"),
        text,
    };
    match parse_documents(&[file]) {
        Ok(spec) => spec,
        Err(e) => panic!("test spec does not parse: {e:?}"),
    }
}
