//! DynamoDB: `stores backup` and `restore` against dynamodump, on moto or dynalite.

use std::cell::RefCell;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use store_core::document::{BatchWriteOptions, WriteOp};
use store_core::{Document, DocumentStore as _, KeySchema, KeyType, Number, Value};
use store_dynamo::sdk::config::{BehaviorVersion, Credentials, Region};
use store_dynamo::{TableAdmin, TableDefinition};

use crate::harness::{self, Cmd, Contender, Target, Verdict, compare, run_rounds};
use crate::{Ctx, WARM_UP_RUNS, WORDS, file_url, report_check};

/// Seconds every dynamodump 1.11.1 backup sleeps before it starts (25 threads started 1 s apart).
const DYNAMODUMP_START_SLEEP: f64 = 25.0;

/// A DynamoDB server of the harness: moto (what the tests use), or dynalite (a second one for
/// the benchmarks, which costs far less CPU a request).
pub(crate) struct DynamoServer {
    name: &'static str,
    endpoint: String,
    /// Under `.services`.
    pid_file: &'static str,
}

impl DynamoServer {
    pub(crate) fn moto(ctx: &Ctx) -> Result<Self> {
        Ok(Self {
            name: "moto",
            endpoint: ctx.var("STORES_DYNAMODB_ENDPOINT")?.to_owned(),
            pid_file: "moto/moto.pid",
        })
    }

    pub(crate) fn dynalite(ctx: &Ctx) -> Option<Self> {
        Some(Self {
            name: "dynalite",
            endpoint: ctx.vars.get("STORES_DYNALITE_ENDPOINT")?.clone(),
            pid_file: "dynalite/dynalite.pid",
        })
    }

    /// The comparison names' prefix: `dynamodb` on moto (as before there was a choice),
    /// `dynamodb_dynalite` on dynalite.
    fn bench_prefix(&self) -> String {
        match self.name {
            "moto" => "dynamodb".to_owned(),
            other => format!("dynamodb_{other}"),
        }
    }
}

fn dynamo_admin(ctx: &Ctx, endpoint: &str) -> Result<TableAdmin> {
    let config = store_dynamo::sdk::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new(
            ctx.vars
                .get("AWS_REGION")
                .cloned()
                .unwrap_or_else(|| "us-east-1".into()),
        ))
        .credentials_provider(Credentials::new(
            ctx.var("AWS_ACCESS_KEY_ID")?.to_owned(),
            ctx.var("AWS_SECRET_ACCESS_KEY")?.to_owned(),
            None,
            None,
            "sync-bench",
        ))
        .build();
    Ok(TableAdmin::from_client(
        store_dynamo::sdk::Client::from_conf(config),
    ))
}

/// About 500 bytes: a composite key, numbers (one a decimal), a flag, a list, a map, text.
fn dynamo_item(i: usize) -> Document {
    let text: Vec<&str> = (0..40).map(|k| WORDS[(i * 7 + k * 3) % 26]).collect();
    Document::new()
        .with("pk", format!("customer#{:05}", i % 500))
        .with("sk", i as i64)
        .with("name", format!("Item number {i}"))
        .with("qty", (i % 1000) as i64)
        .with(
            "price",
            Number::from_str(&format!("{}.{:02}", i % 10_000, i % 100)).expect("a decimal"),
        )
        .with("active", i.is_multiple_of(3))
        .with(
            "tags",
            vec![
                Value::from(WORDS[i % 26]),
                Value::from(WORDS[(i / 26) % 26]),
            ],
        )
        .with(
            "attrs",
            Document::new()
                .with("color", WORDS[(i * 5) % 26])
                .with("size", (i % 50) as i64),
        )
        .with("text", text.join(" "))
}

pub(crate) fn dynamodb(ctx: &Ctx, server: &DynamoServer, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is(server.pid_file);
    println!(
        "bench {}: {n} items of about 500 bytes on {} ({})",
        server.bench_prefix(),
        server.name,
        server.endpoint
    );
    let admin = dynamo_admin(ctx, &server.endpoint)?;
    let src = format!("sync-bench-src-{}", ctx.pid);
    let tables = RefCell::new(vec![src.clone()]);
    *ctx.overrides.borrow_mut() = ["STORES_DYNAMODB_ENDPOINT", "AWS_ENDPOINT_URL"]
        .map(|k| (k.to_owned(), server.endpoint.clone()))
        .to_vec();
    let result = dynamodb_rounds(ctx, server, &admin, &src, n, &tables);
    ctx.overrides.borrow_mut().clear();
    for table in tables.borrow().iter() {
        let _ = ctx.rt.block_on(admin.delete(table));
    }
    result
}

fn dynamodb_rounds(
    ctx: &Ctx,
    server: &DynamoServer,
    admin: &TableAdmin,
    src: &str,
    n: usize,
    tables: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    // The data, once.
    ctx.rt.block_on(async {
        let schema = KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number);
        let store = admin
            .create(&TableDefinition::new(src, schema), Duration::from_secs(60))
            .await?;
        let ops: Vec<WriteOp> = (0..n).map(|i| WriteOp::Put(dynamo_item(i))).collect();
        let report = store
            .batch_write(
                ops,
                BatchWriteOptions {
                    concurrency: 8,
                    ..BatchWriteOptions::default()
                },
            )
            .await?;
        if !report.is_complete() {
            bail!(
                "loading the source table left {} items unwritten",
                report.failed.len()
            );
        }
        Ok(())
    })?;
    let src_url = format!("dynamodb://{src}");
    let endpoint = server.endpoint.as_str();
    let hostport = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest)
        .trim_end_matches('/');
    let (host, port) = hostport
        .split_once(':')
        .context("STORES_DYNAMODB_ENDPOINT needs host:port")?;
    let tool = harness::ensure_dynamodump();
    let dynamodump = |mode: &str| -> Result<Cmd> {
        let bin = tool.as_ref().map_err(|e| anyhow::anyhow!("{e:#}"))?;
        Ok(ctx.cmd(bin).args([
            "-m",
            mode,
            "-r",
            ctx.vars
                .get("AWS_REGION")
                .map_or("us-east-1", String::as_str),
            "--host",
            host,
            "--port",
            port,
            "--accessKey",
            ctx.var("AWS_ACCESS_KEY_ID")?,
            "--secretKey",
            ctx.var("AWS_SECRET_ACCESS_KEY")?,
            "--log",
            "WARNING",
        ]))
    };

    // The archives the restores read, made once (untimed).
    let archive = ctx.scratch("ddb-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump = ctx.scratch("ddb-dump")?;
    let dump_ready = dynamodump("backup").and_then(|cmd| {
        cmd.args(["-s", src, "--dumpPath"])
            .arg(&dump)
            .cwd(&dump)
            .run()?;
        moto_schema_fix(&dump.join(src).join("schema.json"))
    });

    let table_name = |who: &str, run: usize| format!("sync-bench-{who}-{}-{run}", ctx.pid);
    let drop_table = |name: &str| {
        let _ = ctx.rt.block_on(admin.delete(name));
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            ctx.timed_backup(&src_url, &format!("ddb-ours-{run}"))
        }),
        Contender::baseline(
            format!("dynamodump {}", harness::DYNAMODUMP_VERSION),
            |run| {
                let dir = ctx.scratch(&format!("ddb-dd-{run}"))?;
                let sample = dynamodump("backup")?
                    .args(["-s", src, "--dumpPath"])
                    .arg(&dir)
                    .cwd(&dir)
                    .timed(&ctx.work)?;
                let items = dump_items(&dir.join(src).join("data"))?;
                if items != n {
                    bail!("dynamodump's dump holds {items} items, not {n}");
                }
                let _ = std::fs::remove_dir_all(&dir);
                Ok(sample)
            },
        ),
        Contender::ours("stores restore", |run| {
            let table = table_name("ours", run);
            tables.borrow_mut().push(table.clone());
            let dst = format!("dynamodb://{table}");
            let sample = ctx.timed_restore(&archive, &dst, &src_url)?;
            drop_table(&table);
            Ok(sample)
        }),
        Contender::baseline(
            format!("dynamodump {} restore", harness::DYNAMODUMP_VERSION),
            |run| {
                if let Err(e) = &dump_ready {
                    bail!("the dump to restore could not be made: {e:#}");
                }
                let table = table_name("dd", run);
                tables.borrow_mut().push(table.clone());
                let sample = dynamodump("restore")?
                    .args(["-s", src, "-d", &table, "--noConfirm", "--dumpPath"])
                    .arg(&dump)
                    .cwd(&dump)
                    .timed(&ctx.work)?;
                if run < WARM_UP_RUNS {
                    report_check(
                        ctx,
                        "dynamodump's restore",
                        &src_url,
                        &format!("dynamodb://{table}"),
                    );
                }
                drop_table(&table);
                Ok(sample)
            },
        ),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    let prefix = server.bench_prefix();
    let backup = compare(
        &format!("{prefix}_backup_{n}"),
        &contenders[0],
        &contenders[1],
        Target::AtLeast(2.0),
    );
    if contenders[1].failed.is_none() {
        // dynamodump 1.11.1 reads `args.read_capacity` (the option is `readCapacity`), so every
        // backup falls into its multi-table path, which starts 25 worker threads one second
        // apart (MAX_NUMBER_BACKUP_WORKERS, THREAD_START_DELAY) before it scans anything.
        let (ours, _, _) = harness::stats(&contenders[0].samples);
        let (theirs, _, _) = harness::stats(&contenders[1].samples);
        let work = theirs - DYNAMODUMP_START_SLEEP;
        println!(
            "bench {prefix}_backup_{n}: note: {DYNAMODUMP_START_SLEEP:.0} s of dynamodump's time \
             is its fixed thread-start sleep; without it its median would be {work:.3}s = \
             {:.2}x ours (derived, not measured)",
            work / ours
        );
    }
    Ok(vec![
        backup,
        compare(
            &format!("{prefix}_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::AtLeast(2.0),
        ),
    ])
}

/// moto's DescribeTable lists `LocalSecondaryIndexes: []` and `GlobalSecondaryIndexes: []`
/// (DynamoDB itself leaves empty ones out); dynamodump passes them back to CreateTable, which
/// moto refuses ("List of GlobalSecondaryIndexes is empty"). The dump the restores read is made
/// once, untimed, so its schema.json is given the shape DynamoDB would have written.
fn moto_schema_fix(path: &Path) -> Result<()> {
    let mut schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let mut removed = Vec::new();
    if let Some(table) = schema["Table"].as_object_mut() {
        for key in ["LocalSecondaryIndexes", "GlobalSecondaryIndexes"] {
            if table
                .get(key)
                .and_then(serde_json::Value::as_array)
                .is_some_and(Vec::is_empty)
            {
                table.remove(key);
                removed.push(key);
            }
        }
    }
    if !removed.is_empty() {
        println!(
            "bench note: removed the empty {} that moto lists from dynamodump's schema.json \
             (CreateTable on moto refuses them; DynamoDB omits them)",
            removed.join(" and ")
        );
        std::fs::write(path, serde_json::to_vec_pretty(&schema)?)?;
    }
    Ok(())
}

/// Items in dynamodump's data files (each a Scan response with `Count`).
fn dump_items(dir: &Path) -> Result<usize> {
    let mut items = 0;
    for entry in std::fs::read_dir(dir).with_context(|| format!("no {}", dir.display()))? {
        let text = std::fs::read_to_string(entry?.path())?;
        let page: serde_json::Value = serde_json::from_str(&text)?;
        items += page["Items"].as_array().map_or(0, Vec::len);
    }
    Ok(items)
}
