//! One archive line: `{"k": {<key attribute>: <typed value>, ...}, "v": {<typed document>}}`.

use store_core::{Result, StoreError};

use serde::Deserialize as _;

use super::line_de::{Line, MAX_NESTING, read_whole};
use super::line_ser::{Order, write_record};
use crate::record::{Record, RecordKey};

/// Encodes a record as one line of JSON text (without the newline). A record holding a
/// value nested more than 256 lists and maps deep (which a backup refuses) encodes to a
/// line [`decode_line`] refuses.
pub fn encode_line(record: &Record) -> String {
    let mut line = Vec::new();
    write_line(&mut line, record);
    String::from_utf8(line).expect("JSON is UTF-8")
}

/// Appends the line of `record` (without its newline) to `out`, attributes in name order;
/// returns how many lists and maps its deepest value nests.
pub(crate) fn write_line(out: &mut Vec<u8>, record: &Record) -> usize {
    write_record(out, record, Order::ByName)
}

/// [`write_line`] with every document's attributes in the order it holds them, which
/// [`decode_written`] keeps: a record read back is the record written, order included.
pub(crate) fn write_line_as_given(out: &mut Vec<u8>, record: &Record) {
    write_record(out, record, Order::AsGiven);
}

/// Appends the line of `record` as [`write_line`] does, unless it holds a value nested
/// deeper than the lines are read (then `out` may hold part of the line).
pub(crate) fn write_checked_line(out: &mut Vec<u8>, record: &Record) -> Result<()> {
    match write_line(out, record) {
        deepest if deepest <= MAX_NESTING => Ok(()),
        deepest => Err(too_deep(record, deepest)),
    }
}

/// Refuses a record an archive could not give back: one holding a value nested deeper than
/// the lines are read ([`MAX_NESTING`] lists and maps).
pub(crate) fn check_nesting(record: &Record) -> Result<()> {
    let deepest = record
        .doc
        .iter()
        .map(|(_, v)| nesting(v))
        .max()
        .unwrap_or(0);
    if deepest <= MAX_NESTING {
        return Ok(());
    }
    Err(too_deep(record, deepest))
}

/// The refusal of `record`, whose deepest value nests `deepest` lists and maps.
fn too_deep(record: &Record, deepest: usize) -> StoreError {
    StoreError::invalid_input(format!(
        "the record `{}` holds a value nested {deepest} lists and maps deep, past the \
         {MAX_NESTING} an archive line holds",
        record.key
    ))
}

/// How many lists and maps `value` nests (0 for a scalar or a set).
fn nesting(value: &store_core::Value) -> usize {
    use store_core::Value;
    match value {
        Value::List(items) => 1 + items.iter().map(nesting).max().unwrap_or(0),
        Value::Map(doc) => 1 + doc.iter().map(|(_, v)| nesting(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// Decodes one line; `key_names` gives the key attributes' order.
pub fn decode_line(line: &str, key_names: &[String]) -> Result<Record> {
    let de = serde_json::Deserializer::from_str(line);
    let decoded: Line = read_whole(de, |de| Line::deserialize(de)).map_err(line_error)?;
    let key = record_key(decoded.key, key_names)?;
    let doc = decoded.doc.ok_or_else(no_document)?;
    Ok(Record { key, doc })
}

/// Decodes a line [`write_line`] wrote back into the same record, given its key's
/// attribute names in key order. Unlike [`decode_line`], an `_id` key may be any key value.
pub(crate) fn decode_written(line: &[u8], key_names: &[String]) -> Result<Record> {
    let de = serde_json::Deserializer::from_slice(line);
    let decoded: Line = read_whole(de, |de| Line::deserialize(de)).map_err(line_error)?;
    let parts = key_in_order(decoded.key, key_names)?;
    let doc = decoded.doc.ok_or_else(no_document)?;
    Ok(Record {
        key: RecordKey::new(parts)?,
        doc,
    })
}

/// What a line without its document `v` is told.
pub(super) fn no_document() -> StoreError {
    StoreError::invalid_input("an archive line has no document `v`")
}

/// What a line that does not parse is told: not JSON at all, or JSON of the wrong shape.
pub(super) fn line_error(e: serde_json::Error) -> StoreError {
    if e.is_syntax() || e.is_eof() {
        StoreError::invalid_input(format!("an archive line is not JSON: {e}"))
    } else {
        StoreError::invalid_input(format!("an archive line is malformed: {e}"))
    }
}

/// The record key of a line's key object `k` (`None` when the line has none), its
/// attributes taken in the order of `key_names`.
pub(super) fn record_key(
    key: Option<Vec<(String, store_core::Value)>>,
    key_names: &[String],
) -> Result<RecordKey> {
    let parts = key_in_order(key, key_names)?;
    if key_names == ["_id"] {
        return match &parts[0].1 {
            store_core::Value::String(id) => Ok(RecordKey::id_only(id.clone())),
            _ => Err(StoreError::invalid_input("an archived `_id` must be text")),
        };
    }
    RecordKey::new(parts)
}

/// A line's key attributes in the order of `key_names`.
fn key_in_order(
    key: Option<Vec<(String, store_core::Value)>>,
    key_names: &[String],
) -> Result<Vec<(String, store_core::Value)>> {
    let mut key =
        key.ok_or_else(|| StoreError::invalid_input("an archive line has no key object `k`"))?;
    key_names
        .iter()
        .map(|name| {
            let at = key.iter().position(|(n, _)| n == name).ok_or_else(|| {
                StoreError::invalid_input(format!("an archive line's key has no `{name}`"))
            })?;
            Ok(key.swap_remove(at))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use store_core::{Document, Value};

    use super::super::{line_de, line_skim};
    use super::*;

    /// A value `depth` lists and maps deep (maps and lists in turn), a string at the bottom.
    fn nested(depth: usize) -> Value {
        nested_over(depth, Value::from("bottom"))
    }

    /// `bottom` inside `depth` lists and maps (maps and lists in turn).
    fn nested_over(depth: usize, bottom: Value) -> Value {
        (0..depth).fold(bottom, |inner, level| {
            if level % 2 == 0 {
                Value::Map(Document::new().with("in", inner))
            } else {
                Value::List(vec![inner])
            }
        })
    }

    /// Runs `work` on a thread with the stack of a tokio worker (2 MiB), where lines are read.
    fn on_worker_stack(work: impl FnOnce() + Send + 'static) {
        std::thread::Builder::new()
            .stack_size(2 << 20)
            .spawn(work)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn a_value_nested_as_deep_as_a_store_gives_reads_back_and_deeper_is_refused() {
        on_worker_stack(|| {
            let names = vec!["id".to_owned()];
            let record = |depth| {
                let doc = Document::new().with("id", 1).with("deep", nested(depth));
                Record::from_document(doc, &names).unwrap()
            };
            let deepest = record(line_de::MAX_NESTING);
            check_nesting(&deepest).unwrap();
            write_checked_line(&mut Vec::new(), &deepest).unwrap();
            let line = encode_line(&deepest);
            assert_eq!(decode_line(&line, &names).unwrap(), deepest);
            assert_eq!(decode_written(line.as_bytes(), &names).unwrap(), deepest);
            let mut rows = super::super::line_rows::Rows::default();
            rows.push_line(&line, &names).unwrap();
            assert_eq!(rows.len(), 1);

            // An archive's check of its lines (no value built) lets the deepest through, a
            // set at the bottom too.
            line_skim::check_line_shape(&line, &names).unwrap();
            let set = Value::StringSet(["a".to_owned()].into_iter().collect());
            let doc = Document::new()
                .with("id", 1)
                .with("deep", nested_over(line_de::MAX_NESTING, set));
            let with_set = Record::from_document(doc, &names).unwrap();
            check_nesting(&with_set).unwrap();
            write_checked_line(&mut Vec::new(), &with_set).unwrap();
            line_skim::check_line_shape(&encode_line(&with_set), &names).unwrap();

            // One level more is refused by name before it is written, and when read.
            let deeper = record(line_de::MAX_NESTING + 1);
            assert!(line_skim::check_line_shape(&encode_line(&deeper), &names).is_err());
            let written = write_checked_line(&mut Vec::new(), &deeper).unwrap_err();
            let err = check_nesting(&deeper).unwrap_err();
            assert_eq!(written.message(), err.message());
            assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
            assert!(
                err.message().contains("`1` holds a value nested 257"),
                "{}",
                err.message()
            );
            let line = encode_line(&deeper);
            let err = decode_line(&line, &names).unwrap_err();
            assert!(
                err.message().contains("nested more than 256"),
                "{}",
                err.message()
            );
            let err = rows.push_line(&line, &names).unwrap_err();
            assert!(
                err.message().contains("nested more than 256"),
                "{}",
                err.message()
            );
            // A line nested without end is refused, the stack intact; the next line reads.
            let endless = format!(
                r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"a":{}"#,
                r#"{"L":["#.repeat(100_000)
            );
            let err = decode_written(endless.as_bytes(), &names).unwrap_err();
            assert!(
                err.message().contains("nested more than 256"),
                "{}",
                err.message()
            );
            assert_eq!(
                decode_line(&encode_line(&deepest), &names).unwrap(),
                deepest
            );
        });
    }

    #[test]
    fn lines_round_trip_with_composite_keys_in_key_order() {
        let doc = Document::new()
            .with("z", 1)
            .with("a", "x")
            .with("n", Value::Null);
        let names = vec!["z".to_owned(), "a".to_owned()];
        let record = Record::from_document(doc, &names).unwrap();
        let line = encode_line(&record);
        assert!(!line.contains('\n'));
        let back = decode_line(&line, &names).unwrap();
        assert_eq!(back, record);
        assert_eq!(back.key.id(), "1#x");
    }

    #[test]
    fn every_kind_of_value_comes_back_exactly_from_a_line() {
        let doc = crate::codec::tests::every_kind().with("id", 7);
        let names = vec!["id".to_owned()];
        let record = Record::from_document(doc, &names).unwrap();
        let back = decode_line(&encode_line(&record), &names).unwrap();
        assert_eq!(back, record);
        let scaled = back.doc.get("scaled").and_then(Value::as_number).unwrap();
        assert_eq!(scaled.to_string(), "1.50");
    }

    #[test]
    fn lines_are_the_bytes_the_typed_json_codec_gives() {
        use serde_json::{Map, Value as Json};
        let doc = crate::codec::tests::every_kind()
            .with("id", 7)
            .with("Zed", "upper case sorts first");
        let names = vec!["id".to_owned(), "text".to_owned()];
        let record = Record::from_document(doc, &names).unwrap();
        let key: Map<String, Json> = record
            .key
            .parts()
            .iter()
            .map(|(name, value)| (name.clone(), crate::codec::encode_value(value)))
            .collect();
        let mut line = Map::new();
        line.insert("k".to_owned(), Json::Object(key));
        line.insert("v".to_owned(), crate::codec::encode_document(&record.doc));
        assert_eq!(encode_line(&record), Json::Object(line).to_string());
    }

    #[test]
    fn malformed_typed_values_are_refused_with_the_reason() {
        let names = vec!["id".to_owned()];
        for (value, needle) in [
            (r#"{"X": 1}"#, "unknown type tag `X`"),
            (r#"{"N": 1}"#, "a number as a decimal string"),
            (r#"{"B": "***"}"#, "bad base64"),
            (r#"{"NULL": false}"#, "NULL must be true"),
            (r#"{"S": "a", "N": "1"}"#, "exactly one type tag"),
            (r#"{}"#, "exactly one type tag"),
            (r#"{"N": "abc"}"#, ""),
        ] {
            let line = format!(r#"{{"k": {{"id": {{"N": "1"}}}}, "v": {{"x": {value}}}}}"#);
            let err = decode_line(&line, &names).unwrap_err();
            assert!(
                err.message().contains("malformed"),
                "{line}: {}",
                err.message()
            );
            assert!(err.message().contains(needle), "{line}: {}", err.message());
        }
    }

    #[test]
    fn broken_lines_say_what_is_missing() {
        let names = vec!["id".to_owned()];
        for (line, needle) in [
            ("not json", "not JSON"),
            ("{\"v\": {}}", "no key object"),
            ("{\"k\": {}, \"v\": {}}", "no `id`"),
            ("{\"k\": {\"id\": {\"N\": \"1\"}}}", "no document"),
        ] {
            let err = decode_line(line, &names).unwrap_err();
            assert!(err.message().contains(needle), "{line}: {}", err.message());
        }
    }

    #[test]
    fn unknown_members_are_skipped_and_a_repeated_key_attribute_keeps_its_last_value() {
        let names = vec!["id".to_owned()];
        let line = r#"{"x": [1, {"k": 2}], "k": {"id": {"N": "1"}, "id": {"N": "2"}}, "v": {"id": {"N": "2"}}, "kk": null}"#;
        let record = decode_line(line, &names).unwrap();
        assert_eq!(record.key.id(), "2");
        assert_eq!(record.doc, Document::new().with("id", 2));
    }
}
