//! The response side of HPACK: header blocks from the static table and literals only.
//!
//! The encoder never inserts into the dynamic table, so it needs no table size update
//! whatever the peer's SETTINGS_HEADER_TABLE_SIZE, and it holds no per-connection memory.

#[cfg(test)]
use super::huffman;
use super::table::STATIC_TABLE;

/// Writes header blocks: indexed static entries where name and value match one, literals
/// without indexing otherwise (never-indexed for credentials and cookies).
#[derive(Debug, Default)]
pub struct Encoder {}

/// Representation flags of RFC 7541 sections 5.2 and 6.
const INDEXED: u8 = 0x80;
const LITERAL_WITHOUT_INDEXING: u8 = 0x00;
const LITERAL_NEVER_INDEXED: u8 = 0x10;
#[cfg(test)]
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
    /// lowercase already. Strings are plain literals (see `encode_string` for why).
    pub fn field(&mut self, name: &[u8], value: &[u8], out: &mut Vec<u8>) {
        let Some(first) = static_name_index(name) else {
            out.push(LITERAL_WITHOUT_INDEXING);
            encode_string(name, out);
            encode_string(value, out);
            return;
        };
        let same_name = &STATIC_TABLE[first - 1..first - 1 + static_entries_named(first)];
        if let Some(offset) = same_name.iter().position(|&(_, v)| v == value) {
            encode_integer(first + offset, 7, INDEXED, out);
            return;
        }
        let flags = if is_never_indexed(first) {
            LITERAL_NEVER_INDEXED
        } else {
            LITERAL_WITHOUT_INDEXING
        };
        encode_integer(first, 4, flags, out);
        encode_string(value, out);
    }
}

/// Whether the field named by static index `first` is one whose values a shared compression
/// context must never index (RFC 7541 section 7.1): `authorization`, `cookie`,
/// `proxy-authorization` and `set-cookie`, all in the static table.
fn is_never_indexed(first: usize) -> bool {
    matches!(first, 23 | 32 | 49 | 55)
}

/// How many static entries share the name of static index `first` (Appendix A: only the
/// pseudo-headers have several).
fn static_entries_named(first: usize) -> usize {
    match first {
        2 | 4 | 6 => 2,
        8 => 7,
        _ => 1,
    }
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
#[inline]
pub(super) fn encode_integer(value: usize, prefix_bits: u8, flags: u8, out: &mut Vec<u8>) {
    let prefix_max = (1usize << prefix_bits) - 1;
    if value < prefix_max {
        // Below the prefix maximum, so it fits in the prefix bits.
        out.push(flags | value as u8);
        return;
    }
    encode_integer_continued(value, prefix_max, flags, out);
}

/// [`encode_integer`] for values that do not fit the prefix.
fn encode_integer_continued(value: usize, prefix_max: usize, flags: u8, out: &mut Vec<u8>) {
    out.push(flags | prefix_max as u8);
    let mut rest = value - prefix_max;
    while rest >= 0x80 {
        out.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    // Below 0x80 after the loop.
    out.push(rest as u8);
}

/// Appends a string literal (RFC 7541 section 5.2) as plain bytes. Huffman coding makes a
/// typical response head a fifth smaller but takes two and a half times the CPU
/// (`encode_speed_of_a_common_response_head`: 104 bytes in ~270 ns against 130 bytes in
/// ~105 ns), and a proxy's HTTP/2 is CPU-bound: the 26 bytes cost TLS far less.
pub(super) fn encode_string(value: &[u8], out: &mut Vec<u8>) {
    encode_integer(value.len(), 7, 0, out);
    out.extend_from_slice(value);
}

/// Appends a string literal Huffman-encoded when that is shorter, as browsers and nghttp2
/// send them: for the tests and measurements of both sides.
#[cfg(test)]
pub(super) fn encode_string_huffman_if_shorter(value: &[u8], out: &mut Vec<u8>) {
    let huffman_len = huffman::encoded_len(value);
    if huffman_len < value.len() {
        encode_integer(huffman_len, 7, HUFFMAN, out);
        huffman::encode(value, out);
    } else {
        encode_string(value, out);
    }
}

#[cfg(test)]
mod tests {
    use std::hint::black_box;
    use std::time::Instant;

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
            let first = STATIC_TABLE.iter().position(|(n, _)| n == name).unwrap() + 1;
            assert_eq!(static_name_index(name), Some(first), "index {}", i + 1);
            let named = STATIC_TABLE.iter().filter(|(n, _)| n == name).count();
            assert_eq!(static_entries_named(first), named, "index {}", i + 1);
        }
        assert_eq!(static_name_index(b"x-custom"), None);
    }

    #[test]
    fn the_never_indexed_indices_are_the_credential_and_cookie_names() {
        let names: Vec<&[u8]> = (1..=STATIC_TABLE.len())
            .filter(|&index| is_never_indexed(index))
            .map(|index| STATIC_TABLE[index - 1].0)
            .collect();
        let expected: [&[u8]; 4] = [
            b"authorization",
            b"cookie",
            b"proxy-authorization",
            b"set-cookie",
        ];
        assert_eq!(names, expected);
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
        assert_eq!(status(302), [0x08, 0x03, b'3', b'0', b'2']);
        assert_eq!(status(503), [0x08, 0x03, b'5', b'0', b'3']);
        assert_eq!(status(1), [0x08, 0x01, b'1']);
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
    fn strings_are_plain_literals() {
        let mut out = Vec::new();
        encode_string(b"www.example.com", &mut out);
        assert_eq!(out[0], 15);
        assert_eq!(&out[1..], b"www.example.com");
    }

    #[test]
    fn the_huffman_helper_encodes_only_when_shorter() {
        let mut out = Vec::new();
        encode_string_huffman_if_shorter(b"www.example.com", &mut out);
        assert_eq!(out[0], HUFFMAN | 12);
        out.clear();
        encode_string_huffman_if_shorter(b"\x00\x01", &mut out);
        assert_eq!(out, [0x02, 0x00, 0x01]);
    }

    /// A response head as an HTTP/1.1 upstream (nginx) answers a small GET.
    const RESPONSE: [(&[u8], &[u8]); 6] = [
        (b"server", b"nginx/1.22.1"),
        (b"date", b"Tue, 01 Dec 2026 18:45:58 GMT"),
        (b"content-type", b"text/html; charset=utf-8"),
        (b"content-length", b"612"),
        (b"last-modified", b"Mon, 30 Nov 2026 09:12:44 GMT"),
        (b"etag", b"\"6564f0bc-264\""),
    ];

    /// The same block with Huffman strings where shorter: what plain literals were chosen
    /// over.
    fn huffman_block(out: &mut Vec<u8>) {
        encode_integer(8, 7, INDEXED, out);
        for (name, value) in RESPONSE {
            encode_integer(static_name_index(name).unwrap_or(0), 4, 0, out);
            encode_string_huffman_if_shorter(value, out);
        }
    }

    fn thread_cpu_ns() -> Option<u64> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        stat.split_whitespace().next()?.parse().ok()
    }

    /// CPU ns per call of `encode` (wall clock where schedstat is missing), and the bytes.
    fn ns_per_block(rounds: u32, mut encode: impl FnMut(&mut Vec<u8>)) -> (f64, usize) {
        let mut out = Vec::with_capacity(256);
        let cpu_start = thread_cpu_ns();
        let start = Instant::now();
        for _ in 0..rounds {
            out.clear();
            encode(black_box(&mut out));
        }
        let wall = start.elapsed().as_nanos() as f64;
        let ns = match (cpu_start, thread_cpu_ns()) {
            (Some(start), Some(end)) => (end - start) as f64,
            _ => wall,
        };
        (ns / f64::from(rounds), out.len())
    }

    #[test]
    #[ignore = "a measurement: cargo test --release -p weir-proxy --lib encode_speed -- --ignored --nocapture"]
    fn encode_speed_of_a_common_response_head() {
        const ROUNDS: u32 = 1_000_000;
        let mut encoder = Encoder::new();
        let (plain_ns, plain_len) = ns_per_block(ROUNDS, |out| {
            encoder.status(200, out);
            for (name, value) in RESPONSE {
                encoder.field(black_box(name), black_box(value), out);
            }
        });
        let (huffman_ns, huffman_len) = ns_per_block(ROUNDS, huffman_block);
        println!("Encoder (plain literals): {plain_len} bytes, {plain_ns:.0} ns/block of CPU");
        println!("Huffman where shorter: {huffman_len} bytes, {huffman_ns:.0} ns/block of CPU");
    }
}
