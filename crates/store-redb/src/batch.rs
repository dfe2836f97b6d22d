//! Batch reads (one snapshot) and batch writes (one durable write transaction).

use std::collections::HashSet;

use store_core::document::validate::{check_batch, check_key, check_projection};
use store_core::document::{BatchWriteReport, GetItemOptions, WriteOp};
use store_core::{DocKey, Document, Result, StoreError};

use crate::codec::encode_key;
use crate::db::Inner;
use crate::error::BACKEND;
use crate::ops::project;

/// The most keys one `batch_get` may read (DynamoDB's limit).
pub const MAX_BATCH_GET_KEYS: usize = 100;

impl Inner {
    pub(crate) fn batch_get(
        &self,
        keys: &[DocKey],
        options: GetItemOptions,
    ) -> Result<Vec<Document>> {
        let mut seen = HashSet::with_capacity(keys.len());
        let distinct: Vec<&DocKey> = keys.iter().filter(|k| seen.insert(*k)).collect();
        if distinct.len() > MAX_BATCH_GET_KEYS {
            return Err(StoreError::invalid_input(format!(
                "a batch get reads at most {MAX_BATCH_GET_KEYS} distinct keys, got {}",
                distinct.len()
            )));
        }
        for key in &distinct {
            check_key(&self.layout.schema, key).map_err(|e| e.with_target(key.to_string()))?;
        }
        check_projection(options.projection.as_ref())?;
        self.read(|r| {
            let mut out = Vec::with_capacity(distinct.len());
            for key in distinct {
                if let Some(doc) = r.get(&encode_key(key))? {
                    out.push(project(doc, options.projection.as_ref()));
                }
            }
            Ok(out)
        })
    }

    /// Writes every valid op in one transaction; invalid ones (and, should the transaction
    /// fail, every op) are in the report.
    pub(crate) fn batch_write(&self, ops: Vec<WriteOp>) -> BatchWriteReport {
        let batch = check_batch(ops, &self.layout.schema, self.layout.index_schemas());
        let mut report = BatchWriteReport {
            written: 0,
            failed: batch
                .refused
                .into_iter()
                .map(|(op, e)| (op, e.in_context(BACKEND, "batch_write")))
                .collect(),
        };
        if batch.valid.is_empty() {
            return report;
        }
        let result = self.write(|w| {
            for (key, op) in &batch.valid {
                let encoded = encode_key(key);
                // Without indexes the replaced item is not needed: skip reading it.
                let old = if w.has_indexes() {
                    w.get(&encoded)?
                } else {
                    None
                };
                match op {
                    WriteOp::Delete(_) if !w.has_indexes() => w.remove(&encoded)?,
                    WriteOp::Put(item) => w.put(&encoded, old.as_ref(), item)?,
                    WriteOp::Delete(_) => {
                        if let Some(old) = &old {
                            w.delete(&encoded, old)?;
                        }
                    }
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => report.written = batch.valid.len(),
            Err(e) => {
                for (_, op) in batch.valid {
                    let err = StoreError::new(e.kind(), e.message().to_owned())
                        .with_retryable(e.is_retryable())
                        .in_context(BACKEND, "batch_write");
                    report.failed.push((op, err));
                }
            }
        }
        report
    }
}
