//! Exact JSON for store-core values: a writer and a reader that keep every digit of a number,
//! and the reading of OpenSearch's responses (hits, versions) from what the reader parsed.
//!
//! `serde_json` (without its `arbitrary_precision` feature) reads numbers outside `i64`/`u64`
//! and every decimal into an `f64`, which loses digits. OpenSearch stores `_source` as the exact
//! bytes it was sent, so this module writes numbers as their exact decimal text and reads them
//! back from the text, digit for digit (up to store-core's [`MAX_DIGITS`](store_core::MAX_DIGITS)).

use std::borrow::Cow;

use base64::Engine as _;
use store_core::search::{DocVersion, Hit, SearchRequest, SearchResponse, SortField};
use store_core::{Document, Number, Result, StoreError, Value};

mod hits;

pub(crate) use hits::parse_search_reply;

/// The deepest nesting of arrays and objects the reader accepts.
const MAX_DEPTH: usize = 256;

/// Appends `value` as JSON text to `out`.
///
/// Numbers are written as their exact decimal text; bytes as base64 strings; sets as arrays.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_str(out, s),
        Value::Bytes(b) => write_str(out, &base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Map(doc) => write_document(out, doc),
        Value::StringSet(set) => {
            out.push(b'[');
            for (i, item) in set.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, item);
            }
            out.push(b']');
        }
        Value::NumberSet(set) => {
            out.push(b'[');
            for (i, item) in set.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_number(out, item);
            }
            out.push(b']');
        }
        Value::BytesSet(set) => {
            out.push(b'[');
            for (i, item) in set.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(out, &base64::engine::general_purpose::STANDARD.encode(item));
            }
            out.push(b']');
        }
    }
}

/// Appends a document as a JSON object to `out`.
pub(crate) fn write_document(out: &mut Vec<u8>, doc: &Document) {
    out.push(b'{');
    for (i, (k, v)) in doc.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_str(out, k);
        out.push(b':');
        write_value(out, v);
    }
    out.push(b'}');
}

/// A document as JSON bytes.
pub(crate) fn document_bytes(doc: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.approximate_size() + 16);
    write_document(&mut out, doc);
    out
}

fn write_number(out: &mut Vec<u8>, n: &Number) {
    // Display is plain notation, or `d.dddE+x` scientific notation: both are JSON numbers.
    out.extend_from_slice(n.to_string().as_bytes());
}

/// Appends a JSON string literal.
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// Reads JSON text into a [`Value`], keeping every digit of every number.
pub(crate) fn parse(bytes: &[u8]) -> Result<Value, StoreError> {
    let mut reader = Reader { bytes, pos: 0 };
    reader.skip_ws();
    let value = reader.value(0)?;
    reader.skip_ws();
    if reader.pos != bytes.len() {
        return Err(reader.error("trailing characters after the JSON value"));
    }
    Ok(value)
}

/// Reads the one JSON value that starts at `pos` of `bytes` (whatever follows it).
pub(crate) fn parse_at(bytes: &[u8], pos: usize) -> Result<Value, StoreError> {
    let mut reader = Reader { bytes, pos };
    reader.skip_ws();
    reader.value(0)
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn error(&self, what: &str) -> StoreError {
        StoreError::internal(format!(
            "invalid JSON from the server at byte {}: {what}",
            self.pos
        ))
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, StoreError> {
        if self.bytes[self.pos..].starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(self.error("unexpected token"))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, StoreError> {
        if depth > MAX_DEPTH {
            return Err(self.error("nested too deeply"));
        }
        match self.bytes.get(self.pos) {
            None => Err(self.error("unexpected end")),
            Some(b'n') => self.literal(b"null", Value::Null),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'"') => self.string().map(Value::String),
            Some(b'[') => {
                let mut items = Vec::new();
                self.elements(|reader| {
                    items.push(reader.value(depth + 1)?);
                    Ok(())
                })?;
                Ok(Value::List(items))
            }
            Some(b'{') => {
                let mut doc = Document::new();
                self.members(|reader, name| {
                    let value = reader.value(depth + 1)?;
                    doc.insert(name.into_owned(), value);
                    Ok(())
                })?;
                Ok(Value::Map(doc))
            }
            Some(b'-' | b'0'..=b'9') => {
                let start = self.pos;
                while let Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') =
                    self.bytes.get(self.pos)
                {
                    self.pos += 1;
                }
                let text = std::str::from_utf8(&self.bytes[start..self.pos])
                    .map_err(|_| self.error("bad number"))?;
                let n: Number = text
                    .parse()
                    .map_err(|e: StoreError| self.error(e.message()))?;
                Ok(Value::Number(n))
            }
            Some(_) => Err(self.error("unexpected character")),
        }
    }

    /// A member's name at `pos` (which holds its opening quote), borrowed when it holds no
    /// escape.
    fn name(&mut self) -> Result<Cow<'a, str>> {
        let bytes = self.bytes;
        let start = self.pos + 1;
        let plain = bytes
            .get(start..)
            .and_then(|rest| rest.iter().position(|&b| b == b'"' || b == b'\\'))
            .filter(|&end| bytes[start + end] == b'"');
        match plain {
            Some(end) => {
                self.pos = start + end + 1;
                std::str::from_utf8(&bytes[start..start + end])
                    .map(Cow::Borrowed)
                    .map_err(|_| self.error("a name is not UTF-8"))
            }
            None => self.string().map(Cow::Owned),
        }
    }

    /// The members of the object at `pos`, each handed to `member` with its name, the
    /// reader standing at its value (which `member` must read).
    fn members(
        &mut self,
        mut member: impl FnMut(&mut Self, Cow<'a, str>) -> Result<()>,
    ) -> Result<()> {
        self.sequence(b'{', b'}', |reader| {
            if reader.bytes.get(reader.pos) != Some(&b'"') {
                return Err(reader.error("expected a field name"));
            }
            let name = reader.name()?;
            reader.skip_ws();
            if reader.bytes.get(reader.pos) != Some(&b':') {
                return Err(reader.error("expected `:`"));
            }
            reader.pos += 1;
            reader.skip_ws();
            member(reader, name)
        })
    }

    /// The elements of the array at `pos`, each read by `element` (the reader standing at it).
    fn elements(&mut self, element: impl FnMut(&mut Self) -> Result<()>) -> Result<()> {
        self.sequence(b'[', b']', element)
    }

    /// The items between `open` (at `pos`) and `close`, separated by commas, each read by
    /// `item` (the reader standing at it).
    fn sequence(
        &mut self,
        open: u8,
        close: u8,
        mut item: impl FnMut(&mut Self) -> Result<()>,
    ) -> Result<()> {
        if self.bytes.get(self.pos) != Some(&open) {
            return Err(self.error(&format!("expected `{}`", open as char)));
        }
        self.pos += 1;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&close) {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.skip_ws();
            item(self)?;
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(&b) if b == close => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.error(&format!("expected `,` or `{}`", close as char))),
            }
        }
    }

    fn string(&mut self) -> Result<String, StoreError> {
        let start = self.pos;
        self.pos += 1;
        let mut escaped = false;
        loop {
            match self.bytes.get(self.pos) {
                None => return Err(self.error("unterminated string")),
                Some(b'\\') => {
                    escaped = true;
                    self.pos += 2;
                }
                Some(b'"') => {
                    self.pos += 1;
                    break;
                }
                Some(_) => self.pos += 1,
            }
        }
        let raw = self
            .bytes
            .get(start..self.pos)
            .ok_or_else(|| self.error("unterminated string"))?;
        if escaped {
            serde_json::from_slice(raw).map_err(|e| self.error(&e.to_string()))
        } else {
            std::str::from_utf8(&raw[1..raw.len() - 1])
                .map(str::to_owned)
                .map_err(|_| self.error("a string is not UTF-8"))
        }
    }
}

/// A store-core value as `serde_json`, for query DSL bodies (exact numbers that an `f64`
/// cannot hold become strings, which OpenSearch parses exactly on numeric fields).
pub(crate) fn to_serde(value: &Value) -> serde_json::Value {
    store_core::to_json(value)
}

/// A member of a parsed JSON value by path.
pub(crate) fn lookup<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = value;
    for key in path {
        current = current.as_map()?.get(key)?;
    }
    Some(current)
}

/// A member as u64.
pub(crate) fn lookup_u64(value: &Value, path: &[&str]) -> Option<u64> {
    lookup(value, path)?.as_number()?.to_u64()
}

/// The version of a document in a write or get response.
pub(crate) fn version_of(value: &Value) -> Result<DocVersion> {
    match (
        lookup_u64(value, &["_seq_no"]),
        lookup_u64(value, &["_primary_term"]),
    ) {
        (Some(seq_no), Some(primary_term)) => Ok(DocVersion {
            seq_no,
            primary_term,
        }),
        _ => Err(StoreError::internal(
            "the response has no _seq_no/_primary_term",
        )),
    }
}

/// Reads a `_search` response, moving the hits' documents out of it rather than copying them.
pub(crate) fn parse_search(value: Value) -> Result<SearchResponse> {
    search_response(value, None)
}

/// A `_search` response from its parsed value and, when they were read apart from it
/// ([`parse_search_reply`]), its hits.
pub(crate) fn search_response(mut value: Value, read: Option<Vec<Hit>>) -> Result<SearchResponse> {
    let total = lookup_u64(&value, &["hits", "total", "value"])
        .or_else(|| lookup_u64(&value, &["hits", "total"]))
        .unwrap_or(0);
    let aggregations = lookup(&value, &["aggregations"]).map(to_serde);
    let hits = match (read, take(&mut value, &["hits", "hits"])) {
        (Some(hits), _) => hits,
        (None, Some(Value::List(hits))) => hits
            .into_iter()
            .map(parse_hit)
            .collect::<Result<Vec<_>>>()?,
        (None, _) => Vec::new(),
    };
    Ok(SearchResponse {
        total,
        hits,
        aggregations,
    })
}

/// Takes a member of a parsed JSON value out by path.
fn take(value: &mut Value, path: &[&str]) -> Option<Value> {
    let (last, parents) = path.split_last()?;
    let mut current = value;
    for key in parents {
        current = match current {
            Value::Map(doc) => doc.get_mut(key)?,
            _ => return None,
        };
    }
    match current {
        Value::Map(doc) => doc.remove(last),
        _ => None,
    }
}

/// One hit, its members taken in one pass over it (removing them by name would shift the
/// members after each, a measurable share of a large read).
fn parse_hit(hit: Value) -> Result<Hit> {
    let Value::Map(hit) = hit else {
        return Err(StoreError::internal("a hit is not an object"));
    };
    let mut parts = HitParts::default();
    for (name, value) in hit {
        parts.take(&name, value);
    }
    parts.finish()
}

/// The members of a hit, taken one by one as they are read.
#[derive(Default)]
struct HitParts {
    id: Option<String>,
    score: Option<f64>,
    source: Document,
    sort: Vec<Value>,
}

impl HitParts {
    /// Keeps the member `name` when a hit is made of it (`_id`, `_score`, `_source`, `sort`).
    fn take(&mut self, name: &str, value: Value) {
        match (name, value) {
            ("_id", Value::String(value)) => self.id = Some(value),
            ("_score", Value::Number(value)) => self.score = Some(value.to_f64()),
            ("_source", Value::Map(value)) => self.source = value,
            ("sort", Value::List(value)) => self.sort = value,
            _ => {}
        }
    }

    /// The hit, which must have had an `_id`.
    fn finish(self) -> Result<Hit> {
        let id = self
            .id
            .ok_or_else(|| StoreError::internal("a hit has no _id"))?;
        Ok(Hit {
            id,
            score: self.score,
            source: self.source,
            sort: self.sort,
        })
    }
}

/// OpenSearch omits `sort` values when the sort is by score alone; fill them in so that every
/// hit of a sorted search carries the values `search_after` needs.
pub(crate) fn score_sort_values(request: &SearchRequest, response: &mut SearchResponse) {
    let by_score_only = !request.sort.is_empty()
        && request
            .sort
            .iter()
            .all(|s| matches!(s, SortField::Score(_)));
    if !by_score_only {
        return;
    }
    for hit in &mut response.hits {
        if hit.sort.is_empty()
            && let Some(score) = hit.score
            && let Ok(n) = Number::try_from(score)
        {
            hit.sort = vec![Value::Number(n); request.sort.len()];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_every_digit() {
        let text = br#"{"big":123456789012345678901234567890,"dec":0.1000000000000000055511151231257827,"e":1.5E+300,"neg":-7,"s":"a\"b\u00e9","l":[1,2.5,true,null]}"#;
        let value = parse(text).unwrap();
        let doc = value.as_map().unwrap();
        assert_eq!(
            doc.get("big").unwrap().as_number().unwrap().to_string(),
            "123456789012345678901234567890"
        );
        assert_eq!(
            doc.get("dec").unwrap().as_number().unwrap().to_string(),
            "0.1000000000000000055511151231257827"
        );
        assert_eq!(doc.get("s").unwrap().as_str(), Some("a\"bé"));
        let mut out = Vec::new();
        write_value(&mut out, &value);
        assert_eq!(parse(&out).unwrap(), value);
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"{\"a\":}").is_err());
        assert!(parse(b"[1,2").is_err());
        assert!(parse(b"1 2").is_err());
    }

    #[test]
    fn hits_are_read_whatever_the_order_of_their_members() {
        let response = br#"{"hits":{"total":{"value":2},"hits":[
            {"sort":[7,"b"],"_source":{"n":1},"_score":null,"_id":"b","_index":"i"},
            {"_index":"i","_id":"a","_score":1.5,"_source":{"n":2},"_seq_no":3}]}}"#;
        let parsed = parse_search(parse(response).unwrap()).unwrap();
        assert_eq!(parsed.total, 2);
        let [first, second] = &parsed.hits[..] else {
            panic!("two hits: {:?}", parsed.hits);
        };
        assert_eq!(first.id, "b");
        assert_eq!(first.score, None);
        assert_eq!(first.source.get("n"), Some(&Value::from(1)));
        assert_eq!(first.sort, vec![Value::from(7), Value::from("b")]);
        assert_eq!(second.id, "a");
        assert_eq!(second.score, Some(1.5));
        assert!(second.sort.is_empty());
        let no_id = br#"{"hits":{"hits":[{"_source":{}}]}}"#;
        assert!(parse_search(parse(no_id).unwrap()).is_err());
    }
}
