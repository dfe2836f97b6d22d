//! The locations of the embedded stores: `redb://` (a document table in a store-redb file)
//! and `tantivy://` (a search index in a store-tantivy directory).

use std::path::{Component, Path, PathBuf};

use store_core::{IndexName, KeySchema};

use super::{Location, LocationError, bad, key_spec, path_of, refuse_params};

/// `redb:///path/to/file.redb[?table=NAME][&key=NAME:T[&sort=NAME:T]]`: the table and key
/// are checked against an existing file's, and name those of a new one.
pub(super) fn parse_redb(
    body: &str,
    query: Vec<(String, String)>,
) -> Result<Location, LocationError> {
    refuse_params("redb", &query, &["table", "key", "sort"])?;
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let table = param("table").map(str::to_owned);
    if table.as_deref() == Some("") {
        return Err(bad("?table= names no table: write e.g. ?table=orders"));
    }
    let key = match (param("key"), param("sort")) {
        (Some(key), sort) => Some(key_schema(key, sort)?),
        (None, Some(_)) => {
            return Err(bad(
                "?sort= needs ?key= beside it: write e.g. ?key=pk:S&sort=sk:N",
            ));
        }
        (None, None) => None,
    };
    Ok(Location::Redb {
        path: path_of("redb", body)?,
        table,
        key,
    })
}

/// A key schema from `key=NAME:T` and an optional `sort=NAME:T`.
pub(super) fn key_schema(key: &str, sort: Option<&str>) -> Result<KeySchema, LocationError> {
    let (pk, pk_type) = key_spec(key)?;
    let mut schema = KeySchema::partition(pk, pk_type);
    if let Some(sort) = sort {
        let (sk, sk_type) = key_spec(sort)?;
        if sk == schema.partition.name {
            return Err(bad(format!(
                "?key= and ?sort= name one attribute, `{sk}`: a sort key is another one"
            )));
        }
        schema = schema.with_sort(sk, sk_type);
    }
    Ok(schema)
}

/// `tantivy:///path/to/dir/INDEX`: the index `INDEX` in the directory `/path/to/dir`.
pub(super) fn parse_tantivy(
    body: &str,
    query: Vec<(String, String)>,
) -> Result<Location, LocationError> {
    refuse_params("tantivy", &query, &[])?;
    let path = path_of("tantivy", body)?;
    let index = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default()
        .to_owned();
    if index.is_empty() {
        return Err(bad(
            "a tantivy location ends with its index's name: write tantivy:///dir/INDEX",
        ));
    }
    if let Err(e) = IndexName::new(index.as_str()) {
        return Err(bad(format!(
            "a tantivy location ends with its index's name (tantivy:///dir/INDEX): {}",
            e.message()
        )));
    }
    let root = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    Ok(Location::Tantivy { root, index })
}

/// The suffixes of an SQLite or redb store's files: the database, and what SQLite and the
/// store keep beside it.
pub(crate) const BESIDE_DATABASE: [&str; 5] = ["", "-wal", "-shm", "-journal", ".writer-lock"];

impl Location {
    /// Whether this and `other` are one redb file or one tantivy index (however their paths
    /// are written: `./a.redb`, a symbolic link).
    pub(crate) fn is_same_file_store(&self, other: &Location) -> bool {
        match (self, other) {
            (Self::Redb { path: a, .. }, Self::Redb { path: b, .. }) => resolved(a) == resolved(b),
            (Self::Tantivy { root: a, index: x }, Self::Tantivy { root: b, index: y }) => {
                resolved(&a.join(x)) == resolved(&b.join(y))
            }
            _ => false,
        }
    }

    /// Whether this and `other` are two `file://` folders, one inside the other (or the same).
    pub(crate) fn is_nested_folder(&self, other: &Location) -> bool {
        let (Self::File { path: a }, Self::File { path: b }) = (self, other) else {
            return false;
        };
        let (a, b) = (resolved(a), resolved(b));
        a.starts_with(&b) || b.starts_with(&a)
    }

    /// Whether the file at `path` would be inside this store: in a `file://` folder or a
    /// tantivy index's directory, or one of an SQLite or redb store's files.
    pub(crate) fn holds_path(&self, path: &Path) -> bool {
        let path = resolved(path);
        match self {
            Self::File { path: folder } => path.starts_with(resolved(folder)),
            Self::Tantivy { root, index } => path.starts_with(resolved(&root.join(index))),
            Self::Sqlite { path: file, .. } | Self::Redb { path: file, .. } => {
                let file = resolved(file);
                let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
                    return false;
                };
                // The database and the files kept beside it.
                path.parent() == Some(dir)
                    && BESIDE_DATABASE.iter().any(|suffix| {
                        let mut beside = name.to_owned();
                        beside.push(suffix);
                        path.file_name() == Some(beside.as_os_str())
                    })
            }
            _ => false,
        }
    }
}

/// `path` absolute, its links resolved and `.` and `..` taken, as far as it exists (a
/// destination may not exist yet): component by component, each that exists is resolved, and
/// `..` goes up from what the path named so far (`a/missing/../b` is `a/b`).
fn resolved(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut real = PathBuf::new();
    for part in absolute.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                real.pop();
            }
            Component::Normal(name) => {
                real.push(name);
                if let Ok(canonical) = real.canonicalize() {
                    real = canonical;
                }
            }
            root => real.push(root.as_os_str()),
        }
    }
    real
}
