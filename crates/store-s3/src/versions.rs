//! Versioned buckets: every version and delete marker under a prefix, and deletes of one
//! version.

use std::time::SystemTime;

use aws_sdk_s3::types::EncodingType;
use futures::stream::BoxStream;
use store_core::object::ListOptions;
use store_core::{Cursor, ObjectKey, Result, StoreError};
use store_core::{Page, paginate};

use crate::encode::decode_url;
use crate::error::local;
use crate::store::S3Store;

/// The largest page S3 returns.
const MAX_PAGE: usize = 1_000;

/// What every version-listing cursor of this crate starts with.
const CURSOR_TAG: &[u8] = b"s3versions1:";

/// One version of an object, or a delete marker.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectVersion {
    /// The object's key.
    pub key: ObjectKey,
    /// The version id (`null` for an object written before versioning was on).
    pub version_id: String,
    /// Whether this is the current version.
    pub is_latest: bool,
    /// Whether this is a delete marker (it has no body).
    pub delete_marker: bool,
    /// Size in bytes (0 for a delete marker).
    pub size: u64,
    /// The version's etag (none for a delete marker).
    pub etag: Option<String>,
    /// When the version was written.
    pub last_modified: Option<SystemTime>,
}

impl S3Store {
    /// One page of the versions and delete markers of keys under the options' prefix, in
    /// key order and, per key, newest first; resumable from `cursor`. The page size is the
    /// options' (at most and by default 1,000); a delimiter or `start_after` is
    /// `InvalidInput`.
    pub async fn list_versions_page(
        &self,
        options: &ListOptions,
        cursor: Option<Cursor>,
    ) -> Result<Page<ObjectVersion>> {
        let client = self.bucket_client();
        let prefix = options.prefix.as_deref().unwrap_or("");
        let unsupported = match options {
            o if o.delimiter.as_deref().is_some_and(|d| !d.is_empty()) => Some("a delimiter"),
            o if o.start_after.is_some() => Some("start_after"),
            o if o.page_size == Some(0) => Some("a page size of 0"),
            _ => None,
        };
        if let Some(what) = unsupported {
            let e = StoreError::invalid_input(format!("a version listing takes no {what}"));
            return Err(local(e, "list_versions", prefix));
        }
        let (key_marker, version_marker) = match &cursor {
            Some(cursor) => {
                let (k, v) =
                    decode_cursor(cursor).map_err(|e| local(e, "list_versions", prefix))?;
                (Some(k), v)
            }
            None => (None, None),
        };
        let out = client
            .sdk()
            .list_object_versions()
            .bucket(client.bucket())
            .set_prefix(Some(prefix.to_owned()).filter(|p| !p.is_empty()))
            .set_key_marker(key_marker)
            .set_version_id_marker(version_marker)
            .max_keys(options.page_size.unwrap_or(MAX_PAGE).min(MAX_PAGE) as i32)
            .encoding_type(EncodingType::Url)
            .send()
            .await
            .map_err(|e| client.sdk_error(e, "list_versions", prefix))?;
        let encoded = out.encoding_type() == Some(&EncodingType::Url);
        let key_of = |text: Option<&str>| -> Result<ObjectKey> {
            let text = text.unwrap_or_default();
            let text = if encoded {
                decode_url(text)?
            } else {
                text.to_owned()
            };
            ObjectKey::new(text)
        };
        let time = |t: Option<&aws_sdk_s3::primitives::DateTime>| {
            t.and_then(|t| SystemTime::try_from(*t).ok())
        };
        let mut items = Vec::new();
        for v in out.versions() {
            items.push(ObjectVersion {
                key: key_of(v.key()).map_err(|e| local(e, "list_versions", prefix))?,
                version_id: v.version_id().unwrap_or("null").to_owned(),
                is_latest: v.is_latest() == Some(true),
                delete_marker: false,
                size: v.size().unwrap_or(0).max(0) as u64,
                etag: v.e_tag().map(str::to_owned),
                last_modified: time(v.last_modified()),
            });
        }
        for m in out.delete_markers() {
            items.push(ObjectVersion {
                key: key_of(m.key()).map_err(|e| local(e, "list_versions", prefix))?,
                version_id: m.version_id().unwrap_or("null").to_owned(),
                is_latest: m.is_latest() == Some(true),
                delete_marker: true,
                size: 0,
                etag: None,
                last_modified: time(m.last_modified()),
            });
        }
        // S3 sends versions and markers in two lists; put them back in one order.
        items.sort_by(|a, b| {
            a.key
                .cmp(&b.key)
                .then(b.is_latest.cmp(&a.is_latest))
                .then(b.last_modified.cmp(&a.last_modified))
        });
        let next = match (out.is_truncated(), out.next_key_marker()) {
            (Some(true), Some(key)) => {
                let key = if encoded {
                    decode_url(key)?
                } else {
                    key.to_owned()
                };
                Some(encode_cursor(&key, out.next_version_id_marker()))
            }
            _ => None,
        };
        Ok(Page { items, next })
    }

    /// Every version and delete marker under the options' prefix, paging by itself.
    pub fn list_versions(&self, options: ListOptions) -> BoxStream<'_, Result<ObjectVersion>> {
        paginate(move |cursor| {
            let options = options.clone();
            async move { self.list_versions_page(&options, cursor).await }
        })
    }

    /// Deletes one version for good (or removes a delete marker, bringing the version
    /// before it back).
    pub async fn delete_version(&self, key: &ObjectKey, version_id: &str) -> Result<()> {
        let client = self.bucket_client();
        self.in_context("delete_version", key.as_str(), async {
            if version_id.is_empty() {
                return Err(StoreError::invalid_input("a version id cannot be empty"));
            }
            client
                .sdk()
                .delete_object()
                .bucket(client.bucket())
                .key(key.as_str())
                .version_id(version_id)
                .send()
                .await
                .map_err(|e| client.sdk_error(e, "delete_version", key.as_str()))?;
            Ok(())
        })
        .await
    }
}

/// A cursor after `key` (and `version`).
fn encode_cursor(key: &str, version: Option<&str>) -> Cursor {
    let mut raw = CURSOR_TAG.to_vec();
    raw.extend_from_slice(key.as_bytes());
    if let Some(version) = version {
        raw.push(0);
        raw.extend_from_slice(version.as_bytes());
    }
    Cursor::encode(&raw)
}

/// The key and version markers in a cursor of this crate; anything else is `InvalidInput`.
fn decode_cursor(cursor: &Cursor) -> Result<(String, Option<String>)> {
    let foreign = || StoreError::invalid_input("the cursor is not a version cursor of this store");
    let raw = cursor.decode().map_err(|_| foreign())?;
    let rest = raw.strip_prefix(CURSOR_TAG).ok_or_else(foreign)?;
    let text = String::from_utf8(rest.to_vec()).map_err(|_| foreign())?;
    // Keys have no NUL, so the first one separates the version.
    Ok(match text.split_once('\0') {
        Some((key, version)) => (key.to_owned(), Some(version.to_owned())),
        None => (text, None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_cursors_round_trip() {
        let c = encode_cursor("a/b", Some("v1"));
        assert_eq!(
            decode_cursor(&c).unwrap(),
            ("a/b".into(), Some("v1".into()))
        );
        let c = encode_cursor("k", None);
        assert_eq!(decode_cursor(&c).unwrap(), ("k".into(), None));
        assert!(decode_cursor(&Cursor::encode(b"s3v1:token")).is_err());
    }
}
