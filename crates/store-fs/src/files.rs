//! File transfers without a round trip through async streams: an upload reads the local file in
//! 1 MiB chunks straight into a staged object; a download copies the stored body into a
//! temporary file next to the target (in the kernel where it can: `copy_file_range`), syncs it
//! and renames it into place.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use store_core::object::{PutOptions, PutResult};
use store_core::{ErrorKind, ObjectKey, Result, StoreError};

use crate::disk::sync_dir;
use crate::error::io_error;
use crate::read::CHUNK;
use crate::tree::Tree;
use crate::write::Staged;

/// An error of the caller's local file, worded apart from the store's own files.
fn local_error(action: &str, path: &Path, e: io::Error) -> StoreError {
    let e = io_error(action, path, e);
    StoreError::new(e.kind(), format!("local file: {}", e.message()))
}

/// Stores the file at `path` under `key` (blocking).
pub(crate) fn upload(
    tree: &Tree,
    path: &Path,
    key: &ObjectKey,
    options: PutOptions,
) -> Result<PutResult> {
    let mut source = File::open(path).map_err(|e| local_error("open", path, e))?;
    let mut staged = Staged::create(tree, key, &options.mode)?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(local_error("read", path, e)),
        };
        staged.write(&buf[..n])?;
    }
    let PutOptions {
        mode,
        content_type,
        metadata,
    } = options;
    staged.commit(tree, &mode, content_type, metadata, None)
}

/// Removes the temporary download file when dropped, unless it was renamed into place.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = fs::remove_file(path);
        }
    }
}

/// Writes the object at `key` to `path` atomically (blocking); returns the bytes written.
pub(crate) fn download(tree: &Tree, key: &ObjectKey, path: &Path) -> Result<u64> {
    let mut opened = tree.open(key, "no object exists at this key")?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| {
            StoreError::invalid_input(format!("`{}` does not name a file", path.display()))
        })?
        .to_string_lossy()
        .into_owned();
    let (mut out, temp) = create_sibling(dir, &name)?;
    let mut partial = Partial(Some(temp.clone()));
    let size = opened.trailer.size;
    let written = match opened.whole.take() {
        Some(body) => io::Write::write_all(&mut out, &body).map(|()| body.len() as u64),
        None => io::copy(&mut (&opened.file).take(size), &mut out),
    }
    .map_err(|e| local_error("write", &temp, e))?;
    if written != size {
        return Err(StoreError::internal(format!(
            "the stored body ended after {written} of {size} bytes; `{}` was left untouched",
            path.display()
        )));
    }
    out.sync_all().map_err(|e| local_error("sync", &temp, e))?;
    drop(out);
    fs::rename(&temp, path).map_err(|e| local_error("rename into", path, e))?;
    partial.0 = None;
    sync_dir(dir).map_err(|e| local_error("sync the folder", dir, e))?;
    Ok(written)
}

/// A new, uniquely named temporary file next to the download target.
fn create_sibling(dir: &Path, name: &str) -> Result<(File, PathBuf)> {
    let session = crate::disk::Session::new();
    for _ in 0..8 {
        let temp = dir.join(format!(".{name}.{}.part", session.temp_name()));
        match OpenOptions::new().write(true).create_new(true).open(&temp) {
            Ok(file) => return Ok((file, temp)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(local_error("create", &temp, e)),
        }
    }
    Err(StoreError::new(
        ErrorKind::Internal,
        format!(
            "no free temporary name next to `{}`",
            dir.join(name).display()
        ),
    ))
}
