//! HTTP/2 frames (RFC 9113 sections 4 and 6): the frame header, a parser that checks what
//! section 6 says about each frame on its own, and writers that append whole frames.
//!
//! What needs connection state (a frame on a closed stream, a CONTINUATION that does not
//! follow its HEADERS, flow-control windows, the payload length against our
//! SETTINGS_MAX_FRAME_SIZE) is the connection driver's to check.

/// The client connection preface (RFC 9113 section 3.4).
pub const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The length of the frame header that starts every frame.
pub const HEADER_LEN: usize = 9;

/// Frame type codes (RFC 9113 section 6).
pub mod kind {
    /// DATA (section 6.1).
    pub const DATA: u8 = 0x0;
    /// HEADERS (section 6.2).
    pub const HEADERS: u8 = 0x1;
    /// PRIORITY (section 6.3).
    pub const PRIORITY: u8 = 0x2;
    /// RST_STREAM (section 6.4).
    pub const RST_STREAM: u8 = 0x3;
    /// SETTINGS (section 6.5).
    pub const SETTINGS: u8 = 0x4;
    /// PUSH_PROMISE (section 6.6).
    pub const PUSH_PROMISE: u8 = 0x5;
    /// PING (section 6.7).
    pub const PING: u8 = 0x6;
    /// GOAWAY (section 6.8).
    pub const GOAWAY: u8 = 0x7;
    /// WINDOW_UPDATE (section 6.9).
    pub const WINDOW_UPDATE: u8 = 0x8;
    /// CONTINUATION (section 6.10).
    pub const CONTINUATION: u8 = 0x9;
}

/// Frame flags (RFC 9113 section 6); each is defined only for some frame types.
pub mod flag {
    /// DATA, HEADERS: the last frame the sender sends on the stream.
    pub const END_STREAM: u8 = 0x1;
    /// SETTINGS, PING: an acknowledgement.
    pub const ACK: u8 = 0x1;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the header block is complete.
    pub const END_HEADERS: u8 = 0x4;
    /// DATA, HEADERS, PUSH_PROMISE: a pad length byte and padding are present.
    pub const PADDED: u8 = 0x8;
    /// HEADERS: a stream dependency and weight are present.
    pub const PRIORITY: u8 = 0x20;
}

/// The largest SETTINGS_INITIAL_WINDOW_SIZE and window increment (RFC 9113 section 6.9.1).
pub const MAX_WINDOW: u32 = (1 << 31) - 1;
/// The SETTINGS_MAX_FRAME_SIZE every endpoint starts with and the smallest it may set.
pub const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;
/// The largest SETTINGS_MAX_FRAME_SIZE (RFC 9113 section 6.5.2).
pub const LARGEST_MAX_FRAME_SIZE: u32 = (1 << 24) - 1;

/// The error codes of RFC 9113 section 7, in RST_STREAM and GOAWAY.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ErrorCode {
    /// Graceful shutdown, or no error.
    NoError = 0,
    /// A protocol error not covered by a more specific code.
    ProtocolError = 1,
    /// An unexpected internal error.
    InternalError = 2,
    /// The peer broke flow control.
    FlowControlError = 3,
    /// A SETTINGS frame was not acknowledged in time.
    SettingsTimeout = 4,
    /// A frame on a half-closed stream.
    StreamClosed = 5,
    /// A frame of an invalid size.
    FrameSizeError = 6,
    /// The stream was refused before any processing.
    RefusedStream = 7,
    /// The stream is no longer needed.
    Cancel = 8,
    /// The header compression context cannot be kept.
    CompressionError = 9,
    /// A CONNECT tunnel was reset or closed abnormally.
    ConnectError = 10,
    /// The peer is generating excessive load.
    EnhanceYourCalm = 11,
    /// The transport does not meet minimum security requirements.
    InadequateSecurity = 12,
    /// HTTP/1.1 must be used for this request.
    Http11Required = 13,
}

impl ErrorCode {
    /// The code for a wire value, `None` for one RFC 9113 does not define (the caller treats
    /// those as `InternalError`, section 7).
    pub fn from_u32(value: u32) -> Option<ErrorCode> {
        use ErrorCode::*;
        let code = match value {
            0 => NoError,
            1 => ProtocolError,
            2 => InternalError,
            3 => FlowControlError,
            4 => SettingsTimeout,
            5 => StreamClosed,
            6 => FrameSizeError,
            7 => RefusedStream,
            8 => Cancel,
            9 => CompressionError,
            10 => ConnectError,
            11 => EnhanceYourCalm,
            12 => InadequateSecurity,
            13 => Http11Required,
            _ => return None,
        };
        Some(code)
    }
}

/// The 9-byte header of every frame (RFC 9113 section 4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The payload length (24 bits).
    pub length: u32,
    /// The frame type (see [`kind`]).
    pub kind: u8,
    /// The type-specific flags (see [`flag`]).
    pub flags: u8,
    /// The stream identifier (31 bits), 0 for the connection.
    pub stream_id: u32,
}

impl FrameHeader {
    /// Parses the 9-byte frame header (the reserved bit of the stream id is ignored).
    pub fn parse(bytes: &[u8; HEADER_LEN]) -> Self {
        Self {
            length: u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]),
            kind: bytes[3],
            flags: bytes[4],
            stream_id: u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]]) & MAX_WINDOW,
        }
    }

    /// Appends this header; `length` must fit 24 bits.
    pub fn write(&self, out: &mut Vec<u8>) {
        let length = self.length.to_be_bytes();
        out.extend_from_slice(&length[1..]);
        out.push(self.kind);
        out.push(self.flags);
        out.extend_from_slice(&(self.stream_id & MAX_WINDOW).to_be_bytes());
    }
}

/// A malformed frame: a connection error with this code, or, when `stream` is set, a stream
/// error (RST_STREAM) for that stream only (RFC 9113 section 5.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{reason} ({code:?})")]
pub struct FrameError {
    /// The code to send in GOAWAY or RST_STREAM.
    pub code: ErrorCode,
    /// The stream to reset; `None` makes it a connection error.
    pub stream: Option<u32>,
    /// What was wrong, for the log and the GOAWAY debug data.
    pub reason: &'static str,
}

impl FrameError {
    fn connection(code: ErrorCode, reason: &'static str) -> Self {
        Self {
            code,
            stream: None,
            reason,
        }
    }

    fn stream(stream_id: u32, code: ErrorCode, reason: &'static str) -> Self {
        Self {
            code,
            stream: Some(stream_id),
            reason,
        }
    }
}

/// A stream's priority as HEADERS and PRIORITY carry it (RFC 9113 section 5.3.2, deprecated
/// but still parsed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Priority {
    /// The stream this one depends on.
    pub depends_on: u32,
    /// Whether the dependency is exclusive.
    pub exclusive: bool,
    /// The weight as sent: the real weight minus one (0..=255 for 1..=256).
    pub weight: u8,
}

/// One SETTINGS parameter (RFC 9113 section 6.5.2, and RFC 8441's
/// SETTINGS_ENABLE_CONNECT_PROTOCOL).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    /// SETTINGS_HEADER_TABLE_SIZE (0x1).
    HeaderTableSize(u32),
    /// SETTINGS_ENABLE_PUSH (0x2): 0 or 1.
    EnablePush(u32),
    /// SETTINGS_MAX_CONCURRENT_STREAMS (0x3).
    MaxConcurrentStreams(u32),
    /// SETTINGS_INITIAL_WINDOW_SIZE (0x4): at most 2^31 - 1.
    InitialWindowSize(u32),
    /// SETTINGS_MAX_FRAME_SIZE (0x5): 16384..=16777215.
    MaxFrameSize(u32),
    /// SETTINGS_MAX_HEADER_LIST_SIZE (0x6).
    MaxHeaderListSize(u32),
    /// SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8, RFC 8441): 0 or 1.
    EnableConnectProtocol(u32),
    /// A parameter this codec does not know: ignored (RFC 9113 section 6.5.2), kept as
    /// `(identifier, value)`.
    Unknown(u16, u32),
}

impl Setting {
    /// The parameter from its wire identifier and value, checked as section 6.5.2 says.
    fn parse(id: u16, value: u32) -> Result<Self, FrameError> {
        let setting = match id {
            0x1 => Setting::HeaderTableSize(value),
            0x2 if value > 1 => {
                return Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "SETTINGS_ENABLE_PUSH is neither 0 nor 1",
                ));
            }
            0x2 => Setting::EnablePush(value),
            0x3 => Setting::MaxConcurrentStreams(value),
            0x4 if value > MAX_WINDOW => {
                return Err(FrameError::connection(
                    ErrorCode::FlowControlError,
                    "SETTINGS_INITIAL_WINDOW_SIZE is above 2^31-1",
                ));
            }
            0x4 => Setting::InitialWindowSize(value),
            0x5 if !(DEFAULT_MAX_FRAME_SIZE..=LARGEST_MAX_FRAME_SIZE).contains(&value) => {
                return Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "SETTINGS_MAX_FRAME_SIZE is outside 16384..=16777215",
                ));
            }
            0x5 => Setting::MaxFrameSize(value),
            0x6 => Setting::MaxHeaderListSize(value),
            0x8 if value > 1 => {
                return Err(FrameError::connection(
                    ErrorCode::ProtocolError,
                    "SETTINGS_ENABLE_CONNECT_PROTOCOL is neither 0 nor 1",
                ));
            }
            0x8 => Setting::EnableConnectProtocol(value),
            _ => Setting::Unknown(id, value),
        };
        Ok(setting)
    }

    /// The wire identifier and value.
    fn id_value(self) -> (u16, u32) {
        match self {
            Setting::HeaderTableSize(v) => (0x1, v),
            Setting::EnablePush(v) => (0x2, v),
            Setting::MaxConcurrentStreams(v) => (0x3, v),
            Setting::InitialWindowSize(v) => (0x4, v),
            Setting::MaxFrameSize(v) => (0x5, v),
            Setting::MaxHeaderListSize(v) => (0x6, v),
            Setting::EnableConnectProtocol(v) => (0x8, v),
            Setting::Unknown(id, v) => (id, v),
        }
    }
}

/// One parsed frame, borrowing its payload. Padding is already removed.
#[derive(Debug)]
pub enum Frame<'a> {
    /// DATA. `flow_len`: the payload length including padding (what flow control counts).
    Data {
        /// The stream (never 0).
        stream_id: u32,
        /// END_STREAM was set.
        end_stream: bool,
        /// The data, without padding.
        data: &'a [u8],
        /// The whole payload length, padding included.
        flow_len: u32,
    },
    /// HEADERS: the first fragment of a header block.
    Headers {
        /// The stream (never 0).
        stream_id: u32,
        /// END_STREAM was set.
        end_stream: bool,
        /// END_HEADERS was set: no CONTINUATION follows.
        end_headers: bool,
        /// The PRIORITY fields, when the flag was set.
        priority: Option<Priority>,
        /// The header block fragment, without padding.
        block: &'a [u8],
    },
    /// PRIORITY (deprecated; parsed for its checks, then ignored by the caller).
    Priority {
        /// The stream (never 0).
        stream_id: u32,
        /// The stream's new priority.
        priority: Priority,
    },
    /// RST_STREAM.
    RstStream {
        /// The stream (never 0).
        stream_id: u32,
        /// The error code as sent (see [`ErrorCode::from_u32`]).
        code: u32,
    },
    /// SETTINGS, each parameter checked.
    Settings {
        /// An acknowledgement of our SETTINGS (then `settings` is empty).
        ack: bool,
        /// The parameters in the order sent.
        settings: Vec<Setting>,
    },
    /// PUSH_PROMISE: a client must not send it, so the caller answers PROTOCOL_ERROR.
    PushPromise {
        /// The stream it was sent on.
        stream_id: u32,
    },
    /// PING.
    Ping {
        /// An answer to our PING.
        ack: bool,
        /// The opaque data, to echo back.
        payload: [u8; 8],
    },
    /// GOAWAY.
    GoAway {
        /// The last stream the peer processed or may process.
        last_stream_id: u32,
        /// The error code as sent (see [`ErrorCode::from_u32`]).
        code: u32,
        /// Opaque diagnostic data.
        debug: &'a [u8],
    },
    /// WINDOW_UPDATE with a non-zero increment.
    WindowUpdate {
        /// The stream, or 0 for the connection window.
        stream_id: u32,
        /// The increment (1..=2^31-1).
        increment: u32,
    },
    /// CONTINUATION: a further fragment of a header block.
    Continuation {
        /// The stream (never 0).
        stream_id: u32,
        /// END_HEADERS was set: the block is complete.
        end_headers: bool,
        /// The header block fragment.
        block: &'a [u8],
    },
    /// Unknown frame types are ignored (RFC 9113 section 4.1).
    Unknown {
        /// The frame type.
        kind: u8,
    },
}

/// Parses one frame's payload. Checks everything section 6 says about each frame on its
/// own: stream id 0 or not, fixed lengths (PRIORITY 5, RST_STREAM 4, PING 8, WINDOW_UPDATE 4,
/// SETTINGS a multiple of 6, SETTINGS ack empty), padding longer than the payload
/// (PROTOCOL_ERROR), setting values (ENABLE_PUSH > 1, INITIAL_WINDOW_SIZE > 2^31-1 is
/// FLOW_CONTROL_ERROR, MAX_FRAME_SIZE outside 16384..=16777215), a stream that depends on
/// itself (stream error PROTOCOL_ERROR). The caller checks `header.length` against its own
/// SETTINGS_MAX_FRAME_SIZE before reading the payload (FRAME_SIZE_ERROR).
///
/// `payload` is the frame's whole payload; its length is what counts, not `header.length`.
///
/// # Errors
/// A [`FrameError`] naming the code, whether it is a stream or a connection error, and why.
pub fn parse<'a>(header: FrameHeader, payload: &'a [u8]) -> Result<Frame<'a>, FrameError> {
    let stream_id = header.stream_id;
    match header.kind {
        kind::DATA => {
            require_stream(stream_id, "DATA on stream 0")?;
            let data = unpad(header.flags, payload)?;
            Ok(Frame::Data {
                stream_id,
                end_stream: header.flags & flag::END_STREAM != 0,
                data,
                // A payload is at most 2^24 - 1 bytes: its length fits.
                flow_len: payload.len() as u32,
            })
        }
        kind::HEADERS => parse_headers(header, payload),
        kind::PRIORITY => {
            require_stream(stream_id, "PRIORITY on stream 0")?;
            if payload.len() != 5 {
                return Err(FrameError::stream(
                    stream_id,
                    ErrorCode::FrameSizeError,
                    "PRIORITY is not 5 bytes",
                ));
            }
            let priority = parse_priority(stream_id, payload)?;
            Ok(Frame::Priority {
                stream_id,
                priority,
            })
        }
        kind::RST_STREAM => {
            require_stream(stream_id, "RST_STREAM on stream 0")?;
            let code = exact::<4>(payload, "RST_STREAM is not 4 bytes")?;
            Ok(Frame::RstStream {
                stream_id,
                code: u32::from_be_bytes(code),
            })
        }
        kind::SETTINGS => parse_settings(header, payload),
        kind::PUSH_PROMISE => {
            require_stream(stream_id, "PUSH_PROMISE on stream 0")?;
            Ok(Frame::PushPromise { stream_id })
        }
        kind::PING => {
            require_connection(stream_id, "PING on a stream")?;
            let payload = exact::<8>(payload, "PING is not 8 bytes")?;
            Ok(Frame::Ping {
                ack: header.flags & flag::ACK != 0,
                payload,
            })
        }
        kind::GOAWAY => {
            require_connection(stream_id, "GOAWAY on a stream")?;
            if payload.len() < 8 {
                return Err(FrameError::connection(
                    ErrorCode::FrameSizeError,
                    "GOAWAY is shorter than 8 bytes",
                ));
            }
            Ok(Frame::GoAway {
                last_stream_id: read_u32(&payload[..4]) & MAX_WINDOW,
                code: read_u32(&payload[4..8]),
                debug: &payload[8..],
            })
        }
        kind::WINDOW_UPDATE => {
            let increment = exact::<4>(payload, "WINDOW_UPDATE is not 4 bytes")?;
            let increment = u32::from_be_bytes(increment) & MAX_WINDOW;
            if increment == 0 {
                let reason = "WINDOW_UPDATE with an increment of 0";
                return Err(if stream_id == 0 {
                    FrameError::connection(ErrorCode::ProtocolError, reason)
                } else {
                    FrameError::stream(stream_id, ErrorCode::ProtocolError, reason)
                });
            }
            Ok(Frame::WindowUpdate {
                stream_id,
                increment,
            })
        }
        kind::CONTINUATION => {
            require_stream(stream_id, "CONTINUATION on stream 0")?;
            Ok(Frame::Continuation {
                stream_id,
                end_headers: header.flags & flag::END_HEADERS != 0,
                block: payload,
            })
        }
        kind => Ok(Frame::Unknown { kind }),
    }
}

fn parse_headers(header: FrameHeader, payload: &[u8]) -> Result<Frame<'_>, FrameError> {
    let stream_id = header.stream_id;
    require_stream(stream_id, "HEADERS on stream 0")?;
    let padded = header.flags & flag::PADDED != 0;
    let has_priority = header.flags & flag::PRIORITY != 0;
    let fixed = usize::from(padded) + if has_priority { 5 } else { 0 };
    if payload.len() < fixed {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "HEADERS too short for its pad length and priority fields",
        ));
    }
    let pad_len = if padded { usize::from(payload[0]) } else { 0 };
    if pad_len > payload.len() - fixed {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "padding longer than the payload",
        ));
    }
    let fields = &payload[usize::from(padded)..payload.len() - pad_len];
    let (priority, block) = if has_priority {
        (Some(parse_priority(stream_id, &fields[..5])?), &fields[5..])
    } else {
        (None, fields)
    };
    Ok(Frame::Headers {
        stream_id,
        end_stream: header.flags & flag::END_STREAM != 0,
        end_headers: header.flags & flag::END_HEADERS != 0,
        priority,
        block,
    })
}

fn parse_settings(header: FrameHeader, payload: &[u8]) -> Result<Frame<'_>, FrameError> {
    require_connection(header.stream_id, "SETTINGS on a stream")?;
    let ack = header.flags & flag::ACK != 0;
    if ack && !payload.is_empty() {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "SETTINGS acknowledgement with a payload",
        ));
    }
    if !payload.len().is_multiple_of(6) {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "SETTINGS length is not a multiple of 6",
        ));
    }
    let settings = payload
        .chunks_exact(6)
        .map(|entry| {
            Setting::parse(
                u16::from_be_bytes([entry[0], entry[1]]),
                read_u32(&entry[2..]),
            )
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Frame::Settings { ack, settings })
}

/// The five priority bytes; a stream may not depend on itself (RFC 9113 section 5.3.1).
fn parse_priority(stream_id: u32, bytes: &[u8]) -> Result<Priority, FrameError> {
    let dependency = read_u32(&bytes[..4]);
    let priority = Priority {
        depends_on: dependency & MAX_WINDOW,
        exclusive: dependency & !MAX_WINDOW != 0,
        weight: bytes[4],
    };
    if priority.depends_on == stream_id {
        return Err(FrameError::stream(
            stream_id,
            ErrorCode::ProtocolError,
            "a stream depends on itself",
        ));
    }
    Ok(priority)
}

/// A DATA payload without its padding when PADDED is set.
fn unpad(flags: u8, payload: &[u8]) -> Result<&[u8], FrameError> {
    if flags & flag::PADDED == 0 {
        return Ok(payload);
    }
    let Some((&pad_len, rest)) = payload.split_first() else {
        return Err(FrameError::connection(
            ErrorCode::FrameSizeError,
            "a padded frame without its pad length",
        ));
    };
    let pad_len = usize::from(pad_len);
    if pad_len > rest.len() {
        return Err(FrameError::connection(
            ErrorCode::ProtocolError,
            "padding longer than the payload",
        ));
    }
    Ok(&rest[..rest.len() - pad_len])
}

fn require_stream(stream_id: u32, reason: &'static str) -> Result<(), FrameError> {
    if stream_id == 0 {
        return Err(FrameError::connection(ErrorCode::ProtocolError, reason));
    }
    Ok(())
}

fn require_connection(stream_id: u32, reason: &'static str) -> Result<(), FrameError> {
    if stream_id != 0 {
        return Err(FrameError::connection(ErrorCode::ProtocolError, reason));
    }
    Ok(())
}

/// The payload as exactly `N` bytes, else a connection FRAME_SIZE_ERROR.
fn exact<const N: usize>(payload: &[u8], reason: &'static str) -> Result<[u8; N], FrameError> {
    payload
        .try_into()
        .map_err(|_| FrameError::connection(ErrorCode::FrameSizeError, reason))
}

/// A big-endian u32 from the first four bytes (the callers pass at least four).
fn read_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}

fn write_header(out: &mut Vec<u8>, length: usize, kind: u8, flags: u8, stream_id: u32) {
    FrameHeader {
        // Writers' payloads are below 2^24: settings lists, fixed fields, and data and
        // header fragments the caller has cut to the peer's max frame size.
        length: length as u32,
        kind,
        flags,
        stream_id,
    }
    .write(out);
}

/// Appends a SETTINGS frame with these parameters, in order.
pub fn write_settings(out: &mut Vec<u8>, settings: &[Setting]) {
    write_header(out, settings.len() * 6, kind::SETTINGS, 0, 0);
    for setting in settings {
        let (id, value) = setting.id_value();
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
}

/// Appends the acknowledgement of the peer's SETTINGS.
pub fn write_settings_ack(out: &mut Vec<u8>) {
    write_header(out, 0, kind::SETTINGS, flag::ACK, 0);
}

/// Appends the answer to the peer's PING, echoing its payload.
pub fn write_ping_ack(out: &mut Vec<u8>, payload: [u8; 8]) {
    write_header(out, 8, kind::PING, flag::ACK, 0);
    out.extend_from_slice(&payload);
}

/// Appends a WINDOW_UPDATE for a stream, or for the connection with `stream_id` 0.
pub fn write_window_update(out: &mut Vec<u8>, stream_id: u32, increment: u32) {
    write_header(out, 4, kind::WINDOW_UPDATE, 0, stream_id);
    out.extend_from_slice(&(increment & MAX_WINDOW).to_be_bytes());
}

/// Appends an RST_STREAM that ends one stream with `code`.
pub fn write_rst_stream(out: &mut Vec<u8>, stream_id: u32, code: ErrorCode) {
    write_header(out, 4, kind::RST_STREAM, 0, stream_id);
    out.extend_from_slice(&(code as u32).to_be_bytes());
}

/// Appends a GOAWAY: streams above `last_stream_id` were not processed.
pub fn write_goaway(out: &mut Vec<u8>, last_stream_id: u32, code: ErrorCode, debug: &[u8]) {
    write_header(out, 8 + debug.len(), kind::GOAWAY, 0, 0);
    out.extend_from_slice(&(last_stream_id & MAX_WINDOW).to_be_bytes());
    out.extend_from_slice(&(code as u32).to_be_bytes());
    out.extend_from_slice(debug);
}

/// One DATA frame (the caller splits by window and max frame size).
pub fn write_data(out: &mut Vec<u8>, stream_id: u32, end_stream: bool, data: &[u8]) {
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    write_header(out, data.len(), kind::DATA, flags, stream_id);
    out.extend_from_slice(data);
}

/// A header block as HEADERS plus as many CONTINUATION frames as `max_frame_size` needs.
pub fn write_headers(
    out: &mut Vec<u8>,
    stream_id: u32,
    end_stream: bool,
    block: &[u8],
    max_frame_size: usize,
) {
    let max_frame_size = max_frame_size.max(1);
    let first_len = block.len().min(max_frame_size);
    let (first, mut rest) = block.split_at(first_len);
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.is_empty() {
        flags |= flag::END_HEADERS;
    }
    out.reserve(block.len() + HEADER_LEN * (block.len() / max_frame_size + 1));
    write_header(out, first.len(), kind::HEADERS, flags, stream_id);
    out.extend_from_slice(first);
    while !rest.is_empty() {
        let (fragment, after) = rest.split_at(rest.len().min(max_frame_size));
        let flags = if after.is_empty() {
            flag::END_HEADERS
        } else {
            0
        };
        write_header(out, fragment.len(), kind::CONTINUATION, flags, stream_id);
        out.extend_from_slice(fragment);
        rest = after;
    }
}

#[cfg(test)]
mod tests;
