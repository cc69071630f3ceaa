//! WebSocket tunnels: after an endpoint's `101`, bytes flow both ways unchanged until both
//! sides have closed or nothing has moved for the upgrade idle timeout.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::shared::upstream::connection::UpstreamConnection;
use crate::shared::upstream::deadline::Deadline;

/// Writes `client_head` (the `101` head and the endpoint's first bytes) and `early` (bytes the
/// client sent after its request head) to their sides, then copies both ways; a side that
/// ends its stream is half-closed on the other.
///
/// # Errors
/// When either side breaks or the tunnel sits idle for `idle`.
pub(super) async fn tunnel<S: AsyncRead + AsyncWrite + Unpin>(
    client: &mut S,
    client_buffer: &mut [u8],
    early: usize,
    connection: &mut UpstreamConnection,
    client_head: &[u8],
    (deadline, idle): (&mut Deadline, Duration),
) -> io::Result<()> {
    client.write_all(client_head).await?;
    client.flush().await?;
    connection.stream.write_all(&client_buffer[..early]).await?;
    let (mut client_open, mut endpoint_open) = (true, true);
    while client_open || endpoint_open {
        deadline.set(tokio::time::Instant::now() + idle);
        tokio::select! {
            read = client.read(client_buffer), if client_open => match read? {
                0 => {
                    client_open = false;
                    connection.stream.shutdown().await?;
                }
                read => connection.stream.write_all(&client_buffer[..read]).await?,
            },
            read = connection.stream.read(&mut connection.buffer), if endpoint_open => match read? {
                0 => {
                    endpoint_open = false;
                    client.shutdown().await?;
                }
                read => {
                    client.write_all(&connection.buffer[..read]).await?;
                    client.flush().await?;
                }
            },
            () = deadline.passed() => {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "tunnel idle"));
            }
        }
    }
    Ok(())
}
