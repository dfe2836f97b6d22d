//! DynamoDB (moto): 10,000 items written with `batch_write` through the layers.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use integration_tests::clients::{dynamo_client, dynamo_client_at};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::document::{
    BatchWriteOptions, DocumentStore, GetItemOptions, PutItemOptions, Scan, WriteOp, attr,
};
use store_core::{DocKey, Document, ErrorKind, KeySchema, KeyType};
use store_dynamo::{DynamoStore, TableAdmin, TableDefinition};
use store_layers::{FaultLayer, LayerExt, RetryLayer};

use super::support::{assert_exact, canonical, faults, layers, policy, report};

const ITEMS: usize = 10_000;
/// Items per `batch_write` call (each call is 4 `BatchWriteItem` requests of 25).
const PER_CALL: usize = 100;
const SEED: u64 = 0x00D1_0011;

fn item(n: usize) -> Document {
    Document::new()
        .with("pk", format!("item-{n:05}"))
        .with("n", n as i64)
        .with("title", format!("item number {n}"))
        .with("tag", format!("t{}", n % 7))
}

/// Deletes the table when dropped, on a runtime of its own.
struct DropTable {
    endpoint: String,
    table: String,
}

impl Drop for DropTable {
    fn drop(&mut self) {
        let endpoint = self.endpoint.clone();
        let table = self.table.clone();
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async {
                let _ = dynamo_client_at(&endpoint)
                    .delete_table()
                    .table_name(table)
                    .send()
                    .await;
            });
        })
        .join();
    }
}

/// The writer: the SDK's own retry off, so only the layer retries.
async fn writer(url: &str, table: &str, schema: KeySchema) -> DynamoStore {
    DynamoStore::builder(table, schema)
        .endpoint(url)
        .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
        .static_credentials(
            setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
            setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
        )
        .max_attempts(1)
        .build()
        .await
        .expect("the writer")
}

/// A new table keyed by `pk`, named from `prefix`: the direct handle that created it (reads
/// it back with no layer in between), a writer, and the guard that deletes it.
async fn table(prefix: &str) -> (DynamoStore, DynamoStore, DropTable) {
    let url = endpoint(Service::DynamoDb).await;
    let table = unique_name(prefix);
    let schema = KeySchema::partition("pk", KeyType::String);
    let admin = TableAdmin::from_client(dynamo_client().await);
    let direct = admin
        .create(
            &TableDefinition::new(&table, schema.clone()),
            Duration::from_secs(60),
        )
        .await
        .expect("create the table");
    let cleanup = DropTable {
        endpoint: url.clone(),
        table: table.clone(),
    };
    (direct, writer(&url, &table, schema).await, cleanup)
}

#[tokio::test]
async fn batch_write_of_10k_items_under_faults_is_exact() {
    let (direct, writer, _cleanup) = table("layers").await;
    let faults = faults(SEED);
    let store = writer.layer(layers(RetryLayer::new(policy()), &faults));

    let started = Instant::now();
    let chunks: Vec<Vec<WriteOp>> = (0..ITEMS)
        .map(|n| WriteOp::Put(item(n)))
        .collect::<Vec<_>>()
        .chunks(PER_CALL)
        .map(<[WriteOp]>::to_vec)
        .collect();
    let calls = chunks.len() as u64;
    let written: Vec<usize> = futures::stream::iter(chunks)
        .map(|ops| {
            let store = &store;
            async move {
                let report = store.batch_write(ops, BatchWriteOptions::default()).await?;
                assert!(report.is_complete(), "unprocessed: {:?}", report.failed);
                Ok::<_, store_core::StoreError>(report.written)
            }
        })
        .buffer_unordered(4)
        .try_collect()
        .await
        .expect("every batch lands through the retries");
    let write_time = started.elapsed();
    report("dynamodb", ITEMS, calls, &faults);
    // A batch retried after it landed is written again: the report counts it twice, the
    // table holds it once.
    assert!(written.iter().sum::<usize>() >= ITEMS);

    let started = Instant::now();
    let scan = Scan {
        consistent: true,
        ..Scan::new()
    };
    let back: Vec<Document> = direct.scan(scan).try_collect().await.expect("scan");
    assert_exact(
        "dynamodb",
        (0..ITEMS).map(|n| (format!("item-{n:05}"), canonical(&item(n)))),
        back.iter().map(|doc| {
            let pk = doc.get("pk").and_then(|v| v.as_str()).unwrap_or_default();
            (pk.to_owned(), canonical(doc))
        }),
    );
    eprintln!(
        "layers dynamodb: wrote in {write_time:?}, read back in {:?}",
        started.elapsed()
    );
}

/// Conditional puts (`attribute_not_exists`) whose first run landed in DynamoDB but lost its
/// answer are each reported done, not refused by the item that run wrote; a put refused by
/// another writer's item stays refused.
#[tokio::test]
async fn conditional_puts_whose_answers_were_lost_are_done() {
    let (direct, writer, _cleanup) = table("settle").await;
    let faults = FaultLayer::seeded(SEED);
    let store = writer.layer(layers(RetryLayer::new(policy()), &faults));
    let if_absent = || PutItemOptions::new().condition(attr("pk").not_exists());
    for n in 0..10 {
        faults.fail_next_after_success(1, ErrorKind::Unavailable);
        let put = store.put(item(n), if_absent()).await;
        assert_eq!(put.expect("settled"), None);
        let key = DocKey::partition(format!("item-{n:05}"));
        let stored = direct.get(&key, GetItemOptions::new()).await.expect("get");
        assert_eq!(stored, Some(item(n)));
    }
    assert_eq!(faults.injected_after_success(), 10);

    faults.fail_next(1, ErrorKind::Unavailable);
    let other = item(0).with("title", "another writer's");
    let err = store.put(other, if_absent()).await.expect_err("taken");
    assert_eq!(err.kind(), ErrorKind::PreconditionFailed, "{err}");
}
