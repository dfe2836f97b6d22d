//! All-or-nothing transactions: every condition evaluated, every new state computed and every
//! write applied in one redb write transaction, which commits only if all succeed.

use store_core::document::eval::check_transaction_conditions;
use store_core::document::validate::{check_key, check_transaction};
use store_core::document::{MAX_TRANSACTION_ACTIONS, TransactAction};
use store_core::{DocKey, Document, Result, StoreError};

use crate::codec::encode_key;
use crate::db::Inner;

impl Inner {
    pub(crate) fn transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        let keys = check_transaction(&actions, &self.layout.schema, self.layout.index_schemas())?;
        let encoded: Vec<Vec<u8>> = keys.iter().map(encode_key).collect();
        self.write(|w| {
            let olds: Vec<Option<Document>> =
                encoded.iter().map(|k| w.get(k)).collect::<Result<_>>()?;
            check_transaction_conditions(&actions, |i| olds[i].as_ref())?;
            // Compute every new state before writing, so that a failing update stops the
            // transaction before it changed anything (the abort would undo it anyway).
            let mut writes: Vec<(usize, Option<Document>)> = Vec::with_capacity(actions.len());
            for (i, (action, key)) in actions.iter().zip(&keys).enumerate() {
                match action {
                    TransactAction::Put { item, .. } => writes.push((i, Some(item.clone()))),
                    TransactAction::Update { update, .. } => {
                        let new = self
                            .updated(key, olds[i].as_ref(), update)
                            .map_err(|e| e.with_target(key.to_string()))?;
                        writes.push((i, Some(new)));
                    }
                    TransactAction::Delete { .. } => writes.push((i, None)),
                    TransactAction::ConditionCheck { .. } => {}
                }
            }
            for (i, new) in writes {
                match (new, &olds[i]) {
                    (Some(item), old) => w.put(&encoded[i], old.as_ref(), &item)?,
                    (None, Some(old)) => w.delete(&encoded[i], old)?,
                    (None, None) => {}
                }
            }
            Ok(())
        })
    }

    pub(crate) fn transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        if keys.len() > MAX_TRANSACTION_ACTIONS {
            return Err(StoreError::invalid_input(format!(
                "a transaction reads at most {MAX_TRANSACTION_ACTIONS} items, got {}",
                keys.len()
            )));
        }
        for key in keys {
            check_key(&self.layout.schema, key).map_err(|e| e.with_target(key.to_string()))?;
        }
        self.read(|r| keys.iter().map(|key| r.get(&encode_key(key))).collect())
    }
}
