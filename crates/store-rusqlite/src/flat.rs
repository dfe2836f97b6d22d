//! Rows of SQLite values in one flat buffer, for handing rows between the writer or reader
//! threads and the async side.
//!
//! A bulk load encodes its rows where the caller made them and the writer binds them from
//! the buffer; a query's producer copies each row's values out of SQLite and the consumer
//! builds the documents. Either way the receiving thread reads one contiguous buffer front to
//! back instead of chasing pointers through memory another core allocated, and every
//! allocation is freed on the thread that made it. Each row is its value count, then per
//! value a tag and its payload: an `i64`, an `f64`, or length-prefixed TEXT or BLOB bytes.

use rusqlite::types::ValueRef;
use store_core::{Result, StoreError};

const NULL: u8 = 0;
const INTEGER: u8 = 1;
const REAL: u8 = 2;
const TEXT: u8 = 3;
const BLOB: u8 = 4;

/// Rows of SQLite values.
#[derive(Debug, Default)]
pub(crate) struct FlatRows {
    bytes: Vec<u8>,
    rows: usize,
}

impl FlatRows {
    /// An empty buffer that reuses `bytes`' allocation.
    pub(crate) fn reuse(mut bytes: Vec<u8>) -> Self {
        bytes.clear();
        Self { bytes, rows: 0 }
    }

    /// Rows in the buffer.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes in the buffer.
    pub(crate) fn len(&self) -> usize {
        self.bytes.len()
    }

    /// The buffer's allocation, for reuse.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Starts a row of `width` values; push them next.
    pub(crate) fn begin_row(&mut self, width: usize) {
        let width = u32::try_from(width).unwrap_or(u32::MAX);
        self.bytes.extend_from_slice(&width.to_le_bytes());
        self.rows += 1;
    }

    /// Appends a value to the current row.
    pub(crate) fn push(&mut self, value: ValueRef<'_>) {
        match value {
            ValueRef::Null => self.bytes.push(NULL),
            ValueRef::Integer(i) => {
                self.bytes.push(INTEGER);
                self.bytes.extend_from_slice(&i.to_le_bytes());
            }
            ValueRef::Real(f) => {
                self.bytes.push(REAL);
                self.bytes.extend_from_slice(&f.to_bits().to_le_bytes());
            }
            ValueRef::Text(data) => self.bytes_of(TEXT, data),
            ValueRef::Blob(data) => self.bytes_of(BLOB, data),
        }
    }

    fn bytes_of(&mut self, tag: u8, data: &[u8]) {
        self.bytes.push(tag);
        self.bytes
            .extend_from_slice(&(data.len() as u64).to_le_bytes());
        self.bytes.extend_from_slice(data);
    }
}

/// Reads values back from [`FlatRows`], in order.
pub(crate) struct FlatReader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> FlatReader<'b> {
    pub(crate) fn new(rows: &'b FlatRows) -> Self {
        Self {
            bytes: &rows.bytes,
            at: 0,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'b [u8]> {
        let slice = self
            .bytes
            .get(self.at..self.at.saturating_add(n))
            .ok_or_else(|| StoreError::internal("a row buffer ended early"))?;
        self.at += n;
        Ok(slice)
    }

    fn eight(&mut self) -> Result<[u8; 8]> {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(self.take(8)?);
        Ok(raw)
    }

    /// The number of values in the next row.
    pub(crate) fn row_width(&mut self) -> Result<usize> {
        let mut raw = [0u8; 4];
        raw.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(raw) as usize)
    }

    /// The next value.
    pub(crate) fn value(&mut self) -> Result<ValueRef<'b>> {
        Ok(match self.take(1)?[0] {
            NULL => ValueRef::Null,
            INTEGER => ValueRef::Integer(i64::from_le_bytes(self.eight()?)),
            REAL => ValueRef::Real(f64::from_bits(u64::from_le_bytes(self.eight()?))),
            tag @ (TEXT | BLOB) => {
                let len = usize::try_from(u64::from_le_bytes(self.eight()?))
                    .map_err(|_| StoreError::internal("a row buffer value is too long"))?;
                let data = self.take(len)?;
                if tag == TEXT {
                    ValueRef::Text(data)
                } else {
                    ValueRef::Blob(data)
                }
            }
            _ => return Err(StoreError::internal("a row buffer is corrupt")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_come_back_as_pushed() {
        let values = [
            ValueRef::Null,
            ValueRef::Integer(i64::MIN),
            ValueRef::Integer(7),
            ValueRef::Real(-0.1),
            ValueRef::Real(f64::INFINITY),
            ValueRef::Text(b""),
            ValueRef::Text("héllo\0".as_bytes()),
            ValueRef::Blob(&[0, 0xff]),
            ValueRef::Blob(&[]),
        ];
        let mut rows = FlatRows::default();
        rows.begin_row(values.len());
        for v in values {
            rows.push(v);
        }
        rows.begin_row(1);
        rows.push(ValueRef::Integer(1));
        assert_eq!(rows.rows(), 2);
        let mut reader = FlatReader::new(&rows);
        assert_eq!(reader.row_width().unwrap(), values.len());
        for v in values {
            assert_eq!(reader.value().unwrap(), v);
        }
        assert_eq!(reader.row_width().unwrap(), 1);
        assert_eq!(reader.value().unwrap(), ValueRef::Integer(1));
        assert!(reader.value().is_err(), "the end is an error, not a panic");
        let reused = FlatRows::reuse(rows.into_bytes());
        assert_eq!((reused.rows(), reused.len()), (0, 0));
    }
}
