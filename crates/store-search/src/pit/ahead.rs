//! The next page of a point-in-time read, requested while the current one is parsed.
//!
//! A page's `search_after` is its last hit's sort values, so the next request normally waits
//! until the whole page is parsed. Those values (and the view id) can usually be read from the
//! page's text alone: the last hit's `sort` array is the last `"sort":[` of a response to the
//! searches this crate sends (a hit lists `sort` after `_source`, and they ask for nothing that
//! comes after it, such as `inner_hits`), and the view id leads the response. The next request
//! is sent with them at once, so the server works on it while the client parses.
//!
//! The guess is checked, never trusted: the page read ahead is used only when the parsed page
//! ends on exactly the sort values and view id it was asked with; otherwise it is dropped (its
//! task aborted) before the right page is requested. The cost is one search more than needed
//! per read: the one sent after the last page, which is aborted once that page is parsed.

use store_core::{Result, Value};
use tokio::task::JoinHandle;

use crate::http::RawReply;
use crate::json::parse_at;

/// How far into a response its view id is looked for (it comes first; ids are a few hundred
/// bytes).
const ID_WINDOW: usize = 4096;

/// A page requested ahead of its reader, with what it was requested after.
pub(super) struct Ahead {
    /// The `search_after` values of the request.
    after: Vec<Value>,
    /// The view id of the request.
    pit_id: String,
    task: JoinHandle<Result<RawReply>>,
    /// The hits it asked for.
    size: usize,
}

impl Ahead {
    /// A page of `size` hits requested by `task`, after `after` in the view `pit_id`.
    pub(super) fn new(
        after: Vec<Value>,
        pit_id: String,
        task: JoinHandle<Result<RawReply>>,
        size: usize,
    ) -> Self {
        Self {
            after,
            pit_id,
            task,
            size,
        }
    }

    /// The hits it asked for.
    pub(super) fn size(&self) -> usize {
        self.size
    }

    /// Whether this page is the one that follows `after` in the view `pit_id`.
    pub(super) fn follows(&self, after: Option<&[Value]>, pit_id: &str) -> bool {
        after == Some(self.after.as_slice()) && self.pit_id == pit_id
    }

    /// The page's response.
    pub(super) async fn reply(mut self) -> Result<RawReply> {
        let task = &mut self.task;
        match task.await {
            Ok(reply) => reply,
            Err(e) => Err(store_core::StoreError::internal(format!(
                "reading the next page ahead failed: {e}"
            ))
            .with_backend(crate::error::BACKEND)),
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The view id (when the response has one) and the last hit's sort values of a search
/// response's text, or `None` when its text shows no sort values.
pub(super) fn peek(text: &[u8]) -> Option<(Option<String>, Vec<Value>)> {
    const SORT: &[u8] = b"\"sort\":[";
    const ID: &[u8] = b"\"pit_id\":\"";
    let sort_at = text.windows(SORT.len()).rposition(|w| w == SORT)?;
    let Ok(Value::List(sort)) = parse_at(text, sort_at + SORT.len() - 1) else {
        return None;
    };
    let head = &text[..text.len().min(ID_WINDOW)];
    let pit_id = head.windows(ID.len()).position(|w| w == ID).and_then(|at| {
        match parse_at(text, at + ID.len() - 1) {
            Ok(Value::String(id)) => Some(id),
            _ => None,
        }
    });
    Some((pit_id, sort))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_last_hits_sort_and_the_view_id() {
        let text = br#"{"pit_id":"abc=","took":3,"hits":{"hits":[{"_id":"a","_source":{"sort":[9]},"sort":[1,"a"]},{"_id":"b","_source":{"x":"\"sort\":[8]","sort":[7]},"sort":[12345678901234567890123,"b"]}]}}"#;
        let (id, sort) = peek(text).unwrap();
        assert_eq!(id.as_deref(), Some("abc="));
        assert_eq!(sort.len(), 2);
        assert_eq!(
            sort[0].as_number().unwrap().to_string(),
            "12345678901234567890123"
        );
        assert_eq!(sort[1], Value::from("b"));
    }

    #[test]
    fn a_page_without_sort_values_gives_nothing() {
        assert!(peek(br#"{"pit_id":"x","hits":{"hits":[]}}"#).is_none());
        assert!(peek(br#"{"hits":{"hits":[{"_id":"a","sort":[1"#).is_none());
    }

    #[test]
    fn a_response_without_a_view_id_still_gives_its_sort() {
        let (id, sort) = peek(br#"{"hits":{"hits":[{"_id":"a","sort":[3]}]}}"#).unwrap();
        assert_eq!(id, None);
        assert_eq!(sort.len(), 1);
    }
}
