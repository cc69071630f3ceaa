//! The decoder against RFC 7541 Appendix C, every malformed-block rule, the list limit and
//! round trips through the encoder.

use std::hint::black_box;
use std::time::Instant;

use proptest::prelude::*;

use super::super::Encoder;
use super::super::encoder::{encode_integer, encode_string_huffman_if_shorter};
use super::*;

/// Bytes from an Appendix C hex dump (the hex columns only, whitespace ignored).
fn hex(dump: &str) -> Vec<u8> {
    let digits: Vec<u8> = dump.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

type Fields = Vec<(String, String)>;

fn decode_with_limit(
    decoder: &mut Decoder,
    block: &[u8],
    limit: usize,
) -> (Fields, Result<(), HpackError>) {
    let mut fields = Vec::new();
    let result = decoder.decode(block, limit, &mut |name, value| {
        fields.push((
            String::from_utf8_lossy(name).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    });
    (fields, result)
}

fn decode(decoder: &mut Decoder, block: &[u8]) -> Result<Fields, HpackError> {
    let (fields, result) = decode_with_limit(decoder, block, 64 * 1024);
    result.map(|()| fields)
}

fn list(fields: &[(&str, &str)]) -> Fields {
    fields
        .iter()
        .map(|(n, v)| (n.to_string(), v.to_string()))
        .collect()
}

fn table_of(decoder: &Decoder) -> Fields {
    decoder
        .table
        .dynamic_entries()
        .into_iter()
        .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
        .collect()
}

fn one_block_error(block: &[u8]) -> Result<Fields, HpackError> {
    decode(&mut Decoder::new(4096), block)
}

#[test]
fn c2_1_literal_with_indexing() {
    let mut decoder = Decoder::new(4096);
    let block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    assert_eq!(
        decode(&mut decoder, &block),
        Ok(list(&[("custom-key", "custom-header")]))
    );
    assert_eq!(table_of(&decoder), list(&[("custom-key", "custom-header")]));
    assert_eq!(decoder.table.size(), 55);
}

#[test]
fn c2_2_literal_without_indexing() {
    let mut decoder = Decoder::new(4096);
    let block = hex("040c 2f73 616d 706c 652f 7061 7468");
    assert_eq!(
        decode(&mut decoder, &block),
        Ok(list(&[(":path", "/sample/path")]))
    );
    assert_eq!(table_of(&decoder), list(&[]));
}

#[test]
fn c2_3_literal_never_indexed() {
    let mut decoder = Decoder::new(4096);
    let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
    assert_eq!(
        decode(&mut decoder, &block),
        Ok(list(&[("password", "secret")]))
    );
    assert_eq!(table_of(&decoder), list(&[]));
}

#[test]
fn c2_4_indexed_field() {
    let mut decoder = Decoder::new(4096);
    assert_eq!(
        decode(&mut decoder, &[0x82]),
        Ok(list(&[(":method", "GET")]))
    );
    assert_eq!(table_of(&decoder), list(&[]));
}

/// One request or response of C.3 to C.6: the block, the decoded list, then the dynamic
/// table (newest first) and its size.
struct Step {
    block: &'static str,
    fields: &'static [(&'static str, &'static str)],
    table: &'static [(&'static str, &'static str)],
    size: usize,
}

fn run_steps(max_table_size: usize, steps: &[Step]) {
    let mut decoder = Decoder::new(max_table_size);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            decode(&mut decoder, &hex(step.block)),
            Ok(list(step.fields)),
            "step {}",
            i + 1
        );
        assert_eq!(table_of(&decoder), list(step.table), "step {}", i + 1);
        assert_eq!(decoder.table.size(), step.size, "step {}", i + 1);
    }
}

const REQUEST_1: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
];
const REQUEST_2: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "http"),
    (":path", "/"),
    (":authority", "www.example.com"),
    ("cache-control", "no-cache"),
];
const REQUEST_3: &[(&str, &str)] = &[
    (":method", "GET"),
    (":scheme", "https"),
    (":path", "/index.html"),
    (":authority", "www.example.com"),
    ("custom-key", "custom-value"),
];
const REQUEST_TABLE_1: &[(&str, &str)] = &[(":authority", "www.example.com")];
const REQUEST_TABLE_2: &[(&str, &str)] = &[
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];
const REQUEST_TABLE_3: &[(&str, &str)] = &[
    ("custom-key", "custom-value"),
    ("cache-control", "no-cache"),
    (":authority", "www.example.com"),
];

#[test]
fn c3_requests_without_huffman() {
    run_steps(
        4096,
        &[
            Step {
                block: "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
                fields: REQUEST_1,
                table: REQUEST_TABLE_1,
                size: 57,
            },
            Step {
                block: "8286 84be 5808 6e6f 2d63 6163 6865",
                fields: REQUEST_2,
                table: REQUEST_TABLE_2,
                size: 110,
            },
            Step {
                block: "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
                fields: REQUEST_3,
                table: REQUEST_TABLE_3,
                size: 164,
            },
        ],
    );
}

#[test]
fn c4_requests_with_huffman() {
    run_steps(
        4096,
        &[
            Step {
                block: "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
                fields: REQUEST_1,
                table: REQUEST_TABLE_1,
                size: 57,
            },
            Step {
                block: "8286 84be 5886 a8eb 1064 9cbf",
                fields: REQUEST_2,
                table: REQUEST_TABLE_2,
                size: 110,
            },
            Step {
                block: "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
                fields: REQUEST_3,
                table: REQUEST_TABLE_3,
                size: 164,
            },
        ],
    );
}

const DATE_1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
const DATE_2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
const LOCATION: &str = "https://www.example.com";
const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
const RESPONSE_1: &[(&str, &str)] = &[
    (":status", "302"),
    ("cache-control", "private"),
    ("date", DATE_1),
    ("location", LOCATION),
];
const RESPONSE_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("cache-control", "private"),
    ("date", DATE_1),
    ("location", LOCATION),
];
const RESPONSE_3: &[(&str, &str)] = &[
    (":status", "200"),
    ("cache-control", "private"),
    ("date", DATE_2),
    ("location", LOCATION),
    ("content-encoding", "gzip"),
    ("set-cookie", COOKIE),
];
const RESPONSE_TABLE_1: &[(&str, &str)] = &[
    ("location", LOCATION),
    ("date", DATE_1),
    ("cache-control", "private"),
    (":status", "302"),
];
const RESPONSE_TABLE_2: &[(&str, &str)] = &[
    (":status", "307"),
    ("location", LOCATION),
    ("date", DATE_1),
    ("cache-control", "private"),
];
const RESPONSE_TABLE_3: &[(&str, &str)] = &[
    ("set-cookie", COOKIE),
    ("content-encoding", "gzip"),
    ("date", DATE_2),
];

#[test]
fn c5_responses_without_huffman_evict() {
    run_steps(
        256,
        &[
            Step {
                block: "4803 3330 3258 0770 7269 7661 7465 611d
                        4d6f 6e2c 2032 3120 4f63 7420 3230 3133
                        2032 303a 3133 3a32 3120 474d 546e 1768
                        7474 7073 3a2f 2f77 7777 2e65 7861 6d70
                        6c65 2e63 6f6d",
                fields: RESPONSE_1,
                table: RESPONSE_TABLE_1,
                size: 222,
            },
            Step {
                block: "4803 3330 37c1 c0bf",
                fields: RESPONSE_2,
                table: RESPONSE_TABLE_2,
                size: 222,
            },
            Step {
                block: "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420
                        3230 3133 2032 303a 3133 3a32 3220 474d
                        54c0 5a04 677a 6970 7738 666f 6f3d 4153
                        444a 4b48 514b 425a 584f 5157 454f 5049
                        5541 5851 5745 4f49 553b 206d 6178 2d61
                        6765 3d33 3630 303b 2076 6572 7369 6f6e
                        3d31",
                fields: RESPONSE_3,
                table: RESPONSE_TABLE_3,
                size: 215,
            },
        ],
    );
}

#[test]
fn c6_responses_with_huffman_evict() {
    run_steps(
        256,
        &[
            Step {
                block: "4882 6402 5885 aec3 771a 4b61 96d0 7abe
                        9410 54d4 44a8 2005 9504 0b81 66e0 82a6
                        2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8
                        e9ae 82ae 43d3",
                fields: RESPONSE_1,
                table: RESPONSE_TABLE_1,
                size: 222,
            },
            Step {
                block: "4883 640e ffc1 c0bf",
                fields: RESPONSE_2,
                table: RESPONSE_TABLE_2,
                size: 222,
            },
            Step {
                block: "88c1 6196 d07a be94 1054 d444 a820 0595
                        040b 8166 e084 a62d 1bff c05a 839b d9ab
                        77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b
                        3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
                        9587 3160 65c0 03ed 4ee5 b106 3d50 07",
                fields: RESPONSE_3,
                table: RESPONSE_TABLE_3,
                size: 215,
            },
        ],
    );
}

#[test]
fn an_integer_cut_off_in_its_continuation_is_truncated() {
    assert_eq!(one_block_error(&[0xff]), Err(HpackError::Truncated));
    assert_eq!(one_block_error(&[0xff, 0x80]), Err(HpackError::Truncated));
}

#[test]
fn a_block_that_ends_before_a_string_is_truncated() {
    // Literal without indexing, name :path (4), and no value at all.
    assert_eq!(one_block_error(&[0x04]), Err(HpackError::Truncated));
    // A literal name whose length is cut off in its continuation.
    assert_eq!(one_block_error(&[0x00, 0x7f]), Err(HpackError::Truncated));
}

#[test]
fn a_string_longer_than_the_rest_of_the_block_is_string_too_long() {
    assert_eq!(
        one_block_error(&[0x04, 0x05, b'/', b'a']),
        Err(HpackError::StringTooLong)
    );
}

#[test]
fn a_string_longer_than_the_list_limit_is_string_too_long() {
    let mut block = vec![0x04, 0x0a];
    block.extend_from_slice(b"/123456789");
    let (_, result) = decode_with_limit(&mut Decoder::new(4096), &block, 9);
    assert_eq!(result, Err(HpackError::StringTooLong));
}

#[test]
fn an_integer_above_2_pow_32_overflows() {
    // 127 + (2^28 - 1) + 15 * 2^28 = 2^32 + 126.
    assert_eq!(
        one_block_error(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(HpackError::IntegerOverflow)
    );
}

#[test]
fn an_integer_with_too_many_continuation_bytes_overflows() {
    assert_eq!(
        one_block_error(&[0xff, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
        Err(HpackError::IntegerOverflow)
    );
}

#[test]
fn the_largest_u32_integer_still_decodes() {
    // A size update of u32::MAX is read, then refused for its size, not as an overflow.
    let mut block = vec![0x3f];
    let mut rest = u64::from(u32::MAX) - 31;
    while rest >= 0x80 {
        block.push(0x80 | (rest & 0x7f) as u8);
        rest >>= 7;
    }
    block.push(rest as u8);
    assert_eq!(
        one_block_error(&block),
        Err(HpackError::TableSizeUpdateTooLarge)
    );
}

#[test]
fn index_zero_is_bad_index() {
    assert_eq!(one_block_error(&[0x80]), Err(HpackError::BadIndex));
}

#[test]
fn an_index_past_the_table_is_bad_index() {
    // Static table only: 62 is past the end, as an indexed field and as a literal's name.
    assert_eq!(one_block_error(&[0x80 | 62]), Err(HpackError::BadIndex));
    assert_eq!(
        one_block_error(&[0x40 | 62, 0x01, b'x']),
        Err(HpackError::BadIndex)
    );
    assert_eq!(
        one_block_error(&[0x0f, 62 - 15, 0x01, b'x']),
        Err(HpackError::BadIndex)
    );
}

#[test]
fn a_size_update_above_the_advertised_maximum_is_refused() {
    // 31 + 0x61 + (0x1f << 7) = 4096: allowed; 4097 is not.
    assert_eq!(one_block_error(&[0x3f, 0xe1, 0x1f]), Ok(Vec::new()));
    assert_eq!(
        one_block_error(&[0x3f, 0xe2, 0x1f]),
        Err(HpackError::TableSizeUpdateTooLarge)
    );
}

#[test]
fn a_size_update_after_a_field_is_misplaced() {
    assert_eq!(
        one_block_error(&[0x82, 0x20]),
        Err(HpackError::TableSizeUpdateMisplaced)
    );
}

#[test]
fn size_updates_at_the_start_of_a_block_are_applied() {
    let mut decoder = Decoder::new(4096);
    let first = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
    decode(&mut decoder, &first).unwrap();
    // Two updates (to 0, then back to 4096) empty the table; then a field.
    assert_eq!(
        decode(&mut decoder, &[0x20, 0x3f, 0xe1, 0x1f, 0x82]),
        Ok(list(&[(":method", "GET")]))
    );
    assert_eq!(table_of(&decoder), list(&[]));
    assert_eq!(
        decode(&mut decoder, &[0x80 | 62]),
        Err(HpackError::BadIndex)
    );
}

#[test]
fn huffman_with_eos_inside_is_bad_huffman() {
    // :path, Huffman value of 5 bytes: 'a' (00011), EOS (30 ones), 5 bits of padding.
    let bits: u64 = (0b00011 << 35) | (0x3fff_ffff << 5) | 0b11111;
    let mut block = vec![0x04, 0x85];
    block.extend_from_slice(&bits.to_be_bytes()[3..]);
    assert_eq!(one_block_error(&block), Err(HpackError::BadHuffman));
}

#[test]
fn huffman_padding_longer_than_seven_bits_is_bad_huffman() {
    assert_eq!(
        one_block_error(&[0x04, 0x82, 0b0001_1111, 0xff]),
        Err(HpackError::BadHuffman)
    );
}

#[test]
fn huffman_padding_not_all_ones_is_bad_huffman() {
    assert_eq!(
        one_block_error(&[0x04, 0x81, 0b0001_1110]),
        Err(HpackError::BadHuffman)
    );
}

#[test]
fn past_the_list_limit_fields_stop_but_the_table_stays_in_sync() {
    let mut decoder = Decoder::new(4096);
    // Three literals with incremental indexing, literal names: 34 + 34 + 34 bytes counted.
    let block = [
        0x40, 0x01, b'a', 0x01, b'1', //
        0x40, 0x01, b'b', 0x01, b'2', //
        0x40, 0x01, b'c', 0x01, b'3',
    ];
    let (fields, result) = decode_with_limit(&mut decoder, &block, 68);
    assert_eq!(result, Err(HpackError::ListTooLarge));
    assert_eq!(fields, list(&[("a", "1"), ("b", "2")]));
    // The entry inserted past the limit is there for the next block.
    assert_eq!(
        decode(&mut decoder, &[0x80 | 62, 0x80 | 64]),
        Ok(list(&[("c", "3"), ("a", "1")]))
    );
}

#[test]
fn the_list_limit_counts_32_bytes_per_field() {
    // :method GET is 7 + 3 + 32 = 42.
    let (fields, result) = decode_with_limit(&mut Decoder::new(4096), &[0x82], 42);
    assert_eq!((fields.len(), result), (1, Ok(())));
    let (fields, result) = decode_with_limit(&mut Decoder::new(4096), &[0x82], 41);
    assert_eq!((fields.len(), result), (0, Err(HpackError::ListTooLarge)));
}

#[test]
fn a_large_huffman_value_does_not_keep_its_scratch_buffer() {
    let value = "a".repeat(20_000);
    let mut block = vec![0x04];
    encode_string_huffman_if_shorter(value.as_bytes(), &mut block);
    let mut decoder = Decoder::new(4096);
    assert_eq!(
        decode(&mut decoder, &block),
        Ok(list(&[(":path", value.as_str())]))
    );
    assert!(decoder.value_scratch.capacity() <= SCRATCH_KEPT);
    assert!(decoder.name_scratch.capacity() <= SCRATCH_KEPT);
}

#[test]
fn an_empty_block_is_an_empty_list() {
    assert_eq!(one_block_error(&[]), Ok(Vec::new()));
}

/// A block of literals with incremental indexing, Huffman-encoded where shorter, as
/// nghttp2 (h2load, curl) and browsers send a connection's first request; `indexed` are
/// static indices sent first.
fn indexing_block(indexed: &[u8], literals: &[(usize, &str, &str)]) -> Vec<u8> {
    let mut block = Vec::new();
    for &index in indexed {
        encode_integer(usize::from(index), 7, 0x80, &mut block);
    }
    for &(name_index, name, value) in literals {
        encode_integer(name_index, 6, 0x40, &mut block);
        if name_index == 0 {
            encode_string_huffman_if_shorter(name.as_bytes(), &mut block);
        }
        encode_string_huffman_if_shorter(value.as_bytes(), &mut block);
    }
    block
}

/// The CPU time this thread has run, in ns (Linux's schedstat): steadier than the wall clock
/// on a machine shared with other builds.
fn thread_cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// Decodes `block` `rounds` times on a decoder primed with `primer`: (CPU, wall) ns per block.
fn ns_per_block(primer: &[u8], block: &[u8], rounds: u32) -> (f64, f64) {
    let mut decoder = Decoder::new(4096);
    decode(&mut decoder, primer).unwrap();
    let mut bytes = 0usize;
    let cpu_start = thread_cpu_ns();
    let start = Instant::now();
    for _ in 0..rounds {
        decoder
            .decode(black_box(block), 64 * 1024, &mut |name, value| {
                bytes += name.len() + value.len();
            })
            .unwrap();
    }
    let wall = start.elapsed().as_nanos() as f64;
    let cpu = match (cpu_start, thread_cpu_ns()) {
        (Some(start), Some(end)) => (end - start) as f64,
        _ => wall,
    };
    black_box(bytes);
    (cpu / f64::from(rounds), wall / f64::from(rounds))
}

#[test]
#[ignore = "a measurement: cargo test --release -p weir-proxy --lib decode_speed -- --ignored --nocapture"]
fn decode_speed_of_common_request_blocks() {
    const ROUNDS: u32 = 1_000_000;
    let h2load_first = indexing_block(
        &[2, 7, 4],
        &[(1, "", "127.0.0.1:8443"), (58, "", "h2load nghttp2/1.52.0")],
    );
    // Later requests on the connection: GET https / and the two entries above.
    let h2load_next = [0x82, 0x87, 0x84, 0xbf, 0xbe];
    let browser_first = indexing_block(
        &[2, 7],
        &[
            (1, "", "www.example.com"),
            (4, "", "/assets/app.js?v=20261201"),
            (
                0,
                "sec-ch-ua",
                "\"Chromium\";v=\"120\", \"Not?A_Brand\";v=\"8\"",
            ),
            (0, "sec-ch-ua-mobile", "?0"),
            (0, "sec-ch-ua-platform", "\"Linux\""),
            (
                58,
                "",
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/120.0.0.0 Safari/537.36",
            ),
            (
                19,
                "",
                "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            ),
            (0, "sec-fetch-site", "same-origin"),
            (0, "sec-fetch-mode", "no-cors"),
            (0, "sec-fetch-dest", "script"),
            (51, "", "https://www.example.com/"),
            (16, "", "gzip, deflate, br"),
            (17, "", "en-US,en;q=0.9"),
            (32, "", "session=3f9a0c2d7e8b4a61; theme=dark"),
        ],
    );
    let cases: [(&str, &[u8], &[u8]); 3] = [
        (
            "h2load, first request (Huffman literals, 2 inserts)",
            &[],
            &h2load_first,
        ),
        (
            "h2load, later requests (5 indexed fields)",
            &h2load_first,
            &h2load_next,
        ),
        (
            "browser, first request (16 fields, 14 Huffman inserts)",
            &[],
            &browser_first,
        ),
    ];
    for (name, primer, block) in cases {
        let (cpu, wall) = ns_per_block(primer, block, ROUNDS);
        println!(
            "{name}: {} bytes, {cpu:.0} ns/block of CPU ({wall:.0} wall)",
            block.len()
        );
    }
}

fn header_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b":authority".to_vec()),
        Just(b":path".to_vec()),
        Just(b":method".to_vec()),
        Just(b"cookie".to_vec()),
        Just(b"content-type".to_vec()),
        Just(b"accept-encoding".to_vec()),
        proptest::collection::vec(proptest::char::range('a', 'z'), 1..20)
            .prop_map(|chars| chars.into_iter().collect::<String>().into_bytes()),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"GET".to_vec()),
        Just(b"gzip, deflate".to_vec()),
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 0..300),
    ]
}

proptest! {
    #[test]
    fn integers_round_trip_with_every_prefix(
        value in prop_oneof![0usize..300, 0..=u32::MAX as usize],
        prefix_bits in 1u8..=7,
        flags in any::<u8>(),
    ) {
        let flags = flags & !((1u8 << prefix_bits) - 1);
        let mut block = Vec::new();
        encode_integer(value, prefix_bits, flags, &mut block);
        prop_assert_eq!(block[0] & flags, flags);
        let mut pos = 0;
        prop_assert_eq!(read_integer(&block, &mut pos, prefix_bits), Ok(value));
        prop_assert_eq!(pos, block.len());
    }

    #[test]
    fn encoded_fields_decode_to_themselves(
        fields in proptest::collection::vec((header_name(), header_value()), 0..20),
        status in 100u16..1000,
    ) {
        let mut encoder = Encoder::new();
        let mut block = Vec::new();
        encoder.status(status, &mut block);
        for (name, value) in &fields {
            encoder.field(name, value, &mut block);
        }
        let mut decoded = Vec::new();
        let result = Decoder::new(4096).decode(&block, usize::MAX, &mut |name, value| {
            decoded.push((name.to_vec(), value.to_vec()));
        });
        prop_assert_eq!(result, Ok(()));
        let mut expected = vec![(b":status".to_vec(), status.to_string().into_bytes())];
        expected.extend(fields);
        prop_assert_eq!(decoded, expected);
    }

    #[test]
    fn huffman_literals_with_indexing_decode_and_stay_referable(
        fields in proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 1..20),
                proptest::collection::vec(any::<u8>(), 0..100),
            ),
            1..10,
        ),
    ) {
        // At most 9 * (19 + 99 + 32) bytes: everything stays in a 4096-byte table.
        let mut block = Vec::new();
        for (name, value) in &fields {
            block.push(0x40);
            encode_string_huffman_if_shorter(name, &mut block);
            encode_string_huffman_if_shorter(value, &mut block);
        }
        let mut decoder = Decoder::new(4096);
        let mut first = Vec::new();
        let result = decoder.decode(&block, usize::MAX, &mut |name, value| {
            first.push((name.to_vec(), value.to_vec()));
        });
        prop_assert_eq!(result, Ok(()));
        prop_assert_eq!(&first, &fields);
        // The oldest insertion has the highest index.
        let references: Vec<u8> = (0..fields.len()).rev().map(|i| 0x80 | (62 + i as u8)).collect();
        let mut again = Vec::new();
        let result = decoder.decode(&references, usize::MAX, &mut |name, value| {
            again.push((name.to_vec(), value.to_vec()));
        });
        prop_assert_eq!(result, Ok(()));
        prop_assert_eq!(again, fields);
    }

    #[test]
    fn any_block_decodes_or_fails_without_panicking(
        blocks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 1..4)
    ) {
        let mut decoder = Decoder::new(4096);
        for block in blocks {
            let _ = decoder.decode(&block, 8192, &mut |_, _| {});
        }
    }
}
