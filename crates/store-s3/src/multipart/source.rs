//! Where an upload's bytes come from, and how a part's buffer is filled from it.

use std::collections::VecDeque;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use store_core::object::ByteStream;
use store_core::{Result, StoreError};

use crate::error::io_error;

/// An upload's body.
pub(crate) enum Source {
    /// Chunks of any size, copied into part-sized buffers.
    Stream {
        body: ByteStream,
        /// What was read and not yet put in a part, oldest first.
        unread: VecDeque<Bytes>,
    },
    /// A file, read on the blocking pool straight into each part's buffer: the kernel's copy
    /// is the only one (a chunk stream costs two more, the file handle's buffer and the part's).
    File {
        /// `None` only while a read is on the blocking pool.
        file: Option<std::fs::File>,
        path: PathBuf,
        /// Where the next read starts.
        offset: u64,
    },
}

impl Source {
    /// A stream of chunks.
    pub(crate) fn stream(body: ByteStream) -> Self {
        Self::Stream {
            body,
            unread: VecDeque::new(),
        }
    }

    /// A file, read from its start.
    pub(crate) fn file(file: std::fs::File, path: PathBuf) -> Self {
        Self::File {
            file: Some(file),
            path,
            offset: 0,
        }
    }

    /// Whether this is a file (its size known before the first read).
    pub(crate) fn is_file(&self) -> bool {
        matches!(self, Self::File { .. })
    }

    /// Fills `part` (any buffer: its old contents are dropped) with the next `want` bytes, or
    /// fewer when the body ends; returns the part and whether the body ended.
    pub(crate) async fn fill(&mut self, part: BytesMut, want: usize) -> Result<(BytesMut, bool)> {
        match self {
            Self::Stream { body, unread } => fill_from_stream(body, unread, part, want).await,
            Self::File { file, path, offset } => {
                let open = file
                    .take()
                    .ok_or_else(|| StoreError::internal("the file is already being read"))?;
                let at = *offset;
                let (open, part, outcome) =
                    tokio::task::spawn_blocking(move || fill_from_file(open, part, want, at))
                        .await
                        .map_err(|e| {
                            StoreError::internal(format!("a file read task failed: {e}"))
                        })?;
                *file = Some(open);
                let ended = outcome.map_err(|e| io_error("read", path, e))?;
                *offset += part.len() as u64;
                Ok((part, ended))
            }
        }
    }

    /// Puts `bytes`, the last ones read, back in front of the body.
    pub(crate) fn unread(&mut self, bytes: Bytes) {
        match self {
            Self::Stream { unread, .. } => unread.push_front(bytes),
            Self::File { offset, .. } => *offset -= bytes.len() as u64,
        }
    }
}

async fn fill_from_stream(
    body: &mut ByteStream,
    unread: &mut VecDeque<Bytes>,
    mut part: BytesMut,
    want: usize,
) -> Result<(BytesMut, bool)> {
    part.clear();
    while part.len() < want {
        let mut chunk = match unread.pop_front() {
            Some(chunk) => chunk,
            None => match body.next().await {
                Some(chunk) => chunk?,
                None => return Ok((part, true)),
            },
        };
        let take = (want - part.len()).min(chunk.len());
        part.extend_from_slice(&chunk.split_to(take));
        if !chunk.is_empty() {
            unread.push_front(chunk);
        }
    }
    Ok((part, false))
}

/// Reads up to `want` bytes at `offset` into `part`, on a blocking thread. The buffer is
/// zero-filled only where it never held bytes (a new one comes zeroed from the allocator's
/// fresh pages, a recycled one keeps its length), so no pass over it precedes the read.
fn fill_from_file(
    file: std::fs::File,
    mut part: BytesMut,
    want: usize,
    offset: u64,
) -> (std::fs::File, BytesMut, std::io::Result<bool>) {
    if part.len() < want {
        part.resize(want, 0);
    }
    let mut filled = 0;
    let outcome = loop {
        if filled == want {
            break Ok(false);
        }
        match read_at(&file, &mut part[filled..want], offset + filled as u64) {
            Ok(0) => break Ok(true),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => break Err(e),
        }
    };
    part.truncate(filled);
    (file, part, outcome)
}

#[cfg(unix)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &std::fs::File, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}
