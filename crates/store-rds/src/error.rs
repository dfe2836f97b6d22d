//! PostgreSQL and pool errors mapped to [`StoreError`] kinds by SQLSTATE.

use deadpool_postgres::{PoolError, Status};
use store_core::{ErrorKind, StoreError};
use tokio_postgres::error::{DbError, SqlState};

/// The backend name errors and spans carry.
pub(crate) const BACKEND: &str = "postgres";

/// The [`ErrorKind`] of a SQLSTATE code.
///
/// | SQLSTATE | kind |
/// |---|---|
/// | `23505` unique violation | `AlreadyExists` |
/// | other class `23` (not null, foreign key, check, exclusion) | `InvalidInput` |
/// | class `22` data exceptions, class `42` syntax and access rules | `InvalidInput` |
/// | `42P01` undefined table, `3D000` unknown database | `NotFound` |
/// | `42501` insufficient privilege, class `28` | `Unauthorized` |
/// | `40001` serialization failure, `40P01` deadlock, `55P03` lock not available | `Conflict` |
/// | class `08`, `57P01`–`57P05`, class `53` | `Unavailable` |
/// | `57014` query canceled (statement timeout) | `Unavailable` |
/// | `0A000` feature not supported | `Unsupported` |
pub fn kind_of_sqlstate(code: &str) -> ErrorKind {
    match code {
        "23505" => ErrorKind::AlreadyExists,
        "42P01" | "3D000" | "42704" => ErrorKind::NotFound,
        "42501" => ErrorKind::Unauthorized,
        "40001" | "40P01" | "55P03" => ErrorKind::Conflict,
        "57014" | "57P01" | "57P02" | "57P03" | "57P04" | "57P05" => ErrorKind::Unavailable,
        "0A000" => ErrorKind::Unsupported,
        c if c.starts_with("08") || c.starts_with("53") => ErrorKind::Unavailable,
        c if c.starts_with("28") => ErrorKind::Unauthorized,
        c if c.starts_with("23") || c.starts_with("22") || c.starts_with("42") => {
            ErrorKind::InvalidInput
        }
        c if c.starts_with("2") || c.starts_with("3") || c.starts_with("4") => {
            ErrorKind::InvalidInput
        }
        _ => ErrorKind::Internal,
    }
}

fn db_message(db: &DbError) -> String {
    let code = db.code().code();
    let mut message = format!("{} (SQLSTATE {code})", db.message());
    if let Some(constraint) = db.constraint() {
        message.push_str(&format!(", constraint `{constraint}`"));
    } else if *db.code() == SqlState::NOT_NULL_VIOLATION
        && let Some(column) = db.column()
    {
        message.push_str(&format!(", column `{column}`"));
    }
    if let Some(detail) = db.detail() {
        message.push_str(&format!(": {detail}"));
    }
    message
}

/// The reason a TLS handshake refused the server's certificate, if that is what `e` is (the
/// driver's message leaves the reason to its source).
fn refused_certificate(e: &tokio_postgres::Error) -> Option<String> {
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let text = cause.to_string();
        if text.contains("invalid peer certificate") {
            return Some(text);
        }
        source = cause.source();
    }
    None
}

/// Maps a driver error, naming the operation and what it worked on.
pub(crate) fn map_pg(e: tokio_postgres::Error, operation: &'static str) -> StoreError {
    let err = if let Some(db) = e.as_db_error() {
        let code = db.code().code();
        StoreError::new(kind_of_sqlstate(code), db_message(db)).with_status_code(code.to_owned())
    } else if let Some(inner) =
        std::error::Error::source(&e).and_then(|s| s.downcast_ref::<StoreError>())
    {
        // A parameter our encoder refused: its kind and message are already right.
        StoreError::new(inner.kind(), inner.message().to_owned())
    } else if e.is_closed() {
        StoreError::unavailable("the connection to PostgreSQL was closed")
    } else if let Some(refused) = refused_certificate(&e) {
        // Trying again meets the same certificate.
        StoreError::unauthorized(format!(
            "the server's TLS certificate was refused: {refused} (see sslmode and sslrootcert)"
        ))
    } else {
        let mut text = e.to_string();
        if text.starts_with("error encoding message") {
            // The statement could not even be written: the protocol's strings end at NUL.
            text = format!(
                "{text}: statement text and identifiers cannot hold a NUL character ({})",
                std::error::Error::source(&e).map_or_else(String::new, |s| s.to_string())
            );
        }
        let kind = if (text.starts_with("expected ") && text.contains("parameters"))
            || text.starts_with("error serializing")
            || text.starts_with("error encoding message")
        {
            ErrorKind::InvalidInput
        } else if text.starts_with("authentication") {
            ErrorKind::Unauthorized
        } else if text.starts_with("error communicating")
            || text.starts_with("error connecting")
            || text.starts_with("timeout")
            || text.starts_with("error performing TLS")
        {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Internal
        };
        StoreError::new(kind, text)
    };
    err.with_source(e).in_context(BACKEND, operation)
}

/// Maps an error getting a connection from the pool; a timeout names the pool's state.
pub(crate) fn map_pool(e: PoolError, status: Status, operation: &'static str) -> StoreError {
    let state = format!(
        "pool: {} of at most {} connections open, {} idle, {} callers waiting",
        status.size, status.max_size, status.available, status.waiting
    );
    let err = match e {
        PoolError::Timeout(which) => StoreError::unavailable(format!(
            "timed out {} a pooled connection ({state})",
            match which {
                deadpool_postgres::TimeoutType::Wait => "waiting for",
                deadpool_postgres::TimeoutType::Create => "creating",
                deadpool_postgres::TimeoutType::Recycle => "recycling",
            }
        ))
        .with_source(e),
        PoolError::Backend(pg) => {
            // The driver's "error connecting to server" leaves why to its source (the
            // refused connection, the unknown host): the message says it.
            let why = std::error::Error::source(&pg)
                .filter(|_| pg.as_db_error().is_none())
                .map(|cause| cause.to_string());
            let mapped = map_pg(pg, operation);
            let kind = match mapped.kind() {
                // Failing to connect at all is unavailability, whatever the driver says.
                ErrorKind::Internal => ErrorKind::Unavailable,
                k => k,
            };
            let mut what = mapped.message().to_owned();
            if let Some(why) = why.filter(|why| !what.contains(why.as_str())) {
                what = format!("{what}: {why}");
            }
            let err = StoreError::new(kind, format!("connecting: {what} ({state})"));
            let err = match mapped.status_code() {
                Some(code) => err.with_status_code(code.to_owned()),
                None => err,
            };
            err.with_source(mapped)
        }
        PoolError::Closed => StoreError::unavailable("the pool is closed"),
        other => StoreError::internal(format!("pool error: {other} ({state})")).with_source(other),
    };
    err.in_context(BACKEND, operation)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlstates_map_as_documented() {
        for (code, kind) in [
            ("23505", ErrorKind::AlreadyExists),
            ("23502", ErrorKind::InvalidInput),
            ("23503", ErrorKind::InvalidInput),
            ("23514", ErrorKind::InvalidInput),
            ("22003", ErrorKind::InvalidInput),
            ("42601", ErrorKind::InvalidInput),
            ("42P01", ErrorKind::NotFound),
            ("40001", ErrorKind::Conflict),
            ("40P01", ErrorKind::Conflict),
            ("08006", ErrorKind::Unavailable),
            ("57P01", ErrorKind::Unavailable),
            ("28P01", ErrorKind::Unauthorized),
            ("28000", ErrorKind::Unauthorized),
            ("XX000", ErrorKind::Internal),
        ] {
            assert_eq!(kind_of_sqlstate(code), kind, "{code}");
        }
        assert!(kind_of_sqlstate("40001").is_retryable());
        assert!(kind_of_sqlstate("57P01").is_retryable());
        assert!(!kind_of_sqlstate("23514").is_retryable());
    }
}
