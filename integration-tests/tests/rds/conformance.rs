//! The store-core `SqlStore` conformance suite, every behaviour, against PostgreSQL.

use store_core::testkit::sql::{SqlStoreFactory, factory};

fn postgres() -> SqlStoreFactory {
    factory(super::support::store)
}

store_core::sql_conformance_tests!(postgres());
