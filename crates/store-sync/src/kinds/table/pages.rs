//! Reading a table in key-ordered pages: the reader, its connection (one snapshot, or the
//! store itself), and the check that each page starts at the last row read.

use store_core::sql::{IsolationLevel, SqlStore, SqlTransaction};
use store_core::{Document, Result, SqlStoreExt, StoreError, Value};

use super::SqlTable;
use super::cursor::{self, KeyClass};
use crate::batch_bytes::PageSizer;
use crate::kinds::catalog;
use crate::kinds::table_plan;
use crate::record::Record;
use crate::source::{Batch, Partition};

/// Where the table reads its pages: one snapshot transaction, or the store itself.
pub(super) enum Conn<'a> {
    Snapshot(Box<dyn SqlTransaction>),
    Direct(&'a dyn SqlStore),
}

impl Conn<'_> {
    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Document>> {
        match self {
            Conn::Snapshot(tx) => tx.query(sql, params).await,
            Conn::Direct(store) => store.query_all(sql, params).await,
        }
    }

    pub(super) async fn close(self) -> Result<()> {
        match self {
            Conn::Snapshot(tx) => tx.commit().await,
            Conn::Direct(_) => Ok(()),
        }
    }
}

/// What a reader's `after` key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum After {
    /// A partition's bound, or no key: the page starts past it.
    Bound,
    /// The key of the last row this reader read: the next page starts at that row and checks
    /// that it reads back, since a key that does not bind as it reads (SQLite: a REAL key in
    /// a column with no declared type, TEXT that is not UTF-8) would skip rows unseen.
    LastRead,
    /// Where an earlier run stopped: checked the same way, but its row may have been deleted
    /// since, even under a snapshot.
    Resumed,
}

pub(super) struct Reader<'a> {
    pub(super) conn: Conn<'a>,
    table: String,
    pub(super) keys: Vec<String>,
    after: Option<Vec<Value>>,
    /// What `after` is, which says how the next page starts from it.
    after_is: After,
    /// The SQLite storage class of each value of `after`, when known: the page binds each
    /// in its class.
    after_classes: Option<Vec<KeyClass>>,
    /// Whether pages ask for their keys' storage classes (SQLite).
    reads_classes: bool,
    before: Option<Vec<Value>>,
    /// Rows per page: at most the batch size, and about `BATCH_BYTES`.
    sizer: PageSizer,
}

impl<'a> Reader<'a> {
    pub(super) async fn open(
        table: &'a SqlTable,
        partition: Partition,
        resume: Option<String>,
        batch_size: usize,
    ) -> Result<Self> {
        let info = table.info().await?;
        if info.primary_key.is_empty() {
            return Err(StoreError::invalid_input(format!(
                "table `{}` has no primary key: records need a key to be copied idempotently",
                table.table
            )));
        }
        let conn = if table.store.capabilities().isolation_levels {
            Conn::Snapshot(table.store.begin(IsolationLevel::RepeatableRead).await?)
        } else {
            Conn::Direct(table.store.as_ref())
        };
        let mut reader = Self {
            conn,
            table: table.quoted(),
            keys: info.primary_key.clone(),
            after: None,
            after_is: After::Bound,
            after_classes: None,
            reads_classes: table.store.backend() == "sqlite" && cursor::classes_fit(&info.columns),
            before: None,
            sizer: PageSizer::new(batch_size),
        };
        if !partition.is_whole() {
            let plan = table.plan.lock().expect("plan lock").clone();
            let plan = plan.ok_or_else(|| {
                StoreError::invalid_input(format!(
                    "partition {partition} of table `{}` is a key range of the job's partition \
                     plan, and none was given (see `share_plan`)",
                    table.table
                ))
            })?;
            (reader.after, reader.before) =
                table_plan::range(&plan, partition, &table.table, &reader.keys)?;
            let risky = [&reader.after, &reader.before]
                .into_iter()
                .flatten()
                .any(|bound| may_not_compare_as_read(bound));
            if risky && matches!(reader.conn, Conn::Direct(_)) {
                return Err(StoreError::unsupported(format!(
                    "partition {partition} of table `{}` is bounded by a key that may not \
                     compare as it reads (a fraction or bytes, in a database without \
                     snapshots): it could skip rows. Copy the table whole",
                    table.table
                )));
            }
        }
        if let Some(token) = resume {
            // The last row an earlier run confirmed: the read starts at it and checks it.
            let (key, classes) = cursor::decode(&token)?;
            reader.after = Some(key);
            reader.after_classes = classes;
            reader.after_is = After::Resumed;
        }
        Ok(reader)
    }

    /// The last key of each of `total` partitions but the last, at offsets I·count/N of this
    /// snapshot (`None` for a partition ending before the first row).
    pub(super) async fn last_keys(&mut self, total: u32) -> Result<Vec<Option<Vec<Value>>>> {
        let count_sql = format!("SELECT count(*) AS n FROM {}", self.table);
        let rows = self.conn.query(&count_sql, &[]).await?;
        let count = rows
            .first()
            .and_then(|r| r.get("n"))
            .and_then(Value::as_number)
            .and_then(store_core::Number::to_u64)
            .unwrap_or(0);
        let mut last_keys = Vec::with_capacity(total as usize - 1);
        for share in 1..u64::from(total) {
            let end = count * share / u64::from(total);
            last_keys.push(match end {
                0 => None,
                _ => Some(self.key_at(end - 1).await?),
            });
        }
        Ok(last_keys)
    }

    async fn key_at(&mut self, offset: u64) -> Result<Vec<Value>> {
        let sql = format!(
            "SELECT {} FROM {} ORDER BY {} LIMIT 1 OFFSET {offset}",
            self.key_list(),
            self.table,
            self.key_list()
        );
        let row = self
            .conn
            .query(&sql, &[])
            .await?
            .into_iter()
            .next()
            .ok_or_else(|| {
                StoreError::conflict("the table changed while its partitions were computed")
            })?;
        Ok(self.key_values(&row))
    }

    fn key_list(&self) -> String {
        catalog::key_list(&self.keys)
    }

    fn key_values(&self, row: &Document) -> Vec<Value> {
        self.keys
            .iter()
            .map(|k| row.get(k).cloned().unwrap_or(Value::Null))
            .collect()
    }

    fn page_sql(&self) -> (String, Vec<Value>) {
        let mut params = Vec::new();
        let mut conditions = Vec::new();
        let tuple = |params: &mut Vec<Value>, values: &[Value], classes: Option<&[KeyClass]>| {
            let start = params.len();
            params.extend(values.iter().cloned());
            let marks: Vec<String> = (start..params.len())
                .map(|i| {
                    let class = classes.and_then(|c| c.get(i - start)).copied();
                    cursor::bind_mark(&format!("${}", i + 1), class)
                })
                .collect();
            format!("({})", marks.join(", "))
        };
        if let Some(after) = &self.after {
            let t = tuple(&mut params, after, self.after_classes.as_deref());
            let from = if self.starts_at_own_row() { ">=" } else { ">" };
            conditions.push(format!("({}) {from} {t}", self.key_list()));
        }
        if let Some(before) = &self.before {
            let t = tuple(&mut params, before, None);
            conditions.push(format!("({}) <= {t}", self.key_list()));
        }
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let columns = if self.reads_classes {
            cursor::select_with_classes(&self.keys)
        } else {
            "*".to_owned()
        };
        let sql = format!(
            "SELECT {columns} FROM {}{filter} ORDER BY {} LIMIT {}",
            self.table,
            self.key_list(),
            self.sizer
                .size()
                .saturating_add(usize::from(self.starts_at_own_row()))
        );
        (sql, params)
    }

    /// Whether the next page starts at the row of `after` (a key this reader or an earlier
    /// run read), and checks it.
    fn starts_at_own_row(&self) -> bool {
        self.after_is != After::Bound
    }

    /// Takes off the first row of a page that starts at the last row read, when it is that
    /// row. When it is not, the row was deleted meanwhile (the page is then the rows after
    /// it, cut to size), unless that cannot be (a snapshot's own row) or its key may not
    /// compare as it reads, where paging on could skip rows unseen: that stops the read. A
    /// key bound in its SQLite storage class compares as it reads (a REAL's text casts back
    /// to the same REAL: store-rusqlite's tests check that bit for bit), so its row missing
    /// means deleted.
    fn drop_own_row(&self, rows: &mut Vec<Document>) -> Result<()> {
        let (true, Some(after)) = (self.starts_at_own_row(), &self.after) else {
            return Ok(());
        };
        if rows.first().map(|row| self.key_values(row)).as_ref() == Some(after) {
            rows.remove(0);
            return Ok(());
        }
        // Under a snapshot (a typed database), only a row gone since an earlier run; without
        // one, any row deleted meanwhile, if its key compares as it reads.
        let deleted = match self.conn {
            Conn::Snapshot(_) => self.after_is == After::Resumed,
            Conn::Direct(_) => self.after_classes.is_some() || !may_not_compare_as_read(after),
        };
        if deleted {
            rows.truncate(self.sizer.size());
            return Ok(());
        }
        Err(StoreError::unsupported(format!(
            "reading {} by key stopped after the row with key {after:?}: asked for by that key, \
             the table does not give that row back, so its key does not compare as it reads \
             (in SQLite: a REAL key in a column with no declared type, or TEXT that is not \
             UTF-8, resumed from a position that does not give its storage class), or the row \
             was deleted during the read; reading on could skip rows. Run again, or copy a \
             query that reads every row in one statement (`?query=SELECT …` with --key)",
            self.table
        )))
    }

    pub(super) fn batches(self) -> impl futures::Stream<Item = Result<Batch>> + 'a {
        futures::stream::unfold(Some(self), |state| async move {
            let mut reader = state?;
            if matches!(&reader.before, Some(b) if b.is_empty()) {
                let closed = reader.conn.close().await;
                return closed.err().map(|e| (Err(e), None));
            }
            let (sql, params) = reader.page_sql();
            let mut rows = match reader.conn.query(&sql, &params).await {
                Ok(rows) => rows,
                Err(e) => return Some((Err(e), None)),
            };
            if let Err(e) = reader.drop_own_row(&mut rows) {
                return Some((Err(e), None));
            }
            let last = rows.len() < reader.sizer.size();
            reader.sizer.observe_page(&rows);
            let mut classes = None;
            if reader.reads_classes {
                for row in &mut rows {
                    classes = cursor::take_classes(row, reader.keys.len());
                }
            }
            let resume = rows.last().map(|row| reader.key_values(row));
            let records = rows
                .into_iter()
                .map(|row| Record::from_document(row, &reader.keys))
                .collect::<Result<Vec<_>>>();
            let records = match records {
                Ok(records) => records,
                Err(e) => return Some((Err(e), None)),
            };
            if records.is_empty() {
                let closed = reader.conn.close().await;
                return closed.err().map(|e| (Err(e), None));
            }
            let token = resume
                .as_deref()
                .map(|key| cursor::encode(key, classes.as_deref()));
            reader.after = resume;
            reader.after_classes = classes;
            reader.after_is = After::LastRead;
            if last {
                if let Err(e) = reader.conn.close().await {
                    return Some((Err(e), None));
                }
                return Some((
                    Ok(Batch {
                        records,
                        resume: token,
                    }),
                    None,
                ));
            }
            Some((
                Ok(Batch {
                    records,
                    resume: token,
                }),
                Some(reader),
            ))
        })
    }
}

/// Whether a key read from the database may not find its own row when bound as a parameter:
/// a fraction (SQLite keeps REAL, decimal TEXT or INTEGER under one `Number`) or bytes (a
/// BLOB, or TEXT that is not UTF-8). Text and whole numbers bind as they read.
fn may_not_compare_as_read(key: &[Value]) -> bool {
    key.iter().any(|value| match value {
        Value::Number(n) => n.to_i64().is_none() || n.exponent() < 0,
        Value::Bytes(_) => true,
        _ => false,
    })
}
