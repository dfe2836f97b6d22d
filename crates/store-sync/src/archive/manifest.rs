//! `manifest.json`: what an archive holds and how to check it.

use serde::{Deserialize, Serialize};
use store_core::{Result, StoreError};

/// The value of the manifest's `format` field.
pub const ARCHIVE_FORMAT: &str = "stores-archive";
/// The format version this build writes and reads.
pub const ARCHIVE_VERSION: u32 = 1;

/// An archive's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`ARCHIVE_FORMAT`].
    pub format: String,
    /// The format version, [`ARCHIVE_VERSION`] for this build.
    pub version: u32,
    /// The program and version that wrote it.
    pub tool: String,
    /// Where the data came from (a location with any secret removed).
    pub source: String,
    /// How many partitions wrote it (1 for an unpartitioned backup).
    pub partitions: u32,
    /// The SHA-256 of the partition plan (`partitions/plan.json`) the data was read by, when
    /// the source was cut into key ranges by one; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<String>,
    /// The collections.
    pub collections: Vec<CollectionEntry>,
}

/// One collection in an archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionEntry {
    /// The collection's name.
    pub name: String,
    /// Its kind: `documents`, `table` or `search`.
    pub kind: String,
    /// The path of its schema file, relative to the archive.
    pub schema: String,
    /// Records in all its parts.
    pub records: u64,
    /// Bytes of all its parts.
    pub bytes: u64,
    /// The data parts, in the order they were written.
    pub parts: Vec<PartEntry>,
}

/// One data part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// The path relative to the archive.
    pub path: String,
    /// Records (lines) in it.
    pub records: u64,
    /// Its size in bytes (compressed, as stored).
    pub bytes: u64,
    /// The SHA-256 of its bytes, in hex.
    pub sha256: String,
}

impl Manifest {
    /// Parses a manifest and checks its format and version.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<Self> {
        let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
            StoreError::invalid_input(format!("{origin} is not a stores archive manifest: {e}"))
        })?;
        if json.get("format").and_then(|f| f.as_str()) != Some(ARCHIVE_FORMAT) {
            return Err(StoreError::invalid_input(format!(
                "{origin} is not a stores archive manifest (no `\"format\": \"{ARCHIVE_FORMAT}\"`)"
            )));
        }
        match json.get("version").and_then(|v| v.as_u64()) {
            Some(v) if v == u64::from(ARCHIVE_VERSION) => {}
            other => {
                return Err(StoreError::unsupported(format!(
                    "{origin} is archive format version {}; this build reads version \
                     {ARCHIVE_VERSION} (a newer stores may read it)",
                    other.map_or_else(|| version_shown(json.get("version")), |v| v.to_string())
                )));
            }
        }
        let manifest: Self = serde_json::from_value(json).map_err(|e| {
            StoreError::invalid_input(format!("{origin} is a damaged archive manifest: {e}"))
        })?;
        manifest.check_totals(origin)?;
        Ok(manifest)
    }

    /// Refuses a manifest whose part paths leave `data/`, or whose collection totals are not
    /// the sums of its parts (what a progress bar and a check would otherwise believe).
    fn check_totals(&self, origin: &str) -> Result<()> {
        for c in &self.collections {
            if let Some(part) = c.parts.iter().find(|p| !is_part_path(&p.path)) {
                return Err(StoreError::invalid_input(format!(
                    "{origin} is a damaged archive manifest: the part path {:?} of collection \
                     `{}` is not under data/ (or steps out of the archive)",
                    part.path, c.name
                )));
            }
            // Summed wide, so that forged sizes cannot wrap around to the totals.
            let records: u128 = c.parts.iter().map(|p| u128::from(p.records)).sum();
            let bytes: u128 = c.parts.iter().map(|p| u128::from(p.bytes)).sum();
            if (records, bytes) != (u128::from(c.records), u128::from(c.bytes)) {
                return Err(StoreError::invalid_input(format!(
                    "{origin} is a damaged archive manifest: collection `{}` says {} records \
                     in {} bytes, and its parts hold {records} records in {bytes} bytes",
                    c.name, c.records, c.bytes
                )));
            }
        }
        Ok(())
    }

    /// The manifest's JSON text.
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).expect("a manifest serializes");
        bytes.push(b'\n');
        bytes
    }

    /// Lines for `sha256sum -c`: `<hex>  <path>` for every part.
    pub fn sha256sums(&self) -> String {
        self.collections
            .iter()
            .flat_map(|c| c.parts.iter())
            .map(|p| format!("{}  {}\n", p.sha256, p.path))
            .collect()
    }
}

/// A `version` that is not a version number, as a message shows it.
fn version_shown(version: Option<&serde_json::Value>) -> String {
    match version {
        None => "(missing)".to_owned(),
        Some(v) => format!("{v} (not a version number)"),
    }
}

/// Whether `path` is a part's place in an archive: under `data/`, with no empty, `.` or `..`
/// step (the manifest comes from the archive, and a part is read by this path).
fn is_part_path(path: &str) -> bool {
    path.strip_prefix("data/").is_some_and(|rest| {
        rest.split('/')
            .all(|step| !matches!(step, "" | "." | "..") && !step.contains('\\'))
    })
}
