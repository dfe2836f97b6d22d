//! What a collection looks like, as far as copying it needs: its kind, name and keys, and for
//! a table its columns. Archives store it as `schema/<collection>.json`.

use serde::{Deserialize, Serialize};
use store_core::{KeyAttribute, KeyType};

/// The shape of one collection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CollectionSchema {
    /// A table of keyed documents (DynamoDB and its stand-ins).
    Documents {
        /// The table's name.
        name: String,
        /// The partition key.
        partition_key: KeyField,
        /// The sort key, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sort_key: Option<KeyField>,
    },
    /// A SQL table.
    Table {
        /// The table's name as given (possibly schema-qualified).
        name: String,
        /// The SQL dialect its column types are written in (`postgres`, `sqlite`).
        dialect: String,
        /// The columns, in table order.
        columns: Vec<Column>,
        /// The primary key's columns, in key order.
        primary_key: Vec<String>,
        /// How the table was created beyond its columns (SQLite's `STRICT`, `WITHOUT
        /// ROWID`); absent when none.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        options: Vec<TableOption>,
    },
    /// A search index.
    Search {
        /// The index's name.
        name: String,
        /// The fields that make a document's key; empty when the key is the document id.
        #[serde(default)]
        key_fields: Vec<String>,
    },
    /// Objects under a prefix: a listing (key, size, content type, metadata, SHA-256) whose
    /// bodies are archived as content-addressed blobs.
    Objects {
        /// What to call the collection (e.g. the bucket and prefix).
        name: String,
    },
}

impl CollectionSchema {
    /// The collection's name.
    pub fn name(&self) -> &str {
        match self {
            Self::Documents { name, .. }
            | Self::Table { name, .. }
            | Self::Search { name, .. }
            | Self::Objects { name } => name,
        }
    }

    /// The names of the key attributes, in key order (`["_id"]` for a search index keyed by id).
    pub fn key_names(&self) -> Vec<String> {
        match self {
            Self::Documents {
                partition_key,
                sort_key,
                ..
            } => std::iter::once(partition_key.name.clone())
                .chain(sort_key.iter().map(|k| k.name.clone()))
                .collect(),
            Self::Table { primary_key, .. } => primary_key.clone(),
            Self::Search { key_fields, .. } if key_fields.is_empty() => vec!["_id".to_owned()],
            Self::Search { key_fields, .. } => key_fields.clone(),
            Self::Objects { .. } => vec!["key".to_owned()],
        }
    }

    /// A short name of the kind, for messages: `documents`, `table`, `search` or `objects`.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Self::Documents { .. } => "documents",
            Self::Table { .. } => "table",
            Self::Search { .. } => "search",
            Self::Objects { .. } => "objects",
        }
    }
}

/// A key attribute of a document table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyField {
    /// The attribute's name.
    pub name: String,
    /// Its type: `S` (text), `N` (number) or `B` (bytes), as DynamoDB writes them.
    #[serde(rename = "type")]
    pub key_type: String,
}

impl KeyField {
    /// The key field of a store-core key attribute.
    pub fn from_attribute(attribute: &KeyAttribute) -> Self {
        let key_type = match attribute.key_type {
            KeyType::String => "S",
            KeyType::Number => "N",
            KeyType::Bytes => "B",
        };
        Self {
            name: attribute.name.clone(),
            key_type: key_type.to_owned(),
        }
    }

    /// The store-core key attribute, or `None` for an unknown type letter.
    pub fn to_attribute(&self) -> Option<KeyAttribute> {
        let key_type = match self.key_type.as_str() {
            "S" => KeyType::String,
            "N" => KeyType::Number,
            "B" => KeyType::Bytes,
            _ => return None,
        };
        Some(KeyAttribute::new(self.name.clone(), key_type))
    }
}

/// A SQLite table option, kept so that a table created from the schema is created alike.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TableOption {
    /// `STRICT`: every column's type is enforced.
    Strict,
    /// `WITHOUT ROWID`: the rows are stored in their primary key's order.
    WithoutRowid,
}

impl TableOption {
    /// The option as `CREATE TABLE … (…) <option>` writes it.
    pub fn sql(self) -> &'static str {
        match self {
            TableOption::Strict => "STRICT",
            TableOption::WithoutRowid => "WITHOUT ROWID",
        }
    }
}

/// A SQL column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Column {
    /// The column's name.
    pub name: String,
    /// Its declared type, in the table's dialect (e.g. `numeric(38,0)`, `TEXT`).
    #[serde(rename = "type")]
    pub sql_type: String,
    /// Whether it accepts NULL.
    pub nullable: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_options_are_written_only_when_a_table_has_some() {
        let plain =
            r#"{"kind":"table","name":"t","dialect":"sqlite","columns":[],"primary_key":["id"]}"#;
        let schema: CollectionSchema = serde_json::from_str(plain).unwrap();
        assert_eq!(serde_json::to_string(&schema).unwrap(), plain);
        let strict = r#"{"kind":"table","name":"t","dialect":"sqlite","columns":[],"primary_key":["id"],"options":["STRICT","WITHOUT_ROWID"]}"#;
        let schema: CollectionSchema = serde_json::from_str(strict).unwrap();
        let CollectionSchema::Table { options, .. } = &schema else {
            panic!("a table");
        };
        assert_eq!(options, &[TableOption::Strict, TableOption::WithoutRowid]);
        assert_eq!(serde_json::to_string(&schema).unwrap(), strict);
        let unknown = strict.replace("STRICT", "TEMP; DROP TABLE x");
        assert!(serde_json::from_str::<CollectionSchema>(&unknown).is_err());
    }
}
