//! The declared type of a column, checked before it is pasted into a `CREATE TABLE`: it comes
//! from a schema file, which anyone who can write an archive can edit, and SQL has no way to
//! bind a type as a parameter.
//!
//! A type is what catalogs print for a column and nothing more: words (`double precision`,
//! `timestamp with time zone`, `unsigned big int`), dotted or double-quoted names
//! (`public.mood`, `"Mood"`), lists of numbers and names in parentheses (`numeric(38, 0)`,
//! `varchar(20)`, `timestamp(3)`, `geometry(Point, 4326)`) and array brackets (`text[]`,
//! `int[3]`). Words may hold letters of any script (SQLite and PostgreSQL read every
//! non-ASCII character as part of a name), blanks between tokens may be tabs or line breaks
//! (SQLite keeps a type as it was written), and numbers may be written as SQLite reads them
//! (`1e2`, `0x10`). Anything else (a `;`, a quote, a comment, a comma outside parentheses, an
//! expression in parentheses, a constraint keyword such as `CHECK` or `DEFAULT` that would
//! add behaviour to the column, and on PostgreSQL `serial` and its kin, which add a sequence
//! and a default) is refused.

use store_core::{Result, StoreError};

/// Words that start a column constraint or clause rather than name a type.
const CLAUSE_WORDS: &[&str] = &[
    "AS",
    "CHECK",
    "COLLATE",
    "COMPRESSION",
    "CONSTRAINT",
    "DEFAULT",
    "GENERATED",
    "NOT",
    "NULL",
    "ON",
    "PRIMARY",
    "REFERENCES",
    "STORAGE",
    "UNIQUE",
];

/// PostgreSQL's shorthands that create a sequence and a default besides naming a type.
const SERIAL_WORDS: &[&str] = &[
    "serial",
    "serial2",
    "serial4",
    "serial8",
    "smallserial",
    "bigserial",
];

/// Refuses `sql_type`, the declared type of `column` of `table` in `dialect`, unless it is
/// only a type.
pub(crate) fn check_column_type(
    dialect: &str,
    table: &str,
    column: &str,
    sql_type: &str,
) -> Result<()> {
    let fault = first_fault(sql_type).or_else(|| match dialect {
        "postgres" => serial_fault(sql_type),
        _ => None,
    });
    match fault {
        None => Ok(()),
        Some(fault) => Err(StoreError::invalid_input(format!(
            "column `{column}` of table `{table}` has the declared type {sql_type:?}, which is \
             not a plain SQL type ({fault}); the schema file was edited or damaged: fix its \
             type, or create the table yourself and restore with --data-only"
        ))),
    }
}

/// What is wrong with `sql_type` as a plain type, if anything.
fn first_fault(sql_type: &str) -> Option<String> {
    if sql_type.contains("--") || sql_type.contains("/*") {
        return Some("it holds a comment".into());
    }
    let mut rest = sql_type.trim_start_matches(is_blank);
    while let Some(c) = rest.chars().next() {
        let taken = match c {
            '"' => match rest[1..].find(['"', '\n', '\r']) {
                Some(end) if rest.as_bytes()[end + 1] == b'"' => end + 2,
                _ => return Some("an unclosed quoted name".into()),
            },
            '(' => match rest.find(')') {
                Some(end) if is_modifier_list(&rest[1..end]) => end + 1,
                _ => return Some("parentheses may only hold numbers and names".into()),
            },
            '[' => match rest.find(']') {
                Some(end) if rest[1..end].chars().all(|c| c.is_ascii_digit()) => end + 1,
                _ => return Some("brackets may only hold a number".into()),
            },
            c if starts_word(c) => {
                let end = word_end(rest);
                let word = &rest[..end];
                if CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                    return Some(format!("`{word}` starts a clause, not a type"));
                }
                end
            }
            '.' => 1,
            c if is_blank(c) => c.len_utf8(),
            c => return Some(format!("`{}` has no place in a type", c.escape_default())),
        };
        rest = &rest[taken..];
    }
    None
}

/// The blanks a type may hold between its tokens.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// Whether `c` starts a name: an ASCII letter, `_`, or any non-ASCII character (both
/// dialects read those as part of a name).
fn starts_word(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || !c.is_ascii()
}

/// The length of the name `text` starts with.
fn word_end(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$' || !c.is_ascii()))
        .unwrap_or(text.len())
}

/// Whether `item` is a number as SQLite reads one in a type (PostgreSQL's catalog prints
/// plain integers): digits with a fraction and an exponent, or hexadecimal.
fn is_number(item: &str) -> bool {
    let unsigned = item.strip_prefix(['+', '-']).unwrap_or(item);
    if let Some(hex) = unsigned
        .strip_prefix("0x")
        .or_else(|| unsigned.strip_prefix("0X"))
    {
        return !hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    }
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let mantissa_ok = mantissa.chars().all(|c| c.is_ascii_digit() || c == '.')
        && mantissa.chars().filter(|&c| c == '.').count() <= 1
        && mantissa.chars().any(|c| c.is_ascii_digit());
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
        !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// On PostgreSQL: a `serial` shorthand, which is no type but a sequence and a default.
fn serial_fault(sql_type: &str) -> Option<String> {
    let mut rest = sql_type;
    while let Some(at) = rest.find(starts_word) {
        let end = at + word_end(&rest[at..]);
        let word = &rest[at..end];
        if SERIAL_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
            return Some(format!(
                "`{word}` adds a sequence and a default; the catalog says `integer` and the \
                 default apart"
            ));
        }
        rest = &rest[end.max(at + 1)..];
    }
    None
}

/// A type's modifiers, as in `numeric(38, 0)` or `geometry(Point, 4326)`: names and numbers
/// (see [`is_number`]), separated by commas.
fn is_modifier_list(list: &str) -> bool {
    list.split(',').all(|item| {
        let item = item.trim_matches(is_blank);
        let name = item.starts_with(starts_word)
            && word_end(item) == item.len()
            && !CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(item));
        is_number(item) || name
    })
}

#[cfg(test)]
mod tests {
    use super::{check_column_type, first_fault};

    #[test]
    fn the_types_catalogs_print_pass() {
        for plain in [
            "",
            "TEXT",
            "DECIMAL_TEXT",
            "numeric(38,0)",
            "NUMERIC(10, 5)",
            "character varying(20)",
            "timestamp(3) with time zone",
            "double precision",
            "text[]",
            "integer[3][]",
            "unsigned big int",
            "public.mood",
            "\"Mood\"",
            "\"my schema\".\"Mood\"[]",
            "interval day to second(3)",
            "bit varying(5)",
            "geometry(Point,4326)",
            "geography(PointZ, 4326)",
            "NUMERIC(10.5)",
            "timestamp without time zone",
            "\"char\"",
            "UNSIGNED\tBIG INT",
            "double\n precision",
            "DECIMAL(10,\r\n 2)",
            "VARCHAR(0x10)",
            "DECIMAL(1e2, -1E-1)",
            "文字列",
            "Zeichenkette(20)",
        ] {
            assert_eq!(first_fault(plain), None, "{plain}");
        }
    }

    #[test]
    fn anything_more_than_a_type_is_refused() {
        for crafted in [
            "TEXT); DROP TABLE victim; --",
            "TEXT) , x TEXT",
            "TEXT -- comment",
            "TEXT /* c */",
            "TEXT DEFAULT 1",
            "TEXT CHECK (1)",
            "int REFERENCES victim",
            "TEXT COLLATE nocase",
            "text COMPRESSION lz4",
            "int4 STORAGE EXTERNAL",
            "int GENERATED ALWAYS AS (1) STORED",
            "TEXT NOT NULL",
            "numeric(randomblob(9))",
            "text[1); DROP TABLE x; --]",
            "\"unclosed",
            "TEXT 'x'",
            "TEXT;",
            "numeric(1--)\"\n)); DROP TABLE victim; --\"",
            "numeric(1)\n); DROP TABLE victim",
            "\"a\nb\"",
            "TEXT, \"x\" TEXT",
            "TEXT, LIKE other INCLUDING ALL",
            "numeric(1, (2))",
            "numeric(1 2)",
            "numeric()",
            "numeric(default)",
            "numeric(1e)",
            "numeric(0x)",
            "numeric(1.2.3)",
            "numeric(0xg1)",
            "numeric(1\n)--",
        ] {
            assert!(first_fault(crafted).is_some(), "{crafted}");
        }
    }

    #[test]
    fn serial_is_refused_on_postgres_only() {
        for serial in ["serial", "BIGSERIAL", "public.serial4", "smallserial[]"] {
            assert!(
                check_column_type("postgres", "t", "c", serial).is_err(),
                "{serial}"
            );
            assert!(
                check_column_type("sqlite", "t", "c", serial).is_ok(),
                "{serial}"
            );
        }
        assert!(check_column_type("postgres", "t", "c", "serialized_thing").is_ok());
    }
}
