//! Follows chunked transfer coding (RFC 9112 section 7.1) over raw bytes: where a chunked body
//! ends, so that bytes after it are known to start the next message, and which bytes are the
//! content.
//!
//! Used on request bodies by the framing guard and on response bodies by the HTTP/1.1 lane,
//! which both pass the chunked bytes on unchanged, and on response bodies sent to hyper's
//! server (HTTP/2 clients above all), which gets the content alone.

use std::ops::Range;

/// Where in a chunked body the next byte falls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkedFraming(Chunk);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// In the hex size.
    Size {
        value: u64,
        digits: u8,
    },
    /// Spaces or tabs after the size (RFC 9112 `BWS` before an extension).
    SizeSpace {
        value: u64,
    },
    /// In the extensions after `;`.
    Extension {
        value: u64,
    },
    /// After the CR that ends a size line.
    SizeLineEnd {
        value: u64,
    },
    Data(u64),
    /// Expecting the CR after chunk data.
    DataEnd,
    /// Expecting the LF after chunk data.
    DataLineEnd,
    /// In a trailer line (`line` bytes so far; 0 at the start of a line).
    Trailer {
        line: usize,
    },
    /// After the CR that ends a trailer line (or the empty line closing the body).
    TrailerLineEnd {
        line: usize,
    },
}

/// The bytes break chunked framing: a bad size line, a size over 15 hex digits, a line not
/// ended by CRLF, a bare CR or LF, or a control byte inside an extension or trailer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("malformed chunked body")]
pub struct MalformedChunk;

impl Default for ChunkedFraming {
    fn default() -> Self {
        Self::new()
    }
}

impl ChunkedFraming {
    /// At the start of a chunked body.
    pub fn new() -> Self {
        Self(Chunk::Size {
            value: 0,
            digits: 0,
        })
    }

    /// Consumes the next `bytes` of the body: `Some(n)` when the body ended after its first
    /// `n` bytes (the rest belongs to what follows), `None` when all of them belong to the
    /// body and more are needed.
    ///
    /// Only the strict RFC 9112 syntax passes (CRLF line ends everywhere), so that whoever
    /// reads these bytes after weir cannot find a different end in them.
    ///
    /// # Errors
    /// [`MalformedChunk`]; the framing is then undefined and the connection must not be reused.
    pub fn advance(&mut self, bytes: &[u8]) -> Result<Option<usize>, MalformedChunk> {
        let mut at = 0;
        while at < bytes.len() {
            if let Chunk::Data(remaining) = &mut self.0 {
                let take = usize::try_from(*remaining)
                    .map_or(bytes.len() - at, |left| left.min(bytes.len() - at));
                *remaining -= take as u64;
                at += take;
                if *remaining == 0 {
                    self.0 = Chunk::DataEnd;
                }
                continue;
            }
            let byte = bytes[at];
            at += 1;
            match step(self.0, byte)? {
                Some(next) => self.0 = next,
                None => return Ok(Some(at)),
            }
        }
        Ok(None)
    }
}

/// What [`ChunkedFraming::decode`] found at the start of some bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decoded {
    /// How many bytes were used (framing and content).
    pub used: usize,
    /// The content among them (empty when they were framing only).
    pub content: Range<usize>,
    /// Whether the body ended with them (after its trailers, which are dropped).
    pub ended: bool,
}

impl Decoded {
    /// `used` bytes of framing and no content; the body goes on.
    pub fn empty(used: usize) -> Self {
        Self {
            used,
            content: used..used,
            ended: false,
        }
    }

    /// The bytes of `content`, all of them content; the body goes on.
    pub fn content(content: Range<usize>) -> Self {
        Self {
            used: content.end,
            content,
            ended: false,
        }
    }
}

impl ChunkedFraming {
    /// Consumes framing from the start of `bytes` up to and including the first run of chunk
    /// content, or to the end of the body, or to the end of `bytes`. Call again with the bytes
    /// after [`Decoded::used`] until all are used or the body ended.
    ///
    /// # Errors
    /// [`MalformedChunk`], as [`ChunkedFraming::advance`].
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Decoded, MalformedChunk> {
        let mut at = 0;
        while at < bytes.len() {
            if let Chunk::Data(remaining) = &mut self.0 {
                let take = usize::try_from(*remaining)
                    .map_or(bytes.len() - at, |left| left.min(bytes.len() - at));
                *remaining -= take as u64;
                if *remaining == 0 {
                    self.0 = Chunk::DataEnd;
                }
                return Ok(Decoded::content(at..at + take));
            }
            let byte = bytes[at];
            at += 1;
            match step(self.0, byte)? {
                Some(next) => self.0 = next,
                None => {
                    return Ok(Decoded {
                        ended: true,
                        ..Decoded::empty(at)
                    });
                }
            }
        }
        Ok(Decoded::empty(at))
    }
}

/// One byte of framing outside chunk data: the next state, or `None` at the body's end.
fn step(chunk: Chunk, byte: u8) -> Result<Option<Chunk>, MalformedChunk> {
    let next = match (chunk, byte) {
        (Chunk::Size { value, digits }, _) if byte.is_ascii_hexdigit() => {
            if digits >= 15 {
                return Err(MalformedChunk);
            }
            let digit = u64::from(char::from(byte).to_digit(16).unwrap_or(0));
            Chunk::Size {
                value: value << 4 | digit,
                digits: digits + 1,
            }
        }
        (Chunk::Size { value, digits }, b' ' | b'\t') if digits > 0 => Chunk::SizeSpace { value },
        (Chunk::SizeSpace { value }, b' ' | b'\t') => Chunk::SizeSpace { value },
        (Chunk::Size { value, digits }, b';') if digits > 0 => Chunk::Extension { value },
        (Chunk::SizeSpace { value }, b';') => Chunk::Extension { value },
        (Chunk::Size { value, digits }, b'\r') if digits > 0 => Chunk::SizeLineEnd { value },
        (Chunk::SizeSpace { value } | Chunk::Extension { value }, b'\r') => {
            Chunk::SizeLineEnd { value }
        }
        (Chunk::Extension { value }, _) if is_field_byte(byte) => Chunk::Extension { value },
        (Chunk::SizeLineEnd { value: 0 }, b'\n') => Chunk::Trailer { line: 0 },
        (Chunk::SizeLineEnd { value }, b'\n') => Chunk::Data(value),
        (Chunk::DataEnd, b'\r') => Chunk::DataLineEnd,
        (Chunk::DataLineEnd, b'\n') => Chunk::Size {
            value: 0,
            digits: 0,
        },
        (Chunk::Trailer { line }, b'\r') => Chunk::TrailerLineEnd { line },
        (Chunk::Trailer { line }, _) if is_field_byte(byte) => Chunk::Trailer { line: line + 1 },
        (Chunk::TrailerLineEnd { line: 0 }, b'\n') => return Ok(None),
        (Chunk::TrailerLineEnd { .. }, b'\n') => Chunk::Trailer { line: 0 },
        _ => return Err(MalformedChunk),
    };
    Ok(Some(next))
}

/// A byte allowed inside an extension or a trailer line: visible ASCII, obs-text, space, tab.
fn is_field_byte(byte: u8) -> bool {
    byte == b'\t' || (byte >= b' ' && byte != 0x7f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end_of(body: &[u8], piece: usize) -> Result<Option<usize>, MalformedChunk> {
        let mut framing = ChunkedFraming::new();
        let mut consumed = 0;
        for part in body.chunks(piece) {
            if let Some(used) = framing.advance(part)? {
                return Ok(Some(consumed + used));
            }
            consumed += part.len();
        }
        Ok(None)
    }

    #[test]
    fn the_end_is_found_in_any_split() {
        let body = b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nx-trailer: 1\r\n\r\nGET / HTTP/1.1";
        let end = body.len() - b"GET / HTTP/1.1".len();
        for piece in 1..body.len() {
            assert_eq!(end_of(body, piece), Ok(Some(end)), "pieces of {piece}");
        }
    }

    fn decoded(body: &[u8], piece: usize) -> Result<(Vec<u8>, bool), MalformedChunk> {
        let mut framing = ChunkedFraming::new();
        let mut content = Vec::new();
        for part in body.chunks(piece) {
            let mut at = 0;
            while at < part.len() {
                let step = framing.decode(&part[at..])?;
                content.extend_from_slice(&part[at..][step.content]);
                at += step.used;
                if step.ended {
                    return Ok((content, true));
                }
            }
        }
        Ok((content, false))
    }

    #[test]
    fn decoding_yields_the_content_in_any_split() {
        let body = b"5\r\nhello\r\n1;ext=1\r\n!\r\n0\r\nx-trailer: 1\r\n\r\n";
        for piece in 1..=body.len() {
            assert_eq!(
                decoded(body, piece),
                Ok((b"hello!".to_vec(), true)),
                "pieces of {piece}"
            );
        }
        assert_eq!(decoded(b"3\r\nab", 2), Ok((b"ab".to_vec(), false)));
        assert_eq!(decoded(b"3\r\nabc\n", 64), Err(MalformedChunk));
    }

    #[test]
    fn an_unfinished_body_needs_more() {
        assert_eq!(end_of(b"a\r\n0123", 3), Ok(None));
        assert_eq!(end_of(b"0\r\n", 1), Ok(None));
    }

    #[test]
    fn broken_framing_is_an_error() {
        for broken in [
            &b"zz\r\n"[..],
            b"\r\n",
            b"1\r\nab\r\n",
            b"1000000000000000\r\n",
            // Bare LF or CR where CRLF belongs: a reader after weir could split lines elsewhere.
            b"3\nabc\r\n0\r\n\r\n",
            b"3\r\nabc\n0\r\n\r\n",
            b"3\r\nabc\r\r\n0\r\n\r\n",
            b"4;a\rb\r\ndefg\r\n0\r\n\r\n",
            b"0\r\nx-t: 1\n\r\n",
            b"0\r\n\n",
            b"3;x\x00\r\nabc\r\n",
            b"3 x\r\nabc\r\n",
        ] {
            assert_eq!(
                end_of(broken, 64),
                Err(MalformedChunk),
                "{}",
                String::from_utf8_lossy(broken)
            );
        }
    }

    #[test]
    fn extensions_and_whitespace_before_them_are_allowed() {
        let body = b"3 ;name=\"v a\"\r\nabc\r\n3\t\r\ndef\r\n0\r\n\r\n";
        assert_eq!(end_of(body, 5), Ok(Some(body.len())));
    }
}
