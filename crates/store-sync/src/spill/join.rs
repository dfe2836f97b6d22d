//! [`SpillJoin`]: a hash join of two keyed streams that holds at most a set number of build
//! entries in memory. Under the limit it is a plain in-memory hash join that answers each
//! probe at once; past it, both sides are hash-partitioned into spill files and joined one
//! partition at a time, a partition still too large being split again.
//!
//! An id may come more than once on either side (a SQLite TEXT key column holding `1` and
//! `1.0`, which read as one number): the join pairs twins one to one, each probe with a build
//! entry of its id it [`Pairs`] with, so two equal collections holding such twins still join
//! as equal; twins that pair with nothing come alone.

use std::collections::HashMap;
use std::collections::hash_map;
use std::hash::{Hash as _, Hasher as _};
use std::marker::PhantomData;

use store_core::Result;

use super::SpillOptions;
use super::dir::{SpillDir, blocking};
use super::frames::{FrameFile, FrameReader, FrameWriter, Spill};

/// Partitions a spilled side is split into (per level).
const FAN_OUT: usize = 64;
/// The deepest level of splitting: a partition there is loaded whatever its size (64^5
/// partitions in all; only a hash that puts everything together would get there).
const MAX_DEPTH: u32 = 4;

/// What the join found for one id.
#[derive(Debug, PartialEq)]
pub(crate) enum Joined<B, P> {
    /// Both sides have it.
    Both(B, P),
    /// Only the probe side has it.
    ProbeOnly(P),
    /// Only the build side has it.
    BuildOnly(B),
}

/// Which of several build entries of one id a probe entry is paired with: the first it
/// `pairs_with` (an equal digest, the same exact key); with none, it is not paired.
pub(crate) trait Pairs<P> {
    /// Whether this build entry is the probe's counterpart.
    fn pairs_with(&self, probe: &P) -> bool;
}

/// The build entries of one id: nearly always one.
#[derive(Debug)]
enum Entries<B> {
    One(B),
    Many(Vec<B>),
}

impl<B> Entries<B> {
    fn push(&mut self, entry: B) {
        let this = std::mem::replace(self, Entries::Many(Vec::new()));
        *self = match this {
            Entries::One(first) => Entries::Many(vec![first, entry]),
            Entries::Many(mut all) => {
                all.push(entry);
                Entries::Many(all)
            }
        };
    }

    fn into_vec(self) -> Vec<B> {
        match self {
            Entries::One(entry) => vec![entry],
            Entries::Many(all) => all,
        }
    }
}

/// Build entries by id.
type Table<B> = HashMap<String, Entries<B>>;

/// Adds a build entry to `table`.
fn add<B>(table: &mut Table<B>, id: String, entry: B) {
    match table.entry(id) {
        hash_map::Entry::Occupied(mut held) => held.get_mut().push(entry),
        hash_map::Entry::Vacant(free) => {
            free.insert(Entries::One(entry));
        }
    }
}

/// A hash join: every build entry is inserted first, then every probe entry is probed, then
/// [`SpillJoin::finish`] gives what the probes could not answer at once and the build
/// entries no probe matched. Entries of one id pair one to one (see [`Pairs`]); the ones
/// left over on either side come alone.
pub(crate) struct SpillJoin<B, P> {
    options: SpillOptions,
    memory: Table<B>,
    spilled: Option<Spilled>,
    inserted: u64,
    peak: usize,
    probe: PhantomData<P>,
}

struct Spilled {
    dir: SpillDir,
    build: Vec<FrameWriter>,
    probe: Vec<FrameWriter>,
}

impl<B: Spill + Pairs<P>, P: Spill> SpillJoin<B, P> {
    /// An empty join holding at most `options.in_memory_keys` entries in memory.
    pub(crate) fn new(options: &SpillOptions) -> Self {
        Self {
            options: options.share(1),
            memory: HashMap::new(),
            spilled: None,
            inserted: 0,
            peak: 0,
            probe: PhantomData,
        }
    }

    /// Whether nothing was inserted.
    pub(crate) fn is_empty(&self) -> bool {
        self.inserted == 0
    }

    /// Adds a build entry.
    pub(crate) fn insert(&mut self, id: String, entry: B) -> Result<()> {
        // Until it spills, every entry inserted is held (several may share an id).
        let held = self.inserted;
        self.inserted += 1;
        if self.spilled.is_none() && held >= self.options.in_memory_keys as u64 {
            self.spill()?;
        }
        match &mut self.spilled {
            Some(spilled) => spilled.build[bucket(&id, 0)].push(&id, &entry),
            None => {
                add(&mut self.memory, id, entry);
                self.peak = self.peak.max(held as usize + 1);
                Ok(())
            }
        }
    }

    /// Probes one entry: the answer at once while everything is in memory, or `None` when it
    /// is deferred to [`SpillJoin::finish`].
    pub(crate) fn probe(&mut self, id: String, entry: P) -> Result<Option<(String, Joined<B, P>)>> {
        match &mut self.spilled {
            Some(spilled) => {
                spilled.probe[bucket(&id, 0)].push(&id, &entry)?;
                Ok(None)
            }
            None => {
                let joined = matched(&mut self.memory, &id, entry);
                Ok(Some((id, joined)))
            }
        }
    }

    /// Everything the probes did not answer yet, then the unmatched build entries.
    pub(crate) fn finish(self) -> Result<Rest<B, P>> {
        let mut rest = Rest {
            limit: self.options.in_memory_keys,
            dir: None,
            work: Vec::new(),
            current: None,
            peak: self.peak,
            entries: PhantomData,
        };
        match self.spilled {
            None => {
                rest.current = Some(Current {
                    table: self.memory,
                    probe: None,
                    leftovers: None,
                    _files: Vec::new(),
                });
            }
            Some(spilled) => {
                let (builds, probes) = blocking(|| {
                    Ok::<_, store_core::StoreError>((
                        finish_all(spilled.build)?,
                        finish_all(spilled.probe)?,
                    ))
                })?;
                rest.work = builds
                    .into_iter()
                    .zip(probes)
                    .map(|(b, p)| (b, p, 0))
                    .collect();
                rest.dir = Some(spilled.dir);
            }
        }
        Ok(rest)
    }

    fn spill(&mut self) -> Result<()> {
        let dir = SpillDir::create(self.options.dir.as_deref())?;
        let mut build = writers(&dir)?;
        let probe = writers(&dir)?;
        blocking(|| {
            for (id, entries) in self.memory.drain() {
                for entry in entries.into_vec() {
                    build[bucket(&id, 0)].push(&id, &entry)?;
                }
            }
            Ok::<_, store_core::StoreError>(())
        })?;
        self.memory = HashMap::new();
        self.spilled = Some(Spilled { dir, build, probe });
        Ok(())
    }
}

/// The rest of a join, read with [`Rest::next`].
pub(crate) struct Rest<B, P> {
    limit: usize,
    // Kept for the files' sake: the directory goes when the rest does.
    dir: Option<SpillDir>,
    work: Vec<(FrameFile, FrameFile, u32)>,
    current: Option<Current<B>>,
    peak: usize,
    entries: PhantomData<P>,
}

/// The partition being joined: its build entries in memory and its probe file being read.
struct Current<B> {
    table: Table<B>,
    probe: Option<FrameReader>,
    leftovers: Option<Leftovers<B>>,
    _files: Vec<FrameFile>,
}

/// The build entries no probe took, one at a time.
struct Leftovers<B> {
    ids: hash_map::IntoIter<String, Entries<B>>,
    /// The rest of an id with several entries.
    several: Option<(String, std::vec::IntoIter<B>)>,
}

impl<B> Iterator for Leftovers<B> {
    type Item = (String, B);

    fn next(&mut self) -> Option<(String, B)> {
        loop {
            if let Some((id, entries)) = &mut self.several {
                if let Some(entry) = entries.next() {
                    return Some((id.clone(), entry));
                }
                self.several = None;
            }
            match self.ids.next()? {
                (id, Entries::One(entry)) => return Some((id, entry)),
                (id, Entries::Many(all)) => self.several = Some((id, all.into_iter())),
            }
        }
    }
}

impl<B: Spill + Pairs<P>, P: Spill> Rest<B, P> {
    /// The next joined id, `None` when the join is done.
    #[allow(clippy::should_implement_trait)]
    pub(crate) fn next(&mut self) -> Result<Option<(String, Joined<B, P>)>> {
        loop {
            if let Some(current) = &mut self.current {
                if let Some(reader) = &mut current.probe {
                    match reader.next::<P>()? {
                        Some((id, entry)) => {
                            let joined = matched(&mut current.table, &id, entry);
                            return Ok(Some((id, joined)));
                        }
                        None => current.probe = None,
                    }
                }
                let leftovers = current.leftovers.get_or_insert_with(|| Leftovers {
                    ids: std::mem::take(&mut current.table).into_iter(),
                    several: None,
                });
                if let Some((id, built)) = leftovers.next() {
                    return Ok(Some((id, Joined::BuildOnly(built))));
                }
                self.current = None;
            }
            let Some((build, probe, depth)) = self.work.pop() else {
                return Ok(None);
            };
            if build.frames() > self.limit as u64 && depth < MAX_DEPTH {
                blocking(|| self.split(&build, &probe, depth + 1))?;
                continue;
            }
            let (table, held) = blocking(|| {
                let mut table = HashMap::new();
                let mut held = 0;
                let mut reader = build.read()?;
                while let Some((id, entry)) = reader.next::<B>()? {
                    add(&mut table, id, entry);
                    held += 1;
                }
                Ok::<_, store_core::StoreError>((table, held))
            })?;
            self.peak = self.peak.max(held);
            self.current = Some(Current {
                table,
                probe: Some(probe.read()?),
                leftovers: None,
                _files: vec![build, probe],
            });
        }
    }

    /// The most build entries held in memory at once.
    #[cfg(test)]
    pub(crate) fn peak(&self) -> usize {
        self.peak
    }

    fn split(&mut self, build: &FrameFile, probe: &FrameFile, depth: u32) -> Result<()> {
        let dir = self.dir.clone().expect("only spilled partitions are split");
        let builds = resplit::<B>(&dir, build, depth)?;
        let probes = resplit::<P>(&dir, probe, depth)?;
        self.work
            .extend(builds.into_iter().zip(probes).map(|(b, p)| (b, p, depth)));
        Ok(())
    }
}

/// A probe entry joined with the build entry of its id, which leaves `table`. Of an id with
/// several (twins), only one the probe [`Pairs`] with: a probe that pairs with none stays
/// alone, and so do the entries no probe pairs with (taking one anyway could take the
/// counterpart of a later probe, and leave an entry that should stand alone paired).
fn matched<B: Pairs<P>, P>(table: &mut Table<B>, id: &str, entry: P) -> Joined<B, P> {
    match table.get_mut(id) {
        None => Joined::ProbeOnly(entry),
        Some(Entries::Many(all)) => match all.iter().position(|b| b.pairs_with(&entry)) {
            Some(at) => {
                let built = all.swap_remove(at);
                if all.is_empty() {
                    table.remove(id);
                }
                Joined::Both(built, entry)
            }
            None => Joined::ProbeOnly(entry),
        },
        Some(Entries::One(_)) => match table.remove(id) {
            Some(Entries::One(built)) => Joined::Both(built, entry),
            _ => Joined::ProbeOnly(entry),
        },
    }
}

/// The partition of `id` at a level of splitting.
fn bucket(id: &str, depth: u32) -> usize {
    // SipHash with fixed keys: the same id lands in the same partition on both sides.
    let mut hasher = std::hash::DefaultHasher::new();
    depth.hash(&mut hasher);
    id.hash(&mut hasher);
    (hasher.finish() % FAN_OUT as u64) as usize
}

fn writers(dir: &SpillDir) -> Result<Vec<FrameWriter>> {
    (0..FAN_OUT).map(|_| FrameWriter::create(dir)).collect()
}

fn finish_all(writers: Vec<FrameWriter>) -> Result<Vec<FrameFile>> {
    writers.into_iter().map(FrameWriter::finish).collect()
}

/// Splits one spill file into [`FAN_OUT`] by the partitions of the next level.
fn resplit<T: Spill>(dir: &SpillDir, file: &FrameFile, depth: u32) -> Result<Vec<FrameFile>> {
    let mut parts = writers(dir)?;
    let mut reader = file.read()?;
    while let Some((id, entry)) = reader.next::<T>()? {
        parts[bucket(&id, depth)].push(&id, &entry)?;
    }
    finish_all(parts)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    impl Spill for u32 {
        fn write(&self, out: &mut Vec<u8>) {
            out.extend_from_slice(&self.to_le_bytes());
        }
        fn read(bytes: &[u8]) -> Result<Self> {
            Ok(u32::from_le_bytes(bytes.try_into().unwrap()))
        }
    }

    /// Entries pair by their last digit.
    impl Pairs<u32> for u32 {
        fn pairs_with(&self, probe: &u32) -> bool {
            self % 10 == probe % 10
        }
    }

    type Outcome = BTreeMap<String, (Option<u32>, Option<u32>)>;

    /// Joins build ids 0..builds with probe ids offset..offset+probes, each entry its number.
    fn join(limit: usize, builds: u32, offset: u32, probes: u32) -> (Outcome, usize) {
        let mut join = SpillJoin::<u32, u32>::new(&SpillOptions::keys(limit));
        for i in 0..builds {
            join.insert(format!("k{i}"), i).unwrap();
        }
        let mut seen = Outcome::new();
        let mut record = |id: String, joined: Joined<u32, u32>| {
            let entry = match joined {
                Joined::Both(b, p) => (Some(b), Some(p)),
                Joined::ProbeOnly(p) => (None, Some(p)),
                Joined::BuildOnly(b) => (Some(b), None),
            };
            assert!(seen.insert(id, entry).is_none(), "an id came twice");
        };
        for i in offset..offset + probes {
            if let Some((id, joined)) = join.probe(format!("k{i}"), i + 1_000_000).unwrap() {
                record(id, joined);
            }
        }
        let mut rest = join.finish().unwrap();
        while let Some((id, joined)) = rest.next().unwrap() {
            record(id, joined);
        }
        (seen, rest.peak())
    }

    fn expected(builds: u32, offset: u32, probes: u32) -> Outcome {
        let mut out = Outcome::new();
        for i in 0..builds {
            out.insert(format!("k{i}"), (Some(i), None));
        }
        for i in offset..offset + probes {
            out.entry(format!("k{i}")).or_default().1 = Some(i + 1_000_000);
        }
        out
    }

    #[test]
    fn a_spilled_join_finds_what_the_in_memory_one_does() {
        for (builds, offset, probes) in [(0, 0, 50), (50, 0, 0), (3_000, 1_000, 4_000)] {
            let want = expected(builds, offset, probes);
            let (in_memory, peak) = join(usize::MAX, builds, offset, probes);
            assert_eq!(in_memory, want);
            assert_eq!(peak, builds as usize);
            // 100 in memory: spilled into 64 partitions of about 47, none split again.
            let (spilled, peak) = join(100, builds, offset, probes);
            assert_eq!(spilled, want);
            assert!(peak <= 100, "held {peak}");
        }
    }

    #[test]
    fn partitions_over_the_limit_are_split_again() {
        // 5 in memory: the 64 first-level partitions of about 47 entries are each split.
        let (spilled, peak) = join(5, 3_000, 2_000, 2_000);
        assert_eq!(spilled, expected(3_000, 2_000, 2_000));
        assert!(peak <= 5, "held {peak}");
    }

    #[test]
    fn entries_of_one_id_pair_one_to_one_in_memory_and_spilled() {
        for limit in [usize::MAX, 2] {
            let mut join = SpillJoin::<u32, u32>::new(&SpillOptions::keys(limit));
            for (id, n) in [("a", 1), ("b", 2), ("c", 3), ("a", 4), ("a", 9)] {
                join.insert(id.to_owned(), n).unwrap();
            }
            let mut found = Vec::new();
            // 19 pairs with 9 and 21 with 1; 5 and 7 pair with none (4 is left alone).
            for n in [19, 21, 5, 7] {
                found.extend(join.probe("a".to_owned(), n).unwrap());
            }
            let mut rest = join.finish().unwrap();
            while let Some(pair) = rest.next().unwrap() {
                found.push(pair);
            }
            found.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
            let a = |joined| ("a".to_owned(), joined);
            assert_eq!(
                found,
                [
                    a(Joined::Both(1, 21)),
                    a(Joined::Both(9, 19)),
                    a(Joined::BuildOnly(4)),
                    a(Joined::ProbeOnly(5)),
                    a(Joined::ProbeOnly(7)),
                    ("b".to_owned(), Joined::BuildOnly(2)),
                    ("c".to_owned(), Joined::BuildOnly(3)),
                ],
                "held in memory: {limit}"
            );
        }
    }

    #[test]
    fn the_spill_files_go_with_the_join() {
        let base = std::env::temp_dir().join(format!("stores-join-test-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let options = SpillOptions {
            in_memory_keys: 1,
            dir: Some(base.clone()),
        };
        let mut join = SpillJoin::<u32, u32>::new(&options);
        for i in 0..10 {
            join.insert(format!("k{i}"), i).unwrap();
        }
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 1);
        let mut rest = join.finish().unwrap();
        rest.next().unwrap();
        drop(rest);
        assert_eq!(std::fs::read_dir(&base).unwrap().count(), 0);
        std::fs::remove_dir(&base).unwrap();
    }
}
