//! The text of a document's text fields, packed into one string that the `stores_packed`
//! tokenizer analyzes on tantivy's indexing thread.
//!
//! Terms of the `_text` field carry their field's path (`path\0token`), and positions leave
//! gaps between fields and between the values of one field, so tantivy's own tokenizers do not
//! fit. Analyzing on the writer (and handing tantivy pre-tokenized strings, which a document
//! holds as JSON) would keep the writer busy with work the indexing threads can do. So the
//! writer packs each text value as `<byte length>:<path>\0<text>`, one after the other (the
//! length makes any text safe), and the tokenizer runs store-core's analyzer over each: tokens
//! of a value follow each other, and [`POSITION_GAP`] positions separate consecutive values,
//! whether of one field or of two.

use std::ops::Range;

use store_core::search::engine::{
    AsciiWords, POSITION_GAP, ascii_words, push_ascii_lowercase, push_lowercase, word_spans,
};
use tantivy::Index;
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};

use crate::schema::SEP;

/// The name the tokenizer is registered under.
pub(crate) const PACKED_TOKENIZER: &str = "stores_packed";

/// Appends one value `text` of the text field `path`.
pub(crate) fn push_value(packed: &mut String, path: &str, text: &str) {
    push_decimal(packed, path.len() + SEP.len_utf8() + text.len());
    packed.push(':');
    packed.push_str(path);
    packed.push(SEP);
    packed.push_str(text);
}

/// Appends `n` in decimal (without `fmt`, which costs more than the rest of a value).
fn push_decimal(out: &mut String, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    // ASCII digits: always UTF-8.
    out.push_str(std::str::from_utf8(&digits[at..]).unwrap_or_default());
}

/// Takes the next `<byte length>:<item>` off `rest` ([`push_value`], [`push_term`]); `None`
/// at the end (or, never expected, on malformed input, which ends it).
fn take_packed<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let (len, after) = rest.split_once(':')?;
    let Some(item) = len.parse().ok().and_then(|len: usize| after.get(..len)) else {
        debug_assert!(false, "malformed packed text");
        *rest = "";
        return None;
    };
    *rest = &after[item.len()..];
    Some(item)
}

/// Registers the tokenizers on `index`; every index writer needs them.
pub(crate) fn register(index: &Index) {
    index.tokenizers().register(
        PACKED_TOKENIZER,
        TextAnalyzer::from(PackedTokenizer::default()),
    );
    index.tokenizers().register(
        TERMS_TOKENIZER,
        TextAnalyzer::from(TermsTokenizer::default()),
    );
}

/// The name of the tokenizer of packed whole terms ([`push_term`]).
pub(crate) const TERMS_TOKENIZER: &str = "stores_terms";

/// Appends one whole term (`path\0value`, or a bare path for `_fields`) to the packed terms
/// of a field: `<byte length>:<term>`. The `_keyword`, `_value` and `_fields` fields take all
/// their terms of a document as one such value, not one value per term.
pub(crate) fn push_term(packed: &mut String, term: &str) {
    push_decimal(packed, term.len());
    packed.push(':');
    packed.push_str(term);
}

/// Splits what [`push_term`] packed into its terms, unchanged.
#[derive(Clone, Default)]
pub(crate) struct TermsTokenizer {
    token: Token,
}

/// The terms of one packed string.
pub(crate) struct TermsTokens<'a> {
    rest: &'a str,
    token: &'a mut Token,
}

impl Tokenizer for TermsTokenizer {
    type TokenStream<'a> = TermsTokens<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> TermsTokens<'a> {
        self.token.reset();
        self.token.position = usize::MAX;
        TermsTokens {
            rest: text,
            token: &mut self.token,
        }
    }
}

impl TokenStream for TermsTokens<'_> {
    fn advance(&mut self) -> bool {
        let Some(term) = take_packed(&mut self.rest) else {
            return false;
        };
        let token = &mut *self.token;
        token.text.clear();
        token.text.push_str(term);
        token.position = token.position.wrapping_add(1);
        token.position_length = 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// Analyzes what [`push_value`] packed.
#[derive(Clone, Default)]
pub(crate) struct PackedTokenizer {
    token: Token,
    spans: Vec<Range<usize>>,
}

/// The tokens of one packed string.
pub(crate) struct PackedTokens<'a> {
    /// What is left after the current value.
    rest: &'a str,
    /// The current value's text and its tokens: found one at a time in ASCII text, all at
    /// once (`spans`, of which `next_span` is next) in other text.
    text: &'a str,
    words: Option<AsciiWords<'a>>,
    spans: &'a mut Vec<Range<usize>>,
    next_span: usize,
    /// The length of `path\0` of the current value, which starts the token's text: each
    /// token of the value keeps it and replaces only what follows.
    prefix_len: usize,
    /// The position of the next token, and whether a value was seen yet.
    position: usize,
    started: bool,
    token: &'a mut Token,
}

impl Tokenizer for PackedTokenizer {
    type TokenStream<'a> = PackedTokens<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> PackedTokens<'a> {
        self.token.reset();
        self.spans.clear();
        PackedTokens {
            rest: text,
            text: "",
            words: None,
            spans: &mut self.spans,
            next_span: 0,
            prefix_len: 0,
            position: 0,
            started: false,
            token: &mut self.token,
        }
    }
}

impl PackedTokens<'_> {
    /// Moves to the next value; false at the end (or, never expected, on malformed input).
    fn next_value(&mut self) -> bool {
        let Some(value) = take_packed(&mut self.rest) else {
            return false;
        };
        let (path, text) = value.split_once(SEP).unwrap_or((value, ""));
        let token_text = &mut self.token.text;
        token_text.clear();
        token_text.push_str(path);
        token_text.push(SEP);
        self.prefix_len = token_text.len();
        self.text = text;
        self.words = ascii_words(text);
        self.spans.clear();
        if self.words.is_none() {
            word_spans(text, self.spans);
        }
        self.next_span = 0;
        if self.started {
            self.position += POSITION_GAP as usize;
        }
        self.started = true;
        true
    }

    /// The span of the current value's next token, if it has one more.
    fn next_span(&mut self) -> Option<Range<usize>> {
        if let Some(words) = &mut self.words {
            return words.next();
        }
        let span = self.spans.get(self.next_span).cloned();
        self.next_span += 1;
        span
    }
}

impl TokenStream for PackedTokens<'_> {
    fn advance(&mut self) -> bool {
        let span = loop {
            if let Some(span) = self.next_span() {
                break span;
            }
            if !self.next_value() {
                return false;
            }
        };
        let token = &mut *self.token;
        token.text.truncate(self.prefix_len);
        let word = &self.text[span];
        if self.words.is_some() {
            // ASCII text: the word is ASCII.
            push_ascii_lowercase(&mut token.text, word);
        } else {
            push_lowercase(&mut token.text, word);
        }
        token.position = self.position;
        token.position_length = 1;
        token.offset_from = 0;
        token.offset_to = 0;
        self.position += 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unpack(packed: &str) -> Vec<(usize, String)> {
        let mut tokenizer = PackedTokenizer::default();
        let mut stream = tokenizer.token_stream(packed);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().position, stream.token().text.clone()));
        }
        out
    }

    #[test]
    fn values_are_analyzed_with_gaps_between_them_whatever_their_text() {
        let gap = POSITION_GAP as usize;
        let mut packed = String::new();
        push_value(&mut packed, "title", "Rust, SEARCH");
        push_value(&mut packed, "title", "");
        push_value(&mut packed, "a.b", "with:colons 12:3:");
        push_value(&mut packed, "ünï", "Cödé");
        let term = |path: &str, token: &str| format!("{path}\0{token}");
        assert_eq!(
            unpack(&packed),
            [
                (0, term("title", "rust")),
                (1, term("title", "search")),
                (2 + 2 * gap, term("a.b", "with:colons")),
                (3 + 2 * gap, term("a.b", "12")),
                (4 + 2 * gap, term("a.b", "3")),
                (5 + 3 * gap, term("ünï", "cödé")),
            ]
        );
        assert!(unpack("").is_empty());
    }

    #[test]
    fn every_value_gives_the_analyzers_tokens_after_its_own_path() {
        use store_core::search::engine::analyze;
        // Generated values: ASCII and not, mixed case, joiners, runs past the longest token,
        // empty ones; paths of different lengths, so each value's prefix differs.
        let pieces = [
            "Rust", "SEARCH", "don't", "3.14", "a:b", " ", ", ", "Cödé", "ÉCOLE", "x_y", "--",
            "1,000", "\u{2019}", "e.g.", "",
        ];
        let mut state = 7u64;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for round in 0..200 {
            let mut packed = String::new();
            let mut expected = Vec::new();
            let mut position = 0;
            for value in 0..1 + next(4) {
                let path = ["t", "title", "a.b.c", "ünï"][next(4)];
                let mut text: String = (0..next(12)).map(|_| pieces[next(pieces.len())]).collect();
                if next(10) == 0 {
                    text.push_str(&"Ab".repeat(200));
                }
                push_value(&mut packed, path, &text);
                if value > 0 {
                    position += POSITION_GAP as usize;
                }
                for token in analyze(&text) {
                    expected.push((position, format!("{path}\0{token}")));
                    position += 1;
                }
            }
            assert_eq!(unpack(&packed), expected, "round {round}: {packed:?}");
        }
    }

    #[test]
    fn packed_terms_come_back_whole_whatever_they_hold() {
        let terms = [
            "title\0rust",
            "a.b\0with:colons 12:3:",
            "k\0",
            "ünï\0line\nbreak",
        ];
        let mut packed = String::new();
        for term in terms {
            push_term(&mut packed, term);
        }
        let mut tokenizer = TermsTokenizer::default();
        let mut stream = tokenizer.token_stream(&packed);
        let mut out = Vec::new();
        while stream.advance() {
            out.push((stream.token().position, stream.token().text.clone()));
        }
        let expected: Vec<(usize, String)> = terms
            .iter()
            .enumerate()
            .map(|(i, t)| (i, (*t).to_owned()))
            .collect();
        assert_eq!(out, expected);
        assert!(!TermsTokenizer::default().token_stream("").advance());
    }
}
