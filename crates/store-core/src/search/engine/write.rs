//! The rules of writes: the checks of a write, versions, partial updates and bulk reports.

use crate::error::{ErrorKind, Result, StoreError};
use crate::search::{
    BulkFailure, BulkOp, BulkReport, DocVersion, IndexOptions, OpType, validate_id,
};
use crate::value::{Document, Value};

/// The checks of a write made before anything else, the existence of the index included: a
/// valid id, and not both create-only and `if_version`.
pub fn validate_write(id: &str, options: IndexOptions) -> Result<()> {
    validate_id(id)?;
    if options.op_type == OpType::Create && options.if_version.is_some() {
        return Err(StoreError::invalid_input(
            "a create-only write cannot also require a version; use one or the other",
        ));
    }
    Ok(())
}

/// `PreconditionFailed` when `options` require a version and the document `id` (at `current`,
/// `None` if missing) is not at it.
pub fn check_version(id: &str, current: Option<DocVersion>, options: IndexOptions) -> Result<()> {
    let Some(required) = options.if_version else {
        return Ok(());
    };
    match current {
        Some(current) if current == required => Ok(()),
        Some(current) => Err(StoreError::precondition_failed(format!(
            "document `{id}` is at seq_no {} / primary term {}, not the required {} / {}",
            current.seq_no, current.primary_term, required.seq_no, required.primary_term
        ))),
        None => Err(StoreError::precondition_failed(format!(
            "document `{id}` does not exist, so it is not at the required seq_no {}",
            required.seq_no
        ))),
    }
}

/// Merges the `partial` document of an update into `target`: maps merge key by key, anything
/// else replaces.
pub fn deep_merge(target: &mut Document, partial: Document) {
    for (key, value) in partial {
        match (target.get_mut(&key), value) {
            (Some(Value::Map(existing)), Value::Map(inner)) => deep_merge(existing, inner),
            (_, value) => {
                target.insert(key, value);
            }
        }
    }
}

/// The HTTP status OpenSearch's bulk API gives an item that failed with this kind of error.
pub fn bulk_status(kind: ErrorKind) -> u16 {
    match kind {
        ErrorKind::NotFound => 404,
        ErrorKind::AlreadyExists | ErrorKind::PreconditionFailed | ErrorKind::Conflict => 409,
        ErrorKind::InvalidInput | ErrorKind::Unsupported => 400,
        ErrorKind::Throttled => 429,
        ErrorKind::Unavailable => 503,
        ErrorKind::Unauthorized => 403,
        _ => 500,
    }
}

/// The report of a bulk on a missing index that does not create it (deletes alone, or no
/// valid id): each invalid id is a 400 (in the context of `backend`), each other item a 404
/// with the error `missing` makes.
pub fn bulk_on_missing(
    ops: Vec<BulkOp>,
    backend: &'static str,
    missing: impl Fn() -> StoreError,
) -> BulkReport {
    let failed = ops
        .into_iter()
        .enumerate()
        .map(|(position, op)| {
            let id = op.id().to_owned();
            let (status, error) = match validate_id(&id) {
                Err(e) => (400, e.in_context(backend, "bulk").with_target(id.clone())),
                Ok(()) => (404, missing()),
            };
            BulkFailure {
                position,
                id,
                status,
                error,
            }
        })
        .collect();
    BulkReport {
        succeeded: 0,
        failed,
    }
}

/// The single writes of a backend, which [`run_bulk`] applies the operations of a bulk with.
pub trait BulkWriter {
    /// Creates or replaces a document (create-only with [`IndexOptions::create_only`]).
    fn index(&mut self, id: &str, doc: Document, options: IndexOptions) -> Result<DocVersion>;

    /// Merges `partial` into a document; `NotFound` if it does not exist.
    fn update(&mut self, id: &str, partial: Document, options: IndexOptions) -> Result<DocVersion>;

    /// Deletes a document; returns whether it existed.
    fn delete(&mut self, id: &str, options: IndexOptions) -> Result<bool>;
}

/// Applies each operation of a bulk in order, independently of the others, and reports every
/// failure with its position, id and status (errors in the context of `backend`).
pub fn run_bulk(
    writer: &mut impl BulkWriter,
    ops: Vec<BulkOp>,
    backend: &'static str,
) -> BulkReport {
    let mut report = BulkReport::default();
    for (position, op) in ops.into_iter().enumerate() {
        let (result, id) = match op {
            BulkOp::Index { id, doc } => {
                (writer.index(&id, doc, IndexOptions::new()).map(drop), id)
            }
            BulkOp::Create { id, doc } => (
                writer
                    .index(&id, doc, IndexOptions::new().create_only())
                    .map(drop),
                id,
            ),
            BulkOp::Update { id, partial } => (
                writer.update(&id, partial, IndexOptions::new()).map(drop),
                id,
            ),
            // As in OpenSearch, deleting a missing id is a `not_found` result, not an error.
            BulkOp::Delete { id } => (writer.delete(&id, IndexOptions::new()).map(drop), id),
        };
        match result {
            Ok(()) => report.succeeded += 1,
            Err(error) => report.failed.push(BulkFailure {
                position,
                status: bulk_status(error.kind()),
                error: error.in_context(backend, "bulk").with_target(id.clone()),
                id,
            }),
        }
    }
    report
}
