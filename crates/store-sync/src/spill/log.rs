//! [`SpillLog`]: a list that keeps its first entries in memory and the rest in a spill file,
//! read back in order as often as needed.

use store_core::Result;

use super::SpillOptions;
use super::dir::SpillDir;
use super::frames::{FrameFile, FrameReader, FrameWriter, Spill};

/// An append-only list holding at most `in_memory_keys` entries in memory.
pub(crate) struct SpillLog<T> {
    options: SpillOptions,
    memory: Vec<T>,
    writer: Option<(SpillDir, FrameWriter)>,
    file: Option<(SpillDir, FrameFile)>,
    len: u64,
}

impl<T: Spill> SpillLog<T> {
    /// An empty list.
    pub(crate) fn new(options: &SpillOptions) -> Self {
        Self {
            options: options.share(1),
            memory: Vec::new(),
            writer: None,
            file: None,
            len: 0,
        }
    }

    /// How many entries were pushed.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Appends an entry.
    pub(crate) fn push(&mut self, entry: T) -> Result<()> {
        assert!(
            self.file.is_none(),
            "a SpillLog is read only after its last push"
        );
        self.len += 1;
        if self.writer.is_none() && self.memory.len() < self.options.in_memory_keys {
            self.memory.push(entry);
            return Ok(());
        }
        if self.writer.is_none() {
            let dir = SpillDir::create(self.options.dir.as_deref())?;
            let writer = FrameWriter::create(&dir)?;
            self.writer = Some((dir, writer));
        }
        let (_, writer) = self.writer.as_mut().expect("made above");
        writer.push("", &entry)
    }

    /// Reads the entries in the order pushed; no push may follow.
    pub(crate) fn read(&mut self) -> Result<LogReader<'_, T>> {
        if let Some((dir, writer)) = self.writer.take() {
            self.file = Some((dir, writer.finish()?));
        }
        let spilled = match &self.file {
            Some((_, file)) => Some(file.read()?),
            None => None,
        };
        Ok(LogReader {
            memory: self.memory.iter(),
            spilled,
        })
    }
}

/// One reading of a [`SpillLog`].
pub(crate) struct LogReader<'a, T> {
    memory: std::slice::Iter<'a, T>,
    spilled: Option<FrameReader>,
}

impl<T: Spill + Clone> LogReader<'_, T> {
    /// The next entry, `None` after the last.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<T>> {
        if let Some(entry) = self.memory.next() {
            return Ok(Some(entry.clone()));
        }
        match &mut self.spilled {
            Some(reader) => Ok(reader.next::<T>()?.map(|(_, entry)| entry)),
            None => Ok(None),
        }
    }

    /// Up to `n` next entries; empty after the last.
    pub(crate) fn chunk(&mut self, n: usize) -> Result<Vec<T>> {
        let mut chunk = Vec::with_capacity(n.min(4096));
        while chunk.len() < n {
            match self.next()? {
                Some(entry) => chunk.push(entry),
                None => break,
            }
        }
        Ok(chunk)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::RecordKey;

    #[test]
    fn entries_come_back_in_order_twice_past_the_memory_limit() {
        let mut log = SpillLog::new(&SpillOptions::keys(3));
        let keys: Vec<RecordKey> = (0..10)
            .map(|i| RecordKey::id_only(format!("k{i}")))
            .collect();
        for key in &keys {
            log.push(key.clone()).unwrap();
        }
        assert_eq!(log.len(), 10);
        for _ in 0..2 {
            let mut reader = log.read().unwrap();
            assert_eq!(reader.chunk(4).unwrap(), keys[..4]);
            assert_eq!(reader.chunk(100).unwrap(), keys[4..]);
            assert!(reader.chunk(1).unwrap().is_empty());
        }
    }
}
