//! OpenSearch: the `SearchIndex` conformance suite and the store-search adapter's own tests,
//! against the harness's OpenSearch 2.19 node.

mod adapter;
mod bulk;
mod conformance;
mod lifecycle;
mod pit;
mod smoke;
mod support;
