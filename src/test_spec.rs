//! Specs for the unit tests: YAML from the generator the integration tests and the bench
//! share (tests/common/spec.rs), parsed by rolecall's own spec layer.

use std::path::PathBuf;

use crate::spec::{parse_documents_as, ClusterSpec, Generation, SourceFile};

#[allow(dead_code)] // The unit tests need only the smallest spec of it.
#[path = "../tests/common/spec.rs"]
mod cluster_yaml;

/// The YAML of [`cluster`], for tests of what the parser refuses.
pub(crate) fn cluster_text(name: &str, spec_body: &str) -> String {
    cluster_yaml::bare_cluster(name, spec_body)
}

/// A cluster named `name` whose spec has `cloudProvider: aws` plus `spec_body` (lines
/// indented by two spaces), with one instance group of each role.
pub(crate) fn cluster(name: &str, spec_body: &str) -> ClusterSpec {
    let file = SourceFile {
        path: PathBuf::from("test.yaml"),
        text: cluster_text(name, spec_body),
    };
    // kops 1.10's IAM, as the unit tests of its builder expect: chosen, not inferred.
    match parse_documents_as(&[file], Some(Generation::Kops110)) {
        Ok(spec) => spec,
        Err(e) => panic!("test spec does not parse: {e:?}"),
    }
}
