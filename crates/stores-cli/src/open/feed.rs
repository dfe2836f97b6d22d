//! Opening a source's change feed for `sync --follow`.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use store_core::feed::ChangeFeed;
use store_rds::ReplicationOptions;

use super::{Opener, dynamo_admin, pg_store};
use crate::location::{Location, SqlTarget};

/// Which change feed `sync --follow` reads, and how.
#[derive(Debug, Clone)]
pub(crate) struct FeedSettings {
    /// How long to wait before asking a caught-up feed again.
    pub(crate) poll: Duration,
    /// Follow a PostgreSQL table by this timestamp column instead of logical replication.
    pub(crate) watermark: Option<String>,
    /// With `watermark`: how old a row's column must be before it is read.
    pub(crate) lag_window: Duration,
}

impl Opener {
    /// The change feed of a source, for `sync --follow`: a DynamoDB table's stream or a
    /// PostgreSQL table's logical replication; `None` for a source that has none. `job`
    /// names who reads (the sink's redacted location): each job gets its own replication slot.
    pub(crate) async fn feed(
        &self,
        location: &Location,
        settings: &FeedSettings,
        job: &str,
    ) -> Result<Option<Box<dyn ChangeFeed>>> {
        let poll = settings.poll;
        if settings.watermark.is_some() && !matches!(location, Location::Postgres { .. }) {
            bail!("--watermark follows a PostgreSQL table; {location} is not one");
        }
        match location {
            Location::Dynamo { table } => {
                let reader = dynamo_admin().await.stream_reader(table)?;
                Ok(Some(Box::new(reader.poll_interval(poll))))
            }
            Location::Postgres {
                url,
                password,
                table: SqlTarget::Table(table),
                ..
            } => {
                let label = location.describe();
                let store = pg_store(url, password.as_deref(), &label)?;
                if let Some(column) = &settings.watermark {
                    let feed = store
                        .watermark_feed(table, column, settings.lag_window)
                        .await
                        .with_context(|| format!("cannot follow {label}"))?;
                    return Ok(Some(Box::new(feed.poll_interval(poll))));
                }
                let options = ReplicationOptions::new().poll_interval(poll).job(job);
                let feed = store
                    .change_feed(table, options)
                    .await
                    .with_context(|| format!("cannot follow {label}"))?;
                Ok(Some(Box::new(feed)))
            }
            _ => Ok(None),
        }
    }
}
