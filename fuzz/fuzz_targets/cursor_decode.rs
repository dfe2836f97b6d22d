//! Cursors handed back by clients: any token is decoded or refused as `InvalidInput`, and a
//! store given it as a page cursor answers a page or `InvalidInput`, never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_core::document::{Query, Scan};
use store_core::memory::MemoryDocumentStore;
use store_core::{Cursor, DocumentStore, ErrorKind, KeySchema, KeyType};

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let cursor = Cursor::from_token(token);
    if let Err(e) = cursor.decode() {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let store = MemoryDocumentStore::new(
        "things",
        KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number),
    )
    .expect("table");
    let scanned = futures::executor::block_on(store.scan_page(&Scan::new(), Some(cursor.clone())));
    if let Err(e) = scanned {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
    let query = Query::partition("a");
    let queried = futures::executor::block_on(store.query_page(&query, Some(cursor)));
    if let Err(e) = queried {
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
    }
});
