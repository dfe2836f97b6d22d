//! Translation of the portable [`SearchQuery`] tree and [`SearchRequest`] to the query DSL.

use serde_json::{Map, Value as Json, json};
use store_core::search::{
    BoolQuery, MatchOperator, RangeBounds, SearchQuery, SearchRequest, SortField, SortOrder,
};

use crate::json::to_serde;

/// The query DSL for a portable query.
///
/// ```
/// use store_core::search::SearchQuery as Q;
/// let dsl = store_search::query_dsl(&Q::bool().filter(Q::term("status", "published")).build());
/// assert_eq!(dsl["bool"]["filter"][0]["term"]["status"]["value"], "published");
/// ```
pub fn query_dsl(query: &SearchQuery) -> Json {
    match query {
        SearchQuery::MatchAll => json!({"match_all": {}}),
        SearchQuery::Match {
            field,
            text,
            operator,
        } => {
            let op = match operator {
                MatchOperator::Or => "or",
                MatchOperator::And => "and",
            };
            json!({"match": {field: {"query": text, "operator": op}}})
        }
        SearchQuery::MatchPhrase { field, text } => {
            json!({"match_phrase": {field: {"query": text}}})
        }
        SearchQuery::Term { field, value } => json!({"term": {field: {"value": to_serde(value)}}}),
        SearchQuery::Terms { field, values } => {
            let values: Vec<Json> = values.iter().map(to_serde).collect();
            json!({"terms": {field: values}})
        }
        SearchQuery::Range { field, bounds } => json!({"range": {field: range(bounds)}}),
        SearchQuery::Prefix { field, prefix } => json!({"prefix": {field: {"value": prefix}}}),
        SearchQuery::Exists { field } => json!({"exists": {"field": field}}),
        SearchQuery::Bool(b) => bool_dsl(b),
    }
}

fn range(bounds: &RangeBounds) -> Json {
    let mut map = Map::new();
    for (name, bound) in [
        ("gt", &bounds.gt),
        ("gte", &bounds.gte),
        ("lt", &bounds.lt),
        ("lte", &bounds.lte),
    ] {
        if let Some(v) = bound {
            map.insert(name.to_owned(), to_serde(v));
        }
    }
    Json::Object(map)
}

fn bool_dsl(b: &BoolQuery) -> Json {
    let mut map = Map::new();
    for (name, clauses) in [
        ("must", &b.must),
        ("should", &b.should),
        ("must_not", &b.must_not),
        ("filter", &b.filter),
    ] {
        if !clauses.is_empty() {
            map.insert(
                name.to_owned(),
                Json::Array(clauses.iter().map(query_dsl).collect()),
            );
        }
    }
    // OpenSearch's default already requires one `should` only without must/filter; say so
    // explicitly so the meaning never depends on the server's default.
    if !b.should.is_empty() {
        let min = if b.must.is_empty() && b.filter.is_empty() {
            1
        } else {
            0
        };
        map.insert("minimum_should_match".to_owned(), json!(min));
    }
    json!({ "bool": map })
}

fn order(o: SortOrder) -> &'static str {
    match o {
        SortOrder::Asc => "asc",
        SortOrder::Desc => "desc",
    }
}

/// The sort clause of a request.
pub(crate) fn sort_dsl(sort: &[SortField]) -> Json {
    Json::Array(
        sort.iter()
            .map(|s| match s {
                SortField::Score(o) => json!({"_score": {"order": order(*o)}}),
                SortField::Field(f, o) => field_sort(f, *o),
            })
            .collect(),
    )
}

/// One field's sort clause. `_seq_no` and `_id`, which a read of every document sorts by, name
/// the type they have: on an index that has no mapping yet (created, never written to) the
/// server otherwise refuses the sort ("No mapping found for [_seq_no]") instead of returning
/// no hits. Every other field is sorted as it is mapped.
pub(crate) fn field_sort(field: &str, sort_order: SortOrder) -> Json {
    let unmapped = match field {
        "_seq_no" => Some("long"),
        "_id" => Some("keyword"),
        _ => None,
    };
    match unmapped {
        Some(kind) => json!({field: {"order": order(sort_order), "unmapped_type": kind}}),
        None => json!({field: {"order": order(sort_order)}}),
    }
}

/// The full search body of a request.
pub(crate) fn search_body(request: &SearchRequest) -> Json {
    let mut body = json!({
        "query": query_dsl(&request.query),
        "size": request.size,
        "track_total_hits": true,
    });
    if request.from > 0 {
        body["from"] = json!(request.from);
    }
    if !request.sort.is_empty() {
        body["sort"] = sort_dsl(&request.sort);
    }
    if let Some(after) = &request.search_after {
        body["search_after"] = Json::Array(after.iter().map(to_serde).collect());
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::search::SearchQuery as Q;

    #[test]
    fn translates_every_node() {
        let q = Q::bool()
            .must(Q::matches_all("title", "rust db"))
            .should(Q::phrase("body", "fast engine"))
            .must_not(Q::exists("deleted"))
            .filter(Q::range("year").gte(2020))
            .filter(Q::terms("tag", ["a", "b"]))
            .filter(Q::prefix("sku", "ab"))
            .build();
        let dsl = query_dsl(&q);
        assert_eq!(dsl["bool"]["must"][0]["match"]["title"]["operator"], "and");
        assert_eq!(
            dsl["bool"]["should"][0]["match_phrase"]["body"]["query"],
            "fast engine"
        );
        assert_eq!(dsl["bool"]["must_not"][0]["exists"]["field"], "deleted");
        assert_eq!(dsl["bool"]["filter"][0]["range"]["year"]["gte"], 2020);
        assert_eq!(dsl["bool"]["filter"][1]["terms"]["tag"], json!(["a", "b"]));
        assert_eq!(dsl["bool"]["filter"][2]["prefix"]["sku"]["value"], "ab");
        assert_eq!(dsl["bool"]["minimum_should_match"], 0);
    }
}
