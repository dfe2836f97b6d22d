//! User metadata values as S3 carries them: in HTTP headers, which hold visible ASCII
//! only. S3 decodes RFC 2047 encoded words before it stores a value and encodes a stored
//! value that is not ASCII again when it returns it; an ASCII value is returned as it is.
//! So a value with non-ASCII text is sent as encoded words (`=?UTF-8?B?<base64>?=`, each of
//! at most 75 characters and whole characters, separated by spaces), which S3 and servers
//! that store values as sent both hand back as encoded words; reads decode them, and those
//! other writers stored. An ASCII value goes as it is, so one a header cannot carry back
//! unchanged (a control character, blanks at either end, or text that is itself an encoded
//! word, which S3 would decode) is refused, as is a name that is not a header token.

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use store_core::{Result, StoreError};

/// The start of an encoded word in UTF-8 with base64 (B) encoding, as written.
const PREFIX: &str = "=?UTF-8?B?";
/// The end of an encoded word.
const SUFFIX: &str = "?=";
/// The bytes of text one written word holds at most: 45 bytes are 60 base64 characters, and
/// with `=?UTF-8?B?` and `?=` the word is 72, under RFC 2047's 75.
const WORD_BYTES: usize = 45;

/// User metadata as the SDK sends it (none when empty), each value with non-ASCII text as
/// encoded words; a name that is not a header token, or an ASCII value a header would not
/// carry back unchanged, is refused.
pub(crate) fn sdk_metadata(
    metadata: &BTreeMap<String, String>,
) -> Result<Option<HashMap<String, String>>> {
    if metadata.is_empty() {
        return Ok(None);
    }
    metadata
        .iter()
        .map(|(name, value)| {
            check_name(name)?;
            Ok((name.clone(), header_value(name, value)?))
        })
        .collect::<Result<HashMap<_, _>>>()
        .map(Some)
}

/// User metadata as read from S3, encoded words decoded.
pub(crate) fn read_metadata(metadata: &HashMap<String, String>) -> BTreeMap<String, String> {
    metadata
        .iter()
        .map(|(name, value)| (name.clone(), decoded_value(value)))
        .collect()
}

/// `value` of metadata `name` as it is sent: as it is when ASCII, else as encoded words.
fn header_value(name: &str, value: &str) -> Result<String> {
    if !value.is_ascii() {
        return Ok(encoded_words(value));
    }
    let why = if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        "holds a control character"
    } else if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        "starts or ends with a blank, which a header drops"
    } else if decoded(value).is_some() {
        "is an RFC 2047 encoded word, which S3 would decode"
    } else {
        return Ok(value.to_owned());
    };
    Err(StoreError::invalid_input(format!(
        "the value of metadata `{name}` cannot be kept by S3: it {why}"
    )))
}

/// `value` (not ASCII) as encoded words of whole characters, separated by spaces.
fn encoded_words(value: &str) -> String {
    let mut words = Vec::new();
    let mut start = 0;
    for (at, c) in value.char_indices() {
        if at + c.len_utf8() - start > WORD_BYTES {
            words.push(&value[start..at]);
            start = at;
        }
    }
    words.push(&value[start..]);
    words
        .iter()
        .map(|text| format!("{PREFIX}{}{SUFFIX}", STANDARD.encode(text)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `value` with its encoded words decoded, when the whole of it is encoded words; else as
/// it is.
fn decoded_value(value: &str) -> String {
    decoded(value).unwrap_or_else(|| value.to_owned())
}

/// The text of `value` when the whole of it is one or more encoded words in UTF-8, B
/// (base64) or Q (quoted-printable) encoded, separated by blanks (which RFC 2047 drops),
/// whose bytes together are UTF-8.
fn decoded(value: &str) -> Option<String> {
    let mut bytes = Vec::new();
    for word in value.split([' ', '\t']).filter(|w| !w.is_empty()) {
        bytes.extend(word_bytes(word)?);
    }
    if bytes.is_empty() && !value.starts_with("=?") {
        return None;
    }
    String::from_utf8(bytes).ok()
}

/// The bytes of one encoded word in UTF-8.
fn word_bytes(word: &str) -> Option<Vec<u8>> {
    let inner = word.strip_prefix("=?")?.strip_suffix(SUFFIX)?;
    let (charset, rest) = inner.split_once('?')?;
    let (encoding, text) = rest.split_once('?')?;
    if !charset.eq_ignore_ascii_case("utf-8") || text.contains('?') {
        return None;
    }
    match encoding {
        "B" | "b" => STANDARD.decode(text).ok(),
        "Q" | "q" => quoted_printable(text),
        _ => None,
    }
}

/// The bytes of a Q-encoded word's text: `_` a space, `=XX` a byte, the rest as it is.
fn quoted_printable(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hex = [bytes.next()?, bytes.next()?];
                out.push(u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?);
            }
            b => out.push(b),
        }
    }
    Some(out)
}

/// Refuses a metadata name that is not an HTTP header token (`x-amz-meta-<name>`).
fn check_name(name: &str) -> Result<()> {
    let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
    if !name.is_empty() && name.bytes().all(token) {
        return Ok(());
    }
    Err(StoreError::invalid_input(format!(
        "metadata name {name:?} cannot be sent to S3: names are ASCII letters, digits and \
         !#$%&'*+-.^_`|~ (S3 keeps them in lower case)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sent(value: &str) -> Result<String> {
        header_value("n", value)
    }

    #[test]
    fn ascii_goes_as_it_is() {
        for value in [
            "Ada Lovelace 1815",
            "",
            "x y+z",
            "tab\tinside",
            "=?not a word",
        ] {
            assert_eq!(sent(value).unwrap(), value);
        }
    }

    #[test]
    fn text_beyond_ascii_goes_as_encoded_words_of_whole_characters_and_reads_back() {
        assert_eq!(sent("café").unwrap(), "=?UTF-8?B?Y2Fmw6k=?=");
        let long = "日本語のメタデータ値はとても長くなることがある ✓ ".repeat(4);
        for value in ["café", " café ", "ü\nline", long.as_str()] {
            let words = sent(value).unwrap();
            for word in words.split(' ') {
                assert!(word.len() <= 75, "{word}");
                assert!(word.bytes().all(|b| b.is_ascii_graphic()), "{word}");
                // Each word's bytes are whole characters.
                assert!(
                    String::from_utf8(word_bytes(word).unwrap()).is_ok(),
                    "{word}"
                );
            }
            assert_eq!(decoded_value(&words), value);
        }
        assert!(sent(&long).unwrap().split(' ').count() > 1);
    }

    #[test]
    fn ascii_a_header_would_change_is_refused() {
        for (value, why) in [
            (" lead", "blank"),
            ("trail ", "blank"),
            ("line\nbreak", "control"),
            ("=?UTF-8?B?eA==?=", "encoded word"),
        ] {
            let err = sent(value).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
            assert!(err.message().contains(why), "{value:?}: {err}");
            assert!(err.message().contains("`n`"), "{err}");
        }
    }

    #[test]
    fn encoded_words_of_other_writers_are_decoded() {
        assert_eq!(decoded_value("=?utf-8?b?Y2Fmw6k=?="), "café");
        assert_eq!(
            decoded_value("=?UTF-8?Q?caf=C3=A9_au_lait?="),
            "café au lait"
        );
        // Several words, a character split between them, blanks between them dropped.
        assert_eq!(
            decoded_value("=?UTF-8?B?Y2Fmw6k=?=  =?UTF-8?Q?_=E2=9C?= =?UTF-8?B?kw==?="),
            "café ✓"
        );
        // Not wholly UTF-8 words: left as it is.
        for value in [
            "=?ISO-8859-1?Q?caf=E9?=",
            "=?UTF-8?B?not base64?=",
            "x =?UTF-8?B?Y2Fmw6k=?=",
            "=?UTF-8?B?/w==?=",
            "=?UTF-8?Q?bad=Z?=",
            "plain",
        ] {
            assert_eq!(decoded_value(value), value);
        }
    }

    #[test]
    fn names_must_be_header_tokens() {
        assert!(check_name("photo-taken_at.v2").is_ok());
        for name in ["", "café", "a b", "a:b", "a\nb"] {
            let err = check_name(name).unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        }
    }
}
