//! The `stores` tour: replays the seed scenario step by step and prints what each step did.
//!
//! Objects (upload and download a file and a JSON document, list, presign), documents (put,
//! get, update, query, scan, delete), search (create an index, index, bulk, search, count)
//! and SQL (create a table, insert, query, a transaction, a bulk load). It needs no service:
//! objects live in a directory through store-fs, documents in redb files through store-redb,
//! search in a tantivy index through store-tantivy and SQL in a SQLite file through
//! store-rusqlite, all under a data directory named at the start. `--memory` keeps everything
//! in memory; `--real` runs the SQL part on the harness's PostgreSQL.

mod args;
mod documents;
mod objects;
mod runs;
mod search;
mod sql;

use anyhow::Context as _;
use std::path::Path;
use std::sync::Arc;

use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::{DocumentStore, KeySchema, KeyType, ObjectStore, SearchIndex};

/// Prints one step of the tour.
pub(crate) fn step(service: &str, what: &str, outcome: impl std::fmt::Display) {
    say(format_args!("[{service:<8}] {what:<40} {outcome}"));
}

/// One line on stdout. A closed stdout (`stores tour --help | head -3`) ends nothing: the
/// tour goes on, and a panic on a broken pipe would only hide what it did.
fn say(text: impl std::fmt::Display) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// Runs the tour with the command-line arguments that follow the program name, printing its
/// steps on stdout and any failure as one `error:` line on stderr naming `program` (e.g.
/// `stores-tour`, or `stores tour` when the `stores` command runs it).
///
/// Returns the exit code: 0 on success, 1 when a step failed, 2 for a bad argument (`--help`
/// prints the usage and succeeds).
pub async fn main_with_args(args: impl IntoIterator<Item = String>, program: &str) -> u8 {
    let args = match args::parse(args) {
        Ok(Some(args)) => args,
        Ok(None) => {
            say(args::usage(program));
            return 0;
        }
        Err(message) => {
            eprintln!("{program}: {message}");
            return 2;
        }
    };
    match run(&args).await {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {program}: {e:#}");
            1
        }
    }
}

async fn run(args: &args::Args) -> anyhow::Result<()> {
    match &args.data_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot use {} as the data directory", dir.display()))?;
            say(format_args!(
                "stores tour: the seed scenario on the embedded backends, data in {}{}\n",
                dir.display(),
                if args.chosen {
                    ""
                } else {
                    " (a fresh folder: pass --data-dir DIR to keep using one)"
                }
            ));
        }
        None => say("stores tour: the seed scenario on the in-memory backends\n"),
    }

    let objects = object_store(args.data_dir.as_deref()).await?;
    runs::count_in_objects(objects.as_ref()).await?;
    objects::run(objects.as_ref()).await?;
    say("");

    let users = document_store(
        args.data_dir.as_deref(),
        "Users",
        KeySchema::partition("id", KeyType::String),
    )
    .await?;
    let orders = document_store(
        args.data_dir.as_deref(),
        "Orders",
        KeySchema::partition("user_id", KeyType::String).with_sort("order_no", KeyType::Number),
    )
    .await?;
    runs::count_in_documents(users.as_ref()).await?;
    documents::run(users.as_ref(), orders.as_ref()).await?;
    say("");

    let index = search_index(args.data_dir.as_deref()).await?;
    search::run(index.as_ref(), args.data_dir.is_some()).await?;
    say("");

    sql::run(args).await?;

    say("\ntour finished: every step succeeded");
    if let Some(dir) = &args.data_dir {
        say(format_args!(
            "the data stays in {}; run again with --data-dir {} to see it survive",
            dir.display(),
            dir.display()
        ));
    }
    Ok(())
}

/// A document table on store-redb in `<data dir>/documents/<table>.redb`, or in memory.
async fn document_store(
    data_dir: Option<&Path>,
    table: &str,
    keys: KeySchema,
) -> anyhow::Result<Arc<dyn DocumentStore>> {
    Ok(match data_dir {
        Some(dir) => {
            let folder = dir.join("documents");
            std::fs::create_dir_all(&folder)?;
            let path = folder.join(format!("{table}.redb"));
            Arc::new(store_redb::RedbStore::open(&path, table, keys).await?)
        }
        None => Arc::new(MemoryDocumentStore::new(table, keys)?),
    })
}

/// The `users` index on store-tantivy in `<data dir>/search/users`, or in memory.
async fn search_index(data_dir: Option<&Path>) -> anyhow::Result<Arc<dyn SearchIndex>> {
    Ok(match data_dir {
        Some(dir) => {
            Arc::new(store_tantivy::TantivyIndex::open(dir.join("search"), "users").await?)
        }
        None => Arc::new(MemorySearchIndex::new("users")?),
    })
}

/// Objects on store-fs in `<data dir>/objects`, or in memory.
async fn object_store(data_dir: Option<&Path>) -> anyhow::Result<Arc<dyn ObjectStore>> {
    Ok(match data_dir {
        Some(dir) => Arc::new(store_fs::FsStore::open(dir.join("objects")).await?),
        None => Arc::new(MemoryObjectStore::new()),
    })
}
