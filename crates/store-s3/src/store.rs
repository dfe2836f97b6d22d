//! [`S3Store`]: the [`ObjectStore`] implementation.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::{ByteStream as SdkByteStream, DateTime};
use aws_sdk_s3::types::{Delete, EncodingType, MetadataDirective, ObjectIdentifier};
use bytes::Bytes;
use futures::StreamExt;
use store_core::object::{
    ByteRange, ByteStream, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage,
    ObjectCapabilities, ObjectMeta, PresignMethod, PutMode, PutOptions, PutResult,
    validate_presign_expiry,
};
use store_core::{
    Cursor, ErrorKind, Health, HealthReport, ObjectKey, ObjectStore, Result, StoreError,
};
use tracing::Instrument;

use crate::BACKEND;
use crate::body::Download;
use crate::config::{S3StoreBuilder, TransferConfig};
use crate::encode::{cursor_from_token, decode_url, encode_copy_source, token_from_cursor};
use crate::error::{local, map_sdk_error};

/// The most keys one `DeleteObjects` request takes.
const DELETE_BATCH: usize = 1_000;
/// The largest listing page S3 returns.
const MAX_LIST_PAGE: usize = 1_000;
/// Lock stripes that serialize conditional writes to one key within this process.
const LOCK_STRIPES: usize = 64;

/// An [`ObjectStore`] on one S3 bucket.
///
/// Cheap to clone (clones share the client). Build one with [`S3Store::builder`],
/// [`S3Store::from_env`] or, around a client you configured yourself, [`S3Store::new`].
///
/// Conditional puts send `If-None-Match: *` / `If-Match` so S3 enforces them atomically; on
/// top of that, conditional writes to one key from this process are serialized, and multipart
/// uploads check the condition themselves before completing (some S3-compatible servers
/// ignore conditions on `CompleteMultipartUpload`).
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    bucket: String,
    transfer: TransferConfig,
    locks: Vec<tokio::sync::Mutex<()>>,
}

impl fmt::Debug for S3Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Store")
            .field("bucket", &self.inner.bucket)
            .field("transfer", &self.inner.transfer)
            .finish_non_exhaustive()
    }
}

impl S3Store {
    /// A builder for a store on `bucket`.
    pub fn builder(bucket: impl Into<String>) -> S3StoreBuilder {
        S3StoreBuilder::new(bucket)
    }

    /// A store on `bucket` configured entirely by aws-config's default chain (environment,
    /// profile, `AWS_ENDPOINT_URL`...).
    pub async fn from_env(bucket: impl Into<String>) -> Result<Self> {
        S3StoreBuilder::new(bucket).build().await
    }

    /// A store on `bucket` around a client you configured, with default transfer settings.
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        Self::with_transfer(client, bucket, TransferConfig::default())
    }

    /// A store around a client, with the given transfer settings.
    pub fn with_transfer(
        client: Client,
        bucket: impl Into<String>,
        transfer: TransferConfig,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                client,
                bucket: bucket.into(),
                transfer,
                locks: (0..LOCK_STRIPES)
                    .map(|_| tokio::sync::Mutex::new(()))
                    .collect(),
            }),
        }
    }

    /// The native SDK client, for anything this crate does not cover.
    pub fn client(&self) -> &Client {
        &self.inner.client
    }

    /// The bucket this store works on.
    pub fn bucket(&self) -> &str {
        &self.inner.bucket
    }

    /// The transfer settings.
    pub fn transfer(&self) -> &TransferConfig {
        &self.inner.transfer
    }

    /// Runs an operation inside its tracing span, recording latency and the error if any.
    pub(crate) async fn traced<T>(
        &self,
        operation: &'static str,
        target: &str,
        work: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let span = tracing::debug_span!(
            "s3",
            backend = BACKEND,
            operation,
            bucket = %self.inner.bucket,
            key = target,
            bytes = tracing::field::Empty,
            items = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
        );
        let started = Instant::now();
        let out = work.instrument(span.clone()).await;
        let latency = started.elapsed();
        span.record("latency_ms", latency.as_millis() as u64);
        match &out {
            Ok(_) => tracing::debug!(parent: &span, ?latency, "done"),
            Err(e) => {
                tracing::debug!(parent: &span, ?latency, error = %e, kind = %e.kind(), "failed")
            }
        }
        out
    }

    /// Maps an SDK error for this bucket.
    pub(crate) fn sdk_error<E, R>(
        &self,
        err: SdkError<E, R>,
        operation: &'static str,
        target: &str,
    ) -> StoreError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: crate::error::HttpLike + fmt::Debug + Send + Sync + 'static,
    {
        map_sdk_error(err, operation, &self.inner.bucket, target)
    }

    /// Serializes conditional writes to one key within this process (no-op for overwrites).
    pub(crate) async fn condition_lock(
        &self,
        key: &ObjectKey,
        mode: &PutMode,
    ) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if *mode == PutMode::Overwrite {
            return None;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = (hasher.finish() % LOCK_STRIPES as u64) as usize;
        Some(self.inner.locks[stripe].lock().await)
    }

    /// Checks a put mode against the object now at `key` (used where the server may not).
    pub(crate) async fn check_put_mode(
        &self,
        key: &ObjectKey,
        mode: &PutMode,
        operation: &'static str,
    ) -> Result<()> {
        let expected = match mode {
            PutMode::Overwrite => return Ok(()),
            PutMode::CreateOnly => None,
            PutMode::IfMatch(etag) => Some(etag),
        };
        let current = match self.head_object(key, operation).await {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        let fail = |e: StoreError| Err(local(e, operation, key.as_str()));
        match (expected, current) {
            (None, None) => Ok(()),
            (None, Some(_)) => fail(already_exists()),
            (Some(etag), None) => fail(StoreError::precondition_failed(format!(
                "if-match etag {etag} given but no object exists at this key"
            ))),
            (Some(etag), Some(meta)) if etags_match(etag, meta.etag.as_deref()) => Ok(()),
            (Some(etag), Some(meta)) => fail(StoreError::precondition_failed(format!(
                "if-match etag {etag} does not match the current etag {}",
                meta.etag.as_deref().unwrap_or("(none)")
            ))),
        }
    }

    /// Turns the answer to a conditional write into the trait's kinds: a failed create-only
    /// put is `AlreadyExists`, an if-match put on a missing key is `PreconditionFailed`.
    pub(crate) fn conditional_error(
        err: StoreError,
        mode: &PutMode,
        operation: &'static str,
        key: &ObjectKey,
    ) -> StoreError {
        let about_key = err.target() == Some(key.as_str());
        let replaced = match (mode, err.kind()) {
            (PutMode::CreateOnly, ErrorKind::PreconditionFailed) => already_exists(),
            (PutMode::IfMatch(etag), ErrorKind::NotFound) if about_key => {
                StoreError::precondition_failed(format!(
                    "if-match etag {etag} given but no object exists at this key"
                ))
            }
            (PutMode::IfMatch(etag), ErrorKind::PreconditionFailed) => {
                StoreError::precondition_failed(format!(
                    "if-match etag {etag} does not match the object's current etag"
                ))
            }
            _ => return err,
        };
        replaced
            .with_backend(BACKEND)
            .with_operation(operation)
            .with_target(key.as_str())
            .with_source(err)
    }

    /// One `PutObject` of a whole body.
    pub(crate) async fn put_object(
        &self,
        key: &ObjectKey,
        body: Bytes,
        options: &PutOptions,
        operation: &'static str,
    ) -> Result<PutResult> {
        tracing::Span::current().record("bytes", body.len() as u64);
        let mut request = self
            .client()
            .put_object()
            .bucket(self.bucket())
            .key(key.as_str())
            .content_length(body.len() as i64)
            .body(SdkByteStream::from(body))
            .set_content_type(options.content_type.clone())
            .set_metadata(sdk_metadata(&options.metadata));
        request = match &options.mode {
            PutMode::Overwrite => request,
            PutMode::CreateOnly => request.if_none_match("*"),
            PutMode::IfMatch(etag) => request.if_match(quote_etag(etag)),
        };
        let out = request.send().await.map_err(|e| {
            let err = self.sdk_error(e, operation, key.as_str());
            Self::conditional_error(err, &options.mode, operation, key)
        })?;
        Ok(PutResult {
            etag: out.e_tag().map(str::to_owned),
            version: out.version_id().map(str::to_owned),
        })
    }

    /// `HeadObject`, as metadata.
    pub(crate) async fn head_object(
        &self,
        key: &ObjectKey,
        operation: &'static str,
    ) -> Result<ObjectMeta> {
        let out = self
            .client()
            .head_object()
            .bucket(self.bucket())
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| self.sdk_error(e, operation, key.as_str()))?;
        Ok(meta(
            key,
            out.content_length().unwrap_or(0).max(0) as u64,
            out.e_tag(),
            out.last_modified(),
            out.content_type(),
            out.metadata(),
        ))
    }

    /// Uploads a file from disk, streamed, as a multipart upload above the threshold with a
    /// part size chosen from the file's size (so no file needs more than 10,000 parts).
    ///
    /// This inherent method shadows
    /// [`ObjectStoreExt::upload_file`](store_core::ObjectStoreExt::upload_file), which works
    /// through `dyn ObjectStore` without knowing the size in advance.
    pub async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.traced("upload_file", key.as_str(), async {
            let file = tokio::fs::File::open(path)
                .await
                .map_err(|e| io_error("open", path, e))?;
            let size = file
                .metadata()
                .await
                .map_err(|e| io_error("read the size of", path, e))?
                .len();
            crate::multipart::upload(
                self,
                key,
                crate::multipart::file_stream(file, path.to_owned()),
                options,
                Some(size),
                "upload_file",
            )
            .await
        })
        .await
    }

    /// A presigned URL for `method` on `key`, valid for `expires_in` (1 s to 7 days).
    async fn presign_url(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        validate_presign_expiry(expires_in).map_err(|e| local(e, "presign", key.as_str()))?;
        let config = PresigningConfig::expires_in(expires_in).map_err(|e| {
            local(
                StoreError::invalid_input(format!("invalid presign expiry: {e}")).with_source(e),
                "presign",
                key.as_str(),
            )
        })?;
        let request = match method {
            PresignMethod::Get => self
                .client()
                .get_object()
                .bucket(self.bucket())
                .key(key.as_str())
                .presigned(config)
                .await
                .map_err(|e| self.sdk_error(e, "presign", key.as_str()))?,
            PresignMethod::Put => self
                .client()
                .put_object()
                .bucket(self.bucket())
                .key(key.as_str())
                .presigned(config)
                .await
                .map_err(|e| self.sdk_error(e, "presign", key.as_str()))?,
        };
        Ok(request.uri().to_owned())
    }

    async fn get_object(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        self.get_object_for(key, options, "get").await
    }

    /// `GetObject` as a resumable body, errors naming `operation`.
    pub(crate) async fn get_object_for(
        &self,
        key: &ObjectKey,
        options: GetOptions,
        operation: &'static str,
    ) -> Result<GetResult> {
        if let Some(ByteRange::Bounded { start, end }) = options.range
            && start >= end
        {
            return Err(local(
                StoreError::invalid_input(format!("byte range {start}..{end} is empty")),
                operation,
                key.as_str(),
            ));
        }
        let response = self
            .client()
            .get_object()
            .bucket(self.bucket())
            .key(key.as_str())
            .set_range(options.range.map(range_header))
            .set_if_match(options.if_match.as_deref().map(quote_etag))
            .set_if_none_match(options.if_none_match.as_deref().map(quote_etag))
            .send()
            .await;
        let out = match response {
            Ok(out) => out,
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let err = self.sdk_error(e, operation, key.as_str());
                if status == Some(416) {
                    return self.unsatisfiable(key, options.range, err, operation).await;
                }
                if status == Some(304) {
                    return Err(StoreError::precondition_failed(format!(
                        "not modified: the object still has etag {}",
                        options.if_none_match.as_deref().unwrap_or("(given)")
                    ))
                    .with_backend(BACKEND)
                    .with_operation(operation)
                    .with_target(key.as_str())
                    .with_source(err));
                }
                return Err(err);
            }
        };
        let length = out.content_length().unwrap_or(0).max(0) as u64;
        let (delivered_start, size) = match out.content_range().and_then(parse_content_range) {
            Some((start, _end, total)) => (start, total),
            None => (0, length),
        };
        let range = match options.range {
            // The server ignored the range: resolve it here and skip what is not wanted.
            Some(range) if out.content_range().is_none() => range
                .resolve(size)
                .map_err(|e| local(e, operation, key.as_str()))?,
            _ => delivered_start..delivered_start + length,
        };
        let meta = meta(
            key,
            size,
            out.e_tag(),
            out.last_modified(),
            out.content_type(),
            out.metadata(),
        );
        tracing::Span::current().record("bytes", range.end - range.start);
        let download = Download {
            client: self.client().clone(),
            bucket: self.bucket().to_owned(),
            key: key.clone(),
            etag: meta.etag.clone(),
            next: range.start,
            end: range.end,
            skip: range.start - delivered_start,
            stream: Some(out.body),
            resumes_left: self.inner.transfer.download_resumes,
        };
        Ok(GetResult {
            meta,
            range,
            body: download.into_stream(),
        })
    }

    /// A 416 answer: empty objects satisfy suffix ranges; anything else is `InvalidInput`.
    async fn unsatisfiable(
        &self,
        key: &ObjectKey,
        range: Option<ByteRange>,
        err: StoreError,
        operation: &'static str,
    ) -> Result<GetResult> {
        if let Some(range @ ByteRange::Suffix(_)) = range {
            let meta = self.head_object(key, operation).await?;
            if let Ok(resolved) = range.resolve(meta.size) {
                return Ok(GetResult {
                    meta,
                    range: resolved,
                    body: futures::stream::empty().boxed(),
                });
            }
        }
        Err(StoreError::invalid_input(format!(
            "byte range {range:?} cannot be satisfied: it starts at or past the end of the object"
        ))
        .with_backend(BACKEND)
        .with_operation(operation)
        .with_target(key.as_str())
        .with_source(err))
    }

    async fn delete_batch(&self, batch: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        let objects = batch
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k.as_str()).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| {
                local(
                    StoreError::invalid_input(format!("cannot build the delete request: {e}")),
                    "delete_many",
                    self.bucket(),
                )
            })?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| {
                local(
                    StoreError::invalid_input(format!("cannot build the delete request: {e}")),
                    "delete_many",
                    self.bucket(),
                )
            })?;
        let out = self
            .client()
            .delete_objects()
            .bucket(self.bucket())
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.sdk_error(e, "delete_many", self.bucket()))?;
        let by_text: HashMap<&str, &ObjectKey> = batch.iter().map(|k| (k.as_str(), k)).collect();
        let mut failures = Vec::new();
        for error in out.errors() {
            let text = error.key().unwrap_or_default();
            let key = match by_text.get(text) {
                Some(k) => (*k).clone(),
                None => match ObjectKey::new(text) {
                    Ok(k) => k,
                    Err(_) => continue,
                },
            };
            let code = error.code().unwrap_or("Unknown");
            let kind = crate::error::code_kind(code).unwrap_or(ErrorKind::Internal);
            let message = match error.message() {
                Some(m) if !m.is_empty() => format!("S3 answered {code}: {m}"),
                _ => format!("S3 answered {code}"),
            };
            failures.push(DeleteFailure {
                error: StoreError::new(kind, message)
                    .with_backend(BACKEND)
                    .with_operation("delete_many")
                    .with_target(key.as_str()),
                key,
            });
        }
        Ok(failures)
    }
}

/// An S3 `Range` header for a range.
fn range_header(range: ByteRange) -> String {
    match range {
        ByteRange::Bounded { start, end } => format!("bytes={start}-{}", end.saturating_sub(1)),
        ByteRange::From(start) => format!("bytes={start}-"),
        ByteRange::Suffix(n) => format!("bytes=-{n}"),
    }
}

/// Parses `bytes start-end/total` into (start, end exclusive, total).
pub(crate) fn parse_content_range(text: &str) -> Option<(u64, u64, u64)> {
    let rest = text.trim().strip_prefix("bytes ")?;
    let (span, total) = rest.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let start: u64 = start.trim().parse().ok()?;
    let end: u64 = end.trim().parse().ok()?;
    let total: u64 = total.trim().parse().ok()?;
    (end >= start).then_some((start, end + 1, total))
}

/// Etags in conditions are quoted, as S3 returns them (`*` stays as it is).
pub(crate) fn quote_etag(etag: &str) -> String {
    let etag = etag.trim();
    if etag == "*" || etag.starts_with('"') || etag.starts_with("W/") {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// Whether two etags are the same, ignoring quotes.
pub(crate) fn etags_match(given: &str, actual: Option<&str>) -> bool {
    let strip = |e: &str| {
        e.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_owned()
    };
    match actual {
        None => false,
        Some(_) if given.trim() == "*" => true,
        Some(actual) => strip(given) == strip(actual),
    }
}

pub(crate) fn already_exists() -> StoreError {
    StoreError::already_exists("an object already exists at this key")
}

/// User metadata as the SDK wants it (none when empty).
pub(crate) fn sdk_metadata(metadata: &BTreeMap<String, String>) -> Option<HashMap<String, String>> {
    (!metadata.is_empty()).then(|| {
        metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    })
}

pub(crate) fn meta(
    key: &ObjectKey,
    size: u64,
    etag: Option<&str>,
    last_modified: Option<&DateTime>,
    content_type: Option<&str>,
    metadata: Option<&HashMap<String, String>>,
) -> ObjectMeta {
    ObjectMeta {
        key: key.clone(),
        size,
        etag: etag.map(str::to_owned),
        last_modified: last_modified.and_then(|t| SystemTime::try_from(*t).ok()),
        content_type: content_type.map(str::to_owned),
        metadata: metadata
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
    }
}

pub(crate) fn io_error(action: &str, path: &Path, e: std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::NotFound => ErrorKind::NotFound,
        std::io::ErrorKind::PermissionDenied => ErrorKind::Unauthorized,
        _ => ErrorKind::Internal,
    };
    StoreError::new(kind, format!("cannot {action} `{}`: {e}", path.display()))
        .with_backend(BACKEND)
        .with_source(e)
}

#[async_trait]
impl ObjectStore for S3Store {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> ObjectCapabilities {
        ObjectCapabilities::new(true, true)
    }

    async fn put(&self, key: &ObjectKey, body: Bytes, options: PutOptions) -> Result<PutResult> {
        self.traced("put", key.as_str(), async {
            let _guard = self.condition_lock(key, &options.mode).await;
            self.put_object(key, body, &options, "put").await
        })
        .await
    }

    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult> {
        self.traced("put_stream", key.as_str(), async {
            crate::multipart::upload(self, key, body, options, None, "put_stream").await
        })
        .await
    }

    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        self.traced("get", key.as_str(), self.get_object(key, options))
            .await
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        self.traced("head", key.as_str(), self.head_object(key, "head"))
            .await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        self.traced("delete", key.as_str(), async {
            self.client()
                .delete_object()
                .bucket(self.bucket())
                .key(key.as_str())
                .send()
                .await
                .map_err(|e| self.sdk_error(e, "delete", key.as_str()))?;
            Ok(())
        })
        .await
    }

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        self.traced("delete_many", self.bucket(), async {
            tracing::Span::current().record("items", keys.len() as u64);
            let concurrency = self.inner.transfer.concurrency;
            let requests: Vec<_> = keys
                .chunks(DELETE_BATCH)
                .map(|batch| self.delete_batch(batch))
                .collect();
            let mut batches = futures::stream::iter(requests).buffered(concurrency);
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
        self.traced("copy", from.as_str(), async {
            let source = self.head_object(from, "copy").await?;
            tracing::Span::current().record("bytes", source.size);
            if from == to {
                // S3 refuses a copy onto itself that changes nothing; the object already is
                // what the copy would make.
                return Ok(());
            }
            if source.size > self.inner.transfer.multipart_copy_threshold {
                return crate::multipart::copy(self, &source, to).await;
            }
            self.client()
                .copy_object()
                .bucket(self.bucket())
                .key(to.as_str())
                .copy_source(encode_copy_source(self.bucket(), from.as_str()))
                .metadata_directive(MetadataDirective::Copy)
                .send()
                .await
                .map_err(|e| self.sdk_error(e, "copy", from.as_str()))?;
            Ok(())
        })
        .await
    }

    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage> {
        let target = options.prefix.clone().unwrap_or_default();
        self.traced("list", &target, async {
            let page_size = match options.page_size {
                None => MAX_LIST_PAGE,
                Some(0) => {
                    return Err(local(
                        StoreError::invalid_input("a listing page size must be at least 1"),
                        "list",
                        &target,
                    ));
                }
                Some(n) => n.min(MAX_LIST_PAGE),
            };
            let token = cursor
                .as_ref()
                .map(token_from_cursor)
                .transpose()
                .map_err(|e| local(e, "list", &target))?;
            let out = self
                .client()
                .list_objects_v2()
                .bucket(self.bucket())
                .set_prefix(options.prefix.clone().filter(|p| !p.is_empty()))
                .set_delimiter(options.delimiter.clone().filter(|d| !d.is_empty()))
                .max_keys(page_size as i32)
                .set_continuation_token(token)
                .encoding_type(EncodingType::Url)
                .send()
                .await
                .map_err(|e| self.sdk_error(e, "list", &target))?;
            let encoded = out.encoding_type() == Some(&EncodingType::Url);
            let decode = |text: &str| -> Result<String> {
                if encoded {
                    decode_url(text).map_err(|e| local(e, "list", &target))
                } else {
                    Ok(text.to_owned())
                }
            };
            let mut page = ListPage::default();
            for object in out.contents() {
                let text = decode(object.key().unwrap_or_default())?;
                let key = ObjectKey::new(text).map_err(|e| local(e, "list", &target))?;
                page.objects.push(meta(
                    &key,
                    object.size().unwrap_or(0).max(0) as u64,
                    object.e_tag(),
                    object.last_modified(),
                    None,
                    None,
                ));
            }
            for prefix in out.common_prefixes() {
                page.common_prefixes
                    .push(decode(prefix.prefix().unwrap_or_default())?);
            }
            page.objects.sort_by(|a, b| a.key.cmp(&b.key));
            page.common_prefixes.sort();
            if out.is_truncated() == Some(true) {
                page.next = out.next_continuation_token().map(cursor_from_token);
            }
            tracing::Span::current().record(
                "items",
                (page.objects.len() + page.common_prefixes.len()) as u64,
            );
            Ok(page)
        })
        .await
    }

    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: Duration,
    ) -> Result<String> {
        self.traced(
            "presign",
            key.as_str(),
            self.presign_url(method, key, expires_in),
        )
        .await
    }
}

#[async_trait]
impl Health for S3Store {
    async fn health(&self) -> Result<HealthReport> {
        self.traced("health", self.bucket(), async {
            let started = Instant::now();
            self.client()
                .head_bucket()
                .bucket(self.bucket())
                .send()
                .await
                .map_err(|e| self.sdk_error(e, "health", self.bucket()))?;
            Ok(HealthReport {
                backend: BACKEND,
                latency: started.elapsed(),
                detail: Some(format!("bucket {} answers", self.bucket())),
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_parse() {
        assert_eq!(parse_content_range("bytes 5-9/10"), Some((5, 10, 10)));
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("junk"), None);
    }

    #[test]
    fn range_headers() {
        assert_eq!(
            range_header(ByteRange::Bounded { start: 10, end: 20 }),
            "bytes=10-19"
        );
        assert_eq!(range_header(ByteRange::From(7)), "bytes=7-");
        assert_eq!(range_header(ByteRange::Suffix(5)), "bytes=-5");
    }

    #[test]
    fn etags_compare_without_quotes() {
        assert!(etags_match("abc", Some("\"abc\"")));
        assert!(etags_match("*", Some("\"x\"")));
        assert!(!etags_match("abc", None));
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc\""), "\"abc\"");
    }
}
