//! Spill files: a sequence of frames, each an id and an entry, written and read back in
//! order. A frame is `u32 id length | id | u32 entry length | entry`, lengths little-endian.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

use store_core::{Result, StoreError};

use super::dir::{SpillDir, spill_error};

/// Each open spill file's buffer: a join writes 128 files at once.
const BUFFER: usize = 32 * 1024;

/// What a spill file can hold: an entry written as bytes and read back exactly.
pub(crate) trait Spill: Sized {
    /// Appends the entry's bytes to `out`.
    fn write(&self, out: &mut Vec<u8>);
    /// Refuses an entry that [`read`](Self::read) could not give back; checked before it is
    /// written. Every entry can be, unless its type says otherwise.
    fn check(&self) -> Result<()> {
        Ok(())
    }
    /// The entry `write` wrote.
    fn read(bytes: &[u8]) -> Result<Self>;
}

/// A spill file being written.
#[derive(Debug)]
pub(crate) struct FrameWriter {
    path: PathBuf,
    out: BufWriter<File>,
    frames: u64,
    scratch: Vec<u8>,
}

impl FrameWriter {
    /// Creates a new file in `dir`.
    pub(crate) fn create(dir: &SpillDir) -> Result<Self> {
        let path = dir.file();
        let file = File::create(&path).map_err(|e| spill_error(&path, &e))?;
        Ok(Self {
            out: BufWriter::with_capacity(BUFFER, file),
            path,
            frames: 0,
            scratch: Vec::new(),
        })
    }

    /// Appends one frame.
    pub(crate) fn push<T: Spill>(&mut self, id: &str, entry: &T) -> Result<()> {
        entry.check()?;
        self.scratch.clear();
        entry.write(&mut self.scratch);
        let mut put = |bytes: &[u8]| -> std::io::Result<()> {
            let len = u32::try_from(bytes.len()).map_err(|_| {
                std::io::Error::new(std::io::ErrorKind::InvalidInput, "a frame over 4 GiB")
            })?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(bytes)
        };
        put(id.as_bytes())
            .and_then(|()| put(&self.scratch))
            .map_err(|e| spill_error(&self.path, &e))?;
        self.frames += 1;
        Ok(())
    }

    /// Flushes the file and makes it readable.
    pub(crate) fn finish(self) -> Result<FrameFile> {
        let Self {
            path, out, frames, ..
        } = self;
        out.into_inner()
            .map_err(|e| spill_error(&path, e.error()))?;
        Ok(FrameFile { path, frames })
    }
}

/// A written spill file. Dropping it removes the file.
#[derive(Debug)]
pub(crate) struct FrameFile {
    path: PathBuf,
    frames: u64,
}

impl FrameFile {
    /// How many frames it holds.
    pub(crate) fn frames(&self) -> u64 {
        self.frames
    }

    /// Reads the frames from the first (as often as asked).
    pub(crate) fn read(&self) -> Result<FrameReader> {
        let file = File::open(&self.path).map_err(|e| spill_error(&self.path, &e))?;
        Ok(FrameReader {
            input: BufReader::with_capacity(BUFFER, file),
            left: self.frames,
            path: self.path.clone(),
        })
    }
}

impl Drop for FrameFile {
    fn drop(&mut self) {
        // Scratch: the directory goes at the end of the run anyway.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Reads a spill file's frames in order.
#[derive(Debug)]
pub(crate) struct FrameReader {
    input: BufReader<File>,
    left: u64,
    path: PathBuf,
}

impl FrameReader {
    /// The next frame's id and entry, `None` after the last.
    pub(crate) fn next<T: Spill>(&mut self) -> Result<Option<(String, T)>> {
        if self.left == 0 {
            return Ok(None);
        }
        let id = self.bytes()?;
        let id = String::from_utf8(id).map_err(|_| self.damaged("an id is not UTF-8"))?;
        let entry = T::read(&self.bytes()?)?;
        self.left -= 1;
        Ok(Some((id, entry)))
    }

    fn bytes(&mut self) -> Result<Vec<u8>> {
        let path = &self.path;
        let mut len = [0u8; 4];
        self.input
            .read_exact(&mut len)
            .map_err(|e| spill_error(path, &e))?;
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        self.input
            .read_exact(&mut bytes)
            .map_err(|e| spill_error(path, &e))?;
        Ok(bytes)
    }

    fn damaged(&self, what: &str) -> StoreError {
        StoreError::internal(format!(
            "the spill file {} is damaged: {what}",
            self.path.display()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Spill for u64 {
        fn write(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn read(bytes: &[u8]) -> Result<Self> {
            Ok(u64::from_le_bytes(bytes.try_into().unwrap()))
        }
    }

    #[test]
    fn frames_come_back_in_order_and_the_file_goes_with_its_handle() {
        let dir = SpillDir::create(None).unwrap();
        let mut writer = FrameWriter::create(&dir).unwrap();
        for i in 0..1000u64 {
            writer.push(&format!("id-{i}-ü"), &(i * 3)).unwrap();
        }
        writer.push("", &7u64).unwrap();
        let file = writer.finish().unwrap();
        assert_eq!(file.frames(), 1001);
        let path = file.path.clone();
        for _ in 0..2 {
            let mut reader = file.read().unwrap();
            for i in 0..1000u64 {
                assert_eq!(
                    reader.next::<u64>().unwrap(),
                    Some((format!("id-{i}-ü"), i * 3))
                );
            }
            assert_eq!(reader.next::<u64>().unwrap(), Some((String::new(), 7)));
            assert_eq!(reader.next::<u64>().unwrap(), None);
        }
        drop(file);
        assert!(!path.exists());
    }
}
