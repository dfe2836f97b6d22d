//! What the command prints: plain lines for people, or NDJSON events with `--json`.
//!
//! With `--json`, stdout carries only events, one JSON object a line, each with an `event`
//! field (the schema is in [`crate::cli::JSON_HELP`]); people's lines go to stderr. Without it,
//! results (listings, check reports) go to stdout and summaries to stderr.

use std::io::{IsTerminal as _, Write as _};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use serde_json::{Map, Value as Json, json};
use store_sync::{Event, Progress};

mod shown_key;

pub(crate) use shown_key::{shown_in_list, shown_key};

/// Prints a command's events and results.
#[derive(Debug)]
pub(crate) struct Reporter {
    json: bool,
    command: &'static str,
    started: Instant,
    /// Where the progress line goes: stderr in plain mode on a terminal, else nowhere.
    draw_to: Mutex<Option<ProgressDrawTarget>>,
    /// The progress line, made on first use when there is somewhere to draw it.
    bar: OnceLock<ProgressBar>,
    /// When the last caught-up `applied` event was printed.
    last_heartbeat: Mutex<Option<Instant>>,
    /// What the progress line counts: records, unless the command says objects.
    unit: OnceLock<&'static str>,
    /// The bytes the source holds, once told (an object count beside the copy, a manifest).
    total_bytes: OnceLock<u64>,
}

impl Reporter {
    /// A reporter for `command`, in JSON or plain.
    pub(crate) fn new(command: &'static str, json: bool) -> Self {
        let on_terminal = !json && std::io::stderr().is_terminal();
        Self::drawing_to(command, json, on_terminal.then(ProgressDrawTarget::stderr))
    }

    /// A reporter drawing its progress line to `target` (none: no line).
    fn drawing_to(command: &'static str, json: bool, target: Option<ProgressDrawTarget>) -> Self {
        Self {
            json,
            command,
            started: Instant::now(),
            draw_to: Mutex::new(target),
            bar: OnceLock::new(),
            last_heartbeat: Mutex::new(None),
            unit: OnceLock::new(),
            total_bytes: OnceLock::new(),
        }
    }

    /// Whether a second has passed since the last caught-up event (and marks one now if so).
    fn heartbeat_due(&self) -> bool {
        let mut last = self
            .last_heartbeat
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let due = last.is_none_or(|at| at.elapsed() >= Duration::from_secs(1));
        if due {
            *last = Some(Instant::now());
        }
        due
    }

    /// The progress line, started on first use when there is somewhere to draw it.
    fn bar(&self) -> Option<&ProgressBar> {
        if let Some(bar) = self.bar.get() {
            return Some(bar);
        }
        let target = self
            .draw_to
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()?;
        Some(self.bar.get_or_init(|| {
            let bar = ProgressBar::with_draw_target(None, target);
            bar.set_style(style(&format!(
                "{{spinner}} {{prefix}} {{human_pos}} {}  {{msg}}  {{rate}}  {{elapsed}}",
                self.unit()
            )));
            bar.set_prefix(self.command);
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        }))
    }

    /// Removes the progress line, so what follows starts on a clean line.
    pub(crate) fn clear_progress(&self) {
        if let Some(bar) = self.bar.get() {
            bar.finish_and_clear();
        }
    }

    /// Seconds since the command started.
    pub(crate) fn elapsed_s(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// `in 0.4 s`, for summaries.
    pub(crate) fn took(&self) -> String {
        format!("in {:.1} s", self.elapsed_s())
    }

    /// The `start` event (JSON only): the command, its source and its sink (if any).
    pub(crate) fn start(&self, source: &str, sink: Option<&str>) {
        if self.json {
            let mut event = json!({"event": "start", "command": self.command, "source": source});
            if let Some(sink) = sink {
                event["sink"] = Json::from(sink);
            }
            emit(&event);
        }
    }

    /// One listed item: an `item` event with `fields`, or `text` on stdout.
    pub(crate) fn item(&self, fields: Map<String, Json>, text: &str) {
        if self.json {
            let mut event = Map::new();
            event.insert("event".into(), "item".into());
            event.extend(fields);
            emit(&Json::Object(event));
        } else {
            line(text);
        }
    }

    /// A result line for people (stdout, plain mode only).
    pub(crate) fn result(&self, text: &str) {
        if !self.json {
            line(text);
        }
    }

    /// The last word of a successful command: a `summary` event with `fields` (plus the
    /// command, `ok` and `elapsed_s`), or `text` on stderr.
    pub(crate) fn summary(&self, text: &str, fields: Map<String, Json>) {
        if self.json {
            let mut event = Map::new();
            event.insert("event".into(), "summary".into());
            event.insert("command".into(), self.command.into());
            event.insert("ok".into(), true.into());
            event.insert(
                "elapsed_s".into(),
                json!((self.elapsed_s() * 1000.0).round() / 1000.0),
            );
            event.extend(fields);
            emit(&Json::Object(event));
        } else {
            self.clear_progress();
            eprintln!("{text}");
        }
    }
}

/// A progress style from `template`, with `{rate}` as whole records per second (`1234/s`).
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template)
        .expect("a valid template")
        .progress_chars("=> ")
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0}/s", state.per_sec());
            },
        )
}

/// `lag 0.4 s, 12 pending` for the progress line.
fn lag_text(lag_seconds: Option<f64>, pending: Option<u64>) -> String {
    let lag = lag_seconds.map_or_else(|| "lag ?".to_owned(), |s| format!("lag {s:.1} s"));
    match pending {
        Some(n) => format!("{lag}, {n} pending"),
        None => lag,
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.clear_progress();
    }
}

/// Reports a failure: an `error` event on stdout with `--json`, and always one `error:` line
/// on stderr.
pub(crate) fn error(json: bool, command: &str, kind: Option<&str>, message: &str) {
    if json {
        let mut event = json!({"event": "error", "command": command, "message": message});
        if let Some(kind) = kind {
            event["kind"] = Json::from(kind);
        }
        emit(&event);
    }
    eprintln!("error: {message}");
}

fn emit(event: &Json) {
    line(&event.to_string());
}

/// One line on stdout. A closed stdout (e.g. `stores ls ... | head`) is not worth an error:
/// the line is dropped.
fn line(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

impl Reporter {
    /// Makes the progress line count objects rather than records (before anything is drawn).
    pub(crate) fn counts_objects(&self) {
        let _ = self.unit.set("objects");
    }

    fn unit(&self) -> &'static str {
        self.unit.get().copied().unwrap_or("records")
    }

    /// Draws the line as a bar against `total` records (or objects), with an ETA.
    fn against(&self, bar: &ProgressBar, total: u64) {
        bar.set_length(total);
        bar.set_style(style(&format!(
            "{{spinner}} {{prefix}} [{{bar:20}}] {{human_pos}}/{{human_len}} {} {{msg}} \
             {{rate}} eta {{eta}}",
            self.unit()
        )));
    }

    /// `12.5 MiB`, or `12.5 MiB of 2.0 GiB` once the source's bytes are known.
    fn bytes_text(&self, bytes: u64) -> String {
        match self.total_bytes.get() {
            Some(total) => format!("{} of {}", HumanBytes(bytes), HumanBytes(*total)),
            None => HumanBytes(bytes).to_string(),
        }
    }
}

impl Progress for Reporter {
    fn wants_source_size(&self) -> bool {
        self.json || self.bar().is_some()
    }

    fn event(&self, event: &Event) {
        if !self.json {
            if let Some(bar) = self.bar() {
                match event {
                    Event::Started {
                        resumed_records,
                        estimated_total,
                        ..
                    } => {
                        if let Some(total) = estimated_total {
                            self.against(bar, *total);
                        }
                        bar.set_position(*resumed_records);
                    }
                    Event::Progress { records, bytes, .. } => {
                        bar.set_position(*records);
                        if let Some(bytes) = bytes {
                            bar.set_message(self.bytes_text(*bytes));
                        }
                    }
                    Event::Sized { records, bytes } => {
                        let _ = self.total_bytes.set(*bytes);
                        self.against(bar, *records);
                    }
                    Event::Applied {
                        total,
                        lag_seconds,
                        pending,
                        ..
                    } => {
                        bar.set_style(style(
                            "{spinner} {prefix} following: {human_pos} changes applied  {msg}",
                        ));
                        bar.set_position(*total);
                        bar.set_message(lag_text(*lag_seconds, *pending));
                    }
                    // A resync is told below; an event this build does not know draws nothing.
                    _ => {}
                }
            }
            if let Event::Resync { reason } = event {
                self.clear_progress();
                eprintln!("resync: {reason}; copying the whole source again");
            }
            return;
        }
        match event {
            Event::Started {
                resumed_records, ..
            } if *resumed_records > 0 => emit(&json!({
                "event": "progress",
                "records": resumed_records,
                "batch": 0,
                "resumed": true,
            })),
            Event::Started { .. } => {}
            Event::Progress {
                records,
                batch,
                bytes,
            } => {
                let mut event = json!({
                    "event": "progress",
                    "records": records,
                    "batch": batch,
                });
                if let Some(bytes) = bytes {
                    event["bytes"] = Json::from(*bytes);
                }
                emit(&event);
            }
            Event::Sized { records, bytes } => emit(&json!({
                "event": "sized",
                "records": records,
                "bytes": bytes,
            })),
            Event::Applied {
                changes,
                total,
                lag_seconds,
                pending,
            } => {
                // A caught-up feed reports every poll; one such line a second is enough.
                if *changes == 0 && !self.heartbeat_due() {
                    return;
                }
                emit(&json!({
                    "event": "applied",
                    "changes": changes,
                    "total": total,
                    "lag_seconds": lag_seconds.map(|s| (s * 1000.0).round() / 1000.0),
                    "pending": pending,
                }));
            }
            Event::Resync { reason } => emit(&json!({"event": "resync", "reason": reason})),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_transfer_draws_objects_against_the_source_size_and_the_bytes_done() {
        let reporter = Reporter::drawing_to("copy", false, Some(ProgressDrawTarget::hidden()));
        reporter.counts_objects();
        assert!(reporter.wants_source_size());
        reporter.event(&Event::Started {
            source: "s3://a/".into(),
            sink: "file:///b".into(),
            resumed_records: 0,
            estimated_total: None,
        });
        reporter.event(&Event::Progress {
            records: 3,
            batch: 3,
            bytes: Some(3_000),
        });
        let bar = reporter.bar().unwrap();
        assert_eq!((bar.position(), bar.length()), (3, None));
        assert_eq!(bar.message(), "2.93 KiB");
        reporter.event(&Event::Sized {
            records: 10,
            bytes: 10 << 20,
        });
        reporter.event(&Event::Progress {
            records: 7,
            batch: 4,
            bytes: Some(7 << 20),
        });
        assert_eq!((bar.position(), bar.length()), (7, Some(10)));
        assert_eq!(bar.message(), "7.00 MiB of 10.00 MiB");
    }

    #[test]
    fn records_count_on_the_line_and_json_or_no_terminal_draws_nothing() {
        let reporter = Reporter::drawing_to("copy", false, Some(ProgressDrawTarget::hidden()));
        reporter.event(&Event::Started {
            source: "a".into(),
            sink: "b".into(),
            resumed_records: 5,
            estimated_total: Some(100),
        });
        reporter.event(&Event::Progress {
            records: 50,
            batch: 45,
            bytes: None,
        });
        let bar = reporter.bar().unwrap();
        assert_eq!((bar.position(), bar.length()), (50, Some(100)));
        // A backup counts the archive's bytes too.
        reporter.event(&Event::Progress {
            records: 60,
            batch: 10,
            bytes: Some(1_500_000),
        });
        assert_eq!(bar.message(), "1.43 MiB");

        let quiet = Reporter::drawing_to("copy", false, None);
        assert!(!quiet.wants_source_size());
        quiet.event(&Event::Sized {
            records: 1,
            bytes: 1,
        });
        assert!(quiet.bar().is_none());
    }
}
