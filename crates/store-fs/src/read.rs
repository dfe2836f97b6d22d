//! Reads: conditional checks of a get, and the body stream, which reads an opened file in
//! bounded chunks on the blocking pool (never the whole object in memory).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use bytes::Bytes;
use futures::StreamExt;
use store_core::object::{ByteStream, GetOptions};
use store_core::{Result, StoreError};

use crate::error::etag_matches;
use crate::record::Opened;

/// The largest chunk a body stream yields.
pub(crate) const CHUNK: usize = 1024 * 1024;

/// Checks a get's if-match and if-none-match against the stored etag, with the reference
/// store's answers and messages.
pub(crate) fn check_conditions(options: &GetOptions, etag: &str) -> Result<()> {
    if let Some(expected) = &options.if_match
        && !etag_matches(expected, Some(etag))
    {
        return Err(StoreError::precondition_failed(format!(
            "if-match etag {expected} does not match the current etag {etag}"
        )));
    }
    if let Some(unwanted) = &options.if_none_match
        && etag_matches(unwanted, Some(etag))
    {
        return Err(StoreError::precondition_failed(format!(
            "not modified: the object still has etag {unwanted}"
        )));
    }
    Ok(())
}

/// The bytes `range` of an opened object as a stream of chunks of at most [`CHUNK`] bytes.
pub(crate) fn body(opened: Opened, range: Range<u64>) -> ByteStream {
    if let Some(whole) = opened.whole {
        // Small objects were read whole when opened; the range lies within the body.
        let part = whole.slice(range.start as usize..range.end as usize);
        return if part.is_empty() {
            futures::stream::empty().boxed()
        } else {
            futures::stream::iter([Ok(part)]).boxed()
        };
    }
    file_chunks(opened.file, range)
}

/// Streams `range` of `file`, one blocking read per chunk.
fn file_chunks(file: File, range: Range<u64>) -> ByteStream {
    futures::stream::try_unfold(Some((file, range)), |state| async move {
        let Some((mut file, range)) = state else {
            return Ok(None);
        };
        if range.is_empty() {
            return Ok(None);
        }
        let len = (range.end - range.start).min(CHUNK as u64) as usize;
        let read = tokio::task::spawn_blocking(move || {
            let mut buf = vec![0u8; len];
            file.seek(SeekFrom::Start(range.start))
                .and_then(|_| file.read_exact(&mut buf))
                .map(|()| (file, buf))
        })
        .await
        .map_err(|e| StoreError::internal(format!("a read task failed: {e}")))?;
        let (file, buf) = read.map_err(|e| {
            StoreError::internal(format!("reading the object's body failed: {e}")).with_source(e)
        })?;
        let next = range.start + len as u64..range.end;
        Ok(Some((Bytes::from(buf), Some((file, next)))))
    })
    .boxed()
}
