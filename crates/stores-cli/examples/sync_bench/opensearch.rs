//! OpenSearch: `stores backup` and `restore` against elasticdump.

use std::cell::RefCell;
use std::str::FromStr;

use anyhow::{Result, bail};
use futures::StreamExt as _;
use store_core::search::{BulkOp, IndexSpec, SearchQuery};
use store_core::{Document, Number, SearchIndex as _, Value};
use store_search::{BulkOptions, OpenSearchIndex};

use crate::harness::{self, Cmd, Contender, Target, Verdict, compare, run_rounds};
use crate::{Ctx, WARM_UP_RUNS, WORDS, file_url, report_check};

/// About 500 bytes of JSON (the same document as store-search's bulk benchmark).
fn search_doc(n: usize) -> Document {
    let body: Vec<&str> = (0..52).map(|i| WORDS[(n * 7 + i * 3) % 26]).collect();
    Document::new()
        .with("id", n as i64)
        .with("title", format!("Document number {n}"))
        .with("body", body.join(" "))
        .with(
            "tags",
            vec![
                Value::from(WORDS[n % 26]),
                Value::from(WORDS[(n / 26) % 26]),
            ],
        )
        .with(
            "price",
            Number::from_str(&format!("{}.{:02}", n / 4, (n % 4) * 25)).expect("a decimal"),
        )
        .with("in_stock", n.is_multiple_of(3))
        .with(
            "created",
            format!("2024-{:02}-{:02}T12:00:00Z", n % 12 + 1, n % 28 + 1),
        )
}

pub(crate) fn opensearch(ctx: &Ctx, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is("opensearch/node.pid");
    println!("bench opensearch: {n} documents of about 500 bytes");
    let url = ctx
        .var("STORES_OPENSEARCH_URL")?
        .trim_end_matches('/')
        .to_owned();
    let src = format!("sync-bench-src-{}", ctx.pid);
    let base = OpenSearchIndex::builder(&src).url(&url).build()?;
    let indexes = RefCell::new(vec![src.clone()]);
    let result = opensearch_rounds(ctx, &base, &url, n, &indexes);
    for name in indexes.borrow().iter() {
        if let Ok(index) = base.sibling(name) {
            let _ = ctx.rt.block_on(index.drop_index());
        }
    }
    result
}

fn opensearch_rounds(
    ctx: &Ctx,
    base: &OpenSearchIndex,
    url: &str,
    n: usize,
    indexes: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    ctx.rt.block_on(async {
        base.create(&IndexSpec::new().shards(1).replicas(0)).await?;
        let ops = futures::stream::iter(0..n).map(|i| BulkOp::Index {
            id: format!("d{i}"),
            doc: search_doc(i),
        });
        let report = base.bulk_stream(ops, &BulkOptions::default()).await?;
        if !report.is_complete() {
            bail!("loading the source index: {:?}", report.failed.first());
        }
        base.refresh().await?;
        Ok(())
    })?;
    let src = base.name().as_str().to_owned();
    let host = url.split_once("://").map_or(url, |(_, rest)| rest);
    let scheme = if url.starts_with("https://") {
        "opensearch+https"
    } else {
        "opensearch"
    };
    let loc = |index: &str| format!("{scheme}://{host}/{index}");
    let src_url = loc(&src);
    let tool = harness::ensure_elasticdump();
    let elasticdump = |input: &str, output: &str| -> Result<Cmd> {
        let bin = tool.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        // The same batch size as ours (the `stores` command's default, 5,000; elasticdump's
        // own is 100).
        Ok(ctx.cmd(bin).args([
            format!("--input={input}"),
            format!("--output={output}"),
            "--type=data".to_owned(),
            "--limit=5000".to_owned(),
            "--quiet".to_owned(),
        ]))
    };

    let archive = ctx.scratch("os-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump_dir = ctx.scratch("os-dump")?;
    let dump = dump_dir.join("data.ndjson");
    let dump_ready =
        elasticdump(&format!("{url}/{src}"), &dump.display().to_string()).and_then(|cmd| cmd.run());

    let index_name = |who: &str, run: usize| format!("sync-bench-{who}-{}-{run}", ctx.pid);
    let drop_index = |name: &str| {
        if let Ok(index) = base.sibling(name) {
            let _ = ctx.rt.block_on(index.drop_index());
        }
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            ctx.timed_backup(&src_url, &format!("os-ours-{run}"))
        }),
        Contender::baseline(
            format!("elasticdump {}", harness::ELASTICDUMP_VERSION),
            |run| {
                let dir = ctx.scratch(&format!("os-ed-{run}"))?;
                let file = dir.join("data.ndjson");
                let sample = elasticdump(&format!("{url}/{src}"), &file.display().to_string())?
                    .timed(&ctx.work)?;
                let lines = std::fs::read_to_string(&file)?.lines().count();
                if lines != n {
                    bail!("elasticdump wrote {lines} documents, not {n}");
                }
                let _ = std::fs::remove_dir_all(&dir);
                Ok(sample)
            },
        ),
        Contender::ours("stores restore", |run| {
            let index = index_name("ours", run);
            indexes.borrow_mut().push(index.clone());
            let dst = loc(&index);
            let sample = ctx.timed_restore(&archive, &dst, &src_url)?;
            drop_index(&index);
            Ok(sample)
        }),
        Contender::baseline(
            format!("elasticdump {} restore", harness::ELASTICDUMP_VERSION),
            |run| {
                if let Err(e) = &dump_ready {
                    bail!("the dump to restore could not be made: {e:#}");
                }
                let index = index_name("ed", run);
                indexes.borrow_mut().push(index.clone());
                let sample = elasticdump(&dump.display().to_string(), &format!("{url}/{index}"))?
                    .timed(&ctx.work)?;
                // elasticdump does not refresh; count what landed (untimed).
                let landed = ctx.rt.block_on(async {
                    let target = base.sibling(&index)?;
                    target.refresh().await?;
                    target.count(&SearchQuery::MatchAll).await
                })?;
                if landed as usize != n {
                    bail!("elasticdump restored {landed} documents, not {n}");
                }
                if run < WARM_UP_RUNS {
                    report_check(ctx, "elasticdump's restore", &src_url, &loc(&index));
                }
                drop_index(&index);
                Ok(sample)
            },
        ),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    Ok(vec![
        compare(
            &format!("opensearch_backup_{n}"),
            &contenders[0],
            &contenders[1],
            Target::AtLeast(2.0),
        ),
        compare(
            &format!("opensearch_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::AtLeast(2.0),
        ),
    ])
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: stores vs pg_dump -Fc / pg_restore
// ---------------------------------------------------------------------------------------------
