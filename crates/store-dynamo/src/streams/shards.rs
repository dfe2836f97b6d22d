//! Where a reader stands in each shard of a stream, and which shards it may read next.
//!
//! DynamoDB splits and rotates shards: a child shard holds later changes of the keys its parent
//! held, so a child is read only after its parent is read to its end (or has aged out of the
//! stream before this reader ever knew it). A shard this reader was still reading that the
//! stream no longer lists lost changes the reader never saw: that is [`Lost`], never skipped.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One shard as `DescribeStream` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ShardInfo {
    /// The shard's id.
    #[serde(rename = "ShardId")]
    pub id: String,
    /// The shard it was split from, if any.
    #[serde(rename = "ParentShardId", default)]
    pub parent: Option<String>,
    /// Whether it is closed (has an ending sequence number): it takes no new records.
    #[serde(skip)]
    pub closed: bool,
}

/// Where reading stands in one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ShardPosition {
    /// Nothing read yet: start at the oldest record the stream keeps.
    Start,
    /// Continue after this sequence number.
    After(String),
    /// Read to its end; the shard is closed.
    Done,
}

/// Where reading stands in a whole stream: the stream's ARN and every shard met so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StreamPosition {
    /// The stream these positions belong to; a table's new stream is another stream.
    pub stream: String,
    /// Each known shard's position.
    pub shards: BTreeMap<String, ShardPosition>,
}

/// Changes the reader can no longer see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lost(pub String);

impl StreamPosition {
    /// A position taken now: the start of every open shard; closed shards count as read,
    /// since everything in them was written before now (a copy taken after covers it), so
    /// one that ages out before it is read is not a loss.
    pub(crate) fn start(stream: impl Into<String>, shards: &[ShardInfo]) -> Self {
        Self {
            stream: stream.into(),
            shards: shards
                .iter()
                .map(|s| {
                    let position = if s.closed {
                        ShardPosition::Done
                    } else {
                        ShardPosition::Start
                    };
                    (s.id.clone(), position)
                })
                .collect(),
        }
    }

    /// Brings the position up to date with the shards the stream lists now, and returns the
    /// shards that may be read, parents before children.
    ///
    /// New shards are added at their start. A known shard that is no longer listed is
    /// forgotten when it was read to its end, and is [`Lost`] otherwise.
    pub(crate) fn plan(&mut self, listed: &[ShardInfo]) -> Result<Vec<String>, Lost> {
        let listed_ids: BTreeMap<&str, &ShardInfo> =
            listed.iter().map(|s| (s.id.as_str(), s)).collect();
        for (id, position) in &self.shards {
            if !listed_ids.contains_key(id.as_str()) && *position != ShardPosition::Done {
                let read = match position {
                    ShardPosition::After(seq) => format!("after sequence number {seq}"),
                    _ => "from its start".to_owned(),
                };
                return Err(Lost(format!(
                    "shard {id} of {} was trimmed from the stream while still being read \
                     ({read}); its later changes are gone",
                    self.stream
                )));
            }
        }
        self.shards
            .retain(|id, position| listed_ids.contains_key(id.as_str()) || !position.is_done());
        for shard in listed {
            self.shards
                .entry(shard.id.clone())
                .or_insert(ShardPosition::Start);
        }
        Ok(listed
            .iter()
            .filter(|shard| !self.shards[&shard.id].is_done())
            .filter(|shard| self.parent_finished(shard, &listed_ids))
            .map(|shard| shard.id.clone())
            .collect())
    }

    /// Whether a shard's parent no longer holds anything to read before it: read to its end,
    /// or not listed (aged out before this reader knew it, or forgotten once done).
    fn parent_finished(&self, shard: &ShardInfo, listed: &BTreeMap<&str, &ShardInfo>) -> bool {
        match &shard.parent {
            None => true,
            Some(parent) if !listed.contains_key(parent.as_str()) => true,
            Some(parent) => self.shards.get(parent).is_some_and(ShardPosition::is_done),
        }
    }
}

impl ShardPosition {
    fn is_done(&self) -> bool {
        matches!(self, Self::Done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(id: &str, parent: Option<&str>) -> ShardInfo {
        ShardInfo {
            id: id.into(),
            parent: parent.map(Into::into),
            closed: false,
        }
    }

    #[test]
    fn shards_closed_when_the_position_is_taken_are_not_lost_when_they_age_out() {
        let old = ShardInfo {
            closed: true,
            ..shard("old", None)
        };
        let listed = vec![old, shard("new", Some("old"))];
        let mut pos = StreamPosition::start("arn", &listed);
        assert_eq!(pos.shards["old"], ShardPosition::Done);
        assert_eq!(pos.plan(&listed).unwrap(), vec!["new"]);
        assert_eq!(pos.plan(&listed[1..]).unwrap(), vec!["new"]);
    }

    #[test]
    fn children_wait_for_their_parent() {
        let listed = vec![
            shard("p", None),
            shard("c1", Some("p")),
            shard("c2", Some("p")),
        ];
        let mut pos = StreamPosition::start("arn", &listed[..1]);
        assert_eq!(pos.plan(&listed).unwrap(), vec!["p"]);
        pos.shards
            .insert("p".into(), ShardPosition::After("5".into()));
        assert_eq!(pos.plan(&listed).unwrap(), vec!["p"]);
        pos.shards.insert("p".into(), ShardPosition::Done);
        assert_eq!(pos.plan(&listed).unwrap(), vec!["c1", "c2"]);
        // The parent ages out: forgotten, and its children stay readable.
        assert_eq!(pos.plan(&listed[1..]).unwrap(), vec!["c1", "c2"]);
        assert!(!pos.shards.contains_key("p"));
    }

    #[test]
    fn a_shard_trimmed_while_being_read_is_lost() {
        let listed = vec![shard("a", None), shard("b", Some("a"))];
        let mut pos = StreamPosition::start("arn", &listed);
        pos.shards
            .insert("a".into(), ShardPosition::After("42".into()));
        let lost = pos.plan(&listed[1..]).unwrap_err();
        assert!(lost.0.contains("shard a"), "{}", lost.0);
        assert!(lost.0.contains("after sequence number 42"), "{}", lost.0);
        // A shard never read at all that disappears lost everything it held.
        let mut fresh = StreamPosition::start("arn", &listed);
        assert!(fresh.plan(&[]).is_err());
    }

    #[test]
    fn a_shard_whose_parent_aged_out_first_is_readable() {
        let mut pos = StreamPosition::start("arn", &[]);
        assert_eq!(pos.plan(&[shard("c", Some("gone"))]).unwrap(), vec!["c"]);
    }
}
