//! Object bodies that resume after a broken connection.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream as SdkByteStream;
use futures::StreamExt;
use store_core::object::ByteStream;
use store_core::{ObjectKey, StoreError};

use crate::BACKEND;
use crate::encode::{parse_content_range, quote_etag};
use crate::error::map_sdk_error;
use crate::options::{ReadOptions, with_customer_key};

/// A body being downloaded: bytes `next..end` of the object are still to come.
///
/// When the connection breaks (or ends early), the rest is asked for again with a ranged get
/// conditioned on the same etag, so a changed object is never spliced onto the old one.
pub(crate) struct Download {
    pub(crate) client: Client,
    pub(crate) bucket: String,
    pub(crate) key: ObjectKey,
    /// The version and SSE-C key the body is read with.
    pub(crate) read: ReadOptions,
    pub(crate) etag: Option<String>,
    /// Offset in the object of the next byte to yield.
    pub(crate) next: u64,
    /// One past the last byte to yield.
    pub(crate) end: u64,
    /// Bytes of the current response to discard before `next` (servers that ignore ranges).
    pub(crate) skip: u64,
    pub(crate) stream: Option<SdkByteStream>,
    pub(crate) resumes_left: u32,
}

impl Download {
    /// The body as a stream of chunks.
    pub(crate) fn into_stream(self) -> ByteStream {
        futures::stream::unfold(self, |mut d| async move {
            loop {
                if d.next >= d.end {
                    return d.finish().await.map(|e| (Err(e), d));
                }
                let stream = d.stream.as_mut()?;
                let failure = match stream.next().await {
                    Some(Ok(mut chunk)) => {
                        if d.skip > 0 {
                            let n = d.skip.min(chunk.len() as u64);
                            let _ = chunk.split_to(n as usize);
                            d.skip -= n;
                        }
                        let remaining = d.end - d.next;
                        if chunk.len() as u64 > remaining {
                            chunk.truncate(remaining as usize);
                        }
                        if chunk.is_empty() {
                            continue;
                        }
                        d.next += chunk.len() as u64;
                        return Some((Ok(chunk), d));
                    }
                    Some(Err(e)) => StoreError::unavailable(format!(
                        "the download broke at byte {} of {}: {e}",
                        d.next, d.end
                    ))
                    .with_source(e),
                    None => StoreError::unavailable(format!(
                        "the connection closed at byte {} of {}",
                        d.next, d.end
                    )),
                };
                let failure = failure
                    .with_backend(BACKEND)
                    .with_operation("get")
                    .with_target(d.key.as_str());
                // A verified read is never resumed: the rest of the body could not be checked.
                if d.resumes_left == 0 || d.etag.is_none() || d.read.verify_checksum {
                    d.stream = None;
                    return Some((Err(failure), d));
                }
                d.resumes_left -= 1;
                tracing::warn!(
                    key = d.key.as_str(),
                    at = d.next,
                    of = d.end,
                    error = %failure,
                    "resuming a broken download"
                );
                if let Err(e) = d.reopen().await {
                    d.stream = None;
                    return Some((Err(e), d));
                }
            }
        })
        .boxed()
    }

    /// After the last wanted byte: a verified body is read to its end, where the SDK compares
    /// the checksum, and a mismatch is returned as an `Internal` error naming the key.
    async fn finish(&mut self) -> Option<StoreError> {
        let mut stream = self.stream.take()?;
        if !self.read.verify_checksum {
            return None;
        }
        while let Some(chunk) = stream.next().await {
            if let Err(e) = chunk {
                let message = format!("the body does not match its stored checksum: {e}");
                return Some(
                    StoreError::internal(message)
                        .with_backend(BACKEND)
                        .with_operation("get")
                        .with_target(self.key.as_str())
                        .with_source(e),
                );
            }
        }
        None
    }

    /// Asks for the remaining bytes again, with a short pause first.
    async fn reopen(&mut self) -> store_core::Result<()> {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key.as_str())
            .range(format!("bytes={}-{}", self.next, self.end - 1))
            .set_if_match(self.etag.as_deref().map(quote_etag))
            .set_version_id(self.read.version_id.clone());
        let out = with_customer_key!(request, self.read.customer_key.as_ref())
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "get", &self.bucket, self.key.as_str()))?;
        let start = out
            .content_range()
            .and_then(parse_content_range)
            .map_or(0, |(start, _, _)| start);
        self.skip = self.next.saturating_sub(start);
        self.stream = Some(out.body);
        Ok(())
    }
}
