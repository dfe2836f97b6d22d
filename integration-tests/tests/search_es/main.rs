//! Elasticsearch: every test of the `search` target — the `SearchIndex` conformance suite and
//! the store-search adapter's own tests — against the harness's Elasticsearch 7.10.2 node.
//! None is left out: what the node lacks (point in time, which is x-pack there) store-search
//! replaces by itself (a scroll), and the tests check that it did.

use integration_tests::services::Service;

/// The server every test of this target runs against.
const CLUSTER: Service = Service::Elasticsearch;

#[path = "../search/adapter.rs"]
mod adapter;
#[path = "../search/aggregations.rs"]
mod aggregations;
#[path = "../search/bulk.rs"]
mod bulk;
#[path = "../search/conformance.rs"]
mod conformance;
#[path = "../search/cross_client.rs"]
mod cross_client;
#[path = "../search/lifecycle.rs"]
mod lifecycle;
#[path = "../search/partial.rs"]
mod partial;
#[path = "../search/pit.rs"]
mod pit;
#[path = "../search/slices.rs"]
mod slices;
#[path = "../search/smoke.rs"]
mod smoke;
#[path = "../search/support.rs"]
mod support;
#[path = "../search/tls.rs"]
mod tls;
