//! weir's data plane.
#![warn(missing_docs)]

pub mod path;
pub mod router;
