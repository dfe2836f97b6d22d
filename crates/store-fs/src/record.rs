//! The object file: the body, then a JSON trailer with the metadata, then a 16-byte footer.
//!
//! ```text
//! [body: size bytes][trailer: JSON][trailer length: u64 little-endian][magic: b"sfsobj\0\x01"]
//! ```
//!
//! The trailer holds the key, the size, the SHA-256 of the body (the etag is it in hex, quoted),
//! the modification time, the content type and the user metadata. Body and metadata live in one
//! file, so the single rename that publishes a write publishes both. The metadata goes last
//! because the digest is only known once the body has been streamed.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use store_core::object::ObjectMeta;
use store_core::{ObjectKey, Result, StoreError};

use crate::error::{corrupt, io_error};

/// The last 8 bytes of every object file.
const MAGIC: &[u8; 8] = b"sfsobj\0\x01";
/// Trailer length and magic.
pub(crate) const FOOTER: usize = 16;
/// The largest trailer (metadata) a write accepts and a read believes.
pub(crate) const MAX_TRAILER: usize = 1024 * 1024;
/// Object files up to this size are read with one call; larger ones footer first.
const READ_WHOLE: u64 = 128 * 1024;
/// How much of a file's end is read at once to find its trailer.
const TAIL_GUESS: u64 = 4096;

/// The metadata stored after the body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Trailer {
    /// The key, exactly as given.
    pub(crate) key: String,
    /// Body size in bytes.
    pub(crate) size: u64,
    /// SHA-256 of the body, lower-case hex.
    pub(crate) sha256: String,
    /// Seconds since the Unix epoch of the write.
    pub(crate) modified_s: u64,
    /// Nanoseconds within that second.
    pub(crate) modified_ns: u32,
    /// The MIME type, if one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) content_type: Option<String>,
    /// User metadata.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) metadata: BTreeMap<String, String>,
}

impl Trailer {
    /// A trailer stamped with the current time.
    pub(crate) fn now(
        key: &ObjectKey,
        size: u64,
        sha256: String,
        content_type: Option<String>,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        let since = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Self {
            key: key.as_str().to_owned(),
            size,
            sha256,
            modified_s: since.as_secs(),
            modified_ns: since.subsec_nanos(),
            content_type,
            metadata,
        }
    }

    /// Trailer and footer, ready to append after the body; metadata over [`MAX_TRAILER`] is
    /// `InvalidInput`.
    pub(crate) fn encode(&self) -> Result<Vec<u8>> {
        let mut out = serde_json::to_vec(self)
            .map_err(|e| StoreError::internal(format!("cannot encode object metadata: {e}")))?;
        if out.len() > MAX_TRAILER {
            return Err(StoreError::invalid_input(format!(
                "the content type and metadata take {} bytes; at most {MAX_TRAILER} are allowed",
                out.len()
            )));
        }
        out.extend_from_slice(&(out.len() as u64).to_le_bytes());
        out.extend_from_slice(MAGIC);
        Ok(out)
    }

    /// The etag: the body's SHA-256 in hex, quoted like S3's.
    pub(crate) fn etag(&self) -> String {
        format!("\"{}\"", self.sha256)
    }

    /// The object's metadata as the trait reports it.
    pub(crate) fn meta(&self, key: ObjectKey) -> ObjectMeta {
        ObjectMeta {
            key,
            size: self.size,
            etag: Some(self.etag()),
            last_modified: Some(
                UNIX_EPOCH + Duration::new(self.modified_s, self.modified_ns.min(999_999_999)),
            ),
            content_type: self.content_type.clone(),
            metadata: self.metadata.clone(),
        }
    }
}

/// An opened object file: its trailer, and its body if the file was small enough to read
/// whole. The file handle pins this version even if the key is overwritten meanwhile.
pub(crate) struct Opened {
    pub(crate) trailer: Trailer,
    pub(crate) file: File,
    pub(crate) whole: Option<Bytes>,
}

/// Opens the object file at `path` and reads its trailer, checking that it belongs to `key`;
/// a small file is read whole, for its body. A missing file is `NotFound` (no message beyond
/// the path; callers word their own).
pub(crate) fn open(path: &Path, key: &str) -> Result<Opened> {
    let (mut file, len) = open_file(path)?;
    let (trailer, whole) = if len <= READ_WHOLE {
        let mut all = Vec::with_capacity(len as usize);
        file.read_to_end(&mut all)
            .map_err(|e| io_error("read", path, e))?;
        let (trailer, body_len) = parse_tail(path, &all, len)?;
        all.truncate(body_len as usize);
        (trailer, Some(Bytes::from(all)))
    } else {
        let trailer = read_tail(path, &mut file, len)?;
        // Readers of the body start at its first byte.
        file.seek(SeekFrom::Start(0))
            .map_err(|e| io_error("seek in", path, e))?;
        (trailer, None)
    };
    check_key(path, &trailer, key)?;
    Ok(Opened {
        trailer,
        file,
        whole,
    })
}

/// Reads only the trailer of the object file at `path` (heads, listings, conditions).
pub(crate) fn read_trailer(path: &Path, key: &str) -> Result<Trailer> {
    let (mut file, len) = open_file(path)?;
    let trailer = read_tail(path, &mut file, len)?;
    check_key(path, &trailer, key)?;
    Ok(trailer)
}

/// Opens a file and reads its length, which must hold at least a footer.
fn open_file(path: &Path) -> Result<(File, u64)> {
    let file = File::open(path).map_err(|e| io_error("open", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| io_error("read the size of", path, e))?
        .len();
    if len < FOOTER as u64 {
        return Err(corrupt(path, format!("it has only {len} bytes")));
    }
    Ok((file, len))
}

/// Checks that the file holds `key`'s object.
fn check_key(path: &Path, trailer: &Trailer, key: &str) -> Result<()> {
    if trailer.key != key {
        return Err(corrupt(
            path,
            format!("it holds key `{}`, not `{key}`", trailer.key),
        ));
    }
    Ok(())
}

/// Reads footer and trailer from the end of a file: one read of the last 4 KiB, which holds
/// both unless the metadata is large.
fn read_tail(path: &Path, file: &mut File, len: u64) -> Result<Trailer> {
    let read_at = |file: &mut File, at: u64, buf: &mut [u8]| {
        file.seek(SeekFrom::Start(at))
            .and_then(|_| file.read_exact(buf))
            .map_err(|e| io_error("read", path, e))
    };
    let mut tail = vec![0u8; len.min(TAIL_GUESS) as usize];
    read_at(file, len - tail.len() as u64, &mut tail)?;
    let footer_at = tail.len() - FOOTER;
    let trailer_len = footer_len(path, &tail[footer_at..], len)?;
    let body_len = len - FOOTER as u64 - trailer_len;
    if trailer_len as usize <= footer_at {
        return decode(
            path,
            &tail[footer_at - trailer_len as usize..footer_at],
            body_len,
        );
    }
    let mut trailer = vec![0u8; trailer_len as usize];
    read_at(file, body_len, &mut trailer)?;
    decode(path, &trailer, body_len)
}

/// Parses footer and trailer from a whole file in memory; returns the body length too.
fn parse_tail(path: &Path, all: &[u8], len: u64) -> Result<(Trailer, u64)> {
    let footer_at = all.len() - FOOTER;
    let trailer_len = footer_len(path, &all[footer_at..], len)?;
    let body_len = len - FOOTER as u64 - trailer_len;
    let trailer = decode(path, &all[body_len as usize..footer_at], body_len)?;
    Ok((trailer, body_len))
}

/// Checks the magic and returns the trailer length the footer gives.
fn footer_len(path: &Path, footer: &[u8], len: u64) -> Result<u64> {
    if &footer[8..] != MAGIC {
        return Err(corrupt(path, "its footer has no store-fs magic"));
    }
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&footer[..8]);
    let trailer_len = u64::from_le_bytes(raw);
    if trailer_len > MAX_TRAILER as u64 || trailer_len > len - FOOTER as u64 {
        return Err(corrupt(
            path,
            format!("its footer gives a trailer of {trailer_len} bytes"),
        ));
    }
    Ok(trailer_len)
}

/// Decodes the trailer and checks it against the body length the file gives.
fn decode(path: &Path, raw: &[u8], body_len: u64) -> Result<Trailer> {
    let trailer: Trailer =
        serde_json::from_slice(raw).map_err(|e| corrupt(path, format!("its metadata: {e}")))?;
    if trailer.size != body_len {
        return Err(corrupt(
            path,
            format!(
                "the metadata gives {} bytes but the body has {body_len}",
                trailer.size
            ),
        ));
    }
    Ok(trailer)
}

/// Lower-case hex of a digest.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

#[cfg(test)]
mod tests;
