//! Opening a [`Location`] as what a command needs: a keyed collection (source and sink), an
//! object location, or an archive. Endpoints and credentials come from the environment.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use anyhow::{Context as _, Result, anyhow, bail};
use store_core::memory::{MemoryDocumentStore, MemoryObjectStore, MemorySearchIndex};
use store_core::{DocumentStore, ErrorKind, KeySchema, KeyType, ObjectStore, SqlStore};
use store_dynamo::{TableAdmin, TableDefinition};
use store_fs::FsStore;
use store_layers::{LayerExt, Layered, Layers, RateLimitLayer};
use store_rds::{PgConfig, PgStore};
use store_s3::S3Store;
use store_sync::objects::ObjectLocation;
use store_sync::{
    ArchiveSink, ArchiveSource, CollectionSchema, DocumentCollection, Partition, PlanHome,
    RecordSink, RecordSource, SearchCollection, SqlQuery, SqlTable,
};

mod created;
mod embedded;
mod feed;
mod folders;
mod search;
mod sqlite;
mod store_folder;

pub(crate) use store_folder::refuse_store_folder;

pub(crate) use created::remove_created_if_empty;
use embedded::{RedbTarget, open_redb, open_tantivy};
pub(crate) use feed::FeedSettings;
use sqlite::open_sqlite;

use crate::location::{Location, MemoryKind, SqlTarget};

/// How long creating a DynamoDB table may take.
const TABLE_CREATE_WAIT: Duration = Duration::from_secs(120);

/// What a collection is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Access {
    /// Reading: it must exist, and nothing is created.
    Read,
    /// Writing: the database file or folder is created when missing.
    Write,
    /// A dry run's target: read only; a missing one reads as empty, and nothing is created.
    DryRun,
}

/// A keyed collection, which is both a source and a sink.
#[derive(Debug)]
pub(crate) enum Collection {
    /// A SQL table.
    Table(SqlTable),
    /// The rows of a SQL query (a source only).
    Query(SqlQuery),
    /// A document table.
    Documents(DocumentCollection),
    /// A search index.
    Search(SearchCollection),
}

impl Collection {
    /// It as a source.
    pub(crate) fn source(&self) -> &dyn RecordSource {
        match self {
            Self::Table(t) => t,
            Self::Query(q) => q,
            Self::Documents(d) => d,
            Self::Search(s) => s,
        }
    }

    /// It as a sink; a query cannot be written to.
    pub(crate) fn sink(&self) -> Result<&dyn RecordSink> {
        Ok(match self {
            Self::Table(t) => t,
            Self::Query(q) => bail!(
                "{} is a query: it can be read, not written; name a table with ?table=NAME",
                q.describe()
            ),
            Self::Documents(d) => d,
            Self::Search(s) => s,
        })
    }
}

/// Opens locations.
#[derive(Debug, Clone, Default)]
pub(crate) struct Opener {
    /// Fields that key search documents (`--key`).
    pub(crate) key_fields: Vec<String>,
    /// At most this many calls a second to each store (`--rate-limit`).
    pub(crate) rate_limit: Option<u32>,
}

impl Opener {
    /// `store` behind the rate limit, when there is one: each store opened gets its own.
    fn paced<S>(&self, store: S) -> Layered<S, Layers> {
        let layers = match self.rate_limit {
            Some(calls) => {
                Layers::new().rate_limit(RateLimitLayer::new(calls, Duration::from_secs(1)))
            }
            None => Layers::new(),
        };
        store.layer(layers)
    }

    /// Opens a keyed collection. For a sink, `schema` is the source's shape: a missing DynamoDB
    /// table is created from it when `create` is set.
    pub(crate) async fn collection(
        &self,
        location: &Location,
        access: Access,
        schema: Option<&CollectionSchema>,
        create: bool,
    ) -> Result<Collection> {
        let label = location.describe();
        let opened = match location {
            Location::Memory { name, kind } => match kind {
                MemoryKind::Documents(keys) => Collection::Documents(DocumentCollection::new(
                    memory_documents(name, keys).with_context(|| format!("cannot open {label}"))?,
                    label,
                )),
                MemoryKind::Search => Collection::Search(
                    SearchCollection::new(
                        memory_search(name).with_context(|| format!("cannot open {label}"))?,
                        label,
                    )
                    .key_fields(self.key_fields.clone()),
                ),
                MemoryKind::Objects => bail!(
                    "{label} holds objects, not records; use mem://NAME for documents or \
                     mem://NAME?kind=search"
                ),
            },
            Location::Sqlite { path, table } => {
                let store = open_sqlite(path, access)
                    .await
                    .with_context(|| format!("cannot open the SQLite database of {label}"))?;
                self.sql(Arc::new(self.paced(store)), table, label)?
            }
            Location::Postgres {
                url,
                password,
                table,
                ..
            } => {
                let store = pg_store(url, password.as_deref(), &label)?;
                self.sql(Arc::new(self.paced(store)), table, label)?
            }
            Location::Dynamo { table } => {
                let store = open_dynamo(table, access, schema, create)
                    .await
                    .with_context(|| format!("cannot open {label}"))?;
                Collection::Documents(DocumentCollection::new(Arc::new(self.paced(store)), label))
            }
            Location::Redb { path, table, key } => {
                let target = RedbTarget {
                    path,
                    table: table.as_deref(),
                    key: key.as_ref(),
                };
                let store = open_redb(&target, access, schema, create)
                    .await
                    .with_context(|| format!("cannot open {label}"))?;
                Collection::Documents(DocumentCollection::new(Arc::new(self.paced(store)), label))
            }
            Location::Tantivy { root, index } => {
                let opened = open_tantivy(root, index, access)
                    .await
                    .with_context(|| format!("cannot open {label}"))?;
                Collection::Search(
                    SearchCollection::new(Arc::new(self.paced(opened)), label)
                        .key_fields(self.key_fields.clone()),
                )
            }
            Location::OpenSearch {
                https,
                host,
                index,
                user,
                password,
                ..
            } => {
                let opened = search::open_index(*https, host, index, user, password)
                    .map_err(|e| anyhow!("cannot open {label}: {}", e.message()))?;
                let collection = SearchCollection::new(Arc::new(self.paced(opened.clone())), label)
                    .key_fields(self.key_fields.clone());
                Collection::Search(search::read_through_views(collection, &opened))
            }
            Location::File { .. } | Location::S3 { .. } => {
                bail!("{label} holds objects, not records")
            }
        };
        Ok(opened)
    }

    /// A SQL table, or a query keyed by the `--key` columns.
    fn sql(
        &self,
        store: Arc<dyn SqlStore>,
        target: &SqlTarget,
        label: String,
    ) -> Result<Collection> {
        Ok(match target {
            SqlTarget::Table(table) => Collection::Table(SqlTable::new(store, table, label)),
            SqlTarget::Query(sql) => Collection::Query(
                SqlQuery::new(store, sql, self.key_fields.clone(), label)
                    .map_err(|e| anyhow!("{}", e.message()))?,
            ),
        })
    }

    /// Opens everything under an object location.
    pub(crate) async fn objects(
        &self,
        location: &Location,
        access: Access,
    ) -> Result<ObjectLocation> {
        let (store, prefix) = self.object_store(location, access).await?;
        Ok(ObjectLocation::new(
            Arc::new(self.paced(store)),
            prefix,
            location.describe(),
        ))
    }

    /// Opens an archive to read (restore, check).
    ///
    /// A `file://` archive is a directory of plain files (zstd, jq and sha256sum open them);
    /// elsewhere it lives under the location's object prefix.
    pub(crate) async fn archive_source(&self, location: &Location) -> Result<ArchiveSource> {
        if let Location::File { path } = location {
            return Ok(ArchiveSource::in_dir(path, location.describe()));
        }
        let (store, prefix) = self.object_store(location, Access::Read).await?;
        Ok(ArchiveSource::new(
            Arc::new(self.paced(store)),
            prefix,
            location.describe(),
        ))
    }

    /// Opens an archive to write, by `partition` of a backup of `source`.
    pub(crate) async fn archive_sink(
        &self,
        location: &Location,
        partition: Partition,
        source: &str,
    ) -> Result<ArchiveSink> {
        let tool = format!("stores {}", env!("CARGO_PKG_VERSION"));
        if let Location::File { path } = location {
            refuse_store_folder(location, "an archive")?;
            if !path.exists() && partition.is_whole() {
                created::remember(created::Created::ArchiveDir(path.clone()));
            }
            return Ok(
                ArchiveSink::in_dir(path, location.describe(), tool, partition).with_source(source),
            );
        }
        let (store, prefix) = self.object_store(location, Access::Write).await?;
        let store: Arc<dyn ObjectStore> = Arc::new(self.paced(store));
        Ok(
            ArchiveSink::new(store, prefix, location.describe(), tool, partition)
                .with_source(source),
        )
    }

    /// Where `--plan LOCATION` keeps a partitioned job's plan: `plan.json` in a folder, or
    /// under an object prefix.
    pub(crate) async fn plan_home(&self, location: &Location) -> Result<PlanHome> {
        if let Location::File { path } = location {
            refuse_store_folder(location, "a plan")?;
            return Ok(PlanHome::in_dir(path));
        }
        if location.kind().is_records() {
            bail!(
                "--plan {location} is a {}, not a place for a file: give file:///dir, \
                 s3://bucket/prefix or mem://NAME?kind=objects",
                location.kind()
            );
        }
        let (store, prefix) = self.object_store(location, Access::Write).await?;
        Ok(PlanHome::under(store, prefix))
    }

    async fn object_store(
        &self,
        location: &Location,
        access: Access,
    ) -> Result<(Arc<dyn ObjectStore>, String)> {
        let label = location.describe();
        match location {
            Location::Memory {
                name,
                kind: MemoryKind::Objects,
            } => Ok((memory_objects(name)?, String::new())),
            Location::File { path } => {
                let store: Arc<dyn ObjectStore> = match access {
                    Access::Write => {
                        let existed = path.exists();
                        let store = FsStore::open(path)
                            .await
                            .with_context(|| format!("cannot open the folder of {label}"))?;
                        if !existed {
                            created::remember(created::Created::Objects(path.clone()));
                        }
                        Arc::new(store)
                    }
                    Access::DryRun if !path.exists() => Arc::new(MemoryObjectStore::new()),
                    Access::Read | Access::DryRun => Arc::new(
                        FsStore::builder(path)
                            .read_only(true)
                            .create_if_missing(false)
                            .build()
                            .await
                            .with_context(|| format!("cannot open the folder of {label}"))?,
                    ),
                };
                Ok((store, String::new()))
            }
            Location::S3 { bucket, prefix } => {
                let store = s3_store(bucket)
                    .await
                    .with_context(|| format!("cannot open {label}"))?;
                Ok((Arc::new(store), prefix.clone()))
            }
            other => bail!(
                "{label} is a {}, not an object location (file://, s3://, mem://NAME?kind=objects)",
                other.kind()
            ),
        }
    }
}

/// A PostgreSQL store for `url`, with `PGPASSWORD` filling a password the URL leaves out.
fn pg_store(url: &str, password: Option<&str>, label: &str) -> Result<PgStore> {
    let mut config = PgConfig::from_url(url)
        .map_err(|e| anyhow!("{label} is not a PostgreSQL URL: {}", e.message()))?;
    if password.is_none()
        && let Ok(pw) = std::env::var("PGPASSWORD")
    {
        config = config.password(pw);
    }
    config
        .build()
        .with_context(|| format!("cannot connect to {label}"))
}

/// Whether the store at `location` exists, where that is cheap to know without opening it
/// for writing: a file, folder or index folder, a DynamoDB table; `None` for the others.
pub(crate) async fn exists(location: &Location) -> Result<Option<bool>> {
    Ok(match location {
        Location::File { path } | Location::Sqlite { path, .. } | Location::Redb { path, .. } => {
            Some(path.exists())
        }
        Location::Tantivy { root, index } => Some(root.join(index).exists()),
        Location::Dynamo { table } => match dynamo_admin().await.open(table).await {
            Ok(_) => Some(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Some(false),
            Err(e) => return Err(anyhow!(e).context(format!("cannot open {location}"))),
        },
        _ => None,
    })
}

/// DynamoDB administration on the endpoint the environment names.
async fn dynamo_admin() -> TableAdmin {
    let mut builder = TableAdmin::builder();
    if let Some(endpoint) = env("STORES_DYNAMODB_ENDPOINT") {
        builder = builder.endpoint(endpoint);
    }
    builder.build().await
}

async fn open_dynamo(
    table: &str,
    access: Access,
    schema: Option<&CollectionSchema>,
    create: bool,
) -> Result<Arc<dyn DocumentStore>> {
    let admin = dynamo_admin().await;
    let missing = match admin.open(table).await {
        Ok(store) => return Ok(Arc::new(store)),
        Err(e) if e.kind() == ErrorKind::NotFound => e,
        Err(e) => return Err(e.into()),
    };
    let keys = schema.and_then(key_schema_of);
    match (access, keys) {
        (Access::DryRun, Some(keys)) => Ok(Arc::new(MemoryDocumentStore::new(table, keys)?)),
        (Access::Write, Some(keys)) if create => {
            let created = admin
                .create(&TableDefinition::new(table, keys), TABLE_CREATE_WAIT)
                .await?;
            Ok(Arc::new(created))
        }
        (Access::Write, None) if create => Err(anyhow!(
            "DynamoDB table `{table}` does not exist and the source does not say its key types; \
             create it first"
        )),
        _ => Err(missing.into()),
    }
}

/// The DynamoDB key of a collection of this shape, when its key types are known.
fn key_schema_of(schema: &CollectionSchema) -> Option<KeySchema> {
    match schema {
        CollectionSchema::Documents {
            partition_key,
            sort_key,
            ..
        } => {
            let pk = partition_key.to_attribute()?;
            let mut keys = KeySchema::partition(pk.name, pk.key_type);
            if let Some(sort) = sort_key {
                let sk = sort.to_attribute()?;
                keys = keys.with_sort(sk.name, sk.key_type);
            }
            Some(keys)
        }
        CollectionSchema::Table {
            columns,
            primary_key,
            ..
        } => {
            let type_of = |name: &str| {
                columns
                    .iter()
                    .find(|c| c.name == name)
                    .map(|c| key_type_of_sql(&c.sql_type))
            };
            match primary_key.as_slice() {
                [pk] => Some(KeySchema::partition(pk, type_of(pk)?)),
                [pk, sk] => {
                    Some(KeySchema::partition(pk, type_of(pk)?).with_sort(sk, type_of(sk)?))
                }
                _ => None,
            }
        }
        CollectionSchema::Search { .. } | CollectionSchema::Objects { .. } => None,
    }
}

fn key_type_of_sql(sql_type: &str) -> KeyType {
    let t = sql_type.to_ascii_lowercase();
    if [
        "int", "numeric", "decimal", "real", "double", "float", "serial",
    ]
    .iter()
    .any(|n| t.contains(n))
    {
        KeyType::Number
    } else if t.contains("blob") || t.contains("bytea") {
        KeyType::Bytes
    } else {
        KeyType::String
    }
}

async fn s3_store(bucket: &str) -> store_core::Result<S3Store> {
    let mut builder = S3Store::builder(bucket);
    if let Some(endpoint) = env("STORES_S3_ENDPOINT") {
        builder = builder.endpoint(endpoint).force_path_style(true);
    } else if env("AWS_ENDPOINT_URL_S3").is_some() || env("AWS_ENDPOINT_URL").is_some() {
        // Local emulators answer on one host: address buckets by path.
        builder = builder.force_path_style(true);
    }
    builder.build().await
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The in-process memory stores, by name, shared by every location of one run.
enum MemoryStore {
    Documents(Arc<MemoryDocumentStore>),
    Objects(Arc<MemoryObjectStore>),
    Search(Arc<MemorySearchIndex>),
}

fn memory() -> &'static Mutex<HashMap<String, MemoryStore>> {
    static STORES: OnceLock<Mutex<HashMap<String, MemoryStore>>> = OnceLock::new();
    STORES.get_or_init(Mutex::default)
}

fn kind_clash(name: &str) -> anyhow::Error {
    anyhow!("mem://{name} is already a store of another kind in this run; use another name")
}

fn memory_documents(name: &str, keys: &KeySchema) -> Result<Arc<dyn DocumentStore>> {
    let mut stores = memory().lock().expect("memory stores");
    if !stores.contains_key(name) {
        let store = Arc::new(MemoryDocumentStore::new(name, keys.clone())?);
        stores.insert(name.to_owned(), MemoryStore::Documents(store));
    }
    match &stores[name] {
        MemoryStore::Documents(store) if store.key_schema() == keys => Ok(store.clone()),
        MemoryStore::Documents(_) => bail!(
            "mem://{name} is already a document store with another key in this run; use another name"
        ),
        _ => Err(kind_clash(name)),
    }
}

fn memory_objects(name: &str) -> Result<Arc<dyn ObjectStore>> {
    let mut stores = memory().lock().expect("memory stores");
    let entry = stores
        .entry(name.to_owned())
        .or_insert_with(|| MemoryStore::Objects(Arc::new(MemoryObjectStore::new())));
    match entry {
        MemoryStore::Objects(store) => Ok(store.clone()),
        _ => Err(kind_clash(name)),
    }
}

fn memory_search(name: &str) -> Result<Arc<dyn store_core::SearchIndex>> {
    let mut stores = memory().lock().expect("memory stores");
    if !stores.contains_key(name) {
        let index = Arc::new(MemorySearchIndex::new(name)?);
        stores.insert(name.to_owned(), MemoryStore::Search(index));
    }
    match &stores[name] {
        MemoryStore::Search(index) => Ok(index.clone()),
        _ => Err(kind_clash(name)),
    }
}

#[cfg(test)]
mod tests {
    use store_sync::{Column, KeyField};

    use super::*;

    #[test]
    fn dynamo_keys_come_from_documents_and_tables() {
        let documents = CollectionSchema::Documents {
            name: "t".into(),
            partition_key: KeyField {
                name: "pk".into(),
                key_type: "S".into(),
            },
            sort_key: Some(KeyField {
                name: "sk".into(),
                key_type: "N".into(),
            }),
        };
        assert_eq!(
            key_schema_of(&documents),
            Some(KeySchema::partition("pk", KeyType::String).with_sort("sk", KeyType::Number))
        );
        let table = CollectionSchema::Table {
            name: "t".into(),
            dialect: "sqlite".into(),
            columns: vec![
                Column {
                    name: "id".into(),
                    sql_type: "INTEGER".into(),
                    nullable: false,
                },
                Column {
                    name: "v".into(),
                    sql_type: "TEXT".into(),
                    nullable: true,
                },
            ],
            primary_key: vec!["id".into()],
            options: Vec::new(),
        };
        assert_eq!(
            key_schema_of(&table),
            Some(KeySchema::partition("id", KeyType::Number))
        );
        let search = CollectionSchema::Search {
            name: "i".into(),
            key_fields: vec![],
        };
        assert_eq!(key_schema_of(&search), None);
    }

    #[test]
    fn memory_stores_are_shared_by_name_and_kind() {
        let keys = KeySchema::partition("id", KeyType::String);
        let a = memory_documents("open-test-docs", &keys).unwrap();
        let b = memory_documents("open-test-docs", &keys).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert!(memory_objects("open-test-docs").is_err());
        let other = KeySchema::partition("pk", KeyType::String);
        assert!(memory_documents("open-test-docs", &other).is_err());
    }
}
