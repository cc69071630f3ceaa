//! Responses in the lane: the client's head written from the endpoint's, and the body passed
//! on with its framing followed to the byte.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::shared::upstream::connection::UpstreamConnection;
use crate::shared::upstream::deadline::Deadline;
use crate::shared::upstream::response_head::{
    BodyProgress, Framing, HeadSink, ResponseHead, end_to_end,
};
use crate::wire::headers::{push_decimal, push_header};

/// Writes the client's HTTP/1.1 head into a reused buffer.
pub(super) struct Http1Head<'a>(pub &'a mut Vec<u8>);

impl HeadSink for Http1Head<'_> {
    /// The head the client gets: the endpoint's status and end-to-end headers, the framing the
    /// lane passes on, and `Connection: close` when the client connection ends after it.
    fn write(
        &mut self,
        response: &httparse::Response<'_, '_>,
        _buffered: &[u8],
        status: u16,
        framing: Framing,
        closes_client: bool,
    ) {
        let out = &mut *self.0;
        out.clear();
        out.extend_from_slice(b"HTTP/1.1 ");
        push_decimal(out, u64::from(status));
        out.push(b' ');
        out.extend_from_slice(response.reason.unwrap_or("").as_bytes());
        out.extend_from_slice(b"\r\n");
        for header in end_to_end(response) {
            push_header(out, header.name, header.value);
        }
        match framing {
            Framing::Chunked => out.extend_from_slice(b"transfer-encoding: chunked\r\n"),
            Framing::Tunnel => {
                out.extend_from_slice(b"connection: upgrade\r\nupgrade: websocket\r\n");
            }
            Framing::Length(_) | Framing::UntilClose => {}
        }
        if closes_client && framing != Framing::Tunnel {
            out.extend_from_slice(b"connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
    }
}

/// Writes the client head (`client_head`, extended with the body bytes read with the head) and
/// passes the body on until its framing says it ended; each read from the endpoint may take
/// the `wait` limit (the upstream timeout). `Ok(true)` when the connection can carry another request.
///
/// # Errors
/// [`RelayError::Unsent`] when the bytes that came with the head already break the body's
/// framing; [`RelayError::Broken`] when the endpoint breaks the body later (closes early,
/// pauses too long, breaks chunked framing) or the client stops reading.
pub(super) async fn relay<S: AsyncWrite + Unpin>(
    connection: &mut UpstreamConnection,
    response: &ResponseHead,
    client: &mut S,
    client_head: &mut Vec<u8>,
    wait: (&mut Deadline, Duration),
) -> Result<bool, RelayError> {
    let mut body = BodyProgress::new(response.framing);
    let initial = &connection.buffer[response.head_len..connection.filled];
    let used = body.take(initial).map_err(RelayError::Unsent)?;
    client_head.extend_from_slice(&initial[..used]);
    let stray = used < initial.len();
    connection.filled = 0;
    let reusable = pass_body(connection, &mut body, client, client_head, wait)
        .await
        .map_err(RelayError::Broken)?;
    Ok(reusable && !stray && response.upstream_keep_alive)
}

/// Why a response did not reach the client whole.
#[derive(Debug, thiserror::Error)]
pub(super) enum RelayError {
    /// Nothing was written: the client can still get an error response.
    #[error("response body framing broken before the head went out: {0}")]
    Unsent(io::Error),
    /// Part of the response was written: the client connection must close.
    #[error("response broke off: {0}")]
    Broken(io::Error),
}

/// Writes `client_head` and the rest of the body; `Ok(true)` when nothing followed the body on
/// the connection and its end was not the connection's end.
async fn pass_body<S: AsyncWrite + Unpin>(
    connection: &mut UpstreamConnection,
    body: &mut BodyProgress,
    client: &mut S,
    client_head: &[u8],
    (deadline, upstream_timeout): (&mut Deadline, Duration),
) -> io::Result<bool> {
    let mut stray = false;
    client.write_all(client_head).await?;
    while !body.ended() {
        let read = deadline
            .limit(
                upstream_timeout,
                connection.stream.read(&mut connection.buffer),
            )
            .await
            .ok_or_else(|| io::Error::new(io::ErrorKind::TimedOut, "response body stalled"))??;
        if read == 0 {
            if body.framing() == Framing::UntilClose {
                break;
            }
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "response body cut short",
            ));
        }
        let part = &connection.buffer[..read];
        let used = body.take(part)?;
        stray |= used < read;
        client.write_all(&part[..used]).await?;
        // Before the next wait on the endpoint: a TLS stream may still hold records it could
        // not write when the socket was full (a no-op on plain TCP).
        client.flush().await?;
    }
    client.flush().await?;
    Ok(!stray && body.framing() != Framing::UntilClose)
}
