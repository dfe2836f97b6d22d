//! [`S3Store`]: the store, its tracing, and the [`ObjectStore`] and [`Health`] impls, which
//! hand each call to the SDK calls of `client`, the transfers of `multipart` and `files`.

use std::fmt;
use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures::StreamExt;
use store_core::object::{
    ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectCapabilities,
    ObjectMeta, PresignMethod, PutMode, PutOptions, PutResult,
};
use store_core::{Cursor, Health, HealthReport, ObjectKey, ObjectStore, Result, StoreError};

use crate::BACKEND;
use crate::client::BucketClient;
use crate::multipart::WriteOptions;
use crate::options::S3PutOptions;
use crate::transfer::TransferConfig;

/// The most keys one `DeleteObjects` request takes.
const DELETE_BATCH: usize = 1_000;

/// An [`ObjectStore`] on one S3 bucket.
///
/// Cheap to clone (clones share the client). Build one with [`S3Store::builder`],
/// [`S3Store::from_env`] or, around a client you configured yourself,
/// [`S3Store::from_client`].
///
/// Conditional puts send `If-None-Match: *` / `If-Match` so S3 enforces them atomically; on
/// top of that, conditional writes to one key from this process are serialized, and multipart
/// uploads check the condition themselves before completing (some S3-compatible servers
/// ignore conditions on `CompleteMultipartUpload`).
///
/// [`upload_file`](ObjectStore::upload_file) and [`download_file`](ObjectStore::download_file)
/// take S3's best path (multipart uploads sized from the file, parallel ranged downloads that
/// resume), whether called on an `S3Store` or through `Arc<dyn ObjectStore>`.
#[derive(Clone)]
pub struct S3Store {
    client: Arc<BucketClient>,
    transfer: Arc<TransferConfig>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.client.bucket())
            .field("transfer", &self.transfer)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// A store on `bucket` around a client you configured, with default transfer settings
    /// (change them with [`with_transfer`](Self::with_transfer)). Nothing is sent to S3.
    pub fn from_client(client: Client, bucket: impl Into<String>) -> Self {
        Self {
            client: Arc::new(BucketClient::new(
                client,
                bucket.into(),
                S3PutOptions::default(),
            )),
            transfer: Arc::new(TransferConfig::default()),
        }
    }

    /// The same store with these S3 options on every write that names none (every write
    /// through the [`ObjectStore`] trait), e.g. SSE-KMS and a CRC-32C checksum for a bucket
    /// whose policy demands them. With SSE-C, reads, heads and copies through the trait
    /// present the same key. Options that break S3's limits are `InvalidInput`.
    pub fn with_put_defaults(self, defaults: S3PutOptions) -> Result<Self> {
        defaults.validate()?;
        Ok(Self {
            client: Arc::new(BucketClient::new(
                self.client.sdk().clone(),
                self.client.bucket().to_owned(),
                defaults,
            )),
            transfer: self.transfer,
        })
    }

    /// The S3 options of writes that name none.
    pub fn put_defaults(&self) -> &S3PutOptions {
        self.client.defaults()
    }

    /// The bucket client, for the S3-specific methods of other modules.
    pub(crate) fn bucket_client(&self) -> &BucketClient {
        &self.client
    }

    /// The same store with these transfer settings (check them with
    /// [`TransferConfig::validate`]; [`S3StoreBuilder::build`](crate::S3StoreBuilder::build)
    /// does).
    pub fn with_transfer(mut self, transfer: TransferConfig) -> Self {
        self.transfer = Arc::new(transfer);
        self
    }

    /// The native SDK client, for anything this crate does not cover.
    pub fn client(&self) -> &Client {
        self.client.sdk()
    }

    /// The bucket this store works on.
    pub fn bucket(&self) -> &str {
        self.client.bucket()
    }

    /// The transfer settings.
    pub fn transfer(&self) -> &TransferConfig {
        &self.transfer
    }

    /// Runs an operation and puts the backend, operation and target on its error (the SDK
    /// error mapping names them already; this covers local failures). Spans are the job of
    /// `store_layers::TraceLayer`.
    pub(crate) async fn in_context<T>(
        &self,
        operation: &'static str,
        target: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        work.await.map_err(|e| {
            let e = e.in_context(BACKEND, operation);
            if e.target().is_none() && !target.is_empty() {
                e.with_target(target)
            } else {
                e
            }
        })
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn bucket_name(&self) -> Option<&str> {
        Some(self.client.bucket())
    }

    fn capabilities(&self) -> ObjectCapabilities {
        ObjectCapabilities::none()
            .presign(true)
            .conditional_put(true)
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.in_context("put", key.as_str(), async {
            let _guard = self.client.condition_lock(key, &options.mode).await;
            let defaults = self.client.defaults();
            self.client
                .put_object(key, body, &options, defaults, "put")
                .await
        })
        .await
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        let upload = crate::multipart::upload(
            &self.client,
            &self.transfer,
            key,
            crate::multipart::Source::stream(body),
            WriteOptions {
                options,
                s3: self.client.defaults(),
            },
            None,
            "put_stream",
        );
        self.in_context("put_stream", key.as_str(), upload).await
    }

    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        let resumes = self.transfer.download_resumes;
        let read = self.client.read_defaults();
        let get = self.client.get_object(key, options, &read, resumes, "get");
        self.in_context("get", key.as_str(), get).await
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.in_context("head", key.as_str(), self.client.head_object(key, "head"))
            .await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.in_context("delete", key.as_str(), self.client.delete_object(key))
            .await
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        self.in_context("delete_many", self.bucket(), async {
            let requests: Vec<_> = keys
                .chunks(DELETE_BATCH)
                .map(|batch| self.client.delete_batch(batch))
                .collect();
            let mut batches = futures::stream::iter(requests).buffered(self.transfer.concurrency);
            let mut failures = Vec::new();
            let mut done = 0usize;
            while let Some(result) = batches.next().await {
                match result {
                    Ok(mut failed) => {
                        done += DELETE_BATCH;
                        failures.append(&mut failed);
                    }
                    Err(e) if done > 0 => {
                        return Err(StoreError::new(
                            e.kind(),
                            format!(
                                "a batch failed after {} of {} keys were handled: {}",
                                done.min(keys.len()),
                                keys.len(),
                                e.message()
                            ),
                        )
                        .with_backend(BACKEND)
                        .with_operation("delete_many")
                        .with_target(self.bucket())
                        .with_source(e));
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(failures)
        })
        .await
    }

    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.in_context("copy", from.as_str(), async {
            let source = self.client.head_object(from, "copy").await?;
            if from == to {
                // S3 refuses a copy onto itself that changes nothing; the object already is
                // what the copy would make.
                return Ok(());
            }
            if source.size > self.transfer.multipart_copy_threshold {
                let copy = crate::multipart::copy(&self.client, &self.transfer, &source, to, false);
                return copy.await;
            }
            self.client.copy_object(from, to, false, "copy").await
        })
        .await
    }

    /// Sends `If-None-Match: *` with the copy (S3 refuses it atomically); on servers that
    /// ignore the header on copies, the destination is checked first as well (under the
    /// per-key lock of conditional writes, so writers in this process cannot race it).
    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        const OPERATION: &str = "copy_if_not_exists";
        self.in_context(OPERATION, from.as_str(), async {
            let source = self.client.head_object(from, OPERATION).await?;
            let _guard = self.client.condition_lock(to, &PutMode::CreateOnly).await;
            self.client
                .check_put_mode(to, &PutMode::CreateOnly, OPERATION)
                .await?;
            if source.size > self.transfer.multipart_copy_threshold {
                let copy = crate::multipart::copy(&self.client, &self.transfer, &source, to, true);
                return copy.await;
            }
            self.client.copy_object(from, to, true, OPERATION).await
        })
        .await
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let target = options.prefix.clone().unwrap_or_default();
        self.in_context("list", &target, self.client.list_page(options, cursor))
            .await
    }

    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        let presign = self.client.presign(method, key, expires_in);
        self.in_context("presign", key.as_str(), presign).await
    }

    /// Uploads a file streamed from disk. The size is known up front: a file over S3's 5 TiB
    /// limit is refused before anything is sent, and a file above the multipart threshold goes
    /// up as a multipart upload with a part size chosen from its size (so no file needs more
    /// than 10,000 parts), parts in flight bounded by the transfer concurrency.
    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        let defaults = self.client.defaults();
        let upload =
            crate::files::upload_file(&self.client, &self.transfer, path, key, options, defaults);
        self.in_context("upload_file", key.as_str(), upload).await
    }

    /// Downloads an object to `path`: ranged parts fetched in parallel (above the multipart
    /// threshold) into a temporary file in the same folder, synced, then renamed over `path`.
    /// Every part is pinned to the object's etag, and a broken connection resumes where it
    /// stopped. On failure the temporary file is removed and `path` is untouched. Returns the
    /// number of bytes written.
    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        let read = self.client.read_defaults();
        let download = crate::files::download_file(&self.client, &self.transfer, key, path, &read);
        self.in_context("download_file", key.as_str(), download)
            .await
    }
}

#[async_trait]
impl Health for S3Store {
    async fn health(&self) -> Result<HealthReport> {
        self.in_context("health", self.bucket(), async {
            let started = Instant::now();
            self.client.head_bucket("health").await?;
            Ok(HealthReport {
                backend: BACKEND,
                latency: started.elapsed(),
                detail: Some(format!("bucket {} answers", self.bucket())),
            })
        })
        .await
    }
}
