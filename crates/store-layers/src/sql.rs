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

/// Whether `sql` only reads, so that running it again is harmless and a secondary store may
/// answer it: its first keyword (after blanks, comments and opening parentheses) is `SELECT`
/// (without an `INTO`, which creates a table), `VALUES`, `TABLE` or `SHOW`. `WITH` is not, as
/// its parts may write. A `SELECT` calling a function that writes is beyond what the text
/// shows: tell the retry layer `query` is not idempotent for such a store.
fn reads_only(sql: &str) -> bool {
    let rest = skip_blanks_and_comments(sql);
    let keyword: String = rest
        .chars()
        .take_while(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    match keyword.as_str() {
        "VALUES" | "TABLE" | "SHOW" => true,
        // Any word `INTO` counts, even inside a string: a read taken for a write is only
        // not retried.
        "SELECT" => !rest
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .any(|word| word.eq_ignore_ascii_case("into")),
        _ => false,
    }
}

/// `sql` from its first token: blanks, opening parentheses, `--` comments and (nested) block
/// comments skipped.
fn skip_blanks_and_comments(sql: &str) -> &str {
    let mut rest = sql;
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '(');
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment.split_once('\n').map_or("", |(_, after)| after);
        } else if rest.starts_with("/*") {
            rest = after_block_comment(rest);
        } else {
            return rest;
        }
    }
}

/// What follows the block comment `text` opens with, comments nesting as in PostgreSQL; an
/// unclosed comment leaves nothing.
fn after_block_comment(text: &str) -> &str {
    let mut depth = 0usize;
    let mut at = 0;
    let bytes = text.as_bytes();
    while at + 1 < bytes.len() {
        match &bytes[at..at + 2] {
            b"/*" => {
                depth += 1;
                at += 2;
            }
            b"*/" => {
                depth -= 1;
                at += 2;
                if depth == 0 {
                    return &text[at..];
                }
            }
            _ => at += 1,
        }
    }
    ""
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
        let reads = reads_only(sql);
        let access = if reads { Access::Read } else { Access::Write };
        let meta = meta(&self.inner, "query", access).query_text(sql);
        let rows = self.inner.query(sql, params);
        // A statement that may write never goes to the secondary.
        let rows = match self.layer.fallback().filter(|_| reads) {
            Some(fallback) => match fallback.sql_secondary() {
                Some(secondary) => fallback.stream_or(rows, move || secondary.query(sql, params)),
                None => rows,
            },
            None => rows,
        };
        self.layer.stream(&meta, rows)
    }

    /// One call: a plain read (`SELECT` without `INTO`, `VALUES`, `TABLE`, `SHOW`) is
    /// idempotent, so the retry layer may repeat it and a fallback may answer it when the
    /// primary cannot; any other statement (`INSERT … RETURNING`, a `WITH` that may write) is
    /// repeated only when the layer is told so for `query`, and never sent to the fallback.
    async fn query_collect(
        &self,
        sql: &str,
        params: &[Value],
        limit: Option<usize>,
    ) -> Result<Vec<Document>> {
        let reads = reads_only(sql);
        // A statement that may write is a write to every layer (faults by access, spans).
        let access = if reads { Access::Read } else { Access::Write };
        let meta = meta(&self.inner, "query", access)
            .query_text(sql)
            .idempotent(reads);
        // A statement that may write never goes to the secondary.
        let secondary = self
            .layer
            .fallback()
            .and_then(FallbackLayer::sql_secondary)
            .filter(|_| reads);
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

#[cfg(test)]
mod tests {
    use super::reads_only;

    #[test]
    fn only_plain_reads_count_as_reads() {
        for read in [
            "SELECT 1",
            "select id from t",
            "  ((SELECT id FROM t))",
            "-- newest\nSELECT id FROM t",
            "/* a /* nested */ note */ SELECT id FROM t",
            "VALUES (1), (2)",
            "TABLE t",
            "show search_path",
            "SELECT intonation FROM t",
        ] {
            assert!(reads_only(read), "{read:?} reads");
        }
        for write in [
            "INSERT INTO t VALUES (1) RETURNING id",
            "WITH gone AS (DELETE FROM t RETURNING id) SELECT id FROM gone",
            "SELECT * INTO t2 FROM t",
            "select id into\ntemp t2 from t",
            "/* /* */ SELECT */ INSERT INTO t VALUES (1) RETURNING id",
            "/* never closed SELECT 1",
            "-- only a comment",
            "",
            "EXPLAIN ANALYZE DELETE FROM t",
            "UPDATE t SET n = n + 1 RETURNING n",
        ] {
            assert!(!reads_only(write), "{write:?} may write");
        }
    }
}
