//! The [`SqlStore`] conformance suite, in PostgreSQL's placeholder style (`$1`, `$2`, …).
//!
//! Every behaviour is a `pub async fn` taking a [`SqlStoreFactory`] that returns a store
//! connected to an empty test database or schema, whose pool allows at least two connections
//! at once. Each behaviour that needs a table creates its own, with a unique generated name,
//! and drops it afterwards, even when the behaviour fails. Failures panic with a message
//! saying what went wrong. [`sql_conformance_tests!`](crate::sql_conformance_tests) expands
//! to one `#[tokio::test]` per behaviour.
//!
//! Most behaviours are portable: their SQL is dialect-neutral (`CAST(x AS t)`, recursive
//! `WITH` instead of `generate_series`) and every backend runs them. The others need a
//! capability the backend declares in [`SqlCapabilities`]; a backend without it does not run
//! them and the test prints `opt-out: <behaviour>: <backend> lacks <capability>` instead, so
//! nothing is skipped silently (the macro lists them).
//!
//! What the portable behaviours expect of a backend, beyond the trait's documentation:
//! - integer parameters fill `smallint`/`integer`/`bigint` columns; [`Value::String`] fills
//!   `text`, `varchar`, `date` and `uuid` columns (as their standard text forms),
//!   [`Value::Bytes`] `bytea`, [`Value::Bool`] `boolean`, [`Value::Map`] `jsonb`,
//!   [`Value::Null`] any type; columns come back the same way (`jsonb` objects as
//!   [`Value::Map`], with JSON numbers as exact [`Value::Number`]s: `12.50` and 30-digit
//!   integers keep every digit);
//! - a wrong number of parameters is `InvalidInput`;
//! - unique violation → `AlreadyExists`; NOT NULL and CHECK violations → `InvalidInput`;
//!   syntax errors → `InvalidInput`; undefined table → `NotFound`; conflicts between
//!   transactions → `Conflict` (retryable);
//! - a multi-statement `batch_execute` is all or nothing.
//!
//! And of a backend with every capability (PostgreSQL), in addition: parameters convert to
//! the type the server infers for them, exact at any `numeric` scale; a parameter that does
//! not fit its column, and a division by zero, are `InvalidInput`; serialization failures
//! and deadlocks are `Conflict`.

mod errors;
mod insert;
mod postgres;
mod queries;
mod transactions;
mod upsert;
mod values;

use std::fmt::Debug;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;

use crate::error::{ErrorKind, Result, StoreError};
use crate::sql::{SqlCapabilities, SqlStore, SqlStoreExt};
use crate::value::{Document, Value};

pub use errors::*;
pub use insert::*;
pub use postgres::*;
pub use queries::*;
pub use transactions::*;
pub use upsert::*;
pub use values::*;

/// Makes a store connected to an empty test database or schema.
pub type SqlStoreFactory = Arc<dyn Fn() -> BoxFuture<'static, Arc<dyn SqlStore>> + Send + Sync>;

/// Wraps an async constructor of a concrete store as a [`SqlStoreFactory`].
pub fn factory<F, Fut, S>(make: F) -> SqlStoreFactory
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = S> + Send + 'static,
    S: SqlStore + 'static,
{
    Arc::new(move || {
        let made = make();
        Box::pin(async move { Arc::new(made.await) as Arc<dyn SqlStore> })
    })
}

/// How long dropping a behaviour's table may take before the suite reports a leaked lock.
const DROP_TIMEOUT: Duration = Duration::from_secs(30);

/// A table name no other run uses: `suite_<hint>_<12 hex digits>`.
fn unique_table(hint: &str) -> String {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    format!("suite_{hint}_{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

/// Creates a uniquely named table with `columns`, runs `body` with the store and the table's
/// name, then drops the table, also when `body` panics (the panic is then resumed).
async fn scoped<F, Fut>(factory: &SqlStoreFactory, hint: &str, columns: &str, body: F)
where
    F: FnOnce(Arc<dyn SqlStore>, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let store = factory().await;
    let table = unique_table(hint);
    store
        .batch_execute(&format!("CREATE TABLE {table} ({columns})"))
        .await
        .unwrap_or_else(|e| panic!("creating table {table} ({columns}) should succeed: {e}"));
    let outcome = AssertUnwindSafe(body(store.clone(), table.clone()))
        .catch_unwind()
        .await;
    let dropped = tokio::time::timeout(
        DROP_TIMEOUT,
        store.batch_execute(&format!("DROP TABLE IF EXISTS {table}")),
    )
    .await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    match dropped {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("dropping table {table} should succeed: {e}"),
        Err(_) => panic!(
            "dropping table {table} took over {DROP_TIMEOUT:?}: a transaction still holds it \
             (was a dropped transaction left open on a pooled connection?)"
        ),
    }
}

/// A capability a behaviour needs: its name and how to read it.
type Need = (&'static str, fn(&SqlCapabilities) -> bool);

/// Whether the backend lacks a capability `behaviour` needs. For each one it lacks, prints
/// `opt-out: <behaviour>: <backend> lacks <capability>` to standard error, past the test
/// harness's capture, so the opt-out shows in every run.
async fn opted_out(factory: &SqlStoreFactory, behaviour: &str, needs: &[Need]) -> bool {
    let store = factory().await;
    let caps = store.capabilities();
    let mut lacking = false;
    for (capability, has) in needs {
        if !has(&caps) {
            lacking = true;
            super::report_opt_out(behaviour, store.backend(), capability);
        }
    }
    lacking
}

/// Runs a statement that must succeed, returning the affected row count.
async fn exec(store: &dyn SqlStore, sql: &str, params: &[Value]) -> u64 {
    store
        .execute(sql, params)
        .await
        .unwrap_or_else(|e| panic!("`{sql}` with {params:?} should succeed: {e}"))
}

/// All rows of a query that must succeed.
/// The `id`, `name` and `extra` columns of every row of `table`, by `id`.
async fn id_name_extra(store: &dyn SqlStore, table: &str) -> Vec<(Value, Value, Value)> {
    rows(
        store,
        &format!("SELECT id, name, extra FROM {table} ORDER BY id"),
        &[],
    )
    .await
    .iter()
    .map(|r| {
        (
            col(r, "id").clone(),
            col(r, "name").clone(),
            col(r, "extra").clone(),
        )
    })
    .collect()
}

/// Owned column names.
fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

async fn rows(store: &dyn SqlStore, sql: &str, params: &[Value]) -> Vec<Document> {
    store
        .query_all(sql, params)
        .await
        .unwrap_or_else(|e| panic!("`{sql}` with {params:?} should succeed: {e}"))
}

/// The row count of a table.
async fn count(store: &dyn SqlStore, table: &str) -> i64 {
    let sql = format!("SELECT count(*) AS n FROM {table}");
    let row = store
        .query_one(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("`{sql}` should succeed: {e}"));
    col(&row, "n")
        .as_i64()
        .unwrap_or_else(|| panic!("count(*) should be an integer: {row:?}"))
}

/// A column of a row, which must be there.
#[track_caller]
fn col<'r>(row: &'r Document, name: &str) -> &'r Value {
    row.get(name)
        .unwrap_or_else(|| panic!("the row should have a column `{name}`: {row:?}"))
}

/// A number parsed from text.
fn num(text: &str) -> Value {
    Value::Number(
        text.parse()
            .unwrap_or_else(|e| panic!("suite number {text} should parse: {e}")),
    )
}

/// Asserts that `result` failed with `kind`, returning the error.
#[track_caller]
fn expect_kind<T: Debug>(result: Result<T>, kind: ErrorKind, what: &str) -> StoreError {
    match result {
        Ok(value) => panic!("{what}: expected a {kind} error, got Ok({value:?})"),
        Err(e) => {
            assert_eq!(e.kind(), kind, "{what}: wrong error kind: {e}");
            assert!(!e.message().is_empty(), "{what}: the error has no message");
            e
        }
    }
}

/// Expands to one `#[tokio::test]` per behaviour of the [`SqlStore`] conformance suite.
///
/// The argument is an expression of type
/// [`SqlStoreFactory`](crate::testkit::sql::SqlStoreFactory), evaluated once per test.
///
/// ```no_run
/// # fn postgres_factory() -> store_core::testkit::sql::SqlStoreFactory { unimplemented!() }
/// // In an adapter's test file:
/// store_core::sql_conformance_tests!(postgres_factory());
/// ```
///
/// These behaviours run only where the backend declares the capability
/// ([`SqlStore::capabilities`](crate::sql::SqlStore::capabilities)); elsewhere the test passes
/// after printing `opt-out: <behaviour>: <backend> lacks <capability>`:
///
/// | behaviour | needs |
/// |---|---|
/// | `numeric_parameters_are_exact` | `exact_numeric` |
/// | `column_types_are_enforced` | `strict_types` |
/// | `cast_operator_types_parameters` | `cast_operator` |
/// | `jsonb_functions_read_stored_maps` | `jsonb`, `cast_operator` |
/// | `serialization_failure_is_conflict` | `concurrent_transactions` |
/// | `isolation_levels_are_applied` | `isolation_levels` |
///
/// Every other behaviour is portable and runs on every backend.
#[macro_export]
macro_rules! sql_conformance_tests {
    ($factory:expr) => {
        $crate::__sql_conformance_each!(($factory);
            execute_reports_affected_rows,
            rows_are_documents_with_column_names,
            query_streams_many_rows_in_order,
            query_collect_stops_at_its_limit,
            query_one_and_query_opt,
            query_as_typed_rows,
            batch_execute_runs_statements,
            health_reports_backend,
            integer_parameters_round_trip,
            text_bytes_bool_and_null_round_trip,
            jsonb_from_map_round_trip,
            dates_and_uuids_travel_as_text,
            injection_strings_stored_verbatim,
            transaction_commit_is_visible,
            transaction_rollback_is_invisible,
            dropped_transaction_rolls_back,
            transaction_retries_conflict,
            unique_violation_is_already_exists,
            constraint_violations_are_invalid_input,
            missing_table_is_not_found,
            syntax_error_is_invalid_input,
            bad_parameters_are_invalid_input,
            numeric_parameters_are_exact,
            column_types_are_enforced,
            cast_operator_types_parameters,
            jsonb_functions_read_stored_maps,
            serialization_failure_is_conflict,
            isolation_levels_are_applied,
            upsert_rows_inserts_and_replaces_by_key,
            upsert_rows_is_all_or_nothing,
            upsert_rows_writes_many_rows,
            upsert_rows_checks_its_input,
            insert_rows_appends_and_refuses_a_taken_key,
            insert_rows_checks_its_input,
        );
    };
}

/// Implementation detail of [`sql_conformance_tests!`].
#[doc(hidden)]
#[macro_export]
macro_rules! __sql_conformance_each {
    (($factory:expr); $($name:ident),* $(,)?) => {
        $(
            #[$crate::testkit::tokio::test(crate = "store_core::testkit::tokio")]
            async fn $name() {
                let factory: $crate::testkit::sql::SqlStoreFactory = $factory;
                $crate::testkit::sql::$name(&factory).await;
            }
        )*
    };
}
