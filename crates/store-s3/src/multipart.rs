//! Multipart uploads and copies: bounded memory and concurrency, per-part retries, and an
//! abort on every failure path so no upload is left behind.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::RequestChecksumCalculation;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use aws_sdk_s3::types::{ChecksumType, CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use store_core::object::{ObjectMeta, PutMode, PutOptions, PutResult};
use store_core::{ObjectKey, Result, RetryPolicy, StoreError, retry};
use tokio::task::JoinHandle;

use crate::client::BucketClient;
use crate::encode::{encode_copy_source, quote_etag};
use crate::error::{conditional_error, local, map_sdk_error};
use crate::meta_text::sdk_metadata;
use crate::options::{
    Checksum, CustomerKey, S3PutOptions, with_copy_source_key, with_customer_key, with_encryption,
    with_put_options,
};
use crate::transfer::{MAX_OBJECT_SIZE, MAX_PARTS, MIB, TransferConfig};

mod source;

pub(crate) use source::Source;

/// The smallest part a multipart copy uses when its threshold is the default.
const COPY_PART: u64 = 512 * MIB;

/// Everything a part upload task needs, cheap to clone.
#[derive(Clone)]
struct Upload {
    client: Client,
    bucket: String,
    key: ObjectKey,
    upload_id: String,
    policy: RetryPolicy,
    /// The checksum every part carries.
    checksum: Option<Checksum>,
    /// The SSE-C key every part is encrypted with.
    customer_key: Option<CustomerKey>,
    /// Whether the parts' bytes are signed (see [`TransferConfig::sign_part_payloads`]).
    sign_payload: bool,
}

impl Upload {
    /// Uploads part `number`; gives its bytes back with the completed part, so the upload can
    /// read its next part into the same buffer.
    async fn part(self, number: i32, body: Bytes) -> Result<(CompletedPart, Bytes)> {
        let out = retry(&self.policy, || {
            let body = body.clone();
            let this = &self;
            async move {
                let request = this
                    .client
                    .upload_part()
                    .bucket(&this.bucket)
                    .key(this.key.as_str())
                    .upload_id(&this.upload_id)
                    .part_number(number)
                    .content_length(body.len() as i64)
                    .body(SdkByteStream::from(body))
                    .set_checksum_algorithm(this.checksum.map(Checksum::sdk));
                let mut request = with_customer_key!(request, this.customer_key.as_ref())
                    .customize()
                    .config_override(
                        aws_sdk_s3::config::Builder::default()
                            .retry_config(RetryConfig::disabled()),
                    );
                if !this.sign_payload {
                    // The part's checksum, checked by S3, covers its bytes.
                    request = request.disable_payload_signing();
                }
                request
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(e, "upload_part", &this.bucket, this.key.as_str()))
            }
        })
        .await?;
        // Each part's checksum goes back in CompleteMultipartUpload, which S3 checks.
        let completed = CompletedPart::builder()
            .part_number(number)
            .set_e_tag(out.e_tag().map(str::to_owned))
            .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
            .set_checksum_crc32_c(out.checksum_crc32_c().map(str::to_owned))
            .set_checksum_crc64_nvme(out.checksum_crc64_nvme().map(str::to_owned))
            .set_checksum_sha1(out.checksum_sha1().map(str::to_owned))
            .set_checksum_sha256(out.checksum_sha256().map(str::to_owned))
            .build();
        Ok((completed, body))
    }

    async fn abort(&self) {
        let outcome = retry(&self.policy, || async {
            self.client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(self.key.as_str())
                .upload_id(&self.upload_id)
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "abort_upload", &self.bucket, self.key.as_str()))
        })
        .await;
        match outcome {
            Ok(_) => tracing::debug!(key = self.key.as_str(), "multipart upload aborted"),
            Err(e) if e.kind() == store_core::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(
                key = self.key.as_str(),
                error = %e,
                "could not abort a multipart upload; a bucket lifecycle rule should clean it up"
            ),
        }
    }
}

/// Aborts the upload and its part tasks if dropped while armed (a cancelled future).
struct AbortGuard {
    upload: Option<Upload>,
    tasks: Vec<tokio::task::AbortHandle>,
}

impl Drop for AbortGuard {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        if let Some(upload) = self.upload.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move { upload.abort().await });
        }
    }
}

/// The portable and the S3 options of one write.
pub(crate) struct WriteOptions<'a> {
    pub(crate) options: PutOptions,
    pub(crate) s3: &'a S3PutOptions,
}

/// Stores a stream: a single `PutObject` when it ends within the threshold, else a multipart
/// upload. `size` (when known) chooses the part size; otherwise parts grow so that 10,000
/// of them hold 5 TiB.
pub(crate) async fn upload(
    client: &BucketClient,
    transfer: &TransferConfig,
    key: &ObjectKey,
    mut source: Source,
    write: WriteOptions<'_>,
    size: Option<u64>,
    operation: &'static str,
) -> Result<PutResult> {
    let WriteOptions { options, s3 } = write;
    let ctx = |e: StoreError| e.in_context(crate::BACKEND, operation);
    s3.validate()
        .map_err(|e| ctx(e.with_target(key.as_str())))?;
    if let Some(size) = size
        && size > MAX_OBJECT_SIZE
    {
        return Err(ctx(StoreError::invalid_input(format!(
            "an object of {size} bytes is larger than S3's 5 TiB limit"
        ))
        .with_target(key.as_str())));
    }
    let threshold = transfer.multipart_threshold;
    let part_size = |number: u64| match size {
        Some(size) => transfer.part_size_for(size),
        None => transfer.part_size_at(number),
    };

    // Read up to the threshold: a small body is one PutObject. A file known to be larger goes
    // straight to its parts; a file that turns out larger than its size said is sent in parts.
    let threshold_read = threshold.saturating_add(1);
    let peek = match size {
        Some(size) if source.is_file() && size > threshold => None,
        Some(size) if source.is_file() => Some(size.saturating_add(1).min(threshold_read)),
        _ => Some(threshold_read),
    };
    if let Some(want) = peek {
        let want = usize::try_from(want).unwrap_or(usize::MAX);
        let (first, ended) = source.fill(BytesMut::new(), want).await.map_err(ctx)?;
        if ended && first.len() as u64 <= threshold {
            let _guard = client.condition_lock(key, &options.mode).await;
            return client
                .put_object(key, first.freeze(), &options, s3, operation)
                .await;
        }
        source.unread(first.freeze());
    }

    // Fail fast on metadata S3 cannot take or a condition that already does not hold,
    // before sending gigabytes.
    let metadata = sdk_metadata(&options.metadata)?;
    client.check_put_mode(key, &options.mode, operation).await?;
    let create = client
        .sdk()
        .create_multipart_upload()
        .bucket(client.bucket())
        .key(key.as_str())
        .set_content_type(options.content_type.clone())
        .set_metadata(metadata)
        .set_checksum_algorithm(s3.checksum.map(Checksum::sdk))
        .set_checksum_type(s3.checksum.map(checksum_type));
    let created = with_put_options!(create, s3)
        .send()
        .await
        .map_err(|e| client.sdk_error(e, operation, key.as_str()))?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let upload = Upload {
        client: client.sdk().clone(),
        bucket: client.bucket().to_owned(),
        key: key.clone(),
        upload_id,
        policy: transfer.part_retry.clone(),
        checksum: s3.checksum,
        customer_key: s3.customer_key().cloned(),
        sign_payload: transfer.sign_part_payloads
            || !parts_carry_checksum(client.sdk(), s3.checksum),
    };
    let mut guard = AbortGuard {
        upload: Some(upload.clone()),
        tasks: Vec::new(),
    };
    let outcome = async {
        let mut in_flight: FuturesUnordered<JoinHandle<Result<(CompletedPart, Bytes)>>> =
            FuturesUnordered::new();
        let mut parts = Parts::default();
        let mut number: u64 = 1;
        loop {
            // Each part is a buffer of its size from the start (a finished part's, or a new
            // one): no byte is copied again by a growing buffer's reallocations, and a part
            // in flight holds its own bytes only.
            let want = part_size(number) as usize;
            let (part, finished) = source.fill(parts.buffer(want), want).await?;
            if part.is_empty() {
                if number == 1 {
                    // Only a file skips the peek, and only when it was larger than the
                    // threshold: it was emptied since, and an upload of no parts is refused.
                    return Err(StoreError::invalid_input(
                        "the file was empty when read, though larger than the multipart \
                         threshold when opened: it changed during the upload",
                    ));
                }
                break;
            }
            if number > MAX_PARTS {
                return Err(StoreError::invalid_input(
                    "the stream needs more than 10,000 parts",
                ));
            }
            while in_flight.len() >= transfer.concurrency {
                parts.done(join(in_flight.next().await)?);
            }
            let task = tokio::spawn(upload.clone().part(number as i32, part.freeze()));
            guard.tasks.push(task.abort_handle());
            in_flight.push(task);
            number += 1;
            if finished {
                break;
            }
        }
        while let Some(done) = in_flight.next().await {
            parts.done(join(Some(done))?);
        }
        let parts = parts.completed();
        let _lock = client.condition_lock(key, &options.mode).await;
        // Servers that ignore conditions on CompleteMultipartUpload are covered by this check.
        client.check_put_mode(key, &options.mode, operation).await?;
        let complete = client
            .sdk()
            .complete_multipart_upload()
            .bucket(client.bucket())
            .key(key.as_str())
            .upload_id(&upload.upload_id)
            .set_checksum_type(s3.checksum.map(checksum_type))
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        let mut complete = with_customer_key!(complete, s3.customer_key());
        complete = match &options.mode {
            PutMode::Overwrite => complete,
            PutMode::CreateOnly => complete.if_none_match("*"),
            PutMode::IfMatch(etag) => complete.if_match(quote_etag(etag)),
        };
        let out = complete.send().await.map_err(|e| {
            let err = client.sdk_error(e, operation, key.as_str());
            conditional_error(err, &options.mode, operation, key)
        })?;
        Ok(PutResult {
            etag: out.e_tag().map(str::to_owned),
            version: out.version_id().map(str::to_owned),
        })
    }
    .await;
    match outcome {
        Ok(result) => {
            guard.upload = None;
            guard.tasks.clear();
            Ok(result)
        }
        Err(e) => {
            for task in guard.tasks.drain(..) {
                task.abort();
            }
            if let Some(upload) = guard.upload.take() {
                upload.abort().await;
            }
            Err(local(e, operation, key.as_str()))
        }
    }
}

/// Whether every part goes with a checksum S3 checks: one the options name, or the SDK's
/// CRC32 while its request checksums are on (its default). Without one, a part's bytes are
/// signed whatever [`TransferConfig::sign_part_payloads`] says.
fn parts_carry_checksum(client: &Client, checksum: Option<Checksum>) -> bool {
    checksum.is_some()
        || !matches!(
            client.config().request_checksum_calculation(),
            Some(RequestChecksumCalculation::WhenRequired)
        )
}

/// How S3 combines the parts' checksums: CRC-64/NVME only whole-object, the others
/// composite (a checksum of the parts' checksums, `…-N`).
fn checksum_type(checksum: Checksum) -> ChecksumType {
    match checksum {
        Checksum::Crc64Nvme => ChecksumType::FullObject,
        _ => ChecksumType::Composite,
    }
}

/// The parts of an upload as they complete, and the buffers they give back.
#[derive(Default)]
struct Parts {
    completed: Vec<CompletedPart>,
    /// Buffers of finished parts, emptied, for the parts still to read: an upload allocates
    /// `concurrency + 1` of them however many parts it has, so the allocator is not asked for
    /// (and does not keep) a fresh part-sized block per part.
    spare: Vec<BytesMut>,
}

impl Parts {
    fn done(&mut self, (part, body): (CompletedPart, Bytes)) {
        self.completed.push(part);
        // The part's bytes are ours alone once its request is over; the buffer keeps its
        // length, so a file read into it again needs no zeroing first.
        if let Ok(buffer) = body.try_into_mut() {
            self.spare.push(buffer);
        }
    }

    /// A buffer holding `size` bytes, its contents stale: a spare one when one is large
    /// enough, else a zeroed one (fresh pages from the allocator, written only when read into).
    fn buffer(&mut self, size: usize) -> BytesMut {
        match self.spare.iter().position(|b| b.capacity() >= size) {
            Some(at) => self.spare.swap_remove(at),
            None => BytesMut::zeroed(size),
        }
    }

    /// The completed parts in order, as `CompleteMultipartUpload` lists them.
    fn completed(mut self) -> Vec<CompletedPart> {
        self.completed.sort_by_key(|p| p.part_number());
        self.completed
    }
}

fn join(
    done: Option<std::result::Result<Result<(CompletedPart, Bytes)>, tokio::task::JoinError>>,
) -> Result<(CompletedPart, Bytes)> {
    match done {
        Some(Ok(part)) => part,
        Some(Err(e)) => Err(StoreError::internal(format!(
            "a part upload task failed: {e}"
        ))),
        None => Err(StoreError::internal("no part upload was in flight")),
    }
}

/// Copies an object larger than the single-copy limit with `UploadPartCopy`; `create_only`
/// sends `If-None-Match: *` with the completion.
pub(crate) async fn copy(
    client: &BucketClient,
    transfer: &TransferConfig,
    source: &ObjectMeta,
    to: &ObjectKey,
    create_only: bool,
) -> Result<()> {
    let part_size = transfer
        .part_size_for(source.size)
        .max(transfer.multipart_copy_threshold.min(COPY_PART));
    let customer_key = client.defaults().customer_key().cloned();
    let create = client
        .sdk()
        .create_multipart_upload()
        .bucket(client.bucket())
        .key(to.as_str())
        .set_content_type(source.content_type.clone())
        .set_metadata(sdk_metadata(&source.metadata)?);
    let created = with_encryption!(create, client.defaults().encryption.as_ref())
        .send()
        .await
        .map_err(|e| client.sdk_error(e, "copy", to.as_str()))?;
    let upload = Upload {
        client: client.sdk().clone(),
        bucket: client.bucket().to_owned(),
        key: to.clone(),
        upload_id: created.upload_id().unwrap_or_default().to_owned(),
        policy: transfer.part_retry.clone(),
        checksum: None,
        customer_key,
        sign_payload: transfer.sign_part_payloads,
    };
    let mut guard = AbortGuard {
        upload: Some(upload.clone()),
        tasks: Vec::new(),
    };
    let copy_source = encode_copy_source(client.bucket(), source.key.as_str());
    let if_match = source.etag.clone();
    let count = source.size.div_ceil(part_size);
    let outcome: Result<()> = async {
        let mut parts: Vec<CompletedPart> = futures::stream::iter(0..count)
            .map(|i| {
                let upload = &upload;
                let copy_source = &copy_source;
                let if_match = &if_match;
                async move {
                    let start = i * part_size;
                    let end = (start + part_size).min(source.size) - 1;
                    let number = (i + 1) as i32;
                    let out = retry(&upload.policy, || async {
                        let key = upload.customer_key.as_ref();
                        let request = upload
                            .client
                            .upload_part_copy()
                            .bucket(&upload.bucket)
                            .key(upload.key.as_str())
                            .upload_id(&upload.upload_id)
                            .part_number(number)
                            .copy_source(copy_source)
                            .copy_source_range(format!("bytes={start}-{end}"))
                            .set_copy_source_if_match(if_match.clone());
                        let request = with_copy_source_key!(request, key);
                        with_customer_key!(request, key).send().await.map_err(|e| {
                            map_sdk_error(e, "copy", &upload.bucket, source.key.as_str())
                        })
                    })
                    .await?;
                    Ok::<_, StoreError>(
                        CompletedPart::builder()
                            .part_number(number)
                            .set_e_tag(
                                out.copy_part_result()
                                    .and_then(|r| r.e_tag())
                                    .map(str::to_owned),
                            )
                            .build(),
                    )
                }
            })
            .buffer_unordered(transfer.concurrency)
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_>>()?;
        parts.sort_by_key(|p| p.part_number());
        let complete = client
            .sdk()
            .complete_multipart_upload()
            .bucket(client.bucket())
            .key(to.as_str())
            .upload_id(&upload.upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            );
        with_customer_key!(complete, upload.customer_key.as_ref())
            .set_if_none_match(create_only.then(|| "*".to_owned()))
            .send()
            .await
            .map_err(|e| {
                let err = client.sdk_error(e, "copy", to.as_str());
                match create_only {
                    true => conditional_error(err, &PutMode::CreateOnly, "copy", to),
                    false => err,
                }
            })?;
        Ok(())
    }
    .await;
    match outcome {
        Ok(()) => {
            guard.upload = None;
            Ok(())
        }
        Err(e) => {
            if let Some(upload) = guard.upload.take() {
                upload.abort().await;
            }
            Err(e)
        }
    }
}
