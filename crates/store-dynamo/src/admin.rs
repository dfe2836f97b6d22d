//! [`TableAdmin`]: create, describe, wait for, delete tables and enable TTL.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType as SdkKeyType, LocalSecondaryIndex, Projection, ProjectionType, ProvisionedThroughput,
    ScalarAttributeType, TableDescription, TableStatus, TimeToLiveSpecification,
};
use store_core::{KeyAttribute, KeySchema, KeyType, Result, StoreError, TableName};

use crate::error::{BACKEND, map_sdk_error};
use crate::store::{DynamoStore, IndexInfo};

/// How a table is billed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Billing {
    /// Pay per request (on-demand).
    #[default]
    OnDemand,
    /// Provisioned capacity units (also used for every index).
    Provisioned {
        /// Read capacity units.
        read: i64,
        /// Write capacity units.
        write: i64,
    },
}

/// What a new table looks like: name, primary key, global secondary indexes and billing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableDefinition {
    /// The table name.
    pub name: String,
    /// The primary key.
    pub schema: KeySchema,
    /// Global secondary indexes (all attributes projected).
    pub indexes: Vec<(String, KeySchema)>,
    /// Local secondary indexes: name and sort key (the partition key is the table's; all
    /// attributes projected).
    pub local_indexes: Vec<(String, KeyAttribute)>,
    /// Billing mode.
    pub billing: Billing,
}

impl TableDefinition {
    /// An on-demand table without indexes.
    pub fn new(name: impl Into<String>, schema: KeySchema) -> Self {
        Self {
            name: name.into(),
            schema,
            indexes: Vec::new(),
            local_indexes: Vec::new(),
            billing: Billing::OnDemand,
        }
    }

    /// Adds a local secondary index: the table's partition key with another sort key.
    pub fn local_index(mut self, name: impl Into<String>, sort: KeyAttribute) -> Self {
        self.local_indexes.push((name.into(), sort));
        self
    }

    /// Adds a global secondary index projecting every attribute.
    pub fn index(mut self, name: impl Into<String>, schema: KeySchema) -> Self {
        self.indexes.push((name.into(), schema));
        self
    }

    /// Sets the billing mode.
    pub fn billing(mut self, billing: Billing) -> Self {
        self.billing = billing;
        self
    }
}

/// What `DescribeTable` says about a table, in core terms.
#[derive(Debug, Clone, PartialEq)]
pub struct TableInfo {
    /// The table name.
    pub name: String,
    /// The status (`ACTIVE`, `CREATING`, …).
    pub status: String,
    /// The primary key.
    pub schema: KeySchema,
    /// Secondary indexes.
    pub indexes: BTreeMap<String, IndexInfo>,
    /// The approximate item count DynamoDB reports.
    pub item_count: Option<i64>,
}

/// Table administration on a DynamoDB client.
///
/// ```no_run
/// # async fn demo(client: aws_sdk_dynamodb::Client) -> store_core::Result<()> {
/// use std::time::Duration;
/// use store_core::{KeySchema, KeyType};
/// use store_dynamo::{TableAdmin, TableDefinition};
/// let admin = TableAdmin::from_client(client);
/// let def = TableDefinition::new("orders", KeySchema::partition("id", KeyType::String))
///     .index("by-status", KeySchema::partition("status", KeyType::String));
/// let store = admin.create(&def, Duration::from_secs(60)).await?;
/// admin.enable_ttl("orders", "expires_at").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TableAdmin {
    pub(crate) client: Client,
    /// The same endpoint's DynamoDB Streams, for stream readers.
    #[cfg(feature = "streams")]
    pub(crate) streams: Option<aws_sdk_dynamodbstreams::Client>,
}

fn scalar(key_type: KeyType) -> ScalarAttributeType {
    match key_type {
        KeyType::String => ScalarAttributeType::S,
        KeyType::Number => ScalarAttributeType::N,
        KeyType::Bytes => ScalarAttributeType::B,
    }
}

fn elements(schema: &KeySchema) -> Result<Vec<KeySchemaElement>> {
    let mut out = vec![element(&schema.partition.name, SdkKeyType::Hash)?];
    if let Some(sort) = &schema.sort {
        out.push(element(&sort.name, SdkKeyType::Range)?);
    }
    Ok(out)
}

fn element(name: &str, key_type: SdkKeyType) -> Result<KeySchemaElement> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(key_type)
        .build()
        .map_err(|e| StoreError::invalid_input("bad key schema").with_source(e))
}

fn attributes(schemas: &[&KeySchema]) -> Result<Vec<AttributeDefinition>> {
    let mut seen: BTreeMap<&str, KeyType> = BTreeMap::new();
    for schema in schemas {
        for attr in std::iter::once(&schema.partition).chain(&schema.sort) {
            if let Some(previous) = seen.insert(&attr.name, attr.key_type)
                && previous != attr.key_type
            {
                return Err(StoreError::invalid_input(format!(
                    "the key attribute `{}` is given two types",
                    attr.name
                )));
            }
        }
    }
    seen.into_iter()
        .map(|(name, key_type)| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(scalar(key_type))
                .build()
                .map_err(|e| StoreError::invalid_input("bad attribute definition").with_source(e))
        })
        .collect()
}

fn schema_of(
    elements: &[KeySchemaElement],
    types: &BTreeMap<String, KeyType>,
) -> Result<KeySchema> {
    let find = |kind: SdkKeyType| {
        elements
            .iter()
            .find(|e| *e.key_type() == kind)
            .map(|e| {
                let name = e.attribute_name().to_owned();
                let key_type = types.get(&name).copied().ok_or_else(|| {
                    StoreError::internal(format!("no attribute definition for the key `{name}`"))
                })?;
                Ok::<_, StoreError>(KeyAttribute::new(name, key_type))
            })
            .transpose()
    };
    let partition = find(SdkKeyType::Hash)?
        .ok_or_else(|| StoreError::internal("the table has no partition key"))?;
    let mut schema = KeySchema::partition(partition.name, partition.key_type);
    if let Some(sort) = find(SdkKeyType::Range)? {
        schema = schema.with_sort(sort.name, sort.key_type);
    }
    Ok(schema)
}

fn info_of(table: &TableDescription) -> Result<TableInfo> {
    let types: BTreeMap<String, KeyType> = table
        .attribute_definitions()
        .iter()
        .filter_map(|d| {
            let t = match d.attribute_type() {
                ScalarAttributeType::S => KeyType::String,
                ScalarAttributeType::N => KeyType::Number,
                ScalarAttributeType::B => KeyType::Bytes,
                _ => return None,
            };
            Some((d.attribute_name().to_owned(), t))
        })
        .collect();
    let mut indexes = BTreeMap::new();
    for gsi in table.global_secondary_indexes() {
        if let Some(name) = gsi.index_name() {
            let schema = schema_of(gsi.key_schema(), &types)?;
            indexes.insert(
                name.to_owned(),
                IndexInfo {
                    schema,
                    global: true,
                },
            );
        }
    }
    for lsi in table.local_secondary_indexes() {
        if let Some(name) = lsi.index_name() {
            let schema = schema_of(lsi.key_schema(), &types)?;
            indexes.insert(
                name.to_owned(),
                IndexInfo {
                    schema,
                    global: false,
                },
            );
        }
    }
    Ok(TableInfo {
        name: table.table_name().unwrap_or_default().to_owned(),
        status: table
            .table_status()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        schema: schema_of(table.key_schema(), &types)?,
        indexes,
        item_count: table.item_count(),
    })
}

impl TableAdmin {
    /// A builder: endpoint, region, credentials, retry and timeouts, as for a store, with no
    /// table needed.
    pub fn builder() -> crate::TableAdminBuilder {
        crate::TableAdminBuilder::default()
    }

    /// Administration configured entirely by aws-config's default chain (environment,
    /// profile, `AWS_ENDPOINT_URL`...).
    pub async fn from_env() -> Self {
        Self::builder().build().await
    }

    /// Administration through a client you configured.
    pub fn from_client(client: Client) -> Self {
        Self {
            client,
            #[cfg(feature = "streams")]
            streams: None,
        }
    }

    /// The native client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates a table, waits until it is active (up to `wait`), and returns a store on it.
    /// An existing table is `AlreadyExists`.
    pub async fn create(&self, def: &TableDefinition, wait: Duration) -> Result<DynamoStore> {
        let name = TableName::new(&def.name)?;
        let local: Vec<(String, KeySchema)> = def
            .local_indexes
            .iter()
            .map(|(name, sort)| {
                let schema = KeySchema::partition(
                    def.schema.partition.name.clone(),
                    def.schema.partition.key_type,
                )
                .with_sort(sort.name.clone(), sort.key_type);
                (name.clone(), schema)
            })
            .collect();
        let mut all: Vec<&KeySchema> = vec![&def.schema];
        all.extend(def.indexes.iter().map(|(_, s)| s));
        all.extend(local.iter().map(|(_, s)| s));
        let throughput = match def.billing {
            Billing::OnDemand => None,
            Billing::Provisioned { read, write } => Some(
                ProvisionedThroughput::builder()
                    .read_capacity_units(read)
                    .write_capacity_units(write)
                    .build()
                    .map_err(|e| StoreError::invalid_input("bad throughput").with_source(e))?,
            ),
        };
        let mut request = self
            .client
            .create_table()
            .table_name(name.as_str())
            .set_attribute_definitions(Some(attributes(&all)?))
            .set_key_schema(Some(elements(&def.schema)?))
            .billing_mode(match def.billing {
                Billing::OnDemand => BillingMode::PayPerRequest,
                Billing::Provisioned { .. } => BillingMode::Provisioned,
            })
            .set_provisioned_throughput(throughput.clone());
        for (index, schema) in &def.indexes {
            let gsi = GlobalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(elements(schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .set_provisioned_throughput(throughput.clone())
                .build()
                .map_err(|e| StoreError::invalid_input("bad index").with_source(e))?;
            request = request.global_secondary_indexes(gsi);
        }
        for (index, schema) in &local {
            let lsi = LocalSecondaryIndex::builder()
                .index_name(index)
                .set_key_schema(Some(elements(schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::invalid_input("bad local index").with_source(e))?;
            request = request.local_secondary_indexes(lsi);
        }
        request
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "create_table", name.as_str()))?;
        self.wait_until_active(name.as_str(), wait).await?;
        self.open(name.as_str()).await
    }

    /// Describes a table; a missing table is `NotFound`.
    pub async fn describe(&self, table: &str) -> Result<TableInfo> {
        let out = self
            .client
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "describe_table", table))?;
        let desc = out
            .table()
            .ok_or_else(|| StoreError::internal("DescribeTable returned no table"))?;
        info_of(desc).map_err(|e| {
            e.with_target(table.to_owned())
                .in_context(BACKEND, "describe_table")
        })
    }

    /// A store on an existing table, with its key schema and indexes read from DynamoDB.
    pub async fn open(&self, table: &str) -> Result<DynamoStore> {
        let info = self.describe(table).await?;
        let mut store = DynamoStore::from_client(self.client.clone(), table, info.schema)?;
        for (name, index) in info.indexes {
            store = store.with_index_info(&name, index);
        }
        Ok(store)
    }

    /// Polls until the table and all its indexes are active, or `timeout` passes
    /// (`Unavailable`).
    pub async fn wait_until_active(&self, table: &str, timeout: Duration) -> Result<()> {
        let start = Instant::now();
        let mut delay = Duration::from_millis(50);
        loop {
            let out = self
                .client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "wait_until_active", table))?;
            let active = out.table().is_some_and(|t| {
                t.table_status() == Some(&TableStatus::Active)
                    && t.global_secondary_indexes().iter().all(|i| {
                        i.index_status()
                            .is_none_or(|s| *s == aws_sdk_dynamodb::types::IndexStatus::Active)
                    })
            });
            if active {
                return Ok(());
            }
            if start.elapsed() + delay > timeout {
                return Err(StoreError::unavailable(format!(
                    "the table did not become active within {timeout:?}"
                ))
                .with_target(table.to_owned())
                .in_context(BACKEND, "wait_until_active"));
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    /// Deletes a table (a missing table is `NotFound`).
    pub async fn delete(&self, table: &str) -> Result<()> {
        self.client
            .delete_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "delete_table", table))?;
        Ok(())
    }

    /// Turns on time-to-live expiry on a number attribute holding epoch seconds.
    pub async fn enable_ttl(&self, table: &str, attribute: &str) -> Result<()> {
        let spec = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name(attribute)
            .build()
            .map_err(|e| StoreError::invalid_input("bad TTL specification").with_source(e))?;
        self.client
            .update_time_to_live()
            .table_name(table)
            .time_to_live_specification(spec)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "enable_ttl", table))?;
        Ok(())
    }

    /// The TTL attribute, when time-to-live is enabled.
    pub async fn ttl_attribute(&self, table: &str) -> Result<Option<String>> {
        let out = self
            .client
            .describe_time_to_live()
            .table_name(table)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "describe_ttl", table))?;
        Ok(out
            .time_to_live_description()
            .filter(|d| {
                d.time_to_live_status() == Some(&aws_sdk_dynamodb::types::TimeToLiveStatus::Enabled)
            })
            .and_then(|d| d.attribute_name())
            .map(str::to_owned))
    }
}
