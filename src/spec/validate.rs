//! Turns parsed documents into a [`ClusterSpec`], collecting every problem with its place:
//! each document's envelope (`apiVersion`, `kind`, `metadata.name`), one Cluster, its
//! instance groups' names. Documents of other kinds are skipped. The documents' specs are
//! checked in [`super::later_releases`] (fields of later kops releases), [`super::cluster`]
//! and [`super::instance_group`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::cluster::cluster_from;
use super::generation::{self, Chosen, Generation};
use super::instance_group::instance_group_from;
use super::kops136;
use super::later_releases::{self, Tree};
use super::raw::{At, RawDocument, RawSpec};
use super::{
    skipped_summary, ClusterSpec, InputError, InputErrors, InstanceGroup, ParsedDocument,
    SkippedDocument, SourceLocation,
};

const API_VERSIONS: [&str; 2] = ["kops.k8s.io/v1alpha2", "kops/v1alpha2"];

/// Collects problems so that the user sees all of them at once.
pub(super) struct Checker<'a> {
    pub(super) file: &'a Path,
    /// The file's text, to place problems inside a value (a policy's statements).
    pub(super) source: &'a str,
    pub(super) errors: &'a mut Vec<InputError>,
    /// The document is read for kops 1.36, which has the fields 1.10 refuses.
    pub(super) kops136: bool,
}

impl Checker<'_> {
    pub(super) fn loc<T>(&self, v: &At<T>) -> SourceLocation {
        SourceLocation::new(self.file, &v.referenced)
    }

    pub(super) fn error<T>(&mut self, at: &At<T>, field: &str, message: impl Into<String>) {
        let loc = self.loc(at);
        self.errors.push(InputError::at(loc, field, message));
    }

    /// A problem reported at a place rather than at a value, such as a missing field.
    pub(super) fn error_at(
        &mut self,
        at: &SourceLocation,
        field: &str,
        message: impl Into<String>,
    ) {
        self.errors.push(InputError::at(at.clone(), field, message));
    }

    /// Runs `check`, and keeps its value only when it found no problem.
    pub(super) fn unless_problems<T>(
        &mut self,
        check: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<T> {
        let before = self.errors.len();
        let value = check(self);
        if self.errors.len() > before {
            return None;
        }
        value
    }

    /// A required string: present and not blank.
    pub(super) fn required(
        &mut self,
        v: &Option<At<String>>,
        field: &str,
        doc_at: &SourceLocation,
    ) -> Option<String> {
        self.required_or(v, field, doc_at, "is required but missing")
    }

    /// A required string, with the message to give when it is missing at `at`.
    pub(super) fn required_or(
        &mut self,
        v: &Option<At<String>>,
        field: &str,
        at: &SourceLocation,
        missing: &str,
    ) -> Option<String> {
        match v {
            Some(s) if !s.value.trim().is_empty() => Some(s.value.clone()),
            Some(s) => {
                self.error(s, field, "must not be empty");
                None
            }
            None => {
                self.error_at(at, field, missing);
                None
            }
        }
    }
}

/// A document of a kind rolecall reads, with the file it came from.
struct KindDocument {
    /// `Cluster` or `InstanceGroup`.
    kind: &'static str,
    file: PathBuf,
    source: Arc<str>,
    /// Where its `kind` stands: the place of problems with the document as a whole.
    at: SourceLocation,
    raw: RawDocument,
    tree: At<Tree>,
}

impl KindDocument {
    fn checker<'a>(&'a self, errors: &'a mut Vec<InputError>) -> Checker<'a> {
        Checker {
            file: &self.file,
            source: &self.source,
            errors,
            kops136: false,
        }
    }
}

/// kops 1.19 removed legacy IAM, and kops 1.36 refuses it ("legacy IAM permissions are no
/// longer supported").
fn refuse_legacy(c: &mut Checker, tree: &At<Tree>) {
    if let Some((_, v)) = later_releases::find(tree, "spec.iam.legacy") {
        if matches!(&v.value, Tree::Scalar(s) if s == "true") {
            c.error(
                v,
                "spec.iam.legacy",
                "legacy IAM was removed in kops 1.19, and kops 1.36 refuses it; remove it or build kops 1.10's IAM (--kops-version 1.10)",
            );
        }
    }
}

/// The documents of each kind.
#[derive(Default)]
struct ByKind {
    clusters: Vec<KindDocument>,
    groups: Vec<KindDocument>,
    skipped: Vec<SkippedDocument>,
}

/// Validates the documents of all input files together, the kops generation inferred.
pub fn validate_documents(docs: Vec<ParsedDocument>) -> Result<ClusterSpec, InputErrors> {
    validate_documents_as(docs, None)
}

/// Validates the documents of all input files together, for the kops generation
/// `requested` (`--kops-version`), or the one the spec shows when `None`.
pub fn validate_documents_as(
    docs: Vec<ParsedDocument>,
    requested: Option<Generation>,
) -> Result<ClusterSpec, InputErrors> {
    let mut errors = Vec::new();
    let ByKind {
        clusters,
        groups,
        skipped,
    } = sort_by_kind(docs, &mut errors);

    let mut signals = Vec::new();
    for doc in clusters.iter().chain(&groups) {
        let mut c = doc.checker(&mut errors);
        signals.extend(generation::signals(&mut c, doc.kind, &doc.tree, requested));
    }
    let before = errors.len();
    let chosen = match clusters.as_slice() {
        [one] => generation::choose(&signals, requested, &one.at, &mut errors),
        _ => Chosen::default(),
    };
    // Undecided: the error names the fields, so kops 1.10's refusals would only repeat it.
    let undecided = errors.len() > before;
    let later = chosen.generation == Generation::Kops136 || undecided;

    let mut group_settings = BTreeMap::new();
    if later && !undecided {
        for doc in &groups {
            let name = doc.raw.metadata.as_ref().and_then(|m| m.name.as_ref());
            let mut c = doc.checker(&mut errors);
            let settings = kops136::read_group(&mut c, &doc.tree);
            if let Some(name) = name {
                group_settings.insert(name.value.clone(), settings);
            }
        }
    }
    let mut kops136_spec = None;
    if let ([doc], true) = (clusters.as_slice(), later && !undecided) {
        let name = doc.raw.metadata.as_ref().and_then(|m| m.name.as_ref());
        let mut c = doc.checker(&mut errors);
        let mut settings = kops136::read_cluster(&mut c, &doc.tree, name.map_or("", |n| &n.value));
        settings.groups = group_settings;
        refuse_legacy(&mut c, &doc.tree);
        kops136_spec = Some(settings);
    }

    let cluster = the_one_cluster(clusters, &skipped, later, &mut errors);

    let group_documents = groups.len();
    let instance_groups: Vec<InstanceGroup> = groups
        .into_iter()
        .filter_map(|doc| checked(doc, &mut errors, later, instance_group_from))
        .collect();
    check_group_names(&instance_groups, &mut errors);
    if group_documents == 0 && cluster.is_some() {
        errors.push(general_error(
            "no InstanceGroup documents in the input; a cluster needs at least one",
        ));
    }

    match cluster {
        Some(mut cluster) if errors.is_empty() => {
            cluster.instance_groups = instance_groups;
            cluster.skipped = skipped;
            cluster.generation = chosen;
            cluster.kops136 = kops136_spec;
            Ok(cluster)
        }
        _ => Err(InputErrors(errors)),
    }
}

/// The Cluster documents and the InstanceGroup documents, each with a supported
/// `apiVersion`, and the documents of other kinds, skipped (`kops get all` prints Keysets,
/// SSHCredentials and Addons beside them). A document with no kind is an error.
fn sort_by_kind(docs: Vec<ParsedDocument>, errors: &mut Vec<InputError>) -> ByKind {
    let mut by_kind = ByKind::default();
    for doc in docs {
        let file = doc.file.clone();
        let mut c = Checker {
            file: &file,
            source: &doc.source,
            errors,
            kops136: false,
        };
        let Some(kind) = doc.raw.kind.as_ref() else {
            c.errors.push(InputError::in_file(
                &file,
                Some("kind".into()),
                "a document has no kind; expected Cluster or InstanceGroup",
            ));
            continue;
        };
        let doc_at = c.loc(kind);
        let (of_kind, kind_name) = match kind.value.as_str() {
            "Cluster" => (&mut by_kind.clusters, "Cluster"),
            "InstanceGroup" => (&mut by_kind.groups, "InstanceGroup"),
            other => {
                by_kind.skipped.push(SkippedDocument {
                    kind: other.to_string(),
                    name: doc.raw.metadata.and_then(|m| m.name).map(|n| n.value),
                    location: doc_at,
                });
                continue;
            }
        };
        match &doc.raw.api_version {
            Some(v) if API_VERSIONS.contains(&v.value.as_str()) => {}
            Some(v) => c.error(
                v,
                "apiVersion",
                format!(
                    "unsupported apiVersion {:?}; expected kops.k8s.io/v1alpha2",
                    v.value
                ),
            ),
            None => c.error_at(&doc_at, "apiVersion", "is required but missing"),
        }
        of_kind.push(KindDocument {
            kind: kind_name,
            file: file.clone(),
            source: doc.source,
            at: doc_at,
            raw: doc.raw,
            tree: doc.tree,
        });
    }
    by_kind
}

/// The cluster of the one Cluster document; none, or several, is an error.
fn the_one_cluster(
    mut clusters: Vec<KindDocument>,
    skipped: &[SkippedDocument],
    later: bool,
    errors: &mut Vec<InputError>,
) -> Option<ClusterSpec> {
    match clusters.len() {
        1 => {
            let doc = clusters.pop().expect("one cluster");
            checked(doc, errors, later, cluster_from)
        }
        0 => {
            // A misspelt kind is skipped like any other: say so, where it matters.
            let skipped = match skipped_summary(skipped) {
                Some(summary) => format!(" ({summary})"),
                None => String::new(),
            };
            errors.push(general_error(format!(
                "no Cluster document in the input; one is required{skipped}"
            )));
            None
        }
        n => {
            let places: Vec<String> = clusters.iter().map(|doc| doc.at.to_string()).collect();
            errors.push(general_error(format!(
                "{n} Cluster documents in the input ({}); exactly one is required",
                places.join(", ")
            )));
            None
        }
    }
}

/// A problem with the documents as a whole, in no one file.
fn general_error(message: impl Into<String>) -> InputError {
    InputError::general("kind", message)
}

/// Checks one document with `check`, which is given the document's `metadata.name` (checked
/// to be present), its spec and its place. The value is kept only when the document added
/// no problem.
fn checked<T>(
    doc: KindDocument,
    errors: &mut Vec<InputError>,
    later: bool,
    check: impl FnOnce(&mut Checker, Option<String>, RawSpec, SourceLocation) -> Option<T>,
) -> Option<T> {
    let mut c = Checker {
        file: &doc.file,
        source: &doc.source,
        errors,
        kops136: later,
    };
    c.unless_problems(|c| {
        let name = c.required(
            &doc.raw.metadata.and_then(|m| m.name),
            "metadata.name",
            &doc.at,
        );
        // kops 1.36 has these fields; kops 1.10 must refuse them.
        if !later {
            later_releases::check(c, doc.kind, &doc.tree);
        }
        check(c, name, doc.raw.spec.unwrap_or_default(), doc.at)
    })
}

fn check_group_names(groups: &[InstanceGroup], errors: &mut Vec<InputError>) {
    let mut first_of: BTreeMap<&str, &SourceLocation> = BTreeMap::new();
    for ig in groups {
        let Some(first) = first_of.insert(&ig.name, &ig.location) else {
            continue;
        };
        let message = format!(
            "instance group {:?} is defined twice (first at {first})",
            ig.name
        );
        errors.push(InputError::at(
            ig.location.clone(),
            "metadata.name",
            message,
        ));
    }
}
