//! Single-item calls: put, get, update, delete, each in one transaction, checked and evaluated
//! by store-core's shared rules and evaluator.

use store_core::document::eval::{apply_update, eval_condition};
use store_core::document::validate::{
    check_condition, check_key, check_new_item, check_projection, check_update,
};
use store_core::document::{
    Condition, DeleteItemOptions, GetItemOptions, PutItemOptions, ReturnValues, Update,
    UpdateOptions,
};
use store_core::{DocKey, Document, Result, StoreError};

use crate::codec::encode_key;
use crate::db::Inner;

impl Inner {
    /// Checks an item about to be stored and returns its key.
    pub(crate) fn check_new_item(&self, item: &Document) -> Result<DocKey> {
        check_new_item(item, &self.layout.schema, self.layout.index_schemas())
    }

    /// The item after an update (created from its key when missing), checked.
    pub(crate) fn updated(
        &self,
        key: &DocKey,
        old: Option<&Document>,
        update: &Update,
    ) -> Result<Document> {
        let mut new = old
            .cloned()
            .unwrap_or_else(|| self.layout.schema.key_document(key));
        apply_update(&mut new, update)?;
        self.check_new_item(&new)?;
        Ok(new)
    }

    pub(crate) fn put(&self, item: Document, options: PutItemOptions) -> Result<Option<Document>> {
        let key = self.check_new_item(&item)?;
        check_optional_condition(options.condition.as_ref())?;
        let encoded = encode_key(&key);
        self.write(|w| {
            let old = w.get(&encoded)?;
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old.as_ref())
            {
                return Err(condition_failed(&key, old.as_ref(), options.return_old));
            }
            w.put(&encoded, old.as_ref(), &item)?;
            Ok(old.filter(|_| options.return_old))
        })
    }

    pub(crate) fn get(&self, key: &DocKey, options: GetItemOptions) -> Result<Option<Document>> {
        check_key(&self.layout.schema, key)?;
        check_projection(options.projection.as_ref())?;
        let encoded = encode_key(key);
        let item = self.read(|r| r.get(&encoded))?;
        Ok(item.map(|doc| project(doc, options.projection.as_ref())))
    }

    pub(crate) fn update(
        &self,
        key: &DocKey,
        update: &Update,
        options: UpdateOptions,
    ) -> Result<Option<Document>> {
        check_key(&self.layout.schema, key)?;
        check_update(update, &self.layout.schema)?;
        check_optional_condition(options.condition.as_ref())?;
        let encoded = encode_key(key);
        self.write(|w| {
            let old = w.get(&encoded)?;
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old.as_ref())
            {
                let attach = options.returns == ReturnValues::AllOld;
                return Err(condition_failed(key, old.as_ref(), attach));
            }
            let new = self.updated(key, old.as_ref(), update)?;
            w.put(&encoded, old.as_ref(), &new)?;
            Ok(match options.returns {
                ReturnValues::None => None,
                ReturnValues::AllOld => old,
                ReturnValues::AllNew => Some(new),
            })
        })
    }

    pub(crate) fn delete(
        &self,
        key: &DocKey,
        options: DeleteItemOptions,
    ) -> Result<Option<Document>> {
        check_key(&self.layout.schema, key)?;
        check_optional_condition(options.condition.as_ref())?;
        let encoded = encode_key(key);
        self.write(|w| {
            let old = w.get(&encoded)?;
            if let Some(condition) = &options.condition
                && !eval_condition(condition, old.as_ref())
            {
                return Err(condition_failed(key, old.as_ref(), options.return_old));
            }
            if let Some(old) = &old {
                w.delete(&encoded, old)?;
            }
            Ok(old.filter(|_| options.return_old))
        })
    }
}

/// The item, or only the projected attributes of it.
pub(crate) fn project(doc: Document, projection: Option<&Vec<String>>) -> Document {
    match projection {
        Some(fields) => doc.project(fields),
        None => doc,
    }
}

fn check_optional_condition(condition: Option<&Condition>) -> Result<()> {
    condition.map_or(Ok(()), check_condition)
}

/// A failed condition on a single-item write, with the item attached when it was asked for.
fn condition_failed(key: &DocKey, old: Option<&Document>, attach: bool) -> StoreError {
    let err = StoreError::precondition_failed("the condition did not hold; nothing was changed")
        .with_target(key.to_string());
    match old {
        Some(item) if attach => err.with_current_item(item.clone()),
        _ => err,
    }
}
