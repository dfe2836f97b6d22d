#![doc = include_str!("../README.md")]
//!
//! ## API at a glance
//!
//! One handle type serves both servers: [`OpenSearchIndex::cluster`] reads which server and
//! version it talks to once, and the few APIs that differ follow from it (today the point in
//! time behind [`OpenSearchIndex::search_pit`]). Tested against OpenSearch 2.19 and
//! Elasticsearch 7.10.2; see [`ClusterInfo`] for what is chosen on other versions.
//!
//! - [`OpenSearchIndex::builder`] (an [`OpenSearchIndexBuilder`]: the cluster URL, basic auth,
//!   a private CA for HTTPS, else the environment), [`OpenSearchIndex::from_env`], and
//!   [`OpenSearchIndex::from_client`] for a client you configured; the transport never uses a
//!   system proxy and no credential appears in Debug, logs or errors.
//! - [`OpenSearchIndex`]: documents (index, create-only, get, partial update, delete, optimistic
//!   concurrency), search through the portable query tree or raw DSL ([`OpenSearchIndex::search_dsl`]),
//!   count, refresh, the native client ([`OpenSearchIndex::client`]).
//! - [`OpenSearchIndex::bulk_stream`] with [`BulkOptions`]: streams of any length in chunked,
//!   concurrent `_bulk` requests; only 429/503 items are retried; every failure reported.
//!
//! - Index lifecycle: [`OpenSearchIndex::create_raw`], [`OpenSearchIndex::mapping`], settings,
//!   aliases ([`OpenSearchIndex::update_aliases`]), [`OpenSearchIndex::bulk_load_mode`] and the
//!   zero-downtime [`OpenSearchIndex::reindex`].
//! - [`OpenSearchIndex::aggregate`]: terms, range, date histogram, stats and cardinality
//!   aggregations as typed [`Aggregations`] and [`AggregationResults`].
//! - [`OpenSearchIndex::search_pit`]: every match of a search, from a point in time (or a scroll
//!   where the server has none); [`OpenSearchIndex::search_pit_sliced`] reads it in parallel
//!   slices.
//!
//! Amazon OpenSearch Service: build a transport with
//! `TransportBuilder::auth(Credentials::AwsSigV4(provider, region)).service_name("es")` (the
//! `aws-auth` feature of [`opensearch`] is on) and hand the client to
//! [`OpenSearchIndex::from_client`].
//!
//! Numbers are exact both ways: documents are written as JSON with the exact decimal text of
//! every number and responses are parsed without going through `f64`.

mod admin;
mod aggs;
mod bulk;
mod cluster;
mod config;
mod error;
mod http;
mod index;
mod json;
mod mapping;
mod pit;
mod query;
mod search_index;

pub use admin::{AliasAction, ReindexOutcome, ReindexSource};
pub use aggs::{
    Aggregation, AggregationResult, AggregationResults, Aggregations, DateBucket, DateInterval,
    RangeBucket, Stats, TermsBucket,
};
pub use bulk::BulkOptions;
pub use cluster::{ClusterInfo, Distribution, PointInTimeApi, ServerVersion};
pub use config::OpenSearchIndexBuilder;
pub use index::OpenSearchIndex;
pub use pit::{PitSlices, SliceOf};
pub use query::query_dsl;
pub use store_core::search::MAX_ID_BYTES;

/// The client this adapter is built on, for direct use.
pub use opensearch as sdk;
