//! A point-in-time read requests each next page while it parses the current one, after the
//! sort values it read from the page's text. Against a loopback server that answers like
//! OpenSearch 2.19 (a new view id with every page), and whose first page carries a decoy
//! `"sort":[…]` after its last hit's own: the read-ahead after the decoy is dropped and the
//! right page requested, and every hit comes back once, in order.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::TryStreamExt;
use serde_json::{Value as Json, json};
use store_core::search::{SearchQuery, SearchRequest, SortField};
use store_search::OpenSearchIndex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Documents d0..d9, with `n` = 0..9, served sorted by `n` in pages of `PAGE`.
const DOCS: u64 = 10;
const PAGE: u64 = 4;

/// One search the server answered.
struct Search {
    /// Its `search_after`.
    after: Option<Json>,
    /// The view id it named.
    view: String,
    /// The view id its answer handed out.
    handed_out: String,
}

/// What the server saw: every search, and every view id it handed out.
#[derive(Default)]
struct Seen {
    searches: Vec<Search>,
    issued: Vec<String>,
}

/// One HTTP/1.1 request: method, path and body.
async fn read_request(socket: &mut TcpStream) -> Option<(String, String, Vec<u8>)> {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        if let Some(at) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        seen.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&seen[..end]).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (name, value) = l.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = seen[end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&buf[..n]);
    }
    let mut words = head.split_whitespace();
    let method = words.next()?.to_owned();
    let path = words.next()?.to_owned();
    Some((method, path, body))
}

/// The answer to one request.
fn answer(seen: &Mutex<Seen>, method: &str, path: &str, body: &[u8]) -> String {
    let path = path.split('?').next().unwrap_or_default();
    match (method, path) {
        ("GET", "/") => {
            json!({"version": {"distribution": "opensearch", "number": "2.19.0"}}).to_string()
        }
        ("POST", "/docs/_search/point_in_time") => {
            let mut seen = seen.lock().unwrap();
            seen.issued.push("view-0".to_owned());
            json!({"pit_id": "view-0", "creation_time": 1}).to_string()
        }
        ("DELETE", "/_search/point_in_time") => json!({"pits": []}).to_string(),
        ("POST", "/_search") => search(seen, body),
        _ => panic!("unexpected request {method} {path}"),
    }
}

/// A page after the request's `search_after`, with a new view id; the first page ends with
/// an `inner_hits` decoy whose `"sort":[…]` is the last in its text.
fn search(seen: &Mutex<Seen>, body: &[u8]) -> String {
    let request: Json = serde_json::from_slice(body).unwrap();
    let view = request["pit"]["id"].as_str().unwrap().to_owned();
    let after = request.get("search_after").cloned();
    let mut seen = seen.lock().unwrap();
    assert!(
        seen.issued.contains(&view),
        "a search names a view id the server never handed out: {view}"
    );
    let first = after.as_ref().map_or(0, |a| a[0].as_u64().unwrap() + 1);
    // Written out by hand: the order of a hit's members is what the read-ahead relies on.
    let hits: Vec<String> = (first..DOCS.min(first + PAGE))
        .map(|n| {
            let decoy = if first == 0 && n == PAGE - 1 {
                r#","inner_hits":{"x":{"hits":{"hits":[{"_id":"decoy","sort":[999,"decoy"]}]}}}"#
            } else {
                ""
            };
            format!(
                r#"{{"_index":"docs","_id":"d{n}","_score":null,"_source":{{"n":{n},"sort":[{}]}},"sort":[{n},"d{n}"]{decoy}}}"#,
                100 + n
            )
        })
        .collect();
    let id = format!("view-{}", seen.issued.len());
    seen.issued.push(id.clone());
    seen.searches.push(Search {
        after,
        view,
        handed_out: id.clone(),
    });
    format!(
        r#"{{"pit_id":"{id}","took":1,"timed_out":false,"hits":{{"hits":[{}]}}}}"#,
        hits.join(",")
    )
}

/// Serves every connection until the test ends.
async fn serve(listener: TcpListener, seen: Arc<Mutex<Seen>>) {
    loop {
        let Ok((mut socket, _)) = listener.accept().await else {
            return;
        };
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some((method, path, body)) = read_request(&mut socket).await {
                let reply = answer(&seen, &method, &path, &body);
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    reply.len()
                );
                if socket.write_all(head.as_bytes()).await.is_err()
                    || socket.write_all(reply.as_bytes()).await.is_err()
                {
                    return;
                }
            }
        });
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_misread_page_end_is_requested_again_and_every_hit_comes_once_in_order() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Seen::default()));
    let server = tokio::spawn(serve(listener, seen.clone()));
    let index = OpenSearchIndex::builder("docs").url(url).build().unwrap();

    let request = SearchRequest::new(SearchQuery::MatchAll)
        .sort(SortField::asc("n"))
        .size(PAGE as usize);
    // Read slowly, so that each page read ahead reaches the server before it is judged.
    let mut stream = index.search_pit(request, Duration::from_secs(60));
    let mut hits = Vec::new();
    while let Some(hit) = stream.try_next().await.unwrap() {
        tokio::time::sleep(Duration::from_millis(20)).await;
        hits.push(hit);
    }
    let ids: Vec<_> = hits.iter().map(|h| h.id.as_str()).collect();
    let expected: Vec<_> = (0..DOCS).map(|n| format!("d{n}")).collect();
    assert_eq!(ids, expected);

    let seen = seen.lock().unwrap();
    let afters: Vec<_> = seen.searches.iter().map(|s| s.after.clone()).collect();
    let find = |after: Json| {
        seen.searches
            .iter()
            .position(|s| s.after == Some(after.clone()))
    };
    // The decoy was read ahead, then dropped: the page after d3 was asked for after it.
    let (decoy, right) = (find(json!([999, "decoy"])), find(json!([3, "d3"])));
    assert!(
        matches!((decoy, right), (Some(d), Some(r)) if d < r),
        "{afters:?}"
    );
    // The page after d7 was read ahead once, naming the view id handed out with the page it
    // follows (not the decoy's).
    let after_d7: Vec<_> = seen
        .searches
        .iter()
        .filter(|s| s.after == Some(json!([7, "d7"])))
        .collect();
    assert_eq!(after_d7.len(), 1, "{afters:?}");
    assert_eq!(
        after_d7[0].view,
        seen.searches[right.unwrap()].handed_out,
        "{afters:?}"
    );
    server.abort();
}
