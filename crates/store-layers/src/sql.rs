//! [`SqlStore`] through a layer. `execute` is not idempotent unless the layer is told so for
//! that operation; `upsert_rows` is (keyed, all or nothing), `insert_rows` is not (sent again,
//! it fails on a unique key or stores rows twice); `batch_execute` and `begin` are admin calls. A query's rows stream from
//! the store underneath (the stream is not a single call a layer could repeat): a
//! [`FallbackLayer`](crate::FallbackLayer) switches it to its secondary when the first row is an error, and the
//! layer's [`stream`](Layer::stream) bounds the wait between rows. Collected rows
//! (`query_collect`, under `query_all`/`query_one`/`query_opt`) are one call like any other.

use async_trait::async_trait;
use futures::FutureExt;
use futures::stream::BoxStream;
use store_core::sql::{IsolationLevel, SqlCapabilities, SqlStore, SqlTransaction};
use store_core::{Document, Result, Value};

use crate::fallback::FallbackLayer;
use crate::layer::{Layer, Layered, through};
use crate::meta::{Access, OpMeta, StoreKind};
use crate::read::read;

/// Whether `sql` only reads: its first keyword (after blanks, comments and opening
/// parentheses) is `SELECT`, `VALUES`, `TABLE` or `SHOW`. `WITH` is not, as its parts may write.
fn reads_only(sql: &str) -> bool {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment.split_once("*/").map_or("", |(_, after)| after);
        } else {
            break;
        }
    }
    let keyword: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    matches!(keyword.as_str(), "SELECT" | "VALUES" | "TABLE" | "SHOW")
}

fn meta<'s, S: SqlStore>(store: &'s S, operation: &'static str, access: Access) -> OpMeta<'s> {
    OpMeta::new(StoreKind::Sql, store.backend(), operation, access)
}

#[async_trait]
impl<S: SqlStore, L: Layer + 'static> SqlStore for Layered<S, L> {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn capabilities(&self) -> SqlCapabilities {
        self.inner.capabilities()
    }

    fn max_identifier_bytes(&self) -> Option<usize> {
        self.inner.max_identifier_bytes()
    }

    fn quote_identifier(&self, name: &str) -> Result<String> {
        self.inner.quote_identifier(name)
    }

    async fn execute(&self, sql: &str, params: &[Value]) -> Result<u64> {
        let meta = meta(&self.inner, "execute", Access::Write).query_text(sql);
        through(&self.layer, &meta, || self.inner.execute(sql, params)).await
    }

    async fn batch_execute(&self, sql: &str) -> Result<()> {
        let meta = meta(&self.inner, "batch_execute", Access::Admin).query_text(sql);
        through(&self.layer, &meta, || self.inner.batch_execute(sql)).await
    }

    fn query<'a>(&'a self, sql: &'a str, params: &'a [Value]) -> BoxStream<'a, Result<Document>> {
        let meta = meta(&self.inner, "query", Access::Read).query_text(sql);
        let rows = self.inner.query(sql, params);
        let rows = match self.layer.fallback() {
            Some(fallback) => match fallback.sql_secondary() {
                Some(secondary) => fallback.stream_or(rows, move || secondary.query(sql, params)),
                None => rows,
            },
            None => rows,
        };
        self.layer.stream(&meta, rows)
    }

    /// One call: a plain read (`SELECT`, `VALUES`, `TABLE`, `SHOW`) is idempotent, so the
    /// retry layer may repeat it; any other statement (`INSERT … RETURNING`, a `WITH` that may
    /// write) only when the layer is told so for `query`. A fallback answers when the primary
    /// cannot.
    async fn query_collect(
        &self,
        sql: &str,
        params: &[Value],
        limit: Option<usize>,
    ) -> Result<Vec<Document>> {
        let meta = meta(&self.inner, "query", Access::Read)
            .query_text(sql)
            .idempotent(reads_only(sql));
        let secondary = self.layer.fallback().and_then(FallbackLayer::sql_secondary);
        read(
            &self.layer,
            &meta,
            move || self.inner.query_collect(sql, params, limit),
            secondary.map(|s| move || s.query_collect(sql, params, limit)),
        )
        .await
    }

    async fn begin(&self, isolation: IsolationLevel) -> Result<Box<dyn SqlTransaction>> {
        let meta = meta(&self.inner, "begin", Access::Admin);
        through(&self.layer, &meta, || self.inner.begin(isolation)).await
    }

    async fn upsert_rows(
        &self,
        table: &str,
        columns: &[String],
        key: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        // All or nothing and keyed: running it again converges, so it is idempotent; each
        // attempt sends the same borrowed rows.
        let meta = meta(&self.inner, "upsert_rows", Access::Write)
            .collection(table)
            .idempotent(true);
        through(&self.layer, &meta, || {
            self.inner.upsert_rows(table, columns, key, rows).boxed()
        })
        .await
    }

    async fn insert_rows(
        &self,
        table: &str,
        columns: &[String],
        rows: &[Vec<Value>],
    ) -> Result<u64> {
        // Sent again after a commit whose answer was lost, it fails on a unique key or stores
        // the rows twice: not idempotent.
        let meta = meta(&self.inner, "insert_rows", Access::Write).collection(table);
        through(&self.layer, &meta, || {
            self.inner.insert_rows(table, columns, rows).boxed()
        })
        .await
    }
}
