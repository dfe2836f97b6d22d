//! The embedded stores as locations: a table copied into a store-redb file (keyed as the
//! table is) and on into a store-tantivy index, backed up and restored into a new redb file,
//! synced with deletes, each step ending with `check` equal and the values read back exactly
//! by the stores' own crates; and the clear errors of a wrong table, key or path.

use std::path::Path;

use store_core::document::GetItemOptions;
use store_core::{DocKey, Document, DocumentStore, KeySchema, KeyType, Value};
use store_redb::{RedbStore, StoredTable};

use super::common::*;

fn redb_url(path: &Path) -> String {
    format!("redb://{}", path.display())
}

/// The item under `key` in the redb file at `path`, read by store-redb itself.
fn redb_item(path: &Path, key: &str) -> Option<Document> {
    block_on(async {
        let stored = StoredTable::read(path).await.unwrap();
        let store = stored.config(path).read_only(true).build().await.unwrap();
        store
            .get(&DocKey::partition(key), GetItemOptions::default())
            .await
            .unwrap()
    })
}

#[test]
fn a_table_goes_through_redb_and_tantivy_and_back_equal() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let items = dir.path().join("items.redb");
    let redb = redb_url(&items);

    let out = stores(&["copy", &source, &redb, "--batch-size", "64"]);
    expect_code(&out, 0);
    let stored = block_on(StoredTable::read(&items)).unwrap();
    assert_eq!(
        stored.table, "items",
        "a new file's table is named after it"
    );
    assert_eq!(
        stored.key_schema,
        KeySchema::partition("id", KeyType::String)
    );
    expect_code(&stores(&["check", &source, &redb]), 0);

    // Exact values, as store-redb reads them: a 38-digit decimal, i64's extremes, bytes.
    let sqlite_row = rows(&db, "items").remove(3);
    let item = redb_item(&items, &key(3)).expect("the copied item");
    for field in ["price", "qty", "data", "note"] {
        assert_eq!(item.get(field), sqlite_row.get(field), "{field}");
    }
    assert_eq!(item.get("qty"), Some(&Value::from(i64::MAX - 3)));

    // On into a search index, committed batch by batch, then compared with the file.
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let tantivy = format!("tantivy://{}/search/items", dir.path().display());
    let out = stores(&["copy", &redb, &tantivy, "--batch-size", "100"]);
    expect_code(&out, 0);
    let out = stores(&["check", &redb, &tantivy]);
    expect_code(&out, 0);
    assert!(
        stdout(&out).contains(&format!("{ROWS} records")),
        "{}",
        stdout(&out)
    );

    // Backed up and restored into a new file, keyed by the archive's schema.
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &redb, &archive]), 0);
    let restored = dir.path().join("restored.redb");
    let out = stores(&["restore", &archive, &redb_url(&restored)]);
    expect_code(&out, 0);
    expect_code(&stores(&["check", &source, &redb_url(&restored)]), 0);

    // A row deleted at the source and one changed: sync --delete makes the file match.
    sql(&db, &format!("DELETE FROM items WHERE id = '{}'", key(5)));
    sql(
        &db,
        &format!("UPDATE items SET note = 'new' WHERE id = '{}'", key(6)),
    );
    expect_code(&stores(&["check", &source, &redb]), 2);
    let out = stores(&["sync", &source, &redb, "--delete"]);
    expect_code(&out, 0);
    expect_code(&stores(&["check", &source, &redb]), 0);
    assert_eq!(redb_item(&items, &key(5)), None);
    let changed = redb_item(&items, &key(6)).unwrap();
    assert_eq!(changed.get("note"), Some(&Value::from("new")));

    // And the index follows too.
    expect_code(&stores(&["sync", &redb, &tantivy, "--delete"]), 0);
    expect_code(&stores(&["check", &source, &tantivy]), 0);
}

#[test]
fn an_existing_file_is_opened_as_it_is_and_a_wrong_name_key_or_path_is_one_line() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    let items = dir.path().join("items.redb");
    expect_code(&stores(&["copy", &source, &redb_url(&items)]), 0);

    // Its own table and key, named or not.
    let named = format!("{}?table=items&key=id:S", redb_url(&items));
    let out = stores(&["ls", &named]);
    expect_code(&out, 0);
    assert_eq!(stdout(&out).lines().count(), ROWS, "{}", stdout(&out));

    let wrong_table = format!("{}?table=orders", redb_url(&items));
    let err = expect_error(&stores(&["ls", &wrong_table]));
    assert!(
        err.contains("holds the table `items`, not `orders`"),
        "{err}"
    );
    let wrong_key = format!("{}?key=id:N", redb_url(&items));
    let err = expect_error(&stores(&["copy", &source, &wrong_key]));
    assert!(err.contains("keyed ?key=id:S, not ?key=id:N"), "{err}");

    let missing = dir.path().join("none.redb");
    let err = expect_error(&stores(&["ls", &redb_url(&missing)]));
    assert!(err.contains("no store file at"), "{err}");
    assert!(!missing.exists());

    // A new file needs a key the source does not give (a search index keyed by `_id`)...
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let tantivy = format!("tantivy://{}/search/items", dir.path().display());
    expect_code(&stores(&["copy", &source, &tantivy]), 0);
    let keyless = dir.path().join("keyless.redb");
    let err = expect_error(&stores(&["copy", &tantivy, &redb_url(&keyless)]));
    assert!(err.contains("?key=NAME:S"), "{err}");
    assert!(!keyless.exists(), "a refused copy made the file");

    // ...the source's key, not another (rows sharing an email would become one)...
    let by_email = format!("{}?key=note:S", redb_url(&keyless));
    let err = expect_error(&stores(&["copy", &source, &by_email]));
    assert!(err.contains("keyed ?key=id:S, so"), "{err}");
    let by_number = format!("{}?key=id:N", redb_url(&keyless));
    let err = expect_error(&stores(&["copy", &source, &by_number]));
    assert!(err.contains("not ?key=id:N"), "{err}");
    sql(&db, "CREATE TABLE three (a, b, c, PRIMARY KEY (a, b, c))");
    let err = expect_error(&stores(&[
        "copy",
        &table_url(&db, "three"),
        &redb_url(&keyless),
    ]));
    assert!(err.contains("at most two parts"), "{err}");
    assert!(!keyless.exists(), "a refused copy made the file");

    // An empty file is a new one.
    std::fs::write(&keyless, b"").unwrap();
    expect_code(&stores(&["copy", &source, &redb_url(&keyless)]), 0);
    let table = block_on(StoredTable::read(&keyless)).unwrap().table;
    assert_eq!(table, "keyless");

    // ...and a folder that exists.
    let nowhere = dir.path().join("nowhere/items.redb");
    let err = expect_error(&stores(&["copy", &source, &redb_url(&nowhere)]));
    assert!(err.contains("does not exist; create it first"), "{err}");
    let nowhere = format!("tantivy://{}/nowhere/items", dir.path().display());
    let err = expect_error(&stores(&["copy", &source, &nowhere]));
    assert!(err.contains("does not exist; create it first"), "{err}");

    // An index name OpenSearch would refuse is refused before anything opens.
    let upper = format!("tantivy://{}/search/Items", dir.path().display());
    let err = expect_error(&stores(&["ls", &upper]));
    assert!(err.contains("index"), "{err}");

    // A command refused after it made its destination leaves none: a checkpoint of another
    // job is found once the new file and index are open.
    let checkpoint = dir.path().join("job.json");
    let elsewhere = redb_url(&dir.path().join("elsewhere.redb"));
    expect_code(
        &stores(&[
            "copy",
            &source,
            &elsewhere,
            "--checkpoint",
            &checkpoint.display().to_string(),
        ]),
        0,
    );
    let refused = dir.path().join("refused.redb");
    let fresh_index = format!("tantivy://{}/search/refused", dir.path().display());
    for target in [redb_url(&refused), fresh_index] {
        let err = expect_error(&stores(&[
            "copy",
            &source,
            &target,
            "--checkpoint",
            &checkpoint.display().to_string(),
        ]));
        assert!(err.contains("checkpoint"), "{err}");
    }
    assert!(!refused.exists(), "a refused copy left its new file");
    assert!(
        !dir.path().join("search/refused").exists(),
        "a refused copy left its new index"
    );

    // A finished job whose destination was deleted since is not "done" again into a new one.
    let gone = dir.path().join("elsewhere.redb");
    std::fs::remove_file(&gone).unwrap();
    let again = [
        "copy",
        source.as_str(),
        elsewhere.as_str(),
        "--checkpoint",
        checkpoint.to_str().unwrap(),
    ];
    let err = expect_error(&stores(&again));
    assert!(err.contains("does not exist"), "{err}");
    assert!(!gone.exists(), "the refused run left its new file");
    let mut restart = again.to_vec();
    restart.push("--restart");
    expect_code(&stores(&restart), 0);
    expect_code(&stores(&["check", &source, &elsewhere]), 0);

    // One file as source and destination, however written, is refused as such.
    let dotted = format!("redb://{}/./items.redb", dir.path().display());
    let err = expect_error(&stores(&["copy", &redb_url(&items), &dotted]));
    assert!(err.contains("are one store"), "{err}");

    // A dry run into a new file writes nothing.
    let dry = dir.path().join("dry.redb");
    expect_code(&stores(&["copy", &source, &redb_url(&dry), "--dry-run"]), 0);
    assert!(!dry.exists(), "a dry run made the file");
}

#[test]
fn a_store_redb_file_written_by_a_program_reads_back_through_stores() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("orders.redb");
    let key = KeySchema::partition("user", KeyType::String).with_sort("order", KeyType::Number);
    block_on(async {
        let store = RedbStore::builder(&path, "orders", key.clone())
            .index("by-status", KeySchema::partition("status", KeyType::String))
            .build()
            .await
            .unwrap();
        for (user, order) in [("ann", 1), ("ann", 2), ("bob", 1)] {
            let item = Document::new()
                .with("user", user)
                .with("order", order)
                .with("status", "open")
                .with(
                    "total",
                    Value::Number("12345678901234567890.123".parse().unwrap()),
                );
            store.put(item, Default::default()).await.unwrap();
        }
    });
    let source = redb_url(&path);
    let copy = dir.path().join("copy.redb");
    expect_code(&stores(&["copy", &source, &redb_url(&copy)]), 0);
    expect_code(&stores(&["check", &source, &redb_url(&copy)]), 0);
    let stored = block_on(StoredTable::read(&copy)).unwrap();
    assert_eq!(stored.key_schema, key, "the copy is keyed as its source");
    // The source was read, not rewritten: its index is still there.
    let original = block_on(StoredTable::read(&path)).unwrap();
    assert_eq!(original.indexes.len(), 1);
    // Written to, an existing file keeps its index (opened with every index it has).
    expect_code(&stores(&["sync", &redb_url(&copy), &source]), 0);
    let after = block_on(StoredTable::read(&path)).unwrap();
    assert_eq!(after.indexes, original.indexes);
}

#[test]
fn a_search_index_keyed_by_id_round_trips_through_redb_and_a_bad_batch_writes_nothing() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = format!("tantivy://{}/search/items", dir.path().display());
    expect_code(&stores(&["copy", &source, &index]), 0);

    // Keyed by `_id`: the redb file holds it as an attribute, the index as the id again.
    let by_id = dir.path().join("by-id.redb");
    let redb = format!("{}?key=_id:S", redb_url(&by_id));
    let archive = file_url(&dir.path().join("archive"));
    expect_code(&stores(&["backup", &index, &archive]), 0);
    expect_code(&stores(&["restore", &archive, &redb]), 0);
    expect_code(&stores(&["check", &index, &redb_url(&by_id)]), 0);
    let again = format!("tantivy://{}/search/again", dir.path().display());
    expect_code(&stores(&["copy", &redb_url(&by_id), &again]), 0);
    expect_code(&stores(&["check", &index, &again]), 0);

    // Into an SQLite table keyed by an `_id` column, copied from the index and restored
    // from its archive: the id fills the column (the archive's `v` holds only `_source`).
    let tables = dir.path().join("by-id.db");
    let columns = "(_id TEXT PRIMARY KEY, id TEXT, price DECIMAL_TEXT, qty INTEGER, data BLOB, \
                   note TEXT)";
    sql(
        &tables,
        &format!("CREATE TABLE copied {columns}; CREATE TABLE restored {columns}"),
    );
    let copied = table_url(&tables, "copied");
    let restored = table_url(&tables, "restored");
    expect_code(&stores(&["copy", &index, &copied]), 0);
    expect_code(&stores(&["restore", &archive, &restored]), 0);
    for table in [&copied, &restored] {
        expect_code(&stores(&["check", &index, table]), 0);
    }
    let row = &rows(&tables, "restored")[0];
    assert_eq!(row.get("_id"), row.get("id"), "{row:?}");

    // A key too long for a document store (over 2,048 bytes) in the 101st row: the batch
    // holding it is refused whole, the ones before it (16 rows, then 50) stay.
    let bad = dir.path().join("bad.db");
    sql(
        &bad,
        "CREATE TABLE t (id TEXT PRIMARY KEY, v TEXT); \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200) \
         INSERT INTO t SELECT printf('k%03d', i), 'v' FROM n; \
         UPDATE t SET id = 'k101' || printf('%.3000c', 'x') WHERE id = 'k101'",
    );
    let target = dir.path().join("bad-copy.redb");
    let out = stores(&[
        "copy",
        &table_url(&bad, "t"),
        &redb_url(&target),
        "--batch-size",
        "50",
    ]);
    let err = expect_error(&out);
    assert!(err.contains("2048"), "{err}");
    let out = stores(&["ls", &redb_url(&target)]);
    expect_code(&out, 0);
    assert_eq!(stdout(&out).lines().count(), 66, "{}", stdout(&out));
}

#[test]
fn a_tantivy_index_tells_bytes_from_their_base64_text_and_a_sync_mends_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    sql(
        &db,
        "CREATE TABLE bytes (id TEXT PRIMARY KEY, x); INSERT INTO bytes VALUES ('a', X'0001FF'); \
         CREATE TABLE texts (id TEXT PRIMARY KEY, x); INSERT INTO texts VALUES ('a', 'AAH/')",
    );
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = format!("tantivy://{}/search/b", dir.path().display());
    expect_code(&stores(&["copy", &table_url(&db, "texts"), &index]), 0);
    let out = stores(&["check", &table_url(&db, "bytes"), &index]);
    expect_code(&out, 2);
    assert!(stdout(&out).contains("keys as text"), "{}", stdout(&out));
    let out = stores(&["sync", &table_url(&db, "bytes"), &index]);
    expect_code(&out, 0);
    assert!(stderr(&out).contains("1 changed"), "{}", stderr(&out));
    expect_code(&stores(&["check", &table_url(&db, "bytes"), &index]), 0);
    // Keyed by a field, its keys keep their types too.
    let keyed = stores(&["check", "--key", "id", &table_url(&db, "bytes"), &index]);
    expect_code(&keyed, 0);
    assert!(
        stdout(&keyed).contains("(values compared with their types)"),
        "{}",
        stdout(&keyed)
    );
}

#[test]
fn a_tantivy_index_is_read_beside_the_process_writing_it() {
    let (dir, db) = setup();
    let source = table_url(&db, "items");
    std::fs::create_dir(dir.path().join("search")).unwrap();
    let index = format!("tantivy://{}/search/items", dir.path().display());
    expect_code(&stores(&["copy", &source, &index]), 0);
    // This process holds the index's writer (its directory lock) from here on.
    let writer = block_on(store_tantivy::TantivyIndex::open(
        dir.path().join("search"),
        "items",
    ))
    .unwrap();
    expect_code(&stores(&["check", &source, &index]), 0);
    let listed = stores(&["ls", &index]);
    expect_code(&listed, 0);
    assert_eq!(
        stdout(&listed).lines().count(),
        rows(&db, "items").len(),
        "{}",
        stdout(&listed)
    );
    // Writing still needs the lock: refused, and named as such.
    let err = expect_error(&stores(&["sync", &source, &index]));
    assert!(err.contains("already open for writing"), "{err}");
    drop(writer);
}
