//! The exact item encoding: a tagged binary form of [`Value`].
//!
//! An item is [`ITEM_FORMAT`] followed by its attributes as a map. Lengths and counts are
//! LEB128 varints. A number is its sign, its exponent (zigzag varint) and its digits as
//! written, so `1.50` reads back as `1.50`. Sets keep their elements in their set order.

use std::collections::BTreeSet;

use bytes::Bytes;
use store_core::{Document, Number, Result, StoreError, Value};

/// The first byte of every encoded item: the version of this encoding.
pub const ITEM_FORMAT: u8 = 1;

const NULL: u8 = 0;
const FALSE: u8 = 1;
const TRUE: u8 = 2;
const NUMBER: u8 = 3;
const STRING: u8 = 4;
const BYTES: u8 = 5;
const LIST: u8 = 6;
const MAP: u8 = 7;
const STRING_SET: u8 = 8;
const NUMBER_SET: u8 = 9;
const BYTES_SET: u8 = 10;

/// Encodes an item exactly.
///
/// ```
/// use store_core::{Document, Number, Value};
/// use store_redb::codec::{decode_document, encode_document};
/// let n: Number = "1.50".parse().unwrap();
/// let doc = Document::new().with("id", "a").with("price", Value::Number(n));
/// let back = decode_document(&encode_document(&doc)).unwrap();
/// assert_eq!(back.get("price").unwrap().as_number().unwrap().to_string(), "1.50");
/// ```
pub fn encode_document(doc: &Document) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(ITEM_FORMAT);
    push_map(&mut out, doc);
    out
}

/// Decodes an item written by [`encode_document`]; anything else is an `Internal` error
/// (the file holds a corrupt or foreign record).
pub fn decode_document(bytes: &[u8]) -> Result<Document> {
    let mut reader = Reader { bytes, at: 0 };
    match reader.byte()? {
        ITEM_FORMAT => {}
        other => {
            return Err(StoreError::internal(format!(
                "an item record has encoding version {other}; this store-redb reads version \
                 {ITEM_FORMAT}"
            )));
        }
    }
    let doc = reader.map()?;
    if reader.at != bytes.len() {
        return Err(corrupt("trailing bytes"));
    }
    Ok(doc)
}

fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let byte = (n & 0x7F) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    push_varint(out, len as u64);
}

fn push_slice(out: &mut Vec<u8>, bytes: &[u8]) {
    push_len(out, bytes.len());
    out.extend_from_slice(bytes);
}

fn push_number(out: &mut Vec<u8>, n: &Number) {
    out.push(u8::from(n.is_negative()));
    let e = i64::from(n.exponent());
    push_varint(out, ((e << 1) ^ (e >> 63)) as u64);
    push_slice(out, n.digits().as_bytes());
}

fn push_map(out: &mut Vec<u8>, doc: &Document) {
    push_len(out, doc.len());
    for (name, value) in doc.iter() {
        push_slice(out, name.as_bytes());
        push_value(out, value);
    }
}

fn push_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.push(NULL),
        Value::Bool(false) => out.push(FALSE),
        Value::Bool(true) => out.push(TRUE),
        Value::Number(n) => {
            out.push(NUMBER);
            push_number(out, n);
        }
        Value::String(s) => {
            out.push(STRING);
            push_slice(out, s.as_bytes());
        }
        Value::Bytes(b) => {
            out.push(BYTES);
            push_slice(out, b);
        }
        Value::List(items) => {
            out.push(LIST);
            push_len(out, items.len());
            for item in items {
                push_value(out, item);
            }
        }
        Value::Map(doc) => {
            out.push(MAP);
            push_map(out, doc);
        }
        Value::StringSet(set) => {
            out.push(STRING_SET);
            push_len(out, set.len());
            for s in set {
                push_slice(out, s.as_bytes());
            }
        }
        Value::NumberSet(set) => {
            out.push(NUMBER_SET);
            push_len(out, set.len());
            for n in set {
                push_number(out, n);
            }
        }
        Value::BytesSet(set) => {
            out.push(BYTES_SET);
            push_len(out, set.len());
            for b in set {
                push_slice(out, b);
            }
        }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::internal(format!("an item record is corrupt ({what})"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8> {
        let b = *self
            .bytes
            .get(self.at)
            .ok_or_else(|| corrupt("truncated"))?;
        self.at += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64> {
        let mut n = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte()?;
            n |= u64::from(b & 0x7F) << shift;
            if b & 0x80 == 0 {
                return Ok(n);
            }
        }
        Err(corrupt("overlong varint"))
    }

    fn len(&mut self) -> Result<usize> {
        let n = usize::try_from(self.varint()?).map_err(|_| corrupt("length"))?;
        if n > self.bytes.len() - self.at {
            return Err(corrupt("length past the end"));
        }
        Ok(n)
    }

    fn slice(&mut self) -> Result<&'a [u8]> {
        let n = self.len()?;
        let s = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    fn string(&mut self) -> Result<String> {
        let s = self.slice()?;
        String::from_utf8(s.to_vec()).map_err(|_| corrupt("text that is not UTF-8"))
    }

    fn bytes(&mut self) -> Result<Bytes> {
        Ok(Bytes::copy_from_slice(self.slice()?))
    }

    fn number(&mut self) -> Result<Number> {
        let negative = self.byte()? != 0;
        let z = self.varint()?;
        let exponent = ((z >> 1) as i64) ^ -((z & 1) as i64);
        let digits = std::str::from_utf8(self.slice()?).map_err(|_| corrupt("number digits"))?;
        let sign = if negative { "-" } else { "" };
        format!("{sign}{digits}E{exponent}")
            .parse()
            .map_err(|_| corrupt("number"))
    }

    fn map(&mut self) -> Result<Document> {
        let n = self.len()?;
        let mut doc = Document::with_capacity(n);
        for _ in 0..n {
            let name = self.string()?;
            let value = self.value()?;
            doc.insert(name, value);
        }
        Ok(doc)
    }

    fn value(&mut self) -> Result<Value> {
        Ok(match self.byte()? {
            NULL => Value::Null,
            FALSE => Value::Bool(false),
            TRUE => Value::Bool(true),
            NUMBER => Value::Number(self.number()?),
            STRING => Value::String(self.string()?),
            BYTES => Value::Bytes(self.bytes()?),
            LIST => {
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value()?);
                }
                Value::List(items)
            }
            MAP => Value::Map(self.map()?),
            STRING_SET => {
                let n = self.len()?;
                let mut set = BTreeSet::new();
                for _ in 0..n {
                    set.insert(self.string()?);
                }
                Value::StringSet(set)
            }
            NUMBER_SET => {
                let n = self.len()?;
                let mut set = BTreeSet::new();
                for _ in 0..n {
                    set.insert(self.number()?);
                }
                Value::NumberSet(set)
            }
            BYTES_SET => {
                let n = self.len()?;
                let mut set = BTreeSet::new();
                for _ in 0..n {
                    set.insert(self.bytes()?);
                }
                Value::BytesSet(set)
            }
            other => return Err(corrupt(&format!("unknown value tag {other}"))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_type_round_trips_exactly() {
        let n = |t: &str| t.parse::<Number>().unwrap();
        let doc = Document::new()
            .with("null", Value::Null)
            .with("t", true)
            .with("f", false)
            .with("scaled", Value::Number(n("1.50")))
            .with("neg", Value::Number(n("-0.000123")))
            .with(
                "big",
                Value::Number(n("12345678901234567890123456789012345678")),
            )
            .with("tiny", Value::Number(n("1E-130")))
            .with("zero", Value::Number(n("0.00")))
            .with("s", "héllo\0")
            .with("b", Value::Bytes(Bytes::from_static(b"\0\xff")))
            .with("l", Value::List(vec![Value::Null, 1.into(), "x".into()]))
            .with("m", Value::Map(Document::new().with("in", 2)))
            .with(
                "ss",
                Value::StringSet(["a".to_owned(), "b".to_owned()].into()),
            )
            .with("ns", Value::NumberSet([n("1.10"), n("-3")].into()))
            .with("bs", Value::BytesSet([Bytes::from_static(b"z")].into()));
        let back = decode_document(&encode_document(&doc)).unwrap();
        assert_eq!(back, doc);
        let shown = |d: &Document| format!("{d:?}");
        assert_eq!(shown(&back), shown(&doc));
        assert_eq!(
            back.keys().collect::<Vec<_>>(),
            doc.keys().collect::<Vec<_>>()
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bad in [
            &b""[..],
            b"\x02",
            b"\x01\x05",
            b"\x01\x01\x01a\x63",
            b"\x01\x01\x01a\x04\xff\xff",
        ] {
            assert!(decode_document(bad).is_err(), "{bad:?}");
        }
    }
}
