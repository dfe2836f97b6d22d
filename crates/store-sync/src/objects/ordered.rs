//! A listing held to key order: every object store lists in byte order of its keys (the
//! object conformance suite checks it), and the walks over listings (a merge of two, a backup
//! read a batch at a time and resumed after a key) rely on it, so a listing that goes
//! backwards is an error naming its location, never a wrong pairing or a skipped object.

use futures::{Stream, StreamExt};
use store_core::object::ObjectMeta;
use store_core::{Result, StoreError};

/// `entries` (relative keys with their objects) as they come, or an `Unsupported` error
/// naming `label` at the first key that is not after the one before it.
pub(crate) fn in_key_order<'a>(
    label: &'a str,
    entries: impl Stream<Item = Result<(String, ObjectMeta)>> + Send + 'a,
) -> impl Stream<Item = Result<(String, ObjectMeta)>> + Send + 'a {
    entries.scan(None::<String>, move |last, entry| {
        let checked = entry.and_then(|(key, meta)| {
            if let Some(last) = last.as_deref()
                && key.as_str() <= last
            {
                return Err(StoreError::unsupported(format!(
                    "the listing of {label} is not in key order (`{key}` came after `{last}`), \
                     which sync, check and backup need"
                )));
            }
            *last = Some(key.clone());
            Ok((key, meta))
        });
        futures::future::ready(Some(checked))
    })
}

#[cfg(test)]
pub(super) mod tests {
    use futures::TryStreamExt;
    use store_core::ObjectKey;

    use super::*;

    /// A listing of `keys`, as a store would answer it.
    pub(in crate::objects) fn entries(keys: &[&str]) -> Vec<Result<(String, ObjectMeta)>> {
        keys.iter()
            .map(|key| {
                let meta = ObjectMeta {
                    key: ObjectKey::new(*key).unwrap(),
                    size: key.len() as u64,
                    etag: None,
                    last_modified: None,
                    content_type: None,
                    metadata: Default::default(),
                };
                Ok(((*key).to_owned(), meta))
            })
            .collect()
    }

    async fn keys(listed: &[&str]) -> Result<Vec<String>> {
        in_key_order("left", futures::stream::iter(entries(listed)))
            .map_ok(|(key, _)| key)
            .try_collect()
            .await
    }

    #[tokio::test]
    async fn a_listing_in_byte_order_passes_unchanged() {
        let listed = ["a", "b/1", "c", "é"];
        assert_eq!(keys(&listed).await.unwrap(), listed);
        assert!(keys(&[]).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_key_out_of_order_or_repeated_is_refused_by_name() {
        for listed in [&["a", "c", "b"][..], &["a", "c", "c"][..]] {
            let err = keys(listed).await.unwrap_err();
            assert_eq!(err.kind(), store_core::ErrorKind::Unsupported);
            assert!(
                err.message()
                    .contains("listing of left is not in key order"),
                "{}",
                err.message()
            );
            let last = listed[2];
            assert!(
                err.message().contains(&format!("`{last}` came after `c`")),
                "{}",
                err.message()
            );
        }
    }
}
