//! What SQLite's dynamic typing asks of code that writes rows and finds them again by key, so
//! that a SQLite backend and a sync tool agree on it: the type affinity a declared type gives
//! a column, and which numbers are stored as REAL where a column keeps whatever class it is
//! given (store-rusqlite writes them so; a lookup by such a key must bind a REAL to find the
//! row).

use crate::value::{Document, Number, Value};

/// The query that lists the databases holding a table named like `table` (optionally
/// `schema.table`), a row each (`schema`, `type`, `ncol`, `wr` for WITHOUT ROWID, `strict`),
/// with its parameter; [`sqlite_listed_table`] picks the row of the table SQLite means.
pub fn sqlite_table_list(table: &str) -> (&'static str, Value) {
    let name = table.split_once('.').map_or(table, |(_, name)| name);
    (
        "SELECT schema, wr, strict FROM pragma_table_list($1)",
        Value::from(name),
    )
}

/// The row of [`sqlite_table_list`]'s `listed` for `table` as SQLite resolves the name: the
/// schema it names, or unqualified, TEMP first, then main, then attached databases in order
/// (the order the pragma lists them but TEMP's). `None` when no database holds it.
pub fn sqlite_listed_table<'a>(listed: &'a [Document], table: &str) -> Option<&'a Document> {
    let in_schema = |row: &&Document, wanted: &str| {
        row.get("schema")
            .and_then(Value::as_str)
            .is_some_and(|schema| schema.eq_ignore_ascii_case(wanted))
    };
    match table.split_once('.') {
        Some((schema, _)) => listed.iter().find(|row| in_schema(row, schema)),
        None => listed
            .iter()
            .find(|row| in_schema(row, "temp"))
            .or_else(|| listed.first()),
    }
}

/// Whether flag `name` (`strict`, `wr`) of a [`sqlite_listed_table`] row is set.
pub fn sqlite_table_flag(row: &Document, name: &str) -> bool {
    row.get(name)
        .and_then(Value::as_number)
        .and_then(Number::to_i64)
        == Some(1)
}

/// The type affinity SQLite gives a column by its declared type (the rules of "Datatypes In
/// SQLite", §3.1, in their order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SqliteAffinity {
    /// The type holds `INT`.
    Integer,
    /// The type holds `CHAR`, `CLOB` or `TEXT`: numbers are stored as text.
    Text,
    /// No type, or one holding `BLOB`: values are stored in the class they are given.
    Blob,
    /// The type holds `REAL`, `FLOA` or `DOUB`.
    Real,
    /// Any other type (`NUMERIC`, `DECIMAL`, `BOOLEAN`, and `ANY` outside a STRICT table).
    Numeric,
}

/// The affinity of a column declared `declared` in an ordinary (not STRICT) table.
///
/// ```
/// use store_core::sql::{SqliteAffinity, sqlite_affinity};
/// assert_eq!(sqlite_affinity("VARCHAR(20)"), SqliteAffinity::Text);
/// assert_eq!(sqlite_affinity(""), SqliteAffinity::Blob);
/// assert_eq!(sqlite_affinity("FLOATING POINT"), SqliteAffinity::Integer);
/// ```
pub fn sqlite_affinity(declared: &str) -> SqliteAffinity {
    let declared = declared.to_ascii_uppercase();
    let has = |part: &str| declared.contains(part);
    if has("INT") {
        SqliteAffinity::Integer
    } else if has("CHAR") || has("CLOB") || has("TEXT") {
        SqliteAffinity::Text
    } else if has("BLOB") || declared.trim().is_empty() {
        SqliteAffinity::Blob
    } else if has("REAL") || has("FLOA") || has("DOUB") {
        SqliteAffinity::Real
    } else {
        SqliteAffinity::Numeric
    }
}

/// Whether a column declared `declared` keeps the storage class of what is written into it:
/// BLOB affinity, or `ANY` in a STRICT table (`strict`), where every other type is enforced.
pub fn sqlite_keeps_class(declared: &str, strict: bool) -> bool {
    if strict {
        declared.trim().eq_ignore_ascii_case("ANY")
    } else {
        sqlite_affinity(declared) == SqliteAffinity::Blob
    }
}

/// Whether `number` is stored as a REAL in a column that keeps classes: not an integer bound
/// as INTEGER (written without fraction digits, within `i64`), and the shortest decimal of
/// the `f64` nearest it, digit for digit (`1.5`, `0.1`, `1E+300`; not `1.50`, whose trailing
/// zero a REAL would lose, nor a 30-digit decimal), so the REAL reads back as `number`.
///
/// ```
/// use store_core::sql::sqlite_real_like;
/// let real_like = |text: &str| sqlite_real_like(&text.parse().unwrap());
/// assert!(real_like("1.5") && real_like("1E+300"));
/// assert!(!real_like("1.50") && !real_like("7") && !real_like("1E-400"));
/// ```
pub fn sqlite_real_like(number: &Number) -> bool {
    if number.exponent() >= 0 && number.to_i64().is_some() {
        return false;
    }
    let text = number.to_string();
    text.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(|f| Number::try_from(f).ok())
        .is_some_and(|nearest| nearest.to_string() == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinities_follow_sqlites_rules_in_order() {
        for (declared, affinity) in [
            ("INTEGER", SqliteAffinity::Integer),
            ("BIGINT", SqliteAffinity::Integer),
            ("CHARINT", SqliteAffinity::Integer),
            ("TEXT", SqliteAffinity::Text),
            ("DECIMAL_TEXT", SqliteAffinity::Text),
            ("NVARCHAR(10)", SqliteAffinity::Text),
            ("", SqliteAffinity::Blob),
            ("BLOB", SqliteAffinity::Blob),
            ("REAL", SqliteAffinity::Real),
            ("DOUBLE PRECISION", SqliteAffinity::Real),
            ("NUMERIC", SqliteAffinity::Numeric),
            ("DECIMAL(10,2)", SqliteAffinity::Numeric),
            ("ANY", SqliteAffinity::Numeric),
        ] {
            assert_eq!(sqlite_affinity(declared), affinity, "{declared}");
        }
        assert!(sqlite_keeps_class("", false) && sqlite_keeps_class("any", true));
        assert!(!sqlite_keeps_class("BLOB", true) && !sqlite_keeps_class("ANY", false));
    }

    #[test]
    fn real_like_numbers_are_the_shortest_decimals_of_doubles() {
        for real in [
            "1.5",
            "0.1",
            "1E+300",
            "-7.125",
            "0.30000000000000004",
            "1E+20",
        ] {
            assert!(sqlite_real_like(&real.parse().unwrap()), "{real}");
        }
        let big = "123456789012345678901234567890.5";
        for other in ["1", "1.50", big, "1E-400", "9223372036854775807"] {
            assert!(!sqlite_real_like(&other.parse().unwrap()), "{other}");
        }
    }
}
