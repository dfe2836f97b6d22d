//! SQLite and rusqlite errors mapped to [`StoreError`] kinds by result code.

use rusqlite::ffi;
use store_core::{ErrorKind, StoreError};

/// The backend name errors and spans carry.
pub(crate) const BACKEND: &str = "sqlite";

/// The [`ErrorKind`] of a rusqlite error.
///
/// | SQLite result | kind |
/// |---|---|
/// | `SQLITE_CONSTRAINT_UNIQUE`, `_PRIMARYKEY`, `_ROWID` | `AlreadyExists` |
/// | other `SQLITE_CONSTRAINT` (NOT NULL, CHECK, FOREIGN KEY, STRICT datatype), `SQLITE_MISMATCH`, `SQLITE_TOOBIG`, `SQLITE_RANGE` | `InvalidInput` |
/// | `SQLITE_ERROR` "no such table" | `NotFound` |
/// | other `SQLITE_ERROR` (syntax error, no such column or function, already exists) | `InvalidInput` |
/// | `SQLITE_READONLY`, `SQLITE_NOTADB` (not a database) | `InvalidInput` |
/// | `SQLITE_BUSY`, `SQLITE_LOCKED` (after the busy timeout), `SQLITE_SCHEMA`, `SQLITE_ABORT` | `Conflict` (retryable) |
/// | `SQLITE_IOERR`, `SQLITE_CANTOPEN`, `SQLITE_FULL`, `SQLITE_NOMEM`, `SQLITE_INTERRUPT`, `SQLITE_PROTOCOL`, `SQLITE_NOLFS` | `Unavailable` |
/// | `SQLITE_PERM`, `SQLITE_AUTH` | `Unauthorized` |
/// | `SQLITE_CORRUPT` and anything else | `Internal` |
/// | a wrong parameter count, a NUL in the SQL, several statements where one is expected, an empty statement | `InvalidInput` |
pub fn kind_of_error(e: &rusqlite::Error) -> ErrorKind {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(err, message) => kind_of_code(err.extended_code, message.as_deref()),
        E::SqlInputError { error, msg, .. } => kind_of_code(error.extended_code, Some(msg)),
        E::NulError(_)
        | E::InvalidParameterCount(..)
        | E::InvalidParameterName(_)
        | E::MultipleStatement
        | E::Empty
        | E::ToSqlConversionFailure(_)
        | E::InvalidPath(_)
        | E::ExecuteReturnedResults
        | E::InvalidQuery => ErrorKind::InvalidInput,
        E::QueryReturnedNoRows => ErrorKind::NotFound,
        _ => ErrorKind::Internal,
    }
}

/// The kind of an extended result code, with the message for the generic `SQLITE_ERROR`.
fn kind_of_code(extended: i32, message: Option<&str>) -> ErrorKind {
    match extended {
        ffi::SQLITE_CONSTRAINT_UNIQUE
        | ffi::SQLITE_CONSTRAINT_PRIMARYKEY
        | ffi::SQLITE_CONSTRAINT_ROWID => return ErrorKind::AlreadyExists,
        _ => {}
    }
    match extended & 0xff {
        ffi::SQLITE_ERROR => {
            let message = message.unwrap_or_default();
            if message.starts_with("no such table") {
                ErrorKind::NotFound
            } else {
                ErrorKind::InvalidInput
            }
        }
        ffi::SQLITE_CONSTRAINT
        | ffi::SQLITE_MISMATCH
        | ffi::SQLITE_TOOBIG
        | ffi::SQLITE_RANGE
        | ffi::SQLITE_READONLY
        | ffi::SQLITE_NOTADB => ErrorKind::InvalidInput,
        ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED | ffi::SQLITE_SCHEMA | ffi::SQLITE_ABORT => {
            ErrorKind::Conflict
        }
        ffi::SQLITE_IOERR
        | ffi::SQLITE_CANTOPEN
        | ffi::SQLITE_FULL
        | ffi::SQLITE_NOMEM
        | ffi::SQLITE_INTERRUPT
        | ffi::SQLITE_PROTOCOL
        | ffi::SQLITE_NOLFS => ErrorKind::Unavailable,
        ffi::SQLITE_PERM | ffi::SQLITE_AUTH => ErrorKind::Unauthorized,
        _ => ErrorKind::Internal,
    }
}

/// The message of a rusqlite error, with what to do where that is clear.
fn message_of(e: &rusqlite::Error) -> String {
    use rusqlite::Error as E;
    match e {
        E::SqliteFailure(err, message) => {
            let text = message
                .clone()
                .unwrap_or_else(|| ffi::code_to_str(err.extended_code).to_owned());
            match err.extended_code & 0xff {
                ffi::SQLITE_BUSY | ffi::SQLITE_LOCKED => format!(
                    "{text}: another connection held the database for longer than the busy \
                     timeout; try again (SQLite code {})",
                    err.extended_code
                ),
                ffi::SQLITE_NOTADB => format!(
                    "{text}: the file is not a SQLite database (or is encrypted) (SQLite code {})",
                    err.extended_code
                ),
                _ => format!("{text} (SQLite code {})", err.extended_code),
            }
        }
        E::SqlInputError {
            error, msg, offset, ..
        } => format!(
            "{msg} at byte {offset} of the statement (SQLite code {})",
            error.extended_code
        ),
        E::InvalidParameterCount(given, expected) => {
            format!("the statement takes {expected} parameters but {given} were given")
        }
        E::NulError(_) => "the SQL text or a name contains a NUL character".to_owned(),
        E::MultipleStatement => {
            "several statements where one was expected; run scripts with batch_execute".to_owned()
        }
        E::Empty => "the SQL text holds no statement".to_owned(),
        other => other.to_string(),
    }
}

/// Maps a rusqlite error, naming the operation.
pub(crate) fn map_sqlite(e: rusqlite::Error, operation: &'static str) -> StoreError {
    let mut err = StoreError::new(kind_of_error(&e), message_of(&e));
    // The extended result code SQLite answered with (2067 is a UNIQUE violation), as the
    // response status of the call.
    if let rusqlite::Error::SqliteFailure(code, _)
    | rusqlite::Error::SqlInputError { error: code, .. } = &e
    {
        err = err.with_status_code(code.extended_code.to_string());
    }
    let err = match e {
        // Its Display repeats the whole statement, which may hold literal values: the
        // message above keeps SQLite's words and the byte offset instead.
        rusqlite::Error::SqlInputError { .. } => err,
        other => err.with_source(other),
    };
    err.in_context(BACKEND, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure(code: i32, message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message.to_owned()))
    }

    #[test]
    fn the_extended_result_code_is_the_status_code() {
        let err = map_sqlite(failure(ffi::SQLITE_CONSTRAINT_UNIQUE, "UNIQUE"), "execute");
        assert_eq!(err.status_code(), Some("2067"));
        let err = map_sqlite(rusqlite::Error::InvalidParameterCount(1, 2), "execute");
        assert_eq!(err.status_code(), None);
    }

    #[test]
    fn result_codes_map_as_documented() {
        for (code, message, kind) in [
            (
                ffi::SQLITE_CONSTRAINT_UNIQUE,
                "UNIQUE",
                ErrorKind::AlreadyExists,
            ),
            (
                ffi::SQLITE_CONSTRAINT_PRIMARYKEY,
                "PK",
                ErrorKind::AlreadyExists,
            ),
            (
                ffi::SQLITE_CONSTRAINT_NOTNULL,
                "NOT NULL",
                ErrorKind::InvalidInput,
            ),
            (
                ffi::SQLITE_CONSTRAINT_CHECK,
                "CHECK",
                ErrorKind::InvalidInput,
            ),
            (
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY,
                "FK",
                ErrorKind::InvalidInput,
            ),
            (
                ffi::SQLITE_MISMATCH,
                "datatype mismatch",
                ErrorKind::InvalidInput,
            ),
            (ffi::SQLITE_ERROR, "no such table: t", ErrorKind::NotFound),
            (
                ffi::SQLITE_ERROR,
                "no such column: c",
                ErrorKind::InvalidInput,
            ),
            (
                ffi::SQLITE_ERROR,
                "near \"x\": syntax error",
                ErrorKind::InvalidInput,
            ),
            (ffi::SQLITE_BUSY, "database is locked", ErrorKind::Conflict),
            (
                ffi::SQLITE_BUSY_SNAPSHOT,
                "database is locked",
                ErrorKind::Conflict,
            ),
            (ffi::SQLITE_LOCKED, "table is locked", ErrorKind::Conflict),
            (
                ffi::SQLITE_IOERR_FSYNC,
                "disk I/O error",
                ErrorKind::Unavailable,
            ),
            (ffi::SQLITE_FULL, "disk full", ErrorKind::Unavailable),
            (
                ffi::SQLITE_NOTADB,
                "file is not a database",
                ErrorKind::InvalidInput,
            ),
            (ffi::SQLITE_CORRUPT, "malformed", ErrorKind::Internal),
        ] {
            assert_eq!(kind_of_error(&failure(code, message)), kind, "{message}");
        }
        assert!(map_sqlite(failure(ffi::SQLITE_BUSY, "busy"), "execute").is_retryable());
        let unique = map_sqlite(failure(ffi::SQLITE_CONSTRAINT_UNIQUE, "dup"), "execute");
        assert!(!unique.is_retryable());
        assert_eq!(unique.backend(), Some(BACKEND));
        assert_eq!(
            kind_of_error(&rusqlite::Error::InvalidParameterCount(1, 2)),
            ErrorKind::InvalidInput
        );
    }
}
