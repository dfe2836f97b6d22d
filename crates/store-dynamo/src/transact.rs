//! Transactions: `TransactWriteItems` with a reason per cancelled action, and
//! `TransactGetItems`.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    ConditionCheck, Delete, Get, Put, TransactGetItem, TransactWriteItem, Update as SdkUpdate,
};
use store_core::document::validate::{self};
use store_core::document::{MAX_TRANSACTION_ACTIONS, TransactAction};
use store_core::{DocKey, Document, Result, StoreError};

use crate::convert::{from_item, key_item, to_item};
use crate::error::{cancellation_reasons, map_sdk_error, transaction_cancelled};
use crate::expr::ExpressionBuilder;

use crate::store::*;

impl DynamoStore {
    pub(crate) fn transact_item(&self, action: &TransactAction) -> Result<TransactWriteItem> {
        let mut b = ExpressionBuilder::new();
        let condition = match action {
            TransactAction::Put { condition, .. }
            | TransactAction::Update { condition, .. }
            | TransactAction::Delete { condition, .. } => {
                condition.as_ref().map(|c| b.condition(c))
            }
            TransactAction::ConditionCheck { condition, .. } => Some(b.condition(condition)),
        };
        let item = match action {
            TransactAction::Put { item, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().put(
                    Put::builder()
                        .table_name(self.table())
                        .set_item(Some(to_item(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::Update { key, update, .. } => {
                if update.is_empty() {
                    return Err(StoreError::invalid_input(
                        "an update in a transaction needs at least one action",
                    )
                    .with_target(key.to_string()));
                }
                let expression = Some(b.update(update));
                let (names, values) = b.finish();
                TransactWriteItem::builder().update(
                    SdkUpdate::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_update_expression(expression)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::Delete { key, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().delete(
                    Delete::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
            TransactAction::ConditionCheck { key, .. } => {
                let (names, values) = b.finish();
                TransactWriteItem::builder().condition_check(
                    ConditionCheck::builder()
                        .table_name(self.table())
                        .set_key(Some(key_item(self.schema(), key)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(names)
                        .set_expression_attribute_values(values)
                        .build()
                        .map_err(build_error)?,
                )
            }
        };
        Ok(item.build())
    }

    pub(crate) async fn run_transact_write(&self, actions: Vec<TransactAction>) -> Result<()> {
        validate::check_transaction(&actions, self.schema(), self.index_schemas())?;
        if actions.is_empty() {
            return Ok(());
        }
        let items = actions
            .iter()
            .map(|a| self.transact_item(a))
            .collect::<Result<Vec<_>>>()?;
        match self
            .inner
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(err) => match err.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(e)) => {
                    let mut reasons = cancellation_reasons(e.cancellation_reasons());
                    if reasons.len() != actions.len() {
                        reasons = fill_reasons(reasons, actions.len());
                    }
                    Err(transaction_cancelled(reasons)
                        .with_target(self.table().to_owned())
                        .with_source(err))
                }
                _ => Err(map_sdk_error(err, "transact_write", self.table())),
            },
        }
    }

    pub(crate) async fn run_transact_get(&self, keys: &[DocKey]) -> Result<Vec<Option<Document>>> {
        if keys.len() > MAX_TRANSACTION_ACTIONS {
            return Err(StoreError::invalid_input(format!(
                "a transaction reads at most {MAX_TRANSACTION_ACTIONS} items, got {}",
                keys.len()
            )));
        }
        for key in keys {
            self.checked_key(key)?;
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let items = keys
            .iter()
            .map(|key| {
                Get::builder()
                    .table_name(self.table())
                    .set_key(Some(key_item(self.schema(), key)))
                    .build()
                    .map(|get| TransactGetItem::builder().get(get).build())
                    .map_err(build_error)
            })
            .collect::<Result<Vec<_>>>()?;
        let out = self
            .inner
            .client
            .transact_get_items()
            .set_transact_items(Some(items))
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "transact_get", self.table()))?;
        let responses = out.responses.unwrap_or_default();
        if responses.len() != keys.len() {
            return Err(StoreError::internal(format!(
                "DynamoDB answered {} of {} transactional reads",
                responses.len(),
                keys.len()
            )));
        }
        responses
            .into_iter()
            .map(|r| non_empty(r.item).map(|i| from_item(&i)).transpose())
            .collect()
    }
}

/// Pads (or trims) the server's reasons to one per action, as the trait promises.
fn fill_reasons(
    mut reasons: Vec<store_core::document::CancellationReason>,
    n: usize,
) -> Vec<store_core::document::CancellationReason> {
    reasons.truncate(n);
    while reasons.len() < n {
        reasons.push(store_core::document::CancellationReason {
            index: reasons.len(),
            code: "None".to_owned(),
            message: None,
        });
    }
    reasons
}
