//! One type per key part in what a search index is sent: a document's `_id` is its record
//! key's text, so keys of different types can share one (the number 1 and the string "1"), and
//! the second document would silently replace the first.

use std::sync::{Arc, OnceLock};

use store_core::{Result, StoreError};

use crate::record::RecordKey;
use crate::sink::refused_record;

/// The types of the key parts of the first record a sink was given, which every record after
/// it must have. Clones share them.
#[derive(Debug, Clone, Default)]
pub(crate) struct KeyTypes(Arc<OnceLock<Vec<&'static str>>>);

impl KeyTypes {
    /// Refuses `key` when its parts' types are not those of the first key seen.
    pub(crate) fn check(&self, key: &RecordKey) -> Result<()> {
        let types: Vec<&'static str> = key.parts().iter().map(|(_, v)| v.type_name()).collect();
        let first = self.0.get_or_init(|| types.clone());
        if *first == types {
            return Ok(());
        }
        Err(refused_record(
            key,
            StoreError::invalid_input(format!(
                "its key is of type {} where the keys before it were of type {}: a search index's `_id` is the \
                 key's text, so keys of different types can share one (the number 1 and the \
                 string \"1\") and one document would replace the other; give the key one type \
                 in the source",
                types.join(", "),
                first.join(", ")
            )),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::Value;

    fn key(value: Value) -> RecordKey {
        RecordKey::new(vec![("id".to_owned(), value)]).unwrap()
    }

    #[test]
    fn keys_of_the_first_keys_types_pass_and_others_are_refused() {
        let types = KeyTypes::default();
        types.check(&key(Value::from(1))).unwrap();
        types.check(&key(Value::from(2))).unwrap();
        let err = types.check(&key(Value::from("1"))).unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        assert!(
            err.message().contains("number 1 and the"),
            "{}",
            err.message()
        );
        // Clones share what the first key said.
        let err = types.clone().check(&key(Value::from("a"))).unwrap_err();
        assert!(err.message().contains("keyed a:"), "{}", err.message());
    }
}
