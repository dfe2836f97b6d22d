//! Decoding archive lines straight into rows of values in one column order, for a restore
//! into a table: a [`Document`](store_core::Document) per line (its own copy of every
//! attribute name, a hash index, then taken apart again by the table) cost more than the
//! values themselves. The rows are what [`decode_line`](super::decode_line) then the table's
//! upsert would make of the same lines: the columns in order of first appearance, a `NULL`
//! where a record lacks one, a repeated attribute keeping its last value; the same lines
//! are refused with the same messages.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use store_core::{Result, Value};

use super::line_de::{Key, LineField, Typed, read_whole, text_visitor};
use super::line_fast::push_canonical;
use super::lines::{line_error, no_document, record_key};

/// The rows of one run of lines, in the order of `columns`.
#[derive(Debug, Default)]
pub(crate) struct Rows {
    /// Every attribute met so far, in order of first appearance.
    pub(crate) columns: Vec<String>,
    /// One row per line; a row made before a later column was met is shorter until
    /// [`finish`](Self::finish).
    pub(crate) rows: Vec<Vec<Value>>,
    /// Which columns each row's record has (its `NULL`s may be absences), beside `rows`.
    shapes: Vec<Shape>,
}

/// The attributes a decoded record had: the columns before `width` but for the `holes`
/// (columns met by earlier records that this one lacks), none from `width` on; and its
/// values' size as [`Value::approximate_size`] counts them, taken where the row is decoded
/// (off the task that writes the batches).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Shape {
    width: usize,
    holes: Option<Box<[usize]>>,
    bytes: usize,
}

impl Shape {
    fn has(&self, column: usize) -> bool {
        column < self.width && self.holes.as_ref().is_none_or(|h| !h.contains(&column))
    }
}

/// A row being decoded: its values by column place, and the places padded with `NULL`
/// that no attribute filled (yet).
#[derive(Default)]
pub(super) struct RowBuilder {
    row: Vec<Value>,
    holes: Vec<usize>,
}

impl RowBuilder {
    /// A row with room for `width` values.
    pub(super) fn with_capacity(width: usize) -> Self {
        Self {
            row: Vec::with_capacity(width),
            holes: Vec::new(),
        }
    }

    /// Puts `value` at `place`, with `NULL`s before it when the row is shorter (a repeated
    /// attribute's last value replaces the first's).
    pub(super) fn put(&mut self, place: usize, value: Value) {
        if place >= self.row.len() {
            self.holes.extend(self.row.len()..place);
            self.row.resize_with(place, || Value::Null);
            self.row.push(value);
        } else {
            if !self.holes.is_empty() {
                self.holes.retain(|&h| h != place);
            }
            self.row[place] = value;
        }
    }
}

impl Rows {
    /// Decodes one line into a new row, checking its key object as
    /// [`decode_line`](super::decode_line) does (`key_names` in key order).
    pub(crate) fn push_line(&mut self, line: &str, key_names: &[String]) -> Result<()> {
        // Lines as the archive writes them are read without a JSON library; the rest (and
        // every refusal) the general way.
        if push_canonical(self, line, key_names) {
            return Ok(());
        }
        self.push_general(line, key_names)
    }

    /// [`push_line`](Self::push_line) through `serde_json`, for every form of line.
    pub(super) fn push_general(&mut self, line: &str, key_names: &[String]) -> Result<()> {
        let before = self.len();
        let de = serde_json::Deserializer::from_str(line);
        let checked = read_whole(de, |de| RowLine { rows: self }.deserialize(de))
            .map_err(line_error)
            .and_then(|(had_doc, key)| {
                record_key(key, key_names)?;
                had_doc.then_some(()).ok_or_else(no_document)
            });
        // A line refused adds no row.
        if checked.is_err() {
            self.rows.truncate(before);
            self.shapes.truncate(before);
        }
        checked
    }

    /// Adds a decoded row.
    pub(super) fn push(&mut self, built: RowBuilder) {
        let shape = Shape {
            width: built.row.len(),
            holes: (!built.holes.is_empty()).then(|| built.holes.into_boxed_slice()),
            bytes: built.row.iter().map(Value::approximate_size).sum(),
        };
        self.rows.push(built.row);
        self.shapes.push(shape);
    }

    /// Removes the last row.
    fn pop(&mut self) {
        self.rows.pop();
        self.shapes.pop();
    }

    /// Drops the first `n` rows (those a resumed read has already written).
    pub(crate) fn drop_front(&mut self, n: usize) {
        let n = n.min(self.len());
        self.rows.drain(..n);
        self.shapes.drain(..n);
    }

    /// Pads every row to the full width with `NULL`s: a row made before a column was first
    /// met does not have it.
    pub(crate) fn finish(&mut self) {
        let width = self.columns.len();
        for row in &mut self.rows {
            row.resize_with(width, || Value::Null);
        }
    }

    /// Moves the first `n` rows of `from` (which must be [`finish`](Self::finish)ed) to the
    /// end of these, mapping its columns onto these: only the columns those rows' records
    /// have come along (as a batch of records names only its records' attributes), those new
    /// here are added, and the rows already here get `NULL` for them.
    pub(crate) fn take_from(&mut self, from: &mut Rows, n: usize) {
        let n = n.min(from.len());
        let shapes: Vec<Shape> = from.shapes.drain(..n).collect();
        let moved = from.rows.drain(..n);
        let used: Vec<bool> = (0..from.columns.len())
            .map(|c| shapes.iter().any(|shape| shape.has(c)))
            .collect();
        let all_used = used.iter().all(|&u| u);
        if all_used && self.rows.is_empty() && self.columns != from.columns {
            self.columns.clone_from(&from.columns);
        }
        if all_used && self.columns == from.columns {
            self.rows.extend(moved);
            return;
        }
        let places: Vec<Option<usize>> = from
            .columns
            .iter()
            .zip(&used)
            .map(|(name, &used)| {
                used.then(|| match self.columns.iter().position(|c| c == name) {
                    Some(at) => at,
                    None => {
                        self.columns.push(name.clone());
                        self.columns.len() - 1
                    }
                })
            })
            .collect();
        let width = self.columns.len();
        for row in &mut self.rows {
            row.resize_with(width, || Value::Null);
        }
        for row in moved {
            let mut placed = vec![Value::Null; width];
            for (value, at) in row.into_iter().zip(&places) {
                if let Some(at) = at {
                    placed[*at] = value;
                }
            }
            self.rows.push(placed);
        }
    }

    /// How many rows there are.
    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    /// How many of the first rows (at most `max`) a batch with `room` bytes left takes, as
    /// [`Value::approximate_size`] counts them: rows until one reaches it (at least one), and
    /// their bytes. Asked of rows as decoded, which keep their shapes (a batch filled by
    /// [`take_from`](Self::take_from) keeps none).
    pub(crate) fn front_within(&self, max: usize, room: usize) -> (usize, usize) {
        debug_assert_eq!(self.shapes.len(), self.rows.len(), "rows as decoded");
        let mut bytes = 0;
        let mut taken = 0;
        for shape in self.shapes.iter().take(max) {
            if taken > 0 && bytes >= room {
                break;
            }
            bytes += shape.bytes;
            taken += 1;
        }
        (taken, bytes)
    }
}

/// One line: its key object `k` read as [`decode_line`](super::decode_line) reads it, its
/// document `v` pushed as a row. Yields whether a document was met, and the key.
struct RowLine<'r> {
    rows: &'r mut Rows,
}

type LineKey = (bool, Option<Vec<(String, Value)>>);

impl<'de> DeserializeSeed<'de> for RowLine<'_> {
    type Value = LineKey;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<LineKey, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowLine<'_> {
    type Value = LineKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an archive line: an object with `k` and `v`")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<LineKey, A::Error> {
        let (mut had_doc, mut key) = (false, None);
        while let Some(field) = map.next_key::<LineField>()? {
            match field {
                LineField::Key => key = Some(map.next_value::<Key<Typed>>()?.values()),
                LineField::Doc => {
                    let row = map.next_value_seed(RowDoc {
                        columns: &mut self.rows.columns,
                    })?;
                    // As a record would: a repeated `v` keeps the last.
                    if had_doc {
                        self.rows.pop();
                    }
                    self.rows.push(row);
                    had_doc = true;
                }
                LineField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok((had_doc, key))
    }
}

/// A document as a row: each attribute's value at its column's place, columns new to the
/// run added at the end.
struct RowDoc<'c> {
    columns: &'c mut Vec<String>,
}

impl<'de> DeserializeSeed<'de> for RowDoc<'_> {
    type Value = RowBuilder;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<RowBuilder, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowDoc<'_> {
    type Value = RowBuilder;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document: a JSON object of typed values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RowBuilder, A::Error> {
        let mut row = RowBuilder::with_capacity(self.columns.len());
        // Where the next attribute is expected: lines of one table name their columns in one
        // order, so the name is compared in place and found without a search.
        let mut expected = 0;
        while let Some(at) = map.next_key_seed(Column {
            columns: self.columns,
            expected,
        })? {
            row.put(at, map.next_value::<Typed>()?.0);
            expected = at + 1;
        }
        Ok(row)
    }
}

/// An attribute name read as its column's place, the column added when it is new.
struct Column<'c> {
    columns: &'c mut Vec<String>,
    expected: usize,
}

impl<'de> DeserializeSeed<'de> for Column<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<usize, D::Error> {
        let Column { columns, expected } = self;
        d.deserialize_str(text_visitor("an attribute name", move |name| {
            Ok(column_place(columns, expected, name))
        }))
    }
}

/// The place of the column `name` among `columns`, looked for at `expected` first (lines of
/// one table name their columns in one order) and added at the end when it is new.
pub(super) fn column_place(columns: &mut Vec<String>, expected: usize, name: &str) -> usize {
    if columns.get(expected).is_some_and(|c| c == name) {
        return expected;
    }
    match columns.iter().position(|c| c == name) {
        Some(at) => at,
        None => {
            columns.push(name.to_owned());
            columns.len() - 1
        }
    }
}

#[cfg(test)]
mod tests {
    use store_core::Document;

    use super::*;
    use crate::archive::{decode_line, encode_line};
    use crate::record::Record;

    /// What the records path makes of `lines`: each document's values in the order of the
    /// columns met first to last, `NULL` where one lacks a column.
    fn as_records(lines: &[String], names: &[String]) -> (Vec<String>, Vec<Vec<Value>>) {
        let docs: Vec<Document> = lines
            .iter()
            .map(|l| decode_line(l, names).unwrap().doc)
            .collect();
        let mut columns: Vec<String> = Vec::new();
        for doc in &docs {
            for name in doc.keys() {
                if !columns.iter().any(|c| c == name) {
                    columns.push(name.to_owned());
                }
            }
        }
        let rows = docs
            .iter()
            .map(|doc| {
                columns
                    .iter()
                    .map(|c| doc.get(c).cloned().unwrap_or(Value::Null))
                    .collect()
            })
            .collect();
        (columns, rows)
    }

    fn rows_of(lines: &[String], names: &[String]) -> Rows {
        let mut rows = Rows::default();
        for line in lines {
            rows.push_line(line, names).unwrap();
        }
        rows.finish();
        rows
    }

    #[test]
    fn rows_hold_what_the_records_hold_in_the_order_columns_were_met() {
        let names = vec!["id".to_owned()];
        let docs = [
            crate::codec::tests::every_kind().with("id", 1),
            Document::new().with("id", 2).with("late", "only here"),
            Document::new().with("late", true).with("id", 3),
            Document::new().with("id", 4),
        ];
        let lines: Vec<String> = docs
            .iter()
            .map(|d| encode_line(&Record::from_document(d.clone(), &names).unwrap()))
            .collect();
        let rows = rows_of(&lines, &names);
        let (columns, expected) = as_records(&lines, &names);
        assert_eq!(rows.columns, columns);
        assert_eq!(rows.rows, expected);
        assert!(rows.columns.iter().any(|c| c == "late"));
    }

    #[test]
    fn a_batch_names_only_the_attributes_its_own_records_have() {
        let names = vec!["id".to_owned()];
        let lines = [
            r#"{"k": {"id": {"N": "1"}}, "v": {"id": {"N": "1"}, "a": {"S": "x"}, "gone": {"S": "y"}}}"#,
            // Attributes in another order: the hole before `a`'s place is filled.
            r#"{"k": {"id": {"N": "2"}}, "v": {"a": {"S": "z"}, "id": {"N": "2"}}}"#,
            r#"{"k": {"id": {"N": "3"}}, "v": {"a": {"NULL": true}, "id": {"N": "3"}}}"#,
        ];
        let lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        let mut part = rows_of(&lines, &names);
        assert_eq!(part.columns, ["id", "a", "gone"]);
        let mut first = Rows::default();
        first.take_from(&mut part, 1);
        assert_eq!(first.columns, ["id", "a", "gone"]);
        // The rest lack `gone` (and an explicit NULL is an attribute the record has).
        let mut rest = Rows::default();
        rest.take_from(&mut part, 2);
        assert_eq!(rest.columns, ["id", "a"]);
        assert_eq!(
            rest.rows,
            [
                vec![Value::from(2), Value::from("z")],
                vec![Value::from(3), Value::Null]
            ]
        );
    }

    #[test]
    fn a_repeated_attribute_keeps_its_last_value_in_its_first_place() {
        let names = vec!["id".to_owned()];
        let line = r#"{"k": {"id": {"N": "1"}}, "v": {"id": {"N": "1"}, "a": {"S": "x"}, "id": {"N": "2"}}}"#;
        let rows = rows_of(&[line.to_owned()], &names);
        assert_eq!(rows.columns, ["id", "a"]);
        assert_eq!(rows.rows, [vec![Value::from(2), Value::from("x")]]);
    }

    #[test]
    fn broken_lines_are_refused_as_the_records_path_refuses_them_and_add_no_row() {
        let names = vec!["id".to_owned()];
        for line in [
            "not json",
            "{\"v\": {}}",
            "{\"k\": {}, \"v\": {}}",
            "{\"k\": {\"id\": {\"N\": \"1\"}}}",
            r#"{"k": {"id": {"N": "1"}}, "v": {"x": {"X": 1}}}"#,
            r#"{"k": {"id": {"N": "1"}}, "v": {}} trailing"#,
        ] {
            let mut rows = Rows::default();
            let err = rows.push_line(line, &names).unwrap_err();
            let theirs = decode_line(line, &names).unwrap_err();
            assert_eq!(err.message(), theirs.message(), "{line}");
            assert!(rows.rows.is_empty(), "{line}");
        }
    }

    #[test]
    fn rows_taken_from_a_run_of_other_columns_are_mapped_onto_these() {
        let names = vec!["id".to_owned()];
        let line = |doc: Document| encode_line(&Record::from_document(doc, &names).unwrap());
        let mut first = rows_of(&[line(Document::new().with("id", 1).with("a", 1))], &names);
        let mut second = rows_of(
            &[
                line(Document::new().with("b", 2).with("id", 2)),
                line(Document::new().with("id", 3).with("a", 3)),
            ],
            &names,
        );
        first.take_from(&mut second, 5);
        assert_eq!(first.len(), 3);
        let cell = |row: usize, name: &str| {
            let at = first.columns.iter().position(|c| c == name).unwrap();
            first.rows[row][at].clone()
        };
        let mut names_met = first.columns.clone();
        names_met.sort();
        assert_eq!(names_met, ["a", "b", "id"]);
        let expected = [
            (1, Value::from(1), Value::Null),
            (2, Value::Null, Value::from(2)),
            (3, Value::from(3), Value::Null),
        ];
        for (row, (id, a, b)) in expected.into_iter().enumerate() {
            assert_eq!(cell(row, "id"), Value::from(id));
            assert_eq!(cell(row, "a"), a);
            assert_eq!(cell(row, "b"), b);
        }
        assert_eq!(second.len(), 0);
    }
}
