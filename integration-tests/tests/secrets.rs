//! No secret in any log: with every tracing event and span, and every `log` record (reqwest
//! and tokio-postgres log through `log`), of every crate captured at TRACE,
//! a workload on each real service (S3 on the signature-checking server, DynamoDB, PostgreSQL,
//! OpenSearch), with distinctive secrets and a refused one, leaves none of those secrets in
//! the capture, in the errors or in the `Debug` of the settings.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use futures::TryStreamExt;
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use integration_tests::trace_capture::{TextLayer, TextLogger};
use store_core::object::{ListOptions, PresignMethod, PutOptions};
use store_core::search::{IndexOptions, IndexSpec, SearchQuery, SearchRequest};
use store_core::{
    DocKey, Document, DocumentStore, KeySchema, KeyType, ObjectKey, ObjectStore, ObjectStoreExt,
    SearchIndex, SqlStoreExt,
};
use store_dynamo::{TableAdmin, TableDefinition};
use store_rds::PgConfig;
use store_s3::S3Store;
use store_search::OpenSearchIndex;
use tracing_subscriber::layer::SubscriberExt;

/// Everything every event and span said, as text.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<(String, usize)>>);

impl Capture {
    fn push(&self, text: &str) {
        let mut captured = self.0.lock().expect("capture");
        captured.0.push_str(text);
        captured.0.push('\n');
        captured.1 += 1;
    }

    fn taken(&self) -> (String, usize) {
        self.0.lock().expect("capture").clone()
    }
}

/// A secret no other text contains.
fn secret(what: &str) -> String {
    format!(
        "{what}Secret{}x{}",
        std::process::id(),
        unique_name("s").replace(['-', '_'], "")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_logs_errors_or_debug_output() {
    let capture = Capture::default();
    let sink = {
        let capture = capture.clone();
        move |line: &str| capture.push(line)
    };
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(TextLayer(sink.clone())),
    )
    .expect("the only subscriber of this test binary");
    log::set_boxed_logger(Box::new(TextLogger(sink))).expect("the only logger of this test binary");
    log::set_max_level(log::LevelFilter::Trace);
    let wrong_s3 = secret("wrongS3");
    let dynamo_secret = secret("dynamo");
    let pg_secret = secret("postgres");
    let search_secret = secret("search");

    // S3, on the server that checks signatures: a real secret, then a refused one.
    let url = setting("STORES_S3_VERIFYING_ENDPOINT").expect("start the s3s service");
    let access = setting("STORES_S3_VERIFYING_ACCESS_KEY").expect("s3s access key");
    let s3_secret = setting("STORES_S3_VERIFYING_SECRET_KEY").expect("s3s secret");
    let bucket = unique_name("secrets");
    let s3 = |secret: &str| {
        S3Store::builder(&bucket)
            .endpoint(&url)
            .region("us-east-1")
            .force_path_style(true)
            .static_credentials(access.clone(), secret.to_owned())
            .build()
    };
    let objects = s3(&s3_secret).await.expect("s3 store");
    objects.create_bucket().await.expect("bucket");
    let key = ObjectKey::new("a/b.txt").expect("key");
    objects.put_str(&key, "hello").await.expect("put");
    let big = (0..12).map(|_| Ok(Bytes::from(vec![7u8; 1 << 20])));
    objects
        .put_stream(
            &ObjectKey::new("big.bin").expect("key"),
            Box::pin(futures::stream::iter(big)),
            PutOptions::new(),
        )
        .await
        .expect("a multipart upload");
    objects.get_bytes(&key).await.expect("get");
    let listed: Vec<_> = objects
        .list(ListOptions::new())
        .try_collect()
        .await
        .expect("list");
    assert_eq!(listed.len(), 2);
    let presigned = objects
        .presign(PresignMethod::Get, &key, Duration::from_secs(60))
        .await
        .expect("presign");
    let refused = s3(&wrong_s3)
        .await
        .expect("store")
        .get_bytes(&key)
        .await
        .expect_err("a wrong secret");
    capture.push(&format!("{presigned} {refused} {refused:?} {objects:?}"));
    objects.empty_and_delete_bucket().await.expect("cleanup");

    // DynamoDB (moto takes any secret; the SDK still signs with it).
    let admin = TableAdmin::builder()
        .endpoint(endpoint(Service::DynamoDb).await)
        .region("us-east-1")
        .static_credentials("AKIASECRETSTEST", dynamo_secret.clone())
        .build()
        .await;
    let table = unique_name("secrets");
    let documents = admin
        .create(
            &TableDefinition::new(&table, KeySchema::partition("id", KeyType::String)),
            Duration::from_secs(30),
        )
        .await
        .expect("table");
    documents
        .put(
            Document::new().with("id", "a").with("n", 1),
            Default::default(),
        )
        .await
        .expect("put");
    documents
        .get(&DocKey::partition("a"), Default::default())
        .await
        .expect("get");
    let missing = documents
        .get(&DocKey::partition(""), Default::default())
        .await
        .expect_err("an empty key");
    capture.push(&format!("{missing:?} {documents:?} {admin:?}"));
    admin.delete(&table).await.expect("drop the table");

    // PostgreSQL (the harness trusts local connections; the password is still configured).
    let config = PgConfig::from_url(&endpoint(Service::Postgres).await)
        .expect("url")
        .password(&pg_secret);
    let sql = config.clone().build().expect("store");
    sql.query_one("SELECT 1 AS one", &[]).await.expect("query");
    let bad = sql
        .query_one("SELEC nonsense", &[])
        .await
        .expect_err("syntax");
    capture.push(&format!("{bad:?} {config:?} {config} {sql:?}"));

    // OpenSearch with basic auth (the harness's node has security off; the header is sent).
    let search = OpenSearchIndex::builder(unique_name("secrets"))
        .url(endpoint(Service::OpenSearch).await)
        .basic_auth("stores", search_secret.clone())
        .build()
        .expect("index");
    search.create(&IndexSpec::new()).await.expect("create");
    search
        .index(
            "1",
            Document::new().with("title", "hello"),
            IndexOptions::new(),
        )
        .await
        .expect("index");
    search.refresh().await.expect("refresh");
    search
        .search(&SearchRequest::new(SearchQuery::matches("title", "hello")))
        .await
        .expect("search");
    capture.push(&format!("{search:?}"));
    search.drop_index().await.expect("drop");

    let (text, events) = capture.taken();
    // The capture works: the SDKs and drivers traced their requests.
    assert!(events > 200, "only {events} events captured");
    assert!(
        text.contains("aws_smithy"),
        "the AWS SDK's traces are captured"
    );
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("stores:{search_secret}"));
    for (what, secret) in [
        ("the S3 secret", s3_secret.as_str()),
        ("the refused S3 secret", wrong_s3.as_str()),
        ("the DynamoDB secret", dynamo_secret.as_str()),
        ("the PostgreSQL password", pg_secret.as_str()),
        ("the search password", search_secret.as_str()),
        ("the search basic-auth header", basic.as_str()),
    ] {
        if let Some(at) = text.find(secret) {
            let from = text[..at].rfind('\n').map_or(0, |n| n + 1);
            panic!(
                "{what} is in the logs ({events} events): {}",
                &text[from..(at + secret.len()).min(text.len())]
            );
        }
    }
}
