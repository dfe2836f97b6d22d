//! HTTP/1.1-aware forwarding: request by request, so some can be answered with an error.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::{Faults, HttpFault, wait_while_blackholed};

/// The largest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;

/// How a message body is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    None,
    Length(u64),
    Chunked,
    UntilClose,
}

/// What the proxy needs to know of a request or response head.
#[derive(Debug)]
struct Head {
    raw: Vec<u8>,
    first_line: String,
    body: Body,
    close: bool,
    expect_continue: bool,
}

impl Head {
    fn method(&self) -> &str {
        self.first_line.split(' ').next().unwrap_or("")
    }

    fn status(&self) -> u16 {
        self.first_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }
}

/// Serves one client connection request by request.
pub(super) async fn serve(
    client: &mut TcpStream,
    upstream: &str,
    faults: &Faults,
) -> io::Result<()> {
    let (client_read, mut client_write) = client.split();
    let mut client_read = BufReader::new(client_read);
    let mut server: Option<(BufReader<OwnedReadHalf>, OwnedWriteHalf)> = None;
    loop {
        let Some(request) = read_head(&mut client_read, true).await? else {
            return Ok(());
        };
        wait_while_blackholed(faults).await;
        if let Some(fault) = faults.next_request_fault() {
            if request.expect_continue {
                write_fault(&mut client_write, &fault, true).await?;
                return Ok(());
            }
            copy_body(&mut client_read, &mut tokio::io::sink(), request.body).await?;
            write_fault(&mut client_write, &fault, request.close).await?;
            if request.close {
                return Ok(());
            }
            continue;
        }
        let latency = faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if request.expect_continue {
            client_write
                .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                .await?;
        }
        if server.is_none() {
            let stream = TcpStream::connect(upstream).await?;
            stream.set_nodelay(true)?;
            let (r, w) = stream.into_split();
            server = Some((BufReader::new(r), w));
        }
        let Some((server_read, server_write)) = server.as_mut() else {
            return Ok(());
        };
        server_write
            .write_all(&without_expect(&request.raw))
            .await?;
        copy_body(&mut client_read, server_write, request.body).await?;
        server_write.flush().await?;

        let response = loop {
            let head = read_head(server_read, false)
                .await?
                .ok_or_else(|| io::Error::new(io::ErrorKind::UnexpectedEof, "server closed"))?;
            if (100..200).contains(&head.status()) && head.status() != 101 {
                continue;
            }
            break head;
        };
        client_write.write_all(&response.raw).await?;
        let body = if request.method() == "HEAD" || matches!(response.status(), 204 | 304) {
            Body::None
        } else {
            response.body
        };
        copy_body(server_read, &mut client_write, body).await?;
        client_write.flush().await?;
        if request.close || response.close || body == Body::UntilClose {
            return Ok(());
        }
    }
}

/// Reads a message head; `None` on a clean end of stream before any byte.
async fn read_head<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    is_request: bool,
) -> io::Result<Option<Head>> {
    let mut raw = Vec::with_capacity(1024);
    loop {
        let before = raw.len();
        let n = reader.read_until(b'\n', &mut raw).await?;
        if n == 0 {
            return if raw.is_empty() {
                Ok(None)
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated head",
                ))
            };
        }
        if raw.len() > MAX_HEAD {
            return Err(io::Error::new(io::ErrorKind::InvalidData, "head too large"));
        }
        let line = &raw[before..];
        if line == b"\r\n" || line == b"\n" {
            if before == 0 {
                raw.clear();
                continue;
            }
            break;
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let mut lines = text.lines();
    let first_line = lines.next().unwrap_or("").to_owned();
    let (mut length, mut chunked, mut close, mut expect_continue) = (None, false, false, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim().to_ascii_lowercase();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.parse::<u64>().ok(),
            "transfer-encoding" => chunked = value.contains("chunked"),
            "connection" => close = value.contains("close"),
            "expect" => expect_continue = value == "100-continue",
            _ => {}
        }
    }
    let body = match (chunked, length) {
        (true, _) => Body::Chunked,
        (false, Some(0)) => Body::None,
        (false, Some(n)) => Body::Length(n),
        (false, None) if is_request => Body::None,
        (false, None) => Body::UntilClose,
    };
    Ok(Some(Head {
        raw,
        first_line,
        body,
        close,
        expect_continue,
    }))
}

/// The head with any `Expect` header removed (the proxy answers `100 Continue` itself).
fn without_expect(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if !line.to_ascii_lowercase().starts_with("expect:") {
            out.push_str(line);
        }
    }
    out.into_bytes()
}

/// Copies one body, framed as given, from `from` to `to`.
async fn copy_body<R, W>(from: &mut BufReader<R>, to: &mut W, body: Body) -> io::Result<()>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    match body {
        Body::None => Ok(()),
        Body::Length(n) => {
            let copied = tokio::io::copy(&mut from.take(n), to).await?;
            if copied == n {
                Ok(())
            } else {
                Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "truncated body",
                ))
            }
        }
        Body::UntilClose => tokio::io::copy(from, to).await.map(drop),
        Body::Chunked => loop {
            let mut line = Vec::new();
            from.read_until(b'\n', &mut line).await?;
            to.write_all(&line).await?;
            let size_text = String::from_utf8_lossy(&line);
            let size_hex = size_text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size_hex, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                loop {
                    let mut trailer = Vec::new();
                    from.read_until(b'\n', &mut trailer).await?;
                    to.write_all(&trailer).await?;
                    if trailer == b"\r\n" || trailer == b"\n" || trailer.is_empty() {
                        return Ok(());
                    }
                }
            }
            tokio::io::copy(&mut (&mut *from).take(size + 2), to).await?;
        },
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Injected Fault",
    }
}

async fn write_fault<W: AsyncWrite + Unpin>(
    to: &mut W,
    fault: &HttpFault,
    close: bool,
) -> io::Result<()> {
    let (content_type, body) = fault.body.clone().unwrap_or_else(|| {
        (
            "application/json".to_owned(),
            format!(
                r#"{{"error":{{"type":"injected_fault","reason":"injected by the fault proxy"}},"status":{}}}"#,
                fault.status
            ),
        )
    });
    let mut head = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n",
        fault.status,
        reason(fault.status),
        body.len()
    );
    if let Some(seconds) = fault.retry_after {
        head.push_str(&format!("Retry-After: {seconds}\r\n"));
    }
    head.push_str(if close {
        "Connection: close\r\n\r\n"
    } else {
        "\r\n"
    });
    to.write_all(head.as_bytes()).await?;
    to.write_all(body.as_bytes()).await?;
    to.flush().await
}
