//! `stores`: copy, sync, back up, restore, check and list data between any two stores.
//!
//! ```text
//! stores backup  sqlite:///data/app.db?table=users file:///backups/users-2024-06-01
//! stores check   sqlite:///data/app.db?table=users file:///backups/users-2024-06-01
//! stores restore file:///backups/users-2024-06-01 sqlite:///data/copy.db?table=users
//! stores copy    postgres://app@db:5432/app?table=items opensearch://localhost:9200/items
//! stores sync    s3://bucket/photos file:///mirror/photos --delete --max-delete 100
//! stores ls      file:///backups/users-2024-06-01
//! stores tour    --memory
//! ```
//!
//! Locations are URLs (`mem://`, `file://`, `sqlite://`, `redb://`, `tantivy://`,
//! `postgres://`, `dynamodb://`, `s3://`, `opensearch://`; see [`location`]); endpoints and credentials come from the
//! environment. Flags every command takes: `--json` (NDJSON events on stdout), `--dry-run`,
//! `--batch-size N`, `--partition I/N` (with `--plan LOCATION` for a copy of a SQL table:
//! where the N processes share the key ranges they split it by), `--checkpoint PATH` with
//! `--resume` (the default) or
//! `--restart`, `--key FIELD` for search indexes, and `--rate-limit N` (at most N calls a
//! second to each store; SQL reads and OpenSearch point-in-time scans are not paced).
//!
//! Exit codes: 0 success, 1 error (one `error:` line on stderr, and an `error` event with
//! `--json`), 2 differences found by `check`. A usage mistake is an error too (1), so 2 always
//! means differences.
//!
//! With `--json`, stdout carries one JSON object per line, each with an `event` field:
//! `start` (command, source, sink), `progress` (records confirmed so far, batch), `item` (ls:
//! key, size), `summary` (command, ok, elapsed_s and the command's counts; last on success) and
//! `error` (command, kind, message; last on failure). `stores --help` lists every field.

/// Threads for file and SQLite work (`spawn_blocking`), instead of tokio's 512: a backup of
/// many small objects makes several short blocking calls per object, and the pool grew to
/// 130 threads, each with its own allocator heap (peak RSS 166 MiB for 100,000 objects). The
/// few long-lived users (a SQLite query stream holds one per reader, 4 by default per store)
/// leave most of these free.
const MAX_BLOCKING_THREADS: usize = 32;

/// mimalloc, not the system's malloc: a copy allocates and frees millions of small values,
/// many on another thread than the one that allocated them. Built with `no_thp`: with
/// transparent huge pages its arenas fault in 2 MiB at a time, which doubled the peak RSS of
/// a backup or restore (about 120 MiB against 55-90 MiB) for no measurable speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod cli;
mod commands;
mod location;
mod open;
mod output;
mod warnings;

use std::process::ExitCode;

use clap::Parser as _;
use clap::error::ErrorKind as ClapErrorKind;
use store_core::StoreError;

use crate::cli::Cli;
use crate::location::Location;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ClapErrorKind::DisplayHelp | ClapErrorKind::DisplayVersion
            ) =>
        {
            let _ = e.print();
            return ExitCode::SUCCESS;
        }
        // `stores` alone: the usage, on stderr, as a failure.
        Err(e) if e.kind() == ClapErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            eprint!("{}", e.render());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            usage_error(&e);
            return ExitCode::FAILURE;
        }
    };
    warnings::install();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(cli))
}

/// A command line that does not parse: one `error:` line naming the problem (clap's first
/// line, not its usage block) and, with `--json` anywhere on it, an `error` event on stdout.
fn usage_error(error: &clap::Error) {
    let rendered = error.render().to_string();
    let message = format!("{}; see `stores --help`", first_problem(&rendered));
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|arg| arg == "--json");
    let command = args
        .iter()
        .find(|arg| !arg.starts_with('-'))
        .map_or("stores", String::as_str);
    output::error(
        json,
        command,
        Some(store_core::ErrorKind::InvalidInput.as_str()),
        &message,
    );
}

/// The problem clap's rendered error names, on one line: its first line, and when that
/// ends with a colon, the indented lines listing what it means (`the following required
/// arguments were not provided: <DST>`).
fn first_problem(rendered: &str) -> String {
    let mut lines = rendered.lines().skip_while(|line| line.trim().is_empty());
    let first = lines
        .next()
        .unwrap_or("error: the command line does not parse");
    let mut problem = first.trim().trim_start_matches("error:").trim().to_owned();
    if problem.ends_with(':') {
        let listed: Vec<&str> = lines
            .take_while(|line| line.starts_with(' ') && !line.trim().is_empty())
            .map(str::trim)
            .collect();
        problem = format!("{} {}", problem, listed.join(", "));
    }
    problem
}

async fn run(cli: Cli) -> ExitCode {
    let command = cli.command.name();
    let json = cli.common.json;
    let secrets = secrets(&cli);
    match commands::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            open::remove_created_if_empty().await;
            let (kind, message) = explain(&e, &secrets);
            output::error(json, command, kind, &message);
            ExitCode::FAILURE
        }
    }
}

/// Every secret the command line or the environment holds, to keep out of messages.
fn secrets(cli: &Cli) -> Vec<String> {
    let mut secrets: Vec<String> = cli
        .command
        .locations()
        .iter()
        .filter_map(|text| text.parse::<Location>().ok())
        .flat_map(|location| location.secrets())
        .collect();
    for name in [
        "PGPASSWORD",
        "STORES_SEARCH_PASSWORD",
        "OPENSEARCH_PASSWORD",
        "ELASTICSEARCH_PASSWORD",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        if let Ok(value) = std::env::var(name)
            && !value.is_empty()
        {
            secrets.push(value);
        }
    }
    secrets
}

/// An error as one line with its kind, secrets replaced by `***`, and a hint where the
/// library's message has none.
/// The backends of files on this machine, whose errors get no hint about services.
const LOCAL_BACKENDS: [&str; 4] = ["fs", "sqlite", "redb", "tantivy"];

fn explain(error: &anyhow::Error, secrets: &[String]) -> (Option<&'static str>, String) {
    let store = error
        .chain()
        .find_map(|cause| cause.downcast_ref::<StoreError>());
    let kind = match store {
        Some(e) => Some(e.kind().as_str()),
        // The command's own refusals (a pair of stores it cannot map, a location it cannot
        // take) are about its input.
        None => Some(store_core::ErrorKind::InvalidInput.as_str()),
    };
    let mut message = chain_text(error);
    // A local store's failure (a file it cannot read, a lock another process holds) is not
    // a service's: no hint about endpoints.
    let local = store
        .and_then(StoreError::backend)
        .is_some_and(|backend| LOCAL_BACKENDS.contains(&backend));
    if let Some(e) = store.filter(|_| !local) {
        let hint = match e.kind() {
            store_core::ErrorKind::Unavailable => {
                "; is the service running and its endpoint right? (URL, PG*, AWS_ENDPOINT_URL, \
                 STORES_*_ENDPOINT; see `stores --help`)"
            }
            store_core::ErrorKind::Unauthorized => {
                "; check the credentials in the environment (AWS_*, PGPASSWORD, STORES_SEARCH_*)"
            }
            _ => "",
        };
        message.push_str(hint);
    }
    (kind, redact(&message, secrets))
}

/// The error and its causes, `: `-separated as `{:#}` writes them, leaving out a cause whose
/// text is already said (a library's message often holds its source's, which the chain then
/// gives again: SQLite's "unable to open database file" came five times), also behind labels
/// of its own (PostgreSQL's `ERROR: ` before the message its SQLSTATE came with), and a bare
/// label whose causes are all said (the driver's `db error` above that message).
fn chain_text(error: &anyhow::Error) -> String {
    let parts: Vec<String> = error
        .chain()
        .map(|c| c.to_string().trim().to_owned())
        .collect();
    let mut text = String::new();
    for (i, part) in parts.iter().enumerate() {
        let label = part.len() < 24 && !part.contains(": ") && i + 1 < parts.len();
        if part.is_empty()
            || already_said(&text, part)
            || (label
                && parts[i + 1..]
                    .iter()
                    .all(|later| already_said(&text, later)))
        {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(part);
    }
    text
}

/// Whether `text` holds `part`, or what `part` says after one or more `label: ` prefixes (a
/// tail of at least a few words, so that a bare `timeout` is not taken for one already said).
fn already_said(text: &str, part: &str) -> bool {
    let mut tail = part;
    loop {
        if text.contains(tail) {
            return true;
        }
        match tail.split_once(": ") {
            Some((_, rest)) if rest.len() >= 12 => tail = rest,
            _ => return false,
        }
    }
}

/// `text` on one line, without SDK debug dumps, with every secret replaced by `***`.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut line = strip_debug_dumps(text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    for secret in secrets.iter().filter(|s| s.len() >= 3) {
        line = line.replace(secret.as_str(), "***");
    }
    line
}

/// Removes ` (Name(...))` and ` (Name { ... })` segments: Rust debug output some SDK errors
/// append, which repeats the message at length.
fn strip_debug_dumps(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(" (") {
        let after = &rest[at + 2..];
        let name_len = after
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(after.len());
        let is_dump = after.starts_with(|c: char| c.is_ascii_uppercase())
            && (after[name_len..].starts_with('(') || after[name_len..].starts_with(" {"));
        out.push_str(&rest[..at]);
        if !is_dump {
            out.push_str(" (");
            rest = after;
            continue;
        }
        // Skip to the parenthesis that closes the one at `at + 1`.
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in rest[at + 1..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = Some(at + 1 + i + 1);
                        break;
                    }
                }
                _ => {}
            }
        }
        match end {
            Some(end) => rest = &rest[end..],
            None => {
                out.push_str(&rest[at..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_one_line_without_secrets() {
        let location: Location = "postgres://alice:hunter2-pw@db/app?table=t"
            .parse()
            .unwrap();
        let secrets = location.secrets();
        let error = anyhow::Error::new(StoreError::unavailable(
            "could not connect as alice:hunter2-pw\nto db",
        ))
        .context(format!("cannot connect to {location}"));
        let (kind, message) = explain(&error, &secrets);
        assert_eq!(kind, Some("unavailable"));
        assert!(!message.contains("hunter2-pw"), "{message}");
        assert!(!message.contains('\n'), "{message}");
        assert!(
            message.contains("postgres://alice:***@db/app?table=t"),
            "{message}"
        );
        assert!(message.contains("is the service running"), "{message}");
        // A file's store is not a service.
        let local = anyhow::Error::new(
            StoreError::unavailable("the store file x.redb is already open").with_backend("redb"),
        );
        let (_, message) = explain(&local, &[]);
        assert!(!message.contains("service"), "{message}");
    }

    #[test]
    fn a_cause_already_said_is_not_said_again() {
        #[derive(Debug)]
        struct Driver;
        impl std::fmt::Display for Driver {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("unable to open database file")
            }
        }
        impl std::error::Error for Driver {}
        let error = anyhow::Error::new(
            StoreError::unavailable("opening x.db: unable to open database file")
                .with_source(Driver),
        )
        .context("cannot open x.db");
        let (_, message) = explain(&error, &[]);
        assert_eq!(
            message.matches("unable to open database file").count(),
            1,
            "{message}"
        );
        assert!(message.starts_with("cannot open x.db: "), "{message}");
    }

    /// An error with a fixed text and an optional cause.
    #[derive(Debug)]
    struct Said(&'static str, Option<Box<Said>>);

    impl std::fmt::Display for Said {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl std::error::Error for Said {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|s| s as _)
        }
    }

    #[test]
    fn a_bare_label_over_causes_already_said_is_left_out() {
        let driver = Said(
            "db error",
            Some(Box::new(Said("ERROR: division by zero", None))),
        );
        let error = anyhow::Error::new(
            StoreError::invalid_input("division by zero (SQLSTATE 22012)").with_source(driver),
        );
        assert_eq!(
            chain_text(&error),
            "invalid input: division by zero (SQLSTATE 22012)"
        );
        // A label over something new stays, with it.
        let driver = Said(
            "io error",
            Some(Box::new(Said("Connection refused (os error 111)", None))),
        );
        let error = anyhow::Error::new(StoreError::unavailable("connecting").with_source(driver));
        assert_eq!(
            chain_text(&error),
            "unavailable: connecting: io error: Connection refused (os error 111)"
        );
    }

    #[test]
    fn a_cause_said_behind_labels_is_not_said_again() {
        let said =
            "postgres query: invalid input: syntax error at or near \"SELEC\" (SQLSTATE 42601)";
        assert!(already_said(
            said,
            "db error: ERROR: syntax error at or near \"SELEC\""
        ));
        assert!(!already_said(said, "db error: ERROR: division by zero"));
        // A short tail is no proof: `timeout` alone may be a new cause.
        assert!(!already_said(
            "connecting: timeout waiting",
            "io: os: timeout"
        ));
        let said = "connecting: error connecting to server (pool: 0 of at most 16 open)";
        assert!(already_said(
            said,
            "postgres query: unavailable: error connecting to server"
        ));
        assert!(!already_said(said, "Connection refused (os error 111)"));
    }

    #[test]
    fn sdk_debug_dumps_are_left_out() {
        let text = "unavailable: dispatch failure: other: boom (DispatchFailure(DispatchFailure { \
                    source: ConnectorError { kind: Other(None) } })): dispatch failure (see the log)";
        assert_eq!(
            strip_debug_dumps(text),
            "unavailable: dispatch failure: other: boom: dispatch failure (see the log)"
        );
        assert_eq!(
            strip_debug_dumps("a (b) c (Unclosed(x"),
            "a (b) c (Unclosed(x"
        );
    }

    #[test]
    fn a_bad_location_is_invalid_input() {
        let error = anyhow::Error::new("nope://x".parse::<Location>().unwrap_err());
        let (kind, message) = explain(&error, &[]);
        assert_eq!(kind, Some("invalid input"));
        assert!(message.contains("unknown location scheme"), "{message}");
    }
}
