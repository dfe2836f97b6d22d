//! Locations: where data lives, written as URLs and parsed into a typed [`Location`].
//!
//! | URL | what it is |
//! | --- | --- |
//! | `mem://name[?kind=documents\|objects\|search][&key=pk:S][&sort=sk:N]` | an in-process memory store (tests) |
//! | `file:///abs/dir`, `file://rel/dir` | objects in a folder through store-fs (or an archive) |
//! | `sqlite:///path/to.db?table=t`, `sqlite://rel.db?table=t` | a table in an SQLite file |
//! | `redb:///path/to.redb[?table=t][&key=pk:S][&sort=sk:N]` | a document table in a store-redb file |
//! | `tantivy:///path/to/dir/index` | a search index in a store-tantivy directory |
//! | `postgres://user:pass@host:port/db?table=t` (or `postgresql://`) | a PostgreSQL table |
//! | `dynamodb://table` | a DynamoDB table |
//! | `s3://bucket/prefix` | objects under a prefix of a bucket (or an archive) |
//! | `opensearch://host:port/index`, `opensearch+https://…` | an OpenSearch index |
//! | `elasticsearch://host:port/index`, `elasticsearch+https://…` | an Elasticsearch index (the same adapter) |
//!
//! A location's `Display` never shows a password: `postgres://user:***@host/db?table=t`.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use store_core::{KeySchema, KeyType};

mod embedded;
mod query_text;
mod services;

pub(crate) use embedded::BESIDE_DATABASE;
use embedded::{key_schema, parse_redb, parse_tantivy};
use query_text::{parse_query, percent_decode, percent_encode};
use services::{parse_opensearch, parse_postgres};

/// The schemes a location can have, for messages.
const SCHEMES: &str = "mem, file, sqlite, redb, tantivy, postgres, dynamodb, s3, opensearch, \
                       opensearch+https, elasticsearch, elasticsearch+https";

/// What shape of data a location holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Objects (bytes under keys); also where archives live.
    Objects,
    /// A table of keyed documents.
    Documents,
    /// A SQL table.
    Table,
    /// A search index.
    Search,
}

impl Kind {
    /// Whether records (rows, documents, search documents) live here, rather than objects.
    pub(crate) fn is_records(self) -> bool {
        self != Self::Objects
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Objects => "objects",
            Self::Documents => "document table",
            Self::Table => "table",
            Self::Search => "search index",
        })
    }
}

/// What an in-process memory location holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MemoryKind {
    /// A document table with this key.
    Documents(KeySchema),
    /// An object store.
    Objects,
    /// A search index.
    Search,
}

/// What a SQL location names: a table (read and written) or a query (read only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SqlTarget {
    /// A table, optionally `schema.table`.
    Table(String),
    /// The rows of a query, keyed by the `--key` columns.
    Query(String),
}

impl fmt::Display for SqlTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Table(table) => write!(f, "table={table}"),
            Self::Query(sql) => write!(f, "query={}", percent_encode(sql)),
        }
    }
}

/// Where data lives.
#[derive(Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// An in-process memory store, shared by name within one run of the command.
    Memory {
        /// Its name.
        name: String,
        /// What it holds.
        kind: MemoryKind,
    },
    /// A folder of objects through store-fs.
    File {
        /// The folder, absolute (a relative one is taken from the working directory).
        path: PathBuf,
    },
    /// A table in an SQLite database file.
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// The table or query.
        table: SqlTarget,
    },
    /// A document table in a store-redb file (one table per file).
    Redb {
        /// The store file.
        path: PathBuf,
        /// The table's name, when given: checked against an existing file's, or the name of
        /// a new one (the file's stem when not given).
        table: Option<String>,
        /// The key, when given: checked against an existing file's, or the key of a new one
        /// (the source's when not given).
        key: Option<KeySchema>,
    },
    /// A search index in a store-tantivy directory.
    Tantivy {
        /// The directory holding the index's own directory.
        root: PathBuf,
        /// The index (and its directory's) name.
        index: String,
    },
    /// A PostgreSQL table.
    Postgres {
        /// The connection URL without the `table` parameter; it may hold a password.
        url: String,
        /// The URL with its password replaced by `***`, for messages.
        redacted: String,
        /// The password written in the URL, if any (to keep it out of every message).
        password: Option<String>,
        /// The table (optionally `schema.table`) or query.
        table: SqlTarget,
    },
    /// A DynamoDB table.
    Dynamo {
        /// The table.
        table: String,
    },
    /// Objects under a prefix of an S3 bucket.
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix: empty, or ending with `/`.
        prefix: String,
    },
    /// An OpenSearch or Elasticsearch index (one adapter serves both).
    OpenSearch {
        /// Whether the location was written `elasticsearch://` (only for display).
        elastic: bool,
        /// Whether the cluster speaks HTTPS.
        https: bool,
        /// `host[:port]`.
        host: String,
        /// The index.
        index: String,
        /// A user name written in the URL.
        user: Option<String>,
        /// A password written in the URL.
        password: Option<String>,
    },
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Location({self})")
    }
}

impl Location {
    /// What shape of data it holds.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Self::Memory { kind, .. } => match kind {
                MemoryKind::Documents(_) => Kind::Documents,
                MemoryKind::Objects => Kind::Objects,
                MemoryKind::Search => Kind::Search,
            },
            Self::File { .. } | Self::S3 { .. } => Kind::Objects,
            Self::Sqlite { .. } | Self::Postgres { .. } => Kind::Table,
            Self::Dynamo { .. } | Self::Redb { .. } => Kind::Documents,
            Self::OpenSearch { .. } | Self::Tantivy { .. } => Kind::Search,
        }
    }

    /// The location for messages, checkpoints and archive manifests: its URL with any
    /// password replaced by `***`.
    pub(crate) fn describe(&self) -> String {
        self.to_string()
    }

    /// The secrets written in the location (passwords), so that no message shows them.
    pub(crate) fn secrets(&self) -> Vec<String> {
        let password = match self {
            Self::Postgres { password, .. } | Self::OpenSearch { password, .. } => password,
            _ => return Vec::new(),
        };
        password
            .iter()
            .filter(|p| !p.is_empty())
            .flat_map(|p| {
                let decoded = percent_decode(p).unwrap_or_else(|_| p.clone());
                [p.clone(), decoded]
            })
            .collect()
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Memory { name, kind } => {
                write!(f, "mem://{name}")?;
                match kind {
                    MemoryKind::Documents(schema) => write!(f, "?{}", key_params(schema)),
                    MemoryKind::Objects => f.write_str("?kind=objects"),
                    MemoryKind::Search => f.write_str("?kind=search"),
                }
            }
            Self::Redb { path, table, key } => {
                write!(f, "redb://{}", path.display())?;
                if let Some(table) = table {
                    write!(f, "?table={}", percent_encode(table))?;
                }
                match key {
                    Some(key) => {
                        let joiner = if table.is_some() { '&' } else { '?' };
                        write!(f, "{joiner}{}", key_params(key))
                    }
                    None => Ok(()),
                }
            }
            Self::Tantivy { root, index } => {
                write!(f, "tantivy://{}", root.join(index).display())
            }
            Self::File { path } => write!(f, "file://{}", path.display()),
            Self::Sqlite { path, table } => {
                write!(f, "sqlite://{}?{table}", path.display())
            }
            Self::Postgres {
                redacted, table, ..
            } => {
                let joiner = if redacted.contains('?') { '&' } else { '?' };
                write!(f, "{redacted}{joiner}{table}")
            }
            Self::Dynamo { table } => write!(f, "dynamodb://{table}"),
            Self::S3 { bucket, prefix } => {
                write!(f, "s3://{bucket}/{}", prefix.trim_end_matches('/'))
            }
            Self::OpenSearch {
                elastic,
                https,
                host,
                index,
                user,
                password,
            } => {
                let engine = if *elastic {
                    "elasticsearch"
                } else {
                    "opensearch"
                };
                let tls = if *https { "+https" } else { "" };
                write!(f, "{engine}{tls}://")?;
                if let Some(user) = user {
                    f.write_str(user)?;
                    if password.is_some() {
                        f.write_str(":***")?;
                    }
                    f.write_str("@")?;
                }
                write!(f, "{host}/{index}")
            }
        }
    }
}

/// Why a location did not parse: one line that names the problem and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocationError(String);

impl fmt::Display for LocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LocationError {}

fn bad(message: impl Into<String>) -> LocationError {
    LocationError(message.into())
}

impl FromStr for Location {
    type Err = LocationError;

    /// Parses a location URL. Messages never repeat the URL itself (it may hold a password).
    fn from_str(text: &str) -> Result<Self, LocationError> {
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(bad(format!(
                "`{}` is not a location: write SCHEME://..., e.g. sqlite:///path/to.db?table=t \
                 (schemes: {SCHEMES})",
                if text.contains('@') { "(hidden)" } else { text }
            )));
        };
        let scheme = scheme.to_ascii_lowercase();
        let (body, query) = match rest.split_once('?') {
            Some((body, query)) => (body, parse_query(query)?),
            None => (rest, Vec::new()),
        };
        match scheme.as_str() {
            "mem" => parse_memory(body, query),
            "file" => {
                refuse_params("file", &query, &[])?;
                Ok(Self::File {
                    path: path_of("file", body)?,
                })
            }
            "sqlite" => {
                let mut query = query;
                let table = take_table("sqlite", &mut query)?;
                refuse_params("sqlite", &query, &[])?;
                Ok(Self::Sqlite {
                    path: path_of("sqlite", body)?,
                    table,
                })
            }
            "redb" => parse_redb(body, query),
            "tantivy" => parse_tantivy(body, query),
            "postgres" | "postgresql" => parse_postgres(&scheme, body, query),
            "dynamodb" => {
                refuse_params("dynamodb", &query, &[])?;
                let table = percent_decode(body.trim_end_matches('/'))?;
                if table.is_empty() || table.contains('/') {
                    return Err(bad(
                        "a dynamodb location is dynamodb://TABLE: name one table, e.g. dynamodb://users",
                    ));
                }
                Ok(Self::Dynamo { table })
            }
            "s3" => {
                refuse_params("s3", &query, &[])?;
                let (bucket, prefix) = body.split_once('/').unwrap_or((body, ""));
                if bucket.is_empty() {
                    return Err(bad(
                        "an s3 location names no bucket: write s3://BUCKET or s3://BUCKET/PREFIX",
                    ));
                }
                let prefix = percent_decode(prefix.trim_matches('/'))?;
                let prefix = if prefix.is_empty() {
                    prefix
                } else {
                    format!("{prefix}/")
                };
                Ok(Self::S3 {
                    bucket: bucket.to_owned(),
                    prefix,
                })
            }
            "opensearch"
            | "opensearch+http"
            | "opensearch+https"
            | "elasticsearch"
            | "elasticsearch+http"
            | "elasticsearch+https" => {
                refuse_params(&scheme, &query, &[])?;
                let elastic = scheme.starts_with("elasticsearch");
                parse_opensearch(elastic, scheme.ends_with("+https"), body)
            }
            other => Err(bad(format!(
                "unknown location scheme `{other}://`: use one of {SCHEMES} \
                 (e.g. sqlite:///path/to.db?table=t, file:///dir, s3://bucket/prefix)"
            ))),
        }
    }
}

fn parse_memory(body: &str, query: Vec<(String, String)>) -> Result<Location, LocationError> {
    refuse_params("mem", &query, &["kind", "key", "sort"])?;
    let name = percent_decode(body.trim_end_matches('/'))?;
    if name.is_empty() {
        return Err(bad("a mem location names no store: write mem://NAME"));
    }
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let kind = match param("kind").unwrap_or("documents") {
        "documents" => {
            MemoryKind::Documents(key_schema(param("key").unwrap_or("id:S"), param("sort"))?)
        }
        "objects" | "search" if param("key").is_some() || param("sort").is_some() => {
            return Err(bad(
                "?key= and ?sort= apply to mem document stores only (?kind=documents)",
            ));
        }
        "objects" => MemoryKind::Objects,
        "search" => MemoryKind::Search,
        other => {
            return Err(bad(format!(
                "mem ?kind={other} is not a kind: use documents, objects or search"
            )));
        }
    };
    Ok(Location::Memory { name, kind })
}

/// `name:T` (T one of S, N, B; S when left out).
fn key_spec(spec: &str) -> Result<(String, KeyType), LocationError> {
    let (name, letter) = spec.split_once(':').unwrap_or((spec, "S"));
    let key_type = match letter {
        "S" | "s" => KeyType::String,
        "N" | "n" => KeyType::Number,
        "B" | "b" => KeyType::Bytes,
        other => {
            return Err(bad(format!(
                "key type `{other}` is not S (text), N (number) or B (bytes): write e.g. key=pk:S"
            )));
        }
    };
    if name.is_empty() {
        return Err(bad("a key needs a name: write e.g. key=pk:S"));
    }
    Ok((name.to_owned(), key_type))
}

/// `key=NAME:T[&sort=NAME:T]`: the key parameters a location writes, also in messages that
/// name a key.
pub(crate) fn key_params(schema: &KeySchema) -> String {
    let partition = &schema.partition;
    let mut text = format!("key={}:{}", partition.name, type_letter(partition.key_type));
    if let Some(sort) = &schema.sort {
        text.push_str(&format!(
            "&sort={}:{}",
            sort.name,
            type_letter(sort.key_type)
        ));
    }
    text
}

fn type_letter(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::String => "S",
        KeyType::Number => "N",
        KeyType::Bytes => "B",
    }
}

/// The path of a `file://`, `sqlite://`, `redb://` or `tantivy://` location: `///abs` is
/// absolute, `//rel` relative to the working directory, made absolute here. A location is
/// named by its absolute path in checkpoints, archives and messages, so that one file
/// written from two directories is never taken for another, nor two files for one.
fn path_of(scheme: &str, body: &str) -> Result<PathBuf, LocationError> {
    let path = percent_decode(body)?;
    if path.is_empty() || path == "/" {
        return Err(bad(format!(
            "a {scheme} location names no path: write {scheme}:///absolute/path or \
             {scheme}://relative/path"
        )));
    }
    std::path::absolute(&path).map_err(|e| {
        bad(format!(
            "the {scheme} path `{path}` cannot be made absolute: {e}"
        ))
    })
}

fn take_table(scheme: &str, query: &mut Vec<(String, String)>) -> Result<SqlTarget, LocationError> {
    let mut take = |name: &str| {
        let found = query.iter().position(|(k, _)| k == name);
        found.map(|i| query.remove(i).1)
    };
    match (take("table"), take("query")) {
        (Some(table), None) if !table.is_empty() => Ok(SqlTarget::Table(table)),
        (None, Some(sql)) if !sql.trim().is_empty() => Ok(SqlTarget::Query(sql)),
        (Some(_), Some(_)) => Err(bad(format!(
            "a {scheme} location names a table or a query, not both"
        ))),
        _ => Err(bad(format!(
            "a {scheme} location names no table: add ?table=NAME, e.g. \
             {scheme}://...?table=users (or ?query=SELECT... with --key COLUMN)"
        ))),
    }
}

fn refuse_params(
    scheme: &str,
    query: &[(String, String)],
    allowed: &[&str],
) -> Result<(), LocationError> {
    match query.iter().find(|(k, _)| !allowed.contains(&k.as_str())) {
        None => Ok(()),
        Some((k, _)) => Err(bad(format!(
            "a {scheme} location takes no `{k}` parameter{}",
            if allowed.is_empty() {
                String::new()
            } else {
                format!(" (it takes {})", allowed.join(", "))
            }
        ))),
    }
}

#[cfg(test)]
mod tests;
