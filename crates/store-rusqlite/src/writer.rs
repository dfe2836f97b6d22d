//! The writer: one connection owned by a dedicated thread that runs jobs in the order they
//! arrive, and an async lock that one caller (a statement, a transaction, a query stream, a
//! bulk load) holds while its jobs run.
//!
//! Jobs are closures on the connection, so the runtime never blocks on SQLite. A transaction
//! holds the lock from `BEGIN` to `COMMIT`; dropping it queues a `ROLLBACK` before the lock
//! is released, so the next holder's jobs run after it.

use std::panic::AssertUnwindSafe;
use std::sync::{Arc, mpsc};
use std::time::Duration;

use rusqlite::Connection;
use store_core::{Result, StoreError};
use tokio::sync::{Mutex, OwnedMutexGuard, oneshot};

use crate::error::BACKEND;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// The writer connection's thread and the lock on it.
pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
    lock: Arc<Mutex<()>>,
    wait: Duration,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("wait", &self.wait)
            .finish_non_exhaustive()
    }
}

impl Writer {
    /// Starts the thread, which opens the connection with `open`; fails as `open` does.
    /// Callers wait at most `wait` for the lock.
    pub(crate) async fn start(
        open: impl FnOnce() -> Result<Connection> + Send + 'static,
        wait: Duration,
    ) -> Result<Arc<Self>> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let (ready, opened) = oneshot::channel();
        std::thread::Builder::new()
            .name("store-rusqlite-writer".into())
            .spawn(move || {
                let mut conn = match open() {
                    Ok(conn) => {
                        let _ = ready.send(Ok(()));
                        conn
                    }
                    Err(e) => {
                        let _ = ready.send(Err(e));
                        return;
                    }
                };
                while let Ok(job) = queue.recv() {
                    // A panicking job loses only its own reply; the connection stays in use.
                    let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut conn)));
                }
            })
            .map_err(|e| {
                StoreError::unavailable(format!("starting the writer thread: {e}"))
                    .with_source(e)
                    .in_context(BACKEND, "open")
            })?;
        opened
            .await
            .map_err(|_| StoreError::internal("the writer thread ended while opening"))??;
        Ok(Arc::new(Self {
            jobs,
            lock: Arc::new(Mutex::new(())),
            wait,
        }))
    }

    /// Takes the writer for one caller, waiting at most the busy timeout.
    pub(crate) async fn acquire(self: &Arc<Self>, operation: &'static str) -> Result<WriterGuard> {
        match tokio::time::timeout(self.wait, self.lock.clone().lock_owned()).await {
            Ok(lock) => Ok(WriterGuard {
                writer: self.clone(),
                _lock: lock,
            }),
            Err(_) => Err(StoreError::conflict(format!(
                "the writer connection stayed busy for over {:?}: a transaction, query stream or \
                 bulk load of this store holds it; finish that first, or try again",
                self.wait
            ))
            .in_context(BACKEND, operation)),
        }
    }

    fn submit(&self, job: Job) -> Result<()> {
        self.jobs
            .send(job)
            .map_err(|_| StoreError::internal("the writer thread has stopped"))
    }
}

/// The writer, held by one caller until dropped.
pub(crate) struct WriterGuard {
    writer: Arc<Writer>,
    _lock: OwnedMutexGuard<()>,
}

impl WriterGuard {
    /// Runs `job` on the writer connection and returns its result.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.writer.submit(Box::new(move |conn| {
            let _ = reply.send(job(conn));
        }))?;
        answer
            .await
            .map_err(|_| StoreError::internal("a job on the writer connection panicked"))?
    }

    /// Queues `job` without waiting for it; jobs queued later run after it.
    pub(crate) fn spawn(&self, job: impl FnOnce(&mut Connection) + Send + 'static) -> Result<()> {
        self.writer.submit(Box::new(job))
    }
}
