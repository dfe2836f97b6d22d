#![doc = include_str!("../README.md")]
//!
//! ## Opening
//!
//! [`SqliteStore::open`] opens or creates a file with the defaults;
//! [`SqliteStore::builder`] returns a [`SqliteConfig`] (busy timeout, reader count,
//! create-if-missing, read-only, statement cache) finished with `build()`;
//! [`SqliteStore::memory`] is a private in-memory database; [`SqliteStore::from_client`]
//! wraps a rusqlite connection you opened yourself.
//!
//! ## How it runs
//!
//! - **Never blocks the runtime.** One writer connection lives on a dedicated thread and runs
//!   jobs in order; read-only queries run on a pool of reader connections
//!   ([`SqliteConfig::readers`], 4 by default) inside `spawn_blocking`. Query rows cross a
//!   bounded channel in chunks of at most 64 rows (or about 256 KiB) and become documents on
//!   the consumer's side, so a query of any size streams in bounded memory while SQLite reads
//!   ahead.
//! - **Durable on acknowledgment.** Write-ahead logging (`journal_mode=WAL`) with
//!   `synchronous=FULL`: a commit that returned `Ok` survives a crash or power loss.
//!   `foreign_keys=ON` on every connection.
//! - **One writing process.** Opening a file for writing takes an exclusive OS lock on
//!   `<database>.writer-lock`; while another process holds it, opening is a `Conflict`
//!   naming that process (read-only stores may open alongside). Stores of one process share
//!   the lock. The lock is released when its holder exits or is killed, and is reliable on
//!   local file systems only: a database is single-host.
//! - **One writer at a time.** SQLite allows one writer per database file at a time. A
//!   write waits for another's lock up to the busy timeout
//!   ([`SqliteConfig::busy_timeout`], 5 s), then fails with a retryable `Conflict`; so does a
//!   call that waits that long for this store's writer connection (held by an open
//!   transaction, a query stream on the writer, a bulk load).
//! - **Its own files.** A new database is stamped with `PRAGMA application_id`
//!   [`APPLICATION_ID`] (`"STQ"` and format version [`FORMAT_VERSION`]); opening a file with
//!   another application's id, a newer format, or a file that is not a database at all is an
//!   `InvalidInput` error that says so. A plain SQLite database with no id is adopted.
//! - **In memory.** [`SqliteStore::memory`] is one private connection: every call sees the
//!   same data, and queries run on the writer too, so a query stream holds it until it ends.
//!
//! ## Statements
//!
//! Parameters are written as on PostgreSQL, `$1, $2, …`, and rewritten to SQLite's `?1, ?2,
//! …` outside string literals, quoted names and comments, so the same statement text runs on
//! both where the SQL itself is portable. A statement takes exactly as many parameters as it
//! numbers (else `InvalidInput`). `execute` returns the rows changed (for a `SELECT`, the rows
//! returned); a statement that leaves a transaction open (`BEGIN` through `execute`) is rolled
//! back and refused. `batch_execute` runs a script as one transaction (all or nothing), unless
//! the script manages transactions itself or holds statements SQLite will not run in one
//! (`BEGIN`, `COMMIT`, `ROLLBACK`, `SAVEPOINT`, `RELEASE`, `VACUUM`, `PRAGMA`, `ATTACH`,
//! `DETACH`).
//!
//! ## Type mapping
//!
//! SQLite stores five kinds of values (NULL, INTEGER, REAL, TEXT, BLOB) and treats declared
//! column types as hints ("affinity"). Parameters are bound by their [`Value`](store_core::Value) kind; values
//! are read by their storage class and the column's declared type
//! (`sqlite3_column_decltype`: only plain table columns have one, expressions do not).
//!
//! | [`Value`](store_core::Value) | bound as | read back |
//! |---|---|---|
//! | `Null` | NULL | `Null` |
//! | `Bool` | INTEGER 0 / 1 | `Bool` in a column declared `BOOLEAN`/`BOOL`; `Number` elsewhere |
//! | `Number`, an integer without fraction digits that fits `i64` | INTEGER | `Number` |
//! | `Number`, the shortest decimal of an `f64` (`1.5`, `0.1`, `1E+300`), written by `SqlStore::upsert_rows`/`SqlStore::insert_rows` (not the streaming [`SqliteStore::insert_rows`]) into a column of no declared type, a type naming BLOB, or ANY in a STRICT table | REAL (such a column keeps the class it is given, so a REAL with a fraction, or beyond `i64`, copied between databases stays REAL; a whole REAL such as `2.0` reads as the number `2` and is written back as INTEGER, and `-0.0` as `0`) | `Number`, as from REAL storage below |
//! | `Number`, any other (`1.10`, 30 digits, and in other columns or through the streaming load any fraction) | TEXT, its exact decimal form | `Number` with every digit in a column declared with `DECIMAL` or `NUMERIC` in its type (see below), when the text is as a number writes it (`01`, `+5` or `1e2` another program wrote stay `String`, so `01` and `1` do not read as one value; `1` and `1.0` are both numbers' own text, and equal); the text (`String`) elsewhere |
//! | `String` (also dates, times, UUIDs as ISO 8601 / standard text) | TEXT | `String` |
//! | `Bytes` | BLOB | `Bytes` |
//! | `Map`, `List` | TEXT, JSON with exact numbers (bytes as base64) | `Map` / `List` in a column declared `JSON`/`JSONB` (text starting with `{` or `[`); the text elsewhere |
//! | `StringSet`, `NumberSet`, `BytesSet` | TEXT, a JSON array | `List` in a `JSON` column |
//! | (REAL storage) | — | `Number`, the shortest decimal that reads back as the same `f64`, but a whole REAL beyond 2^53 within `i64` as its exact integer (the shortest decimal of 2^62 is another integer); ±infinity is `Unsupported` |
//! | (TEXT that is not UTF-8, written by another program) | — | `Bytes`, unchanged |
//!
//! **Exact decimals: declare them `DECIMAL_TEXT`.** SQLite gives a column declared `NUMERIC`
//! or `DECIMAL(p,s)` *numeric affinity*: text that looks like a number is converted to INTEGER
//! or REAL when stored, so `1.10` becomes `1.1` and a 38-digit decimal is rounded to 17
//! digits. A column declared `DECIMAL_TEXT` has TEXT affinity (its type contains `TEXT`), so the
//! exact text is stored as bound, and its type contains `DECIMAL`, so it reads back as a
//! `Number`: `1.10`, 38-digit and `1E+50` values come back identical. To refuse text that is
//! no number, add a check: `amount DECIMAL_TEXT CHECK (amount NOT GLOB '*[^0-9.eE+-]*')`.
//! Such columns compare and sort as text; compare numerically in Rust, or with
//! `CAST(amount AS REAL)` where 15 digits suffice. Integers in `INTEGER` columns and `REAL`
//! columns need nothing special.
//!
//! ## Transactions
//!
//! [`begin`](store_core::SqlStore::begin) starts `BEGIN IMMEDIATE` on the writer: it takes
//! SQLite's write lock at once, so a transaction never fails halfway for want of it. Every
//! [`IsolationLevel`](store_core::sql::IsolationLevel) — read committed, repeatable read,
//! serializable — runs as SQLite's only level, serializable (a stronger guarantee than the
//! two weaker levels promise). Only one write transaction is open at a time: a second waits
//! for the first up to the busy timeout, then fails with a retryable `Conflict`, which
//! [`SqlStoreExt::transaction`](store_core::SqlStoreExt::transaction) retries. Meanwhile the
//! readers see the last committed state. Dropping a transaction rolls it back. See
//! [`SqliteTransaction`] for statement errors inside a transaction.
//!
//! ## Errors
//!
//! By SQLite result code ([`kind_of_error`]): UNIQUE / PRIMARY KEY constraint →
//! `AlreadyExists`; other constraints, datatype mismatch, syntax errors, unknown columns →
//! `InvalidInput`; no such table → `NotFound`; `SQLITE_BUSY`/`SQLITE_LOCKED` after the busy
//! timeout → `Conflict` (retryable); I/O errors, a full disk → `Unavailable`.
//!
//! ## Beyond the trait
//!
//! - [`SqliteStore::insert_rows`]: a bulk load from a stream of rows, in one transaction
//!   through one prepared statement.
//! - [`Migrator`]: versioned, checksummed migrations under SQLite's write lock.
//! - [`SqliteStore::backup_to`]: an online, consistent copy into a file.
//! - [`SqliteStore::with_writer`]: any rusqlite call on the writer connection.
//!
//! ## Capabilities
//!
//! [`SqlStore::capabilities`](store_core::SqlStore::capabilities) is
//! [`SqlCapabilities::none`](store_core::sql::SqlCapabilities::none): declared types are not
//! enforced (no `varchar(n)` lengths, `1 / 0` is NULL), `NUMERIC` is not exact, there is no
//! `::` cast nor PostgreSQL's `jsonb` functions (SQLite's own `->>` works), one write
//! transaction at a time, one isolation level. The conformance suite runs every portable
//! behaviour on SQLite and reports the others as opt-outs.

mod backup;
mod bulk;
mod config;
mod conn;
mod convert;
mod error;
mod exec;
mod flat;
mod migrate;
mod readers;
mod sqltext;
mod store;
mod stream;
mod transaction;
mod untyped;
mod writer;
mod writer_lock;

pub use config::{DEFAULT_BUSY_TIMEOUT, DEFAULT_READERS, DEFAULT_STATEMENT_CACHE, SqliteConfig};
pub use conn::{APPLICATION_ID, FORMAT_VERSION};
pub use error::kind_of_error;
pub use migrate::{Migration, MigrationReport, Migrator};
pub use store::SqliteStore;
/// Identifier quoting, shared with PostgreSQL: for names built into SQL text.
pub use store_core::sql::{quote_ident, quote_qualified};
pub use transaction::SqliteTransaction;

/// The SQLite binding this crate is built on, for [`SqliteStore::with_writer`].
pub use rusqlite;
