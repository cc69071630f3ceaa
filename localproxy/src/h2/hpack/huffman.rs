//! The static Huffman code of RFC 7541 Appendix B: encoding by table lookup, and decoding
//! four bits at a time through a state machine built once from the code table.
//!
//! The decoder's states are the 256 internal nodes of the code tree (a complete prefix code
//! of 257 symbols has exactly 256). For each state and each nibble a precomputed transition
//! says which state follows, whether a symbol was completed on the way (at most one can be:
//! the shortest code has five bits) and whether the bits read since the last symbol form
//! valid padding (at most seven bits, all ones: RFC 7541 section 5.2).

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

/// The transition emitted a symbol (in `symbol`).
const EMITS: u8 = 1;
/// The transition decoded EOS: the string is malformed.
const FAILS: u8 = 2;
/// After the transition, the bits since the last symbol are valid padding.
const MAY_END: u8 = 4;

/// One step of the decoder: from a state, on one nibble.
#[derive(Clone, Copy, Default)]
struct Transition {
    next: u8,
    symbol: u8,
    flags: u8,
}

/// `transitions[state * 16 + nibble]`, built once.
struct DecodeTable {
    transitions: Vec<Transition>,
}

/// The number of bytes `src` takes Huffman-encoded.
pub(super) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends `src` Huffman-encoded, padded with the most significant bits of EOS (all ones).
pub(super) fn encode(src: &[u8], out: &mut Vec<u8>) {
    out.reserve(encoded_len(src));
    // Bits are gathered at the low end of `acc`; at most 7 are left over after each flush and
    // a code adds at most 30, so 64 bits never overflow.
    let mut acc: u64 = 0;
    let mut pending: u32 = 0;
    for &byte in src {
        let (code, len) = CODES[usize::from(byte)];
        acc = (acc << len) | u64::from(code);
        pending += u32::from(len);
        while pending >= 8 {
            pending -= 8;
            out.push((acc >> pending) as u8);
        }
    }
    if pending > 0 {
        let pad = 8 - pending;
        out.push(((acc << pad) as u8) | ((1u8 << pad) - 1));
    }
}

/// Appends the decoding of the Huffman-encoded `src` to `out`.
///
/// # Errors
/// [`HpackError::BadHuffman`] when `src` contains EOS, or ends in padding that is longer than
/// seven bits or not all ones.
pub(super) fn decode(src: &[u8], out: &mut Vec<u8>) -> Result<(), HpackError> {
    let table = &decode_table().transitions;
    // Every symbol takes at least five bits.
    out.reserve(src.len() * 8 / 5);
    let mut state = 0usize;
    let mut may_end = true;
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            let step = table[state * 16 + usize::from(nibble)];
            if step.flags & FAILS != 0 {
                return Err(HpackError::BadHuffman);
            }
            if step.flags & EMITS != 0 {
                out.push(step.symbol);
            }
            state = usize::from(step.next);
            may_end = step.flags & MAY_END != 0;
        }
    }
    if may_end {
        Ok(())
    } else {
        Err(HpackError::BadHuffman)
    }
}

fn decode_table() -> &'static DecodeTable {
    static TABLE: OnceLock<DecodeTable> = OnceLock::new();
    TABLE.get_or_init(DecodeTable::build)
}

/// A child in the code tree: an internal node or a symbol.
#[derive(Clone, Copy)]
enum Child {
    Missing,
    Node(usize),
    Leaf(usize),
}

/// An internal node of the code tree, with what the padding rule needs to know of its path.
#[derive(Clone, Copy)]
struct Node {
    children: [Child; 2],
    depth: u8,
    all_ones: bool,
}

impl DecodeTable {
    fn build() -> Self {
        let nodes = code_tree();
        let mut transitions = vec![Transition::default(); nodes.len() * 16];
        for (state, _) in nodes.iter().enumerate() {
            for nibble in 0..16u8 {
                transitions[state * 16 + usize::from(nibble)] = walk(&nodes, state, nibble);
            }
        }
        Self { transitions }
    }
}

/// Follows four bits from `state`, restarting at the root after each symbol.
fn walk(nodes: &[Node], state: usize, nibble: u8) -> Transition {
    let mut step = Transition::default();
    let mut node = state;
    for shift in (0..4).rev() {
        let bit = usize::from((nibble >> shift) & 1);
        match nodes[node].children[bit] {
            Child::Node(next) => node = next,
            Child::Leaf(EOS) | Child::Missing => {
                step.flags = FAILS;
                return step;
            }
            Child::Leaf(symbol) => {
                // Only the symbols 0..=255 reach here: EOS is matched above.
                step.symbol = symbol as u8;
                step.flags |= EMITS;
                node = 0;
            }
        }
    }
    // 256 internal nodes: every index fits in a byte.
    step.next = node as u8;
    if nodes[node].all_ones && nodes[node].depth <= 7 {
        step.flags |= MAY_END;
    }
    step
}

/// The internal nodes of the code tree, the root first.
fn code_tree() -> Vec<Node> {
    let root = Node {
        children: [Child::Missing; 2],
        depth: 0,
        all_ones: true,
    };
    let mut nodes = vec![root];
    for (symbol, &(code, len)) in CODES.iter().enumerate() {
        let mut node = 0;
        for position in (0..len).rev() {
            let bit = ((code >> position) & 1) as usize;
            if position == 0 {
                nodes[node].children[bit] = Child::Leaf(symbol);
                break;
            }
            node = match nodes[node].children[bit] {
                Child::Node(next) => next,
                _ => {
                    let child = Node {
                        children: [Child::Missing; 2],
                        depth: nodes[node].depth + 1,
                        all_ones: nodes[node].all_ones && bit == 1,
                    };
                    nodes.push(child);
                    let next = nodes.len() - 1;
                    nodes[node].children[bit] = Child::Node(next);
                    next
                }
            };
        }
    }
    nodes
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
    fn the_decode_table_has_one_state_per_internal_node() {
        assert_eq!(decode_table().transitions.len(), 256 * 16);
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
