//! weir's controller library: everything `weir-controller` does besides parsing its command
//! line, so tests drive it directly.
//!
//! ```text
//! manifests ─► weir_translate::translate ─► plan::Plan ─► text | JSON
//!                                              └─► (aws) ALB rules + quota errors
//! manifests ─► translate ─► aws::apply_once | aws::plan_live ─► AWS (or AWS_ENDPOINT_URL)
//! ```
//!
//! It depends on the model, translate and provider crates; nothing depends on it.

pub mod aws;
pub mod plan;
