//! [`SqlSearch`]: a read-only [`SearchIndex`] answered by a SQL table, so a
//! [`FallbackLayer`](crate::FallbackLayer) can serve searches from the system of record when
//! the search cluster is down.

mod translate;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use futures::TryStreamExt;
use store_core::search::{
    BulkOp, BulkReport, DocVersion, Hit, IndexOptions, IndexSpec, SearchCapabilities, SearchQuery,
    SearchRequest, SearchResponse, SortField, SortOrder, StoredDoc,
};
use store_core::sql::quote_qualified;
use store_core::{
    Document, Health, HealthReport, IndexName, Result, SearchIndex, SqlStore, StoreError, Value,
};

use translate::{Condition, column};

/// Answers `get`, `search` and `count` from the rows of a SQL table, one row per document, its
/// `id` column as the document id and its columns as the document's fields. Writes are
/// `Unsupported`: the table is written by its own application, not through the index.
///
/// It is a degraded answer, said plainly: there is no relevance score (hits come in the
/// requested sort, missing values last, then by id), `match` finds rows whose column (as
/// text) contains each word, ignoring case, rather than analyzed tokens, nested fields are
/// `Unsupported`, `search_after` takes one sort field, versions are zero, and `get` compares
/// the id column as text, which scans the table (fine for a fallback, not for a hot path).
/// Term, terms, range, prefix, exists and bool queries mean what they mean on OpenSearch. The SQL is portable between PostgreSQL and SQLite, with bound parameters only.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
/// use std::sync::Arc;
/// use store_core::search::{SearchQuery, SearchRequest};
/// use store_core::{IndexName, SearchIndex, SqlStore};
/// use store_layers::{FallbackLayer, SqlSearch};
/// use store_rusqlite::SqliteStore;
///
/// let sql = SqliteStore::memory().await?;
/// sql.batch_execute("CREATE TABLE products (id TEXT PRIMARY KEY, title TEXT)").await?;
/// sql.execute("INSERT INTO products VALUES ($1, $2)", &["p1".into(), "Red scarf".into()])
///     .await?;
/// let products = SqlSearch::new(IndexName::new("products")?, Arc::new(sql), "products", "id");
/// let found = products.search(&SearchRequest::new(SearchQuery::matches("title", "red"))).await?;
/// assert_eq!(found.hits[0].id, "p1");
/// // The fallback of a search index whose cluster may be down.
/// let fallback = FallbackLayer::search(Arc::new(products));
/// # let _ = fallback;
/// # Ok::<(), store_core::StoreError>(()) }).unwrap();
/// ```
pub struct SqlSearch {
    name: IndexName,
    sql: Arc<dyn SqlStore>,
    table: String,
    id: String,
}

impl fmt::Debug for SqlSearch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSearch")
            .field("name", &self.name.as_str())
            .field("backend", &self.sql.backend())
            .field("table", &self.table)
            .field("id", &self.id)
            .finish()
    }
}

impl SqlSearch {
    /// Searches as the index `name`, over `table` (optionally schema-qualified) of `sql`,
    /// whose column `id` holds the document ids.
    pub fn new(
        name: IndexName,
        sql: Arc<dyn SqlStore>,
        table: impl Into<String>,
        id: impl Into<String>,
    ) -> Self {
        Self {
            name,
            sql,
            table: table.into(),
            id: id.into(),
        }
    }

    fn read_only(&self, operation: &str) -> StoreError {
        StoreError::unsupported(format!(
            "`{operation}` on `{}`: a search over the SQL table `{}` is read-only",
            self.name.as_str(),
            self.table
        ))
    }

    /// The document id of a row: its id column as text.
    fn id_of(&self, row: &Document) -> Result<String> {
        match row.get(&self.id) {
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            other => Err(StoreError::invalid_input(format!(
                "the id column `{}` of `{}` holds {}, not a string or number",
                self.id,
                self.table,
                other.map_or("nothing", Value::type_name)
            ))),
        }
    }

    async fn rows(&self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        self.sql.query(sql, params).try_collect().await
    }

    /// The `WHERE`, `ORDER BY`, `LIMIT` and `OFFSET` of `request`.
    fn page(&self, request: &SearchRequest, condition: &mut Condition) -> Result<String> {
        let filter = condition.of(&request.query)?;
        let id = column(&self.id)?;
        let mut order = Vec::new();
        for sort in &request.sort {
            // No score here: a sort by score keeps the table's id order.
            if let SortField::Field(field, direction) = sort {
                let direction = match direction {
                    SortOrder::Asc => "ASC",
                    SortOrder::Desc => "DESC",
                };
                // Missing values last, either way, as on OpenSearch.
                let name = column(field)?;
                order.push(format!("({name} IS NULL) ASC, {name} {direction}"));
            }
        }
        order.push(format!("{id} ASC"));
        let mut clause = format!("WHERE {filter}");
        if let Some(after) = &request.search_after {
            clause.push_str(&format!(" AND {}", self.after(request, after, condition)?));
        }
        clause.push_str(&format!(" ORDER BY {}", order.join(", ")));
        clause.push_str(&format!(" LIMIT {} OFFSET {}", request.size, request.from));
        Ok(clause)
    }

    /// Rows strictly after the sort value `after` of a single sort key: keyset paging over a
    /// SQL table is exact for one key (ties broken by id are not resumable, since a hit's sort
    /// values do not hold its id, so they need `from`); rows missing the key come last.
    fn after(
        &self,
        request: &SearchRequest,
        after: &[Value],
        condition: &mut Condition,
    ) -> Result<String> {
        let (field, order) = match request.sort.as_slice() {
            [SortField::Field(field, order)] => (field, *order),
            [SortField::Score(_)] => {
                return Err(StoreError::unsupported(
                    "search_after over a score: a search over a SQL table has no score",
                ));
            }
            _ => {
                return Err(StoreError::unsupported(
                    "search_after over a SQL table needs exactly one sort field",
                ));
            }
        };
        let name = column(field)?;
        match after {
            [Value::Null] => Err(StoreError::unsupported(
                "search_after from a hit without a sort value: rows missing the sort field \
                 come last and are paged with `from`",
            )),
            [value] => {
                let op = match order {
                    SortOrder::Desc => "<",
                    SortOrder::Asc => ">",
                };
                let mark = condition.bind(value.clone());
                Ok(format!("({name} {op} {mark} OR {name} IS NULL)"))
            }
            _ => Err(StoreError::invalid_input(
                "search_after needs one value per sort field",
            )),
        }
    }

    async fn count_where(&self, query: &SearchQuery) -> Result<u64> {
        let mut condition = Condition::default();
        let filter = condition.of(query)?;
        let sql = format!(
            "SELECT COUNT(*) AS n FROM {} WHERE {filter}",
            quote_qualified(&self.table)
        );
        let rows = self.rows(&sql, &condition.params).await?;
        match rows.first().and_then(|row| row.get("n")) {
            Some(Value::Number(n)) => n
                .to_u64()
                .ok_or_else(|| StoreError::internal(format!("COUNT(*) gave {n}, not a count"))),
            other => Err(StoreError::internal(format!(
                "COUNT(*) gave {other:?}, not a number"
            ))),
        }
    }
}

#[async_trait]
impl Health for SqlSearch {
    async fn health(&self) -> Result<HealthReport> {
        self.sql.health().await
    }
}

#[async_trait]
impl SearchIndex for SqlSearch {
    fn backend(&self) -> &'static str {
        self.sql.backend()
    }

    fn name(&self) -> &IndexName {
        &self.name
    }

    fn capabilities(&self) -> SearchCapabilities {
        SearchCapabilities::default()
    }

    async fn create(&self, _spec: &IndexSpec) -> Result<()> {
        Err(self.read_only("create"))
    }

    async fn exists(&self) -> Result<bool> {
        let sql = format!(
            "SELECT 1 AS one FROM {} LIMIT 1",
            quote_qualified(&self.table)
        );
        match self.rows(&sql, &[]).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == store_core::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn drop_index(&self) -> Result<()> {
        Err(self.read_only("drop_index"))
    }

    async fn index(&self, _id: &str, _doc: Document, _options: IndexOptions) -> Result<DocVersion> {
        Err(self.read_only("index"))
    }

    async fn get(&self, id: &str) -> Result<Option<StoredDoc>> {
        let sql = format!(
            "SELECT * FROM {} WHERE CAST({} AS TEXT) = $1",
            quote_qualified(&self.table),
            column(&self.id)?
        );
        let rows = self.rows(&sql, &[Value::from(id)]).await?;
        Ok(rows.into_iter().next().map(|source| StoredDoc {
            id: id.to_owned(),
            source,
            version: DocVersion {
                seq_no: 0,
                primary_term: 0,
            },
        }))
    }

    async fn update(
        &self,
        _id: &str,
        _partial: Document,
        _options: IndexOptions,
    ) -> Result<DocVersion> {
        Err(self.read_only("update"))
    }

    async fn delete(&self, _id: &str, _options: IndexOptions) -> Result<bool> {
        Err(self.read_only("delete"))
    }

    async fn bulk(&self, _ops: Vec<BulkOp>) -> Result<BulkReport> {
        Err(self.read_only("bulk"))
    }

    async fn refresh(&self) -> Result<()> {
        Ok(())
    }

    async fn search(&self, request: &SearchRequest) -> Result<SearchResponse> {
        request.validate()?;
        let total = self.count_where(&request.query).await?;
        let mut condition = Condition::default();
        let clause = self.page(request, &mut condition)?;
        let sql = format!("SELECT * FROM {} {clause}", quote_qualified(&self.table));
        let rows = self.rows(&sql, &condition.params).await?;
        let hits = rows
            .into_iter()
            .map(|source| {
                let sort = request
                    .sort
                    .iter()
                    .filter_map(|s| match s {
                        SortField::Field(field, _) => {
                            Some(source.get(field).cloned().unwrap_or(Value::Null))
                        }
                        SortField::Score(_) => None,
                    })
                    .collect();
                Ok(Hit {
                    id: self.id_of(&source)?,
                    score: None,
                    source,
                    sort,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(SearchResponse {
            total,
            hits,
            aggregations: None,
        })
    }

    async fn count(&self, query: &SearchQuery) -> Result<u64> {
        self.count_where(query).await
    }
}
