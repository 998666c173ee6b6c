//! Errors in the user's input, each naming the file, line and field it concerns.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_saphyr::Location;

/// Where in the input a value was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: PathBuf,
    pub line: u64,
    pub column: u64,
}

impl SourceLocation {
    pub fn new(file: &Path, at: &Location) -> Self {
        SourceLocation {
            file: file.to_path_buf(),
            line: at.line(),
            column: at.column(),
        }
    }
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One problem with the input. Rendered as `file:line:column: field: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// The file, when the problem is not in a file: the file alone when no line is known.
    pub file: Option<PathBuf>,
    pub location: Option<SourceLocation>,
    /// The field path, such as `spec.iam.legacy`, when the problem concerns one field.
    pub field: Option<String>,
    pub message: String,
}

impl InputError {
    pub fn at(
        location: SourceLocation,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            file: Some(location.file.clone()),
            location: Some(location),
            field: Some(field.into()),
            message: message.into(),
        }
    }

    pub fn in_file(file: &Path, field: Option<String>, message: impl Into<String>) -> Self {
        InputError {
            file: Some(file.to_path_buf()),
            location: None,
            field,
            message: message.into(),
        }
    }

    /// A problem that belongs to no file, such as a bad command-line flag.
    pub fn general(field: impl Into<String>, message: impl Into<String>) -> Self {
        InputError {
            file: None,
            location: None,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.location, &self.file) {
            (Some(loc), _) => write!(f, "{loc}: ")?,
            (None, Some(file)) => write!(f, "{}: ", file.display())?,
            (None, None) => {}
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        write!(f, "{}", self.message)
    }
}

impl std::error::Error for InputError {}

/// Every problem found in the input; rolecall stops on any of them before it calls AWS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputErrors(pub Vec<InputError>);

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

impl From<InputError> for InputErrors {
    fn from(e: InputError) -> Self {
        InputErrors(vec![e])
    }
}
