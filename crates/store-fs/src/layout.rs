//! Keys to paths and back: the on-disk encoding of object keys.
//!
//! A key is split at `/` into segments (a segment may be empty: `a//b`, `/x`, `x/`). Every
//! segment but the last becomes a directory; the last becomes the object's file. A segment is
//! written as one or more *pieces*, each escaped:
//!
//! - bytes `a-z`, `0-9`, `-` and `_` stay as they are, and so does `.` except as a piece's first
//!   byte; every other byte (upper case, space, `%`, `+`, `~`, control characters, each byte of
//!   a non-ASCII character) becomes `%` and two lower-case hex digits. Names are therefore plain
//!   lower-case ASCII: `A` and `a`, or the NFC and NFD forms of `é`, stay different keys even on
//!   case-insensitive or normalising file systems (macOS), and no name is `.`, `..` or starts
//!   with `.` (names starting with `.` are reserved for the store's own files);
//! - the empty segment is written `%` (a `%` without hex digits, which no escape produces);
//! - a segment whose escaped form would exceed [`MAX_PIECE`] bytes is cut, at character
//!   boundaries and greedily, into pieces that each fit; every piece but the last is a directory
//!   whose name ends with `+` ("the segment continues inside"), keeping every name far below the
//!   255-byte limit of common file systems;
//! - the name of the last piece ends with `~` when the key ends there (an object file), and has
//!   no suffix when the key continues after a `/` (a directory).
//!
//! So `a` is the file `a~` and `a/b` is the file `a/b~`: both can exist, as on S3. Decoding a
//! path gives the key back exactly; names that are not in this canonical form (the store's own
//! temporary files, files someone else put there) are not keys and are never listed.

use std::ffi::OsStr;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The longest escaped piece, in bytes; with its one-byte suffix a name stays under 255 bytes.
pub(crate) const MAX_PIECE: usize = 200;

/// Suffix of an object file's name.
const OBJECT: char = '~';
/// Suffix of a directory holding the rest of a cut segment.
const CONTINUED: char = '+';
/// The escaped empty segment.
const EMPTY: &str = "%";

/// What a directory entry's name says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Name {
    /// An object file; the text is the segment (or the segment's last piece).
    Object(String),
    /// A directory of keys that continue after `segment/`.
    Dir(String),
    /// A directory holding the rest of a segment that starts with this piece.
    Continued(String),
}

/// Whether byte `b` is written as itself (`first`: it would start the piece).
fn passes(b: u8, first: bool) -> bool {
    matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_') || (b == b'.' && !first)
}

/// How many bytes a character takes once escaped.
fn escaped_len(c: char, first: bool) -> usize {
    if c.is_ascii() && passes(c as u8, first) {
        1
    } else {
        3 * c.len_utf8()
    }
}

/// Appends the escaped form of a non-empty piece.
fn escape_into(out: &mut String, piece: &str) {
    for (i, b) in piece.bytes().enumerate() {
        if passes(b, i == 0) {
            out.push(char::from(b));
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "%{b:02x}");
        }
    }
}

/// The escaped form of a non-empty piece.
fn escape(piece: &str) -> String {
    let mut out = String::with_capacity(piece.len());
    escape_into(&mut out, piece);
    out
}

/// Cuts a non-empty segment into pieces whose escaped forms fit in [`MAX_PIECE`] bytes, taking
/// as many characters as fit into each piece before starting the next.
fn pieces(segment: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut len = 0;
    for (at, c) in segment.char_indices() {
        let cost = escaped_len(c, at == start);
        if len + cost > MAX_PIECE {
            out.push(&segment[start..at]);
            start = at;
            len = escaped_len(c, true);
        } else {
            len += cost;
        }
    }
    out.push(&segment[start..]);
    out
}

/// The names, from the object tree's root down, of the file that holds `key`.
pub(crate) fn key_names(key: &str) -> Vec<String> {
    let segments: Vec<&str> = key.split('/').collect();
    let last = segments.len() - 1;
    let mut names = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let end = if i == last { Some(OBJECT) } else { None };
        if segment.is_empty() {
            let mut name = EMPTY.to_owned();
            name.extend(end);
            names.push(name);
            continue;
        }
        let cut = pieces(segment);
        let last_piece = cut.len() - 1;
        for (j, piece) in cut.iter().enumerate() {
            let mut name = escape(piece);
            if j < last_piece {
                name.push(CONTINUED);
            } else {
                name.extend(end);
            }
            names.push(name);
        }
    }
    names
}

/// The file that holds `key` under the object tree `objects`.
pub(crate) fn object_path(objects: &Path, key: &str) -> PathBuf {
    let mut path = objects.to_path_buf();
    path.extend(key_names(key));
    path
}

/// Decodes an escaped piece; `None` unless it is exactly what [`escape`] writes for its text.
fn unescape(escaped: &str) -> Option<String> {
    if escaped.is_empty() || escaped.len() > MAX_PIECE {
        return None;
    }
    let bytes = escaped.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = escaped.get(i + 1..i + 3)?;
            if hex.bytes().any(|h| h.is_ascii_uppercase()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let text = String::from_utf8(out).ok()?;
    (escape(&text) == escaped).then_some(text)
}

/// Reads a directory entry's name; `None` for anything that is not a canonical key name (the
/// store's own files start with `.`, and foreign files are ignored).
pub(crate) fn parse_name(name: &OsStr) -> Option<Name> {
    let name = name.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    if let Some(body) = name.strip_suffix(OBJECT) {
        return Some(Name::Object(segment(body)?));
    }
    if let Some(body) = name.strip_suffix(CONTINUED) {
        return Some(Name::Continued(unescape(body)?));
    }
    Some(Name::Dir(segment(name)?))
}

/// A whole segment's last piece: the empty marker or an escaped piece.
fn segment(body: &str) -> Option<String> {
    if body == EMPTY {
        Some(String::new())
    } else {
        unescape(body)
    }
}

#[cfg(test)]
mod tests;
