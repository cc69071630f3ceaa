//! HPACK (RFC 7541): the header compression of HTTP/2.
//!
//! [`Decoder`] turns the header blocks a client sends into fields, keeping the dynamic table
//! that the client's encoder fills; [`Encoder`] writes response header blocks using only the
//! static table and literals, so it keeps no state the peer could make large.
//!
//! ```text
//! HEADERS + CONTINUATION payloads ─► Decoder::decode ─► field(name, value) per field
//!                                      (table.rs: static + dynamic, huffman.rs)
//! :status, fields ─► Encoder::status / Encoder::field ─► header block bytes
//! ```
//!
//! Pure code: no I/O and nothing of the rest of the crate.

mod decoder;
mod encoder;
mod huffman;
mod table;

pub use decoder::Decoder;
pub use encoder::Encoder;

/// Why a header block could not be decoded. Every variant except `ListTooLarge` is a
/// connection error COMPRESSION_ERROR (the dynamic table may be out of sync).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HpackError {
    /// The decoded list exceeded `max_list_size`; the whole block was still decoded, so the
    /// dynamic table stays in sync (a stream error: answer 431).
    #[error("the header list is larger than the limit")]
    ListTooLarge,
    /// The block ends inside a representation.
    #[error("the header block ends inside a field")]
    Truncated,
    /// An integer is larger than 2^32 - 1 or takes more bytes than such a value needs.
    #[error("an integer in the header block overflows")]
    IntegerOverflow,
    /// An index of 0, or past the end of the static and dynamic tables.
    #[error("a header index is 0 or past the end of the table")]
    BadIndex,
    /// A Huffman string contains EOS, or ends in padding longer than 7 bits or not all ones.
    #[error("a Huffman-encoded string is malformed")]
    BadHuffman,
    /// A dynamic table size update above the maximum we advertised.
    #[error("a dynamic table size update exceeds the advertised maximum")]
    TableSizeUpdateTooLarge,
    /// A dynamic table size update after a field (RFC 7541 section 4.2).
    #[error("a dynamic table size update is not at the start of the header block")]
    TableSizeUpdateMisplaced,
    /// A literal longer than the remaining block or than `max_list_size`.
    #[error("a string literal is longer than the header block or the list limit")]
    StringTooLong,
}
