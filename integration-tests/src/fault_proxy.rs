//! A fault-injecting proxy between a client and a real service.
//!
//! [`FaultProxy::tcp`] copies bytes both ways (for PostgreSQL); [`FaultProxy::http`] reads
//! HTTP/1.1 requests one by one (for S3, DynamoDB and OpenSearch), so it can also answer a
//! chosen fraction of them with an error instead of forwarding them. Both can add latency,
//! reset every connection, or black-hole traffic, on command from the test.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use integration_tests::fault_proxy::{FaultProxy, HttpFault};
//! let proxy = FaultProxy::http("127.0.0.1:9200").await?;
//! proxy.set_http_fault(Some(HttpFault::new(503, 0.3).retry_after(1)));
//! // point the client at proxy.url() ...
//! # Ok(()) }
//! ```

mod http;
mod tcp;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// An HTTP error to answer a fraction of requests with.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpFault {
    /// The status to answer with (429, 503, 500...).
    pub status: u16,
    /// The fraction of requests answered so, from 0.0 to 1.0; spread evenly, not at random.
    pub fraction: f64,
    /// A `Retry-After` header, in seconds.
    pub retry_after: Option<u32>,
    /// The body and its content type; a small JSON error by default.
    pub body: Option<(String, String)>,
}

impl HttpFault {
    /// Answers `fraction` of requests with `status`.
    pub fn new(status: u16, fraction: f64) -> Self {
        Self {
            status,
            fraction: fraction.clamp(0.0, 1.0),
            retry_after: None,
            body: None,
        }
    }

    /// Adds a `Retry-After` header.
    pub fn retry_after(mut self, seconds: u32) -> Self {
        self.retry_after = Some(seconds);
        self
    }

    /// Sets the body and its content type (for example an S3 XML error or a DynamoDB JSON one).
    pub fn body(mut self, content_type: impl Into<String>, body: impl Into<String>) -> Self {
        self.body = Some((content_type.into(), body.into()));
        self
    }
}

/// Counters of what the proxy saw and did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProxyStats {
    /// Client connections accepted.
    pub connections: u64,
    /// HTTP requests read (HTTP mode only).
    pub requests: u64,
    /// HTTP requests answered with the injected error.
    pub injected: u64,
}

/// Shared state the connection tasks consult.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    latency_ms: AtomicU64,
    blackhole: AtomicBool,
    reset_new: AtomicBool,
    http: Mutex<Option<HttpFault>>,
    connections: AtomicU64,
    requests: AtomicU64,
    injected: AtomicU64,
}

impl Faults {
    pub(crate) fn latency(&self) -> Duration {
        Duration::from_millis(self.latency_ms.load(Ordering::Relaxed))
    }

    pub(crate) fn blackholed(&self) -> bool {
        self.blackhole.load(Ordering::Relaxed)
    }

    /// Decides whether the next request gets the injected error: with `n` requests seen so
    /// far, the request is answered when `floor((n+1)·f) > floor(n·f)`, which spreads exactly
    /// `f` of any run of requests evenly.
    pub(crate) fn next_request_fault(&self) -> Option<HttpFault> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let fault = self.http.lock().ok()?.clone()?;
        let before = (n as f64 * fault.fraction).floor();
        let after = ((n + 1) as f64 * fault.fraction).floor();
        if after > before {
            self.injected.fetch_add(1, Ordering::Relaxed);
            Some(fault)
        } else {
            None
        }
    }
}

/// A running proxy; it stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    reset: watch::Sender<u64>,
    accept: JoinHandle<()>,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .finish()
    }
}

#[derive(Clone, Copy)]
enum Mode {
    Tcp,
    Http,
}

impl FaultProxy {
    /// A byte-level proxy to `upstream` (`host:port`), listening on a free loopback port.
    pub async fn tcp(upstream: &str) -> std::io::Result<Self> {
        Self::start(upstream, Mode::Tcp).await
    }

    /// An HTTP/1.1-aware proxy to `upstream` (`host:port` or an `http://` URL).
    pub async fn http(upstream: &str) -> std::io::Result<Self> {
        Self::start(upstream, Mode::Http).await
    }

    async fn start(upstream: &str, mode: Mode) -> std::io::Result<Self> {
        let upstream = upstream
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        let (reset, reset_rx) = watch::channel(0u64);
        let accept = tokio::spawn(accept_loop(
            listener,
            upstream,
            mode,
            faults.clone(),
            reset_rx,
        ));
        Ok(Self {
            addr,
            faults,
            reset,
            accept,
        })
    }

    /// The proxy's listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`, for HTTP clients.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Delays every forwarded request (HTTP) or chunk (TCP) from client to server.
    pub fn set_latency(&self, latency: Duration) {
        self.faults
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::Relaxed);
    }

    /// Stops (or resumes) forwarding anything, while keeping connections open.
    pub fn set_blackhole(&self, on: bool) {
        self.faults.blackhole.store(on, Ordering::Relaxed);
    }

    /// Resets (TCP RST) every open connection now.
    pub fn reset_connections(&self) {
        self.reset.send_modify(|epoch| *epoch += 1);
    }

    /// Resets every new connection as soon as it is accepted (or stops doing so).
    pub fn set_reset_new_connections(&self, on: bool) {
        self.faults.reset_new.store(on, Ordering::Relaxed);
    }

    /// Answers a fraction of HTTP requests with an error (HTTP mode), or stops doing so.
    pub fn set_http_fault(&self, fault: Option<HttpFault>) {
        if let Ok(mut slot) = self.faults.http.lock() {
            *slot = fault;
        }
    }

    /// Removes every fault.
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        self.set_blackhole(false);
        self.set_reset_new_connections(false);
        self.set_http_fault(None);
    }

    /// What the proxy has seen and done so far.
    pub fn stats(&self) -> ProxyStats {
        ProxyStats {
            connections: self.faults.connections.load(Ordering::Relaxed),
            requests: self.faults.requests.load(Ordering::Relaxed),
            injected: self.faults.injected.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.reset_connections();
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: String,
    mode: Mode,
    faults: Arc<Faults>,
    reset: watch::Receiver<u64>,
) {
    while let Ok((client, _)) = listener.accept().await {
        faults.connections.fetch_add(1, Ordering::Relaxed);
        let _ = client.set_nodelay(true);
        if faults.reset_new.load(Ordering::Relaxed) {
            abort(client);
            continue;
        }
        let upstream = upstream.clone();
        let faults = faults.clone();
        let mut reset = reset.clone();
        reset.mark_unchanged();
        tokio::spawn(async move {
            let mut client = client;
            let was_reset = {
                let work = async {
                    match mode {
                        Mode::Tcp => tcp::serve(&mut client, &upstream, &faults).await,
                        Mode::Http => http::serve(&mut client, &upstream, &faults).await,
                    }
                };
                tokio::select! {
                    _ = work => false,
                    _ = reset.changed() => true,
                }
            };
            if was_reset {
                abort(client);
            }
        });
    }
}

/// Closes a connection with a TCP reset.
fn abort(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

/// Waits while the proxy is black-holed.
pub(crate) async fn wait_while_blackholed(faults: &Faults) {
    while faults.blackholed() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
