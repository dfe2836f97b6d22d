//! Listing: prefix, delimiter, pages and cursors, with the reference store's semantics, over
//! the folder walk of [`walk`].
//!
//! A cursor is the last entry (key or common prefix) of the page, tagged `fs1:` and base64'd;
//! one that does not decode to a tagged valid key is `InvalidInput`.

mod walk;

use std::path::Path;

use store_core::object::{ListOptions, ListPage};
use store_core::{Cursor, ErrorKind, ObjectKey, Result, StoreError};

use crate::error::io_error;
use crate::layout;
use crate::record;

/// The default and largest page, as on S3.
const MAX_PAGE: usize = 1000;

/// What every cursor of this store starts with.
const CURSOR_TAG: &[u8] = b"fs1:";

/// A validated listing request.
pub(crate) struct Request<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    page_size: usize,
    /// The last entry (key or common prefix) of the previous page.
    after: Option<String>,
    /// Keys up to this one are not listed.
    start_after: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Validates the options and decodes the cursor.
    pub(crate) fn new(options: &'a ListOptions, cursor: Option<&Cursor>) -> Result<Self> {
        let page_size = match options.page_size {
            None => MAX_PAGE,
            Some(0) => {
                return Err(StoreError::invalid_input(
                    "a listing page size must be at least 1",
                ));
            }
            Some(n) => n.min(MAX_PAGE),
        };
        let after = cursor.map(decode_cursor).transpose()?;
        Ok(Self {
            prefix: options.prefix.as_deref().unwrap_or(""),
            delimiter: options.delimiter.as_deref().filter(|d| !d.is_empty()),
            page_size,
            after,
            start_after: options.start_after.as_deref(),
        })
    }

    /// The common prefix `key` (which starts with the listing prefix) rolls up into, if any.
    fn common_prefix<'k>(&self, key: &'k str) -> Option<&'k str> {
        let delimiter = self.delimiter?;
        let rest = key.get(self.prefix.len()..)?;
        let at = rest.find(delimiter)?;
        Some(&key[..self.prefix.len() + at + delimiter.len()])
    }

    /// Runs the request over the object tree (blocking).
    pub(crate) fn run(&self, objects: &Path) -> Result<ListPage> {
        let bound = [self.after.as_deref(), self.start_after]
            .into_iter()
            .flatten()
            .filter(|floor| *floor >= self.prefix)
            .max()
            .unwrap_or(self.prefix)
            .to_owned();
        let mut walker = walk::Walker::new(objects, self.prefix, bound);
        if let Some(after) = &self.after
            && after.starts_with(self.prefix)
            && self.common_prefix(after) == Some(after.as_str())
        {
            walker.skip(after);
        }
        let mut page = ListPage::default();
        let mut last: Option<String> = None;
        let mut last_prefix: Option<String> = None;
        let mut count = 0usize;
        while let Some((key, path)) = walker
            .next_key()
            .map_err(|e| io_error("list", objects, e))?
        {
            if self.start_after.is_some_and(|floor| key.as_str() <= floor) {
                continue;
            }
            let common = self.common_prefix(&key);
            let entry = common.unwrap_or(&key);
            if self.after.as_deref().is_some_and(|after| entry <= after)
                || (common.is_some() && common == last_prefix.as_deref())
            {
                if let Some(common) = common {
                    walker.skip(common);
                }
                continue;
            }
            if count == self.page_size {
                page.next = last.map(|l| encode_cursor(&l));
                break;
            }
            match common {
                Some(common) => {
                    walker.skip(common);
                    last_prefix = Some(common.to_owned());
                    page.common_prefixes.push(common.to_owned());
                }
                None => {
                    let Some(meta) = read_meta(objects, &key, &path)? else {
                        continue;
                    };
                    page.objects.push(meta);
                }
            }
            count += 1;
            last = Some(entry.to_owned());
        }
        Ok(page)
    }
}

/// The metadata of a listed object; `None` if it vanished meanwhile or its file is not where
/// its key says (files put in the tree by hand are not keys).
fn read_meta(
    objects: &Path,
    key: &str,
    path: &Path,
) -> Result<Option<store_core::object::ObjectMeta>> {
    if layout::object_path(objects, key) != path {
        tracing::debug!(path = %path.display(), "skipping a file not at its key's canonical path");
        return Ok(None);
    }
    let Ok(object_key) = ObjectKey::new(key) else {
        tracing::debug!(path = %path.display(), "skipping a file whose name is no valid key");
        return Ok(None);
    };
    match record::read_trailer(path, key) {
        Ok(trailer) => Ok(Some(trailer.meta(object_key))),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// A cursor positioned after `last`.
fn encode_cursor(last: &str) -> Cursor {
    let mut raw = CURSOR_TAG.to_vec();
    raw.extend_from_slice(last.as_bytes());
    Cursor::encode(&raw)
}

/// The entry a cursor of this store points after; anything else is `InvalidInput`.
fn decode_cursor(cursor: &Cursor) -> Result<String> {
    let foreign = || StoreError::invalid_input("the cursor is not one this store issued");
    let raw = cursor.decode().map_err(|_| foreign())?;
    let text = raw.strip_prefix(CURSOR_TAG).ok_or_else(foreign)?;
    let text = String::from_utf8(text.to_vec()).map_err(|_| foreign())?;
    // Every entry is a valid key or a prefix of one, so a cursor must be too.
    ObjectKey::new(text.as_str()).map_err(|_| foreign())?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_foreign_ones_are_invalid_input() {
        let c = encode_cursor("a/b");
        let back = Cursor::from_token(c.as_token().to_owned());
        assert_eq!(decode_cursor(&back).unwrap(), "a/b");
        for foreign in [
            Cursor::from_token("not a cursor!"),
            Cursor::encode(b"a/b"),
            Cursor::encode(b"s3v1:token"),
            Cursor::encode(b"fs1:"),
            Cursor::encode(b"fs1:\xff"),
            Cursor::encode(b"fs1:nul\0"),
        ] {
            let err = decode_cursor(&foreign).unwrap_err();
            assert_eq!(err.kind(), ErrorKind::InvalidInput, "{foreign:?}");
        }
    }
}
