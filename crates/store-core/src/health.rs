//! [`Health`]: a ping with latency that every backend answers.

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;

/// The result of a successful health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthReport {
    /// The backend that answered (`"s3"`, `"memory"`, ...).
    pub backend: &'static str,
    /// How long the round trip took.
    pub latency: Duration,
    /// Backend-specific detail, such as a server version.
    pub detail: Option<String>,
}

/// A cheap check that the backend answers.
#[async_trait]
pub trait Health: Send + Sync {
    /// Pings the backend; an unreachable backend is `Unavailable`.
    async fn health(&self) -> Result<HealthReport>;
}
