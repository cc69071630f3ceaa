//! hyper's server for the HTTP/1.1 connections the lane hands off, behind the request-framing
//! guard ([`guard`]); the requests themselves are answered by
//! [`crate::shared::forwarding::handle`], as on every path. A top floor beside `lane` and `h2`:
//! it imports `shared` and `wire`, never another request path, and nothing below imports it.

pub mod guard;
