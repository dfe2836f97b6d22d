//! The messages of PostgreSQL's `pgoutput` logical decoding plugin, protocol version 1, as the
//! SQL function `pg_logical_slot_peek_binary_changes` returns them (one message a row).
//!
//! Only what following a table needs is kept: transaction bounds with their LSNs and commit
//! time, relations (to name a change's table and its key columns), and each row change's
//! tuples as text. Type, origin and logical messages are recognised and skipped.

use store_core::{Result, StoreError};

/// One column of a relation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RelationColumn {
    /// Whether the column is part of the replica identity (the primary key by default).
    pub key: bool,
    /// The column's name.
    pub name: String,
}

/// A table, as a `Relation` message describes it before its first change in a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Relation {
    /// The table's OID, which later changes refer to.
    pub id: u32,
    /// Its schema.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its columns, in order.
    pub columns: Vec<RelationColumn>,
}

/// One column's value in a tuple.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cell {
    /// SQL NULL.
    Null,
    /// A TOASTed value the change did not touch (not sent).
    Unchanged,
    /// The value in its text form.
    Text(String),
}

/// A row's values, in column order.
pub(crate) type Tuple = Vec<Cell>;

/// One decoded message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// A transaction starts.
    Begin {
        /// Microseconds since 2000-01-01 UTC when it committed.
        commit_time: i64,
    },
    /// A transaction committed; `end_lsn` is where the next one starts.
    Commit {
        /// The LSN just past the commit record.
        end_lsn: u64,
        /// Microseconds since 2000-01-01 UTC.
        commit_time: i64,
    },
    /// A table's description.
    Relation(Relation),
    /// A row was inserted.
    Insert {
        /// The table's OID.
        relation: u32,
        /// The new row.
        new: Tuple,
    },
    /// A row was updated; `old` holds its old key (or whole old row) when the key changed or
    /// the table's replica identity is FULL.
    Update {
        /// The table's OID.
        relation: u32,
        /// The old key or row, when sent.
        old: Option<Tuple>,
        /// The new row.
        new: Tuple,
    },
    /// A row was deleted; `old` holds its key (or whole row).
    Delete {
        /// The table's OID.
        relation: u32,
        /// The old key or row.
        old: Tuple,
    },
    /// Tables were truncated.
    Truncate {
        /// Their OIDs.
        relations: Vec<u32>,
    },
    /// Anything this reader does not need (types, origins, logical messages).
    Skipped,
}

/// Decodes one message.
pub(crate) fn parse(bytes: &[u8]) -> Result<Message> {
    let mut r = Reader { bytes, at: 0 };
    let message = match r.u8()? {
        b'B' => {
            let _final_lsn = r.u64()?;
            let commit_time = r.i64()?;
            let _xid = r.u32()?;
            Message::Begin { commit_time }
        }
        b'C' => {
            let _flags = r.u8()?;
            let _commit_lsn = r.u64()?;
            let end_lsn = r.u64()?;
            let commit_time = r.i64()?;
            Message::Commit {
                end_lsn,
                commit_time,
            }
        }
        b'R' => {
            let id = r.u32()?;
            let namespace = r.string()?;
            let name = r.string()?;
            let _identity = r.u8()?;
            let count = r.u16()?;
            let mut columns = Vec::with_capacity(usize::from(count));
            for _ in 0..count {
                let flags = r.u8()?;
                let name = r.string()?;
                let _type = r.u32()?;
                let _modifier = r.i32()?;
                columns.push(RelationColumn {
                    key: flags & 1 == 1,
                    name,
                });
            }
            Message::Relation(Relation {
                id,
                namespace,
                name,
                columns,
            })
        }
        b'I' => {
            let relation = r.u32()?;
            r.expect(b'N')?;
            Message::Insert {
                relation,
                new: r.tuple()?,
            }
        }
        b'U' => {
            let relation = r.u32()?;
            let mut old = None;
            let mut tag = r.u8()?;
            if tag == b'K' || tag == b'O' {
                old = Some(r.tuple()?);
                tag = r.u8()?;
            }
            if tag != b'N' {
                return Err(malformed(format!("an update's new tuple tag is {tag}")));
            }
            Message::Update {
                relation,
                old,
                new: r.tuple()?,
            }
        }
        b'D' => {
            let relation = r.u32()?;
            let tag = r.u8()?;
            if tag != b'K' && tag != b'O' {
                return Err(malformed(format!("a delete's old tuple tag is {tag}")));
            }
            Message::Delete {
                relation,
                old: r.tuple()?,
            }
        }
        b'T' => {
            let count = r.u32()?;
            let _options = r.u8()?;
            let relations = (0..count).map(|_| r.u32()).collect::<Result<_>>()?;
            Message::Truncate { relations }
        }
        b'Y' | b'O' | b'M' => Message::Skipped,
        other => {
            return Err(malformed(format!(
                "unknown message type {:?}",
                char::from(other)
            )));
        }
    };
    Ok(message)
}

fn malformed(what: String) -> StoreError {
    StoreError::internal(format!("a pgoutput message is malformed: {what}"))
}

/// A cursor over a message's bytes (network byte order).
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let end = end.ok_or_else(|| malformed(format!("it ends before byte {}", self.at + n)))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    fn u16(&mut self) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    fn expect(&mut self, tag: u8) -> Result<()> {
        match self.u8()? {
            t if t == tag => Ok(()),
            t => Err(malformed(format!(
                "expected {:?}, found {:?}",
                char::from(tag),
                char::from(t)
            ))),
        }
    }

    /// A NUL-terminated string.
    fn string(&mut self) -> Result<String> {
        let rest = &self.bytes[self.at..];
        let len = rest
            .iter()
            .position(|&b| b == 0)
            .ok_or_else(|| malformed("a string has no terminator".into()))?;
        let text = String::from_utf8(rest[..len].to_vec())
            .map_err(|_| malformed("a name is not UTF-8".into()))?;
        self.at += len + 1;
        Ok(text)
    }

    fn tuple(&mut self) -> Result<Tuple> {
        let count = self.u16()?;
        (0..count)
            .map(|_| match self.u8()? {
                b'n' => Ok(Cell::Null),
                b'u' => Ok(Cell::Unchanged),
                b't' => {
                    let len = self.u32()? as usize;
                    let bytes = self.take(len)?.to_vec();
                    String::from_utf8(bytes)
                        .map(Cell::Text)
                        .map_err(|_| malformed("a value is not UTF-8".into()))
                }
                other => Err(malformed(format!("unknown column kind {other}"))),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tuple(cells: &[Option<&str>]) -> Vec<u8> {
        let mut out = (cells.len() as u16).to_be_bytes().to_vec();
        for cell in cells {
            match cell {
                None => out.push(b'n'),
                Some(text) => {
                    out.push(b't');
                    out.extend((text.len() as u32).to_be_bytes());
                    out.extend(text.as_bytes());
                }
            }
        }
        out
    }

    #[test]
    fn decodes_relations_and_row_changes() {
        let mut rel = vec![b'R'];
        rel.extend(16_384u32.to_be_bytes());
        rel.extend(b"public\0orders\0");
        rel.push(b'd');
        rel.extend(2u16.to_be_bytes());
        rel.push(1);
        rel.extend(b"id\0");
        rel.extend(20u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        rel.push(0);
        rel.extend(b"note\0");
        rel.extend(25u32.to_be_bytes());
        rel.extend((-1i32).to_be_bytes());
        let Message::Relation(relation) = parse(&rel).unwrap() else {
            panic!("a relation");
        };
        assert_eq!(relation.name, "orders");
        assert!(relation.columns[0].key && !relation.columns[1].key);

        let mut update = vec![b'U'];
        update.extend(16_384u32.to_be_bytes());
        update.push(b'K');
        update.extend(tuple(&[Some("1"), None]));
        update.push(b'N');
        update.extend(tuple(&[Some("2"), Some("é✓")]));
        assert_eq!(
            parse(&update).unwrap(),
            Message::Update {
                relation: 16_384,
                old: Some(vec![Cell::Text("1".into()), Cell::Null]),
                new: vec![Cell::Text("2".into()), Cell::Text("é✓".into())],
            }
        );

        let mut commit = vec![b'C', 0];
        commit.extend(10u64.to_be_bytes());
        commit.extend(0x1_0000_0020u64.to_be_bytes());
        commit.extend(5i64.to_be_bytes());
        assert_eq!(
            parse(&commit).unwrap(),
            Message::Commit {
                end_lsn: 0x1_0000_0020,
                commit_time: 5
            }
        );
    }

    #[test]
    fn truncated_or_unknown_messages_are_errors() {
        assert!(parse(&[b'I', 0, 0]).is_err());
        assert!(parse(b"Z").is_err());
        let mut insert = vec![b'I'];
        insert.extend(1u32.to_be_bytes());
        insert.push(b'N');
        insert.extend(1u16.to_be_bytes());
        insert.push(b't');
        insert.extend(100u32.to_be_bytes());
        insert.extend(b"short");
        let err = parse(&insert).unwrap_err();
        assert!(err.message().contains("malformed"), "{}", err.message());
    }
}
