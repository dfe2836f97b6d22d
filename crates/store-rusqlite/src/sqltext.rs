//! SQL text as SQLite's tokenizer sees it: PostgreSQL's `$1` placeholders turned into
//! SQLite's `?1`, and the leading keyword of each statement of a script.
//!
//! SQLite reads `$1` as a *named* parameter (numbered after every `?NNN`), so the same text
//! would bind differently than on PostgreSQL; `?1` is SQLite's positional form. Only code is
//! rewritten: string literals (`'…'`), quoted identifiers (`"…"`, `` `…` ``, `[…]`) and
//! comments (`-- …`, `/* … */`) are left exactly as written.

use std::borrow::Cow;
use std::ops::Range;

/// What a stretch of SQL text is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// Keywords, names, numbers, operators, placeholders.
    Code,
    /// A string literal or a quoted identifier, quotes included.
    Quoted,
    /// A comment.
    Comment,
}

/// Splits SQL text into code, quoted text and comments, as SQLite's tokenizer does. An
/// unterminated quote or comment runs to the end.
fn pieces(sql: &str) -> Vec<(Piece, Range<usize>)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut code_start) = (0, 0);
    while i < b.len() {
        let (piece, end) = match (b[i], b.get(i + 1)) {
            (q @ (b'\'' | b'"' | b'`'), _) => (Piece::Quoted, quoted_end(b, i, q)),
            (b'[', _) => (
                Piece::Quoted,
                find(b, i + 1, b"]").map_or(b.len(), |j| j + 1),
            ),
            (b'-', Some(b'-')) => (
                Piece::Comment,
                find(b, i + 2, b"\n").map_or(b.len(), |j| j + 1),
            ),
            (b'/', Some(b'*')) => (
                Piece::Comment,
                find(b, i + 2, b"*/").map_or(b.len(), |j| j + 2),
            ),
            _ => {
                i += 1;
                continue;
            }
        };
        if code_start < i {
            out.push((Piece::Code, code_start..i));
        }
        out.push((piece, i..end));
        i = end;
        code_start = end;
    }
    if code_start < b.len() {
        out.push((Piece::Code, code_start..b.len()));
    }
    out
}

/// The end of a quoted stretch opened by `quote` at `start`; a doubled quote is an escape.
fn quoted_end(b: &[u8], start: usize, quote: u8) -> usize {
    let mut j = start + 1;
    while j < b.len() {
        if b[j] == quote {
            if b.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return j + 1;
        }
        j += 1;
    }
    b.len()
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Whether SQLite counts `c` as part of an identifier.
fn ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// Rewrites PostgreSQL's `$1`, `$2`, … as SQLite's `?1`, `?2`, … in code (never inside
/// literals, quoted names or comments). `$` inside a name (`a$1`) or before a name (`$id`) is
/// left alone. Borrows the text when nothing changes.
pub(crate) fn translate_params(sql: &str) -> Cow<'_, str> {
    if !sql.contains('$') {
        return Cow::Borrowed(sql);
    }
    let b = sql.as_bytes();
    let mut out: Option<String> = None;
    let mut copied = 0;
    for (piece, range) in pieces(sql) {
        if piece != Piece::Code {
            continue;
        }
        let mut i = range.start;
        while i < range.end {
            let after_ident = i > range.start && ident_byte(b[i - 1]);
            if b[i] == b'$' && !after_ident {
                let digits_end = (i + 1..range.end)
                    .find(|&j| !b[j].is_ascii_digit())
                    .unwrap_or(range.end);
                let followed_by_name = digits_end < range.end && ident_byte(b[digits_end]);
                if digits_end > i + 1 && !followed_by_name {
                    let text = out.get_or_insert_with(|| String::with_capacity(sql.len()));
                    text.push_str(&sql[copied..i]);
                    text.push('?');
                    copied = i + 1;
                    i = digits_end;
                    continue;
                }
            }
            i += 1;
        }
    }
    match out {
        Some(mut text) => {
            text.push_str(&sql[copied..]);
            Cow::Owned(text)
        }
        None => Cow::Borrowed(sql),
    }
}

/// The first keyword of each statement of a script, upper-cased. Semicolons inside a
/// `CREATE TRIGGER … BEGIN … END` body do not end its statement.
pub(crate) fn leading_keywords(sql: &str) -> Vec<String> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let (mut trigger, mut body, mut body_ended, mut cases) = (false, false, false, 0usize);
    for (piece, range) in pieces(sql) {
        if piece != Piece::Code {
            continue;
        }
        let mut i = range.start;
        while i < range.end {
            let c = b[i];
            if c == b';' {
                if !trigger || body_ended {
                    words.clear();
                    (trigger, body, body_ended, cases) = (false, false, false, 0);
                }
                i += 1;
            } else if ident_byte(c) {
                let end = (i..range.end)
                    .find(|&j| !ident_byte(b[j]))
                    .unwrap_or(range.end);
                if !c.is_ascii_digit() {
                    let word = sql[i..end].to_ascii_uppercase();
                    if words.is_empty() {
                        out.push(word.clone());
                    }
                    if words.len() < 3 {
                        words.push(word.clone());
                        let w: Vec<&str> = words.iter().map(String::as_str).collect();
                        trigger |= matches!(
                            w.as_slice(),
                            ["CREATE", "TRIGGER"] | ["CREATE", "TEMP" | "TEMPORARY", "TRIGGER"]
                        );
                    }
                    if trigger {
                        match word.as_str() {
                            "BEGIN" if !body => body = true,
                            "CASE" => cases += 1,
                            "END" if cases > 0 => cases -= 1,
                            "END" if body => body_ended = true,
                            _ => {}
                        }
                    }
                }
                i = end;
            } else {
                i += 1;
            }
        }
    }
    out
}

/// Whether a script manages transactions itself or holds statements SQLite will not run
/// inside one (or would ignore there): `BEGIN`, `COMMIT`, `END`, `ROLLBACK`, `SAVEPOINT`,
/// `RELEASE`, `VACUUM`, `PRAGMA`, `ATTACH`, `DETACH`.
pub(crate) fn manages_transactions(sql: &str) -> bool {
    leading_keywords(sql).iter().any(|k| {
        matches!(
            k.as_str(),
            "BEGIN"
                | "COMMIT"
                | "END"
                | "ROLLBACK"
                | "SAVEPOINT"
                | "RELEASE"
                | "VACUUM"
                | "PRAGMA"
                | "ATTACH"
                | "DETACH"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_in_code_become_positional() {
        assert_eq!(
            translate_params("SELECT $1, $2 + $10 FROM t WHERE a = $3"),
            "SELECT ?1, ?2 + ?10 FROM t WHERE a = ?3"
        );
        assert_eq!(translate_params("VALUES($1,$2)"), "VALUES(?1,?2)");
        assert_eq!(translate_params("x=$1;y=$2"), "x=?1;y=?2");
        assert!(matches!(translate_params("SELECT 1"), Cow::Borrowed(_)));
    }

    #[test]
    fn literals_names_and_comments_are_left_alone() {
        for sql in [
            "SELECT '$1'",
            "SELECT 'it''s $1'",
            "SELECT \"col$1\"",
            "SELECT \"a\"\"$1\"",
            "SELECT `$1`",
            "SELECT [$1]",
            "SELECT 1 -- $1\n",
            "SELECT 1 /* $1 */",
            "SELECT 1 /* unterminated $1",
            "SELECT 'unterminated $1",
        ] {
            assert_eq!(translate_params(sql), sql, "{sql}");
        }
        assert_eq!(
            translate_params("SELECT '$1', $1 -- $2\n, $2 /* $3 */ , \"$4\", $3"),
            "SELECT '$1', ?1 -- $2\n, ?2 /* $3 */ , \"$4\", ?3"
        );
        assert_eq!(
            translate_params("SELECT x'00', $1"),
            "SELECT x'00', ?1",
            "a blob literal"
        );
    }

    #[test]
    fn dollars_that_are_no_placeholders_stay() {
        for sql in [
            "SELECT a$1 FROM t",
            "SELECT $name",
            "SELECT $1abc",
            "SELECT $",
            "SELECT $$ x $$",
            "SELECT é$1",
        ] {
            assert_eq!(translate_params(sql), sql, "{sql}");
        }
        assert_eq!(translate_params("SELECT ($1)"), "SELECT (?1)");
        assert_eq!(translate_params("'a'$1"), "'a'?1", "after a literal");
        assert_eq!(translate_params("SELECT 'é', $1"), "SELECT 'é', ?1");
    }

    #[test]
    fn leading_keywords_of_a_script() {
        assert_eq!(
            leading_keywords("create table t(a); insert into t values (1);\n select 'x;y' ; "),
            ["CREATE", "INSERT", "SELECT"]
        );
        assert_eq!(
            leading_keywords("-- begin\n/* commit; */ INSERT INTO t VALUES ('; BEGIN')"),
            ["INSERT"]
        );
        let trigger = "CREATE TRIGGER tr AFTER INSERT ON t BEGIN \
                       UPDATE t SET a = CASE WHEN a > 0 THEN 1 ELSE 0 END; \
                       INSERT INTO log VALUES (1); END; DELETE FROM t";
        assert_eq!(leading_keywords(trigger), ["CREATE", "DELETE"]);
        let temp = "CREATE TEMP TRIGGER tr AFTER INSERT ON t BEGIN SELECT 1; END; PRAGMA x";
        assert_eq!(leading_keywords(temp), ["CREATE", "PRAGMA"]);
        assert!(manages_transactions(temp));
        assert!(manages_transactions(
            "BEGIN; INSERT INTO t VALUES (1); COMMIT"
        ));
        assert!(manages_transactions("insert into t values (1); vacuum"));
        assert!(!manages_transactions(trigger));
        assert!(!manages_transactions(
            "INSERT INTO t VALUES ('BEGIN'); -- COMMIT"
        ));
        assert!(leading_keywords("").is_empty());
    }

    #[test]
    fn arbitrary_text_never_panics_and_translation_is_stable() {
        let alphabet: Vec<char> = "$?1209aZ_ ;'\"`[]-/*\n\té🎉\0.:@(),BEGINENDCASETRIGGER"
            .chars()
            .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..20_000 {
            let len = (state % 40) as usize;
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[(state % alphabet.len() as u64) as usize]
                })
                .collect();
            let once = translate_params(&text).into_owned();
            assert_eq!(translate_params(&once), once, "stable for {text:?}");
            assert_eq!(
                once.len(),
                text.len(),
                "`$` becomes `?` one for one: {text:?}"
            );
            let _ = leading_keywords(&text);
        }
    }
}
