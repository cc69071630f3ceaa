//! The response side of HPACK: header blocks from the static table and literals only.
//!
//! The encoder never inserts into the dynamic table, so it needs no table size update
//! whatever the peer's SETTINGS_HEADER_TABLE_SIZE, and it holds no per-connection memory.

use super::{huffman, table::STATIC_TABLE};

/// Writes header blocks: indexed static entries where name and value match one, literals
/// without indexing otherwise (never-indexed for credentials and cookies).
#[derive(Debug, Default)]
pub struct Encoder {}

/// Representation flags of RFC 7541 section 6.
const INDEXED: u8 = 0x80;
const LITERAL_WITHOUT_INDEXING: u8 = 0x00;
const LITERAL_NEVER_INDEXED: u8 = 0x10;
const HUFFMAN: u8 = 0x80;

/// The static index of `:status` (its first entry, "200").
const STATUS_NAME_INDEX: usize = 8;

impl Encoder {
    /// An encoder for one connection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Takes the peer's SETTINGS_HEADER_TABLE_SIZE. This encoder never inserts into the
    /// dynamic table, so it owes the peer no size update (RFC 7541 section 6.3) whatever the
    /// value, and nothing is kept.
    pub fn set_peer_table_size(&mut self, _size: usize) {}

    /// Appends `:status`: the static entry for 200, 204, 206, 304, 400, 404 and 500, else a
    /// literal without indexing under the static name index 8.
    pub fn status(&mut self, status: u16, out: &mut Vec<u8>) {
        let index = match status {
            200 => Some(8),
            204 => Some(9),
            206 => Some(10),
            304 => Some(11),
            400 => Some(12),
            404 => Some(13),
            500 => Some(14),
            _ => None,
        };
        if let Some(index) = index {
            encode_integer(index, 7, INDEXED, out);
            return;
        }
        encode_integer(STATUS_NAME_INDEX, 4, LITERAL_WITHOUT_INDEXING, out);
        let mut digits = [0u8; 5];
        let mut start = digits.len();
        let mut rest = status;
        loop {
            start -= 1;
            // A decimal digit: always below 10.
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        encode_string(&digits[start..], out);
    }

    /// Appends one field: an indexed static entry when name and value match one, else a
    /// literal without indexing (never-indexed for `authorization`, `cookie`, `set-cookie`
    /// and `proxy-authorization`), under the static name index when there is one. `name` is
    /// lowercase already. Strings are Huffman-encoded when that is shorter.
    pub fn field(&mut self, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
        let name_index = static_name_index(name);
        if let Some(first) = name_index {
            let same_name = STATIC_TABLE[first - 1..]
                .iter()
                .take_while(|(static_name, _)| *static_name == name);
            for (offset, (_, static_value)) in same_name.enumerate() {
                if *static_value == value {
                    encode_integer(first + offset, 7, INDEXED, out);
                    return;
                }
            }
        }
        let flags = if is_sensitive(name) {
            LITERAL_NEVER_INDEXED
        } else {
            LITERAL_WITHOUT_INDEXING
        };
        match name_index {
            Some(index) => encode_integer(index, 4, flags, out),
            None => {
                out.push(flags);
                encode_string(name, out);
            }
        }
        encode_string(value, out);
    }
}

/// Fields whose values a shared compression context must never index (RFC 7541 section 7.1).
fn is_sensitive(name: &[u8]) -> bool {
    matches!(
        name,
        b"authorization" | b"cookie" | b"set-cookie" | b"proxy-authorization"
    )
}

/// The first static index with this name (Appendix A).
fn static_name_index(name: &[u8]) -> Option<usize> {
    let index = match name {
        b":authority" => 1,
        b":method" => 2,
        b":path" => 4,
        b":scheme" => 6,
        b":status" => 8,
        b"accept-charset" => 15,
        b"accept-encoding" => 16,
        b"accept-language" => 17,
        b"accept-ranges" => 18,
        b"accept" => 19,
        b"access-control-allow-origin" => 20,
        b"age" => 21,
        b"allow" => 22,
        b"authorization" => 23,
        b"cache-control" => 24,
        b"content-disposition" => 25,
        b"content-encoding" => 26,
        b"content-language" => 27,
        b"content-length" => 28,
        b"content-location" => 29,
        b"content-range" => 30,
        b"content-type" => 31,
        b"cookie" => 32,
        b"date" => 33,
        b"etag" => 34,
        b"expect" => 35,
        b"expires" => 36,
        b"from" => 37,
        b"host" => 38,
        b"if-match" => 39,
        b"if-modified-since" => 40,
        b"if-none-match" => 41,
        b"if-range" => 42,
        b"if-unmodified-since" => 43,
        b"last-modified" => 44,
        b"link" => 45,
        b"location" => 46,
        b"max-forwards" => 47,
        b"proxy-authenticate" => 48,
        b"proxy-authorization" => 49,
        b"range" => 50,
        b"referer" => 51,
        b"refresh" => 52,
        b"retry-after" => 53,
        b"server" => 54,
        b"set-cookie" => 55,
        b"strict-transport-security" => 56,
        b"transfer-encoding" => 57,
        b"user-agent" => 58,
        b"vary" => 59,
        b"via" => 60,
        b"www-authenticate" => 61,
        _ => return None,
    };
    Some(index)
}

/// Appends `value` with an N-bit prefix (RFC 7541 section 5.1); `flags` fills the bits of
/// the first byte above the prefix.
pub(super) fn encode_integer(value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let prefix_max = (1usize << prefix_bits) - 1;
    if value < prefix_max {
        // Below the prefix maximum, so it fits in the prefix bits.
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | prefix_max as u8);
    let mut rest = value - prefix_max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    // Below 0x80 after the loop.
    out.push(rest as u8);
}

/// Appends a string literal (RFC 7541 section 5.2), Huffman-encoded when that is shorter.
pub(super) fn encode_string(value: &[u8], out: &mut Vec<u8>) {
    let huffman_len = huffman::encoded_len(value);
    if huffman_len < value.len() {
        encode_integer(huffman_len, 7, HUFFMAN, out);
        huffman::encode(value, out);
    } else {
        encode_integer(value.len(), 7, 0, out);
        out.extend_from_slice(value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, value: &str) -> Vec<u8> {
        let mut out = Vec::new();
        Encoder::new().field(name.as_bytes(), value.as_bytes(), &mut out);
        out
    }

    fn status(code: u16) -> Vec<u8> {
        let mut out = Vec::new();
        Encoder::new().status(code, &mut out);
        out
    }

    #[test]
    fn the_name_lookup_agrees_with_the_static_table() {
        for (i, (name, _)) in STATIC_TABLE.iter().enumerate() {
            let first = STATIC_TABLE
                .iter()
                .position(|(n, _)| n == name)
                .map(|p| p + 1);
            assert_eq!(static_name_index(name), first, "index {}", i + 1);
        }
        assert_eq!(static_name_index(b"x-custom"), None);
    }

    #[test]
    fn integers_follow_appendix_c1() {
        let mut out = Vec::new();
        encode_integer(10, 5, 0, &mut out);
        assert_eq!(out, [0x0a]);
        out.clear();
        encode_integer(1337, 5, 0, &mut out);
        assert_eq!(out, [0x1f, 0x9a, 0x0a]);
        out.clear();
        encode_integer(42, 8, 0, &mut out);
        assert_eq!(out, [0x2a]);
    }

    #[test]
    fn common_statuses_are_one_indexed_byte() {
        for (code, index) in [
            (200, 8),
            (204, 9),
            (206, 10),
            (304, 11),
            (400, 12),
            (404, 13),
            (500, 14),
        ] {
            assert_eq!(status(code), [0x80 | index], "status {code}");
        }
    }

    #[test]
    fn other_statuses_are_literals_under_name_index_8() {
        // 302 Huffman-encodes to two bytes (Appendix C.6.1): 0x08, then 0x82 0x64 0x02.
        assert_eq!(status(302), [0x08, 0x82, 0x64, 0x02]);
        let literal = status(503);
        assert_eq!(literal[0], 0x08);
    }

    #[test]
    fn an_exact_static_match_is_indexed() {
        assert_eq!(field(":method", "POST"), [0x83]);
        assert_eq!(field("accept-encoding", "gzip, deflate"), [0x80 | 16]);
        assert_eq!(field("accept", ""), [0x80 | 19]);
    }

    #[test]
    fn a_static_name_with_another_value_is_a_literal_under_its_index() {
        let out = field("content-type", "text/plain");
        // Index 31 does not fit the 4-bit prefix: 0x0f then 31 - 15 = 16.
        assert_eq!(&out[..2], [0x0f, 0x10]);
    }

    #[test]
    fn credentials_and_cookies_are_never_indexed() {
        assert_eq!(field("set-cookie", "a=b")[..2], [0x1f, 55 - 15]);
        assert_eq!(field("cookie", "a=b")[..2], [0x1f, 32 - 15]);
        assert_eq!(field("authorization", "x")[..2], [0x1f, 23 - 15]);
        assert_eq!(field("proxy-authorization", "x")[..2], [0x1f, 49 - 15]);
    }

    #[test]
    fn an_unknown_name_is_a_literal_name() {
        // 0x00, then name and value as plain strings (Huffman would not be shorter).
        assert_eq!(
            field("x-a", "\0"),
            [0x00, 0x03, b'x', b'-', b'a', 0x01, 0x00]
        );
    }

    #[test]
    fn any_peer_table_size_leaves_blocks_without_a_size_update() {
        let mut encoder = Encoder::new();
        encoder.set_peer_table_size(0);
        let mut out = Vec::new();
        encoder.status(200, &mut out);
        encoder.field(b"x-a", b"\0", &mut out);
        assert_eq!(out, [0x88, 0x00, 0x03, b'x', b'-', b'a', 0x01, 0x00]);
    }

    #[test]
    fn huffman_is_used_only_when_shorter() {
        let mut out = Vec::new();
        encode_string(b"www.example.com", &mut out);
        assert_eq!(out[0], 0x80 | 12);
        out.clear();
        encode_string(b"\x00\x01", &mut out);
        assert_eq!(out, [0x02, 0x00, 0x01]);
    }
}
