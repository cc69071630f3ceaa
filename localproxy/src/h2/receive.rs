//! The frames a client sends, handled by the rules of RFC 9113: the preface and the first
//! SETTINGS, stream states (idle, open, half-closed, closed) and the errors for frames that do
//! not fit them, header blocks across CONTINUATION, request heads and bodies, flow control,
//! settings, pings, resets and GOAWAY.

use std::future::Future;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use http::{Response, StatusCode};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::h2::body::{RequestBody, StreamShared};
use crate::h2::connection::{Answer, Connection, MAX_CONCURRENT_STREAMS, Phase, new_stream};
use crate::h2::frame::{self, ErrorCode, Frame, FrameError, FrameHeader, Setting, kind};
use crate::h2::request::{Rejected, read_trailers};
use crate::shared::error::error_text;
use crate::shared::state::record_request;
use crate::shared::upstream::body::ProxyBody;

/// The largest header block we buffer across CONTINUATION frames, for a header list limit of
/// `max_list`: what a list of that size takes when not compressed at all, with room for the
/// field overhead.
fn block_limit(max_list: usize) -> usize {
    max_list + max_list / 2 + 1024
}

impl<'a, S, F> Connection<'a, S, F>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
    F: Future<Output = Answer> + Send + 'a,
{
    /// Handles every whole frame in the input buffer.
    pub(super) fn receive(&mut self) {
        if !self.preface_read {
            let have = self.input.len().min(frame::PREFACE.len());
            if self.input[..have] != frame::PREFACE[..have] {
                self.fail(ErrorCode::ProtocolError, "bad connection preface");
                return;
            }
            if have < frame::PREFACE.len() {
                return;
            }
            self.input.advance(frame::PREFACE.len());
            self.preface_read = true;
        }
        while self.phase != Phase::Failed && self.input.len() >= frame::HEADER_LEN {
            let mut head = [0u8; frame::HEADER_LEN];
            head.copy_from_slice(&self.input[..frame::HEADER_LEN]);
            let header = FrameHeader::parse(&head);
            if header.length > frame::DEFAULT_MAX_FRAME_SIZE {
                self.fail(
                    ErrorCode::FrameSizeError,
                    "frame larger than SETTINGS_MAX_FRAME_SIZE",
                );
                return;
            }
            let total = frame::HEADER_LEN + header.length as usize;
            if self.input.len() < total {
                self.input.reserve(total - self.input.len());
                return;
            }
            if !self.settings_seen && header.kind != kind::SETTINGS {
                self.fail(ErrorCode::ProtocolError, "the first frame is not SETTINGS");
                return;
            }
            if let Some((id, _)) = self.continuation
                && (header.kind != kind::CONTINUATION || header.stream_id != id)
            {
                self.fail(ErrorCode::ProtocolError, "a header block interrupted");
                return;
            }
            if header.kind == kind::DATA {
                // DATA is handed on as a view of the read buffer, not a copy.
                let bytes = self.input.split_to(total).freeze();
                let parsed = frame::parse(header, &bytes[frame::HEADER_LEN..]);
                match parsed {
                    Ok(Frame::Data {
                        stream_id,
                        end_stream,
                        data,
                        flow_len,
                    }) => {
                        let data = bytes.slice_ref(data);
                        self.on_data(stream_id, end_stream, data, flow_len);
                    }
                    Ok(_) => {}
                    Err(error) => self.frame_error(header.kind, error),
                }
                continue;
            }
            let input = std::mem::take(&mut self.input);
            let parsed = frame::parse(header, &input[frame::HEADER_LEN..total]);
            match parsed {
                Ok(frame) => self.on_frame(frame),
                Err(error) => self.frame_error(header.kind, error),
            }
            self.input = input;
            self.input.advance(total);
        }
    }

    /// A malformed frame of type `kind`. A stream error on a HEADERS frame (a stream that
    /// depends on itself) ends the connection all the same: its header block goes undecoded,
    /// and the HPACK table would no longer match the client's.
    fn frame_error(&mut self, kind: u8, error: FrameError) {
        match error.stream {
            Some(id) if kind != kind::HEADERS => self.reset_stream(id, error.code),
            _ => self.fail(error.code, error.reason),
        }
    }

    fn on_frame(&mut self, frame: Frame<'_>) {
        match frame {
            Frame::Data { .. } => {}
            Frame::Headers {
                stream_id,
                end_stream,
                end_headers,
                block,
                ..
            } => self.on_headers(stream_id, end_stream, end_headers, block),
            Frame::Continuation {
                stream_id,
                end_headers,
                block,
            } => self.on_continuation(stream_id, end_headers, block),
            Frame::Priority { .. } | Frame::Unknown { .. } => {}
            Frame::RstStream { stream_id, .. } => self.on_reset(stream_id),
            Frame::Settings { ack: true, .. } => {}
            Frame::Settings {
                ack: false,
                settings,
            } => self.on_settings(&settings),
            Frame::PushPromise { .. } => {
                self.fail(ErrorCode::ProtocolError, "a client sent PUSH_PROMISE");
            }
            Frame::Ping { ack: true, .. } => {}
            Frame::Ping {
                ack: false,
                payload,
            } => {
                frame::write_ping_ack(&mut self.out, payload);
                self.answered_control();
            }
            Frame::GoAway { .. } => {
                // The client leaves: its open streams finish, it opens no more.
                if self.phase == Phase::Open {
                    self.phase = Phase::Draining;
                }
            }
            Frame::WindowUpdate {
                stream_id,
                increment,
            } => self.on_window_update(stream_id, increment),
        }
    }

    fn answered_control(&mut self) {
        self.unanswered_control += 1;
        if self.unanswered_control > super::connection::UNANSWERED_CONTROL_LIMIT {
            self.fail(ErrorCode::EnhanceYourCalm, "control frames not read");
        }
    }

    fn on_settings(&mut self, settings: &[Setting]) {
        self.settings_seen = true;
        for setting in settings {
            match *setting {
                Setting::HeaderTableSize(size) => {
                    self.encoder.set_peer_table_size(size as usize);
                }
                Setting::InitialWindowSize(size) => {
                    let delta = i64::from(size) - self.peer_initial_window;
                    self.peer_initial_window = i64::from(size);
                    for stream in &mut self.streams {
                        stream.send_window += delta;
                        if stream.send_window > super::connection::MAX_WINDOW {
                            self.fail(ErrorCode::FlowControlError, "a stream window past 2^31-1");
                            return;
                        }
                    }
                }
                Setting::MaxFrameSize(size) => {
                    self.peer_max_frame = size.min(frame::LARGEST_MAX_FRAME_SIZE) as usize;
                }
                _ => {}
            }
        }
        frame::write_settings_ack(&mut self.out);
        self.answered_control();
    }

    fn on_window_update(&mut self, id: u32, increment: u32) {
        if id == 0 {
            self.send_window += i64::from(increment);
            if self.send_window > super::connection::MAX_WINDOW {
                self.fail(
                    ErrorCode::FlowControlError,
                    "the connection window past 2^31-1",
                );
            }
            return;
        }
        if id > self.highest {
            self.fail(ErrorCode::ProtocolError, "WINDOW_UPDATE on an idle stream");
            return;
        }
        if let Some(stream) = self.streams.iter_mut().find(|stream| stream.id == id) {
            stream.send_window += i64::from(increment);
            if stream.send_window > super::connection::MAX_WINDOW {
                self.reset_stream(id, ErrorCode::FlowControlError);
            }
        }
    }

    fn on_reset(&mut self, id: u32) {
        if id > self.highest {
            self.fail(ErrorCode::ProtocolError, "RST_STREAM on an idle stream");
            return;
        }
        let Some(index) = self.streams.iter().position(|stream| stream.id == id) else {
            return;
        };
        let stream = self.streams.swap_remove(index);
        if matches!(stream.response, crate::h2::stream::Response::Waiting) {
            // A stream cancelled before its answer: the rapid-reset flood's shape.
            self.abuse += 1;
        }
        stream.shared.cancel();
        self.forget(&stream);
        if self.abuse > super::connection::ABUSE_LIMIT {
            self.fail(ErrorCode::EnhanceYourCalm, "too many streams reset");
        }
    }

    fn on_data(&mut self, id: u32, end_stream: bool, data: Bytes, flow_len: u32) {
        self.recv_window -= i64::from(flow_len);
        if self.recv_window < 0 {
            self.fail(
                ErrorCode::FlowControlError,
                "DATA beyond the connection window",
            );
            return;
        }
        if id > self.highest {
            self.fail(ErrorCode::ProtocolError, "DATA on an idle stream");
            return;
        }
        if data.is_empty() && !end_stream {
            self.empty_frames += 1;
            if self.empty_frames > super::connection::EMPTY_FRAME_LIMIT {
                self.fail(ErrorCode::EnhanceYourCalm, "empty DATA frames");
                return;
            }
        } else {
            self.empty_frames = 0;
        }
        // Padding is never delivered: its window comes back at once.
        let padding = (flow_len as usize) - data.len();
        self.recv_credit += padding;
        let Some(index) = self
            .streams
            .iter()
            .position(|stream| stream.id == id && stream.receiving)
        else {
            self.recv_credit += data.len();
            self.reset_stream(id, ErrorCode::StreamClosed);
            return;
        };
        let stream = &mut self.streams[index];
        stream.recv_window -= i64::from(flow_len);
        if stream.recv_window < 0 {
            self.recv_credit += data.len();
            self.reset_stream(id, ErrorCode::FlowControlError);
            return;
        }
        stream.recv_credit += padding;
        stream.received += data.len() as u64;
        if stream
            .declared
            .is_some_and(|declared| stream.received > declared)
            || (end_stream
                && stream
                    .declared
                    .is_some_and(|declared| stream.received != declared))
        {
            // A body of another length than declared never reaches the endpoint whole.
            stream
                .shared
                .break_off("a body of another length than its content-length");
            self.recv_credit += data.len();
            self.reset_stream(id, ErrorCode::ProtocolError);
            return;
        }
        if !data.is_empty() && !stream.shared.push(data.clone()) {
            self.recv_credit += data.len();
        }
        if end_stream {
            stream.receiving = false;
            stream.shared.end();
        }
    }

    fn on_headers(&mut self, id: u32, end_stream: bool, end_headers: bool, block: &[u8]) {
        if id.is_multiple_of(2) {
            self.fail(ErrorCode::ProtocolError, "HEADERS on an even stream id");
            return;
        }
        if end_headers {
            self.on_header_block(id, end_stream, block);
            return;
        }
        let limit = block_limit(self.shared.config.max_header_bytes);
        if block.len() > limit {
            self.fail(ErrorCode::CompressionError, "header block over the limit");
            return;
        }
        self.pending_block.clear();
        self.pending_block.extend_from_slice(block);
        self.continuation = Some((id, end_stream));
        self.continuation_frames = 0;
    }

    fn on_continuation(&mut self, id: u32, end_headers: bool, block: &[u8]) {
        let Some((expected, end_stream)) = self.continuation else {
            self.fail(ErrorCode::ProtocolError, "CONTINUATION without HEADERS");
            return;
        };
        if id != expected {
            self.fail(ErrorCode::ProtocolError, "CONTINUATION on another stream");
            return;
        }
        self.continuation_frames += 1;
        let limit = block_limit(self.shared.config.max_header_bytes);
        if self.pending_block.len() + block.len() > limit {
            // Bounded while it arrives: the block is never buffered past the limit.
            self.fail(ErrorCode::CompressionError, "header block over the limit");
            return;
        }
        if self.continuation_frames > super::connection::EMPTY_FRAME_LIMIT {
            self.fail(ErrorCode::EnhanceYourCalm, "too many CONTINUATION frames");
            return;
        }
        self.pending_block.extend_from_slice(block);
        if end_headers {
            self.continuation = None;
            let block = std::mem::take(&mut self.pending_block);
            self.on_header_block(id, end_stream, &block);
            self.pending_block = block;
        }
    }

    /// A whole header block: a new request, trailers, or an error for the stream's state.
    fn on_header_block(&mut self, id: u32, end_stream: bool, block: &[u8]) {
        let max_list = self.shared.config.max_header_bytes;
        if id <= self.highest {
            let open = self.streams.iter().position(|stream| stream.id == id);
            let receiving = open.is_some_and(|index| self.streams[index].receiving);
            let trailers = read_trailers(&mut self.decoder, block, max_list);
            if trailers == Err(Rejected::Compression) {
                self.fail(ErrorCode::CompressionError, "header block does not decode");
                return;
            }
            match (open, receiving) {
                (Some(index), true) => {
                    if !end_stream || trailers.is_err() {
                        self.reset_stream(id, ErrorCode::ProtocolError);
                        return;
                    }
                    let stream = &mut self.streams[index];
                    if stream
                        .declared
                        .is_some_and(|declared| stream.received != declared)
                    {
                        stream
                            .shared
                            .break_off("a body of another length than its content-length");
                        self.reset_stream(id, ErrorCode::ProtocolError);
                        return;
                    }
                    stream.receiving = false;
                    stream.shared.end();
                }
                (Some(_), false) => self.reset_stream(id, ErrorCode::StreamClosed),
                (None, _) if self.recently_closed.contains(&id) => {
                    self.fail(ErrorCode::StreamClosed, "HEADERS on a closed stream");
                }
                (None, _) => self.fail(ErrorCode::ProtocolError, "a stream id not increasing"),
            }
            return;
        }
        self.highest = id;
        let max_fields = self.shared.config.max_headers;
        let head = self
            .heads
            .read(&mut self.decoder, block, max_list, max_fields);
        if self.phase != Phase::Open {
            // After GOAWAY: decoded to keep the table in sync, not served.
            return;
        }
        let head = match head {
            Ok(head) => head,
            Err(Rejected::Compression) => {
                self.fail(ErrorCode::CompressionError, "header block does not decode");
                return;
            }
            Err(Rejected::Malformed(reason)) => {
                tracing::debug!(peer = %self.downstream.peer, stream = id, reason, "malformed request");
                self.reset_stream(id, ErrorCode::ProtocolError);
                return;
            }
            Err(Rejected::TooLarge) => {
                self.answer_directly(id, end_stream, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
                return;
            }
            Err(Rejected::Connect) => {
                self.answer_directly(id, end_stream, StatusCode::METHOD_NOT_ALLOWED);
                return;
            }
        };
        if self.streams.len() >= MAX_CONCURRENT_STREAMS {
            self.reset_stream(id, ErrorCode::RefusedStream);
            return;
        }
        if end_stream && head.declared.is_some_and(|declared| declared != 0) {
            // A declared body that never comes: the endpoint must not wait for it.
            self.reset_stream(id, ErrorCode::ProtocolError);
            return;
        }
        let shared_state = self.spare.pop().unwrap_or_default();
        let mut stream = new_stream(id, Arc::clone(&shared_state), self.peer_initial_window);
        stream.declared = head.declared;
        let body = if end_stream {
            RequestBody::empty()
        } else {
            stream.receiving = true;
            stream.has_body = true;
            RequestBody::streamed(Arc::clone(&shared_state), head.declared)
        };
        self.streams.push(stream);
        self.idle_since = None;
        let request = head.request.map(|()| body);
        let future = (self.start)(
            self.shared,
            self.downstream.clone(),
            request,
            id,
            shared_state,
        );
        self.futures.push(future);
    }

    /// Answers a request the proxy refuses before routing (431, 405) with a short text body.
    fn answer_directly(&mut self, id: u32, end_stream: bool, status: StatusCode) {
        let text = error_text(status);
        let mut response = Response::new(ProxyBody::text(text));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        let shared_state = Arc::new(StreamShared::default());
        let mut stream = new_stream(id, shared_state, self.peer_initial_window);
        stream.receiving = !end_stream;
        self.streams.push(stream);
        record_request(
            self.shared,
            self.downstream.clone(),
            std::time::Duration::ZERO,
            status.as_u16(),
            None,
        );
        self.respond(id, response);
    }
}
