//! The command line: commands, their arguments and the flags they share (clap derive).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use store_sync::Partition;

/// Locations, exit codes and the `--json` event schema, shown by `stores --help`.
pub(crate) const JSON_HELP: &str = "\
LOCATIONS:
  mem://NAME[?kind=documents|objects|search][&key=pk:S][&sort=sk:N]
                                in-process memory stores (within one run only; documents keyed by `id` text by default)
  file:///abs/dir, file://rel/dir
                                objects in a store-fs folder (a new or empty folder becomes one, marked by
                                its .store-fs.json; a folder of other files is refused); as an ARCHIVE, an
                                archive folder (plain files)
  sqlite:///path/to.db?table=T  a table in an SQLite file; a run that writes leaves the file in WAL
                                journal mode and a .writer-lock file beside it (one writer at a time)
  sqlite:///path/to.db?query=SELECT... (with --key COLUMN), postgres://...?query=SELECT...
                                a query's rows, as a source (percent-encode the query: a % is %25)
  redb:///path/to.redb[?table=T][&key=pk:S][&sort=sk:N]
                                a document table in a store-redb file (one table per file; an existing
                                file says its table and key; a new one takes the source's key, or ?key=)
  tantivy:///path/to/dir/INDEX  a search index in a store-tantivy directory (each batch committed)
  postgres://USER:PASS@HOST:PORT/DB?table=T (or postgresql://)
                                a PostgreSQL table (PGPASSWORD fills a password the URL leaves out)
  dynamodb://TABLE              a DynamoDB table (AWS chain; endpoint from AWS_ENDPOINT_URL or
                                STORES_DYNAMODB_ENDPOINT)
  s3://BUCKET/PREFIX            objects under a prefix (endpoint from AWS_ENDPOINT_URL or
                                STORES_S3_ENDPOINT); as an ARCHIVE, an archive under the prefix
  opensearch://HOST:PORT/INDEX, opensearch+https://HOST:PORT/INDEX
  elasticsearch://HOST:PORT/INDEX, elasticsearch+https://HOST:PORT/INDEX
                                a search index on OpenSearch or Elasticsearch, either scheme
                                (basic auth from STORES_SEARCH_USER and STORES_SEARCH_PASSWORD,
                                extra CA certificates from STORES_SEARCH_CA_FILE)
  Relative paths are taken from the working directory: checkpoints and archives name the absolute path.
  Objects copy to objects only; tables, document tables and search indexes copy into each other.
  Archives hold a table, document table, search index or objects (bodies as blobs/<sha256>).
  Passwords are never printed: locations show as postgres://user:***@host/...

EXIT CODES:
  0  success (check: both sides equal)
  1  error (bad input, unreachable service, missing table, damaged archive...); one `error:` line on stderr
  2  check found differences

JSON EVENTS (--json): stdout carries one JSON object per line, each with an \"event\" field:
  {\"event\":\"start\",\"command\":\"copy\",\"source\":\"<location>\",\"sink\":\"<location>\"}
  {\"event\":\"progress\",\"records\":<confirmed so far>,\"batch\":<records in this batch>[,\"resumed\":true]}
                                [\"bytes\": bytes done: the archive a backup wrote or a restore read so far;
                                objects copied or found equal, a few events a second]
  {\"event\":\"sized\",\"records\":<n>,\"bytes\":<bytes>}   (the source's size: objects counted beside the copy, an archive's manifest)
  {\"event\":\"applied\",\"changes\":<in this batch>,\"total\":<this run>,\"lag_seconds\":<s or null>,\"pending\":<n or null>}   (sync --follow)
  {\"event\":\"resync\",\"reason\":\"<what the feed lost>\"}   (sync --follow: the whole source is copied again)
  {\"event\":\"item\",\"key\":\"<key>\"[,\"size\":<bytes>]}                      (ls)
  {\"event\":\"summary\",\"command\":\"<command>\",\"ok\":true,\"elapsed_s\":<seconds>,...}
  {\"event\":\"error\",\"command\":\"<command>\",\"kind\":\"<kind>\",\"message\":\"<one line>\"}
  The last line is the summary, or an error event (exit code 1). Summary fields by command:
  copy/backup/restore: records, resumed_records, already_done, partition, dry_run (false)
  (a copy of objects: also objects and bytes, what this run wrote; with --dry-run: records and
  dry_run (true), and a copy or restore of records also created, updated, unchanged, deleted, extra_kept);
  sync (and --dry-run): created, updated, unchanged, deleted, extra_kept, dry_run
  (objects: objects, bytes, unchanged, deleted, extra_kept, dry_run);
  sync --follow: copies, copied, upserts, deletes, resyncs, extra_kept, feed_ended
  (a source without a change feed is synced again every --poll-interval: rounds, written, deleted);
  check: equal, comparison, left/right {location, count, digest}, only_left/only_right/differing {count, sample}
  (objects: metadata_only {count, sample}, the differing whose contents are equal);
  ls: count (objects: bytes; an archive: archive_of).";

/// Copy, sync, back up, restore and check data between any two stores.
#[derive(Debug, Parser)]
#[command(
    name = "stores",
    version,
    about = "Copy, sync, back up, restore and check data between any two stores",
    after_long_help = JSON_HELP
)]
pub(crate) struct Cli {
    /// Flags every command takes.
    #[command(flatten)]
    pub(crate) common: Common,
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// Flags every command takes.
#[derive(Debug, Clone, Args)]
pub(crate) struct Common {
    /// Print NDJSON events on stdout (start, progress, item, summary, error) instead of text.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// Print what would be written or deleted, and write nothing (copy, sync, backup, restore).
    #[arg(long, global = true)]
    pub(crate) dry_run: bool,
    /// Records per batch, at most (each batch is one checkpoint step: written durably to the
    /// sink, and at most one batch re-sent after a crash). A batch also holds about 8 MiB of
    /// records at most, and a read starts with batches of 16 until the records' size is known,
    /// so large rows cost a few megabytes, not N of them; a batch of objects (copy, backup)
    /// ends once its bodies reach about 64 MiB. Each batch costs a write's start and
    /// end (a PostgreSQL COPY and its commit, a bulk request): a larger N is faster for small
    /// records and holds more in memory. Default: 5,000, or 20,000 when a copy, sync or
    /// restore writes into a PostgreSQL table.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) batch_size: Option<u64>,
    /// Work on share I of N (from 0) of the source, for N processes sharing one job
    /// (copy, backup, restore).
    #[arg(long, global = true, value_name = "I/N")]
    pub(crate) partition: Option<Partition>,
    /// Where the N processes of a partitioned copy of a SQL table keep the plan that cuts it
    /// into key ranges, so that all of them cut it alike: file:///dir (a volume every process
    /// mounts), s3://bucket/prefix or mem://NAME?kind=objects. The first process to arrive
    /// writes it. Not for a backup: its partitions share the plan kept in its archive.
    #[arg(long, global = true, value_name = "LOCATION")]
    pub(crate) plan: Option<String>,
    /// Keep the job's position in this file, to resume it after a crash (copy, backup,
    /// restore; none by default).
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) checkpoint: Option<PathBuf>,
    /// Resume from the checkpoint when it exists (the default; needs --checkpoint).
    #[arg(long, global = true, conflicts_with = "restart")]
    pub(crate) resume: bool,
    /// Ignore an existing checkpoint and start over (needs --checkpoint).
    #[arg(long, global = true)]
    pub(crate) restart: bool,
    /// At most N calls a second to each store the command opens (a call is one batch write,
    /// page, object or search request), waiting for a slot rather than failing; unlimited by
    /// default. Not paced: SQL reads (a table or query is read as one stream) and OpenSearch
    /// point-in-time scans.
    #[arg(long, global = true, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate_limit: Option<u32>,
    /// Keys (with their digests) sync and check of records hold in memory before they spill
    /// the rest to temporary files and compare them a partition at a time (100 to 200 bytes
    /// a key; a spilling sync also writes the source's records there).
    #[arg(long, global = true, value_name = "N",
          default_value_t = store_sync::SpillOptions::DEFAULT_IN_MEMORY_KEYS as u64,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) in_memory_keys: u64,
    /// An existing directory where sync and check spill past --in-memory-keys (into a fresh
    /// directory in it, removed at the end); the system's temporary directory by default.
    #[arg(long, global = true, value_name = "DIR")]
    pub(crate) spill_dir: Option<PathBuf>,
    /// A field that keys a search index's documents (repeat for a composite key); without it a
    /// search document is keyed by its `_id`.
    #[arg(long = "key", global = true, value_name = "FIELD")]
    pub(crate) keys: Vec<String>,
}

/// How a restore treats what the target already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RestoreMode {
    /// Only into a target that is missing or empty (or that this restore's own checkpoint
    /// filled before it was stopped); takes no --partition.
    CreateOnly,
    /// Write every archived record over what is there; keep the rest (the default).
    Upsert,
    /// Make the target hold exactly the archive: also delete what it lacks (needs --yes).
    Replace,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Copy every record (or object) of SRC into DST.
    Copy {
        /// Where to read.
        src: String,
        /// Where to write.
        dst: String,
    },
    /// Make DST match SRC: write what is new or different; with --delete, delete what SRC lacks.
    Sync {
        /// Where to read.
        src: String,
        /// What to make equal to SRC.
        dst: String,
        /// Delete from DST what SRC does not have.
        #[arg(long)]
        delete: bool,
        /// With --delete (or --follow, whose resyncs delete): refuse, writing nothing, when
        /// more than N would be deleted (the sync counts first, as --dry-run does, which reads
        /// both sides once more).
        #[arg(long, value_name = "N")]
        max_delete: Option<u64>,
        /// After making DST match, keep it in step with SRC's change feed until interrupted
        /// (Ctrl-C or SIGTERM saves the checkpoint and exits 0); needs --checkpoint. SRC is a
        /// DynamoDB table with a stream (NEW_IMAGE or NEW_AND_OLD_IMAGES) or a PostgreSQL
        /// table (logical replication: wal_level=logical and the REPLICATION attribute). A
        /// source with no change feed (SQLite, a file or memory store) is synced again every
        /// --poll-interval instead, with no checkpoint needed.
        #[arg(long)]
        follow: bool,
        /// With --follow: seconds to wait before asking a caught-up feed again.
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 1.0,
            requires = "follow"
        )]
        poll_interval: f64,
        /// With --follow: stop following for good instead: drop what the feed holds on the
        /// server (PostgreSQL: the replication slot and publication, which otherwise keep
        /// WAL) and the checkpoint, then exit.
        #[arg(long, requires = "follow")]
        cleanup: bool,
        /// With --follow from PostgreSQL without the REPLICATION attribute: follow the rows by
        /// this timestamp column (set by every insert and update) instead of logical
        /// replication. Deletes are NOT seen in this mode.
        #[arg(long, value_name = "COLUMN", requires = "follow")]
        watermark: Option<String>,
        /// With --watermark: read only rows whose column is at least this many seconds old,
        /// so writes that commit late are not skipped.
        #[arg(
            long,
            value_name = "SECONDS",
            default_value_t = 5.0,
            requires = "watermark"
        )]
        lag_window: f64,
    },
    /// Write SRC (a table, document table, search index, or objects) as an archive into ARCHIVE.
    Backup {
        /// The collection to back up.
        src: String,
        /// Where the archive goes (file://, s3://, mem://NAME?kind=objects); must not hold one.
        archive: String,
    },
    /// Load an archive into DST, creating the table or index from its schema first (an archive of objects restores under an object location).
    Restore {
        /// Where the archive is.
        archive: String,
        /// The collection to restore into.
        dst: String,
        /// How to treat what DST already holds (an archive of objects: upsert only).
        #[arg(long, value_enum, default_value_t = RestoreMode::Upsert)]
        mode: RestoreMode,
        /// Confirm --mode replace, which deletes records.
        #[arg(long)]
        yes: bool,
        /// Do not create the table or index: it must exist.
        #[arg(long)]
        data_only: bool,
    },
    /// Compare two collections (or object locations, or a collection and an archive): counts,
    /// digests, and the keys that differ. Exits 2 when they differ.
    Check {
        /// One side.
        a: String,
        /// The other side.
        b: String,
    },
    /// List the objects under a location, or the keys of a collection or of an archive.
    Ls {
        /// What to list.
        url: String,
    },
    /// Run the tour: the seed scenario step by step (see `stores tour --help`).
    #[command(disable_help_flag = true)]
    Tour {
        /// The tour's own arguments (--data-dir DIR, --memory, --real, --help).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

impl Command {
    /// The command's name, for events and messages.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Copy { .. } => "copy",
            Self::Sync { .. } => "sync",
            Self::Backup { .. } => "backup",
            Self::Restore { .. } => "restore",
            Self::Check { .. } => "check",
            Self::Ls { .. } => "ls",
            Self::Tour { .. } => "tour",
        }
    }

    /// The location arguments, as written.
    pub(crate) fn locations(&self) -> Vec<&str> {
        match self {
            Self::Copy { src, dst } | Self::Sync { src, dst, .. } => vec![src, dst],
            Self::Backup { src, archive } => vec![src, archive],
            Self::Restore { archive, dst, .. } => vec![archive, dst],
            Self::Check { a, b } => vec![a, b],
            Self::Ls { url } => vec![url],
            Self::Tour { .. } => Vec::new(),
        }
    }
}
