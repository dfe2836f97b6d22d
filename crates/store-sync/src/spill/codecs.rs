//! How the entries `sync` and `check` spill are written: a digest as its 32 bytes; a key or a
//! record, after the digest, as its key's attribute names (a JSON array and a newline) and
//! its archive line, which is exact for every value.

use store_core::{Document, ObjectKey, Result, StoreError};

use super::frames::Spill;
use super::join::Pairs;
use crate::archive::{check_nesting, decode_written, write_line_as_given};
use crate::digest::RecordDigest;
use crate::record::{Record, RecordKey};

impl Pairs<RecordDigest> for RecordDigest {
    /// The same record on the other side (of twins under one id, each meets its equal).
    fn pairs_with(&self, probe: &RecordDigest) -> bool {
        self == probe
    }
}

impl Spill for RecordDigest {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        let digest = bytes
            .get(..32)
            .ok_or_else(|| damaged("a digest is short"))?;
        Ok(Self(digest.try_into().expect("32 bytes")))
    }
}

impl Spill for ObjectKey {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_str().as_bytes());
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        let text = std::str::from_utf8(bytes).map_err(|_| damaged("a key is not UTF-8"))?;
        ObjectKey::new(text).map_err(|e| damaged(e.message()))
    }
}

/// Nothing: an id alone.
impl Spill for () {
    fn write(&self, _out: &mut Vec<u8>) {}

    fn read(_bytes: &[u8]) -> Result<Self> {
        Ok(())
    }
}

impl Spill for RecordKey {
    fn write(&self, out: &mut Vec<u8>) {
        write_record(
            out,
            &Record {
                key: self.clone(),
                doc: Document::new(),
            },
        );
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        Ok(read_record(bytes)?.key)
    }
}

/// Writes the record's key names (in key order) and its archive line.
fn write_record(out: &mut Vec<u8>, record: &Record) {
    let names: Vec<&str> = record.key.parts().iter().map(|(n, _)| n.as_str()).collect();
    serde_json::to_writer(&mut *out, &names).expect("names encode");
    // JSON text holds no raw newline, so the first one ends the names.
    out.push(b'\n');
    write_line_as_given(out, record);
}

/// The record [`write_record`] wrote.
fn read_record(bytes: &[u8]) -> Result<Record> {
    let split = bytes
        .iter()
        .position(|&b| b == b'\n')
        .ok_or_else(|| damaged("a record has no key names"))?;
    let names: Vec<String> = serde_json::from_slice(&bytes[..split])
        .map_err(|e| damaged(&format!("a record's key names: {e}")))?;
    decode_written(&bytes[split + 1..], &names).map_err(|e| damaged(e.message()))
}

/// What an entry that does not decode is told: the spill file was changed or cut.
fn damaged(what: &str) -> StoreError {
    StoreError::internal(format!("a spill file is damaged: {what}"))
}

/// A key packed into the bytes it spills as: a third of the memory a [`RecordKey`] takes
/// (one allocation, no copies of the id), unpacked only when it is used.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PackedKey(Box<[u8]>);

impl PackedKey {
    /// Packs `key`.
    pub(crate) fn of(key: &RecordKey) -> Self {
        let mut bytes = Vec::new();
        key.write(&mut bytes);
        Self(bytes.into_boxed_slice())
    }

    /// The key packed.
    pub(crate) fn unpack(&self) -> Result<RecordKey> {
        RecordKey::read(&self.0)
    }

    /// Unpacks every key of `packed`.
    pub(crate) fn unpack_all(packed: &[Self]) -> Result<Vec<RecordKey>> {
        packed.iter().map(Self::unpack).collect()
    }
}

impl Spill for PackedKey {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        Ok(Self(bytes.into()))
    }
}

/// A sink's record as `sync` remembers it: its key (to delete it by) and its digest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeyAndDigest {
    pub(crate) key: PackedKey,
    pub(crate) digest: RecordDigest,
}

impl Spill for KeyAndDigest {
    fn write(&self, out: &mut Vec<u8>) {
        self.digest.write(out);
        self.key.write(out);
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            digest: RecordDigest::read(bytes)?,
            key: PackedKey::read(&bytes[32..])?,
        })
    }
}

impl Pairs<RecordAndDigest> for KeyAndDigest {
    /// The sink's record under exactly the source record's key (of twins under one id, such
    /// as `1` and `1.0` in a SQLite TEXT column, each meets its own).
    fn pairs_with(&self, probe: &RecordAndDigest) -> bool {
        self.key == PackedKey::of(&probe.record.key)
    }
}

impl Pairs<()> for PackedKey {
    fn pairs_with(&self, _probe: &()) -> bool {
        true
    }
}

/// A source's record waiting to be compared: the record (to write it) and its digest.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RecordAndDigest {
    pub(crate) record: Record,
    pub(crate) digest: RecordDigest,
}

impl Spill for RecordAndDigest {
    fn write(&self, out: &mut Vec<u8>) {
        self.digest.write(out);
        write_record(out, &self.record);
    }

    /// A record nested deeper than a line is read is refused by its key (with what to do),
    /// before anything is written.
    fn check(&self) -> Result<()> {
        check_nesting(&self.record).map_err(|e| {
            StoreError::invalid_input(format!(
                "{}; a sync spilling past --in-memory-keys writes records as such lines, so \
                 raise --in-memory-keys past the source's size to sync this one in memory",
                e.message()
            ))
        })
    }

    fn read(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            digest: RecordDigest::read(bytes)?,
            record: read_record(&bytes[32..])?,
        })
    }
}

#[cfg(test)]
mod tests {
    use store_core::Value;

    use super::*;
    use crate::digest::Comparison;

    fn round_trip<T: Spill>(entry: &T) -> T {
        let mut bytes = Vec::new();
        entry.write(&mut bytes);
        T::read(&bytes).unwrap()
    }

    #[test]
    fn keys_and_records_come_back_exactly() {
        let doc = crate::codec::tests::every_kind()
            .with("id", 7)
            .with("part", "ü#\\");
        let names = vec!["part".to_owned(), "id".to_owned()];
        let record = Record::from_document(doc, &names).unwrap();
        let digest = RecordDigest::of(&record, Comparison::Typed);
        let entry = RecordAndDigest {
            record: record.clone(),
            digest,
        };
        assert_eq!(round_trip(&entry), entry);
        let key = KeyAndDigest {
            key: PackedKey::of(&record.key),
            digest,
        };
        assert_eq!(round_trip(&key), key);
        assert_eq!(round_trip(&key).key.unpack().unwrap(), record.key);
        let id_only = RecordKey::id_only("doc-1");
        assert_eq!(round_trip(&id_only), id_only);
        let numeric_id = RecordKey::new(vec![("_id".to_owned(), Value::from(5))]).unwrap();
        assert_eq!(round_trip(&numeric_id), numeric_id);
        let bytes_key =
            RecordKey::new(vec![("b".to_owned(), Value::Bytes(vec![0, 255].into()))]).unwrap();
        assert_eq!(round_trip(&bytes_key), bytes_key);
    }

    #[test]
    fn a_record_nested_deeper_than_a_line_is_read_is_refused_before_it_is_written() {
        let deep = (0..300).fold(Value::from("bottom"), |inner, _| Value::List(vec![inner]));
        let doc = Document::new().with("id", "k-1").with("deep", deep);
        let record = Record::from_document(doc, &["id".to_owned()]).unwrap();
        let entry = RecordAndDigest {
            digest: RecordDigest::of(&record, crate::digest::Comparison::Typed),
            record,
        };
        let base = tempfile::tempdir().unwrap();
        let dir = super::super::dir::SpillDir::create(Some(base.path())).unwrap();
        let mut file = super::super::frames::FrameWriter::create(&dir).unwrap();
        let err = file.push("k-1", &entry).unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        for part in ["`k-1` holds a value nested 300", "raise --in-memory-keys"] {
            assert!(err.message().contains(part), "{}", err.message());
        }
    }

    #[test]
    fn a_record_comes_back_with_its_attributes_in_their_order() {
        let nested = Document::new().with("z", 1).with("a", 2).with("m", 3);
        let doc = Document::new()
            .with("zeta", "last by name")
            .with("id", "k-1")
            .with("alpha", Value::List(vec![Value::Map(nested.clone())]))
            .with("mid", Value::Map(nested));
        let record = Record::from_document(doc, &["id".to_owned()]).unwrap();
        let entry = RecordAndDigest {
            digest: RecordDigest::of(&record, crate::digest::Comparison::Typed),
            record,
        };
        let back = round_trip(&entry).record.doc;
        let names =
            |doc: &Document| -> Vec<String> { doc.iter().map(|(n, _)| n.to_owned()).collect() };
        assert_eq!(names(&back), ["zeta", "id", "alpha", "mid"]);
        let Some(Value::Map(mid)) = back.get("mid") else {
            panic!("mid is a map")
        };
        assert_eq!(names(mid), ["z", "a", "m"]);
        let Some(Value::List(items)) = back.get("alpha") else {
            panic!("alpha is a list")
        };
        let Value::Map(inner) = &items[0] else {
            panic!("a map in the list")
        };
        assert_eq!(names(inner), ["z", "a", "m"]);
    }
}
