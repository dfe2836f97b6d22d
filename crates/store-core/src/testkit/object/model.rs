//! Model-based property check: random operation sequences applied to a store and to a plain
//! `BTreeMap`, comparing every answer.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use futures::TryStreamExt;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::{ObjectStoreFactory, key};
use crate::error::{ErrorKind, Result};
use crate::object::{
    GetOptions, ListEntry, ListOptions, ObjectMeta, ObjectStore, PutMode, PutOptions,
};

/// The key space, short so that operations collide; nested to exercise prefixes.
const KEYS: [&str; 6] = ["a", "a/b", "a/c", "ab", "b/a/x", "b"];
/// Listing prefixes, relative to the case's namespace.
const PREFIXES: [&str; 5] = ["", "a", "a/", "b", "c"];
/// Bodies; equal bodies have equal etags on content-hashing stores, which the model allows.
const BODIES: [&[u8]; 4] = [b"", b"alpha", b"beta", b"gamma gamma gamma"];
/// An etag no store produces.
const NEVER_ETAG: &str = "\"00000000000000000000000000000000\"";

/// How a generated put treats what is there.
#[derive(Debug, Clone)]
enum Mode {
    Overwrite,
    CreateOnly,
    /// If-match with the key's current etag (a never-seen etag if it is missing).
    IfMatchCurrent,
    /// If-match with an etag seen earlier in the case, picked by index.
    IfMatchSeen(usize),
}

/// One generated operation; indexes point into the constant tables.
#[derive(Debug, Clone)]
enum Op {
    Put {
        key: usize,
        body: usize,
        mode: Mode,
        typed: bool,
    },
    Delete {
        key: usize,
    },
    DeleteMany {
        keys: Vec<usize>,
    },
    Copy {
        from: usize,
        to: usize,
    },
    Get {
        key: usize,
    },
    Head {
        key: usize,
    },
    List {
        prefix: usize,
        delimited: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0..KEYS.len();
    let mode = prop_oneof![
        3 => Just(Mode::Overwrite),
        2 => Just(Mode::CreateOnly),
        2 => Just(Mode::IfMatchCurrent),
        1 => (0..8usize).prop_map(Mode::IfMatchSeen),
    ];
    prop_oneof![
        6 => (k(), 0..BODIES.len(), mode, any::<bool>())
            .prop_map(|(key, body, mode, typed)| Op::Put { key, body, mode, typed }),
        2 => k().prop_map(|key| Op::Delete { key }),
        1 => vec(k(), 0..4).prop_map(|keys| Op::DeleteMany { keys }),
        2 => (k(), k()).prop_map(|(from, to)| Op::Copy { from, to }),
        3 => k().prop_map(|key| Op::Get { key }),
        2 => k().prop_map(|key| Op::Head { key }),
        2 => (0..PREFIXES.len(), any::<bool>())
            .prop_map(|(prefix, delimited)| Op::List { prefix, delimited }),
    ]
}

/// What the model holds for one key.
#[derive(Debug, Clone)]
struct Entry {
    body: &'static [u8],
    /// The etag the store reported; `None` until learned if the put reported none.
    etag: Option<String>,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
}

fn same_etag(a: &str, b: &str) -> bool {
    a.trim_matches('"') == b.trim_matches('"')
}

/// One case: a namespace in the shared store, the model and the etags seen so far.
struct Case<'a> {
    store: &'a dyn ObjectStore,
    ns: String,
    model: BTreeMap<&'static str, Entry>,
    seen: Vec<String>,
}

type Check = std::result::Result<(), String>;

fn kind_of<T>(result: &Result<T>) -> Option<ErrorKind> {
    result.as_ref().err().map(crate::StoreError::kind)
}

fn expect_outcome<T: std::fmt::Debug>(result: &Result<T>, expected: Option<ErrorKind>) -> Check {
    if kind_of(result) == expected {
        Ok(())
    } else {
        Err(format!(
            "expected {}, store answered {result:?}",
            describe(expected)
        ))
    }
}

fn describe(kind: Option<ErrorKind>) -> String {
    kind.map_or_else(|| "Ok".to_owned(), |k| format!("a {k} error"))
}

impl Case<'_> {
    fn full(&self, short: &str) -> crate::ObjectKey {
        key(&format!("{}{short}", self.ns))
    }

    /// Compares a store's metadata with the model's entry, learning an unknown etag.
    fn check_meta(&mut self, short: &'static str, meta: &ObjectMeta) -> Check {
        if meta.key != self.full(short) {
            return Err(format!("metadata names key `{}`", meta.key));
        }
        let entry = self.model.get_mut(short).ok_or("the model has no entry")?;
        if meta.size != entry.body.len() as u64 {
            return Err(format!(
                "size {} but the model has {}",
                meta.size,
                entry.body.len()
            ));
        }
        match (&entry.etag, &meta.etag) {
            (Some(expected), Some(actual)) if !same_etag(expected, actual) => {
                return Err(format!("etag {actual} but the model has {expected}"));
            }
            (None, Some(actual)) => entry.etag = Some(actual.clone()),
            _ => {}
        }
        // Stores may label untyped objects (S3 says binary/octet-stream), so only a content
        // type that was set is compared.
        if entry.content_type.is_some() && meta.content_type != entry.content_type {
            return Err(format!(
                "content type {:?} but the model has {:?}",
                meta.content_type, entry.content_type
            ));
        }
        if meta.metadata != entry.metadata {
            return Err(format!(
                "metadata {:?} but the model has {:?}",
                meta.metadata, entry.metadata
            ));
        }
        Ok(())
    }

    /// The etag of the key's current object, asking the store if the model has not learned it.
    async fn current_etag(&mut self, short: &'static str) -> std::result::Result<String, String> {
        if let Some(etag) = self.model.get(short).and_then(|e| e.etag.clone()) {
            return Ok(etag);
        }
        if !self.model.contains_key(short) {
            return Ok(NEVER_ETAG.to_owned());
        }
        let meta = self
            .store
            .head(&self.full(short))
            .await
            .map_err(|e| e.to_string())?;
        self.check_meta(short, &meta)?;
        meta.etag
            .ok_or_else(|| "the store reports no etag".to_owned())
    }

    async fn apply(&mut self, op: &Op) -> Check {
        match op {
            Op::Put {
                key,
                body,
                mode,
                typed,
            } => self.put(KEYS[*key], BODIES[*body], mode, *typed).await,
            Op::Delete { key } => {
                let result = self.store.delete(&self.full(KEYS[*key])).await;
                expect_outcome(&result, None)?;
                self.model.remove(KEYS[*key]);
                Ok(())
            }
            Op::DeleteMany { keys } => {
                let full: Vec<_> = keys.iter().map(|k| self.full(KEYS[*k])).collect();
                let failures = self
                    .store
                    .delete_many(&full)
                    .await
                    .map_err(|e| e.to_string())?;
                if !failures.is_empty() {
                    return Err(format!("delete_many failed for {failures:?}"));
                }
                for k in keys {
                    self.model.remove(KEYS[*k]);
                }
                Ok(())
            }
            Op::Copy { from, to } => {
                let (from, to) = (KEYS[*from], KEYS[*to]);
                let result = self.store.copy(&self.full(from), &self.full(to)).await;
                let source = self.model.get(from).cloned();
                expect_outcome(&result, source.is_none().then_some(ErrorKind::NotFound))?;
                if let Some(source) = source {
                    // A copy keeps the content, so content etags (S3's MD5 of a single put,
                    // the memory store's digest) carry over.
                    self.model.insert(to, source);
                }
                Ok(())
            }
            Op::Get { key } => {
                let short = KEYS[*key];
                let result = self.store.get(&self.full(short), GetOptions::new()).await;
                let Some(entry) = self.model.get(short) else {
                    return expect_outcome(&result, Some(ErrorKind::NotFound));
                };
                let body = entry.body;
                let got = result.map_err(|e| format!("expected the object, store answered {e}"))?;
                self.check_meta(short, &got.meta)?;
                let bytes = got.bytes().await.map_err(|e| e.to_string())?;
                if bytes != body {
                    return Err(format!(
                        "body {bytes:?} but the model has {:?}",
                        Bytes::from_static(body)
                    ));
                }
                Ok(())
            }
            Op::Head { key } => {
                let short = KEYS[*key];
                let result = self.store.head(&self.full(short)).await;
                if !self.model.contains_key(short) {
                    return expect_outcome(&result, Some(ErrorKind::NotFound));
                }
                let meta = result.map_err(|e| format!("expected metadata, store answered {e}"))?;
                self.check_meta(short, &meta)
            }
            Op::List { prefix, delimited } => self.list(PREFIXES[*prefix], *delimited).await,
        }
    }

    async fn put(
        &mut self,
        short: &'static str,
        body: &'static [u8],
        mode: &Mode,
        typed: bool,
    ) -> Check {
        let current = self.model.get(short).map(|e| e.etag.clone());
        let (mode, expected) = match mode {
            Mode::Overwrite => (PutMode::Overwrite, None),
            Mode::CreateOnly => (
                PutMode::CreateOnly,
                current.is_some().then_some(ErrorKind::AlreadyExists),
            ),
            Mode::IfMatchCurrent => {
                let etag = self.current_etag(short).await?;
                let expected = current.is_none().then_some(ErrorKind::PreconditionFailed);
                (PutMode::IfMatch(etag), expected)
            }
            Mode::IfMatchSeen(i) => {
                let etag = match self.seen.len() {
                    0 => NEVER_ETAG.to_owned(),
                    n => self.seen[i % n].clone(),
                };
                let holds = match current {
                    None => false,
                    Some(_) => same_etag(&self.current_etag(short).await?, &etag),
                };
                (
                    PutMode::IfMatch(etag),
                    (!holds).then_some(ErrorKind::PreconditionFailed),
                )
            }
        };
        let mut options = PutOptions::new().mode(mode);
        if typed {
            options = options.content_type("text/plain").metadata("case", "typed");
        }
        let metadata = options.metadata.clone();
        let content_type = options.content_type.clone();
        let result = self
            .store
            .put(&self.full(short), Bytes::from_static(body), options)
            .await;
        expect_outcome(&result, expected)?;
        if let Ok(put) = result {
            if let Some(etag) = &put.etag {
                self.seen.push(etag.clone());
            }
            self.model.insert(
                short,
                Entry {
                    body,
                    etag: put.etag,
                    content_type,
                    metadata,
                },
            );
        }
        Ok(())
    }

    async fn list(&mut self, prefix: &str, delimited: bool) -> Check {
        let mut options = ListOptions::new().prefix(format!("{}{prefix}", self.ns));
        if delimited {
            options = options.delimiter("/");
        }
        let entries: Vec<ListEntry> = self
            .store
            .list(options)
            .try_collect()
            .await
            .map_err(|e| e.to_string())?;
        let actual: Vec<(String, Option<u64>)> = entries
            .iter()
            .map(|e| match e {
                ListEntry::Object(meta) => (
                    meta.key.as_str()[self.ns.len()..].to_owned(),
                    Some(meta.size),
                ),
                ListEntry::Prefix(p) => (p[self.ns.len()..].to_owned(), None),
            })
            .collect();
        let mut expected: Vec<(String, Option<u64>)> = Vec::new();
        for (k, entry) in self
            .model
            .range(prefix..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            let common = delimited
                .then(|| {
                    k[prefix.len()..]
                        .find('/')
                        .map(|at| &k[..prefix.len() + at + 1])
                })
                .flatten();
            match common {
                Some(common) if expected.last().is_some_and(|(last, _)| last == common) => {}
                Some(common) => expected.push((common.to_owned(), None)),
                None => expected.push(((*k).to_owned(), Some(entry.body.len() as u64))),
            }
        }
        if actual != expected {
            return Err(format!(
                "listing `{prefix}` (delimited: {delimited}) gave {actual:?}, the model has {expected:?}"
            ));
        }
        Ok(())
    }
}

/// Runs `cases` random operation sequences (puts in every mode, deletes, copies, gets, heads
/// and listings over a small key space) against a store from `factory` and against a plain
/// `BTreeMap`, and panics with the shrunk failing sequence if any answer differs: success vs
/// error kind, bodies, sizes, etags, content types, metadata and listings.
///
/// The factory is called once; each case works under its own key prefix. Call this from a
/// plain `#[test]`: it builds its own tokio runtime.
pub fn model_check(factory: ObjectStoreFactory, cases: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the model check");
    let store = runtime.block_on(factory());
    let counter = AtomicU64::new(0);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let result = runner.run(&vec(op(), 1..40), |ops| {
        let mut case = Case {
            store: &*store,
            ns: format!("model-{}/", counter.fetch_add(1, Ordering::Relaxed)),
            model: BTreeMap::new(),
            seen: Vec::new(),
        };
        runtime.block_on(async {
            for (step, op) in ops.iter().enumerate() {
                case.apply(op)
                    .await
                    .map_err(|why| TestCaseError::fail(format!("step {step} {op:?}: {why}")))?;
            }
            Ok(())
        })
    });
    if let Err(failure) = result {
        panic!(
            "the {} store disagrees with the model: {failure}",
            store.backend()
        );
    }
}
