//! The blobs of an archive of objects checked against its listing: present, of the listed
//! size and SHA-256. A `check` of an archive against a location reads the location's bodies;
//! this reads the archive's, so a backup whose blobs were deleted or overwritten is not
//! called equal to its source.

use futures::TryStreamExt;
use sha2::{Digest as _, Sha256};
use store_core::{ErrorKind, Result, StoreError, Value};

use super::blobs::listed_blob;
use super::storage::Storage;
use crate::digest::hex;
use crate::record::Record;
use crate::source::Batch;

/// Blobs read at once (a batch is checked this many at a time).
const CONCURRENCY: usize = 8;

/// `batch` of listing records, once the blob of each is found whole.
pub(super) async fn with_blobs_checked(storage: &Storage, batch: Batch) -> Result<Batch> {
    // A blob several objects share (same SHA-256 and size) is read once a batch.
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<&Record> = batch
        .records
        .iter()
        .filter(|r| match (r.doc.get("sha256"), r.doc.get("size")) {
            (Some(Value::String(sha)), Some(Value::Number(size))) => {
                seen.insert((sha.as_str(), size.to_string()))
            }
            _ => true,
        })
        .collect();
    for records in firsts.chunks(CONCURRENCY) {
        let checks: Vec<_> = records.iter().map(|r| check_blob(storage, r)).collect();
        futures::future::try_join_all(checks).await?;
    }
    Ok(batch)
}

/// Reads the blob of the object `record` lists and compares it with the listing.
async fn check_blob(storage: &Storage, record: &Record) -> Result<()> {
    let listed = |name: &str| record.doc.get(name);
    let (Some(Value::String(sha)), Some(Value::Number(size))) = (listed("sha256"), listed("size"))
    else {
        return Err(StoreError::invalid_input(format!(
            "object record {} has no `sha256` text or `size` number",
            record.key
        )));
    };
    let blob = listed_blob(sha)?;
    let mut body = match storage.read_stream(&blob).await {
        Ok(body) => body,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(StoreError::invalid_input(format!(
                "archive blob {} of {} is missing: the archive is damaged",
                storage.describe(&blob),
                record.key
            )));
        }
        Err(e) => return Err(e),
    };
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    while let Some(chunk) = body.try_next().await? {
        hasher.update(&chunk);
        bytes += chunk.len() as u64;
    }
    let actual = hex(&hasher.finalize());
    if actual == *sha && size.to_u64() == Some(bytes) {
        return Ok(());
    }
    Err(StoreError::invalid_input(format!(
        "archive blob {} of {} is damaged: its SHA-256 is {actual} ({bytes} bytes) where the \
         listing says {sha} ({size} bytes)",
        storage.describe(&blob),
        record.key
    )))
}

#[cfg(test)]
mod tests {
    use super::listed_blob;

    #[test]
    fn a_listed_blob_is_a_lowercase_sha256_and_nothing_else() {
        let sha = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        assert_eq!(listed_blob(sha).unwrap(), format!("blobs/{sha}"));
        for forged in [
            "../../../../dev/zero",
            &sha.to_uppercase(),
            &sha[1..],
            &format!("{sha}0"),
            &format!("../{}", &sha[3..]),
            "",
        ] {
            assert!(listed_blob(forged).is_err(), "{forged}");
        }
    }
}
