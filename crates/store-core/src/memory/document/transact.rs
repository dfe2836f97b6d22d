//! All-or-nothing transactions for [`MemoryDocumentStore`].

use super::MemoryDocumentStore;
use crate::document::TransactAction;
use crate::document::eval::check_transaction_conditions;
use crate::error::Result;
use crate::keys::DocKey;
use crate::value::Document;

impl MemoryDocumentStore {
    pub(super) fn run_transaction(&self, actions: Vec<TransactAction>) -> Result<()> {
        let keys = crate::document::validate::check_transaction(
            &actions,
            &self.schema,
            self.indexes.values(),
        )?;

        let mut items = self.write();
        check_transaction_conditions(&actions, |i| items.get(&keys[i]))?;

        // Compute every new state first, so a failing update leaves everything untouched.
        let mut writes: Vec<(DocKey, Option<Document>)> = Vec::with_capacity(actions.len());
        for (action, key) in actions.into_iter().zip(keys) {
            match action {
                TransactAction::Put { item, .. } => writes.push((key, Some(item))),
                TransactAction::Update { update, .. } => {
                    let new = self
                        .updated(&key, items.get(&key), &update)
                        .map_err(|e| e.with_target(key.to_string()))?;
                    writes.push((key, Some(new)));
                }
                TransactAction::Delete { .. } => writes.push((key, None)),
                TransactAction::ConditionCheck { .. } => {}
            }
        }
        for (key, new) in writes {
            match new {
                Some(item) => items.insert(key, item),
                None => items.remove(&key),
            };
        }
        Ok(())
    }
}
