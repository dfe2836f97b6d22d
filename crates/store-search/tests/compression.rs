//! Responses are asked for uncompressed unless the builder opts in to gzip: the request a
//! handle sends, seen by a one-connection HTTP server on loopback.

use store_core::SearchIndex;
use store_core::search::SearchQuery;
use store_search::OpenSearchIndex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The headers of the first request `index` sends for a count, lowercased (the server
/// answers it with a count of 3).
async fn request_of(build: impl FnOnce(String) -> OpenSearchIndex) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = socket.read(&mut buf).await.unwrap();
            assert!(n > 0, "the connection closed before the headers ended");
            seen.extend_from_slice(&buf[..n]);
        }
        let body = r#"{"count":3,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0}}"#;
        let reply = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(reply.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&seen).to_lowercase()
    });
    let index = build(url);
    assert_eq!(index.count(&SearchQuery::MatchAll).await.unwrap(), 3);
    server.await.unwrap()
}

#[tokio::test]
async fn responses_are_asked_for_uncompressed_by_default_and_gzipped_on_request() {
    let plain = request_of(|url| OpenSearchIndex::builder("docs").url(url).build().unwrap()).await;
    assert!(
        plain.contains("\r\naccept-encoding: identity\r\n"),
        "{plain}"
    );
    assert!(!plain.contains("gzip"), "{plain}");

    let gzipped = request_of(|url| {
        OpenSearchIndex::builder("docs")
            .url(url)
            .compressed_responses(true)
            .build()
            .unwrap()
    })
    .await;
    assert!(gzipped.contains("accept-encoding: gzip"), "{gzipped}");
}
