//! Helpers shared by the test binaries of this crate.
#![allow(dead_code)] // each test binary uses its own subset

pub mod cluster;
pub mod localproxy;
