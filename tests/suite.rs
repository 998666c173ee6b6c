//! Every test outside the library, in one test binary: the golden tests against kops's own
//! outputs, the property tests, and the integration tests against LocalStack.
//!
//! One binary rather than one per file (Cargo.toml sets `autotests = false`): each test binary
//! links the whole AWS SDK and compiles `common` and the SDK calls it makes again, so 22 of
//! them cost minutes of a cold `cargo test`; and libtest runs one binary's tests in parallel
//! but the binaries one after another, so the slowest tests no longer run alone. Tests that
//! share account-wide names (Route53 zones, kops's cluster names) serialise themselves, as
//! they did within their own file. Pick tests by module: `cargo test --test suite update::`.

mod common;

mod access;
mod cli_habits;
mod crash;
mod delete;
mod dns_zone;
mod effective_access;
mod faults;
mod golden_kops136;
mod golden_kops_integration;
mod golden_kops_policies;
mod inputs;
mod kops136_inputs;
mod kops_inputs;
mod lifecycles;
mod permissions_boundary;
mod pod_roles;
mod policy_properties;
mod role_drift;
mod saved_plans;
mod secrets;
mod shared_account;
mod tls;
mod update;
