//! Shared helpers of the S3 tests: fresh buckets that delete themselves, a plain HTTP client.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use futures::stream::BoxStream;
use integration_tests::names::unique_name;
use integration_tests::services::{Service, endpoint, setting};
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListEntry, ListOptions, ListPage,
    ObjectCapabilities, ObjectMeta, PresignMethod, PutOptions, PutResult,
};
use store_core::testkit::object::{ObjectStoreFactory, factory};
use store_core::{Cursor, Health, HealthReport, ObjectKey, ObjectStore, Result};
use store_s3::{S3Store, S3StoreBuilder, TransferConfig};

/// One MiB.
pub(crate) const MIB: u64 = 1024 * 1024;

/// A builder for `bucket` on the harness's S3 endpoint (or `endpoint_url`).
pub(crate) fn builder_at(endpoint_url: &str, bucket: &str) -> S3StoreBuilder {
    builder_with(endpoint_url, bucket, &moto_credentials())
}

/// moto's (fake) credentials.
pub(crate) fn moto_credentials() -> (String, String) {
    (
        setting("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
        setting("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
    )
}

/// A builder for `bucket` at `endpoint_url` signing with `credentials`.
pub(crate) fn builder_with(
    endpoint_url: &str,
    bucket: &str,
    (access_key, secret_key): &(String, String),
) -> S3StoreBuilder {
    S3Store::builder(bucket)
        .endpoint(endpoint_url)
        .region(setting("AWS_REGION").unwrap_or_else(|| "us-east-1".into()))
        .force_path_style(true)
        .static_credentials(access_key.clone(), secret_key.clone())
}

/// The signature-checking S3 server (s3s-fs) and its credentials.
pub(crate) fn verifying_server() -> (String, (String, String)) {
    let need = |name: &str| {
        setting(name).unwrap_or_else(|| {
            panic!("{name} is not set: start the signature-checking S3 with integration-tests/services/up.sh s3s")
        })
    };
    (
        need("STORES_S3_VERIFYING_ENDPOINT"),
        (
            need("STORES_S3_VERIFYING_ACCESS_KEY"),
            need("STORES_S3_VERIFYING_SECRET_KEY"),
        ),
    )
}

/// A store on a new, empty bucket of the signature-checking server, deleted when dropped.
pub(crate) async fn fresh_verifying_bucket(prefix: &str) -> TempBucket {
    let (url, credentials) = verifying_server();
    let mut bucket = fresh_bucket_at(&url, credentials, prefix, TransferConfig::default()).await;
    // s3s-fs keeps objects as files: a key cannot also be a directory of other keys, nor
    // start or end with `/` or hold `//`; a name stops at 255 bytes; and a suffix range
    // longer than the object is a 500. Its listings say they url-encoded the keys but do
    // not (`percent%20literal` would come back as `percent literal`).
    bucket.capabilities = Some(
        bucket
            .store
            .capabilities()
            .nested_keys(false)
            .long_keys(false)
            .long_suffix_ranges(false)
            .exact_listed_keys(false),
    );
    bucket
}

/// The conformance factory on the signature-checking server.
pub(crate) fn verifying_factory() -> ObjectStoreFactory {
    factory(|| async { fresh_verifying_bucket("conf").await })
}

/// A store on a new, empty bucket that is emptied and deleted when dropped.
pub(crate) async fn fresh_bucket(prefix: &str) -> TempBucket {
    fresh_bucket_with(prefix, TransferConfig::default()).await
}

/// Like [`fresh_bucket`], with transfer settings.
pub(crate) async fn fresh_bucket_with(prefix: &str, transfer: TransferConfig) -> TempBucket {
    let url = endpoint(Service::S3).await;
    fresh_bucket_at(&url, moto_credentials(), prefix, transfer).await
}

async fn fresh_bucket_at(
    url: &str,
    credentials: (String, String),
    prefix: &str,
    transfer: TransferConfig,
) -> TempBucket {
    let bucket = unique_name(prefix);
    let store = builder_with(url, &bucket, &credentials)
        .transfer(transfer)
        .build()
        .await
        .expect("build the store");
    store.create_bucket().await.expect("create the bucket");
    TempBucket {
        store,
        endpoint: url.to_owned(),
        credentials,
        capabilities: None,
    }
}

/// The conformance factory: one fresh bucket per behaviour, deleted after it.
pub(crate) fn bucket_factory() -> ObjectStoreFactory {
    factory(|| async { fresh_bucket("conf").await })
}

/// A store on a bucket that deletes itself (objects, unfinished uploads, then the bucket)
/// when dropped.
#[derive(Debug)]
pub(crate) struct TempBucket {
    pub(crate) store: S3Store,
    pub(crate) endpoint: String,
    credentials: (String, String),
    /// What the server keeps of the contract, when it keeps less than S3 does.
    capabilities: Option<ObjectCapabilities>,
}

impl std::ops::Deref for TempBucket {
    type Target = S3Store;
    fn deref(&self) -> &S3Store {
        &self.store
    }
}

impl Drop for TempBucket {
    fn drop(&mut self) {
        let bucket = self.store.bucket().to_owned();
        let url = self.endpoint.clone();
        let credentials = self.credentials.clone();
        // A separate thread with its own runtime, so this works inside or outside one.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("cleanup runtime");
            runtime.block_on(async {
                let store = builder_with(&url, &bucket, &credentials).build().await?;
                store.empty_and_delete_bucket().await
            })
        });
        match cleanup.join() {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("could not delete a test bucket: {e}"),
            Err(_) => eprintln!("the bucket cleanup panicked"),
        }
    }
}

#[async_trait]
impl Health for TempBucket {
    async fn health(&self) -> Result<HealthReport> {
        self.store.health().await
    }
}

#[async_trait]
impl ObjectStore for TempBucket {
    fn backend(&self) -> &'static str {
        self.store.backend()
    }
    fn bucket_name(&self) -> Option<&str> {
        self.store.bucket_name()
    }
    fn capabilities(&self) -> ObjectCapabilities {
        self.capabilities
            .unwrap_or_else(|| self.store.capabilities())
    }
    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.store.put(key, body, options).await
    }
    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.store.put_stream(key, body, options).await
    }
    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        self.store.get(key, options).await
    }
    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.store.head(key).await
    }
    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.store.delete(key).await
    }
    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        self.store.delete_many(keys).await
    }
    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.store.copy(from, to).await
    }
    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.store.copy_if_not_exists(from, to).await
    }
    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        self.store.list_page(options, cursor).await
    }
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ListEntry>> {
        self.store.list(options)
    }
    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: std::time::Duration,
    ) -> Result<String> {
        self.store.presign(method, key, expires_in).await
    }
    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.store.upload_file(path, key, options).await
    }
    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        self.store.download_file(key, path).await
    }
}

/// A key known to be valid.
pub(crate) fn key(text: &str) -> ObjectKey {
    ObjectKey::new(text).expect("valid key")
}

/// A minimal HTTP/1.1 client over a raw TCP connection (no TLS), enough to use presigned
/// URLs the way a browser or `curl` would. Returns the status and the body.
pub(crate) async fn http(
    method: &str,
    url: &str,
    content_type: Option<&str>,
    body: &[u8],
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = tokio::net::TcpStream::connect(host).await.expect("connect");
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if let Some(ct) = content_type {
        request.push_str(&format!("Content-Type: {ct}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    stream.write_all(body).await.expect("write body");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.expect("read");
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a response head");
    let head = String::from_utf8_lossy(&response[..split]).to_string();
    let mut payload = response[split + 4..].to_vec();
    let status: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    (status, payload)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("0").trim(), 16)
            .unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// The store as a shared trait object.
#[allow(dead_code)]
pub(crate) fn shared(bucket: TempBucket) -> Arc<dyn ObjectStore> {
    Arc::new(bucket)
}
