//! The hostile-input corpus (`integration-tests/data/hostile.json`) and the runners that
//! throw it at any store: [`documents`], [`objects`], [`search`] and [`sql`]. Every backend's
//! test (in-memory, embedded, real servers) runs the same entries.
//!
//! The rule for each entry: stored faithfully (read back equal) or refused with a typed error
//! (`InvalidInput` or `Unsupported`); never a panic (a panic hook counts them, in any thread),
//! never an acknowledged write that reads back different or not at all, and the store works
//! normally afterwards. [`Report::finish`] prints what the backend did with each entry and
//! fails the test on any breach.

pub mod documents;
pub mod objects;
pub mod search;
pub mod sql;

use std::fmt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Mutex, Once, OnceLock};

use futures::FutureExt;
use serde::Deserialize;
use store_core::{ErrorKind, StoreError};

use crate::services::repo_root;

/// One named string of the corpus.
#[derive(Debug, Clone)]
pub struct Entry {
    /// What the entry is, for reports.
    pub name: String,
    /// The string itself.
    pub text: String,
}

/// The whole corpus, expanded.
#[derive(Debug)]
pub struct Corpus {
    /// Strings for keys, ids, values and SQL parameters.
    pub texts: Vec<Entry>,
    /// Pairs that differ in bytes but normalise to the same text: they must stay two.
    pub normalization_twins: Vec<(String, String)>,
    /// Attribute, field and column names.
    pub attribute_names: Vec<Entry>,
    /// Texts to read as numbers.
    pub numbers: Vec<Entry>,
    /// Depths of nested maps.
    pub nesting_depths: Vec<usize>,
    /// Sizes in bytes of one string attribute of an item.
    pub item_sizes: Vec<usize>,
    /// Texts to search for.
    pub search_texts: Vec<Entry>,
}

#[derive(Deserialize)]
struct RawEntry {
    name: String,
    text: Option<String>,
    repeat: Option<String>,
    times: Option<usize>,
}

#[derive(Deserialize)]
struct RawCorpus {
    texts: Vec<RawEntry>,
    normalization_twins: Vec<(String, String)>,
    attribute_names: Vec<RawEntry>,
    numbers: Vec<RawEntry>,
    nesting_depths: Vec<usize>,
    item_sizes: Vec<usize>,
    search_texts: Vec<RawEntry>,
}

fn expand(raw: Vec<RawEntry>) -> Vec<Entry> {
    raw.into_iter()
        .map(|e| {
            let text = match (e.text, e.repeat, e.times) {
                (Some(text), None, None) => text,
                (None, Some(unit), Some(times)) => unit.repeat(times),
                _ => panic!(
                    "corpus entry {}: give `text`, or `repeat` and `times`",
                    e.name
                ),
            };
            Entry { name: e.name, text }
        })
        .collect()
}

/// The corpus, read once.
pub fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let path = repo_root().join("integration-tests/data/hostile.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let raw: RawCorpus = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("parsing {}: {e}", path.display()));
        Corpus {
            texts: expand(raw.texts),
            normalization_twins: raw.normalization_twins,
            attribute_names: expand(raw.attribute_names),
            numbers: expand(raw.numbers),
            nesting_depths: raw.nesting_depths,
            item_sizes: raw.item_sizes,
            search_texts: expand(raw.search_texts),
        }
    })
}

/// Every panic seen by the hook since the process started: the thread it happened on and
/// its message. Tests run on threads named after them, so each report counts its own (and
/// those of unnamed threads, which could belong to any store).
static PANICS: Mutex<Vec<(Option<String>, String)>> = Mutex::new(Vec::new());

/// Installs the recording panic hook (once; the default hook still prints).
fn watch_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().map(str::to_owned);
            if let Ok(mut panics) = PANICS.lock() {
                panics.push((thread, info.to_string()));
            }
            previous(info);
        }));
    });
}

/// The panics recorded after the first `from`, on this thread or an unnamed one.
fn panics_since(from: usize) -> Vec<String> {
    let me = std::thread::current().name().map(str::to_owned);
    let panics = PANICS.lock().unwrap_or_else(|e| e.into_inner());
    panics
        .iter()
        .skip(from)
        .filter(|(thread, _)| thread.is_none() || *thread == me)
        .map(|(_, message)| message.clone())
        .collect()
}

fn panics_so_far() -> usize {
    PANICS.lock().unwrap_or_else(|e| e.into_inner()).len()
}

/// What a backend did with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and read back equal (or, for a query, answered).
    Stored,
    /// Refused with this kind of error.
    Refused(ErrorKind),
    /// Failed on a server defect the backend's test declared (printed as an `opt-out:` line).
    Quirk(&'static str),
}

/// What a backend did with the corpus, and every breach of the rule.
pub struct Report {
    backend: String,
    outcomes: Vec<(String, Outcome)>,
    breaches: Vec<String>,
    quirks: Vec<(String, &'static str)>,
    panics_before: usize,
}

impl Report {
    /// A report for `backend`, watching for panics from now on.
    pub fn new(backend: impl Into<String>) -> Self {
        watch_panics();
        Self {
            backend: backend.into(),
            outcomes: Vec::new(),
            breaches: Vec::new(),
            quirks: Vec::new(),
            panics_before: panics_so_far(),
        }
    }

    /// Declares a defect of the server under test: if the entry named `entry` fails, however
    /// it fails, it is reported as an `opt-out:` line giving `why`, not as a breach. Only for
    /// behaviour shown to be the server's (e.g. the same failure through boto3).
    pub fn quirk(mut self, entry: &str, why: &'static str) -> Self {
        self.quirks.push((entry.to_owned(), why));
        self
    }

    /// Runs one entry: `check` stores and reads back (its `Err(Breach)` is a wrong read-back),
    /// a typed refusal is recorded, anything else is a breach. Panics are caught and counted.
    /// Returns whether the entry was stored.
    pub async fn entry<F>(&mut self, what: impl Into<String>, check: F) -> bool
    where
        F: Future<Output = Result<(), Failure>>,
    {
        let what = what.into();
        let outcome = AssertUnwindSafe(check).catch_unwind().await;
        let quirk = self
            .quirks
            .iter()
            .find(|(entry, _)| *entry == what)
            .map(|(_, why)| *why);
        if let (Some(why), Ok(Err(_))) = (quirk, &outcome) {
            self.outcomes.push((what, Outcome::Quirk(why)));
            return false;
        }
        let stored = matches!(outcome, Ok(Ok(())));
        match outcome {
            Ok(Ok(())) => self.outcomes.push((what, Outcome::Stored)),
            Ok(Err(Failure::Store(e))) if refusal(&e) => {
                self.outcomes.push((what, Outcome::Refused(e.kind())));
            }
            Ok(Err(Failure::Store(e))) => {
                let message = shorten(&e.to_string());
                self.breaches.push(format!(
                    "{what}: failed with {:?}, not a typed refusal: {message}",
                    e.kind()
                ));
            }
            Ok(Err(Failure::Breach(why))) => self.breaches.push(format!("{what}: {why}")),
            Err(_) => self.breaches.push(format!("{what}: panicked")),
        }
        stored
    }

    /// Records a breach found outside an entry (e.g. the store no longer works).
    pub fn breach(&mut self, why: impl Into<String>) {
        self.breaches.push(why.into());
    }

    /// How many entries were stored and how many refused (or failed on a declared quirk).
    pub fn counts(&self) -> (usize, usize) {
        let stored = self
            .outcomes
            .iter()
            .filter(|(_, o)| *o == Outcome::Stored)
            .count();
        (stored, self.outcomes.len() - stored)
    }

    /// Prints the outcome of every entry, then fails on any breach or panic.
    pub fn finish(self) {
        let messages = panics_since(self.panics_before);
        let panics = messages.len();
        let (stored, refused) = self.counts();
        println!(
            "hostile input on {}: {} entries, {stored} stored faithfully, {refused} refused, {} breaches, {panics} panics",
            self.backend,
            self.outcomes.len(),
            self.breaches.len()
        );
        for (what, outcome) in &self.outcomes {
            match outcome {
                Outcome::Refused(kind) => println!("  refused ({}): {what}", kind.as_str()),
                Outcome::Quirk(why) => {
                    // Straight to stderr, past the test harness's capture, as the
                    // conformance suites' opt-out lines are: the run's log shows each.
                    use std::io::Write as _;
                    let line = format!("opt-out: hostile {what}: {}: {why}\n", self.backend);
                    let _ = std::io::stderr().write_all(line.as_bytes());
                }
                Outcome::Stored => {}
            }
        }
        assert!(
            self.breaches.is_empty() && panics == 0,
            "{}: {} breaches, {panics} panics:\n  {}\npanics: {messages:?}",
            self.backend,
            self.breaches.len(),
            self.breaches.join("\n  ")
        );
    }
}

/// Why an entry failed: the store's error, or a read-back that breaks the rule.
#[derive(Debug)]
pub enum Failure {
    /// The store returned an error.
    Store(StoreError),
    /// The store acknowledged but gave back something else.
    Breach(String),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "{e}"),
            Self::Breach(why) => f.write_str(why),
        }
    }
}

/// `Ok` when `got` equals `want`, else a breach naming `what` (values shortened).
pub fn same<T: PartialEq + fmt::Debug>(what: &str, got: &T, want: &T) -> Result<(), Failure> {
    if got == want {
        return Ok(());
    }
    Err(Failure::Breach(format!(
        "{what} read back different: got {}, wanted {}",
        shorten(&format!("{got:?}")),
        shorten(&format!("{want:?}"))
    )))
}

/// Whether `e` is a typed refusal of the input.
fn refusal(e: &StoreError) -> bool {
    matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::Unsupported)
}

/// At most 160 characters of `text`.
fn shorten(text: &str) -> String {
    let mut short: String = text.chars().take(160).collect();
    if short.len() < text.len() {
        short.push('…');
    }
    short
}
