//! The static Huffman code of RFC 7541 Appendix B: decoding up to two symbols at a time
//! through lookup tables built once from the code table, and (for tests and measurements:
//! the encoder sends plain literals) encoding by table lookup.
//!
//! Decoding keeps the next bits of the string in a 64-bit buffer. The next twelve bits index
//! a table that gives the one or two codes that start and end within them (letters, digits
//! and common punctuation take five to eight bits, so most lookups yield two symbols); a
//! code longer than twelve bits is found by the canonical-code rule, one comparison per
//! length. Both rely on the code being canonical, which a test checks for every entry.

use std::sync::OnceLock;

use super::HpackError;

/// Appendix B, transcribed from the RFC: `(code aligned to the least significant bit, length
/// in bits)` for the symbols 0 to 255 and EOS (256).
const CODES: [(u32, u8); 257] = [
    (0x1ff8, 13),
    (0x7fffd8, 23),
    (0xfffffe2, 28),
    (0xfffffe3, 28),
    (0xfffffe4, 28),
    (0xfffffe5, 28),
    (0xfffffe6, 28),
    (0xfffffe7, 28),
    (0xfffffe8, 28),
    (0xffffea, 24),
    (0x3ffffffc, 30),
    (0xfffffe9, 28),
    (0xfffffea, 28),
    (0x3ffffffd, 30),
    (0xfffffeb, 28),
    (0xfffffec, 28),
    (0xfffffed, 28),
    (0xfffffee, 28),
    (0xfffffef, 28),
    (0xffffff0, 28),
    (0xffffff1, 28),
    (0xffffff2, 28),
    (0x3ffffffe, 30),
    (0xffffff3, 28),
    (0xffffff4, 28),
    (0xffffff5, 28),
    (0xffffff6, 28),
    (0xffffff7, 28),
    (0xffffff8, 28),
    (0xffffff9, 28),
    (0xffffffa, 28),
    (0xffffffb, 28),
    (0x14, 6),
    (0x3f8, 10),
    (0x3f9, 10),
    (0xffa, 12),
    (0x1ff9, 13),
    (0x15, 6),
    (0xf8, 8),
    (0x7fa, 11),
    (0x3fa, 10),
    (0x3fb, 10),
    (0xf9, 8),
    (0x7fb, 11),
    (0xfa, 8),
    (0x16, 6),
    (0x17, 6),
    (0x18, 6),
    (0x0, 5),
    (0x1, 5),
    (0x2, 5),
    (0x19, 6),
    (0x1a, 6),
    (0x1b, 6),
    (0x1c, 6),
    (0x1d, 6),
    (0x1e, 6),
    (0x1f, 6),
    (0x5c, 7),
    (0xfb, 8),
    (0x7ffc, 15),
    (0x20, 6),
    (0xffb, 12),
    (0x3fc, 10),
    (0x1ffa, 13),
    (0x21, 6),
    (0x5d, 7),
    (0x5e, 7),
    (0x5f, 7),
    (0x60, 7),
    (0x61, 7),
    (0x62, 7),
    (0x63, 7),
    (0x64, 7),
    (0x65, 7),
    (0x66, 7),
    (0x67, 7),
    (0x68, 7),
    (0x69, 7),
    (0x6a, 7),
    (0x6b, 7),
    (0x6c, 7),
    (0x6d, 7),
    (0x6e, 7),
    (0x6f, 7),
    (0x70, 7),
    (0x71, 7),
    (0x72, 7),
    (0xfc, 8),
    (0x73, 7),
    (0xfd, 8),
    (0x1ffb, 13),
    (0x7fff0, 19),
    (0x1ffc, 13),
    (0x3ffc, 14),
    (0x22, 6),
    (0x7ffd, 15),
    (0x3, 5),
    (0x23, 6),
    (0x4, 5),
    (0x24, 6),
    (0x5, 5),
    (0x25, 6),
    (0x26, 6),
    (0x27, 6),
    (0x6, 5),
    (0x74, 7),
    (0x75, 7),
    (0x28, 6),
    (0x29, 6),
    (0x2a, 6),
    (0x7, 5),
    (0x2b, 6),
    (0x76, 7),
    (0x2c, 6),
    (0x8, 5),
    (0x9, 5),
    (0x2d, 6),
    (0x77, 7),
    (0x78, 7),
    (0x79, 7),
    (0x7a, 7),
    (0x7b, 7),
    (0x7ffe, 15),
    (0x7fc, 11),
    (0x3ffd, 14),
    (0x1ffd, 13),
    (0xffffffc, 28),
    (0xfffe6, 20),
    (0x3fffd2, 22),
    (0xfffe7, 20),
    (0xfffe8, 20),
    (0x3fffd3, 22),
    (0x3fffd4, 22),
    (0x3fffd5, 22),
    (0x7fffd9, 23),
    (0x3fffd6, 22),
    (0x7fffda, 23),
    (0x7fffdb, 23),
    (0x7fffdc, 23),
    (0x7fffdd, 23),
    (0x7fffde, 23),
    (0xffffeb, 24),
    (0x7fffdf, 23),
    (0xffffec, 24),
    (0xffffed, 24),
    (0x3fffd7, 22),
    (0x7fffe0, 23),
    (0xffffee, 24),
    (0x7fffe1, 23),
    (0x7fffe2, 23),
    (0x7fffe3, 23),
    (0x7fffe4, 23),
    (0x1fffdc, 21),
    (0x3fffd8, 22),
    (0x7fffe5, 23),
    (0x3fffd9, 22),
    (0x7fffe6, 23),
    (0x7fffe7, 23),
    (0xffffef, 24),
    (0x3fffda, 22),
    (0x1fffdd, 21),
    (0xfffe9, 20),
    (0x3fffdb, 22),
    (0x3fffdc, 22),
    (0x7fffe8, 23),
    (0x7fffe9, 23),
    (0x1fffde, 21),
    (0x7fffea, 23),
    (0x3fffdd, 22),
    (0x3fffde, 22),
    (0xfffff0, 24),
    (0x1fffdf, 21),
    (0x3fffdf, 22),
    (0x7fffeb, 23),
    (0x7fffec, 23),
    (0x1fffe0, 21),
    (0x1fffe1, 21),
    (0x3fffe0, 22),
    (0x1fffe2, 21),
    (0x7fffed, 23),
    (0x3fffe1, 22),
    (0x7fffee, 23),
    (0x7fffef, 23),
    (0xfffea, 20),
    (0x3fffe2, 22),
    (0x3fffe3, 22),
    (0x3fffe4, 22),
    (0x7ffff0, 23),
    (0x3fffe5, 22),
    (0x3fffe6, 22),
    (0x7ffff1, 23),
    (0x3ffffe0, 26),
    (0x3ffffe1, 26),
    (0xfffeb, 20),
    (0x7fff1, 19),
    (0x3fffe7, 22),
    (0x7ffff2, 23),
    (0x3fffe8, 22),
    (0x1ffffec, 25),
    (0x3ffffe2, 26),
    (0x3ffffe3, 26),
    (0x3ffffe4, 26),
    (0x7ffffde, 27),
    (0x7ffffdf, 27),
    (0x3ffffe5, 26),
    (0xfffff1, 24),
    (0x1ffffed, 25),
    (0x7fff2, 19),
    (0x1fffe3, 21),
    (0x3ffffe6, 26),
    (0x7ffffe0, 27),
    (0x7ffffe1, 27),
    (0x3ffffe7, 26),
    (0x7ffffe2, 27),
    (0xfffff2, 24),
    (0x1fffe4, 21),
    (0x1fffe5, 21),
    (0x3ffffe8, 26),
    (0x3ffffe9, 26),
    (0xffffffd, 28),
    (0x7ffffe3, 27),
    (0x7ffffe4, 27),
    (0x7ffffe5, 27),
    (0xfffec, 20),
    (0xfffff3, 24),
    (0xfffed, 20),
    (0x1fffe6, 21),
    (0x3fffe9, 22),
    (0x1fffe7, 21),
    (0x1fffe8, 21),
    (0x7ffff3, 23),
    (0x3fffea, 22),
    (0x3fffeb, 22),
    (0x1ffffee, 25),
    (0x1ffffef, 25),
    (0xfffff4, 24),
    (0xfffff5, 24),
    (0x3ffffea, 26),
    (0x7ffff4, 23),
    (0x3ffffeb, 26),
    (0x7ffffe6, 27),
    (0x3ffffec, 26),
    (0x3ffffed, 26),
    (0x7ffffe7, 27),
    (0x7ffffe8, 27),
    (0x7ffffe9, 27),
    (0x7ffffea, 27),
    (0x7ffffeb, 27),
    (0xffffffe, 28),
    (0x7ffffec, 27),
    (0x7ffffed, 27),
    (0x7ffffee, 27),
    (0x7ffffef, 27),
    (0x7fffff0, 27),
    (0x3ffffee, 26),
    (0x3fffffff, 30),
];

/// The EOS symbol: never valid inside a string (RFC 7541 section 5.2).
const EOS: usize = 256;

/// The longest code (EOS and three control bytes).
const MAX_LEN: usize = 30;

/// How many leading bits [`DecodeTable::short`] is indexed by.
const SHORT_BITS: u32 = 12;

/// What the next [`SHORT_BITS`] bits hold: the first code's symbol and length (0 when that
/// code is longer), and a second code's symbol with the total length of both (equal to
/// `first_len` when no second code fits).
#[derive(Clone, Copy, Default)]
struct Short {
    first: u8,
    second: u8,
    first_len: u8,
    both_len: u8,
}

/// The decoding tables, built once from [`CODES`].
struct DecodeTable {
    short: Box<[Short; 1 << SHORT_BITS]>,
    /// Per code length: the first (smallest) code of that length.
    first_code: [u32; MAX_LEN + 1],
    /// Per code length: how many codes have it.
    count: [u32; MAX_LEN + 1],
    /// Per code length: where its symbols start in `by_code`.
    offset: [usize; MAX_LEN + 1],
    /// Every symbol, ordered by code length then code.
    by_code: [u16; 257],
}

/// The number of bytes `src` takes Huffman-encoded.
#[cfg(test)]
pub(super) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends `src` Huffman-encoded, padded with the most significant bits of EOS (all ones).
/// Only tests and measurements encode: the encoder sends plain literals.
#[cfg(test)]
pub(super) fn encode(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(src));
    // Bits gather at the low end of `acc`, and leave 32 at a time: fewer than 32 are left
    // after each flush and a code adds at most 30, so 64 bits never overflow.
    let mut acc: u64 = 0;
    let mut pending: u32 = 0;
    for &byte in src {
        let (code, len) = CODES[usize::from(byte)];
        acc = (acc << len) | u64::from(code);
        pending += u32::from(len);
        if pending >= 32 {
            pending -= 32;
            out.extend_from_slice(&((acc >> pending) as u32).to_be_bytes());
        }
    }
    let whole_bytes = pending / 8;
    let tail = pending % 8;
    for byte in (0..whole_bytes).rev() {
        out.push((acc >> (tail + 8 * byte)) as u8);
    }
    if tail > 0 {
        let pad = 8 - tail;
        out.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}

/// Appends the decoding of the Huffman-encoded `src` to `out`.
///
/// # Errors
/// [`HpackError::BadHuffman`] when `src` contains EOS, or ends in padding that is longer than
/// seven bits or not all ones.
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    let table = decode_table();
    // Every symbol takes at least five bits.
    out.reserve(src.len() * 8 / 5);
    // The next `bits` bits of the string, at the top of `buffer`. Below them are either
    // zeros or the bits of `src[next..]` already in place (a refill ORs the same bits in
    // again), so once `src` is used up they are zeros.
    let mut buffer: u64 = 0;
    let mut bits: u32 = 0;
    let mut next = 0;
    loop {
        // The longest code is 30 bits: refill below 32.
        if bits < 32 {
            if let Some(word) = src.get(next..).and_then(<[u8]>::first_chunk::<8>) {
                buffer |= u64::from_be_bytes(*word) >> bits;
                let whole_bytes = (63 - bits) / 8;
                next += whole_bytes as usize;
                bits += whole_bytes * 8;
            } else {
                while bits <= 56 {
                    let Some(&byte) = src.get(next) else {
                        break;
                    };
                    buffer |= u64::from(byte) << (56 - bits);
                    bits += 8;
                    next += 1;
                }
                if bits == 0 {
                    return Ok(());
                }
            }
        }
        let short = table.short[(buffer >> (64 - SHORT_BITS)) as usize];
        let both_len = u32::from(short.both_len);
        if short.first_len != 0 && both_len <= bits {
            out.push(short.first);
            if short.both_len != short.first_len {
                out.push(short.second);
            }
            buffer <<= both_len;
            bits -= both_len;
            continue;
        }
        let (symbol, len) = if short.first_len != 0 {
            (usize::from(short.first), u32::from(short.first_len))
        } else {
            table.long_symbol_at(buffer)
        };
        if len > bits {
            // Fewer bits left than the code they start: they must be padding.
            break;
        }
        if symbol == EOS {
            return Err(HpackError::BadHuffman);
        }
        // Below 256: EOS is handled above.
        out.push(symbol as u8);
        buffer <<= len;
        bits -= len;
    }
    let padding = (buffer >> (64 - bits)) as u32;
    if bits <= 7 && padding == (1 << bits) - 1 {
        Ok(())
    } else {
        Err(HpackError::BadHuffman)
    }
}

fn decode_table() -> &'static DecodeTable {
    static TABLE: OnceLock<DecodeTable> = OnceLock::new();
    TABLE.get_or_init(DecodeTable::build)
}

impl DecodeTable {
    fn build() -> Self {
        let mut table = Self {
            short: Box::new([Short::default(); 1 << SHORT_BITS]),
            first_code: [0; MAX_LEN + 1],
            count: [0; MAX_LEN + 1],
            offset: [0; MAX_LEN + 1],
            by_code: [0; 257],
        };
        let mut order: Vec<usize> = (0..CODES.len()).collect();
        order.sort_by_key(|&symbol| (CODES[symbol].1, CODES[symbol].0));
        for (rank, &symbol) in order.iter().enumerate() {
            let (code, len) = CODES[symbol];
            let len = usize::from(len);
            if table.count[len] == 0 {
                table.first_code[len] = code;
                table.offset[len] = rank;
            }
            table.count[len] += 1;
            // 257 symbols: every index fits.
            table.by_code[rank] = symbol as u16;
        }
        for prefix in 0..1usize << SHORT_BITS {
            let buffer = (prefix as u64) << (64 - SHORT_BITS);
            let (first, first_len) = table.long_symbol_at(buffer);
            if first_len > SHORT_BITS {
                continue;
            }
            let (second, second_len) = table.long_symbol_at(buffer << first_len);
            // Codes of at most twelve bits are of bytes, never EOS: the casts keep them.
            let mut short = Short {
                first: first as u8,
                second: 0,
                first_len: first_len as u8,
                both_len: first_len as u8,
            };
            if first_len + second_len <= SHORT_BITS {
                short.second = second as u8;
                short.both_len = (first_len + second_len) as u8;
            }
            table.short[prefix] = short;
        }
        table
    }

    /// The symbol whose code starts at the top of `buffer`, and the code's length, by the
    /// canonical-code rule: the codes of each length are consecutive, and a prefix below the
    /// first code of its length would have matched a shorter one.
    fn long_symbol_at(&self, buffer: u64) -> (usize, u32) {
        for len in 1..=MAX_LEN {
            let prefix = (buffer >> (64 - len)) as u32;
            let first = self.first_code[len];
            if self.count[len] != 0 && prefix < first + self.count[len] {
                let symbol = self.by_code[self.offset[len] + (prefix - first) as usize];
                // `len` is at most 30.
                return (usize::from(symbol), len as u32);
            }
        }
        // Unreachable for a complete code (EOS, 30 ones, is the largest); treated as EOS.
        (EOS, 0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decoded(src: &[u8]) -> Result<Vec<u8>, HpackError> {
        let mut out = Vec::new();
        decode(src, &mut out).map(|()| out)
    }

    fn encoded(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(src, &mut out);
        out
    }

    #[test]
    fn code_lengths_fill_the_code_space_exactly() {
        // Kraft's equality: sum of 2^-len is 1, scaled by 2^30 (the longest code).
        let total: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
        assert_eq!(total, 1 << 30);
    }

    #[test]
    fn every_code_is_the_canonical_code_for_its_length() {
        // RFC 7541 Appendix B: a canonical Huffman code. Recomputing every code from the
        // lengths alone (ordered by length, then symbol) must give the transcribed codes.
        let mut order: Vec<usize> = (0..CODES.len()).collect();
        order.sort_by_key(|&symbol| (CODES[symbol].1, symbol));
        let mut code: u32 = 0;
        let mut previous_len = CODES[order[0]].1;
        for (rank, &symbol) in order.iter().enumerate() {
            let len = CODES[symbol].1;
            if rank > 0 {
                code = (code + 1) << (len - previous_len);
            }
            previous_len = len;
            assert_eq!(CODES[symbol].0, code, "symbol {symbol}");
            assert!(code < (1 << len), "symbol {symbol} longer than its length");
        }
        assert_eq!(CODES[EOS], (0x3fff_ffff, 30));
    }

    #[test]
    fn every_code_is_found_by_the_canonical_rule() {
        let table = decode_table();
        for (symbol, &(code, len)) in CODES.iter().enumerate() {
            let buffer = u64::from(code) << (64 - u32::from(len));
            assert_eq!(
                table.long_symbol_at(buffer),
                (symbol, u32::from(len)),
                "symbol {symbol}"
            );
        }
    }

    #[test]
    fn the_short_table_yields_two_symbols_when_both_fit_in_twelve_bits() {
        let table = decode_table();
        // 'a' (00011) then 'e' (00101), then 00 of something longer.
        let short = table.short[(0b00011 << 7) | (0b00101 << 2)];
        assert_eq!(
            (short.first, short.second, short.first_len, short.both_len),
            (b'a', b'e', 5, 10)
        );
        // '#' (1111 1111 1010) alone fills twelve bits.
        let short = table.short[0xffa];
        assert_eq!(
            (short.first, short.first_len, short.both_len),
            (b'#', 12, 12)
        );
        // Thirteen bits and more: not in the short table.
        assert_eq!(table.short[0xfff].first_len, 0);
    }

    #[test]
    fn appendix_c_strings_decode_and_encode() {
        let cases: [(&[u8], &[u8]); 9] = [
            (
                &[
                    0xf1, 0xe3, 0xc2, 0xe5, 0xf2, 0x3a, 0x6b, 0xa0, 0xab, 0x90, 0xf4, 0xff,
                ],
                b"www.example.com",
            ),
            (&[0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf], b"no-cache"),
            (
                &[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xa9, 0x7d, 0x7f],
                b"custom-key",
            ),
            (
                &[0x25, 0xa8, 0x49, 0xe9, 0x5b, 0xb8, 0xe8, 0xb4, 0xbf],
                b"custom-value",
            ),
            (&[0x64, 0x02], b"302"),
            (&[0xae, 0xc3, 0x77, 0x1a, 0x4b], b"private"),
            (
                &[
                    0xd0, 0x7a, 0xbe, 0x94, 0x10, 0x54, 0xd4, 0x44, 0xa8, 0x20, 0x05, 0x95, 0x04,
                    0x0b, 0x81, 0x66, 0xe0, 0x82, 0xa6, 0x2d, 0x1b, 0xff,
                ],
                b"Mon, 21 Oct 2013 20:13:21 GMT",
            ),
            (
                &[
                    0x9d, 0x29, 0xad, 0x17, 0x18, 0x63, 0xc7, 0x8f, 0x0b, 0x97, 0xc8, 0xe9, 0xae,
                    0x82, 0xae, 0x43, 0xd3,
                ],
                b"https://www.example.com",
            ),
            (&[0x9b, 0xd9, 0xab], b"gzip"),
        ];
        for (huffman, plain) in cases {
            assert_eq!(decoded(huffman).as_deref(), Ok(plain));
            assert_eq!(encoded(plain), huffman);
            assert_eq!(encoded_len(plain), huffman.len());
        }
    }

    #[test]
    fn every_symbol_round_trips_alone() {
        for byte in 0..=255u8 {
            assert_eq!(decoded(&encoded(&[byte])), Ok(vec![byte]), "byte {byte}");
        }
    }

    #[test]
    fn eos_inside_a_string_is_bad_huffman() {
        // 'a' (00011) then EOS (30 ones) then 5 bits of padding: 40 bits.
        let bits: u64 = (0b00011 << 35) | (0x3fff_ffff << 5) | 0b11111;
        let bytes = bits.to_be_bytes()[3..].to_vec();
        assert_eq!(decoded(&bytes), Err(HpackError::BadHuffman));
    }

    #[test]
    fn padding_longer_than_seven_bits_is_bad_huffman() {
        // 'a' (00011) then 11 bits of ones.
        assert_eq!(decoded(&[0b0001_1111, 0xff]), Err(HpackError::BadHuffman));
        // A whole byte of padding alone.
        assert_eq!(decoded(&[0xff]), Err(HpackError::BadHuffman));
    }

    #[test]
    fn padding_that_is_not_all_ones_is_bad_huffman() {
        // 'a' (00011) then 110.
        assert_eq!(decoded(&[0b0001_1110]), Err(HpackError::BadHuffman));
        // 'a' then 000: a valid prefix of '0' (00000), but not padding.
        assert_eq!(decoded(&[0b0001_1000]), Err(HpackError::BadHuffman));
    }

    #[test]
    fn an_empty_string_decodes_to_nothing() {
        assert_eq!(decoded(&[]), Ok(Vec::new()));
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(plain in proptest::collection::vec(any::<u8>(), 0..200)) {
            let huffman = encoded(&plain);
            prop_assert_eq!(huffman.len(), encoded_len(&plain));
            prop_assert_eq!(decoded(&huffman), Ok(plain));
        }

        #[test]
        fn any_input_decodes_or_fails_without_panicking(
            src in proptest::collection::vec(any::<u8>(), 0..64)
        ) {
            let _ = decoded(&src);
        }
    }
}
