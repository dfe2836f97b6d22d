//! A `_search` reply read straight into its hits: each hit's members are taken as they are
//! read, without first building the hit as a map of its own (five names and an index name
//! allocated per hit, then dropped) — a measurable share of a large read's time.

use store_core::search::Hit;
use store_core::{Document, Result, Value};

use super::{HitParts, Reader};

impl Reader<'_> {
    /// One hit, its members taken as they are read.
    fn hit(&mut self) -> Result<Hit> {
        let mut parts = HitParts::default();
        self.members(|reader, name| {
            parts.take(&name, reader.value(4)?);
            Ok(())
        })?;
        parts.finish()
    }

    /// The array of hits at `pos`.
    fn hit_list(&mut self) -> Result<Vec<Hit>> {
        if self.bytes.get(self.pos) != Some(&b'[') {
            return Err(self.error("`hits.hits` is not an array"));
        }
        let mut hits = Vec::new();
        self.elements(|reader| {
            hits.push(reader.hit()?);
            Ok(())
        })?;
        Ok(hits)
    }
}

/// A successful `_search` reply: everything but `hits.hits` as a value (total, aggregations,
/// a point in time's id…), and the hits, read straight from `bytes`.
pub(crate) fn parse_search_reply(bytes: &[u8]) -> Result<(Value, Vec<Hit>)> {
    let mut reader = Reader { bytes, pos: 0 };
    let mut rest = Document::new();
    let mut hits = Vec::new();
    reader.skip_ws();
    reader.members(|reader, name| {
        if name == "hits" && reader.bytes.get(reader.pos) == Some(&b'{') {
            let mut outer = Document::new();
            reader.members(|reader, name| {
                if name == "hits" {
                    hits = reader.hit_list()?;
                } else {
                    let value = reader.value(2)?;
                    outer.insert(name.into_owned(), value);
                }
                Ok(())
            })?;
            rest.insert("hits", Value::Map(outer));
        } else {
            let value = reader.value(1)?;
            rest.insert(name.into_owned(), value);
        }
        Ok(())
    })?;
    reader.skip_ws();
    if reader.pos != bytes.len() {
        return Err(reader.error("trailing characters after the JSON value"));
    }
    Ok((Value::Map(rest), hits))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{parse, parse_search, search_response};

    /// A reply read apart gives what the whole reply parsed as one value gives.
    #[test]
    fn hits_read_apart_equal_hits_read_from_the_whole_reply() {
        let reply = br#"{"pit_id":"abc=","took":3,"timed_out":false,
            "hits":{"total":{"value":2,"relation":"eq"},"max_score":null,"hits":[
              {"_index":"i","_id":"d\"1","_score":null,"_source":{"n":12345678901234567890123,
               "t":"caf\u00e9","l":[1,{"x":null}],"\u0061":true},"sort":[4999,"d\"1"]},
              {"_index":"i","_id":"d2","_score":1.5,"_source":{},"sort":[5000,"d2"]}]},
            "aggregations":{"a":{"value":1}}}"#;
        let (rest, hits) = parse_search_reply(reply).unwrap();
        let apart = search_response(rest.clone(), Some(hits)).unwrap();
        let whole = parse_search(parse(reply).unwrap()).unwrap();
        assert_eq!(apart, whole);
        assert_eq!(apart.hits.len(), 2);
        assert_eq!(apart.hits[0].id, "d\"1");
        assert_eq!(apart.hits[0].source.get("a"), Some(&Value::Bool(true)));
        assert_eq!(apart.total, 2);
        assert_eq!(
            crate::json::lookup(&rest, &["pit_id"]),
            Some(&Value::from("abc="))
        );
    }

    #[test]
    fn a_hit_without_an_id_or_a_broken_reply_is_an_error() {
        let no_id = br#"{"hits":{"hits":[{"_source":{}}]}}"#;
        assert!(parse_search_reply(no_id).is_err());
        for broken in [
            &br#"{"hits":{"hits":[{"_id":"a"}"#[..],
            b"{\"hits\":{\"hits\":{}}}",
            b"[]",
        ] {
            assert!(parse_search_reply(broken).is_err());
        }
    }
}
