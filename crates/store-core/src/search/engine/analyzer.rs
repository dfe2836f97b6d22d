//! The analyzer of text fields: a simplified Unicode word segmentation plus lowercasing.
//!
//! It approximates OpenSearch's `standard` analyzer (UAX #29 word boundaries, lowercase):
//! a token is a run of alphanumeric characters and `_`; `.`, `'`, `’` and `:` join two letters
//! (`example.com`, `don't`), and `.`, `,`, `;` and `'` join two digits (`3.14`, `1,000`), as the
//! MidLetter/MidNum rules of UAX #29 do. Anything else separates tokens. Tokens longer than 255
//! characters are split, as `max_token_length` does. Unlike the standard analyzer, ideographs are
//! not split into one token per character.

/// Positions skipped between the values of a multi-valued text field, so a phrase never spans two
/// values (OpenSearch's `position_increment_gap`).
pub const POSITION_GAP: u32 = 100;

/// The longest token; longer runs are split (the standard tokenizer's `max_token_length`).
const MAX_TOKEN_CHARS: usize = 255;

/// Splits `text` into lowercase tokens, in order.
pub fn analyze(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens = Vec::new();
    let mut current: Vec<char> = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if is_word_char(c) {
            current.push(c);
        } else if let (Some(&prev), Some(&next)) = (current.last(), chars.get(i + 1))
            && joins(prev, c, next)
        {
            current.push(c);
        } else {
            flush(&mut current, &mut tokens);
        }
        i += 1;
    }
    flush(&mut current, &mut tokens);
    tokens
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Whether `mid` joins `prev` and `next` into one word (UAX #29 rules WB6/7 and WB11/12).
fn joins(prev: char, mid: char, next: char) -> bool {
    let letters = prev.is_alphabetic() && next.is_alphabetic();
    let digits = prev.is_numeric() && next.is_numeric();
    (letters && matches!(mid, '.' | '\'' | '\u{2019}' | ':'))
        || (digits && matches!(mid, '.' | ',' | ';' | '\''))
}

fn flush(current: &mut Vec<char>, tokens: &mut Vec<String>) {
    for chunk in current.chunks(MAX_TOKEN_CHARS) {
        let token: String = chunk.iter().collect();
        tokens.push(token.to_lowercase());
    }
    current.clear();
}

#[cfg(test)]
mod tests {
    use super::analyze;

    #[test]
    fn splits_on_punctuation_and_lowercases() {
        assert_eq!(analyze("Hello, WORLD!"), ["hello", "world"]);
        assert_eq!(analyze("  a--b  c\td\n"), ["a", "b", "c", "d"]);
        assert!(analyze("").is_empty());
        assert!(analyze(" ,.!? ").is_empty());
    }

    #[test]
    fn keeps_word_internal_punctuation_like_uax29() {
        assert_eq!(analyze("don't stop"), ["don't", "stop"]);
        assert_eq!(analyze("see example.com."), ["see", "example.com"]);
        assert_eq!(
            analyze("pi is 3.14, 1,000 times"),
            ["pi", "is", "3.14", "1,000", "times"]
        );
        assert_eq!(analyze("rust_lang v1.2"), ["rust_lang", "v1.2"]);
        assert_eq!(analyze("U.S.A."), ["u.s.a"]);
        assert_eq!(analyze("a. b"), ["a", "b"]);
    }

    #[test]
    fn handles_unicode_letters() {
        assert_eq!(
            analyze("Ünïcödé Straße ÉCOLE"),
            ["ünïcödé", "straße", "école"]
        );
        assert_eq!(analyze("número 42"), ["número", "42"]);
    }

    #[test]
    fn splits_overlong_tokens() {
        let long = "a".repeat(300);
        let tokens = analyze(&long);
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0].len(), 255);
        assert_eq!(tokens[1].len(), 45);
    }
}
