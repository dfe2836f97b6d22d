//! S3's own write and read options beyond the portable ones of `store_core::object`:
//! server-side encryption, checksums, storage class, tags, version ids.
//!
//! A store carries defaults for writes ([`S3StoreBuilder::put_defaults`](crate::S3StoreBuilder::put_defaults)),
//! used by every write through the [`ObjectStore`](store_core::ObjectStore) trait; the
//! `*_with` methods of [`S3Store`](crate::S3Store) take them per call.

use std::collections::BTreeMap;
use std::fmt;

use aws_sdk_s3::types::{ChecksumAlgorithm, ServerSideEncryption, StorageClass};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use store_core::{Result, StoreError};

/// Server-side encryption of an object.
#[derive(Clone, PartialEq, Eq)]
pub enum Encryption {
    /// SSE-S3: keys managed by S3 (AES-256).
    S3,
    /// SSE-KMS: a KMS key (the account's default `aws/s3` key when `key_id` is `None`), and
    /// optionally an S3 Bucket Key to cut KMS calls.
    Kms {
        /// The KMS key id or ARN.
        key_id: Option<String>,
        /// Whether to use an S3 Bucket Key.
        bucket_key: bool,
    },
    /// SSE-C: a 256-bit key of yours that S3 uses and forgets; every read, head and copy of
    /// the object must present it again.
    Customer(CustomerKey),
}

impl fmt::Debug for Encryption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::S3 => f.write_str("S3"),
            Self::Kms { key_id, bucket_key } => f
                .debug_struct("Kms")
                .field("key_id", key_id)
                .field("bucket_key", bucket_key)
                .finish(),
            Self::Customer(key) => f.debug_tuple("Customer").field(key).finish(),
        }
    }
}

/// An SSE-C key: 32 bytes, never shown by `Debug` nor put in any error or log.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomerKey {
    key: [u8; 32],
}

impl CustomerKey {
    /// A key from its 32 bytes.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// A key from its base64 text (as the AWS CLI takes it); anything but 32 bytes is
    /// `InvalidInput` (the message never contains the text).
    pub fn from_base64(text: &str) -> Result<Self> {
        let bytes = STANDARD.decode(text.trim()).map_err(|_| {
            StoreError::invalid_input("an SSE-C key must be base64 (its text is not shown)")
        })?;
        let key: [u8; 32] = bytes.try_into().map_err(|bytes: Vec<u8>| {
            StoreError::invalid_input(format!(
                "an SSE-C key must be 32 bytes (AES-256), this one has {}",
                bytes.len()
            ))
        })?;
        Ok(Self { key })
    }

    /// The key in base64, as S3's header carries it.
    pub(crate) fn base64(&self) -> String {
        STANDARD.encode(self.key)
    }

    /// The base64 MD5 of the key, which S3 checks the key against.
    pub(crate) fn md5_base64(&self) -> String {
        STANDARD.encode(Md5::digest(self.key))
    }
}

impl fmt::Debug for CustomerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CustomerKey(<redacted>)")
    }
}

/// A checksum S3 computes and stores with an object, sent with the body (and with each part
/// of a multipart upload) so S3 refuses a body damaged on the way, and checked again on reads
/// by [`S3Store::get_with`](crate::S3Store::get_with) with [`ReadOptions::verify_checksum`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Checksum {
    /// CRC-32.
    Crc32,
    /// CRC-32C (Castagnoli).
    Crc32c,
    /// CRC-64/NVME (whole-object even for multipart uploads).
    Crc64Nvme,
    /// SHA-1.
    Sha1,
    /// SHA-256.
    Sha256,
}

impl Checksum {
    /// The SDK's name for it.
    pub(crate) fn sdk(self) -> ChecksumAlgorithm {
        match self {
            Self::Crc32 => ChecksumAlgorithm::Crc32,
            Self::Crc32c => ChecksumAlgorithm::Crc32C,
            Self::Crc64Nvme => ChecksumAlgorithm::Crc64Nvme,
            Self::Sha1 => ChecksumAlgorithm::Sha1,
            Self::Sha256 => ChecksumAlgorithm::Sha256,
        }
    }
}

/// S3's options of a write: encryption, checksum, storage class and tags.
///
/// ```
/// use store_s3::{Checksum, Encryption, S3PutOptions};
/// let options = S3PutOptions::new()
///     .encryption(Encryption::Kms { key_id: Some("alias/orders".into()), bucket_key: true })
///     .checksum(Checksum::Crc32c)
///     .storage_class("STANDARD_IA")
///     .tag("team", "billing");
/// assert!(options.validate().is_ok());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct S3PutOptions {
    /// Server-side encryption (none: the bucket's default).
    pub encryption: Option<Encryption>,
    /// The checksum sent with the body (none: the SDK's default CRC-32 where it sends one).
    pub checksum: Option<Checksum>,
    /// The storage class, e.g. `STANDARD_IA`, `INTELLIGENT_TIERING`, `GLACIER_IR`.
    pub storage_class: Option<String>,
    /// Object tags (S3 allows 10, keys up to 128 and values up to 256 characters).
    pub tags: BTreeMap<String, String>,
}

/// The most tags S3 keeps on an object.
pub const MAX_TAGS: usize = 10;

impl S3PutOptions {
    /// No S3-specific option.
    pub fn new() -> Self {
        Self::default()
    }

    /// Encrypts with `encryption`.
    pub fn encryption(mut self, encryption: Encryption) -> Self {
        self.encryption = Some(encryption);
        self
    }

    /// Sends and stores this checksum.
    pub fn checksum(mut self, checksum: Checksum) -> Self {
        self.checksum = Some(checksum);
        self
    }

    /// Stores in this storage class.
    pub fn storage_class(mut self, class: impl Into<String>) -> Self {
        self.storage_class = Some(class.into());
        self
    }

    /// Adds one tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Checks the options against S3's documented limits: at most 10 tags, tag keys of 1 to
    /// 128 characters and values up to 256, both of letters, digits, spaces and
    /// `_ . : / = + - @`; a non-empty storage class and KMS key id.
    pub fn validate(&self) -> Result<()> {
        if self.tags.len() > MAX_TAGS {
            return Err(StoreError::invalid_input(format!(
                "S3 keeps at most {MAX_TAGS} tags on an object, {} given",
                self.tags.len()
            )));
        }
        for (key, value) in &self.tags {
            let key_len = key.chars().count();
            if key_len == 0 || key_len > 128 {
                return Err(StoreError::invalid_input(format!(
                    "a tag key must have 1 to 128 characters, `{key}` has {key_len}"
                )));
            }
            if value.chars().count() > 256 {
                return Err(StoreError::invalid_input(format!(
                    "the value of tag `{key}` is longer than 256 characters"
                )));
            }
            if let Some(bad) = key.chars().chain(value.chars()).find(|c| !tag_char(*c)) {
                return Err(StoreError::invalid_input(format!(
                    "tag `{key}` has `{bad}`: S3 takes letters, digits, spaces and _ . : / = + - @"
                )));
            }
        }
        if self.storage_class.as_deref().is_some_and(str::is_empty) {
            return Err(StoreError::invalid_input("a storage class cannot be empty"));
        }
        if let Some(Encryption::Kms {
            key_id: Some(id), ..
        }) = &self.encryption
            && id.trim().is_empty()
        {
            return Err(StoreError::invalid_input("a KMS key id cannot be empty"));
        }
        Ok(())
    }

    /// The options of `self` with those of `defaults` where `self` has none (tags: `self`'s
    /// when it has any).
    pub(crate) fn or(&self, defaults: &Self) -> Self {
        Self {
            encryption: self
                .encryption
                .clone()
                .or_else(|| defaults.encryption.clone()),
            checksum: self.checksum.or(defaults.checksum),
            storage_class: self
                .storage_class
                .clone()
                .or_else(|| defaults.storage_class.clone()),
            tags: if self.tags.is_empty() {
                defaults.tags.clone()
            } else {
                self.tags.clone()
            },
        }
    }

    /// The SSE-C key, if the encryption is SSE-C.
    pub(crate) fn customer_key(&self) -> Option<&CustomerKey> {
        match &self.encryption {
            Some(Encryption::Customer(key)) => Some(key),
            _ => None,
        }
    }

    /// The `x-amz-tagging` header value (URL-encoded `k=v&…`), if there are tags.
    pub(crate) fn tagging(&self) -> Option<String> {
        (!self.tags.is_empty()).then(|| {
            self.tags
                .iter()
                .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
                .collect::<Vec<_>>()
                .join("&")
        })
    }

    /// The SDK's storage class.
    pub(crate) fn sdk_storage_class(&self) -> Option<StorageClass> {
        self.storage_class.as_deref().map(StorageClass::from)
    }
}

/// The `server-side-encryption`, KMS key id and bucket-key fields of a write.
pub(crate) struct SseFields {
    pub(crate) algorithm: Option<ServerSideEncryption>,
    pub(crate) kms_key_id: Option<String>,
    pub(crate) bucket_key: Option<bool>,
}

impl SseFields {
    /// The fields for `encryption` (SSE-C goes in the customer-key fields instead).
    pub(crate) fn of(encryption: Option<&Encryption>) -> Self {
        match encryption {
            Some(Encryption::S3) => Self {
                algorithm: Some(ServerSideEncryption::Aes256),
                kms_key_id: None,
                bucket_key: None,
            },
            Some(Encryption::Kms { key_id, bucket_key }) => Self {
                algorithm: Some(ServerSideEncryption::AwsKms),
                kms_key_id: key_id.clone(),
                bucket_key: bucket_key.then_some(true),
            },
            Some(Encryption::Customer(_)) | None => Self {
                algorithm: None,
                kms_key_id: None,
                bucket_key: None,
            },
        }
    }
}

/// Whether S3 takes `c` in a tag key or value (`[\p{L}\p{Z}\p{N}_.:/=+\-@]`).
fn tag_char(c: char) -> bool {
    c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c)
}

/// Percent-encodes a tag key or value as `application/x-www-form-urlencoded` wants.
fn form_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// S3's options of a read: which version, the SSE-C key it was written with, and whether to
/// verify the stored checksum.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// Read this version (versioned buckets) instead of the latest.
    pub version_id: Option<String>,
    /// The SSE-C key the object was written with.
    pub customer_key: Option<CustomerKey>,
    /// Ask for the stored checksum and have the SDK verify the body against it.
    pub verify_checksum: bool,
}

impl ReadOptions {
    /// The latest version, no key, no checksum check.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads `version_id`.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// Presents the SSE-C key.
    pub fn customer_key(mut self, key: CustomerKey) -> Self {
        self.customer_key = Some(key);
        self
    }

    /// Verifies the body against the stored checksum (a mismatch fails the read).
    pub fn verify_checksum(mut self) -> Self {
        self.verify_checksum = true;
        self
    }
}

/// Sets the encryption (SSE-C key included), storage class and tags of `options` (an `S3PutOptions`)
/// on a write request builder (`PutObject`, `CreateMultipartUpload`, `CopyObject`).
macro_rules! with_put_options {
    ($request:expr, $options:expr) => {{
        let options: &$crate::options::S3PutOptions = $options;
        let request = $request
            .set_storage_class(options.sdk_storage_class())
            .set_tagging(options.tagging());
        $crate::options::with_encryption!(request, options.encryption.as_ref())
    }};
}
pub(crate) use with_put_options;

/// Sets the server-side encryption `encryption` (an `Option<&Encryption>`) on a request
/// builder that writes an object: the SSE-S3 / SSE-KMS fields, or the SSE-C key.
macro_rules! with_encryption {
    ($request:expr, $encryption:expr) => {{
        let encryption: Option<&$crate::options::Encryption> = $encryption;
        let sse = $crate::options::SseFields::of(encryption);
        let key = match encryption {
            Some($crate::options::Encryption::Customer(key)) => Some(key),
            _ => None,
        };
        let request = $request
            .set_server_side_encryption(sse.algorithm)
            .set_ssekms_key_id(sse.kms_key_id)
            .set_bucket_key_enabled(sse.bucket_key);
        $crate::options::with_customer_key!(request, key)
    }};
}
pub(crate) use with_encryption;

/// Sets the SSE-C fields of a copy's source for `key` (an `Option<&CustomerKey>`).
macro_rules! with_copy_source_key {
    ($request:expr, $key:expr) => {{
        let key: Option<&$crate::options::CustomerKey> = $key;
        $request
            .set_copy_source_sse_customer_algorithm(key.map(|_| "AES256".to_owned()))
            .set_copy_source_sse_customer_key(key.map($crate::options::CustomerKey::base64))
            .set_copy_source_sse_customer_key_md5(key.map($crate::options::CustomerKey::md5_base64))
    }};
}
pub(crate) use with_copy_source_key;

/// Sets the SSE-C fields for `key` (an `Option<&CustomerKey>`) on a request builder.
macro_rules! with_customer_key {
    ($request:expr, $key:expr) => {{
        let key: Option<&$crate::options::CustomerKey> = $key;
        $request
            .set_sse_customer_algorithm(key.map(|_| "AES256".to_owned()))
            .set_sse_customer_key(key.map($crate::options::CustomerKey::base64))
            .set_sse_customer_key_md5(key.map($crate::options::CustomerKey::md5_base64))
    }};
}
pub(crate) use with_customer_key;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn customer_keys_are_never_shown() {
        let key = CustomerKey::new([7; 32]);
        let shown = format!("{:?}", Encryption::Customer(key.clone()));
        assert_eq!(shown, "Customer(CustomerKey(<redacted>))");
        assert!(!shown.contains(&key.base64()));
        let e = CustomerKey::from_base64(&STANDARD.encode([1u8; 16])).unwrap_err();
        assert!(e.to_string().contains("16"), "{e}");
        assert!(CustomerKey::from_base64("not base64!").is_err());
        assert_eq!(CustomerKey::from_base64(&key.base64()).unwrap(), key);
    }

    #[test]
    fn the_key_digest_is_md5_in_base64() {
        // MD5 of 32 zero bytes.
        let key = CustomerKey::new([0; 32]);
        assert_eq!(key.md5_base64(), "cLyPS3KoaSFGi/joRB3OUQ==");
    }

    #[test]
    fn tags_are_form_encoded_and_limited() {
        let options = S3PutOptions::new().tag("a b", "x=z/ü").tag("k", "");
        assert_eq!(options.tagging().unwrap(), "a%20b=x%3Dz%2F%C3%BC&k=");
        assert!(options.validate().is_ok());
        assert!(S3PutOptions::new().tag("k", "a&b").validate().is_err());
        let many = (0..11).fold(S3PutOptions::new(), |o, i| o.tag(format!("t{i}"), "v"));
        assert!(many.validate().is_err());
        assert!(S3PutOptions::new().tag("", "v").validate().is_err());
        assert!(
            S3PutOptions::new()
                .tag("k", "v".repeat(257))
                .validate()
                .is_err()
        );
    }

    #[test]
    fn call_options_override_defaults() {
        let defaults = S3PutOptions::new()
            .encryption(Encryption::S3)
            .checksum(Checksum::Sha256)
            .tag("d", "1");
        let call = S3PutOptions::new().checksum(Checksum::Crc32c);
        let merged = call.or(&defaults);
        assert_eq!(merged.encryption, Some(Encryption::S3));
        assert_eq!(merged.checksum, Some(Checksum::Crc32c));
        assert_eq!(merged.tags.len(), 1);
    }
}
