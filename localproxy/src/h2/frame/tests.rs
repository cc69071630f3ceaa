//! Every writer through `parse`, and every rule of RFC 9113 section 6 that `parse` checks,
//! each test named for its rule.

use proptest::prelude::*;

use super::*;

/// The bytes of one frame.
fn raw(kind: u8, flags: u8, stream_id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    write_header(&mut out, payload.len(), kind, flags, stream_id);
    out.extend_from_slice(payload);
    out
}

/// Splits `bytes` into frames and parses each (panics if they do not split exactly).
fn parse_all(bytes: &[u8]) -> Vec<Result<Frame<'_>, FrameError>> {
    let mut frames = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let header = FrameHeader::parse(rest[..HEADER_LEN].try_into().unwrap());
        let end = HEADER_LEN + header.length as usize;
        frames.push(parse(header, &rest[HEADER_LEN..end]));
        rest = &rest[end..];
    }
    frames
}

fn parse_one(bytes: &[u8]) -> Result<Frame<'_>, FrameError> {
    let mut frames = parse_all(bytes);
    assert_eq!(frames.len(), 1);
    frames.remove(0)
}

fn connection_error(code: ErrorCode) -> impl Fn(FrameError) -> bool {
    move |error| error.code == code && error.stream.is_none()
}

fn assert_connection_error(bytes: &[u8], code: ErrorCode) {
    let error = parse_one(bytes).unwrap_err();
    assert!(connection_error(code)(error), "{error:?}");
}

fn assert_stream_error(bytes: &[u8], stream_id: u32, code: ErrorCode) {
    let error = parse_one(bytes).unwrap_err();
    assert_eq!(
        (error.code, error.stream),
        (code, Some(stream_id)),
        "{error:?}"
    );
}

fn settings_frame(id: u16, value: u32) -> Vec<u8> {
    let mut payload = id.to_be_bytes().to_vec();
    payload.extend_from_slice(&value.to_be_bytes());
    raw(kind::SETTINGS, 0, 0, &payload)
}

#[test]
fn the_preface_is_rfc_9113_s() {
    assert_eq!(PREFACE, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
}

#[test]
fn the_frame_header_round_trips_and_ignores_the_reserved_bit() {
    let header = FrameHeader {
        length: 0x01_02_03,
        kind: 7,
        flags: 0x25,
        stream_id: 0x7fff_fff1,
    };
    let mut out = Vec::new();
    header.write(&mut out);
    assert_eq!(out, [1, 2, 3, 7, 0x25, 0x7f, 0xff, 0xff, 0xf1]);
    assert_eq!(FrameHeader::parse(out[..].try_into().unwrap()), header);
    out[5] |= 0x80;
    assert_eq!(FrameHeader::parse(out[..].try_into().unwrap()), header);
}

#[test]
fn error_codes_round_trip_and_unknown_ones_are_none() {
    for value in 0..=13 {
        assert_eq!(
            ErrorCode::from_u32(value).map(|code| code as u32),
            Some(value)
        );
    }
    assert_eq!(ErrorCode::from_u32(14), None);
    assert_eq!(ErrorCode::from_u32(u32::MAX), None);
}

#[test]
fn write_settings_round_trips() {
    let settings = [
        Setting::HeaderTableSize(4096),
        Setting::EnablePush(0),
        Setting::MaxConcurrentStreams(100),
        Setting::InitialWindowSize(MAX_WINDOW),
        Setting::MaxFrameSize(LARGEST_MAX_FRAME_SIZE),
        Setting::MaxHeaderListSize(16 << 10),
        Setting::EnableConnectProtocol(1),
        Setting::Unknown(0x9, 1),
    ];
    let mut out = Vec::new();
    write_settings(&mut out, &settings);
    assert_eq!(out.len(), HEADER_LEN + 6 * settings.len());
    match parse_one(&out) {
        Ok(Frame::Settings {
            ack: false,
            settings: parsed,
        }) => assert_eq!(parsed, settings),
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_settings_ack_round_trips() {
    let mut out = Vec::new();
    write_settings_ack(&mut out);
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::Settings { ack: true, settings }) if settings.is_empty()
    ));
}

#[test]
fn write_ping_ack_round_trips() {
    let mut out = Vec::new();
    write_ping_ack(&mut out, *b"12345678");
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::Ping { ack: true, payload }) if &payload == b"12345678"
    ));
}

#[test]
fn write_window_update_round_trips() {
    let mut out = Vec::new();
    write_window_update(&mut out, 0, MAX_WINDOW);
    write_window_update(&mut out, 3, 1);
    let frames = parse_all(&out);
    assert!(matches!(
        frames[0],
        Ok(Frame::WindowUpdate {
            stream_id: 0,
            increment: MAX_WINDOW
        })
    ));
    assert!(matches!(
        frames[1],
        Ok(Frame::WindowUpdate {
            stream_id: 3,
            increment: 1
        })
    ));
}

#[test]
fn write_rst_stream_round_trips() {
    let mut out = Vec::new();
    write_rst_stream(&mut out, 5, ErrorCode::RefusedStream);
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::RstStream {
            stream_id: 5,
            code: 7
        })
    ));
}

#[test]
fn write_goaway_round_trips() {
    let mut out = Vec::new();
    write_goaway(&mut out, 41, ErrorCode::EnhanceYourCalm, b"too many resets");
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::GoAway {
            last_stream_id: 41,
            code: 11,
            debug: b"too many resets"
        })
    ));
}

#[test]
fn write_data_round_trips() {
    let mut out = Vec::new();
    write_data(&mut out, 1, false, b"hello");
    write_data(&mut out, 1, true, b"");
    let frames = parse_all(&out);
    assert!(matches!(
        frames[0],
        Ok(Frame::Data {
            stream_id: 1,
            end_stream: false,
            data: b"hello",
            flow_len: 5
        })
    ));
    assert!(matches!(
        frames[1],
        Ok(Frame::Data {
            stream_id: 1,
            end_stream: true,
            data: b"",
            flow_len: 0
        })
    ));
}

#[test]
fn write_headers_fits_one_frame_when_it_can() {
    let mut out = Vec::new();
    write_headers(&mut out, 1, true, b"\x88", 16384);
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::Headers {
            stream_id: 1,
            end_stream: true,
            end_headers: true,
            priority: None,
            block: b"\x88",
        })
    ));
}

#[test]
fn write_headers_splits_into_continuations_at_the_max_frame_size() {
    let block: Vec<u8> = (0..10).collect();
    let mut out = Vec::new();
    write_headers(&mut out, 3, false, &block, 4);
    let frames = parse_all(&out);
    assert_eq!(frames.len(), 3);
    assert!(matches!(
        frames[0],
        Ok(Frame::Headers {
            stream_id: 3,
            end_stream: false,
            end_headers: false,
            block: [0, 1, 2, 3],
            ..
        })
    ));
    assert!(matches!(
        frames[1],
        Ok(Frame::Continuation {
            stream_id: 3,
            end_headers: false,
            block: [4, 5, 6, 7]
        })
    ));
    assert!(matches!(
        frames[2],
        Ok(Frame::Continuation {
            stream_id: 3,
            end_headers: true,
            block: [8, 9]
        })
    ));
}

#[test]
fn write_headers_of_an_empty_block_is_one_complete_headers_frame() {
    let mut out = Vec::new();
    write_headers(&mut out, 1, true, b"", 16384);
    assert!(matches!(
        parse_one(&out),
        Ok(Frame::Headers {
            end_stream: true,
            end_headers: true,
            block: b"",
            ..
        })
    ));
}

#[test]
fn data_on_stream_0_is_a_connection_protocol_error() {
    assert_connection_error(&raw(kind::DATA, 0, 0, b"x"), ErrorCode::ProtocolError);
}

#[test]
fn padded_data_loses_its_padding_but_flow_control_counts_it() {
    let frame = raw(
        kind::DATA,
        flag::PADDED | flag::END_STREAM,
        1,
        b"\x03abc\0\0\0",
    );
    assert!(matches!(
        parse_one(&frame),
        Ok(Frame::Data {
            stream_id: 1,
            end_stream: true,
            data: b"abc",
            flow_len: 7
        })
    ));
    // Padding may take the whole rest of the payload.
    let frame = raw(kind::DATA, flag::PADDED, 1, b"\x02\0\0");
    assert!(matches!(
        parse_one(&frame),
        Ok(Frame::Data {
            data: b"",
            flow_len: 3,
            ..
        })
    ));
}

#[test]
fn data_padding_longer_than_the_payload_is_a_protocol_error() {
    assert_connection_error(
        &raw(kind::DATA, flag::PADDED, 1, b"\x03\0\0"),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn padded_data_without_a_pad_length_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::DATA, flag::PADDED, 1, b""),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn headers_on_stream_0_is_a_connection_protocol_error() {
    assert_connection_error(
        &raw(kind::HEADERS, flag::END_HEADERS, 0, b"\x82"),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn headers_with_padding_and_priority_yield_the_fragment_and_priority() {
    // Pad length 2, exclusive dependency on stream 1, weight 15, block 0x82 0x86, padding.
    let payload = [2, 0x80, 0, 0, 1, 15, 0x82, 0x86, 0, 0];
    let frame = raw(
        kind::HEADERS,
        flag::PADDED | flag::PRIORITY | flag::END_HEADERS,
        3,
        &payload,
    );
    let expected = Priority {
        depends_on: 1,
        exclusive: true,
        weight: 15,
    };
    assert!(matches!(
        parse_one(&frame),
        Ok(Frame::Headers {
            stream_id: 3,
            end_stream: false,
            end_headers: true,
            priority: Some(priority),
            block: [0x82, 0x86],
        }) if priority == expected
    ));
}

#[test]
fn headers_padding_longer_than_the_payload_is_a_protocol_error() {
    assert_connection_error(
        &raw(kind::HEADERS, flag::PADDED, 1, b"\x02\x82"),
        ErrorCode::ProtocolError,
    );
    // With priority, the padding may not eat into the five priority bytes.
    assert_connection_error(
        &raw(
            kind::HEADERS,
            flag::PADDED | flag::PRIORITY,
            1,
            &[1, 0, 0, 0, 0, 15],
        ),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn headers_too_short_for_their_priority_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::HEADERS, flag::PRIORITY, 1, &[0, 0, 0, 0]),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn headers_depending_on_their_own_stream_is_a_stream_protocol_error() {
    assert_stream_error(
        &raw(
            kind::HEADERS,
            flag::PRIORITY | flag::END_HEADERS,
            5,
            &[0, 0, 0, 5, 15, 0x82],
        ),
        5,
        ErrorCode::ProtocolError,
    );
}

#[test]
fn priority_on_stream_0_is_a_connection_protocol_error() {
    assert_connection_error(
        &raw(kind::PRIORITY, 0, 0, &[0, 0, 0, 1, 15]),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn priority_of_other_than_5_bytes_is_a_stream_frame_size_error() {
    assert_stream_error(
        &raw(kind::PRIORITY, 0, 3, &[0, 0, 0, 1]),
        3,
        ErrorCode::FrameSizeError,
    );
    assert_stream_error(
        &raw(kind::PRIORITY, 0, 3, &[0, 0, 0, 1, 15, 0]),
        3,
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn priority_depending_on_its_own_stream_is_a_stream_protocol_error() {
    assert_stream_error(
        &raw(kind::PRIORITY, 0, 3, &[0x80, 0, 0, 3, 15]),
        3,
        ErrorCode::ProtocolError,
    );
}

#[test]
fn priority_parses_dependency_exclusivity_and_weight() {
    let frame = raw(kind::PRIORITY, 0, 3, &[0, 0, 0, 1, 200]);
    let expected = Priority {
        depends_on: 1,
        exclusive: false,
        weight: 200,
    };
    assert!(matches!(
        parse_one(&frame),
        Ok(Frame::Priority { stream_id: 3, priority }) if priority == expected
    ));
}

#[test]
fn rst_stream_on_stream_0_is_a_connection_protocol_error() {
    assert_connection_error(
        &raw(kind::RST_STREAM, 0, 0, &[0, 0, 0, 8]),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn rst_stream_of_other_than_4_bytes_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::RST_STREAM, 0, 1, &[0, 0, 8]),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn settings_on_a_stream_is_a_connection_protocol_error() {
    assert_connection_error(&raw(kind::SETTINGS, 0, 1, b""), ErrorCode::ProtocolError);
}

#[test]
fn a_settings_ack_with_a_payload_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::SETTINGS, flag::ACK, 0, &[0, 1, 0, 0, 0x10, 0]),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn settings_of_a_length_not_a_multiple_of_6_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::SETTINGS, 0, 0, &[0, 1, 0, 0, 0x10]),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn enable_push_above_1_is_a_protocol_error() {
    assert_connection_error(&settings_frame(0x2, 2), ErrorCode::ProtocolError);
    assert!(parse_one(&settings_frame(0x2, 1)).is_ok());
}

#[test]
fn initial_window_size_above_2_pow_31_minus_1_is_a_flow_control_error() {
    assert_connection_error(
        &settings_frame(0x4, MAX_WINDOW + 1),
        ErrorCode::FlowControlError,
    );
    assert!(parse_one(&settings_frame(0x4, MAX_WINDOW)).is_ok());
}

#[test]
fn max_frame_size_outside_16384_to_16777215_is_a_protocol_error() {
    assert_connection_error(&settings_frame(0x5, 16383), ErrorCode::ProtocolError);
    assert_connection_error(&settings_frame(0x5, 1 << 24), ErrorCode::ProtocolError);
    assert!(parse_one(&settings_frame(0x5, 16384)).is_ok());
    assert!(parse_one(&settings_frame(0x5, (1 << 24) - 1)).is_ok());
}

#[test]
fn enable_connect_protocol_above_1_is_a_protocol_error() {
    assert_connection_error(&settings_frame(0x8, 2), ErrorCode::ProtocolError);
}

#[test]
fn unknown_settings_are_kept_as_unknown() {
    assert!(matches!(
        parse_one(&settings_frame(0xabc, 7)),
        Ok(Frame::Settings { settings, .. }) if settings == [Setting::Unknown(0xabc, 7)]
    ));
}

#[test]
fn push_promise_is_reported_for_the_caller_to_refuse() {
    assert!(matches!(
        parse_one(&raw(
            kind::PUSH_PROMISE,
            flag::END_HEADERS,
            1,
            &[0, 0, 0, 2]
        )),
        Ok(Frame::PushPromise { stream_id: 1 })
    ));
    assert_connection_error(
        &raw(kind::PUSH_PROMISE, 0, 0, &[0, 0, 0, 2]),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn ping_on_a_stream_is_a_connection_protocol_error() {
    assert_connection_error(&raw(kind::PING, 0, 1, &[0; 8]), ErrorCode::ProtocolError);
}

#[test]
fn ping_of_other_than_8_bytes_is_a_frame_size_error() {
    assert_connection_error(&raw(kind::PING, 0, 0, &[0; 7]), ErrorCode::FrameSizeError);
    assert_connection_error(&raw(kind::PING, 0, 0, &[0; 9]), ErrorCode::FrameSizeError);
}

#[test]
fn a_ping_without_ack_asks_for_an_answer() {
    assert!(matches!(
        parse_one(&raw(kind::PING, 0, 0, b"abcdefgh")),
        Ok(Frame::Ping { ack: false, payload }) if &payload == b"abcdefgh"
    ));
}

#[test]
fn goaway_on_a_stream_is_a_connection_protocol_error() {
    assert_connection_error(&raw(kind::GOAWAY, 0, 1, &[0; 8]), ErrorCode::ProtocolError);
}

#[test]
fn goaway_shorter_than_8_bytes_is_a_frame_size_error() {
    assert_connection_error(&raw(kind::GOAWAY, 0, 0, &[0; 7]), ErrorCode::FrameSizeError);
}

#[test]
fn window_update_of_other_than_4_bytes_is_a_frame_size_error() {
    assert_connection_error(
        &raw(kind::WINDOW_UPDATE, 0, 1, &[0, 0, 1]),
        ErrorCode::FrameSizeError,
    );
}

#[test]
fn a_zero_window_increment_on_the_connection_is_a_connection_protocol_error() {
    assert_connection_error(
        &raw(kind::WINDOW_UPDATE, 0, 0, &[0; 4]),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn a_zero_window_increment_on_a_stream_is_a_stream_protocol_error() {
    assert_stream_error(
        &raw(kind::WINDOW_UPDATE, 0, 7, &[0; 4]),
        7,
        ErrorCode::ProtocolError,
    );
    // The reserved bit does not make the increment non-zero.
    assert_stream_error(
        &raw(kind::WINDOW_UPDATE, 0, 7, &[0x80, 0, 0, 0]),
        7,
        ErrorCode::ProtocolError,
    );
}

#[test]
fn continuation_on_stream_0_is_a_connection_protocol_error() {
    assert_connection_error(
        &raw(kind::CONTINUATION, 0, 0, b"\x82"),
        ErrorCode::ProtocolError,
    );
}

#[test]
fn unknown_frame_types_are_ignored() {
    assert!(matches!(
        parse_one(&raw(0xfa, 0xff, 0, b"anything")),
        Ok(Frame::Unknown { kind: 0xfa })
    ));
}

proptest! {
    #[test]
    fn write_headers_fragments_rebuild_the_block(
        block in proptest::collection::vec(any::<u8>(), 0..300),
        max_frame_size in 1usize..64,
        end_stream in any::<bool>(),
    ) {
        let mut out = Vec::new();
        write_headers(&mut out, 9, end_stream, &block, max_frame_size);
        let frames = parse_all(&out);
        let mut rebuilt = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            let last = i + 1 == frames.len();
            match frame {
                Ok(Frame::Headers { stream_id: 9, end_stream: es, end_headers, block, .. }) if i == 0 => {
                    prop_assert_eq!(*es, end_stream);
                    prop_assert_eq!(*end_headers, last);
                    prop_assert!(block.len() <= max_frame_size);
                    rebuilt.extend_from_slice(block);
                }
                Ok(Frame::Continuation { stream_id: 9, end_headers, block }) if i > 0 => {
                    prop_assert_eq!(*end_headers, last);
                    prop_assert!(!block.is_empty() && block.len() <= max_frame_size);
                    rebuilt.extend_from_slice(block);
                }
                other => prop_assert!(false, "unexpected frame {:?}", other),
            }
        }
        prop_assert_eq!(rebuilt, block);
    }

    #[test]
    fn any_payload_parses_or_fails_without_panicking(
        kind in 0u8..12,
        flags in any::<u8>(),
        stream_id in 0u32..4,
        payload in proptest::collection::vec(any::<u8>(), 0..40),
    ) {
        let header = FrameHeader { length: payload.len() as u32, kind, flags, stream_id };
        let _ = parse(header, &payload);
    }
}
