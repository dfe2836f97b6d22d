//! The declared type of a column, checked before it is pasted into a `CREATE TABLE`: it comes
//! from a schema file, which anyone who can write an archive can edit, and SQL has no way to
//! bind a type as a parameter.
//!
//! A type is what catalogs print for a column and nothing more: words (`double precision`,
//! `timestamp with time zone`, `unsigned big int`), dotted or double-quoted names
//! (`public.mood`, `"Mood"`), number lists in parentheses (`numeric(38, 0)`, `varchar(20)`,
//! `timestamp(3)`) and array brackets (`text[]`, `int[3]`). Anything else (a `;`, a quote, a
//! comment, an expression in parentheses, a constraint keyword such as `CHECK` or `DEFAULT`
//! that would add behaviour to the column) is refused.

use store_core::{Result, StoreError};

/// Words that start a column constraint or clause rather than name a type.
const CLAUSE_WORDS: &[&str] = &[
    "AS",
    "CHECK",
    "COLLATE",
    "CONSTRAINT",
    "DEFAULT",
    "GENERATED",
    "NOT",
    "NULL",
    "ON",
    "PRIMARY",
    "REFERENCES",
    "UNIQUE",
];

/// Refuses `sql_type`, the declared type of `column` of `table`, unless it is only a type.
pub(crate) fn check_column_type(table: &str, column: &str, sql_type: &str) -> Result<()> {
    match first_fault(sql_type) {
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
    let mut rest = sql_type.trim_start();
    while let Some(c) = rest.chars().next() {
        let taken = match c {
            '"' => match rest[1..].find('"') {
                Some(end) => end + 2,
                None => return Some("an unclosed quoted name".into()),
            },
            '(' => match rest.find(')') {
                Some(end) if rest[1..end].chars().all(is_number_list_char) => end + 1,
                _ => return Some("parentheses may only hold numbers".into()),
            },
            '[' => match rest.find(']') {
                Some(end) if rest[1..end].chars().all(|c| c.is_ascii_digit()) => end + 1,
                _ => return Some("brackets may only hold a number".into()),
            },
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = rest
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
                    .unwrap_or(rest.len());
                let word = &rest[..end];
                if CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                    return Some(format!("`{word}` starts a constraint, not a type"));
                }
                end
            }
            '.' | ',' => 1,
            c if c.is_whitespace() => c.len_utf8(),
            c => return Some(format!("`{c}` has no place in a type")),
        };
        rest = &rest[taken..];
    }
    None
}

fn is_number_list_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, ',' | ' ' | '-' | '+')
}

#[cfg(test)]
mod tests {
    use super::first_fault;

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
            "int GENERATED ALWAYS AS (1) STORED",
            "TEXT NOT NULL",
            "numeric(randomblob(9))",
            "text[1); DROP TABLE x; --]",
            "\"unclosed",
            "TEXT 'x'",
            "TEXT;",
        ] {
            assert!(first_fault(crafted).is_some(), "{crafted}");
        }
    }
}
