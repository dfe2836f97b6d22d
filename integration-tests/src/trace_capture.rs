//! Every tracing span and event and every `log` record of a test binary, at TRACE, as lines
//! of text: [`TextLayer`] and [`TextLogger`] hand each line to a sink.
//!
//! [`install`] is the suite-wide use: when `STORES_TRACE_CAPTURE` names a directory (the
//! README's test command sets it), each test binary scans every line for the secrets of the
//! run (the values of variables such as `AWS_SECRET_ACCESS_KEY`, `*_SECRET_KEY`, `*PASSWORD`,
//! and any a test [`register_secret`]s) and writes, into that directory, how many lines it saw
//! and, for a line holding a secret, that line with the secret masked.
//! `scripts/check-trace-capture.py` then fails the run on any such line.

use std::fmt::{Debug, Write as _};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

/// A tracing layer that writes each span (with its fields), each later record of span fields
/// and each event as one line, handed to `sink`.
pub struct TextLayer<F>(pub F);

/// A `log` logger that writes each record as one line, handed to `sink`.
pub struct TextLogger<F>(pub F);

struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl<S: Subscriber, F: Fn(&str) + Send + Sync + 'static> Layer<S> for TextLayer<F> {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {
        let meta = attrs.metadata();
        let mut fields = Fields(format!("span {} {}", meta.target(), meta.name()));
        attrs.record(&mut fields);
        (self.0)(&fields.0);
    }

    fn on_record(&self, _id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut fields = Fields("record".to_owned());
        values.record(&mut fields);
        (self.0)(&fields.0);
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        let mut fields = Fields(format!("event {} {}", meta.level(), meta.target()));
        event.record(&mut fields);
        (self.0)(&fields.0);
    }
}

impl<F: Fn(&str) + Send + Sync> log::Log for TextLogger<F> {
    fn enabled(&self, _metadata: &log::Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        (self.0)(&format!(
            "log {} {} {}",
            record.level(),
            record.target(),
            record.args()
        ));
    }

    fn flush(&self) {}
}

/// The suite-wide scanner: the secrets to look for and where to report.
struct Scanner {
    dir: PathBuf,
    binary: String,
    secrets: RwLock<Vec<(String, String)>>,
    lines: AtomicU64,
    leaks: AtomicU64,
}

static SCANNER: std::sync::OnceLock<Scanner> = std::sync::OnceLock::new();

/// Secrets shorter than this are not looked for: they would match ordinary text.
const MIN_SECRET_LEN: usize = 8;

/// Whether the variable `name` holds a secret.
fn secret_variable(name: &str) -> bool {
    [
        "SECRET_ACCESS_KEY",
        "SECRET_KEY",
        "PASSWORD",
        "SESSION_TOKEN",
    ]
    .iter()
    .any(|suffix| name.ends_with(suffix))
}

impl Scanner {
    fn scan(&self, line: &str) {
        let seen = self.lines.fetch_add(1, Ordering::Relaxed) + 1;
        let secrets = self.secrets.read().unwrap_or_else(|e| e.into_inner());
        for (name, value) in secrets.iter() {
            if line.contains(value.as_str()) {
                let n = self.leaks.fetch_add(1, Ordering::Relaxed);
                let masked = line.replace(value.as_str(), &format!("<{name}>"));
                let file = self.dir.join(format!(
                    "leak-{}-{}-{n}.txt",
                    self.binary,
                    std::process::id()
                ));
                let _ = std::fs::write(file, format!("{name} appeared in:\n{masked}\n"));
            }
        }
        if seen == 1 || seen.is_multiple_of(1_000) {
            self.write_count(seen);
        }
    }

    /// Writes `<lines seen> <secrets looked for>` for the checking script.
    fn write_count(&self, seen: u64) {
        let secrets = self.secrets.read().map(|s| s.len()).unwrap_or_default();
        let file = self
            .dir
            .join(format!("lines-{}-{}", self.binary, std::process::id()));
        let _ = std::fs::write(file, format!("{seen} {secrets}"));
    }
}

/// Hands `line` to the suite-wide scanner, once it exists.
fn scan_line(line: &str) {
    if let Some(scanner) = SCANNER.get() {
        scanner.scan(line);
    }
}

/// Adds `value` to the secrets the suite-wide capture looks for (no-op when it is off).
pub fn register_secret(name: &str, value: &str) {
    if let Some(scanner) = SCANNER.get()
        && value.len() >= MIN_SECRET_LEN
    {
        let mut secrets = scanner.secrets.write().unwrap_or_else(|e| e.into_inner());
        secrets.push((name.to_owned(), value.to_owned()));
    }
}

/// Installs the suite-wide capture in this test binary, once, when `STORES_TRACE_CAPTURE`
/// names a directory: the global tracing subscriber and the `log` logger at TRACE, scanning
/// every line. A binary that installs its own (tests/secrets.rs) keeps it.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Some(dir) = std::env::var_os("STORES_TRACE_CAPTURE").map(PathBuf::from) else {
            return;
        };
        let binary = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown".into());
        let secrets = std::env::vars()
            .chain(crate::services::env_file_entries())
            .filter(|(name, value)| secret_variable(name) && value.len() >= MIN_SECRET_LEN)
            .collect();
        let scanner = SCANNER.get_or_init(|| Scanner {
            dir,
            binary,
            secrets: RwLock::new(secrets),
            lines: AtomicU64::new(0),
            leaks: AtomicU64::new(0),
        });
        scanner.write_count(0);
        let registry = tracing_subscriber::registry().with(TextLayer(scan_line));
        if tracing::subscriber::set_global_default(registry).is_ok()
            && log::set_boxed_logger(Box::new(TextLogger(scan_line))).is_ok()
        {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_holding_a_secret_is_reported_with_the_secret_masked() {
        let dir = tempfile::tempdir().unwrap();
        let scanner = Scanner {
            dir: dir.path().to_owned(),
            binary: "probe".into(),
            secrets: RwLock::new(vec![("PGPASSWORD".into(), "hunter2hunter2".into())]),
            lines: AtomicU64::new(0),
            leaks: AtomicU64::new(0),
        };
        scanner.scan("event DEBUG connect host=db user=app");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "only the count"
        );
        scanner.scan("event TRACE connect password=hunter2hunter2");
        let leaks: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("leak-")
            })
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect();
        assert_eq!(leaks.len(), 1);
        assert!(leaks[0].contains("password=<PGPASSWORD>"), "{}", leaks[0]);
        assert!(
            !leaks[0].contains("hunter2"),
            "the report never holds the secret"
        );
        assert!(secret_variable("AWS_SECRET_ACCESS_KEY") && secret_variable("PGPASSWORD"));
        assert!(!secret_variable("AWS_ACCESS_KEY_ID"));
    }
}
