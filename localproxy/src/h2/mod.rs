//! weir's own HTTP/2 (RFC 9113): the pure codec a connection driver is built on.
//!
//! `frame` parses and writes frames, `hpack` decodes request header blocks and encodes
//! response ones. Neither does I/O nor imports anything else of this crate.

pub mod frame;
pub mod hpack;
