//! All-or-nothing transactions for [`MemoryDocumentStore`].

use super::MemoryDocumentStore;
use crate::document::eval::eval_condition;
use crate::document::{CancellationReason, TransactAction};
use crate::error::{Result, StoreError};
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
        let reasons: Vec<CancellationReason> = actions
            .iter()
            .zip(&keys)
            .enumerate()
            .map(|(index, (action, key))| {
                let condition = match action {
                    TransactAction::Put { condition, .. }
                    | TransactAction::Update { condition, .. }
                    | TransactAction::Delete { condition, .. } => condition.as_ref(),
                    TransactAction::ConditionCheck { condition, .. } => Some(condition),
                };
                let holds = condition.is_none_or(|c| eval_condition(c, items.get(key)));
                CancellationReason {
                    index,
                    code: if holds {
                        "None"
                    } else {
                        "ConditionalCheckFailed"
                    }
                    .to_owned(),
                    message: (!holds).then(|| "The conditional request failed".to_owned()),
                }
            })
            .collect();
        let failed = reasons.iter().filter(|r| !r.is_ok()).count();
        if failed > 0 {
            return Err(StoreError::precondition_failed(format!(
                "the transaction was cancelled: {failed} of {} conditions did not hold; \
                 nothing was written",
                actions.len()
            ))
            .with_retryable(false)
            .with_cancellation_reasons(reasons));
        }

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
