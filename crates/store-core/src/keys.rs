//! Validated names and keys: [`ObjectKey`], [`TableName`], [`IndexName`], [`KeySchema`], [`DocKey`].

use std::fmt;

use bytes::Bytes;

use crate::error::StoreError;
use crate::value::{Document, Number, Value};

/// The longest object key S3 accepts, in bytes of UTF-8.
pub const MAX_OBJECT_KEY_BYTES: usize = 1024;

/// A validated object key: non-empty UTF-8 of at most 1,024 bytes, without NUL.
///
/// ```
/// use store_core::ObjectKey;
/// assert!(ObjectKey::new("photos/2024/cat.jpg").is_ok());
/// assert!(ObjectKey::new("").is_err());
/// assert!(ObjectKey::new("a".repeat(1025)).is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Validates and wraps a key.
    pub fn new(key: impl Into<String>) -> Result<Self, StoreError> {
        let key = key.into();
        if key.is_empty() {
            return Err(StoreError::invalid_input("object key is empty"));
        }
        if key.len() > MAX_OBJECT_KEY_BYTES {
            return Err(StoreError::invalid_input(format!(
                "object key is {} bytes long; at most {MAX_OBJECT_KEY_BYTES} bytes of UTF-8 are allowed",
                key.len()
            )));
        }
        if key.contains('\0') {
            return Err(StoreError::invalid_input(
                "object key contains a NUL character",
            ));
        }
        Ok(Self(key))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ObjectKey {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for ObjectKey {
    type Error = StoreError;
    fn try_from(s: &str) -> Result<Self, StoreError> {
        Self::new(s)
    }
}

impl TryFrom<String> for ObjectKey {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self, StoreError> {
        Self::new(s)
    }
}

/// A validated table name: 3 to 255 characters of `a-z A-Z 0-9 _ - .` (DynamoDB's rule,
/// which PostgreSQL identifiers quoted also accept).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName(String);

impl TableName {
    /// Validates and wraps a table name.
    pub fn new(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        if !(3..=255).contains(&name.len()) {
            return Err(StoreError::invalid_input(format!(
                "table name `{}` must be 3 to 255 characters long",
                name.chars().take(64).collect::<String>()
            )));
        }
        if let Some(bad) = name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
        {
            return Err(StoreError::invalid_input(format!(
                "table name `{name}` contains `{bad}`; use letters, digits, `_`, `-` and `.`"
            )));
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A validated search index name, by OpenSearch's rules: non-empty, lowercase, at most 255
/// bytes, not `.` or `..`, not starting with `-`, `_` or `+`, and none of `\ / * ? " < > | , #`,
/// space or `:`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IndexName(String);

impl IndexName {
    /// Validates and wraps an index name.
    pub fn new(name: impl Into<String>) -> Result<Self, StoreError> {
        let name = name.into();
        let reject = |why: &str| {
            Err(StoreError::invalid_input(format!(
                "index name `{}` {why}",
                name.chars().take(64).collect::<String>()
            )))
        };
        if name.is_empty() {
            return reject("is empty");
        }
        if name.len() > 255 {
            return reject("is longer than 255 bytes");
        }
        if name == "." || name == ".." {
            return reject("is reserved");
        }
        if name.starts_with(['-', '_', '+']) {
            return reject("must not start with `-`, `_` or `+`");
        }
        if name.chars().any(|c| c.is_uppercase()) {
            return reject("must be lowercase");
        }
        if let Some(bad) = name.chars().find(|c| {
            matches!(
                c,
                '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ',' | '#' | ' ' | ':'
            )
        }) {
            return reject(&format!("contains the forbidden character `{bad}`"));
        }
        Ok(Self(name))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for IndexName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// Text (DynamoDB `S`).
    String,
    /// An exact number (DynamoDB `N`).
    Number,
    /// Bytes (DynamoDB `B`).
    Bytes,
}

impl KeyType {
    fn name(self) -> &'static str {
        match self {
            KeyType::String => "string",
            KeyType::Number => "number",
            KeyType::Bytes => "bytes",
        }
    }
}

/// One key attribute: its name and type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyAttribute {
    /// The attribute name.
    pub name: String,
    /// The attribute type.
    pub key_type: KeyType,
}

impl KeyAttribute {
    /// A key attribute.
    pub fn new(name: impl Into<String>, key_type: KeyType) -> Self {
        Self {
            name: name.into(),
            key_type,
        }
    }
}

/// A table's primary key: a partition attribute and an optional sort attribute.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeySchema {
    /// The partition (hash) key.
    pub partition: KeyAttribute,
    /// The sort (range) key, if the table has one.
    pub sort: Option<KeyAttribute>,
}

impl KeySchema {
    /// A schema with only a partition key.
    pub fn partition(name: impl Into<String>, key_type: KeyType) -> Self {
        Self {
            partition: KeyAttribute::new(name, key_type),
            sort: None,
        }
    }

    /// Adds a sort key.
    pub fn with_sort(mut self, name: impl Into<String>, key_type: KeyType) -> Self {
        self.sort = Some(KeyAttribute::new(name, key_type));
        self
    }

    /// Checks a key against the schema: types match, string and bytes values are not empty,
    /// and a sort value is given exactly when the table has a sort key.
    pub fn validate(&self, key: &DocKey) -> Result<(), StoreError> {
        check_key_type(&self.partition, &key.partition)?;
        key.partition.check_not_empty(&self.partition.name)?;
        match (&self.sort, &key.sort) {
            (None, None) => Ok(()),
            (Some(attr), Some(value)) => {
                check_key_type(attr, value)?;
                value.check_not_empty(&attr.name)
            }
            (None, Some(_)) => Err(StoreError::invalid_input(format!(
                "a sort key was given, but the table's key is only `{}`",
                self.partition.name
            ))),
            (Some(attr), None) => Err(StoreError::invalid_input(format!(
                "the table has the sort key `{}`, but the key gives no value for it",
                attr.name
            ))),
        }
    }

    /// Reads the key out of an item; fails naming the missing or mistyped attribute.
    pub fn key_of(&self, item: &Document) -> Result<DocKey, StoreError> {
        let read = |attr: &KeyAttribute| -> Result<KeyValue, StoreError> {
            let value = item.get(&attr.name).ok_or_else(|| {
                StoreError::invalid_input(format!("the item has no key attribute `{}`", attr.name))
            })?;
            KeyValue::from_value(value, attr)
        };
        Ok(DocKey {
            partition: read(&self.partition)?,
            sort: self.sort.as_ref().map(read).transpose()?,
        })
    }

    /// The key as the attributes it names, for building items and expressions.
    pub fn key_document(&self, key: &DocKey) -> Document {
        let mut doc = Document::with_capacity(2);
        doc.insert(self.partition.name.clone(), key.partition.to_value());
        if let (Some(attr), Some(value)) = (&self.sort, &key.sort) {
            doc.insert(attr.name.clone(), value.to_value());
        }
        doc
    }

    /// Whether `name` is one of the key attributes.
    pub fn is_key_attribute(&self, name: &str) -> bool {
        self.partition.name == name || self.sort.as_ref().is_some_and(|s| s.name == name)
    }
}

fn check_key_type(attr: &KeyAttribute, value: &KeyValue) -> Result<(), StoreError> {
    if value.key_type() == attr.key_type {
        Ok(())
    } else {
        Err(StoreError::invalid_input(format!(
            "key attribute `{}` is a {}, but a {} was given",
            attr.name,
            attr.key_type.name(),
            value.key_type().name()
        )))
    }
}

/// One key attribute's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyValue {
    /// A string key; must not be empty.
    String(String),
    /// A number key.
    Number(Number),
    /// A bytes key; must not be empty.
    Bytes(Bytes),
}

impl KeyValue {
    /// The type of this value.
    pub fn key_type(&self) -> KeyType {
        match self {
            KeyValue::String(_) => KeyType::String,
            KeyValue::Number(_) => KeyType::Number,
            KeyValue::Bytes(_) => KeyType::Bytes,
        }
    }

    /// As a [`Value`].
    pub fn to_value(&self) -> Value {
        match self {
            KeyValue::String(s) => Value::String(s.clone()),
            KeyValue::Number(n) => Value::Number(n.clone()),
            KeyValue::Bytes(b) => Value::Bytes(b.clone()),
        }
    }

    fn from_value(value: &Value, attr: &KeyAttribute) -> Result<Self, StoreError> {
        let key = match value {
            Value::String(s) => KeyValue::String(s.clone()),
            Value::Number(n) => KeyValue::Number(n.clone()),
            Value::Bytes(b) => KeyValue::Bytes(b.clone()),
            other => {
                return Err(StoreError::invalid_input(format!(
                    "key attribute `{}` must be a {}, got a {}",
                    attr.name,
                    attr.key_type.name(),
                    other.type_name()
                )));
            }
        };
        check_key_type(attr, &key)?;
        key.check_not_empty(&attr.name)?;
        Ok(key)
    }

    fn check_not_empty(&self, name: &str) -> Result<(), StoreError> {
        let empty = match self {
            KeyValue::String(s) => s.is_empty(),
            KeyValue::Bytes(b) => b.is_empty(),
            KeyValue::Number(_) => false,
        };
        if empty {
            Err(StoreError::invalid_input(format!(
                "key attribute `{name}` is empty"
            )))
        } else {
            Ok(())
        }
    }
}

impl fmt::Display for KeyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyValue::String(s) => f.write_str(s),
            KeyValue::Number(n) => write!(f, "{n}"),
            KeyValue::Bytes(b) => write!(f, "<{} bytes>", b.len()),
        }
    }
}

impl From<&str> for KeyValue {
    fn from(s: &str) -> Self {
        KeyValue::String(s.to_owned())
    }
}

impl From<String> for KeyValue {
    fn from(s: String) -> Self {
        KeyValue::String(s)
    }
}

impl From<i64> for KeyValue {
    fn from(n: i64) -> Self {
        KeyValue::Number(n.into())
    }
}

impl From<Number> for KeyValue {
    fn from(n: Number) -> Self {
        KeyValue::Number(n)
    }
}

impl From<Bytes> for KeyValue {
    fn from(b: Bytes) -> Self {
        KeyValue::Bytes(b)
    }
}

/// A document's primary key: a partition value and, for tables with a sort key, a sort value.
///
/// ```
/// use store_core::DocKey;
/// let user = DocKey::partition("user#42");
/// let order = DocKey::partition("user#42").with_sort(7);
/// assert_eq!(order.to_string(), "user#42/7");
/// # let _ = user;
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocKey {
    /// The partition value.
    pub partition: KeyValue,
    /// The sort value, if the table has a sort key.
    pub sort: Option<KeyValue>,
}

impl DocKey {
    /// A key with only a partition value.
    pub fn partition(value: impl Into<KeyValue>) -> Self {
        Self {
            partition: value.into(),
            sort: None,
        }
    }

    /// Adds a sort value.
    pub fn with_sort(mut self, value: impl Into<KeyValue>) -> Self {
        self.sort = Some(value.into());
        self
    }
}

impl fmt::Display for DocKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.sort {
            Some(sort) => write!(f, "{}/{sort}", self.partition),
            None => write!(f, "{}", self.partition),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_keys_are_bounded_in_bytes_not_chars() {
        assert!(ObjectKey::new("é".repeat(512)).is_ok());
        assert!(ObjectKey::new("é".repeat(513)).is_err());
        assert!(ObjectKey::new("a\0b").is_err());
    }

    #[test]
    fn index_names_follow_opensearch_rules() {
        assert!(IndexName::new("logs-2024.01").is_ok());
        for bad in ["", "Logs", "_x", "-x", "a b", "a/b", "a*", ".", "a:b"] {
            assert!(IndexName::new(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn table_names_follow_dynamodb_rules() {
        assert!(TableName::new("users.v2_x-y").is_ok());
        assert!(TableName::new("ab").is_err());
        assert!(TableName::new("has space").is_err());
    }

    #[test]
    fn schema_rejects_sort_value_on_table_without_one() {
        let schema = KeySchema::partition("id", KeyType::String);
        let err = schema
            .validate(&DocKey::partition("a").with_sort(1))
            .unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
        assert!(err.message().contains("sort key"));
        let with_sort = schema.clone().with_sort("n", KeyType::Number);
        assert!(with_sort.validate(&DocKey::partition("a")).is_err());
        assert!(
            with_sort
                .validate(&DocKey::partition("a").with_sort("x"))
                .is_err()
        );
        assert!(
            with_sort
                .validate(&DocKey::partition("a").with_sort(2))
                .is_ok()
        );
        assert!(
            with_sort
                .validate(&DocKey::partition("").with_sort(2))
                .is_err()
        );
    }

    #[test]
    fn key_of_reads_and_checks_item_keys() {
        let schema = KeySchema::partition("id", KeyType::String);
        let item = Document::new().with("id", "");
        assert!(schema.key_of(&item).is_err());
        let item = Document::new().with("id", 5);
        assert!(schema.key_of(&item).is_err());
        let item = Document::new().with("id", "u1").with("x", 1);
        assert_eq!(schema.key_of(&item).unwrap(), DocKey::partition("u1"));
    }
}
