//! The corpus against a [`SqlStore`]: hostile parameters, identifiers and numbers.

use std::str::FromStr;

use store_core::{Number, SqlStore, SqlStoreExt, Value};

use super::{Report, corpus, same};

/// The SQL that differs between engines.
pub struct Dialect {
    /// `CREATE TABLE {table} (id <integer> PRIMARY KEY, t <text>, n <exact decimal>)`.
    pub create_table: fn(&str) -> String,
    /// The placeholder of parameter `n` (1-based).
    pub param: fn(usize) -> String,
}

/// Runs every entry that applies to a SQL store, in tables named after `prefix` (dropped at
/// the end), then checks it still works. `report` names the backend (and any declared quirks).
pub async fn run(store: &dyn SqlStore, mut report: Report, prefix: &str, dialect: &Dialect) {
    let corpus = corpus();
    let table = format!("{prefix}_values");
    let (p1, p2) = ((dialect.param)(1), (dialect.param)(2));
    if let Err(e) = store.batch_execute(&(dialect.create_table)(&table)).await {
        report.breach(format!("creating {table} failed: {e}"));
        report.finish();
        return;
    }
    for (i, entry) in corpus.texts.iter().enumerate() {
        report
            .entry(format!("text parameter: {}", entry.name), async {
                let text = Value::from(entry.text.clone());
                let insert = format!("INSERT INTO {table} (id, t) VALUES ({p1}, {p2})");
                store
                    .execute(&insert, &[Value::from(i as i64), text.clone()])
                    .await?;
                let select = format!("SELECT t FROM {table} WHERE id = {p1}");
                let row = store.query_one(&select, &[Value::from(i as i64)]).await?;
                same("the text", &row.get("t"), &Some(&text))
            })
            .await;
    }
    for (i, entry) in corpus.numbers.iter().enumerate() {
        let id = 10_000 + i as i64;
        report
            .entry(format!("numeric parameter: {}", entry.name), async {
                let number = Value::from(Number::from_str(&entry.text)?);
                let insert = format!("INSERT INTO {table} (id, n) VALUES ({p1}, {p2})");
                store
                    .execute(&insert, &[Value::from(id), number.clone()])
                    .await?;
                let select = format!("SELECT n FROM {table} WHERE id = {p1}");
                let row = store.query_one(&select, &[Value::from(id)]).await?;
                same("the number", &row.get("n"), &Some(&number))
            })
            .await;
    }
    for (i, entry) in corpus.attribute_names.iter().enumerate() {
        let named = format!("{prefix}_column_{i}");
        report
            .entry(format!("column name: {}", entry.name), async {
                let column = store.quote_identifier(&entry.text)?;
                let create = format!("CREATE TABLE {named} ({column} integer)");
                store.batch_execute(&create).await?;
                store
                    .execute(
                        &format!("INSERT INTO {named} ({column}) VALUES ({p1})"),
                        &[Value::from(7)],
                    )
                    .await?;
                let row = store
                    .query_one(&format!("SELECT {column} FROM {named}"), &[])
                    .await?;
                let names: Vec<&str> = row.iter().map(|(name, _)| name).collect();
                same("the column's name", &names, &vec![entry.text.as_str()])?;
                same(
                    "the column's value",
                    &row.get(&entry.text),
                    &Some(&Value::from(7)),
                )
            })
            .await;
        let _ = store
            .batch_execute(&format!("DROP TABLE IF EXISTS {named}"))
            .await;
    }
    let works = store
        .query_one(&format!("SELECT count(*) AS n FROM {table}"), &[])
        .await;
    if let Err(e) = works {
        report.breach(format!("the store no longer works normally: {e}"));
    }
    let _ = store.batch_execute(&format!("DROP TABLE {table}")).await;
    report.finish();
}
