//! A key as the text output shows it: one key, one line, and nothing a terminal would obey.

use std::borrow::Cow;

/// `key` as it is, or quoted with Rust's escapes (`"a\nb"`, `"\u{1b}[2J"`) when shown as it
/// is it would mislead: it holds a control character (a line break, a terminal escape) or
/// one that is invisible or reorders text (zero-width characters, bidirectional controls),
/// it is empty or starts or ends with a blank, it starts with a quote (so a quoted key is
/// always an escaped one), or it holds `", "`, which separates keys in a list. JSON output
/// carries keys exactly and needs none of this.
pub(crate) fn shown_key(key: &str) -> Cow<'_, str> {
    let misleads = key.is_empty()
        || key.starts_with('"')
        || key.starts_with(char::is_whitespace)
        || key.ends_with(char::is_whitespace)
        || key.contains(", ")
        || key.chars().any(hides_or_steers);
    if misleads {
        Cow::Owned(format!("{key:?}"))
    } else {
        Cow::Borrowed(key)
    }
}

/// The most characters of a key [`shown_in_list`] shows.
const SHOWN_CHARS: usize = 120;

/// [`shown_key`], but a key of more than [`SHOWN_CHARS`] characters by its start and its size
/// (`k-aaa… (5000 bytes)`), so that a line listing several (the keys `check` found
/// different) stays readable; `ls` and JSON output show keys whole.
pub(crate) fn shown_in_list(key: &str) -> Cow<'_, str> {
    match key.char_indices().nth(SHOWN_CHARS) {
        Some((cut, _)) => {
            let start = key[..cut].trim_end();
            Cow::Owned(format!("{}… ({} bytes)", shown_key(start), key.len()))
        }
        None => shown_key(key),
    }
}

/// A character a terminal obeys or that hides or reorders the text around it.
fn hides_or_steers(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{2069}' | '\u{feff}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_keys_are_shown_by_their_start_and_size() {
        let long = format!("k-{}", "é".repeat(3000));
        assert_eq!(shown_key(&long), long, "shown whole outside a list");
        let shown = shown_in_list(&long);
        assert!(shown.starts_with("k-éé"), "{shown}");
        assert!(
            shown.ends_with(&format!("… ({} bytes)", long.len())),
            "{shown}"
        );
        assert!(shown.chars().count() < 150, "{shown}");
        // Its start is shown by the same rules: quoted when it would mislead.
        let escape = format!("{}{}", '\u{1b}', "x".repeat(300));
        let shown = shown_in_list(&escape);
        assert!(shown.starts_with("\"\\u{1b}x"), "{shown}");
        let exactly = "y".repeat(SHOWN_CHARS);
        assert_eq!(shown_in_list(&exactly), exactly);
    }

    #[test]
    fn plain_keys_are_shown_as_they_are() {
        for key in [
            "k-00001-é",
            "a/b c.txt",
            "1700000000.25",
            "it's",
            "back\\slash",
            "日本",
            "हिन्दी",
            "❤️",
            "say \"hi\"",
        ] {
            assert_eq!(shown_key(key), key);
        }
    }

    #[test]
    fn keys_that_would_mislead_are_quoted_and_escaped() {
        for (key, shown) in [
            ("a\nb", r#""a\nb""#),
            ("\u{1b}[2J", r#""\u{1b}[2J""#),
            ("tab\there", r#""tab\there""#),
            ("", r#""""#),
            (" lead", r#"" lead""#),
            ("trail ", r#""trail ""#),
            ("\"quoted\"", r#""\"quoted\"""#),
            ("a, b", r#""a, b""#),
            ("zero\u{200b}width", r#""zero\u{200b}width""#),
            ("\u{202e}txt.exe", r#""\u{202e}txt.exe""#),
        ] {
            assert_eq!(shown_key(key), shown, "{key:?}");
        }
    }
}
