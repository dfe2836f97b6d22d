//! Listing of the in-memory store: prefix, delimiter, pages and cursors.

use std::ops::Bound;

use super::Objects;
use crate::error::{Result, StoreError};
use crate::keys::ObjectKey;
use crate::object::{ListOptions, ListPage};
use crate::page::Cursor;

/// The default and largest page, as on S3.
const MAX_PAGE: usize = 1000;

/// A validated listing request.
pub(super) struct Request<'a> {
    prefix: &'a str,
    delimiter: Option<&'a str>,
    page_size: usize,
    /// The last entry (key or common prefix) of the previous page.
    after: Option<String>,
    /// Keys up to this one are not listed.
    start_after: Option<&'a str>,
}

impl<'a> Request<'a> {
    /// Validates the options and decodes the cursor (the text of the last entry returned).
    pub(super) fn new(options: &'a ListOptions, cursor: Option<&Cursor>) -> Result<Self> {
        let page_size = match options.page_size {
            None => MAX_PAGE,
            Some(0) => {
                return Err(StoreError::invalid_input(
                    "a listing page size must be at least 1",
                ));
            }
            Some(n) => n.min(MAX_PAGE),
        };
        let after = match cursor {
            None => None,
            Some(cursor) => {
                let foreign =
                    || StoreError::invalid_input("the cursor is not one this store issued");
                let text = String::from_utf8(cursor.decode()?).map_err(|_| foreign())?;
                // Every entry is a valid key or a prefix of one, so a cursor must be too.
                ObjectKey::new(text.as_str()).map_err(|_| foreign())?;
                Some(text)
            }
        };
        Ok(Self {
            prefix: options.prefix.as_deref().unwrap_or(""),
            delimiter: options.delimiter.as_deref().filter(|d| !d.is_empty()),
            page_size,
            after,
            start_after: options.start_after.as_deref(),
        })
    }

    /// Where the scan starts: at the prefix, or after the cursor or `start_after` if either
    /// is further.
    fn start(&self) -> Option<Bound<ObjectKey>> {
        let floor = [self.after.as_deref(), self.start_after]
            .into_iter()
            .flatten()
            .filter(|floor| *floor >= self.prefix)
            .max();
        Some(match floor {
            // A start_after that is no valid key (too long) still orders keys; the keys after
            // it are found by the filter in `run`.
            Some(floor) => match ObjectKey::new(floor) {
                Ok(floor) => Bound::Excluded(floor),
                Err(_) => self.prefix_bound()?,
            },
            None => self.prefix_bound()?,
        })
    }

    /// The scan's start at the prefix.
    fn prefix_bound(&self) -> Option<Bound<ObjectKey>> {
        if self.prefix.is_empty() {
            return Some(Bound::Unbounded);
        }
        // A prefix that is no valid key (NUL, too long) starts no key at all.
        Some(Bound::Included(ObjectKey::new(self.prefix).ok()?))
    }

    /// The common prefix `key` rolls up into, if any.
    fn common_prefix<'k>(&self, key: &'k str) -> Option<&'k str> {
        let delimiter = self.delimiter?;
        let rest = &key[self.prefix.len()..];
        let at = rest.find(delimiter)?;
        Some(&key[..self.prefix.len() + at + delimiter.len()])
    }

    /// Runs the request over the objects.
    pub(super) fn run(&self, objects: &Objects) -> ListPage {
        let mut page = ListPage::default();
        let Some(start) = self.start() else {
            return page;
        };
        let mut count = 0usize;
        let mut last: Option<&str> = None;
        let mut last_prefix: Option<&str> = None;
        for (key, object) in objects.range((start, Bound::Unbounded)) {
            let key = key.as_str();
            if !key.starts_with(self.prefix) {
                break;
            }
            if self.start_after.is_some_and(|floor| key <= floor) {
                continue;
            }
            let common = self.common_prefix(key);
            let entry = common.unwrap_or(key);
            if self.after.as_deref().is_some_and(|after| entry <= after)
                || (common.is_some() && common == last_prefix)
            {
                continue;
            }
            if count == self.page_size {
                page.next = last.map(|l| Cursor::encode(l.as_bytes()));
                break;
            }
            count += 1;
            last = Some(entry);
            match common {
                Some(common) => {
                    last_prefix = Some(common);
                    page.common_prefixes.push(common.to_owned());
                }
                None => page.objects.push(object.meta.clone()),
            }
        }
        page
    }
}
