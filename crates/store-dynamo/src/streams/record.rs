//! [`StreamRecord`]: one change from a table's stream, with exact values.

use std::time::SystemTime;

use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_dynamodbstreams::types::{
    AttributeValue as StreamValue, OperationType, Record as SdkRecord,
};
use store_core::feed::Change;
use store_core::{Document, Result, StoreError};

use crate::convert::from_item;

/// What happened to an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamEvent {
    /// The item was created.
    Insert,
    /// The item was changed.
    Modify,
    /// The item was deleted (by a call, or by TTL expiry: see [`StreamRecord::by_ttl`]).
    Remove,
}

/// One change from a table's stream.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRecord {
    /// What happened.
    pub event: StreamEvent,
    /// The item's key attributes.
    pub keys: Document,
    /// The item after the change, when the stream records new images (`None` for a removal).
    pub new_image: Option<Document>,
    /// The item before the change, when the stream records old images.
    pub old_image: Option<Document>,
    /// The record's sequence number in its shard.
    pub sequence_number: String,
    /// The shard the record was read from.
    pub shard_id: String,
    /// About when the change was made, as the stream reports it.
    pub approximate_time: Option<SystemTime>,
    /// Whether DynamoDB's TTL process made this removal (rather than a caller).
    pub by_ttl: bool,
}

impl StreamRecord {
    /// This record as a [`Change`]: a removal is a delete; an insert or modify is an upsert of
    /// the new image, which the stream must record (view type `NEW_IMAGE` or
    /// `NEW_AND_OLD_IMAGES`), else this is an `InvalidInput` error saying so.
    pub fn to_change(&self) -> Result<Change> {
        let key = self.keys.clone();
        match (self.event, &self.new_image) {
            (StreamEvent::Remove, _) => Ok(Change::Delete { key }),
            (_, Some(doc)) => Ok(Change::Upsert {
                key,
                doc: doc.clone(),
            }),
            (_, None) => Err(StoreError::invalid_input(format!(
                "stream record {} has no new image: the stream's view type must be NEW_IMAGE \
                 or NEW_AND_OLD_IMAGES to follow it",
                self.sequence_number
            ))),
        }
    }

    /// Converts a record the SDK returned.
    pub(crate) fn from_sdk(record: &SdkRecord, shard_id: &str) -> Result<Self> {
        let event = match record.event_name() {
            Some(OperationType::Insert) => StreamEvent::Insert,
            Some(OperationType::Modify) => StreamEvent::Modify,
            Some(OperationType::Remove) => StreamEvent::Remove,
            other => {
                return Err(StoreError::internal(format!(
                    "DynamoDB Streams returned a record of unknown kind {other:?}"
                )));
            }
        };
        let data = record.dynamodb().ok_or_else(|| {
            StoreError::internal("DynamoDB Streams returned a record without its change")
        })?;
        let image = |item: Option<&std::collections::HashMap<String, StreamValue>>| {
            item.map(|item| {
                let converted = item
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), table_value(value)?)))
                    .collect::<Result<_>>()?;
                from_item(&converted)
            })
            .transpose()
        };
        Ok(Self {
            event,
            keys: image(data.keys.as_ref())?.unwrap_or_default(),
            new_image: image(data.new_image.as_ref())?,
            old_image: image(data.old_image.as_ref())?,
            sequence_number: data.sequence_number.clone().ok_or_else(|| {
                StoreError::internal("DynamoDB Streams returned a record without a sequence number")
            })?,
            shard_id: shard_id.to_owned(),
            approximate_time: data
                .approximate_creation_date_time
                .and_then(|t| SystemTime::try_from(t).ok()),
            by_ttl: record
                .user_identity()
                .and_then(|identity| identity.principal_id.as_deref())
                == Some("dynamodb.amazonaws.com"),
        })
    }
}

/// The streams SDK's attribute value as the table SDK's (the two crates model the same wire
/// type separately), so one exact conversion serves both.
fn table_value(value: &StreamValue) -> Result<AttributeValue> {
    Ok(match value {
        StreamValue::B(b) => AttributeValue::B(Blob::new(b.as_ref().to_vec())),
        StreamValue::Bool(b) => AttributeValue::Bool(*b),
        StreamValue::Bs(set) => {
            AttributeValue::Bs(set.iter().map(|b| Blob::new(b.as_ref().to_vec())).collect())
        }
        StreamValue::L(items) => {
            AttributeValue::L(items.iter().map(table_value).collect::<Result<_>>()?)
        }
        StreamValue::M(map) => AttributeValue::M(
            map.iter()
                .map(|(k, v)| Ok((k.clone(), table_value(v)?)))
                .collect::<Result<_>>()?,
        ),
        StreamValue::N(n) => AttributeValue::N(n.clone()),
        StreamValue::Ns(set) => AttributeValue::Ns(set.clone()),
        StreamValue::Null(b) => AttributeValue::Null(*b),
        StreamValue::S(s) => AttributeValue::S(s.clone()),
        StreamValue::Ss(set) => AttributeValue::Ss(set.clone()),
        other => {
            return Err(StoreError::internal(format!(
                "DynamoDB Streams returned an attribute type this library does not know: \
                 {other:?}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodbstreams::types::StreamRecord as SdkData;
    use store_core::Value;

    #[test]
    fn numbers_sets_and_bytes_arrive_exactly() {
        let n = "12345678901234567890123456789012345678";
        let data = SdkData::builder()
            .keys("id", StreamValue::S("k".into()))
            .new_image("id", StreamValue::S("k".into()))
            .new_image("n", StreamValue::N(n.into()))
            .new_image("ns", StreamValue::Ns(vec!["1.50".into(), "-2".into()]))
            .new_image(
                "b",
                StreamValue::B(aws_sdk_dynamodbstreams::primitives::Blob::new(vec![0, 255])),
            )
            .sequence_number("7")
            .build();
        let record = SdkRecord::builder()
            .event_name(OperationType::Modify)
            .dynamodb(data)
            .build();
        let record = StreamRecord::from_sdk(&record, "s1").unwrap();
        let doc = record.new_image.as_ref().unwrap();
        assert_eq!(doc.get("n"), Some(&Value::Number(n.parse().unwrap())));
        assert_eq!(
            doc.get("b"),
            Some(&Value::Bytes(bytes::Bytes::from_static(&[0, 255])))
        );
        assert!(matches!(doc.get("ns"), Some(Value::NumberSet(s)) if s.len() == 2));
        assert!(matches!(record.to_change().unwrap(), Change::Upsert { .. }));
        let keys_only = StreamRecord {
            new_image: None,
            ..record
        };
        let err = keys_only.to_change().unwrap_err();
        assert!(err.message().contains("NEW_IMAGE"), "{}", err.message());
    }
}
