//! Parsing, display and redaction of locations.

use super::*;

fn parse(text: &str) -> Location {
    text.parse()
        .unwrap_or_else(|e| panic!("{text} did not parse: {e}"))
}

fn error(text: &str) -> String {
    text.parse::<Location>().unwrap_err().to_string()
}

#[test]
fn every_scheme_parses_into_its_kind() {
    assert_eq!(
        parse("file:///tmp/x"),
        Location::File {
            path: "/tmp/x".into()
        }
    );
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        parse("file://rel/dir"),
        Location::File {
            path: cwd.join("rel/dir")
        }
    );
    // One file written relative or absolute is one location, named by its absolute path.
    let absolute = format!("sqlite://{}?table=t", cwd.join("x.db").display());
    assert_eq!(parse("sqlite://x.db?table=t"), parse(&absolute));
    assert_eq!(parse("sqlite://./x.db?table=t").to_string(), absolute);
    assert_eq!(
        parse("sqlite:///data/a.db?table=items"),
        Location::Sqlite {
            path: "/data/a.db".into(),
            table: SqlTarget::Table("items".into())
        }
    );
    assert_eq!(
        parse("dynamodb://users"),
        Location::Dynamo {
            table: "users".into()
        }
    );
    assert_eq!(
        parse("s3://bucket/some/prefix/"),
        Location::S3 {
            bucket: "bucket".into(),
            prefix: "some/prefix/".into()
        }
    );
    assert_eq!(
        parse("s3://bucket"),
        Location::S3 {
            bucket: "bucket".into(),
            prefix: String::new()
        }
    );
    let kinds = [
        ("mem://a", Kind::Documents),
        ("mem://a?kind=objects", Kind::Objects),
        ("mem://a?kind=search", Kind::Search),
        ("file:///x", Kind::Objects),
        ("s3://b/p", Kind::Objects),
        ("sqlite://x.db?table=t", Kind::Table),
        ("postgres://h/db?table=t", Kind::Table),
        ("postgresql://h/db?table=t", Kind::Table),
        ("dynamodb://t", Kind::Documents),
        ("opensearch://localhost:9200/idx", Kind::Search),
        ("opensearch+https://h:9200/idx", Kind::Search),
        ("elasticsearch://localhost:9200/idx", Kind::Search),
        ("elasticsearch+https://h:9200/idx", Kind::Search),
    ];
    for (text, kind) in kinds {
        assert_eq!(parse(text).kind(), kind, "{text}");
    }
}

#[test]
fn memory_keys_default_to_id_text_and_take_a_sort_key() {
    let Location::Memory {
        kind: MemoryKind::Documents(schema),
        ..
    } = parse("mem://t")
    else {
        panic!("documents expected")
    };
    assert_eq!(schema, KeySchema::partition("id", KeyType::String));
    let Location::Memory {
        kind: MemoryKind::Documents(schema),
        ..
    } = parse("mem://t?key=pk:S&sort=sk:N")
    else {
        panic!("documents expected")
    };
    assert_eq!(
        schema,
        KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number)
    );
    assert_eq!(
        parse("mem://t?key=pk:S&sort=sk:N").to_string(),
        "mem://t?key=pk:S&sort=sk:N"
    );
    assert!(error("mem://t?key=pk:X").contains("S (text)"));
    assert!(error("mem://t?kind=tables").contains("documents, objects or search"));
}

#[test]
fn a_sql_location_names_a_table_or_a_query() {
    let Location::Sqlite { table, .. } =
        parse("sqlite:///d/a.db?query=SELECT%20id%20FROM%20t%20ORDER%20BY%20id")
    else {
        panic!("sqlite");
    };
    assert_eq!(
        table,
        SqlTarget::Query("SELECT id FROM t ORDER BY id".into())
    );
    assert!(error("sqlite:///d/a.db?table=t&query=SELECT%201").contains("not both"));
}

#[test]
fn postgres_keeps_other_parameters_and_drops_table_from_the_url() {
    let Location::Postgres { url, table, .. } =
        parse("postgres://u:p@db.example:5433/app?sslmode=require&table=public.items")
    else {
        panic!("postgres expected")
    };
    assert_eq!(url, "postgres://u:p@db.example:5433/app?sslmode=require");
    assert_eq!(table, SqlTarget::Table("public.items".into()));
}

#[test]
fn a_password_never_appears_in_display_describe_or_errors() {
    let secret = "hunter2-s3cret";
    for text in [
        format!("postgres://alice:{secret}@db:5432/app?table=t"),
        format!("postgresql://alice:{secret}@db/app?sslmode=disable&table=t"),
        format!("opensearch+https://admin:{secret}@search:9200/idx"),
    ] {
        let location = parse(&text);
        for shown in [
            location.to_string(),
            location.describe(),
            format!("{location:?}"),
        ] {
            assert!(!shown.contains(secret), "{shown}");
            assert!(shown.contains(":***@"), "{shown}");
        }
        assert!(location.secrets().contains(&secret.to_owned()));
    }
    // Errors do not repeat the URL either.
    for text in [
        format!("postgres://alice:{secret}@db:5432/app"),
        format!("nosuch://alice:{secret}@db/app"),
        format!("alice:{secret}@db"),
        format!("opensearch://alice:{secret}@db"),
    ] {
        let message = error(&text);
        assert!(!message.contains(secret), "{message}");
    }
    // An escaped password is known in both spellings.
    let location = parse("postgres://u:p%40ss@h/db?table=t");
    assert!(location.secrets().contains(&"p@ss".to_owned()));
    assert_eq!(location.to_string(), "postgres://u:***@h/db?table=t");
}

#[test]
fn bad_locations_say_what_to_write() {
    assert!(error("ftp://x").contains("unknown location scheme `ftp://`"));
    assert!(error("just-a-path").contains("not a location"));
    assert!(error("sqlite:///x.db").contains("add ?table=NAME"));
    assert!(error("postgres://h/db").contains("add ?table=NAME"));
    assert!(error("s3://").contains("no bucket"));
    assert!(error("dynamodb://").contains("dynamodb://TABLE"));
    assert!(error("opensearch://localhost:9200").contains("HOST:PORT/INDEX"));
    assert!(error("file://").contains("no path"));
    assert!(error("file:///x?table=t").contains("no `table` parameter"));
    assert!(error("sqlite:///x.db?table=a&table=b").contains("`table` parameter twice"));
    assert!(error("postgres://h/db?table=a&sslmode=require&sslmode=disable").contains("twice"));
    for text in ["ftp://x", "sqlite:///x.db", "s3://"] {
        assert!(!error(text).contains('\n'));
    }
}

#[test]
fn display_round_trips() {
    for text in [
        "file:///tmp/x",
        "sqlite:///d/a.db?table=items",
        "dynamodb://users",
        "s3://b/p",
        "opensearch://localhost:9200/idx",
        "elasticsearch+https://u@h:9200/idx",
        "mem://a?kind=objects",
        "postgres://u@h:5432/db?table=t",
    ] {
        assert_eq!(parse(text).to_string(), text);
        assert_eq!(parse(&parse(text).to_string()), parse(text));
    }
}

#[test]
fn embedded_locations_parse_display_and_refuse_what_they_cannot_mean() {
    let keyed = parse("redb:///data/orders.redb?table=orders&key=user:S&sort=no:N");
    assert_eq!(
        keyed,
        Location::Redb {
            path: "/data/orders.redb".into(),
            table: Some("orders".into()),
            key: Some(
                KeySchema::partition("user", KeyType::String).with_sort("no", KeyType::Number)
            ),
        }
    );
    assert_eq!(keyed.kind(), Kind::Documents);
    for shown in [
        "redb:///data/orders.redb?table=orders&key=user:S&sort=no:N",
        "redb:///data/orders.redb",
        "tantivy:///data/search/articles",
    ] {
        assert_eq!(parse(shown).to_string(), shown);
    }
    let cwd = std::env::current_dir().unwrap();
    assert_eq!(
        parse("redb://rel.redb?key=id:B").to_string(),
        format!("redb://{}?key=id:B", cwd.join("rel.redb").display())
    );
    assert_eq!(
        parse("tantivy://articles/"),
        Location::Tantivy {
            root: cwd,
            index: "articles".into()
        }
    );
    assert_eq!(parse("tantivy:///idx/a").kind(), Kind::Search);

    assert!(error("redb:///a.redb?sort=sk:N").contains("needs ?key="));
    assert!(error("redb:///a.redb?key=id:S&sort=id:N").contains("name one attribute"));
    assert!(error("redb:///a.redb?key=id:X").contains("is not S"));
    assert!(error("redb:///a.redb?index=x").contains("takes no `index`"));
    assert!(error("redb://").contains("names no path"));
    assert!(error("tantivy:///data/Upper").contains("index's name"));
    assert!(error("tantivy:///data/sub/..").contains("write tantivy:///dir/INDEX"));
    assert!(error("tantivy:///data/a?x=1").contains("takes no `x`"));
    assert!(error("nosuch://x").contains("redb, tantivy"));
}

#[test]
fn one_file_store_written_two_ways_is_one() {
    let dir = std::env::temp_dir();
    let file = dir.join("stores-same-file-test.redb");
    std::fs::write(&file, b"").unwrap();
    let absolute = parse(&format!("redb://{}", file.display()));
    let dotted = parse(&format!(
        "redb://{}/./stores-same-file-test.redb",
        dir.display()
    ));
    assert!(absolute.is_same_file_store(&dotted));
    assert!(!absolute.is_same_file_store(&parse("redb:///elsewhere/x.redb")));
    assert!(parse("tantivy:///a/b/idx").is_same_file_store(&parse("tantivy:///a/b/./idx")));
    assert!(!parse("tantivy:///a/b/idx").is_same_file_store(&parse("tantivy:///a/b/other")));
    std::fs::remove_file(file).unwrap();
}

#[test]
fn a_password_given_as_a_parameter_is_as_secret_as_one_before_the_host() {
    let location = parse("postgres://db:5432/app?table=t&password=s3cr3t%25PW&user=alice");
    let shown = location.to_string();
    assert!(!shown.contains("s3cr3t"), "{shown}");
    assert!(shown.contains("password=***"), "{shown}");
    let secrets = location.secrets();
    assert!(secrets.iter().any(|s| s == "s3cr3t%PW"), "{secrets:?}");
    let Location::Postgres { url, .. } = &location else {
        panic!("{location:?}")
    };
    // The connection itself gets it.
    assert!(url.contains("password=s3cr3t%25PW"), "{url}");
    let ssl = parse("postgres://db/app?table=t&sslpassword=k3y");
    assert!(!ssl.to_string().contains("k3y"));
}

#[test]
fn folders_one_inside_the_other_are_told_apart_from_siblings() {
    let dir = std::env::temp_dir().join(format!("stores-nested-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("src/objects")).unwrap();
    let file = |p: &str| parse(&format!("file://{}/{p}", dir.display()));
    assert!(file("src").is_nested_folder(&file("src/objects/inner")));
    assert!(file("src/objects/inner").is_nested_folder(&file("src")));
    assert!(file("src").is_nested_folder(&file("src/./")));
    assert!(!file("src").is_nested_folder(&file("srcs")));
    assert!(!file("src").is_nested_folder(&file("other/src")));
    std::fs::remove_dir_all(&dir).unwrap();
}
