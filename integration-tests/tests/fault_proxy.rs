//! The fault proxy's own tests, against small local servers (no external service needed).

use std::time::{Duration, Instant};

use integration_tests::fault_proxy::{FaultProxy, HttpFault};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// An HTTP/1.1 server that answers every request with its path and body, keeping connections
/// alive; `/chunked` answers with a chunked body.
async fn echo_http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = stream.into_split();
                let mut r = BufReader::new(r);
                loop {
                    let mut first = String::new();
                    if r.read_line(&mut first).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let path = first.split(' ').nth(1).unwrap_or("/").to_owned();
                    let mut length = 0usize;
                    loop {
                        let mut line = String::new();
                        r.read_line(&mut line).await.unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    r.read_exact(&mut body).await.unwrap();
                    let reply = format!("{path} {}", String::from_utf8_lossy(&body));
                    let out = if path == "/chunked" {
                        format!(
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{reply}\r\n0\r\n\r\n",
                            reply.len()
                        )
                    } else {
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{reply}",
                            reply.len()
                        )
                    };
                    if w.write_all(out.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    addr
}

/// A TCP server that echoes bytes back.
async fn echo_tcp_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (mut r, mut w) = stream.split();
                let _ = tokio::io::copy(&mut r, &mut w).await;
            });
        }
    });
    addr
}

/// A keep-alive HTTP client connection reading `Content-Length` or chunked replies.
struct Client {
    reader: BufReader<tokio::net::tcp::OwnedReadHalf>,
    writer: tokio::net::tcp::OwnedWriteHalf,
}

impl Client {
    async fn connect(addr: &str) -> std::io::Result<Self> {
        let (r, w) = TcpStream::connect(addr).await?.into_split();
        Ok(Self {
            reader: BufReader::new(r),
            writer: w,
        })
    }

    async fn request(&mut self, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.writer.write_all(req.as_bytes()).await?;
        let mut status_line = String::new();
        if self.reader.read_line(&mut status_line).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
        let (mut length, mut chunked) = (0usize, false);
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).await?;
            if line == "\r\n" {
                break;
            }
            let lower = line.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            chunked |= lower.starts_with("transfer-encoding:") && lower.contains("chunked");
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let mut size = String::new();
                self.reader.read_line(&mut size).await?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap();
                let mut chunk = vec![0; n + 2];
                self.reader.read_exact(&mut chunk).await?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        } else {
            body.resize(length, 0);
            self.reader.read_exact(&mut body).await?;
        }
        Ok((status, String::from_utf8(body).unwrap()))
    }
}

#[tokio::test]
async fn forwards_keep_alive_requests_and_chunked_replies() {
    let proxy = FaultProxy::http(&echo_http_server().await).await.unwrap();
    let mut client = Client::connect(&proxy.addr().to_string()).await.unwrap();
    for i in 0..20 {
        let (status, body) = client.request(&format!("/r{i}"), "payload").await.unwrap();
        assert_eq!((status, body), (200, format!("/r{i} payload")));
    }
    let (status, body) = client.request("/chunked", "x").await.unwrap();
    assert_eq!((status, body.as_str()), (200, "/chunked x"));
    assert_eq!(proxy.stats().connections, 1, "one keep-alive connection");
    assert_eq!(proxy.stats().requests, 21);
}

#[tokio::test]
async fn added_latency_is_measurable() {
    let proxy = FaultProxy::http(&echo_http_server().await).await.unwrap();
    let mut client = Client::connect(&proxy.addr().to_string()).await.unwrap();
    let started = Instant::now();
    for _ in 0..5 {
        client.request("/", "").await.unwrap();
    }
    let baseline = started.elapsed();
    proxy.set_latency(Duration::from_millis(100));
    let started = Instant::now();
    for _ in 0..5 {
        client.request("/", "").await.unwrap();
    }
    let delayed = started.elapsed();
    assert!(
        delayed >= Duration::from_millis(500),
        "5 requests with 100 ms each took {delayed:?}"
    );
    assert!(
        delayed >= baseline + Duration::from_millis(450),
        "baseline {baseline:?}, delayed {delayed:?}"
    );
}

#[tokio::test]
async fn injected_error_fraction_is_close_to_the_one_asked() {
    let proxy = FaultProxy::http(&echo_http_server().await).await.unwrap();
    proxy.set_http_fault(Some(HttpFault::new(503, 0.25).retry_after(2)));
    let mut client = Client::connect(&proxy.addr().to_string()).await.unwrap();
    let mut unavailable = 0;
    for _ in 0..400 {
        let (status, _) = client
            .request("/", "body that must be drained")
            .await
            .unwrap();
        match status {
            503 => unavailable += 1,
            200 => {}
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        (90..=110).contains(&unavailable),
        "{unavailable} of 400 were 503, expected about 100"
    );
    assert_eq!(proxy.stats().injected, unavailable);
    proxy.clear();
    assert_eq!(client.request("/after", "").await.unwrap().0, 200);
}

#[tokio::test]
async fn injected_429_carries_retry_after() {
    let proxy = FaultProxy::http(&echo_http_server().await).await.unwrap();
    proxy.set_http_fault(Some(HttpFault::new(429, 1.0).retry_after(7)));
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut reply = String::new();
    stream.read_to_string(&mut reply).await.unwrap();
    assert!(
        reply.starts_with("HTTP/1.1 429 Too Many Requests\r\n"),
        "{reply}"
    );
    assert!(reply.contains("Retry-After: 7\r\n"), "{reply}");
}

#[tokio::test]
async fn reset_of_new_connections_gives_a_connection_error() {
    let proxy = FaultProxy::tcp(&echo_tcp_server().await).await.unwrap();
    proxy.set_reset_new_connections(true);
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    let _ = stream.write_all(b"ping").await;
    let mut buf = [0u8; 4];
    let outcome = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("a reset connection must fail fast, not hang");
    match outcome {
        Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        Ok(n) => panic!("read {n} bytes from a connection that should have been reset"),
    }
}

#[tokio::test]
async fn reset_of_open_connections_breaks_them_and_new_ones_work() {
    let proxy = FaultProxy::tcp(&echo_tcp_server().await).await.unwrap();
    let mut stream = TcpStream::connect(proxy.addr()).await.unwrap();
    stream.write_all(b"ping").await.unwrap();
    let mut buf = [0u8; 4];
    stream.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"ping");
    proxy.reset_connections();
    let outcome = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
        .await
        .expect("must not hang");
    assert!(
        matches!(outcome, Err(ref e) if e.kind() == std::io::ErrorKind::ConnectionReset),
        "{outcome:?}"
    );
    let mut fresh = TcpStream::connect(proxy.addr()).await.unwrap();
    fresh.write_all(b"pong").await.unwrap();
    fresh.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"pong");
}

#[tokio::test]
async fn blackhole_stalls_traffic_until_lifted() {
    let proxy = FaultProxy::http(&echo_http_server().await).await.unwrap();
    proxy.set_blackhole(true);
    let mut client = Client::connect(&proxy.addr().to_string()).await.unwrap();
    let stalled = tokio::time::timeout(Duration::from_millis(300), client.request("/", "")).await;
    assert!(
        stalled.is_err(),
        "a black-holed request must not be answered"
    );
    proxy.set_blackhole(false);
    let mut fresh = Client::connect(&proxy.addr().to_string()).await.unwrap();
    let answered = tokio::time::timeout(Duration::from_secs(5), fresh.request("/back", ""))
        .await
        .expect("traffic must flow again")
        .unwrap();
    assert_eq!(answered, (200, "/back ".to_owned()));
}
