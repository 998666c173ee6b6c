//! rolecall: reconciles the IAM of kops-style Kubernetes clusters with an AWS account.
//!
//! Data flows one way: [`spec`] (YAML) -> [`desired`] (desired model) -> [`plan`] (with the
//! actual model from [`cloud`]) -> [`render`] or [`apply`]; [`reconcile`] runs it and
//! [`cli`] prints it. Everything but `cloud`, `apply`, `reconcile` and `cli` is pure, and
//! only `cloud` talks to AWS. docs/architecture.md is the map.

pub mod access;
pub mod annotations;
pub mod apply;
pub mod catalogue;
pub mod cli;
pub mod cloud;
pub mod desired;
pub mod error;
pub mod lifecycle;
pub mod lint;
pub mod model;
pub mod operation;
pub mod plan;
pub mod policy;
pub mod reconcile;
pub mod redact;
pub mod render;
pub mod rolling;
pub mod saved_plan;
pub mod spec;

#[cfg(test)]
pub(crate) mod test_spec;
