//! The [`ObjectStore`] conformance suite and model-based property check.
//!
//! Every behaviour is a `pub async fn` taking an [`ObjectStoreFactory`] that returns a FRESH,
//! EMPTY store (a new bucket on S3); it panics with a message saying what went wrong.
//! [`object_conformance_tests!`](crate::object_conformance_tests) expands to one
//! `#[tokio::test]` per behaviour, and [`model_check`] runs random operation sequences against
//! a store and a plain map and compares every answer.
//!
//! ```no_run
//! use store_core::memory::MemoryObjectStore;
//! use store_core::testkit::object::{factory, model_check};
//!
//! store_core::object_conformance_tests!(factory(|| async { MemoryObjectStore::new() }));
//!
//! #[test]
//! fn model_based() {
//!     model_check(factory(|| async { MemoryObjectStore::new() }), 256);
//! }
//! ```

mod basics;
mod conditional;
mod listing;
mod model;
mod transfer;

use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use futures::future::BoxFuture;

use crate::error::{ErrorKind, Result};
use crate::keys::ObjectKey;
use crate::object::{GetOptions, ObjectCapabilities, ObjectStoreExt};
use crate::object::{ListEntry, ListOptions, ObjectStore, PutMode, PutOptions, PutResult};

pub use basics::*;
pub use conditional::*;
pub use listing::*;
pub use model::model_check;
pub use transfer::*;

/// Makes a fresh, empty store for one behaviour (a new bucket on S3).
pub type ObjectStoreFactory =
    Arc<dyn Fn() -> BoxFuture<'static, Arc<dyn ObjectStore>> + Send + Sync>;

/// Wraps an async constructor of a concrete store as an [`ObjectStoreFactory`].
///
/// ```
/// use store_core::memory::MemoryObjectStore;
/// let factory = store_core::testkit::object::factory(|| async { MemoryObjectStore::new() });
/// # let _ = factory;
/// ```
pub fn factory<F, Fut, S>(make: F) -> ObjectStoreFactory
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = S> + Send + 'static,
    S: ObjectStore + 'static,
{
    Arc::new(move || {
        let made = make();
        Box::pin(async move { Arc::new(made.await) as Arc<dyn ObjectStore> })
    })
}

/// A fresh store from the factory.
async fn fresh(factory: &ObjectStoreFactory) -> Arc<dyn ObjectStore> {
    factory().await
}

/// Whether `store` lacks `capability` (read by `has`), which `behaviour` needs; if so, the
/// opt-out is reported.
fn lacks(
    store: &dyn ObjectStore,
    behaviour: &str,
    capability: &str,
    has: fn(&ObjectCapabilities) -> bool,
) -> bool {
    let lacking = !has(&store.capabilities());
    if lacking {
        super::report_opt_out(behaviour, store.backend(), capability);
    }
    lacking
}

/// A key the suite knows to be valid.
fn key(text: &str) -> ObjectKey {
    ObjectKey::new(text).unwrap_or_else(|e| panic!("suite key {text:?} should be valid: {e}"))
}

/// Puts bytes with default options, panicking with context on failure.
async fn put(store: &dyn ObjectStore, k: &ObjectKey, body: impl Into<Bytes>) -> PutResult {
    store
        .put(k, body.into(), PutOptions::new())
        .await
        .unwrap_or_else(|e| panic!("put `{k}` should succeed: {e}"))
}

/// Puts with a mode, returning the raw result.
async fn put_mode(
    store: &dyn ObjectStore,
    k: &ObjectKey,
    body: &'static [u8],
    mode: PutMode,
) -> Result<PutResult> {
    store
        .put(k, Bytes::from_static(body), PutOptions::new().mode(mode))
        .await
}

/// Reads a whole object, panicking with context on failure.
async fn read(store: &dyn ObjectStore, k: &ObjectKey) -> Bytes {
    store
        .get(k, GetOptions::new())
        .await
        .unwrap_or_else(|e| panic!("get `{k}` should succeed: {e}"))
        .bytes()
        .await
        .unwrap_or_else(|e| panic!("reading the body of `{k}` should succeed: {e}"))
}

/// Whether the key exists, panicking on errors.
async fn exists(store: &dyn ObjectStore, k: &ObjectKey) -> bool {
    store
        .exists(k)
        .await
        .unwrap_or_else(|e| panic!("exists `{k}` should succeed: {e}"))
}

/// Asserts that `result` failed with `kind`, returning the error.
#[track_caller]
fn expect_kind<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> crate::StoreError {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong error kind: {e}");
            assert!(!e.message().is_empty(), "{what}: the error has no message");
            e
        }
    }
}

/// Every entry of a listing stream as text: keys, and common prefixes as they are.
async fn list_names(store: &dyn ObjectStore, options: ListOptions) -> Vec<String> {
    let entries: Vec<ListEntry> = store
        .list(options.clone())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("listing {options:?} should succeed: {e}"));
    entries
        .into_iter()
        .map(|entry| match entry {
            ListEntry::Object(meta) => meta.key.as_str().to_owned(),
            ListEntry::Prefix(prefix) => prefix,
        })
        .collect()
}

/// Deterministic pseudo-random bytes (xorshift), so large bodies are not periodic: the same
/// `len` and `seed` always give the same bytes. Shared by the suite and adapter tests.
///
/// ```
/// use store_core::testkit::object::pattern;
/// assert_eq!(pattern(1_000, 7), pattern(1_000, 7));
/// assert_ne!(pattern(1_000, 7), pattern(1_000, 8));
/// ```
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// Expands to one `#[tokio::test]` per behaviour of the [`ObjectStore`] conformance suite.
///
/// The argument is an expression of type
/// [`ObjectStoreFactory`](crate::testkit::object::ObjectStoreFactory), evaluated once per test;
/// each call must return a fresh, empty store.
///
/// ```no_run
/// store_core::object_conformance_tests!(store_core::testkit::object::factory(|| async {
///     store_core::memory::MemoryObjectStore::new()
/// }));
/// ```
#[macro_export]
macro_rules! object_conformance_tests {
    ($factory:expr) => {
        $crate::__object_conformance_each!(($factory);
            put_get_round_trip,
            empty_object,
            large_object_streams_back_equal,
            put_overwrites,
            missing_object_is_not_found,
            head_reports_meta,
            metadata_and_content_type_round_trip,
            exists_reports_presence,
            delete_then_get_is_not_found,
            delete_missing_is_ok,
            delete_many_removes_keys,
            copy_keeps_body_and_metadata,
            copy_missing_is_not_found,
            typed_text_and_json,
            invalid_keys_are_rejected,
            health_reports_backend,
            ranged_get_returns_exact_bytes,
            unsatisfiable_range_is_invalid,
            get_if_match,
            get_if_none_match,
            get_if_modified_since,
            copy_if_not_exists_refuses_to_overwrite,
            create_only_twice_is_already_exists,
            concurrent_create_only_has_one_winner,
            if_match_put,
            etag_changes_with_content,
            list_prefix_in_byte_order,
            list_with_delimiter,
            list_page_resumes_with_cursor,
            list_start_after,
            list_stream_spans_pages,
            list_rejects_bad_input,
            odd_keys_round_trip,
            upload_and_download_file,
            download_missing_leaves_no_file,
            put_stream_many_chunks,
            put_stream_error_stores_nothing,
            presign_follows_capabilities,
            presign_expiry_out_of_range_is_invalid,
        );
    };
}

/// Implementation detail of [`object_conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __object_conformance_each {
    (($factory:expr); $($name:ident),* $(,)?) => {
        $(
            #[$crate::testkit::tokio::test(crate = "store_core::testkit::tokio")]
            async fn $name() {
                let factory: $crate::testkit::object::ObjectStoreFactory = $factory;
                $crate::testkit::object::$name(&factory).await;
            }
        )*
    };
}
