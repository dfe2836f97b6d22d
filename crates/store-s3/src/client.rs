//! [`BucketClient`]: the SDK calls on one bucket, their answers turned into the trait's
//! types and errors.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::primitives::DateTime;
use aws_sdk_s3::types::{ChecksumMode, Delete, EncodingType, MetadataDirective, ObjectIdentifier};
use bytes::Bytes;
use futures::StreamExt;
use store_core::object::{
    ByteRange, DeleteFailure, GetOptions, GetResult, ListOptions, ListPage, ObjectMeta,
    PresignMethod, PutMode, PutOptions, PutResult, check_get_conditions, etag_matches,
    validate_presign_expiry,
};
use store_core::{Cursor, ErrorKind, ObjectKey, Result, StoreError};
use tokio::sync::{Mutex, MutexGuard};

use crate::BACKEND;
use crate::body::Download;
use crate::encode::{
    cursor_from_token, decode_url, encode_copy_source, object_meta, parse_content_range,
    quote_etag, range_header, token_from_cursor,
};
use crate::error::{
    HttpLike, already_exists, conditional_error, is_absent_answer, local, map_sdk_error,
};
use crate::meta_text::sdk_metadata;
use crate::options::{
    Checksum, ReadOptions, S3PutOptions, with_copy_source_key, with_customer_key, with_encryption,
    with_put_options,
};
use crate::seen::BucketSeen;

mod absent;

/// The largest listing page S3 returns.
const MAX_LIST_PAGE: usize = 1_000;
/// Lock stripes that serialize conditional writes to one key within this process.
const LOCK_STRIPES: usize = 64;

/// The SDK client and the bucket it works on, with the locks that serialize conditional
/// writes to one key within this process.
pub(crate) struct BucketClient {
    sdk: Client,
    bucket: String,
    /// The S3 options of writes through the trait, and the SSE-C key of its reads.
    defaults: S3PutOptions,
    locks: Vec<Mutex<()>>,
    /// When the bucket last answered: tells a missing key from a missing bucket on a `HEAD`.
    seen: BucketSeen,
}

impl BucketClient {
    /// A client for `bucket`.
    pub(crate) fn new(sdk: Client, bucket: String, defaults: S3PutOptions) -> Self {
        Self {
            sdk,
            bucket,
            defaults,
            locks: (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect(),
            seen: BucketSeen::new(),
        }
    }

    /// The S3 options of writes that name none.
    pub(crate) fn defaults(&self) -> &S3PutOptions {
        &self.defaults
    }

    /// The read options of reads that name none: the default SSE-C key, if any.
    pub(crate) fn read_defaults(&self) -> ReadOptions {
        ReadOptions {
            customer_key: self.defaults.customer_key().cloned(),
            ..ReadOptions::default()
        }
    }

    /// The native SDK client.
    pub(crate) fn sdk(&self) -> &Client {
        &self.sdk
    }

    /// The bucket.
    pub(crate) fn bucket(&self) -> &str {
        &self.bucket
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
        R: HttpLike + std::fmt::Debug + Send + Sync + 'static,
    {
        map_sdk_error(err, operation, &self.bucket, target)
    }

    /// Serializes conditional writes to one key within this process (no-op for overwrites).
    pub(crate) async fn condition_lock(
        &self,
        key: &ObjectKey,
        mode: &PutMode,
    ) -> Option<MutexGuard<'_, ()>> {
        if *mode == PutMode::Overwrite {
            return None;
        }
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        key.hash(&mut hasher);
        let stripe = (hasher.finish() % LOCK_STRIPES as u64) as usize;
        Some(self.locks[stripe].lock().await)
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
            (Some(etag), Some(meta)) if etag_matches(etag, meta.etag.as_deref()) => Ok(()),
            (Some(etag), Some(meta)) => fail(StoreError::precondition_failed(format!(
                "if-match etag {etag} does not match the current etag {}",
                meta.etag.as_deref().unwrap_or("(none)")
            ))),
        }
    }

    /// One `PutObject` of a whole body, with the S3 options `s3`.
    pub(crate) async fn put_object(
        &self,
        key: &ObjectKey,
        body: Bytes,
        options: &PutOptions,
        s3: &S3PutOptions,
        operation: &'static str,
    ) -> Result<PutResult> {
        let metadata = sdk_metadata(&options.metadata)?;
        let request = self
            .sdk
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_length(body.len() as i64)
            .body(SdkByteStream::from(body))
            .set_content_type(options.content_type.clone())
            .set_metadata(metadata)
            .set_checksum_algorithm(s3.checksum.map(Checksum::sdk));
        let mut request = with_put_options!(request, s3);
        request = match &options.mode {
            PutMode::Overwrite => request,
            PutMode::CreateOnly => request.if_none_match("*"),
            PutMode::IfMatch(etag) => request.if_match(quote_etag(etag)),
        };
        let out = request.send().await.map_err(|e| {
            let err = self.sdk_error(e, operation, key.as_str());
            conditional_error(err, &options.mode, operation, key)
        })?;
        Ok(PutResult {
            etag: out.e_tag().map(str::to_owned),
            version: out.version_id().map(str::to_owned),
        })
    }

    /// `HeadObject` with the store's default read options, as metadata.
    pub(crate) async fn head_object(
        &self,
        key: &ObjectKey,
        operation: &'static str,
    ) -> Result<ObjectMeta> {
        let out = self
            .head_with(key, &self.read_defaults(), operation)
            .await?;
        Ok(meta_of_head(key, &out))
    }

    /// `HeadObject` of the version and with the SSE-C key of `read`.
    pub(crate) async fn head_with(
        &self,
        key: &ObjectKey,
        read: &ReadOptions,
        operation: &'static str,
    ) -> Result<HeadObjectOutput> {
        let request = self
            .sdk
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .set_version_id(read.version_id.clone())
            .set_checksum_mode(read.verify_checksum.then_some(ChecksumMode::Enabled));
        match with_customer_key!(request, read.customer_key.as_ref())
            .send()
            .await
        {
            Ok(out) => {
                self.seen.mark();
                Ok(out)
            }
            Err(e) if is_absent_answer(&e) => Err(self.absent(e, operation, key).await),
            Err(e) => Err(self.sdk_error(e, operation, key.as_str())),
        }
    }

    /// `GetObject` as a body that resumes up to `resumes` times after a broken connection,
    /// errors naming `operation`; `read` picks the version, presents the SSE-C key and asks
    /// for checksum verification.
    pub(crate) async fn get_object(
        &self,
        key: &ObjectKey,
        options: GetOptions,
        read: &ReadOptions,
        resumes: u32,
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
        let request = self
            .sdk
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .set_range(options.range.map(range_header))
            .set_if_match(options.if_match.as_deref().map(quote_etag))
            .set_if_none_match(options.if_none_match.as_deref().map(quote_etag))
            .set_if_modified_since(options.if_modified_since.map(DateTime::from))
            .set_if_unmodified_since(options.if_unmodified_since.map(DateTime::from))
            .set_version_id(read.version_id.clone())
            .set_checksum_mode(read.verify_checksum.then_some(ChecksumMode::Enabled));
        let response = with_customer_key!(request, read.customer_key.as_ref())
            .send()
            .await;
        let out = match response {
            Ok(out) => {
                self.seen.mark();
                out
            }
            Err(e) if is_absent_answer(&e) => return Err(self.absent(e, operation, key).await),
            Err(e) => {
                let status = e.raw_response().map(|r| r.status().as_u16());
                let err = self.sdk_error(e, operation, key.as_str());
                if status == Some(416) {
                    return self.unsatisfiable(key, options.range, err, operation).await;
                }
                if status == Some(304) {
                    let why = match &options.if_none_match {
                        Some(etag) => format!("not modified: the object still has etag {etag}"),
                        None => "not modified since that time".to_owned(),
                    };
                    return Err(StoreError::precondition_failed(why)
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
        let meta = object_meta(
            key,
            size,
            out.e_tag(),
            out.last_modified(),
            out.content_type(),
            out.metadata(),
        );
        // A server that ignores the conditions (s3s-fs and other S3-compatible ones do)
        // answered anyway: the answer is held to them here, so their meaning does not
        // depend on the server.
        check_get_conditions(&options, meta.etag.as_deref(), meta.last_modified)
            .map_err(|e| local(e, operation, key.as_str()))?;
        let download = Download {
            client: self.sdk.clone(),
            bucket: self.bucket.clone(),
            key: key.clone(),
            read: read.clone(),
            etag: meta.etag.clone(),
            next: range.start,
            end: range.end,
            skip: range.start - delivered_start,
            stream: Some(out.body),
            resumes_left: resumes,
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

    /// `DeleteObject`.
    pub(crate) async fn delete_object(&self, key: &ObjectKey) -> Result<()> {
        self.sdk
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| self.sdk_error(e, "delete", key.as_str()))?;
        Ok(())
    }

    /// One `DeleteObjects` of up to 1,000 keys, returning the keys S3 could not delete.
    pub(crate) async fn delete_batch(&self, batch: &[ObjectKey]) -> Result<Vec<DeleteFailure>> {
        let invalid = |e: aws_sdk_s3::error::BuildError| {
            local(
                StoreError::invalid_input(format!("cannot build the delete request: {e}")),
                "delete_many",
                &self.bucket,
            )
        };
        let objects = batch
            .iter()
            .map(|k| ObjectIdentifier::builder().key(k.as_str()).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(invalid)?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(invalid)?;
        let out = self
            .sdk
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| self.sdk_error(e, "delete_many", &self.bucket))?;
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

    /// One `CopyObject` within the bucket, metadata and tags included, encrypted as the
    /// store's defaults say (an SSE-C source is read with the default key). `create_only`
    /// sends `If-None-Match: *`.
    pub(crate) async fn copy_object(
        &self,
        from: &ObjectKey,
        to: &ObjectKey,
        create_only: bool,
        operation: &'static str,
    ) -> Result<()> {
        let request = self
            .sdk
            .copy_object()
            .bucket(&self.bucket)
            .key(to.as_str())
            .copy_source(encode_copy_source(&self.bucket, from.as_str()))
            .metadata_directive(MetadataDirective::Copy)
            .set_if_none_match(create_only.then(|| "*".to_owned()));
        let request = with_copy_source_key!(request, self.defaults.customer_key());
        with_encryption!(request, self.defaults.encryption.as_ref())
            .send()
            .await
            .map_err(|e| {
                let err = self.sdk_error(e, operation, from.as_str());
                if create_only {
                    conditional_error(err, &PutMode::CreateOnly, operation, to)
                } else {
                    err
                }
            })?;
        Ok(())
    }

    /// One `ListObjectsV2` page, keys decoded and sorted, the continuation token as a cursor.
    pub(crate) async fn list_page(
        &self,
        options: &ListOptions,
        cursor: Option<Cursor>,
    ) -> Result<ListPage> {
        let target = options.prefix.clone().unwrap_or_default();
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
            .sdk
            .list_objects_v2()
            .bucket(&self.bucket)
            .set_prefix(options.prefix.clone().filter(|p| !p.is_empty()))
            .set_delimiter(options.delimiter.clone().filter(|d| !d.is_empty()))
            .max_keys(page_size as i32)
            // S3 reads StartAfter on the first page; the token carries the position after it.
            .set_start_after(
                options
                    .start_after
                    .clone()
                    .filter(|_| token.is_none())
                    .filter(|s| !s.is_empty()),
            )
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
            page.objects.push(object_meta(
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
        Ok(page)
    }

    /// A presigned URL for `method` on `key`, valid for `expires_in` (1 s to 7 days).
    pub(crate) async fn presign(
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
                .sdk
                .get_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .presigned(config)
                .await
                .map_err(|e| self.sdk_error(e, "presign", key.as_str()))?,
            PresignMethod::Put => self
                .sdk
                .put_object()
                .bucket(&self.bucket)
                .key(key.as_str())
                .presigned(config)
                .await
                .map_err(|e| self.sdk_error(e, "presign", key.as_str()))?,
        };
        Ok(request.uri().to_owned())
    }

    /// `HeadBucket`: whether the bucket answers, errors naming `operation`.
    pub(crate) async fn head_bucket(&self, operation: &'static str) -> Result<()> {
        self.sdk
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| self.sdk_error(e, operation, &self.bucket))?;
        Ok(())
    }
}

/// The portable metadata in a `HeadObject` answer.
pub(crate) fn meta_of_head(key: &ObjectKey, out: &HeadObjectOutput) -> ObjectMeta {
    object_meta(
        key,
        out.content_length().unwrap_or(0).max(0) as u64,
        out.e_tag(),
        out.last_modified(),
        out.content_type(),
        out.metadata(),
    )
}
