//! The declared type of a column, checked before it is pasted into a `CREATE TABLE`: it comes
//! from a schema file, which anyone who can write an archive can edit, and SQL has no way to
//! bind a type as a parameter.
//!
//! A type is what catalogs print for a column and nothing more: words (`double precision`,
//! `timestamp with time zone`, `unsigned big int`), dotted or double-quoted names
//! (`public.mood`, `"Mood"`), lists of numbers and names in parentheses (`numeric(38, 0)`,
//! `varchar(20)`, `timestamp(3)`, `geometry(Point, 4326)`) and array brackets (`text[]`,
//! `int[3]`). Anything else (a `;`, a quote, a comment, a line break, a comma outside parentheses, an expression in parentheses, a
//! constraint keyword such as `CHECK` or `DEFAULT` that would add behaviour to the column) is
//! refused.

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
    if sql_type.contains("--") || sql_type.contains("/*") {
        return Some("it holds a comment".into());
    }
    let mut rest = sql_type.trim_start_matches(' ');
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
            c if c.is_ascii_alphabetic() || c == '_' => {
                let end = word_end(rest);
                let word = &rest[..end];
                if CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(word)) {
                    return Some(format!("`{word}` starts a clause, not a type"));
                }
                end
            }
            '.' | ' ' => 1,
            c => return Some(format!("`{}` has no place in a type", c.escape_default())),
        };
        rest = &rest[taken..];
    }
    None
}

/// The length of the name `text` starts with.
fn word_end(text: &str) -> usize {
    text.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(text.len())
}

/// A type's modifiers, as in `numeric(38, 0)` or `geometry(Point, 4326)`: names and numbers
/// (signed, with a fraction), separated by commas.
fn is_modifier_list(list: &str) -> bool {
    list.split(',').all(|item| {
        let item = item.trim_matches(' ');
        let unsigned = item.strip_prefix(['+', '-']).unwrap_or(item);
        let number = !unsigned.is_empty()
            && unsigned.chars().all(|c| c.is_ascii_digit() || c == '.')
            && unsigned.chars().any(|c| c.is_ascii_digit());
        let name = item.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && word_end(item) == item.len()
            && !CLAUSE_WORDS.iter().any(|w| w.eq_ignore_ascii_case(item));
        number || name
    })
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
            "geometry(Point,4326)",
            "geography(PointZ, 4326)",
            "NUMERIC(10.5)",
            "timestamp without time zone",
            "\"char\"",
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
        ] {
            assert!(first_fault(crafted).is_some(), "{crafted}");
        }
    }
}
