//! Harness for running the `stores` suites against real servers.
//!
//! - [`services`]: where each service is. An endpoint comes from its environment variable
//!   first (or the env file `just services-up` writes), else from a testcontainers container
//!   where a Docker engine answers, else the test fails naming the command that starts it.
//! - [`names`]: unique bucket, table, index and schema names, so tests run in parallel.
//! - [`fault_proxy`]: a TCP/HTTP proxy that adds latency, resets or black-holes connections,
//!   or answers a fraction of HTTP requests with 429/503, to prove retries and recovery.

pub mod clients;
#[cfg(feature = "docker")]
mod docker;
pub mod fault_proxy;
pub mod hostile;
pub mod names;
pub mod services;
pub mod trace_capture;
