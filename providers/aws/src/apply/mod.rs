//! Apply: a plan's steps, in order, one call each ([`run`]), and what this process remembers of
//! what it created ([`memory`]).

pub mod memory;
pub mod run;

pub use memory::{DEFAULT_MEMORY, Memory};
pub use run::{Applied, apply};
