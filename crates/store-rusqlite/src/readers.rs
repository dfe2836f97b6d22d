//! The reader pool: up to N connections, opened on first use, each lent to one blocking task
//! at a time. Under write-ahead logging they read committed data while the writer writes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::Connection;
use store_core::{Result, StoreError};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::conn::{OpenSpec, open_reader};
use crate::error::BACKEND;

/// Reader connections.
pub(crate) struct Readers {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    spec: OpenSpec,
    size: usize,
}

impl std::fmt::Debug for Readers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readers")
            .field("size", &self.size)
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl Readers {
    /// A pool of `size` readers (at least one).
    pub(crate) fn new(spec: OpenSpec, size: usize) -> Arc<Self> {
        Arc::new(Self {
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
            spec,
            size,
        })
    }

    /// Lends a reader, waiting at most the busy timeout for one to be free.
    pub(crate) async fn lease(self: &Arc<Self>, operation: &'static str) -> Result<Lease> {
        let wait: Duration = self.spec.busy_timeout;
        let permit = match tokio::time::timeout(wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(StoreError::internal("the reader pool is closed")),
            Err(_) => {
                return Err(StoreError::unavailable(format!(
                    "all {} reader connections stayed busy for over {wait:?} (open query \
                     streams hold them); finish or drop streams, or raise readers",
                    self.size
                ))
                .in_context(BACKEND, operation));
            }
        };
        let conn = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        Ok(Lease {
            conn,
            readers: self.clone(),
            _permit: permit,
        })
    }
}

/// A reader lent to one caller; it goes back to the pool when dropped (out of any
/// transaction a statement left open).
pub(crate) struct Lease {
    conn: Option<Connection>,
    readers: Arc<Readers>,
    _permit: OwnedSemaphorePermit,
}

impl Lease {
    /// The connection, opened now if the pool had none idle. Blocking: call it off the
    /// runtime.
    pub(crate) fn conn(&mut self) -> Result<&mut Connection> {
        if self.conn.is_none() {
            self.conn = Some(open_reader(&self.readers.spec)?);
        }
        self.conn
            .as_mut()
            .ok_or_else(|| StoreError::internal("the reader connection vanished"))
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        // A `BEGIN` run through `query` would leave the reader on an old snapshot.
        if !conn.is_autocommit() && conn.execute_batch("ROLLBACK").is_err() {
            return;
        }
        self.readers
            .idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }
}
