//! From peeked `pgoutput` rows to what changed: the keys of the followed table's changed rows,
//! in the order of their last change, over whole transactions after a given LSN.

use std::collections::HashMap;
use std::fmt;

use store_core::{Result, StoreError};

use super::pgoutput::{Cell, Message, Relation, parse};

/// A write-ahead log position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Lsn(pub u64);

impl Lsn {
    /// Parses PostgreSQL's `X/Y` text form.
    pub(crate) fn parse(text: &str) -> Result<Self> {
        let bad = || StoreError::invalid_input(format!("`{text}` is not a PostgreSQL LSN (X/Y)"));
        let (high, low) = text.split_once('/').ok_or_else(bad)?;
        let high = u32::from_str_radix(high, 16).map_err(|_| bad())?;
        let low = u32::from_str_radix(low, 16).map_err(|_| bad())?;
        Ok(Self((u64::from(high) << 32) | u64::from(low)))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

/// A changed row's key, as the text of each key column.
pub(crate) type KeyText = Vec<String>;

/// What a run of whole transactions changed in the followed table.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Decoded {
    /// The keys of changed rows, each once, in the order of its last change.
    pub keys: Vec<KeyText>,
    /// The end of the last transaction read (`None` when none was after the start).
    pub end: Option<Lsn>,
    /// When the last transaction read committed (microseconds since 2000-01-01 UTC).
    pub commit_time: Option<i64>,
    /// Whether the table was truncated: its rows must be copied again.
    pub truncated: bool,
}

/// The followed table: its schema and name, and its key columns in key order.
#[derive(Debug, Clone)]
pub(crate) struct Followed {
    /// The table's OID, which pgoutput names it by.
    pub oid: u32,
    pub namespace: String,
    pub name: String,
    pub key: Vec<String>,
    /// The key columns' SQL types (`format_type`), to cast key text back.
    pub key_types: Vec<String>,
}

/// Decodes peeked messages, keeping transactions that end after `after`.
pub(crate) fn decode(messages: &[Vec<u8>], followed: &Followed, after: Lsn) -> Result<Decoded> {
    let mut relations: HashMap<u32, Relation> = HashMap::new();
    let mut out = Decoded::default();
    let mut pending: Vec<KeyText> = Vec::new();
    let mut truncated = false;
    let mut order: HashMap<KeyText, usize> = HashMap::new();
    let mut sequence: Vec<(usize, KeyText)> = Vec::new();
    for bytes in messages {
        match parse(bytes)? {
            Message::Begin { .. } => {
                pending.clear();
                truncated = false;
            }
            Message::Relation(relation) => {
                relations.insert(relation.id, relation);
            }
            Message::Insert { relation, new } => {
                if let Some(key) = key_of(&relations, relation, followed, &new)? {
                    pending.push(key);
                }
            }
            Message::Update { relation, old, new } => {
                if let Some(old) = old
                    && let Some(key) = key_of(&relations, relation, followed, &old)?
                {
                    pending.push(key);
                }
                if let Some(key) = key_of(&relations, relation, followed, &new)? {
                    pending.push(key);
                }
            }
            Message::Delete { relation, old } => {
                if let Some(key) = key_of(&relations, relation, followed, &old)? {
                    pending.push(key);
                }
            }
            Message::Truncate { relations: ids } => {
                truncated |= ids
                    .iter()
                    .any(|id| relations.get(id).is_some_and(|r| is_followed(r, followed)));
            }
            Message::Commit {
                end_lsn,
                commit_time,
            } => {
                if Lsn(end_lsn) <= after {
                    pending.clear();
                    continue;
                }
                out.end = Some(Lsn(end_lsn));
                out.commit_time = Some(commit_time);
                out.truncated |= truncated;
                for key in pending.drain(..) {
                    let at = sequence.len();
                    order.insert(key.clone(), at);
                    sequence.push((at, key));
                }
            }
            Message::Skipped => {}
        }
    }
    out.keys = sequence
        .into_iter()
        .filter(|(at, key)| order.get(key) == Some(at))
        .map(|(_, key)| key)
        .collect();
    Ok(out)
}

/// By OID, so a renamed or moved table is still itself.
fn is_followed(relation: &Relation, followed: &Followed) -> bool {
    relation.id == followed.oid
}

/// The key of a tuple of the followed table; `None` for another table's.
fn key_of(
    relations: &HashMap<u32, Relation>,
    id: u32,
    followed: &Followed,
    tuple: &[Cell],
) -> Result<Option<KeyText>> {
    let relation = relations.get(&id).ok_or_else(|| {
        StoreError::internal(format!(
            "pgoutput sent a change of relation {id} before describing it"
        ))
    })?;
    if !is_followed(relation, followed) {
        return Ok(None);
    }
    followed
        .key
        .iter()
        .map(|column| {
            let at = relation
                .columns
                .iter()
                .position(|c| &c.name == column)
                .ok_or_else(|| {
                    StoreError::invalid_input(format!(
                        "key column `{column}` is not in the replicated columns of {}.{}",
                        followed.namespace, followed.name
                    ))
                })?;
            match tuple.get(at) {
                Some(Cell::Text(text)) => Ok(text.clone()),
                _ => Err(StoreError::internal(format!(
                    "a change of {}.{} came without its key column `{column}`",
                    followed.namespace, followed.name
                ))),
            }
        })
        .collect::<Result<_>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text_round_trips() {
        let lsn = Lsn::parse("16/B374D848").unwrap();
        assert_eq!(lsn.0, 0x16_B374_D848);
        assert_eq!(lsn.to_string(), "16/B374D848");
        assert!(Lsn::parse("0/1").unwrap() < Lsn::parse("1/0").unwrap());
        assert!(Lsn::parse("zz").is_err());
    }

    fn relation(id: u32, name: &str) -> Vec<u8> {
        let mut m = vec![b'R'];
        m.extend(id.to_be_bytes());
        m.extend(b"public\0");
        m.extend(name.as_bytes());
        m.extend(b"\0d");
        m.extend(2u16.to_be_bytes());
        for (flag, col) in [(1u8, "id"), (0, "v")] {
            m.push(flag);
            m.extend(col.as_bytes());
            m.push(0);
            m.extend(25u32.to_be_bytes());
            m.extend((-1i32).to_be_bytes());
        }
        m
    }

    fn row(kind: u8, id: u32, tag: u8, key: &str) -> Vec<u8> {
        let mut m = vec![kind];
        m.extend(id.to_be_bytes());
        m.push(tag);
        m.extend(2u16.to_be_bytes());
        m.push(b't');
        m.extend((key.len() as u32).to_be_bytes());
        m.extend(key.as_bytes());
        m.push(b'n');
        m
    }

    fn begin() -> Vec<u8> {
        let mut m = vec![b'B'];
        m.extend([0; 8]);
        m.extend(7i64.to_be_bytes());
        m.extend(1u32.to_be_bytes());
        m
    }

    fn commit(end: u64) -> Vec<u8> {
        let mut m = vec![b'C', 0];
        m.extend(0u64.to_be_bytes());
        m.extend(end.to_be_bytes());
        m.extend(9i64.to_be_bytes());
        m
    }

    #[test]
    fn keys_come_once_in_order_of_their_last_change_after_the_start() {
        let followed = Followed {
            oid: 1,
            namespace: "public".into(),
            name: "orders".into(),
            key: vec!["id".into()],
            key_types: vec!["text".into()],
        };
        let messages = vec![
            begin(),
            relation(1, "orders"),
            relation(2, "other"),
            row(b'I', 1, b'N', "a"),
            commit(100),
            begin(),
            row(b'I', 1, b'N', "b"),
            row(b'I', 2, b'N', "elsewhere"),
            row(b'D', 1, b'K', "a"),
            row(b'I', 1, b'N', "c"),
            commit(200),
            begin(),
            row(b'I', 1, b'N', "b"),
            commit(300),
        ];
        let all = decode(&messages, &followed, Lsn(0)).unwrap();
        assert_eq!(all.keys, vec![vec!["a"], vec!["c"], vec!["b"]]);
        assert_eq!(all.end, Some(Lsn(300)));
        assert_eq!(all.commit_time, Some(9));
        // A transaction that ends at or before the start was applied already.
        let later = decode(&messages, &followed, Lsn(100)).unwrap();
        assert_eq!(later.keys, vec![vec!["a"], vec!["c"], vec!["b"]]);
        let last = decode(&messages, &followed, Lsn(200)).unwrap();
        assert_eq!(last.keys, vec![vec!["b"]]);
        let none = decode(&messages, &followed, Lsn(300)).unwrap();
        assert_eq!(none, Decoded::default());
    }
}
