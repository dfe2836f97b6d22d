//! `stores sync` of a large table in bounded memory: spilling past `--in-memory-keys` (a fifth
//! of the rows, 200,000 at the full size, the default) against the same command holding
//! every key in memory.

use std::path::Path;

use anyhow::Result;
use store_core::SqlStore as _;
use store_rusqlite::SqliteStore;

use crate::Ctx;
use crate::harness::{Contender, Sample, Target, Verdict, compare, run_rounds};

/// A SQLite source of `n` rows synced (`--delete`) into a copy of a sink that lacks its first
/// tenth, has every 50th row changed and a tenth more rows the source lacks.
pub(crate) fn sync_memory(ctx: &Ctx, n: usize) -> Result<Vec<Verdict>> {
    ctx.server.set(None);
    let extra = n / 10;
    println!(
        "bench sync_memory: SQLite, {n} source rows; the sink lacks {extra}, has every 50th \
         changed and {extra} more the source lacks; `stores sync --delete`"
    );
    let source = ctx.scratch("memory-src")?.join("src.db");
    let template = ctx.scratch("memory-dst")?.join("dst.db");
    ctx.rt.block_on(async {
        fill(&source, 0, n, false).await?;
        fill(&template, extra, n + extra, true).await
    })?;
    let src_url = table_url(&source);
    let limit = (n / 5).max(1).to_string();
    let sync = |who: &str, flags: &[&str], run: usize| -> Result<Sample> {
        let dir = ctx.scratch(&format!("memory-{who}-{run}"))?;
        let sink = dir.join("dst.db");
        std::fs::copy(&template, &sink)?;
        let dst = table_url(&sink);
        let sample = ctx
            .stores()
            .args(["sync", "--delete"])
            .args(flags)
            .args([&src_url, &dst])
            .timed(&ctx.work)?;
        ctx.check(&src_url, &dst)?;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(sample)
    };
    let mut contenders = vec![
        Contender::ours(format!("stores sync (spills past {limit} keys)"), |run| {
            sync("spill", &["--in-memory-keys", &limit], run)
        }),
        Contender::baseline("stores sync (every key in memory)", |run| {
            sync("memory", &["--in-memory-keys", "1000000000"], run)
        }),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    Ok(vec![compare(
        &format!("sync_memory_{n}"),
        &contenders[0],
        &contenders[1],
        Target::Within(2.0),
    )])
}

fn table_url(db: &Path) -> String {
    format!("sqlite://{}?table=items", db.display())
}

/// A table `items` of the rows `from..to`, every 50th noted "changed" when `changed`.
async fn fill(db: &Path, from: usize, to: usize, changed: bool) -> Result<()> {
    let store = SqliteStore::open(db).await?;
    let note = if changed {
        "CASE WHEN i % 50 = 0 THEN 'changed' ELSE 'note ' || (i * 7) END"
    } else {
        "'note ' || (i * 7)"
    };
    store
        .batch_execute(&format!(
            "CREATE TABLE items (id TEXT PRIMARY KEY, n INTEGER NOT NULL, note TEXT); \
             WITH RECURSIVE c(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM c WHERE i + 1 < {to}) \
             INSERT INTO items SELECT printf('key-%08d', i), i, {note} FROM c;"
        ))
        .await?;
    // Everything into the database file, so copying the file alone copies the table.
    store
        .batch_execute("PRAGMA wal_checkpoint(TRUNCATE);")
        .await?;
    Ok(())
}
