//! weir's own HTTP/2 (RFC 9113): the pure codec and the connection driver built on it.
//!
//! `frame` parses and writes frames, `hpack` decodes request header blocks and encodes
//! response ones; neither does I/O nor imports anything else of this crate. `connection`
//! serves one client connection as one future: `receive` handles its frames, `request`
//! turns header blocks into validated requests, `body` carries each stream's request body
//! and cancellation, `stream` its windows and response. Every request is answered by
//! [`crate::shared::forwarding::handle`], as on the other paths. A top floor beside `lane`
//! and `hyper_path`: it imports `shared` and `wire`, never another request path.
//!
//! ```text
//! connection ─► receive ─► request ─► hpack
//!     │            └─────► body, stream ─► frame
//!     └─► shared::forwarding::handle (every stream's future, polled by the connection)
//! ```

pub mod body;
pub mod connection;
pub mod frame;
pub mod hpack;
mod receive;
pub mod request;
pub mod stream;
