//! Warnings the libraries log (a replication slot keeping too much WAL, a watermark feed that
//! cannot see deletes) shown to the person running the command: one `warning:` line on stderr
//! each, with the event's fields. Only this project's crates are shown, nothing below WARN, and
//! no field holds a secret.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::Registry;

/// Installs the warning printer for the whole process (once; later calls do nothing).
pub(crate) fn install() {
    let subscriber = Registry::default().with(WarningLines);
    let _ = tracing::subscriber::set_global_default(subscriber);
}

/// Prints WARN and ERROR events as `warning: <message> (<field>=<value>, …)`.
struct WarningLines;

impl<S: Subscriber> Layer<S> for WarningLines {
    fn enabled(&self, metadata: &tracing::Metadata<'_>, _: Context<'_, S>) -> bool {
        // Only this project's crates: the SDKs' own warnings are theirs to surface.
        *metadata.level() <= Level::WARN && metadata.target().starts_with("store")
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let mut line = Line::default();
        event.record(&mut line);
        if line.fields.is_empty() {
            eprintln!("warning: {}", line.message);
        } else {
            eprintln!("warning: {} ({})", line.message, line.fields);
        }
    }
}

/// An event's message and its other fields.
#[derive(Default)]
struct Line {
    message: String,
    fields: String,
}

impl Visit for Line {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.message, "{value:?}");
            return;
        }
        if !self.fields.is_empty() {
            self.fields.push_str(", ");
        }
        let _ = write!(self.fields, "{}={value:?}", field.name());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.message.push_str(value);
            return;
        }
        self.record_debug(field, &value);
    }
}
