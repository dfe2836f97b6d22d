//! OpenSearch: the `SearchIndex` conformance suite and the store-search adapter's own tests,
//! against the harness's OpenSearch 2.19 node. The target `search_es` runs the same modules
//! against Elasticsearch 7.10.2.

use integration_tests::services::Service;

/// The server every test of this target runs against.
const CLUSTER: Service = Service::OpenSearch;

mod adapter;
mod aggregations;
mod bulk;
mod conformance;
mod cross_client;
mod lifecycle;
mod partial;
mod pit;
mod slices;
mod smoke;
mod support;
mod tls;
