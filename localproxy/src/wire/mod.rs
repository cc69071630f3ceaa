//! HTTP/1.1 wire helpers both request paths and the framing guard use: header rules, host
//! and path checks, chunked framing. The bottom floor: it imports nothing of this crate.

pub mod chunked;
pub mod headers;
pub mod host;
pub mod path;
