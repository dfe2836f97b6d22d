//! PostgreSQL: `stores backup` and `restore` against pg_dump -Fc and pg_restore.

use std::cell::RefCell;
use std::path::Path;

use anyhow::{Context as _, Result, bail};

use crate::harness::{Contender, Target, Verdict, compare, run_rounds};
use crate::{Ctx, WARM_UP_RUNS, file_url, report_check};

/// The PostgreSQL table's name in every database this benchmark creates.
const PG_TABLE: &str = "bench_rows";

/// The server URL with its database replaced by `db` (query kept).
fn with_database(url: &str, db: &str) -> Result<String> {
    let (scheme, rest) = url.split_once("://").context("a postgres:// URL")?;
    let (rest, query) = match rest.split_once('?') {
        Some((r, q)) => (r, Some(q)),
        None => (rest, None),
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    Ok(match query {
        Some(q) => format!("{scheme}://{authority}/{db}?{q}"),
        None => format!("{scheme}://{authority}/{db}"),
    })
}

pub(crate) fn postgres(ctx: &Ctx, n: usize) -> Result<Vec<Verdict>> {
    ctx.server_is("postgres/postgres.pid");
    println!("bench postgres: {n} rows of one table (7 columns, about 120 bytes a row)");
    let server = ctx.var("STORES_POSTGRES_URL")?.to_owned();
    let admin_url = with_database(&server, "postgres")?;
    let src_db = format!("sync_bench_src_{}", ctx.pid);
    let databases = RefCell::new(vec![src_db.clone()]);
    let result = postgres_rounds(ctx, &server, &admin_url, &src_db, n, &databases);
    for db in databases.borrow().iter() {
        let _ = psql(
            ctx,
            &admin_url,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    }
    result
}

fn psql(ctx: &Ctx, url: &str, sql: &str) -> Result<String> {
    let output = ctx
        .pg("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-Atqc", sql])
        .run()?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

fn postgres_rounds(
    ctx: &Ctx,
    server: &str,
    admin_url: &str,
    src_db: &str,
    n: usize,
    databases: &RefCell<Vec<String>>,
) -> Result<Vec<Verdict>> {
    psql(ctx, admin_url, &format!("CREATE DATABASE {src_db}"))?;
    let src_conn = with_database(server, src_db)?;
    psql(
        ctx,
        &src_conn,
        &format!(
            "CREATE TABLE {PG_TABLE} (
                id bigint PRIMARY KEY,
                name text NOT NULL,
                qty integer NOT NULL,
                price numeric(12,2) NOT NULL,
                active boolean NOT NULL,
                created timestamptz NOT NULL,
                note text NOT NULL
            );
            INSERT INTO {PG_TABLE}
            SELECT g, 'customer ' || g, g % 1000, ((g::bigint * 7919) % 1000000) / 100.0, g % 3 = 0,
                   timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second',
                   md5(g::text) || ' ' || md5((g + 1)::text)
            FROM generate_series(1, {n}) g;"
        ),
    )?;
    psql(ctx, &src_conn, &format!("VACUUM ANALYZE {PG_TABLE}"))?;
    let version = psql(ctx, &src_conn, "SHOW server_version")?;
    println!(
        "bench postgres: server {version}, client tools {}",
        ctx.pg_bin.display()
    );
    let src_url = format!("{src_conn}?table={PG_TABLE}");

    let archive = ctx.scratch("pg-archive")?;
    ctx.stores()
        .args(["backup", &src_url, &file_url(&archive)])
        .run()?;
    let dump_dir = ctx.scratch("pg-dump")?;
    let dump = dump_dir.join("table.dump");
    let pg_dump = |file: &Path| {
        ctx.pg("pg_dump")
            .args(["-Fc", "-t", PG_TABLE, "-f"])
            .arg(file)
            .arg(&src_conn)
    };
    pg_dump(&dump).run()?;

    let new_db = |who: &str, run: usize| -> Result<(String, String)> {
        let db = format!("sync_bench_{who}_{}_{run}", ctx.pid);
        databases.borrow_mut().push(db.clone());
        psql(ctx, admin_url, &format!("CREATE DATABASE {db}"))?;
        Ok((db.clone(), with_database(server, &db)?))
    };
    let drop_db = |db: &str| {
        let _ = psql(
            ctx,
            admin_url,
            &format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)"),
        );
    };
    let mut contenders = vec![
        Contender::ours("stores backup", |run| {
            ctx.timed_backup(&src_url, &format!("pg-ours-{run}"))
        }),
        Contender::baseline("pg_dump -Fc", |run| {
            let dir = ctx.scratch(&format!("pg-dump-{run}"))?;
            let file = dir.join("table.dump");
            let sample = pg_dump(&file).timed(&ctx.work)?;
            if std::fs::metadata(&file)?.len() == 0 {
                bail!("pg_dump wrote an empty file");
            }
            let _ = std::fs::remove_dir_all(&dir);
            Ok(sample)
        }),
        Contender::ours("stores restore", |run| {
            let (db, conn) = new_db("ours", run)?;
            let dst = format!("{conn}?table={PG_TABLE}");
            let sample = ctx.timed_restore(&archive, &dst, &src_url)?;
            drop_db(&db);
            Ok(sample)
        }),
        Contender::baseline("pg_restore", |run| {
            let (db, conn) = new_db("pgr", run)?;
            let sample = ctx
                .pg("pg_restore")
                .args(["-d", &conn])
                .arg(&dump)
                .timed(&ctx.work)?;
            if run < WARM_UP_RUNS {
                report_check(
                    ctx,
                    "pg_restore's table",
                    &src_url,
                    &format!("{conn}?table={PG_TABLE}"),
                );
            }
            drop_db(&db);
            Ok(sample)
        }),
    ];
    run_rounds(&mut contenders, ctx.rounds)?;
    Ok(vec![
        compare(
            &format!("postgres_backup_{n}"),
            &contenders[0],
            &contenders[1],
            Target::Within(1.5),
        ),
        compare(
            &format!("postgres_restore_{n}"),
            &contenders[2],
            &contenders[3],
            Target::Within(1.5),
        ),
    ])
}
