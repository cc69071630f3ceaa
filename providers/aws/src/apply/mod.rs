//! Apply: a plan's steps, in order, one call each ([`run`]), and what this process remembers of
//! what it created ([`memory`]) and of the targets it left in each target group
//! ([`known_targets`]).

pub mod known_targets;
pub mod memory;
pub mod run;

pub use known_targets::KnownTargets;
pub use memory::{DEFAULT_MEMORY, Memory};
pub use run::{Applied, apply};
