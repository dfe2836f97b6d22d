//! [`Tx`]: the shared handle on the open transaction that
//! [`SqlStoreExt::transaction`](super::SqlStoreExt::transaction) hands to its work.

use std::sync::Arc;

use tokio::sync::Mutex;

use super::SqlTransaction;
use crate::error::{Result, StoreError};
use crate::value::{Document, Value};

/// A handle on the transaction that [`SqlStoreExt::transaction`](super::SqlStoreExt::transaction)
/// runs the work in. It is owned and cheap to clone, so the work is a plain
/// `|tx| async move { … }` closure; statements through any clone run in order in the one
/// transaction. Once the transaction has committed or rolled back, the handle refuses further
/// statements with `InvalidInput`.
#[derive(Clone)]
pub struct Tx {
    inner: Arc<Mutex<Option<Box<dyn SqlTransaction>>>>,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").finish_non_exhaustive()
    }
}

impl Tx {
    pub(super) fn new(tx: Box<dyn SqlTransaction>) -> Self {
        Self {
            inner: Arc::new(Mutex::new(Some(tx))),
        }
    }

    /// Takes the transaction back to commit or roll it back; clones left behind are closed.
    pub(super) async fn take(&self) -> Option<Box<dyn SqlTransaction>> {
        self.inner.lock().await.take()
    }

    /// Runs a statement inside the transaction; returns the rows it affected.
    pub async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        match self.inner.lock().await.as_mut() {
            Some(tx) => tx.execute(sql, params).await,
            None => Err(ended()),
        }
    }

    /// Runs a query inside the transaction and collects its rows.
    pub async fn query(&self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        match self.inner.lock().await.as_mut() {
            Some(tx) => tx.query(sql, params).await,
            None => Err(ended()),
        }
    }

    /// Exactly one row; none is `NotFound`, several are `InvalidInput`.
    pub async fn query_one(&self, sql: &str, params: &[Value]) -> Result<Document> {
        let mut rows = self.query(sql, params).await?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            0 => Err(StoreError::not_found("the query returned no row")),
            _ => Err(StoreError::invalid_input(
                "the query returned more than one row where one was expected",
            )),
        }
    }
}

fn ended() -> StoreError {
    StoreError::invalid_input(
        "the transaction has already committed or rolled back; use the handle only inside \
         the transaction's work",
    )
}
