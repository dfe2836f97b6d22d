//! DynamoDB table → archive on S3 → a new DynamoDB table made from the archived schema.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::clients::{dynamo_client, s3_client};
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::{KeySchema, KeyType};
use store_dynamo::{TableAdmin, TableDefinition};
use store_s3::S3Store;
use store_sync::{
    ArchiveSink, ArchiveSource, CollectionSchema, DocumentCollection, Partition, RecordSource,
    Silent, check, copy,
};

use crate::data::{dataset, memory_source, options};

#[tokio::test]
async fn a_dynamodb_table_backs_up_to_s3_and_restores_into_a_new_table() {
    const N: usize = 1_500;
    let admin = TableAdmin::from_client(dynamo_client().await);
    let name = unique_name("sync-src");
    let schema = KeySchema::partition("id", KeyType::String);
    let table = admin
        .create(
            &TableDefinition::new(&name, schema),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let source = DocumentCollection::new(Arc::new(table), format!("dynamodb://{name}"));
    let (_, seed) = memory_source(dataset(N)).await;
    copy(&seed, &source, &options(), &Silent).await.unwrap();
    assert!(check(&seed, &source, 500).await.unwrap().is_equal());

    // Back up into an S3 prefix.
    let bucket = unique_name("sync-archive");
    s3_client()
        .await
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let s3 = Arc::new(
        S3Store::builder(&bucket)
            .endpoint(endpoint(Service::S3).await)
            .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
            .force_path_style(true)
            .static_credentials(
                setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            )
            .build()
            .await
            .unwrap(),
    );
    let label = format!("s3://{bucket}/backups/users");
    let sink = ArchiveSink::new(
        s3.clone(),
        "backups/users",
        &label,
        "stores-test",
        Partition::whole(),
    )
    .with_source(format!("dynamodb://{name}"));
    let report = copy(&source, &sink, &options(), &Silent).await.unwrap();
    assert_eq!(report.records, N as u64);
    let archive = ArchiveSource::new(s3.clone(), "backups/users", &label);
    assert_eq!(
        archive.manifest().await.unwrap().collections[0].records,
        N as u64
    );

    // Restore into a new table created from the archived key schema.
    let CollectionSchema::Documents { partition_key, .. } = archive.schema().await.unwrap() else {
        panic!("a documents schema");
    };
    let restored_name = unique_name("sync-restored");
    let restored = admin
        .create(
            &TableDefinition::new(
                &restored_name,
                KeySchema {
                    partition: partition_key.to_attribute().unwrap(),
                    sort: None,
                },
            ),
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    let target = DocumentCollection::new(Arc::new(restored), format!("dynamodb://{restored_name}"));
    copy(&archive, &target, &options(), &Silent).await.unwrap();
    let verdict = check(&source, &target, 500).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
    assert_eq!(verdict.left, verdict.right);

    admin.delete(&name).await.unwrap();
    admin.delete(&restored_name).await.unwrap();
}
