//! The analyzer of text fields: a simplified Unicode word segmentation plus lowercasing.
//!
//! It approximates OpenSearch's `standard` analyzer (UAX #29 word boundaries, lowercase):
//! a token is a run of alphanumeric characters and `_`; `.`, `'`, `’` and `:` join two letters
//! (`example.com`, `don't`), and `.`, `,`, `;` and `'` join two digits (`3.14`, `1,000`), as the
//! MidLetter/MidNum rules of UAX #29 do. Anything else separates tokens. Tokens longer than 255
//! characters are split, as `max_token_length` does. Unlike the standard analyzer, ideographs are
//! not split into one token per character.

use std::ops::Range;

/// Positions skipped between the values of a multi-valued text field, so a phrase never spans two
/// values (OpenSearch's `position_increment_gap`).
pub const POSITION_GAP: u32 = 100;

/// The longest token; longer runs are split (the standard tokenizer's `max_token_length`).
const MAX_TOKEN_CHARS: usize = 255;

/// Splits `text` into lowercase tokens, in order.
pub fn analyze(text: &str) -> Vec<String> {
    let mut spans = Vec::new();
    word_spans(text, &mut spans);
    spans
        .into_iter()
        .map(|span| {
            let mut token = String::with_capacity(span.len());
            push_lowercase(&mut token, &text[span]);
            token
        })
        .collect()
}

/// Replaces `spans` with the byte ranges of `text`'s tokens, in order, before lowercasing
/// (what [`analyze`] returns is each range lowercased). For backends that analyze on their
/// own indexing threads without a `String` per token.
pub fn word_spans(text: &str, spans: &mut Vec<Range<usize>>) {
    spans.clear();
    if text.is_ascii() {
        ascii_word_spans(text, spans);
    } else {
        unicode_word_spans(text, spans);
    }
}

/// [`word_spans`] of ASCII text.
fn ascii_word_spans(text: &str, spans: &mut Vec<Range<usize>>) {
    spans.extend(AsciiWords::new(text));
}

/// The token spans of ASCII text one at a time, as [`word_spans`] gives them, for a tokenizer
/// that finds each token when it is asked for it; `None` if `text` is not ASCII.
pub fn ascii_words(text: &str) -> Option<AsciiWords<'_>> {
    text.is_ascii().then(|| AsciiWords::new(text))
}

/// The iterator of [`ascii_words`]: runs of word bytes, joined across one `.`, `'` or `:`
/// between letters, or one `.`, `,`, `;` or `'` between digits, and split every
/// 255 bytes (the longest token).
#[derive(Debug, Clone)]
pub struct AsciiWords<'a> {
    bytes: &'a [u8],
    /// Where the next token, or the search for it, starts.
    at: usize,
    /// The end of the current run: past `at` while a long run is being split.
    run_end: usize,
}

impl<'a> AsciiWords<'a> {
    /// The words of `text`, which is ASCII.
    fn new(text: &'a str) -> Self {
        Self {
            bytes: text.as_bytes(),
            at: 0,
            run_end: 0,
        }
    }
}

/// Which bytes are word bytes of ASCII text: letters, digits and `_`.
const WORD_BYTES: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let byte = b as u8;
        table[b] = byte.is_ascii_alphanumeric() || byte == b'_';
        b += 1;
    }
    table
};

impl Iterator for AsciiWords<'_> {
    type Item = Range<usize>;

    fn next(&mut self) -> Option<Range<usize>> {
        let bytes = self.bytes;
        let word = |b: u8| WORD_BYTES[usize::from(b)];
        let joins = |prev: u8, mid: u8, next: u8| {
            (prev.is_ascii_alphabetic()
                && next.is_ascii_alphabetic()
                && matches!(mid, b'.' | b'\'' | b':'))
                || (prev.is_ascii_digit()
                    && next.is_ascii_digit()
                    && matches!(mid, b'.' | b',' | b';' | b'\''))
        };
        let mut at = self.at;
        if at >= self.run_end {
            while at < bytes.len() && !word(bytes[at]) {
                at += 1;
            }
            if at == bytes.len() {
                self.at = at;
                return None;
            }
            let start = at;
            loop {
                while at < bytes.len() && word(bytes[at]) {
                    at += 1;
                }
                if at + 1 < bytes.len() && joins(bytes[at - 1], bytes[at], bytes[at + 1]) {
                    at += 1;
                    continue;
                }
                break;
            }
            self.run_end = at;
            at = start;
        }
        let end = (at + MAX_TOKEN_CHARS).min(self.run_end);
        self.at = end;
        Some(at..end)
    }
}

/// [`word_spans`] of any text.
fn unicode_word_spans(text: &str, spans: &mut Vec<Range<usize>>) {
    // A token is a contiguous run of `text`: its start offset and its last character are
    // all the state needed. ASCII is classified byte by byte; other characters are decoded.
    let mut start: Option<usize> = None;
    let mut prev: Option<char> = None;
    let mut at = 0;
    while at < text.len() {
        let (c, width) = char_at(text, at);
        let keep = is_word_char(c)
            || prev.is_some_and(|p| {
                let next = (at + width < text.len()).then(|| char_at(text, at + width).0);
                next.is_some_and(|n| joins(p, c, n))
            });
        if keep {
            start.get_or_insert(at);
            prev = Some(c);
        } else {
            if let Some(from) = start.take() {
                push_word(text, from..at, spans);
            }
            prev = None;
        }
        at += width;
    }
    if let Some(from) = start {
        push_word(text, from..text.len(), spans);
    }
}

/// The character starting at byte `at` of `text` (a character boundary), and its width.
fn char_at(text: &str, at: usize) -> (char, usize) {
    let byte = text.as_bytes()[at];
    if byte.is_ascii() {
        return (char::from(byte), 1);
    }
    let c = text[at..]
        .chars()
        .next()
        .unwrap_or(char::REPLACEMENT_CHARACTER);
    (c, c.len_utf8())
}

/// Appends `word` lowercased exactly as `str::to_lowercase` does, without allocating for
/// ASCII words.
pub fn push_lowercase(out: &mut String, word: &str) {
    if word.is_ascii() {
        push_ascii_lowercase(out, word);
    } else {
        out.push_str(&word.to_lowercase());
    }
}

/// [`push_lowercase`] of a word known to be ASCII (one from [`ascii_words`]), which it does
/// not check again; a non-ASCII word keeps its non-ASCII letters as they are.
pub fn push_ascii_lowercase(out: &mut String, word: &str) {
    let start = out.len();
    out.push_str(word);
    out[start..].make_ascii_lowercase();
}

fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric() || c == '_'
    } else {
        c.is_alphanumeric()
    }
}

/// Whether `mid` joins `prev` and `next` into one word (UAX #29 rules WB6/7 and WB11/12).
fn joins(prev: char, mid: char, next: char) -> bool {
    let letters = prev.is_alphabetic() && next.is_alphabetic();
    let digits = prev.is_numeric() && next.is_numeric();
    (letters && matches!(mid, '.' | '\'' | '\u{2019}' | ':'))
        || (digits && matches!(mid, '.' | ',' | ';' | '\''))
}

/// Pushes the span `word` of `text`, split into spans of at most [`MAX_TOKEN_CHARS`]
/// characters.
fn push_word(text: &str, word: Range<usize>, spans: &mut Vec<Range<usize>>) {
    // A word of at most MAX_TOKEN_CHARS bytes has at most that many characters.
    if word.len() <= MAX_TOKEN_CHARS {
        spans.push(word);
        return;
    }
    let mut from = word.start;
    while from < word.end {
        let rest = &text[from..word.end];
        let len = rest
            .char_indices()
            .nth(MAX_TOKEN_CHARS)
            .map_or(rest.len(), |(at, _)| at);
        spans.push(from..from + len);
        from += len;
    }
}

#[cfg(test)]
mod tests {
    use super::{analyze, ascii_word_spans, unicode_word_spans};

    #[test]
    fn the_ascii_path_splits_as_the_unicode_path_does() {
        // Every string of up to 5 characters over letters, digits, `_`, the joiners and a
        // separator, and longer pseudo-random ones.
        let alphabet: Vec<char> = "aZ5_.':,; -".chars().collect();
        let mut texts = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.len() == texts.last().map_or(0, String::len))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        let mut state = 0x2545_f491_4f6c_dd1du64;
        // Runs longer than a token, split where a joiner or a word byte falls on the limit.
        for joiner_at in [250, 254, 255, 256, 300, 509, 510, 511] {
            let mut long = "a".repeat(600);
            long.replace_range(joiner_at..joiner_at + 1, ".");
            texts.push(long.clone());
            long.replace_range(joiner_at..joiner_at + 1, "-");
            texts.push(long);
        }
        texts.push("7".repeat(256) + ",5");
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
            texts.push(text);
        }
        texts.push("x".repeat(600));
        let (mut fast, mut general) = (Vec::new(), Vec::new());
        for text in &texts {
            ascii_word_spans(text, &mut fast);
            unicode_word_spans(text, &mut general);
            assert_eq!(fast, general, "{text:?}");
            fast.clear();
            general.clear();
        }
    }

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

    /// The analyzer as first written, a `Vec<char>` at a time: the reference for
    /// `matches_the_character_by_character_reference`.
    fn reference(text: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        let (mut tokens, mut current) = (Vec::new(), Vec::<char>::new());
        let flush = |current: &mut Vec<char>, tokens: &mut Vec<String>| {
            for chunk in current.chunks(super::MAX_TOKEN_CHARS) {
                tokens.push(chunk.iter().collect::<String>().to_lowercase());
            }
            current.clear();
        };
        for (i, &c) in chars.iter().enumerate() {
            if super::is_word_char(c)
                || matches!((current.last(), chars.get(i + 1)), (Some(&p), Some(&n)) if super::joins(p, c, n))
            {
                current.push(c);
            } else {
                flush(&mut current, &mut tokens);
            }
        }
        flush(&mut current, &mut tokens);
        tokens
    }

    proptest::proptest! {
        #[test]
        fn matches_the_character_by_character_reference(
            text in "[a-cA-C0-9_ .,;:'’\\-éÉßΣ一]{0,40}",
            long in 0usize..600,
        ) {
            proptest::prop_assert_eq!(analyze(&text), reference(&text));
            let overlong = format!("{text}{}", "ü".repeat(long));
            proptest::prop_assert_eq!(analyze(&overlong), reference(&overlong));
        }
    }

    #[test]
    fn lowercases_as_str_to_lowercase_does() {
        for word in ["ABC_def", "ΣΟΦΟΣ", "İstanbul", "Straße", "ÉCOLE"] {
            let mut out = String::new();
            super::push_lowercase(&mut out, word);
            assert_eq!(out, word.to_lowercase());
        }
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
