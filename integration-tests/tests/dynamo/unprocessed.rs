//! DynamoDB may accept a batch yet leave part of it unprocessed; moto never does. An SDK
//! interceptor plays DynamoDB's part deterministically: on every other `BatchWriteItem` call it
//! removes the second half of the writes from the request before it is signed (so the server
//! never sees them) and answers them back as `UnprocessedItems`. Every item must still land
//! exactly once, through the adapter's retries alone.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use integration_tests::services::{Service, endpoint, setting};
use serde_json::{Value as Json, json};
use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::{Document, DocumentStore, KeySchema, KeyType, RetryPolicy, Value};
use store_dynamo::DynamoStore;
use store_dynamo::sdk::config::interceptors::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use store_dynamo::sdk::config::{
    BehaviorVersion, ConfigBag, Credentials, Intercept, Region, RuntimeComponents,
};

use crate::support::{TempTable, scan_all};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Withholds half of every other batch and reports it unprocessed. Calls must not overlap
/// (the test writes with concurrency 1).
#[derive(Debug, Default)]
struct Unprocessing {
    calls: AtomicU64,
    withheld_writes: AtomicU64,
    withheld: Mutex<Option<(String, Vec<Json>)>>,
}

fn is_batch_write(headers: Option<&str>) -> bool {
    headers.is_some_and(|t| t.ends_with(".BatchWriteItem"))
}

impl Intercept for &'static Unprocessing {
    fn name(&self) -> &'static str {
        "Unprocessing"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let request = context.request_mut();
        if !is_batch_write(request.headers().get("x-amz-target")) {
            return Ok(());
        }
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n % 2 == 1 {
            return Ok(());
        }
        let mut body: Json = serde_json::from_slice(request.body().bytes().ok_or("no body")?)?;
        let tables = body["RequestItems"]
            .as_object_mut()
            .ok_or("no RequestItems")?;
        let (table, writes) = tables.iter_mut().next().ok_or("no table")?;
        let writes = writes.as_array_mut().ok_or("no writes")?;
        if writes.len() < 2 {
            return Ok(());
        }
        let keep = writes.len() / 2;
        let withheld = writes.split_off(keep);
        self.withheld_writes
            .fetch_add(withheld.len() as u64, Ordering::SeqCst);
        *self.withheld.lock().unwrap() = Some((table.clone(), withheld));
        let text = body.to_string();
        request
            .headers_mut()
            .insert("content-length", text.len().to_string());
        *request.body_mut() = text.into();
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some((table, withheld)) = self.withheld.lock().unwrap().take() else {
            return Ok(());
        };
        let response = context.response_mut();
        if response.status().as_u16() != 200 {
            return Ok(());
        }
        let text = json!({ "UnprocessedItems": { table: withheld } }).to_string();
        response
            .headers_mut()
            .insert("content-length", text.len().to_string());
        *response.body_mut() = text.into();
        Ok(())
    }
}

#[tokio::test]
async fn unprocessed_items_are_retried_until_every_item_lands_exactly_once() {
    let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
    let table = TempTable::new("unprocessed", schema.clone()).await;
    let interceptor: &'static Unprocessing = Box::leak(Box::default());
    let config = store_dynamo::sdk::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint(Service::DynamoDb).await)
        .region(Region::new(
            setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        ))
        .credentials_provider(Credentials::new(
            setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            None,
            None,
            "tests",
        ))
        .interceptor(interceptor)
        .build();
    let client = store_dynamo::sdk::Client::from_conf(config);
    let store = DynamoStore::from_client(client, table.store.table_name(), schema)
        .expect("store")
        .with_batch_retry(RetryPolicy::default().base_delay(std::time::Duration::from_millis(2)));
    let docs: Vec<Document> = (0..200i64)
        .map(|i| {
            Document::new()
                .with("pk", format!("p{}", i % 7))
                .with("sk", i)
                .with("i", i)
        })
        .collect();
    let report = store
        .batch_write(
            docs.iter().cloned().map(WriteOp::Put).collect(),
            BatchWriteOptions {
                concurrency: 1,
                ..BatchWriteOptions::default()
            },
        )
        .await
        .expect("batch write");
    assert!(report.is_complete(), "unwritten: {:?}", report.failed);
    assert_eq!(report.written, 200);
    let withheld = interceptor.withheld_writes.load(Ordering::SeqCst);
    assert!(withheld >= 100, "writes were withheld: {withheld}");
    // 8 chunks of 25, each withheld half retried (and halved again) until done.
    assert!(interceptor.calls.load(Ordering::SeqCst) > 8);
    let mut all: Vec<Document> = scan_all(&table.store).await;
    all.sort_by_key(|d| d.get("i").and_then(Value::as_i64));
    assert_eq!(all, docs, "every item landed exactly once");
}
