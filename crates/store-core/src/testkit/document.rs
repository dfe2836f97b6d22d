//! The [`DocumentStore`] conformance suite: one `pub async fn` per behaviour, each taking a
//! [`DocumentFactory`] that makes a fresh, empty table from a [`TableSpec`], plus a
//! model-based property test, [`model_check`].
//!
//! Every behaviour creates its own table with a unique name, so the suite runs in parallel
//! against real services. Reads use strongly consistent options where the trait offers them,
//! and index queries (eventually consistent on DynamoDB) are retried for a few seconds.
//!
//! A factory is any closure from [`TableSpec`] to a future of `Arc<dyn DocumentStore>`; each
//! behaviour is an async function taking it:
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
//! use std::sync::Arc;
//! use store_core::DocumentStore;
//! use store_core::memory::MemoryDocumentStore;
//! use store_core::testkit::document::{self, TableSpec};
//!
//! let memory = |spec: TableSpec| async move {
//!     let mut store = MemoryDocumentStore::new(&spec.name, spec.schema).unwrap();
//!     for (name, schema) in spec.indexes {
//!         store = store.with_index(&name, schema).unwrap();
//!     }
//!     Arc::new(store) as Arc<dyn DocumentStore>
//! };
//! document::create_only_put_fails_the_second_time(&memory).await;
//! document::query_secondary_index(&memory).await;
//! # });
//! ```
//!
//! [`document_conformance_tests!`](crate::document_conformance_tests) turns the whole suite
//! into one test per behaviour, and [`model_check`] runs the property test.

mod batch;
mod invalid;
mod items;
mod model;
mod queries;
mod updates;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::TryStreamExt;
use futures::future::BoxFuture;

use crate::document::{DocumentStore, GetItemOptions, Query, Scan};
use crate::error::{ErrorKind, Result};
use crate::keys::{DocKey, KeySchema, KeyType};
use crate::value::Document;

pub use batch::*;
pub use invalid::*;
pub use items::*;
pub use model::model_check;
pub use queries::*;
pub use updates::*;

/// What table a behaviour needs: a unique name, its primary key and its secondary indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableSpec {
    /// A table name no other behaviour uses (valid for DynamoDB).
    pub name: String,
    /// The table's primary key.
    pub schema: KeySchema,
    /// Global secondary indexes: name and key. Their items project every attribute.
    pub indexes: Vec<(String, KeySchema)>,
}

impl TableSpec {
    /// A spec for `behaviour` with a fresh unique name and no index.
    pub fn new(behaviour: &str, schema: KeySchema) -> Self {
        Self {
            name: unique_table_name(behaviour),
            schema,
            indexes: Vec::new(),
        }
    }

    /// Adds a secondary index.
    pub fn with_index(mut self, name: impl Into<String>, schema: KeySchema) -> Self {
        self.indexes.push((name.into(), schema));
        self
    }

    /// The table as an in-memory store, its indexes made; panics when the spec is invalid.
    pub fn in_memory(self) -> crate::memory::MemoryDocumentStore {
        let mut store = crate::memory::MemoryDocumentStore::new(&self.name, self.schema)
            .unwrap_or_else(|e| panic!("table `{}`: {e}", self.name));
        for (name, schema) in self.indexes {
            store = store
                .with_index(&name, schema)
                .unwrap_or_else(|e| panic!("index `{name}`: {e}"));
        }
        store
    }
}

/// Makes a fresh, empty table for each behaviour. Closures
/// `Fn(TableSpec) -> impl Future<Output = Arc<dyn DocumentStore>>` implement it.
pub trait DocumentFactory: Send + Sync + 'static {
    /// Creates (or connects to) an empty table as `spec` describes; panics when it cannot.
    fn create(&self, spec: TableSpec) -> BoxFuture<'static, Arc<dyn DocumentStore>>;
}

impl<F, Fut> DocumentFactory for F
where
    F: Fn(TableSpec) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Arc<dyn DocumentStore>> + Send + 'static,
{
    fn create(&self, spec: TableSpec) -> BoxFuture<'static, Arc<dyn DocumentStore>> {
        Box::pin(self(spec))
    }
}

/// `conf-<behaviour>-<time>-<pid>-<n>`, unique across processes and runs, at most 255 bytes.
fn unique_table_name(behaviour: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() % 1_000_000_000_000);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let behaviour: String = behaviour
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(120)
        .collect();
    format!("conf-{behaviour}-{nanos}-{}-{n}", std::process::id())
}

/// The schema most behaviours use: string partition `pk`, number sort `sk`.
pub(crate) fn pk_sk() -> KeySchema {
    KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
}

/// A schema with only a string partition key `id`.
pub(crate) fn id_only() -> KeySchema {
    KeySchema::partition("id", KeyType::String)
}

/// A fresh table for `behaviour`.
pub(crate) async fn table(
    factory: &dyn DocumentFactory,
    behaviour: &str,
    schema: KeySchema,
) -> Arc<dyn DocumentStore> {
    factory.create(TableSpec::new(behaviour, schema)).await
}

/// A `pk`/`sk` item.
pub(crate) fn item(pk: &str, sk: i64) -> Document {
    Document::new().with("pk", pk).with("sk", sk)
}

/// The key of a `pk`/`sk` item.
pub(crate) fn key(pk: &str, sk: i64) -> DocKey {
    DocKey::partition(pk).with_sort(sk)
}

/// Strongly consistent get that panics on error.
pub(crate) async fn get(store: &dyn DocumentStore, key: &DocKey) -> Option<Document> {
    store
        .get(key, GetItemOptions::new().consistent())
        .await
        .unwrap_or_else(|e| panic!("get `{key}` failed: {e}"))
}

/// Every item of a consistent query, panicking on error.
pub(crate) async fn query_all(store: &dyn DocumentStore, query: Query) -> Vec<Document> {
    store
        .query(query.clone())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("query {query:?} failed: {e}"))
}

/// Every item of a consistent scan, sorted by key, panicking on error.
pub(crate) async fn scan_all(store: &dyn DocumentStore, scan: Scan) -> Vec<Document> {
    let scan = Scan {
        consistent: true,
        ..scan
    };
    let mut items: Vec<Document> = store
        .scan(scan.clone())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("scan {scan:?} failed: {e}"));
    sort_by_key(store, &mut items);
    items
}

/// Sorts items by their primary key (items without a readable key go last).
pub(crate) fn sort_by_key(store: &dyn DocumentStore, items: &mut [Document]) {
    let schema = store.key_schema().clone();
    items.sort_by_cached_key(|doc| schema.key_of(doc).ok());
}

/// The `sk` numbers of `pk`/`sk` items, in order.
pub(crate) fn sort_keys(items: &[Document]) -> Vec<i64> {
    items
        .iter()
        .map(|doc| {
            doc.get("sk")
                .and_then(|v| v.as_i64())
                .unwrap_or_else(|| panic!("item without a numeric `sk`: {doc:?}"))
        })
        .collect()
}

/// Asserts that `result` failed with `kind`, naming `what` in the panic message.
pub(crate) fn expect_kind<T: std::fmt::Debug>(result: Result<T>, kind: ErrorKind, what: &str) {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(err) => assert_eq!(err.kind(), kind, "{what}: wrong error kind: {err}"),
    }
}

/// Reads with `read` until `done` accepts the value or about five seconds pass, for eventually
/// consistent reads (secondary indexes); returns the last value read.
pub(crate) async fn eventually<T, F, Fut>(mut read: F, done: impl Fn(&T) -> bool) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = T>,
{
    let mut value = read().await;
    for _ in 0..50 {
        if done(&value) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        value = read().await;
    }
    value
}

/// Expands to one `#[tokio::test]` per behaviour of the [`DocumentStore`] conformance suite,
/// each calling the behaviour with `&$factory` (evaluated anew in every test).
///
/// ```
/// use std::sync::Arc;
/// use store_core::DocumentStore;
/// use store_core::memory::MemoryDocumentStore;
/// use store_core::testkit::document::{DocumentFactory, TableSpec};
///
/// fn memory() -> impl DocumentFactory {
///     |spec: TableSpec| async move {
///         let mut store = MemoryDocumentStore::new(&spec.name, spec.schema).unwrap();
///         for (name, schema) in spec.indexes {
///             store = store.with_index(&name, schema).unwrap();
///         }
///         Arc::new(store) as Arc<dyn DocumentStore>
///     }
/// }
///
/// store_core::document_conformance_tests!(memory());
/// # fn main() {}
/// ```
#[macro_export]
macro_rules! document_conformance_tests {
    ($factory:expr) => {
        $crate::document_conformance_tests!(@each $factory;
            // items
            round_trip_every_value_type,
            numbers_round_trip_exactly_at_dynamodb_edges,
            get_missing_is_none,
            put_replaces_the_whole_item,
            get_projects_attributes,
            create_only_put_fails_the_second_time,
            put_returns_the_old_item_when_asked,
            failed_condition_reports_the_current_item,
            delete_returns_old_and_missing_delete_succeeds,
            conditional_delete,
            condition_operators_follow_dynamodb,
            // updates
            update_sets_and_removes,
            update_adds_numbers_exactly,
            update_adds_and_deletes_set_elements,
            update_appends_to_lists,
            update_set_if_not_exists,
            update_reaches_nested_paths,
            update_creates_a_missing_item,
            update_returns_old_or_new_item,
            failed_update_condition_changes_nothing,
            odd_attribute_names_work_everywhere,
            // queries and scans
            query_sort_conditions,
            query_orders_numbers_numerically,
            query_reverse,
            query_filter_and_projection,
            query_pages_resume_from_cursor,
            foreign_cursor_is_invalid_input,
            query_secondary_index,
            scan_reads_everything,
            scan_filter_and_projection,
            scan_pages_resume_from_cursor,
            parallel_scan_matches_full_scan,
            // batches, transactions, typed access
            batch_get_many_with_duplicates_and_missing,
            batch_write_puts_and_deletes,
            batch_write_reports_invalid_ops,
            batch_write_reports_duplicate_keys,
            empty_transaction_is_invalid_input,
            transact_write_applies_every_kind_of_action,
            transact_write_is_all_or_nothing,
            transact_get_reads_in_key_order,
            typed_round_trip,
            // invalid input
            wrong_key_type_is_invalid_input,
            sort_value_without_sort_key_is_invalid_input,
            missing_sort_value_is_invalid_input,
            empty_key_is_invalid_input,
            missing_key_attribute_is_invalid_input,
            oversized_item_is_invalid_input,
            unstorable_values_are_invalid_input,
            too_many_transaction_actions_is_invalid_input,
            transaction_touching_one_item_twice_is_invalid_input,
            update_of_a_key_attribute_is_invalid_input,
            update_naming_a_path_twice_is_invalid_input,
            malformed_query_is_invalid_input,
            malformed_condition_is_invalid_input,
            too_many_batch_get_keys_is_invalid_input,
            bad_scan_segment_is_invalid_input,
            nesting_past_dynamodb_limit_is_invalid_input,
            dynamodb_size_limits_are_invalid_input,
        );
    };
    (@each $factory:expr; $($name:ident),+ $(,)?) => {
        $(
            #[$crate::testkit::tokio::test(crate = "store_core::testkit::tokio")]
            async fn $name() {
                $crate::testkit::document::$name(&$factory).await;
            }
        )+
    };
}
