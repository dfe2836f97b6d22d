//! Byte-level forwarding with latency and black-holing.

use std::io;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{Faults, wait_while_blackholed};

/// Copies bytes both ways until either side closes.
pub(super) async fn serve(
    client: &mut TcpStream,
    upstream: &str,
    faults: &Faults,
) -> io::Result<()> {
    let mut server = TcpStream::connect(upstream).await?;
    server.set_nodelay(true)?;
    let (mut client_read, mut client_write) = client.split();
    let (mut server_read, mut server_write) = server.split();
    let to_server = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = client_read.read(&mut buf).await?;
            if n == 0 {
                return server_write.shutdown().await;
            }
            wait_while_blackholed(faults).await;
            let latency = faults.latency();
            if !latency.is_zero() {
                tokio::time::sleep(latency).await;
            }
            server_write.write_all(&buf[..n]).await?;
        }
    };
    let to_client = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = server_read.read(&mut buf).await?;
            if n == 0 {
                return client_write.shutdown().await;
            }
            wait_while_blackholed(faults).await;
            client_write.write_all(&buf[..n]).await?;
        }
    };
    tokio::try_join!(to_server, to_client).map(drop)
}
