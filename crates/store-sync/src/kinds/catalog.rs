//! What a SQL table looks like, read from the database's own catalog, and creating one from an
//! archived schema. The catalog queries differ per dialect (`postgres`, `sqlite`).

use store_core::sql::{
    SqlStore, quote_ident, quote_qualified, sqlite_listed_table, sqlite_table_flag,
    sqlite_table_list,
};
use store_core::{Document, Number, Result, SqlStoreExt, StoreError, Value};

use super::column_type::check_column_type;
use crate::schema::{CollectionSchema, Column, TableOption};

/// A table's columns and primary key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableInfo {
    pub(crate) columns: Vec<Column>,
    pub(crate) primary_key: Vec<String>,
    /// SQLite's `STRICT` and `WITHOUT ROWID`, when the table has them.
    pub(crate) options: Vec<TableOption>,
}

impl TableInfo {
    /// Whether the table has a column `name`.
    pub(crate) fn has_column(&self, name: &str) -> bool {
        self.columns.iter().any(|c| c.name == name)
    }

    /// Makes `rows` of `columns` whole rows: each nullable column of the table that they
    /// lack is added, `NULL` in every row, so that a row written holds what its record holds
    /// and nothing left from before (as a document store replaces a whole item). A `NOT NULL`
    /// column they lack is left out: an insert takes its default, an update keeps its value.
    pub(crate) fn fill_missing(&self, columns: &mut Vec<String>, rows: &mut [Vec<Value>]) {
        if columns.len() >= self.columns.len() {
            return;
        }
        let missing: Vec<&Column> = self
            .columns
            .iter()
            .filter(|c| c.nullable && !columns.contains(&c.name))
            .collect();
        if missing.is_empty() {
            return;
        }
        columns.extend(missing.iter().map(|c| c.name.clone()));
        for row in rows {
            row.resize(row.len() + missing.len(), Value::Null);
        }
    }
}

/// Reads the table's columns and key, or `None` when it does not exist.
pub(crate) async fn describe(store: &dyn SqlStore, table: &str) -> Result<Option<TableInfo>> {
    match store.backend() {
        "postgres" => describe_postgres(store, table).await,
        "sqlite" => describe_sqlite(store, table).await,
        other => Err(unsupported(other)),
    }
}

async fn describe_postgres(store: &dyn SqlStore, table: &str) -> Result<Option<TableInfo>> {
    let name = Value::String(quote_qualified(table));
    let columns = store
        .query_all(
            "SELECT a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, \
             NOT a.attnotnull AS nullable FROM pg_attribute a \
             WHERE a.attrelid = to_regclass($1::text) AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum",
            std::slice::from_ref(&name),
        )
        .await?;
    if columns.is_empty() {
        return Ok(None);
    }
    let keys = store
        .query_all(
            "SELECT a.attname::text AS name FROM pg_index i \
             JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
             WHERE i.indrelid = to_regclass($1::text) AND i.indisprimary \
             ORDER BY array_position(i.indkey::int2[], a.attnum)",
            &[name],
        )
        .await?;
    Ok(Some(TableInfo {
        columns: columns.iter().map(column).collect::<Result<_>>()?,
        primary_key: keys
            .iter()
            .map(|r| text(r, "name"))
            .collect::<Result<_>>()?,
        options: Vec::new(),
    }))
}

async fn describe_sqlite(store: &dyn SqlStore, table: &str) -> Result<Option<TableInfo>> {
    // The database holding the table, as SQLite resolves its name, then its columns there.
    let (list, name) = sqlite_table_list(table);
    let listed = store.query_all(list, std::slice::from_ref(&name)).await?;
    let Some(found) = sqlite_listed_table(&listed, table) else {
        return Ok(None);
    };
    let schema = found.get("schema").cloned().unwrap_or(Value::Null);
    let rows = store
        .query_all(
            "SELECT name, type, \"notnull\" = 0 AS nullable, pk FROM pragma_table_info($1, $2) \
             ORDER BY cid",
            &[name, schema],
        )
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut keyed: Vec<(u64, String)> = Vec::new();
    for row in &rows {
        let position = row
            .get("pk")
            .and_then(Value::as_number)
            .and_then(Number::to_u64)
            .unwrap_or(0);
        if position > 0 {
            keyed.push((position, text(row, "name")?));
        }
    }
    keyed.sort();
    let flags = [
        ("strict", TableOption::Strict),
        ("wr", TableOption::WithoutRowid),
    ];
    Ok(Some(TableInfo {
        columns: rows.iter().map(column).collect::<Result<_>>()?,
        primary_key: keyed.into_iter().map(|(_, name)| name).collect(),
        options: flags
            .into_iter()
            .filter(|(flag, _)| sqlite_table_flag(found, flag))
            .map(|(_, option)| option)
            .collect(),
    }))
}

/// Creates `table` from an archived table schema of the same dialect.
pub(crate) async fn create_table(
    store: &dyn SqlStore,
    table: &str,
    schema: &CollectionSchema,
) -> Result<()> {
    store
        .batch_execute(&create_statement(store, table, schema, true)?)
        .await
}

/// `CREATE TABLE` for `table` from an archived table schema of the store's dialect, with its
/// primary key or (`with_key` false) without it.
pub(crate) fn create_statement(
    store: &dyn SqlStore,
    table: &str,
    schema: &CollectionSchema,
    with_key: bool,
) -> Result<String> {
    let CollectionSchema::Table {
        dialect,
        columns,
        primary_key,
        options,
        ..
    } = schema
    else {
        return Err(StoreError::not_found(format!(
            "table `{table}` does not exist, and a {} source does not say what its columns are; \
             create it first (keys: {})",
            schema.kind_name(),
            schema.key_names().join(", ")
        )));
    };
    if dialect != store.backend() {
        return Err(StoreError::unsupported(format!(
            "table `{table}` does not exist and its schema is in the {dialect} dialect, not {}; \
             create it first",
            store.backend()
        )));
    }
    if columns.is_empty() {
        // A query source names its key, not its columns' types.
        return Err(StoreError::not_found(format!(
            "table `{table}` does not exist, and a query source does not say what its columns \
             are; create it first (keys: {})",
            primary_key.join(", ")
        )));
    }
    if with_key && primary_key.is_empty() {
        return Err(StoreError::invalid_input(format!(
            "table `{table}` does not exist, and the source table `{}` has no primary key to \
             give it: records need a key to be copied idempotently",
            schema.name()
        )));
    }
    let mut parts: Vec<String> = columns
        .iter()
        .map(|c| {
            check_column_type(dialect, table, &c.name, &c.sql_type)?;
            let null = if c.nullable { "" } else { " NOT NULL" };
            Ok(format!("{} {}{null}", quote_ident(&c.name), c.sql_type))
        })
        .collect::<Result<_>>()?;
    if with_key {
        parts.push(format!("PRIMARY KEY ({})", key_list(primary_key)));
    }
    let options = table_options(dialect, table, options, with_key)?;
    Ok(format!(
        "CREATE TABLE {} ({}){options}",
        quote_qualified(table),
        parts.join(", ")
    ))
}

/// ` STRICT, WITHOUT ROWID` (as many as `options` holds) after a SQLite `CREATE TABLE`'s
/// columns; nothing for no options. Only SQLite has them, and `WITHOUT ROWID` needs the key.
fn table_options(
    dialect: &str,
    table: &str,
    options: &[TableOption],
    with_key: bool,
) -> Result<String> {
    if options.is_empty() {
        return Ok(String::new());
    }
    if dialect != "sqlite" || !with_key {
        return Err(StoreError::invalid_input(format!(
            "the schema of table `{table}` gives it SQLite's table options in the {dialect} \
             dialect; the schema file was edited or damaged"
        )));
    }
    let sql: Vec<&str> = options.iter().map(|o| o.sql()).collect();
    Ok(format!(" {}", sql.join(", ")))
}

/// The quoted column names, comma-separated: `"id", "region"`.
pub(crate) fn key_list(names: &[String]) -> String {
    names
        .iter()
        .map(|k| quote_ident(k))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column(row: &Document) -> Result<Column> {
    Ok(Column {
        name: text(row, "name")?,
        sql_type: text(row, "type")?,
        nullable: match row.get("nullable") {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => !n.is_zero(),
            _ => true,
        },
    })
}

fn text(row: &Document, column: &str) -> Result<String> {
    match row.get(column) {
        Some(Value::String(s)) => Ok(s.clone()),
        _ => Err(StoreError::internal(format!(
            "the catalog gave no text `{column}`"
        ))),
    }
}

fn unsupported(backend: &str) -> StoreError {
    StoreError::unsupported(format!(
        "reading a table's shape is implemented for postgres and sqlite, not `{backend}`"
    ))
}
