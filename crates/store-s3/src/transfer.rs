//! [`TransferConfig`] and S3's size limits: how large transfers are split.

use std::time::Duration;

use store_core::{Result, RetryPolicy, StoreError};

/// One MiB.
pub(crate) const MIB: u64 = 1024 * 1024;
/// The smallest part S3 accepts (except the last part of an upload).
pub const MIN_PART_SIZE: u64 = 5 * MIB;
/// The largest part S3 accepts.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;
/// The most parts one multipart upload may have.
pub const MAX_PARTS: u64 = 10_000;
/// The largest object S3 stores (5 TiB).
pub const MAX_OBJECT_SIZE: u64 = 5 * 1024 * 1024 * MIB;
/// The largest object one `CopyObject` call copies (5 GiB); larger copies go multipart.
pub const MAX_SINGLE_COPY: u64 = 5 * 1024 * MIB;

/// How large transfers are split: multipart thresholds, part size and concurrency.
///
/// Memory held by one upload is at most `(concurrency + 1) × part size`; the part size grows
/// only when an object would otherwise need more than 10,000 parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferConfig {
    /// Streams and files larger than this are uploaded in parts (default 8 MiB).
    pub multipart_threshold: u64,
    /// The size of each part (default 8 MiB, at least 5 MiB).
    pub part_size: u64,
    /// Requests in flight at once per upload, copy or `delete_many` (default 4). An upload
    /// holds each part in memory until it is acknowledged, so this bounds its memory to about
    /// `concurrency × part_size`.
    pub concurrency: usize,
    /// Ranged GETs in flight at once per `download_file` (default 6). A download holds only a
    /// write buffer of 256 KiB (and its connection's buffers) per part, so it affords more
    /// requests in flight than an upload.
    pub download_concurrency: usize,
    /// Retries of one part on retryable errors (the SDK's own retry is off for parts, so the
    /// two never stack).
    pub part_retry: RetryPolicy,
    /// Copies of objects larger than this use multipart copy (default 5 GiB, S3's limit).
    pub multipart_copy_threshold: u64,
    /// How many times a download whose connection broke resumes from where it stopped
    /// (default 3).
    pub download_resumes: u32,
    /// Whether each part's bytes are hashed into its SigV4 signature (default `false`). A
    /// part's integrity is checked by S3 against the checksum it carries (CRC32 unless
    /// [`S3PutOptions`](crate::S3PutOptions) names another), so the signature covers its
    /// headers only, as AWS's transfer manager sends parts and boto3 does over HTTPS; turn this
    /// on to also sign every byte (a SHA-256 pass over the whole upload) when parts travel
    /// over plain HTTP through a network you do not trust. Parts that would carry no checksum
    /// (a client of your own set to `RequestChecksumCalculation::WhenRequired`, no checksum
    /// in the options) are always signed.
    pub sign_part_payloads: bool,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self {
            multipart_threshold: 8 * MIB,
            part_size: 8 * MIB,
            concurrency: 4,
            download_concurrency: 6,
            part_retry: RetryPolicy::default()
                .max_attempts(6)
                .base_delay(Duration::from_millis(200))
                .max_delay(Duration::from_secs(5)),
            multipart_copy_threshold: MAX_SINGLE_COPY,
            download_resumes: 3,
            sign_part_payloads: false,
        }
    }
}

impl TransferConfig {
    /// Checks the limits S3 imposes.
    pub fn validate(&self) -> Result<()> {
        if !(MIN_PART_SIZE..=MAX_PART_SIZE).contains(&self.part_size) {
            return Err(StoreError::invalid_input(format!(
                "the part size must be from 5 MiB to 5 GiB, not {} bytes",
                self.part_size
            )));
        }
        if self.multipart_threshold < self.part_size.min(MIN_PART_SIZE) {
            return Err(StoreError::invalid_input(
                "the multipart threshold must be at least 5 MiB",
            ));
        }
        if self.concurrency == 0 || self.download_concurrency == 0 {
            return Err(StoreError::invalid_input(
                "the transfer and download concurrency must be at least 1",
            ));
        }
        if !(MIN_PART_SIZE..=MAX_SINGLE_COPY).contains(&self.multipart_copy_threshold) {
            return Err(StoreError::invalid_input(
                "the multipart copy threshold must be from 5 MiB to 5 GiB",
            ));
        }
        Ok(())
    }

    /// The part size for an object of `size` bytes: the configured size, grown (in whole MiB)
    /// so that no more than 10,000 parts are needed.
    pub fn part_size_for(&self, size: u64) -> u64 {
        let needed = size.div_ceil(MAX_PARTS).div_ceil(MIB) * MIB;
        self.part_size.max(needed).min(MAX_PART_SIZE)
    }

    /// The part size of part `number` (1-based) of a stream of unknown length: the configured
    /// size for the first 1,000 parts, doubling every 1,000 parts after, so 10,000 parts hold
    /// more than 5 TiB.
    pub fn part_size_at(&self, number: u64) -> u64 {
        let doublings = (number.saturating_sub(1) / 1_000).min(20) as u32;
        self.part_size
            .saturating_mul(1u64 << doublings)
            .min(MAX_PART_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_size_keeps_parts_under_ten_thousand() {
        let t = TransferConfig::default();
        assert_eq!(t.part_size_for(100 * MIB), 8 * MIB);
        for size in [80_000 * MIB, MAX_OBJECT_SIZE, 123_456_789_012] {
            let part = t.part_size_for(size);
            assert!((MIN_PART_SIZE..=MAX_PART_SIZE).contains(&part));
            assert!(size.div_ceil(part) <= MAX_PARTS, "{size}: {part}");
        }
        let total: u64 = (1..=MAX_PARTS).map(|n| t.part_size_at(n)).sum();
        assert!(total >= MAX_OBJECT_SIZE, "10,000 growing parts hold 5 TiB");
        assert_eq!(t.part_size_at(1), 8 * MIB);
        assert_eq!(t.part_size_at(1001), 16 * MIB);
    }
}
