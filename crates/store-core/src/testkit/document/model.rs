//! A model-based property test: random sequences of writes on a small key space, applied to
//! the backend under test and to a plain `BTreeMap` model whose semantics are written out
//! here independently of any backend, comparing every result and every read.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

use super::{DocumentFactory, TableSpec, get, pk_sk, query_all, scan_all};
use crate::document::{
    BatchWriteOptions, DeleteItemOptions, DocumentStore, PutItemOptions, Query, ReturnValues, Scan,
    Update, UpdateOptions, WriteOp, attr,
};
use crate::error::ErrorKind;
use crate::keys::DocKey;
use crate::value::{Document, Value};

const PARTITIONS: u8 = 3;
const SORTS: i64 = 3;

/// One random step.
#[derive(Debug, Clone)]
enum Op {
    /// Unconditional put of `n` (and `s` when given), returning the old item.
    Put {
        at: (u8, i64),
        n: i64,
        s: Option<u8>,
    },
    /// Create-only put.
    PutIfAbsent { at: (u8, i64), n: i64 },
    /// Put only if `n` currently equals `expected`.
    PutIfN {
        at: (u8, i64),
        expected: i64,
        n: i64,
    },
    /// Unconditional delete, returning the old item.
    Delete { at: (u8, i64) },
    /// Delete only if `n >= at_least`.
    DeleteIfAtLeast { at: (u8, i64), at_least: i64 },
    /// `add n delta`, returning the new item.
    Add { at: (u8, i64), delta: i64 },
    /// `add n delta` only if the item exists, returning the old item.
    AddIfExists { at: (u8, i64), delta: i64 },
    /// `set s`.
    Set { at: (u8, i64), s: u8 },
    /// `remove s`.
    Remove { at: (u8, i64) },
    /// `add tags {t}`.
    AddTag { at: (u8, i64), tag: u8 },
    /// `delete_from_set tags {t}`.
    DeleteTag { at: (u8, i64), tag: u8 },
}

impl Op {
    fn at(&self) -> (u8, i64) {
        match self {
            Op::Put { at, .. }
            | Op::PutIfAbsent { at, .. }
            | Op::PutIfN { at, .. }
            | Op::Delete { at }
            | Op::DeleteIfAtLeast { at, .. }
            | Op::Add { at, .. }
            | Op::AddIfExists { at, .. }
            | Op::Set { at, .. }
            | Op::Remove { at }
            | Op::AddTag { at, .. }
            | Op::DeleteTag { at, .. } => *at,
        }
    }
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let at = (0..PARTITIONS, 0..SORTS);
    let small = -3i64..=3;
    prop_oneof![
        (at.clone(), small.clone(), proptest::option::of(0u8..3)).prop_map(|(at, n, s)| Op::Put {
            at,
            n,
            s
        }),
        (at.clone(), small.clone()).prop_map(|(at, n)| Op::PutIfAbsent { at, n }),
        (at.clone(), small.clone(), small.clone()).prop_map(|(at, expected, n)| Op::PutIfN {
            at,
            expected,
            n
        }),
        at.clone().prop_map(|at| Op::Delete { at }),
        (at.clone(), small.clone()).prop_map(|(at, at_least)| Op::DeleteIfAtLeast { at, at_least }),
        (at.clone(), small.clone()).prop_map(|(at, delta)| Op::Add { at, delta }),
        (at.clone(), small).prop_map(|(at, delta)| Op::AddIfExists { at, delta }),
        (at.clone(), 0u8..3).prop_map(|(at, s)| Op::Set { at, s }),
        at.clone().prop_map(|at| Op::Remove { at }),
        (at.clone(), 0u8..3).prop_map(|(at, tag)| Op::AddTag { at, tag }),
        (at, 0u8..3).prop_map(|(at, tag)| Op::DeleteTag { at, tag }),
    ]
}

fn partition(p: u8) -> String {
    format!("p{p}")
}

fn doc_key((p, sk): (u8, i64)) -> DocKey {
    DocKey::partition(partition(p)).with_sort(sk)
}

fn base((p, sk): (u8, i64)) -> Document {
    Document::new().with("pk", partition(p)).with("sk", sk)
}

fn tag_set(tag: u8) -> Value {
    Value::StringSet(BTreeSet::from([format!("t{tag}")]))
}

type Outcome = Result<Option<Document>, ErrorKind>;
type Model = BTreeMap<DocKey, Document>;

fn n_of(doc: &Document) -> Option<i64> {
    doc.get("n").and_then(Value::as_i64)
}

/// The model's semantics, spelled out directly.
fn apply_model(model: &mut Model, op: &Op) -> Outcome {
    let key = doc_key(op.at());
    let old = model.get(&key).cloned();
    let upsert = |model: &mut Model, change: &dyn Fn(&mut Document)| {
        let mut doc = old.clone().unwrap_or_else(|| base(op.at()));
        change(&mut doc);
        model.insert(key.clone(), doc.clone());
        doc
    };
    match op {
        Op::Put { at, n, s } => {
            let mut doc = base(*at).with("n", *n);
            if let Some(s) = s {
                doc.insert("s", format!("v{s}"));
            }
            model.insert(key, doc);
            Ok(old)
        }
        Op::PutIfAbsent { at, n } | Op::PutIfN { at, n, .. } => {
            let holds = match op {
                Op::PutIfN { expected, .. } => old.as_ref().and_then(n_of) == Some(*expected),
                _ => old.is_none(),
            };
            if !holds {
                return Err(ErrorKind::PreconditionFailed);
            }
            model.insert(key, base(*at).with("n", *n));
            Ok(None)
        }
        Op::Delete { .. } => Ok(model.remove(&key)),
        Op::DeleteIfAtLeast { at_least, .. } => {
            if old.as_ref().and_then(n_of).is_none_or(|n| n < *at_least) {
                return Err(ErrorKind::PreconditionFailed);
            }
            model.remove(&key);
            Ok(None)
        }
        Op::Add { delta, .. } => {
            let doc = upsert(model, &|doc| {
                let n = n_of(doc).unwrap_or(0) + delta;
                doc.insert("n", n);
            });
            Ok(Some(doc))
        }
        Op::AddIfExists { delta, .. } => {
            if old.is_none() {
                return Err(ErrorKind::PreconditionFailed);
            }
            upsert(model, &|doc| {
                let n = n_of(doc).unwrap_or(0) + delta;
                doc.insert("n", n);
            });
            Ok(old)
        }
        Op::Set { s, .. } => {
            upsert(model, &|doc| {
                doc.insert("s", format!("v{s}"));
            });
            Ok(None)
        }
        Op::Remove { .. } => {
            upsert(model, &|doc| {
                doc.remove("s");
            });
            Ok(None)
        }
        Op::AddTag { tag, .. } => {
            upsert(model, &|doc| {
                let mut tags = match doc.get("tags") {
                    Some(Value::StringSet(set)) => set.clone(),
                    _ => BTreeSet::new(),
                };
                tags.insert(format!("t{tag}"));
                doc.insert("tags", Value::StringSet(tags));
            });
            Ok(None)
        }
        Op::DeleteTag { tag, .. } => {
            upsert(model, &|doc| {
                if let Some(Value::StringSet(set)) = doc.get("tags") {
                    let mut set = set.clone();
                    set.remove(&format!("t{tag}"));
                    if set.is_empty() {
                        doc.remove("tags");
                    } else {
                        doc.insert("tags", Value::StringSet(set));
                    }
                }
            });
            Ok(None)
        }
    }
}

/// The same step on the backend under test.
async fn apply_store(store: &dyn DocumentStore, op: &Op) -> Outcome {
    let key = &doc_key(op.at());
    let update = |update: Update, options: UpdateOptions| async move {
        store.update(key, &update, options).await
    };
    let result = match op {
        Op::Put { at, n, s } => {
            let mut doc = base(*at).with("n", *n);
            if let Some(s) = s {
                doc.insert("s", format!("v{s}"));
            }
            store.put(doc, PutItemOptions::new().return_old()).await
        }
        Op::PutIfAbsent { at, n } => {
            let options = PutItemOptions::new().condition(attr("pk").not_exists());
            store.put(base(*at).with("n", *n), options).await
        }
        Op::PutIfN { at, expected, n } => {
            let options = PutItemOptions::new().condition(attr("n").eq(*expected));
            store.put(base(*at).with("n", *n), options).await
        }
        Op::Delete { .. } => {
            store
                .delete(&doc_key(op.at()), DeleteItemOptions::new().return_old())
                .await
        }
        Op::DeleteIfAtLeast { at_least, .. } => {
            let options = DeleteItemOptions::new().condition(attr("n").ge(*at_least));
            store.delete(&doc_key(op.at()), options).await
        }
        Op::Add { delta, .. } => {
            let options = UpdateOptions::new().returns(ReturnValues::AllNew);
            update(Update::new().add("n", *delta), options).await
        }
        Op::AddIfExists { delta, .. } => {
            let options = UpdateOptions::new()
                .condition(attr("pk").exists())
                .returns(ReturnValues::AllOld);
            update(Update::new().add("n", *delta), options).await
        }
        Op::Set { s, .. } => {
            update(
                Update::new().set("s", format!("v{s}")),
                UpdateOptions::new(),
            )
            .await
        }
        Op::Remove { .. } => update(Update::new().remove("s"), UpdateOptions::new()).await,
        Op::AddTag { tag, .. } => {
            update(
                Update::new().add("tags", tag_set(*tag)),
                UpdateOptions::new(),
            )
            .await
        }
        Op::DeleteTag { tag, .. } => {
            update(
                Update::new().delete_from_set("tags", tag_set(*tag)),
                UpdateOptions::new(),
            )
            .await
        }
    };
    result.map_err(|e| e.kind())
}

async fn run_case(store: &dyn DocumentStore, ops: &[Op]) -> Result<(), TestCaseError> {
    let clear = (0..PARTITIONS)
        .flat_map(|p| (0..SORTS).map(move |sk| WriteOp::Delete(doc_key((p, sk)))))
        .collect();
    let report = store
        .batch_write(clear, BatchWriteOptions::default())
        .await
        .map_err(|e| TestCaseError::fail(format!("clearing the table failed: {e}")))?;
    prop_assert!(
        report.is_complete(),
        "clearing the table left {:?}",
        report.failed
    );

    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let expected = apply_model(&mut model, op);
        let actual = apply_store(store, op).await;
        prop_assert_eq!(
            &actual,
            &expected,
            "step {} {:?}: result differs from the model",
            step,
            op
        );
        let key = doc_key(op.at());
        let stored = get(store, &key).await;
        prop_assert_eq!(
            stored.as_ref(),
            model.get(&key),
            "step {} {:?}: item differs from the model",
            step,
            op
        );
    }
    let scanned = scan_all(store, Scan::new()).await;
    let modelled: Vec<Document> = model.values().cloned().collect();
    prop_assert_eq!(
        &scanned,
        &modelled,
        "scan after {} steps differs from the model",
        ops.len()
    );
    for p in 0..PARTITIONS {
        let queried = query_all(store, Query::partition(partition(p)).consistent()).await;
        let modelled: Vec<Document> = model
            .iter()
            .filter(|(k, _)| k.partition == partition(p).into())
            .map(|(_, d)| d.clone())
            .collect();
        prop_assert_eq!(&queried, &modelled, "query of partition p{} differs", p);
    }
    Ok(())
}

/// Runs `cases` random sequences of puts, conditional puts, deletes, conditional deletes and
/// updates (add, set, remove, set elements) on one table from `factory` and on a model,
/// comparing every result, the item after each step, and a scan and queries at the end.
///
/// Call it from a plain `#[test]` (not `#[tokio::test]`): it runs its own Tokio runtime.
/// Panics with the smallest failing sequence proptest finds.
pub fn model_check(factory: &dyn DocumentFactory, cases: u32) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime for the model check");
    let store = runtime.block_on(factory.create(TableSpec::new("model-check", pk_sk())));
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let strategy = proptest::collection::vec(op_strategy(), 1..40);
    if let Err(failure) = runner.run(&strategy, |ops| runtime.block_on(run_case(&*store, &ops))) {
        panic!(
            "the backend `{}` disagrees with the model: {failure}",
            store.backend()
        );
    }
}
