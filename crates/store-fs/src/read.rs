//! Reads: conditional checks of a get, and the body stream, which reads an opened file in
//! bounded chunks on the blocking pool (never the whole object in memory).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;

use bytes::Bytes;
use futures::StreamExt;
use store_core::StoreError;
use store_core::object::ByteStream;

use crate::record::Opened;

/// The largest chunk a body stream yields.
pub(crate) const CHUNK: usize = 1024 * 1024;

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
