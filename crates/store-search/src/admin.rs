//! Index lifecycle beyond the trait: raw creation, mappings and settings, aliases, bulk-load
//! mode and the zero-downtime reindex with an alias swap.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use futures::stream::{BoxStream, Stream, StreamExt};
use opensearch::http::Method;
use serde_json::{Value as Json, json};
use store_core::search::{BulkOp, BulkReport, IndexSpec, SearchIndex};
use store_core::{Result, StoreError, Value};

use crate::bulk::BulkOptions;
use crate::error::{BACKEND, ConflictMeaning};
use crate::http::{Body, segment};
use crate::index::OpenSearchIndex;
use crate::json::{lookup, to_serde};
use crate::mapping::create_body;

/// One action of an atomic `_aliases` call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AliasAction {
    /// Point `alias` at `index` too.
    Add {
        /// The index.
        index: String,
        /// The alias.
        alias: String,
    },
    /// Stop pointing `alias` at `index`.
    Remove {
        /// The index.
        index: String,
        /// The alias.
        alias: String,
    },
}

impl AliasAction {
    fn to_json(&self) -> Json {
        match self {
            AliasAction::Add { index, alias } => {
                json!({"add": {"index": index, "alias": alias}})
            }
            AliasAction::Remove { index, alias } => {
                json!({"remove": {"index": index, "alias": alias}})
            }
        }
    }
}

/// Where [`OpenSearchIndex::reindex`] takes the documents of the new version from.
///
/// ```no_run
/// # async fn demo(articles: store_search::OpenSearchIndex) -> store_core::Result<()> {
/// use store_core::Document;
/// use store_core::search::{BulkOp, FieldType, IndexSpec};
/// use store_search::{BulkOptions, ReindexSource};
///
/// let spec = IndexSpec::new().field("title", FieldType::Text);
/// // The documents the alias points to now, copied by the server:
/// articles.reindex(&spec, ReindexSource::Current).await?;
/// // Or documents from anywhere, loaded with the bulk helper:
/// let ops = futures::stream::iter((0..1_000).map(|n| BulkOp::Index {
///     id: n.to_string(),
///     doc: Document::new().with("title", format!("Article {n}")),
/// }));
/// articles
///     .reindex(&spec, ReindexSource::stream(ops, BulkOptions::default()))
///     .await?;
/// # Ok(()) }
/// ```
pub enum ReindexSource<'a> {
    /// Bulk operations from a stream (usually `BulkOp::Index`), loaded with the bulk helper;
    /// [`ReindexSource::stream`] boxes any stream.
    Stream(BoxStream<'a, BulkOp>, BulkOptions),
    /// A server-side `_reindex` from the indices the alias points to now.
    Current,
}

impl<'a> ReindexSource<'a> {
    /// Bulk operations from `ops`, loaded with the bulk helper and `options`.
    pub fn stream<S>(ops: S, options: BulkOptions) -> Self
    where
        S: Stream<Item = BulkOp> + Send + 'a,
    {
        ReindexSource::Stream(ops.boxed(), options)
    }
}

/// What [`OpenSearchIndex::reindex`] did.
#[derive(Debug)]
pub struct ReindexOutcome {
    /// The new index the alias now points to (`<alias>_v<N+1>`).
    pub new_index: String,
    /// The indices the alias pointed to before, now deleted.
    pub previous: Vec<String>,
    /// Documents in the new index.
    pub documents: u64,
    /// The bulk report, when loaded from a stream.
    pub report: Option<BulkReport>,
}

/// The settings bulk-load mode changes, as they were.
struct SavedSettings {
    refresh_interval: Json,
    replicas: Json,
}

impl OpenSearchIndex {
    /// Creates the index from a raw body (`{"settings": ..., "mappings": ..., "aliases": ...}`).
    pub async fn create_raw(&self, body: &Json) -> Result<()> {
        let target = self.target("");
        self.send(
            Method::Put,
            &self.path(""),
            &[],
            Some(Body::json(body)),
            "create",
            &target,
        )
        .await?
        .check(ConflictMeaning::AlreadyExists, "create", &target)
        .map(drop)
    }

    /// The mappings of the index (of each index behind an alias), as the server returns them:
    /// `{"<index>": {"mappings": {...}}}`.
    pub async fn mapping(&self) -> Result<Json> {
        self.get_json(&self.path("/_mapping"), "mapping").await
    }

    /// The settings of the index, flat (`{"<index>": {"settings": {"index.refresh_interval": ...}}}`).
    pub async fn settings(&self) -> Result<Json> {
        let target = self.target("");
        let value = self
            .send(
                Method::Get,
                &self.path("/_settings"),
                &[("flat_settings", "true".to_owned())],
                None,
                "settings",
                &target,
            )
            .await?
            .check(ConflictMeaning::Auto, "settings", &target)?;
        Ok(to_serde(&value))
    }

    /// Updates dynamic settings (`{"index": {"refresh_interval": "5s"}}`).
    pub async fn put_settings(&self, settings: &Json) -> Result<()> {
        let target = self.target("");
        self.send(
            Method::Put,
            &self.path("/_settings"),
            &[],
            Some(Body::json(settings)),
            "put_settings",
            &target,
        )
        .await?
        .check(ConflictMeaning::Auto, "put_settings", &target)
        .map(drop)
    }

    async fn get_json(&self, path: &str, operation: &'static str) -> Result<Json> {
        let target = self.target("");
        let value = self
            .send(Method::Get, path, &[], None, operation, &target)
            .await?
            .check(ConflictMeaning::Auto, operation, &target)?;
        Ok(to_serde(&value))
    }

    /// The indices this handle's name points to as an alias (empty when it is no alias).
    pub async fn alias_targets(&self) -> Result<Vec<String>> {
        let target = self.target("");
        let path = format!("/_alias/{}", segment(self.name().as_str()));
        let reply = self
            .send(Method::Get, &path, &[], None, "alias_targets", &target)
            .await?;
        if reply.status == 404 {
            return Ok(Vec::new());
        }
        let value = reply.check(ConflictMeaning::Auto, "alias_targets", &target)?;
        let mut names: Vec<String> = value
            .as_map()
            .map(|m| m.keys().map(str::to_owned).collect())
            .unwrap_or_default();
        names.sort();
        Ok(names)
    }

    /// Applies alias actions in ONE atomic `_aliases` call.
    pub async fn update_aliases(&self, actions: &[AliasAction]) -> Result<()> {
        let body = json!({"actions": actions.iter().map(AliasAction::to_json).collect::<Vec<_>>()});
        let target = self.target("");
        self.send(
            Method::Post,
            "/_aliases",
            &[],
            Some(Body::json(&body)),
            "update_aliases",
            &target,
        )
        .await?
        .check(ConflictMeaning::Auto, "update_aliases", &target)
        .map(drop)
    }

    async fn saved_settings(&self) -> Result<SavedSettings> {
        let all = self.settings().await?;
        let first = all
            .as_object()
            .and_then(|m| m.values().next())
            .and_then(|v| v.get("settings"))
            .cloned()
            .unwrap_or(Json::Null);
        Ok(SavedSettings {
            refresh_interval: first
                .get("index.refresh_interval")
                .cloned()
                .unwrap_or(Json::Null),
            replicas: first
                .get("index.number_of_replicas")
                .cloned()
                .unwrap_or(Json::Null),
        })
    }

    /// Runs `load` in bulk-load mode: refresh off (`refresh_interval: -1`) and no replicas,
    /// then puts the previous settings back and refreshes, whether `load` succeeded, failed or
    /// panicked (the panic resumes once the settings are restored).
    ///
    /// ```no_run
    /// # async fn demo(index: store_search::OpenSearchIndex) -> store_core::Result<()> {
    /// use store_core::search::BulkOp;
    /// let ops = futures::stream::iter(Vec::<BulkOp>::new());
    /// let options = store_search::BulkOptions::default();
    /// let report = index
    ///     .bulk_load_mode(|| index.bulk_stream(ops, &options))
    ///     .await?;
    /// assert!(report.is_complete());
    /// # Ok(()) }
    /// ```
    pub async fn bulk_load_mode<T, F, Fut>(&self, load: F) -> Result<T>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let saved = self.saved_settings().await?;
        self.put_settings(&json!({"index": {"refresh_interval": "-1", "number_of_replicas": 0}}))
            .await?;
        let outcome = AssertUnwindSafe(load()).catch_unwind().await;
        let restored = self
            .put_settings(&json!({"index": {
                "refresh_interval": saved.refresh_interval,
                "number_of_replicas": saved.replicas,
            }}))
            .await;
        let refreshed = self.refresh().await;
        match outcome {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(Err(e)) => Err(e),
            Ok(Ok(value)) => {
                restored?;
                refreshed?;
                Ok(value)
            }
        }
    }

    /// Zero-downtime reindex behind this handle's name used as an alias.
    ///
    /// Creates `<alias>_v<N+1>` (N the highest version the alias points to now, 0 if none)
    /// with `spec`, loads it in bulk-load mode from `source`, swaps the alias from the old
    /// indices to the new one in ONE `_aliases` call, then deletes the old indices. Readers of
    /// the alias see the old index until the swap and the new, refreshed one after it. If
    /// anything fails before the swap the new index is deleted and the alias is untouched; a
    /// stream load with failed items is an error (the report is in the message).
    pub async fn reindex(
        &self,
        spec: &IndexSpec,
        source: ReindexSource<'_>,
    ) -> Result<ReindexOutcome> {
        let alias = self.name().as_str().to_owned();
        async {
            let previous = self.alias_targets().await?;
            if previous.is_empty() && self.exists().await? {
                return Err(StoreError::invalid_input(format!(
                    "`{alias}` is a concrete index, not an alias; reindex needs an alias name"
                ))
                .with_backend(BACKEND)
                .with_operation("reindex")
                .with_target(alias.clone()));
            }
            let version = previous
                .iter()
                .filter_map(|i| i.strip_prefix(&format!("{alias}_v"))?.parse::<u64>().ok())
                .max()
                .unwrap_or(0);
            let new_name = format!("{alias}_v{}", version + 1);
            let new = self.sibling(&new_name)?;
            new.create_raw(&create_body(spec)).await?;
            let loaded = new
                .bulk_load_mode(|| async {
                    match source {
                        ReindexSource::Stream(ops, options) => {
                            let report = new.bulk_stream(ops, &options).await?;
                            if !report.is_complete() {
                                let first = &report.failed[0];
                                return Err(StoreError::invalid_input(format!(
                                    "{} of the documents failed to load (first: position {}, id `{}`: {})",
                                    report.failed.len(),
                                    first.position,
                                    first.id,
                                    first.error
                                )));
                            }
                            Ok(Some(report))
                        }
                        ReindexSource::Current => {
                            if previous.is_empty() {
                                return Ok(None);
                            }
                            let body = json!({
                                "source": {"index": previous},
                                "dest": {"index": new_name},
                            });
                            let value = new
                                .send(
                                    Method::Post,
                                    "/_reindex",
                                    &[("wait_for_completion", "true".to_owned()), ("refresh", "true".to_owned())],
                                    Some(Body::json(&body)),
                                    "reindex",
                                    &new_name,
                                )
                                .await?
                                .check(ConflictMeaning::Auto, "reindex", &new_name)?;
                            let failures = lookup(&value, &["failures"])
                                .and_then(Value::as_list)
                                .map_or(0, <[Value]>::len);
                            if failures > 0 {
                                return Err(StoreError::internal(format!(
                                    "_reindex reported {failures} failures"
                                )));
                            }
                            Ok(None)
                        }
                    }
                })
                .await;
            let report = match loaded {
                Ok(report) => report,
                Err(e) => {
                    let _ = new.drop_index().await;
                    return Err(e.in_context(BACKEND, "reindex"));
                }
            };
            let documents = new.count(&Default::default()).await?;
            let mut actions = vec![AliasAction::Add {
                index: new_name.clone(),
                alias: alias.clone(),
            }];
            actions.extend(previous.iter().map(|i| AliasAction::Remove {
                index: i.clone(),
                alias: alias.clone(),
            }));
            if let Err(e) = self.update_aliases(&actions).await {
                let _ = new.drop_index().await;
                return Err(e);
            }
            for old in &previous {
                self.sibling(old)?.drop_index().await?;
            }
            Ok(ReindexOutcome {
                new_index: new_name,
                previous,
                documents,
                report,
            })
        }
        .await
    }
}
