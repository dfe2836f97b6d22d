//! Opening connections: flags, pragmas, and the file's identity (application id and format
//! version) checked before anything else touches it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};
use store_core::{Result, StoreError};

use crate::error::{BACKEND, map_sqlite};

/// What this crate writes to `PRAGMA application_id`: `"STQ"` then the format version.
pub const APPLICATION_ID: i32 = (MAGIC << 8) | FORMAT_VERSION;
/// The high three bytes of [`APPLICATION_ID`], the same for every format version.
const MAGIC: i32 = 0x53_54_51;
/// The on-disk format version this crate writes and reads: the type mapping of the crate docs.
pub const FORMAT_VERSION: i32 = 1;

/// Where the database lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Location {
    /// A file.
    File(PathBuf),
    /// An in-memory database on a single connection.
    Memory,
}

/// How to open the connections of one store.
#[derive(Debug, Clone)]
pub(crate) struct OpenSpec {
    pub(crate) location: Location,
    pub(crate) busy_timeout: Duration,
    pub(crate) create_if_missing: bool,
    pub(crate) read_only: bool,
    pub(crate) statement_cache: usize,
}

fn open_err(e: rusqlite::Error, path: &Path) -> StoreError {
    let mapped = map_sqlite(e, "open");
    StoreError::new(
        mapped.kind(),
        format!("opening {}: {}", path.display(), mapped.message()),
    )
    .with_source(mapped)
    .with_target(path.display().to_string())
    .in_context(BACKEND, "open")
}

fn flags(spec: &OpenSpec, writer: bool) -> OpenFlags {
    let base = OpenFlags::SQLITE_OPEN_NO_MUTEX;
    if spec.read_only {
        base | OpenFlags::SQLITE_OPEN_READ_ONLY
    } else if writer && spec.create_if_missing {
        base | OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE
    } else {
        base | OpenFlags::SQLITE_OPEN_READ_WRITE
    }
}

/// Settings every connection gets.
fn common(conn: &Connection, spec: &OpenSpec) -> rusqlite::Result<()> {
    conn.busy_timeout(spec.busy_timeout)?;
    conn.set_prepared_statement_cache_capacity(spec.statement_cache);
    conn.pragma_update(None, "foreign_keys", true)
}

/// Opens the writer connection: checks the file's identity, claims an unclaimed database,
/// turns on WAL with `synchronous=FULL`.
pub(crate) fn open_writer(spec: &OpenSpec) -> Result<Connection> {
    let path = match &spec.location {
        Location::Memory => {
            let conn = Connection::open_in_memory().map_err(|e| map_sqlite(e, "open"))?;
            return prepare_writer(conn, spec);
        }
        Location::File(path) => path,
    };
    let may_create = spec.create_if_missing && !spec.read_only;
    if !may_create && !path.exists() {
        return Err(StoreError::not_found(format!(
            "no database at {}; create one with create_if_missing(true) (the default)",
            path.display()
        ))
        .with_target(path.display().to_string())
        .in_context(BACKEND, "open"));
    }
    if path.is_dir() {
        return Err(StoreError::invalid_input(format!(
            "{} is a directory; give the path of a database file",
            path.display()
        ))
        .with_target(path.display().to_string())
        .in_context(BACKEND, "open"));
    }
    let conn =
        Connection::open_with_flags(path, flags(spec, true)).map_err(|e| open_err(e, path))?;
    prepare_writer(conn, spec)
}

/// Makes an open connection this store's writer: common settings, then for a file the
/// identity check, WAL and `synchronous=FULL`, and the application id if it had none.
pub(crate) fn prepare_writer(conn: Connection, spec: &OpenSpec) -> Result<Connection> {
    let path = match &spec.location {
        Location::Memory => {
            common(&conn, spec).map_err(|e| map_sqlite(e, "open"))?;
            conn.pragma_update(None, "application_id", APPLICATION_ID)
                .map_err(|e| map_sqlite(e, "open"))?;
            return Ok(conn);
        }
        Location::File(path) => path,
    };
    common(&conn, spec).map_err(|e| open_err(e, path))?;
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |r| r.get(0))
        .map_err(|e| open_err(e, path))?;
    check_identity(id, path)?;
    if spec.read_only {
        return Ok(conn);
    }
    let mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
        .map_err(|e| open_err(e, path))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::unsupported(format!(
            "{} cannot use write-ahead logging (journal_mode is {mode}); put the database on a \
             local file system",
            path.display()
        ))
        .in_context(BACKEND, "open"));
    }
    conn.pragma_update(None, "synchronous", "FULL")
        .map_err(|e| open_err(e, path))?;
    if id == 0 {
        conn.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(|e| open_err(e, path))?;
    }
    Ok(conn)
}

/// Refuses a file that belongs to another application or to a newer format.
fn check_identity(id: i32, path: &Path) -> Result<()> {
    let fail = |message: String| {
        Err(StoreError::invalid_input(message)
            .with_target(path.display().to_string())
            .in_context(BACKEND, "open"))
    };
    if id == 0 || id == APPLICATION_ID {
        Ok(())
    } else if id >> 8 == MAGIC {
        fail(format!(
            "{} has store-rusqlite format version {}, newer than this version reads \
             ({FORMAT_VERSION}); upgrade store-rusqlite",
            path.display(),
            id & 0xff
        ))
    } else {
        fail(format!(
            "{} belongs to another application (PRAGMA application_id is {id:#010x}, \
             store-rusqlite's is {APPLICATION_ID:#010x}); open a store-rusqlite database or a \
             new file",
            path.display()
        ))
    }
}

/// Opens a reader connection to a file the writer has opened and checked; readers of a
/// writable store refuse writes (`PRAGMA query_only`).
pub(crate) fn open_reader(spec: &OpenSpec) -> Result<Connection> {
    let Location::File(path) = &spec.location else {
        return Err(StoreError::internal(
            "an in-memory store has no reader connections",
        ));
    };
    let conn =
        Connection::open_with_flags(path, flags(spec, false)).map_err(|e| open_err(e, path))?;
    common(&conn, spec).map_err(|e| open_err(e, path))?;
    if !spec.read_only {
        conn.pragma_update(None, "query_only", true)
            .map_err(|e| open_err(e, path))?;
    }
    Ok(conn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_rules() {
        let path = Path::new("x.db");
        assert!(check_identity(0, path).is_ok());
        assert!(check_identity(APPLICATION_ID, path).is_ok());
        let newer = check_identity((MAGIC << 8) | 2, path).unwrap_err();
        assert!(newer.message().contains("newer"), "{newer}");
        let other = check_identity(0x0f05_5112, path).unwrap_err();
        assert!(other.message().contains("another application"), "{other}");
        assert_eq!(APPLICATION_ID, 0x5354_5101);
    }
}
