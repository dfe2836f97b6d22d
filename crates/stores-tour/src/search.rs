//! The search part of the tour (the seed's `ElasticsearchManager` scenario).

use serde::{Deserialize, Serialize};
use store_core::search::{BulkOp, FieldType, IndexSpec, SearchQuery, SearchRequest, SortField};
use store_core::{SearchIndex, SearchIndexExt, to_document};

use crate::step;

#[derive(Debug, Serialize, Deserialize)]
struct Person {
    name: String,
    age: u32,
}

/// Creates an index (or opens the one an earlier run kept), indexes and bulk-loads
/// documents, searches and counts. With `keep`, the index stays for the next run, which finds
/// its run counter there; otherwise it is dropped at the end.
pub(crate) async fn run(index: &dyn SearchIndex, keep: bool) -> anyhow::Result<()> {
    let service = index.backend();
    if index.exists().await? {
        step(
            service,
            &format!("open index {}", index.name()),
            "kept from an earlier run",
        );
    } else {
        let spec = IndexSpec::new()
            .field("name", FieldType::Text)
            .field("age", FieldType::Long)
            .replicas(0);
        index.create(&spec).await?;
        step(
            service,
            &format!("create index {}", index.name()),
            "name: text, age: long",
        );
    }
    crate::runs::count_in_index(index).await?;

    index
        .index_as(
            "1",
            &Person {
                name: "张三".into(),
                age: 30,
            },
        )
        .await?;
    step(service, "index document 1", "stored");

    let people = [
        ("2", "李四", 25),
        ("3", "王五", 41),
        ("4", "Zhang San Jr", 8),
    ];
    let ops = people
        .iter()
        .map(|(id, name, age)| {
            Ok(BulkOp::Index {
                id: (*id).to_string(),
                doc: to_document(&Person {
                    name: (*name).into(),
                    age: *age,
                })?,
            })
        })
        .collect::<store_core::Result<Vec<_>>>()?;
    let report = index.bulk(ops).await?;
    step(
        service,
        "bulk index 3 documents",
        format!("{} ok, {} failed", report.succeeded, report.failed.len()),
    );
    index.refresh().await?;

    let found = index
        .search_as::<Person>(&SearchRequest::new(SearchQuery::matches("name", "张三")))
        .await?;
    let names: Vec<&str> = found.iter().map(|(_, p)| p.name.as_str()).collect();
    step(service, "search match name = 张三", format!("{names:?}"));

    let adults = SearchRequest::new(SearchQuery::range("age").gte(18)).sort(SortField::desc("age"));
    let hits = index.search_as::<Person>(&adults).await?;
    let ages: Vec<u32> = hits.iter().map(|(_, p)| p.age).collect();
    step(
        service,
        "search age >= 18, oldest first",
        format!("ages {ages:?}"),
    );

    let count = index.count(&SearchQuery::exists("age")).await?;
    step(service, "count people (documents with an age)", count);
    if !keep {
        index.drop_index().await?;
    }
    Ok(())
}
