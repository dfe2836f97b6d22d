//! [`ObjectStore`]: buckets of objects (S3 and its stand-ins).

mod conditions;
mod ext;
mod files;
mod types;

use std::fmt::Debug;
use std::path::Path;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::Result;
use crate::health::Health;
use crate::keys::ObjectKey;
use crate::page::{Cursor, Page, paginate};

pub use conditions::{check_get_conditions, etag_matches};
pub use ext::ObjectStoreExt;
pub use files::{download_file_streamed, upload_file_streamed};
pub use types::*;

/// One bucket of objects.
///
/// The trait is dyn-compatible: hold an `Arc<dyn ObjectStore>` and swap backends freely. Typed
/// conveniences live in [`ObjectStoreExt`], implemented for every store.
///
/// File transfers ([`upload_file`](Self::upload_file), [`download_file`](Self::download_file))
/// are methods of this trait with default implementations, so each backend routes them to its
/// best path and one name does one thing whether it is called on the concrete store or
/// through `Arc<dyn ObjectStore>` / `Box<dyn ObjectStore>` (which forward every method):
///
/// - by default (the in-memory store, and any backend that does not override them),
///   [`upload_file_streamed`] reads the file in chunks into [`put_stream`](Self::put_stream),
///   and [`download_file_streamed`] streams one [`get`](Self::get) into a temporary file that
///   is renamed into place;
/// - `store-s3` overrides both: its `upload_file` knows the file's size up front, so it
///   refuses a file over S3's 5 TiB limit before sending anything and sends a file above its
///   multipart threshold as a multipart upload with a part size chosen from that size; its
///   `download_file` fetches ranged parts in parallel into a temporary file, each part pinned
///   to the object's etag and resumed after a broken connection, then renames it into place.
///
/// A type that wraps another store and implements this trait should forward these two
/// methods as well, or it gets the default path instead of the wrapped store's.
///
/// Semantics every backend follows (the conformance suite checks them):
/// - keys are [`ObjectKey`]s; listing returns keys in ascending byte order;
/// - deleting a missing key succeeds (as in S3);
/// - a conditional put that does not hold fails with `PreconditionFailed` (if-match) or
///   `AlreadyExists` (create-only) and leaves the object as it was;
/// - what a backend cannot do (presigning in memory) is `Unsupported`, never silently skipped.
#[async_trait]
pub trait ObjectStore: Health + Debug + Send + Sync {
    /// The backend's short name (`"s3"`, `"memory"`).
    fn backend(&self) -> &'static str;

    /// What this backend can do beyond the basics.
    fn capabilities(&self) -> ObjectCapabilities;

    /// The bucket the store's calls go to, for a store that has one (S3); `None` by default.
    /// Layers name and key their calls by it (a span `get my-bucket`, a rate limit per
    /// bucket).
    fn bucket_name(&self) -> Option<&str> {
        None
    }

    /// Stores `body` under `key`.
    async fn put(
        &self,
        key: &ObjectKey,
        body: bytes::Bytes,
        options: PutOptions,
    ) -> Result<PutResult>;

    /// Stores a stream of chunks under `key` without holding it all in memory where the
    /// backend allows (multipart upload on S3).
    async fn put_stream(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
    ) -> Result<PutResult>;

    /// Reads an object (or a range of it) as a stream of chunks.
    async fn get(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult>;

    /// Reads an object's metadata; `NotFound` when missing.
    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta>;

    /// Deletes an object; a missing key is not an error.
    async fn delete(&self, key: &ObjectKey) -> Result<()>;

    /// Deletes many objects, returning the keys that could not be deleted and why.
    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<DeleteFailure>>;

    /// Copies an object within the bucket, metadata included.
    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()>;

    /// Copies an object within the bucket, metadata included, only if nothing is at `to`:
    /// otherwise `AlreadyExists` and `to` is untouched. A missing source is `NotFound`.
    async fn copy_if_not_exists(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()>;

    /// One page of a listing, resumable from `cursor`.
    async fn list_page(&self, options: &ListOptions, cursor: Option<Cursor>) -> Result<ListPage>;

    /// A URL that lets its holder GET or PUT one object until it expires.
    ///
    /// Expiry must be between 1 second and 7 days, else `InvalidInput`.
    async fn presign(
        &self,
        method: PresignMethod,
        key: &ObjectKey,
        expires_in: std::time::Duration,
    ) -> Result<String>;

    /// Uploads a file from disk to `key`, never holding it whole in memory.
    ///
    /// The default is [`upload_file_streamed`]: the file is read in chunks and stored with
    /// [`put_stream`](Self::put_stream). Backends with a better path for a file of known size
    /// override it (see the table in the trait's documentation). A missing local file is
    /// `NotFound`.
    async fn upload_file(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
    ) -> Result<PutResult> {
        upload_file_streamed(self, path, key, options).await
    }

    /// Downloads an object to `path` atomically: the body goes into a temporary file in the
    /// same folder, which is synced, then renamed over `path`. On any failure the temporary
    /// file is removed and `path` is untouched. Returns the number of bytes written.
    ///
    /// The default is [`download_file_streamed`] (one streamed get). Backends with a better
    /// path override it (see the table in the trait's documentation). A missing object is
    /// `NotFound`.
    async fn download_file(&self, key: &ObjectKey, path: &Path) -> Result<u64> {
        download_file_streamed(self, key, path).await
    }

    /// Every object under the options' prefix, paging by itself. With a delimiter, common
    /// prefixes are yielded as [`ListEntry::Prefix`].
    fn list(&self, options: ListOptions) -> BoxStream<'_, Result<ListEntry>> {
        use futures::StreamExt;
        paginate(move |cursor| {
            let options = options.clone();
            async move {
                let page = self.list_page(&options, cursor).await?;
                let mut entries: Vec<ListEntry> =
                    page.objects.into_iter().map(ListEntry::Object).collect();
                entries.extend(page.common_prefixes.into_iter().map(ListEntry::Prefix));
                entries.sort_by(|a, b| a.sort_key().cmp(b.sort_key()));
                Ok(Page::new(entries, page.next))
            }
        })
        .boxed()
    }
}
