//! The plan as a value: its changes, drift, warnings, errors and ignored objects, with no
//! rule about how they were found (like Terraform's `plans/plan.go`).

use crate::model::{Lifecycle, ResourceId};
use crate::operation::Operation;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    Create,
    Modify,
    Delete,
}

/// One field of a change, shown in the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Option<String>,
    pub new: Option<String>,
    /// A policy document: shown as a diff rather than `old -> new`.
    pub document: bool,
    /// A setting whose absence is a value (a role's permissions boundary): `None` on
    /// either side means "none", and the field is shown as a difference even when one
    /// side is `None`, where a one-sided field is otherwise descriptive (the role a
    /// policy belongs to).
    pub optional: bool,
}

impl FieldChange {
    pub(super) fn value(field: &'static str, new: impl Into<String>) -> Self {
        FieldChange {
            field,
            old: None,
            new: Some(new.into()),
            document: false,
            optional: false,
        }
    }

    /// A setting that may be absent on either side: see `optional`.
    pub(super) fn optional(
        field: &'static str,
        old: Option<&String>,
        new: Option<&String>,
    ) -> Self {
        FieldChange {
            field,
            old: old.cloned(),
            new: new.cloned(),
            document: false,
            optional: true,
        }
    }

    pub(super) fn document(field: &'static str, old: Option<&str>, new: Option<&str>) -> Self {
        FieldChange {
            field,
            old: old.map(str::to_string),
            new: new.map(str::to_string),
            document: true,
            optional: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub id: ResourceId,
    pub kind: ChangeKind,
    pub fields: Vec<FieldChange>,
    pub operation: Operation,
    /// Changes of one stage depend only on changes of earlier stages: apply runs the stages
    /// in order and the changes of a stage concurrently.
    pub stage: u8,
}

/// Something the plan cannot do, or must report, about one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub id: ResourceId,
    pub message: String,
}

/// An object rolecall does not write that differs from what the spec expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub id: ResourceId,
    pub lifecycle: Lifecycle,
    /// `old` is the account's value, `new` the expected one.
    pub fields: Vec<FieldChange>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Sorted by resource id, as kops lists them.
    pub changes: Vec<Change>,
    /// Differences in objects whose lifecycle forbids writing them.
    pub drift: Vec<Drift>,
    /// Reported, but no reason to stop: a missing ExistsAndWarnIfChanges object, a read
    /// refused under WarnIfInsufficientAccess, a profile with no role.
    pub warnings: Vec<Problem>,
    /// Conflicts that stop an apply before anything is written.
    pub errors: Vec<Problem>,
    /// Objects with lifecycle Ignore: neither read nor written.
    pub ignored: Vec<ResourceId>,
    /// Objects a deletion would take (a teardown, a removed instance group) that this
    /// cluster's tags do not prove it owns: listed, never touched.
    pub not_owned: Vec<Problem>,
}

impl Plan {
    pub fn has_changes(&self) -> bool {
        !self.changes.is_empty()
    }

    pub fn changes_of(&self, kind: ChangeKind) -> impl Iterator<Item = &Change> {
        self.changes.iter().filter(move |c| c.kind == kind)
    }

    pub(crate) fn sort(&mut self) {
        self.changes.sort_by(|a, b| a.id.cmp(&b.id));
        self.drift.sort_by(|a, b| a.id.cmp(&b.id));
        self.warnings.sort_by(|a, b| a.id.cmp(&b.id));
        self.errors.sort_by(|a, b| a.id.cmp(&b.id));
        self.ignored.sort();
        self.not_owned.sort_by(|a, b| a.id.cmp(&b.id));
    }
}
