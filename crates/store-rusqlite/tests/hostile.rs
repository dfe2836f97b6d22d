//! Hostile input: values and names with `..`, NUL, control characters, 2,000-byte names,
//! quotes and Unicode normalisation variants are stored faithfully or refused with a typed
//! error — never a panic, never a mangled value.

#[path = "support/temp.rs"]
mod temp;

use futures::stream;
use store_core::{Document, ErrorKind, SqlStore, SqlStoreExt, Value};
use store_rusqlite::{Migrator, SqliteStore, quote_ident};
use temp::TempDir;

/// Strings that have broken naive stores.
fn hostile_strings() -> Vec<String> {
    vec![
        String::new(),
        "..".into(),
        "../../etc/passwd".into(),
        "a\0b".into(),
        "\0".into(),
        "\u{1}\u{7}\u{8}\u{1b}[31mred\u{7f}".into(),
        "line\r\nbreak\ttab".into(),
        "'; DROP TABLE t; --".into(),
        "\"".into(),
        "''".into(),
        "$1 ?1 :name @name".into(),
        "/* open comment".into(),
        "x".repeat(2000),
        "é".repeat(1000),
        "\u{e9}".into(),   // é, NFC
        "e\u{301}".into(), // é, NFD
        "\u{212b}".into(), // Å as the angstrom sign
        "\u{c5}".into(),   // Å, NFC
        "\u{feff}bom".into(),
        "\u{202e}override".into(),
        "🎉👩‍👩‍👧".into(),
        "\u{10ffff}".into(),
    ]
}

#[tokio::test]
async fn hostile_values_round_trip_exactly() {
    let dir = TempDir::new("hostile");
    let store = SqliteStore::open(dir.file("h.db")).await.unwrap();
    store
        .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT UNIQUE, doc JSON)")
        .await
        .unwrap();
    let values = hostile_strings();
    for (id, s) in (1..).zip(&values) {
        let doc = Document::new().with(s.as_str(), s.as_str());
        store
            .execute(
                "INSERT INTO t VALUES ($1, $2, $3)",
                &[Value::from(id), s.as_str().into(), Value::Map(doc)],
            )
            .await
            .unwrap_or_else(|e| panic!("storing {s:?}: {e}"));
    }
    for (id, s) in (1..).zip(&values) {
        let row = store
            .query_one(
                "SELECT id, s, doc FROM t WHERE s = $1",
                &[s.as_str().into()],
            )
            .await
            .unwrap_or_else(|e| panic!("finding {s:?}: {e}"));
        assert_eq!(
            row.get("id"),
            Some(&Value::from(id)),
            "{s:?} found by itself"
        );
        assert_eq!(
            row.get("s"),
            Some(&Value::from(s.as_str())),
            "{s:?} verbatim"
        );
        let doc = row.get("doc").and_then(Value::as_map).unwrap();
        assert_eq!(
            doc.get(s),
            Some(&Value::from(s.as_str())),
            "{s:?} as a JSON key"
        );
    }
}

#[tokio::test]
async fn hostile_names_are_quoted_or_refused() {
    let dir = TempDir::new("hostile");
    let store = SqliteStore::open(dir.file("h.db")).await.unwrap();
    for name in hostile_strings() {
        let table = quote_ident(&name);
        let created = store
            .batch_execute(&format!("CREATE TABLE {table} ({table} TEXT)"))
            .await;
        if name.contains('\0') {
            let err = created.unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
            let err = store
                .insert_rows(&name, &[], stream::iter([Ok(vec![Value::Null])]))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{name:?}: {err}");
            continue;
        }
        if name.is_empty() {
            // SQLite refuses an empty quoted name: a typed error is all we ask.
            if let Err(e) = created {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
                continue;
            }
        }
        created.unwrap_or_else(|e| panic!("creating a table named {name:?}: {e}"));
        if name.contains('.') {
            // A dot qualifies the name for insert_rows (schema.table): a typed error.
            let err = store
                .insert_rows(
                    &name,
                    &[&name],
                    stream::iter([Ok(vec![name.as_str().into()])]),
                )
                .await
                .unwrap_err();
            assert!(
                matches!(err.kind(), ErrorKind::InvalidInput | ErrorKind::NotFound),
                "{name:?}: {err}"
            );
            continue;
        }
        let n = store
            .insert_rows(
                &name,
                &[&name],
                stream::iter([Ok(vec![name.as_str().into()])]),
            )
            .await
            .unwrap_or_else(|e| panic!("loading into {name:?}: {e}"));
        assert_eq!(n, 1);
        let row = store
            .query_one(&format!("SELECT {table} FROM {table}"), &[])
            .await
            .unwrap();
        assert_eq!(
            row.get(&name),
            Some(&Value::from(name.as_str())),
            "{name:?}"
        );
    }
    // NFC and NFD spellings are different names, as their bytes differ.
    let both = store
        .query_all(
            "SELECT name FROM sqlite_schema WHERE name IN ($1, $2)",
            &["\u{e9}".into(), "e\u{301}".into()],
        )
        .await
        .unwrap();
    assert_eq!(both.len(), 2);
}

#[tokio::test]
async fn hostile_statements_paths_and_settings_are_typed_errors() {
    let dir = TempDir::new("hostile");
    let store = SqliteStore::open(dir.file("h.db")).await.unwrap();
    for (sql, kind) in [
        ("SELECT 1\0", ErrorKind::InvalidInput),
        ("", ErrorKind::InvalidInput),
        ("   -- only a comment", ErrorKind::InvalidInput),
        ("SELECT 1; SELECT 2", ErrorKind::InvalidInput),
        ("SELECT '", ErrorKind::InvalidInput),
        ("SELECT $99999999999999999999", ErrorKind::InvalidInput),
    ] {
        let err = store.query_all(sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{sql:?}: {err}");
        let err = store.execute(sql, &[]).await.unwrap_err();
        assert_eq!(err.kind(), kind, "{sql:?}: {err}");
    }
    let long_name = "n".repeat(2000);
    let err = store
        .query_all(&format!("SELECT * FROM {long_name}"), &[])
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound);
    let err = store
        .batch_execute("CREATE TABLE x (a); \0")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");

    let err = Migrator::new(vec![])
        .unwrap()
        .table("history\0")
        .run(&store)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    Migrator::new(vec![])
        .unwrap()
        .table("my \"history\" ..")
        .run(&store)
        .await
        .unwrap_err(); // a dot qualifies the name: an unknown schema, typed
    let err = SqliteStore::open("bad\0path.db").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "{err}");
    let err = SqliteStore::open(dir.path()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput, "a directory: {err}");
    let err = SqliteStore::open(dir.file("missing/..")).await.unwrap_err();
    assert!(!err.message().is_empty());
    store
        .query_all("SELECT 1 AS still_working", &[])
        .await
        .unwrap();
}
