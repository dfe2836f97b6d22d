//! [`Document`]: an ordered map of field names to values.

use indexmap::IndexMap;

use super::Value;

/// An ordered map of field name to [`Value`]: an item, a row or a search hit's source.
///
/// Fields keep the order they were inserted in; equality ignores order, since DynamoDB and
/// OpenSearch do not keep it.
///
/// ```
/// use store_core::{Document, Value};
/// let mut doc = Document::new();
/// doc.insert("id", "u1");
/// doc.insert("age", 42);
/// assert_eq!(doc.get("age").and_then(Value::as_i64), Some(42));
/// assert_eq!(doc.keys().collect::<Vec<_>>(), ["id", "age"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Document(IndexMap<String, Value, Names>);

/// How field names are hashed: foldhash, seeded per process; SipHash, the standard default,
/// is several times slower on names as short as columns' and attributes'.
type Names = foldhash::fast::RandomState;

impl Document {
    /// An empty document.
    pub fn new() -> Self {
        Self(IndexMap::default())
    }

    /// An empty document with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        Self(IndexMap::with_capacity_and_hasher(n, Names::default()))
    }

    /// Sets a field, returning the previous value.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        self.0.insert(name.into(), value.into())
    }

    /// Builder form of [`insert`](Self::insert).
    pub fn with(mut self, name: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(name, value);
        self
    }

    /// A field's value.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.0.get(name)
    }

    /// A mutable reference to a field's value.
    pub fn get_mut(&mut self, name: &str) -> Option<&mut Value> {
        self.0.get_mut(name)
    }

    /// Removes a field, keeping the order of the others.
    pub fn remove(&mut self, name: &str) -> Option<Value> {
        self.0.shift_remove(name)
    }

    /// Whether the field is present.
    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no fields.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Field names in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Fields in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Mutable fields in order.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&str, &mut Value)> {
        self.0.iter_mut().map(|(k, v)| (k.as_str(), v))
    }

    /// Keeps only the named fields (a projection), in the document's order.
    pub fn project<S: AsRef<str>>(&self, fields: &[S]) -> Document {
        self.iter()
            .filter(|(k, _)| fields.iter().any(|f| f.as_ref() == *k))
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    /// A size estimate in bytes, close to how DynamoDB counts item size.
    pub fn approximate_size(&self) -> usize {
        self.iter()
            .map(|(k, v)| k.len() + v.approximate_size())
            .sum()
    }
}

impl FromIterator<(String, Value)> for Document {
    fn from_iter<I: IntoIterator<Item = (String, Value)>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

impl IntoIterator for Document {
    type Item = (String, Value);
    type IntoIter = indexmap::map::IntoIter<String, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Extend<(String, Value)> for Document {
    fn extend<I: IntoIterator<Item = (String, Value)>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl std::hash::Hash for Document {
    /// Order-independent, to agree with equality.
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let mut combined: u64 = 0;
        for (k, v) in &self.0 {
            let mut h = FixedHasher::default();
            k.hash(&mut h);
            v.hash(&mut h);
            combined = combined.wrapping_add(std::hash::Hasher::finish(&h));
        }
        self.0.len().hash(state);
        combined.hash(state);
    }
}

/// FNV-1a, deterministic, used to hash fields independently of their order.
#[derive(Default)]
struct FixedHasher(u64);

impl std::hash::Hasher for FixedHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}
