//! Single-item operations: put, get, update and delete, each one request with its
//! condition and return values.

use aws_sdk_dynamodb::operation::delete_item::DeleteItemError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};
use store_core::document::validate::{check_condition, check_projection, check_update};
use store_core::document::{
    DeleteItemOptions, GetItemOptions, PutItemOptions, ReturnValues, Update, UpdateOptions,
};
use store_core::{DocKey, Document, Result};

use crate::convert::{from_item, key_item, to_item};
use crate::error::{condition_failed, map_sdk_error_on};
use crate::expr::ExpressionBuilder;

use crate::store::*;

impl DynamoStore {
    pub(crate) async fn run_put(
        &self,
        item: Document,
        options: PutItemOptions,
    ) -> Result<Option<Document>> {
        let key = self.check_new_item(&item)?;
        let target = key.to_string();
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let mut request = self
            .inner
            .client
            .put_item()
            .table_name(self.table())
            .set_item(Some(to_item(&item)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        if options.return_old {
            request = request
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        match request.send().await {
            Ok(out) => match non_empty(out.attributes).filter(|_| options.return_old) {
                Some(old) => Ok(Some(from_item(&old)?)),
                None => Ok(None),
            },
            Err(err) => match err.as_service_error() {
                Some(PutItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "put"))
                }
                _ => Err(map_sdk_error_on(err, "put", self.table(), &target)),
            },
        }
    }

    pub(crate) async fn run_get(
        &self,
        key: &DocKey,
        options: GetItemOptions,
    ) -> Result<Option<Document>> {
        self.checked_key(key)?;
        check_projection(options.projection.as_ref())?;
        let target = key.to_string();
        let mut b = ExpressionBuilder::new();
        let projection = options.projection.as_ref().map(|p| b.projection(p));
        let (names, _) = b.finish();
        let out = self
            .inner
            .client
            .get_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .consistent_read(options.consistent)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .send()
            .await
            .map_err(|e| map_sdk_error_on(e, "get", self.table(), &target))?;
        out.item.map(|i| from_item(&i)).transpose()
    }

    pub(crate) async fn run_update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        let target = key.to_string();
        self.checked_key(key)?;
        check_update(update, self.schema()).map_err(|e| e.with_target(target.clone()))?;
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let expression = Some(b.update(update)).filter(|e| !e.is_empty());
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let returns = match options.returns {
            ReturnValues::None => ReturnValue::None,
            ReturnValues::AllOld => ReturnValue::AllOld,
            ReturnValues::AllNew => ReturnValue::AllNew,
        };
        let mut request = self
            .inner
            .client
            .update_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .set_update_expression(expression)
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .return_values(returns);
        if options.returns == ReturnValues::AllOld {
            request = request.return_values_on_condition_check_failure(
                ReturnValuesOnConditionCheckFailure::AllOld,
            );
        }
        match request.send().await {
            Ok(out) => match (options.returns, non_empty(out.attributes)) {
                (ReturnValues::None, _) | (_, None) => Ok(None),
                (_, Some(item)) => Ok(Some(from_item(&item)?)),
            },
            Err(err) => match err.as_service_error() {
                Some(UpdateItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "update"))
                }
                _ => Err(map_sdk_error_on(err, "update", self.table(), &target)),
            },
        }
    }

    pub(crate) async fn run_delete(
        &self,
        key: &DocKey,
        options: DeleteItemOptions,
    ) -> Result<Option<Document>> {
        let target = key.to_string();
        self.checked_key(key)?;
        if let Some(c) = &options.condition {
            check_condition(c).map_err(|e| e.with_target(target.clone()))?;
        }
        let mut b = ExpressionBuilder::new();
        let condition = options.condition.as_ref().map(|c| b.condition(c));
        let (names, values) = b.finish();
        let mut request = self
            .inner
            .client
            .delete_item()
            .table_name(self.table())
            .set_key(Some(key_item(self.schema(), key)))
            .set_condition_expression(condition)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values);
        if options.return_old {
            request = request
                .return_values(ReturnValue::AllOld)
                .return_values_on_condition_check_failure(
                    ReturnValuesOnConditionCheckFailure::AllOld,
                );
        }
        match request.send().await {
            Ok(out) => match non_empty(out.attributes).filter(|_| options.return_old) {
                Some(old) => Ok(Some(from_item(&old)?)),
                None => Ok(None),
            },
            Err(err) => match err.as_service_error() {
                Some(DeleteItemError::ConditionalCheckFailedException(e)) => {
                    Err(condition_failed(e.item(), &target, "delete"))
                }
                _ => Err(map_sdk_error_on(err, "delete", self.table(), &target)),
            },
        }
    }
}
