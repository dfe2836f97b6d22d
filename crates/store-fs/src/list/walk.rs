//! [`Walker`]: the object keys under a folder tree in byte order, skipping subtrees that cannot
//! hold a wanted key.
//!
//! In a folder whose keys start with `P`, an object file for segment `s` is the key `P + s` and
//! a folder for segment `s` holds the keys that start with `P + s + "/"`. Sorting these texts
//! orders the folder's keys correctly, because no segment contains `/`: a folder's keys form one
//! contiguous run that starts right where its text sorts. A continued piece (`p+`) is not such a
//! run (its keys may sort on either side of the folder `p/`), so its entries are read in place,
//! with `P + p` as their start, before sorting.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::layout::{self, Name};

/// One entry of a folder: a key, or a folder of keys starting with `text`.
struct Entry {
    text: String,
    path: PathBuf,
    is_dir: bool,
}

/// One folder being walked.
struct Level {
    entries: std::vec::IntoIter<Entry>,
}

/// Walks the keys that start with `prefix` and are not below `bound`, in byte order.
pub(super) struct Walker<'a> {
    objects: &'a Path,
    prefix: &'a str,
    bound: String,
    skip: Option<String>,
    stack: Vec<Level>,
    started: bool,
}

impl<'a> Walker<'a> {
    /// A walk of the tree under `objects`.
    pub(super) fn new(objects: &'a Path, prefix: &'a str, bound: String) -> Self {
        Self {
            objects,
            prefix,
            bound,
            skip: None,
            stack: Vec::new(),
            started: false,
        }
    }

    /// From now on, leaves out keys that start with `prefix` (a rolled-up common prefix).
    pub(super) fn skip(&mut self, prefix: &str) {
        self.skip = Some(prefix.to_owned());
    }

    /// The next key and the file that holds it.
    pub(super) fn next_key(&mut self) -> io::Result<Option<(String, PathBuf)>> {
        if !self.started {
            self.started = true;
            self.stack.push(read_level(self.objects, "")?);
        }
        loop {
            let Some(level) = self.stack.last_mut() else {
                return Ok(None);
            };
            let Some(entry) = level.entries.next() else {
                self.stack.pop();
                continue;
            };
            if entry.text.as_str() > self.prefix && !entry.text.starts_with(self.prefix) {
                // Sorted entries: everything from here on is past the prefix.
                self.stack.clear();
                return Ok(None);
            }
            if entry.is_dir {
                if self.wants_dir(&entry.text) {
                    match read_level(&entry.path, &entry.text) {
                        Ok(level) => self.stack.push(level),
                        // Pruned by a concurrent delete: it holds nothing.
                        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                        Err(e) => return Err(e),
                    }
                }
            } else if self.wants_key(&entry.text) {
                return Ok(Some((entry.text, entry.path)));
            }
        }
    }

    fn skipped(&self, text: &str) -> bool {
        self.skip.as_deref().is_some_and(|s| text.starts_with(s))
    }

    /// Whether a folder of keys starting with `dir` may hold a wanted key.
    fn wants_dir(&self, dir: &str) -> bool {
        (dir.starts_with(self.prefix) || self.prefix.starts_with(dir))
            && (dir >= self.bound.as_str() || self.bound.starts_with(dir))
            && !self.skipped(dir)
    }

    fn wants_key(&self, key: &str) -> bool {
        key.starts_with(self.prefix) && key >= self.bound.as_str() && !self.skipped(key)
    }
}

/// The entries of the folder `dir`, whose keys start with `text`, in order.
fn read_level(dir: &Path, text: &str) -> io::Result<Level> {
    let mut entries = Vec::new();
    collect(dir, text, &mut entries)?;
    entries.sort_unstable_by(|a, b| a.text.cmp(&b.text));
    Ok(Level {
        entries: entries.into_iter(),
    })
}

/// Adds the entries of `dir` to `out`, reading continued pieces in place.
fn collect(dir: &Path, text: &str, out: &mut Vec<Entry>) -> io::Result<()> {
    for item in fs::read_dir(dir)? {
        let item = item?;
        let Some(name) = layout::parse_name(&item.file_name()) else {
            continue;
        };
        let kind = item.file_type()?;
        let path = item.path();
        match name {
            Name::Object(segment) if kind.is_file() => out.push(Entry {
                text: format!("{text}{segment}"),
                path,
                is_dir: false,
            }),
            Name::Dir(segment) if kind.is_dir() => out.push(Entry {
                text: format!("{text}{segment}/"),
                path,
                is_dir: true,
            }),
            Name::Continued(piece) if kind.is_dir() => {
                match collect(&path, &format!("{text}{piece}"), out) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    other => other?,
                }
            }
            _ => {}
        }
    }
    Ok(())
}
