//! Options and results of [`ObjectStore`](super::ObjectStore) calls.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream::BoxStream;

use crate::error::{Result, StoreError};
use crate::keys::ObjectKey;
use crate::page::Cursor;

/// A stream of body chunks.
pub type ByteStream = BoxStream<'static, Result<Bytes>>;

/// Turns bytes into a one-chunk [`ByteStream`].
pub fn byte_stream(bytes: Bytes) -> ByteStream {
    use futures::StreamExt;
    futures::stream::iter([Ok(bytes)]).boxed()
}

/// The longest presigned URL lifetime S3 allows.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Checks a presign expiry: from 1 second to 7 days.
pub fn validate_presign_expiry(expires_in: Duration) -> Result<()> {
    if expires_in < Duration::from_secs(1) || expires_in > MAX_PRESIGN_EXPIRY {
        return Err(StoreError::invalid_input(format!(
            "a presigned URL must expire in 1 second to 7 days, not {expires_in:?}"
        )));
    }
    Ok(())
}

/// What an object store can do beyond the basics, and which parts of the basic contract it
/// keeps (those are on in [`none`](Self::none) and `default()`; a store that cannot keep one,
/// such as an S3-compatible server on a file system, turns it off, and the conformance suite
/// then prints an `opt-out:` line for each behaviour it skips instead of failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectCapabilities {
    /// `presign` gives working URLs.
    pub presign: bool,
    /// Create-only and if-match puts are enforced.
    pub conditional_put: bool,
    /// Basic: a key may also begin other keys (`a` and `a/b`), start or end with `/`, and
    /// hold `//`.
    pub nested_keys: bool,
    /// Basic: keys as long as S3's 1,024 bytes (file systems stop at a 255-byte name).
    pub long_keys: bool,
    /// Basic: a suffix range longer than the object returns the whole object.
    pub long_suffix_ranges: bool,
    /// Basic: listings give back keys holding `%`, `+` or non-ASCII characters exactly (a
    /// server that says it url-encoded the keys it lists, but did not, changes them).
    pub exact_listed_keys: bool,
}

impl Default for ObjectCapabilities {
    fn default() -> Self {
        Self::none()
    }
}

impl ObjectCapabilities {
    /// Nothing beyond the basics (the same as `default()`); add flags with the setters.
    ///
    /// ```
    /// use store_core::object::ObjectCapabilities;
    /// let caps = ObjectCapabilities::none().conditional_put(true);
    /// assert!(caps.conditional_put && !caps.presign && caps.nested_keys);
    /// ```
    pub const fn none() -> Self {
        Self {
            presign: false,
            conditional_put: false,
            nested_keys: true,
            long_keys: true,
            long_suffix_ranges: true,
            exact_listed_keys: true,
        }
    }

    /// Every capability this version knows.
    pub const fn all() -> Self {
        Self {
            presign: true,
            conditional_put: true,
            nested_keys: true,
            long_keys: true,
            long_suffix_ranges: true,
            exact_listed_keys: true,
        }
    }

    /// Sets whether `presign` gives working URLs.
    pub const fn presign(mut self, on: bool) -> Self {
        self.presign = on;
        self
    }

    /// Sets whether create-only and if-match puts are enforced.
    pub const fn conditional_put(mut self, on: bool) -> Self {
        self.conditional_put = on;
        self
    }

    /// Sets whether a key may begin other keys, start or end with `/`, and hold `//`.
    pub const fn nested_keys(mut self, on: bool) -> Self {
        self.nested_keys = on;
        self
    }

    /// Sets whether keys may be 1,024 bytes long.
    pub const fn long_keys(mut self, on: bool) -> Self {
        self.long_keys = on;
        self
    }

    /// Sets whether listings give back keys holding `%`, `+` or non-ASCII characters exactly.
    pub const fn exact_listed_keys(mut self, on: bool) -> Self {
        self.exact_listed_keys = on;
        self
    }

    /// Sets whether a suffix range longer than the object returns it whole.
    pub const fn long_suffix_ranges(mut self, on: bool) -> Self {
        self.long_suffix_ranges = on;
        self
    }
}

/// How a put treats an object already at the key.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PutMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Fail with `AlreadyExists` if anything is there (`If-None-Match: *`).
    CreateOnly,
    /// Replace only the object with this etag; otherwise `PreconditionFailed`.
    IfMatch(String),
}

/// Options of a put.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PutOptions {
    /// The write mode.
    pub mode: PutMode,
    /// The MIME type to record.
    pub content_type: Option<String>,
    /// User metadata (names are case-insensitive on S3; use lowercase).
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    /// Default options: overwrite, no content type, no metadata.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the write mode.
    pub fn mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds one metadata entry.
    pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(name.into(), value.into());
        self
    }
}

/// What a successful put returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PutResult {
    /// The new object's entity tag.
    pub etag: Option<String>,
    /// The version id, on versioned buckets.
    pub version: Option<String>,
}

/// A byte range of an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..end` (end exclusive).
    Bounded {
        /// First byte.
        start: u64,
        /// One past the last byte.
        end: u64,
    },
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl ByteRange {
    /// Resolves the range against an object of `len` bytes; an unsatisfiable range is
    /// `InvalidInput`.
    pub fn resolve(self, len: u64) -> Result<std::ops::Range<u64>> {
        let range = match self {
            ByteRange::Bounded { start, end } if start < end => start..end.min(len),
            ByteRange::Bounded { start, end } => {
                return Err(StoreError::invalid_input(format!(
                    "byte range {start}..{end} is empty"
                )));
            }
            ByteRange::From(start) => start..len,
            ByteRange::Suffix(n) => len.saturating_sub(n)..len,
        };
        if range.start >= len && !(len == 0 && matches!(self, ByteRange::Suffix(_))) {
            return Err(StoreError::invalid_input(format!(
                "byte range starts at {} but the object has {len} bytes",
                range.start
            )));
        }
        Ok(range)
    }
}

/// Options of a get.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GetOptions {
    /// Read only this range.
    pub range: Option<ByteRange>,
    /// Read only if the etag matches, else `PreconditionFailed`.
    pub if_match: Option<String>,
    /// Read only if the etag differs, else `NotModified` is reported as `PreconditionFailed`.
    pub if_none_match: Option<String>,
    /// Read only if the object changed after this time (whole seconds), else
    /// `PreconditionFailed` ("not modified"). Ignored when `if_none_match` is set.
    pub if_modified_since: Option<SystemTime>,
    /// Read only if the object did not change after this time (whole seconds), else
    /// `PreconditionFailed`. Ignored when `if_match` is set.
    pub if_unmodified_since: Option<SystemTime>,
}

impl GetOptions {
    /// Default options: whole object, no conditions.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads only a range.
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    /// Requires the etag to match.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Requires the etag to differ.
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.if_none_match = Some(etag.into());
        self
    }

    /// Requires a change after `time`.
    pub fn if_modified_since(mut self, time: SystemTime) -> Self {
        self.if_modified_since = Some(time);
        self
    }

    /// Requires no change after `time`.
    pub fn if_unmodified_since(mut self, time: SystemTime) -> Self {
        self.if_unmodified_since = Some(time);
        self
    }
}

/// An object's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: ObjectKey,
    /// Size in bytes of the whole object.
    pub size: u64,
    /// Entity tag.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// MIME type, if recorded.
    pub content_type: Option<String>,
    /// User metadata.
    pub metadata: BTreeMap<String, String>,
}

/// The result of a get: metadata and a body stream.
pub struct GetResult {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// The byte range returned (the whole object when no range was asked).
    pub range: std::ops::Range<u64>,
    /// The body.
    pub body: ByteStream,
}

impl std::fmt::Debug for GetResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GetResult")
            .field("meta", &self.meta)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl GetResult {
    /// Collects the whole body into memory.
    pub async fn bytes(self) -> Result<Bytes> {
        use futures::TryStreamExt;
        let chunks: Vec<Bytes> = self.body.try_collect().await?;
        if chunks.len() == 1 {
            return Ok(chunks.into_iter().next().unwrap_or_default());
        }
        let mut out = bytes::BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
        for chunk in chunks {
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    }
}

/// Options of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListOptions {
    /// Only keys starting with this prefix.
    pub prefix: Option<String>,
    /// Group keys by this delimiter after the prefix into common prefixes.
    pub delimiter: Option<String>,
    /// Page size hint (backends cap it; S3 at 1,000).
    pub page_size: Option<usize>,
    /// Only keys after this one in byte order (S3's `StartAfter`); it need not exist.
    pub start_after: Option<String>,
}

impl ListOptions {
    /// List everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only keys under `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Groups by a delimiter (usually `/`).
    pub fn delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Page size hint.
    pub fn page_size(mut self, n: usize) -> Self {
        self.page_size = Some(n);
        self
    }

    /// Starts after `key` (exclusive), e.g. to resume a listing from the last key seen.
    pub fn start_after(mut self, key: impl Into<String>) -> Self {
        self.start_after = Some(key.into());
        self
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPage {
    /// Objects on this page, in key order.
    pub objects: Vec<ObjectMeta>,
    /// Common prefixes on this page (with a delimiter), in order.
    pub common_prefixes: Vec<String>,
    /// The next page's cursor.
    pub next: Option<Cursor>,
}

/// One entry of a listing stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// An object.
    Object(ObjectMeta),
    /// A common prefix (a "directory"), ending with the delimiter.
    Prefix(String),
}

impl ListEntry {
    pub(crate) fn sort_key(&self) -> &str {
        match self {
            ListEntry::Object(meta) => meta.key.as_str(),
            ListEntry::Prefix(p) => p,
        }
    }

    /// The object's metadata, if this entry is an object.
    pub fn as_object(&self) -> Option<&ObjectMeta> {
        match self {
            ListEntry::Object(meta) => Some(meta),
            ListEntry::Prefix(_) => None,
        }
    }
}

/// A key that `delete_many` could not delete.
#[derive(Debug)]
pub struct DeleteFailure {
    /// The key.
    pub key: ObjectKey,
    /// Why.
    pub error: StoreError,
}

/// The HTTP method a presigned URL allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresignMethod {
    /// Download.
    Get,
    /// Upload.
    Put,
}
