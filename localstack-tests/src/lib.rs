//! Test support for weir's AWS provider against a real AWS API emulator process.
//!
//! ```text
//! Emulator::start ─► moto_server on 127.0.0.1:<free port>  (or $WEIR_AWS_ENDPOINT, e.g. LocalStack Pro)
//!        │             VPC + two subnets through plain EC2 Query POSTs
//!        ▼
//! Fixture (YAML) ─► weir_translate ─► DesiredLoadBalancer ─► AwsProvider (real SDK, real HTTP)
//! ```
//!
//! Every test uses its own cluster name, so tests never see each other's resources even on a
//! shared endpoint. This crate depends on the provider, translate and manifests crates; nothing
//! depends on it.
#![warn(missing_docs)]

mod check;
mod emulator;
mod fixture;
mod lagging;

pub use check::{Counts, Owned, assert_converged, owned, take_counts};
pub use emulator::Emulator;
pub use fixture::{Fixture, Ingress, desired, self_signed, translated};
pub use lagging::LaggingIndex;
