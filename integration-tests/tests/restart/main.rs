//! Servers killed and started again in the middle of work (`services/<name>.sh restart`, their
//! data directories kept): PostgreSQL during a 1,000,000-row COPY and under 16 busy workers,
//! OpenSearch during a 100,000-document bulk. Each checks exact counts and checksums after.
//!
//! A binary of its own, so no other test's server disappears under it (cargo runs test
//! binaries one at a time); its tests take turns through [`serial`].

mod opensearch;
mod postgres;

use tokio::sync::{Mutex, MutexGuard};

/// One restart at a time within this binary.
pub(crate) async fn serial() -> MutexGuard<'static, ()> {
    static TURN: Mutex<()> = Mutex::const_new(());
    TURN.lock().await
}
