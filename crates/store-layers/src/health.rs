//! [`Health`] through a layer: a health check is a call like any other (so a breaker or a
//! fault layer sees it too).

use async_trait::async_trait;
use store_core::{Health, HealthReport, Result};

use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};

#[async_trait]
impl<S: Health + Send + Sync, L: Layer + 'static> Health for Layered<S, L> {
    async fn health(&self) -> Result<HealthReport> {
        // The kind is not known from `Health` alone; health checks are reads of the backend.
        let meta = OpMeta::new(StoreKind::Object, "", "health", Access::Admin).idempotent(true);
        through(&self.layer, &meta, || self.inner.health()).await
    }
}
