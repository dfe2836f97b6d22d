//! The reader on a recorded stream with shard splits (fixtures/split.json), no server.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use serde_json::Value as Json;
use store_core::{Document, Result, Value, from_json};

use super::api::{ReadError, RecordsPage, StreamsApi};
use super::reader::{ReadLoop, StreamBatch, StreamItem, decode, encode};
use super::record::{StreamEvent, StreamRecord};
use super::shards::{ShardInfo, ShardPosition, StreamPosition};

/// The recorded stream, served as the three calls would serve it.
struct Fixture {
    arn: String,
    shards: Vec<ShardInfo>,
    closed: HashSet<String>,
    records: HashMap<String, Vec<StreamRecord>>,
}

fn document(json: &Json) -> Document {
    match from_json(json.clone()).unwrap() {
        Value::Map(doc) => doc,
        other => panic!("not a map: {other:?}"),
    }
}

impl Fixture {
    fn load() -> Self {
        let json: Json = serde_json::from_str(include_str!("fixtures/split.json")).unwrap();
        let description = &json["StreamDescription"];
        let mut shards: Vec<ShardInfo> =
            serde_json::from_value(description["Shards"].clone()).unwrap();
        let closed: HashSet<String> = description["Shards"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["SequenceNumberRange"]["EndingSequenceNumber"].is_string())
            .map(|s| s["ShardId"].as_str().unwrap().to_owned())
            .collect();
        for shard in &mut shards {
            shard.closed = closed.contains(&shard.id);
        }
        let records = json["Records"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(shard, list)| {
                let list = list.as_array().unwrap().iter().map(|r| {
                    let data = &r["dynamodb"];
                    StreamRecord {
                        event: match r["eventName"].as_str().unwrap() {
                            "INSERT" => StreamEvent::Insert,
                            "MODIFY" => StreamEvent::Modify,
                            _ => StreamEvent::Remove,
                        },
                        keys: document(&data["Keys"]),
                        new_image: data.get("NewImage").map(document),
                        old_image: None,
                        sequence_number: data["SequenceNumber"].as_str().unwrap().to_owned(),
                        shard_id: shard.clone(),
                        approximate_time: None,
                        by_ttl: false,
                    }
                });
                (shard.clone(), list.collect())
            })
            .collect();
        Self {
            arn: description["StreamArn"].as_str().unwrap().to_owned(),
            shards,
            closed,
            records,
        }
    }
}

#[async_trait]
impl StreamsApi for Fixture {
    async fn shards(&self, _stream: &str) -> Result<Vec<ShardInfo>> {
        Ok(self.shards.clone())
    }

    async fn iterator(
        &self,
        _stream: &str,
        shard: &str,
        from: &ShardPosition,
    ) -> std::result::Result<String, ReadError> {
        let start = match from {
            ShardPosition::After(seq) => {
                self.records[shard]
                    .iter()
                    .position(|r| &r.sequence_number == seq)
                    .expect("a recorded sequence number")
                    + 1
            }
            _ => 0,
        };
        Ok(start.to_string())
    }

    async fn records(
        &self,
        shard: &str,
        iterator: &str,
        limit: usize,
    ) -> std::result::Result<RecordsPage, ReadError> {
        let all = &self.records[shard];
        let start: usize = iterator.parse().unwrap();
        let end = (start + limit).min(all.len());
        let open = !self.closed.contains(shard);
        Ok(RecordsPage {
            records: all[start..end].to_vec(),
            next: (end < all.len() || open).then(|| end.to_string()),
        })
    }
}

/// Reads from `position` until caught up; returns the batches.
async fn read_until_caught_up(fixture: &Fixture, position: StreamPosition) -> Vec<StreamBatch> {
    let mut stream = ReadLoop::new(fixture, position, 2, Duration::from_millis(1)).into_stream();
    let mut batches = Vec::new();
    while let Some(item) = stream.next().await {
        match item.unwrap() {
            StreamItem::Records(batch) if batch.caught_up => return batches,
            StreamItem::Records(batch) => batches.push(batch),
            StreamItem::PositionLost { reason } => panic!("lost: {reason}"),
        }
    }
    panic!("the stream ended before catching up")
}

fn sequence_numbers(batches: &[StreamBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| b.records.iter().map(|r| r.sequence_number.clone()))
        .collect()
}

#[tokio::test]
async fn every_key_is_read_in_order_across_splits() {
    let fixture = Fixture::load();
    let batches = read_until_caught_up(&fixture, StreamPosition::start(&fixture.arn, &[])).await;
    let seen = sequence_numbers(&batches);
    assert_eq!(seen.len(), 9, "every record once: {seen:?}");
    assert_eq!(seen.iter().collect::<HashSet<_>>().len(), 9, "{seen:?}");
    // Applying in reading order leaves each key at its newest version.
    let mut state: HashMap<String, Option<i64>> = HashMap::new();
    let mut versions: HashMap<String, Vec<i64>> = HashMap::new();
    for record in batches.iter().flat_map(|b| &b.records) {
        let key = record.keys.get("id").unwrap().as_str().unwrap().to_owned();
        let version = record
            .new_image
            .as_ref()
            .map(|doc| doc.get("v").unwrap().as_i64().unwrap());
        if let Some(v) = version {
            versions.entry(key.clone()).or_default().push(v);
        }
        state.insert(key, version);
    }
    for (key, list) in &versions {
        assert!(
            list.windows(2).all(|w| w[0] < w[1]),
            "{key} read out of order: {list:?}"
        );
    }
    assert_eq!(state["a"], Some(4));
    assert_eq!(state["b"], Some(2));
    assert_eq!(state["c"], Some(3));
}

#[tokio::test]
async fn a_saved_position_resumes_with_nothing_lost_or_repeated() {
    let fixture = Fixture::load();
    let all = sequence_numbers(
        &read_until_caught_up(&fixture, StreamPosition::start(&fixture.arn, &[])).await,
    );
    for cut in 1..4 {
        let first = read_until_caught_up(&fixture, StreamPosition::start(&fixture.arn, &[])).await;
        let saved = first[cut - 1].position.clone();
        let before = sequence_numbers(&first[..cut]);
        let after =
            sequence_numbers(&read_until_caught_up(&fixture, decode(&saved).unwrap()).await);
        // Shards that do not depend on each other may be visited in another order after a
        // resume; what matters is that nothing is lost or read twice.
        let mut resumed = [before, after].concat();
        resumed.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(resumed, expected, "resumed after batch {cut}");
    }
}

#[tokio::test]
async fn a_shard_trimmed_while_being_read_is_reported() {
    let mut fixture = Fixture::load();
    let mut position = StreamPosition::start(&fixture.arn, &fixture.shards);
    position
        .shards
        .insert("shardId-01".into(), ShardPosition::After("101".into()));
    fixture.shards.retain(|s| s.id != "shardId-01");
    let saved = encode(&position).unwrap();
    let mut stream =
        ReadLoop::new(&fixture, decode(&saved).unwrap(), 10, Duration::ZERO).into_stream();
    match stream.next().await.unwrap().unwrap() {
        StreamItem::PositionLost { reason } => {
            assert!(reason.contains("shardId-01"), "{reason}")
        }
        other => panic!("expected a lost position, got {other:?}"),
    }
    assert!(
        stream.next().await.is_none(),
        "the reader ends after a loss"
    );
}
