//! Typed condition and update trees for documents, translated by each adapter.
//!
//! Nothing here is ever spliced into an expression string: adapters bind every name and value
//! as a placeholder, so reserved words and names with dots, dashes or spaces just work.

use crate::value::Value;

/// One step of a [`Path`]: a field of a map, or an element of a list.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathSegment {
    /// A map field, by its exact name (dots in it are part of the name).
    Field(String),
    /// A list element, by position.
    Index(usize),
}

/// Where an attribute lives in a document: a top-level name, then fields and list indexes.
///
/// ```
/// use store_core::document::Path;
/// let p = Path::attr("address").field("zip.code").index(0);
/// assert_eq!(p.to_string(), "address.`zip.code`[0]");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Path(Vec<PathSegment>);

impl Path {
    /// A top-level attribute, by its exact name.
    pub fn attr(name: impl Into<String>) -> Self {
        Self(vec![PathSegment::Field(name.into())])
    }

    /// Descends into a map field.
    pub fn field(mut self, name: impl Into<String>) -> Self {
        self.0.push(PathSegment::Field(name.into()));
        self
    }

    /// Descends into a list element.
    pub fn index(mut self, index: usize) -> Self {
        self.0.push(PathSegment::Index(index));
        self
    }

    /// The segments, first to last.
    pub fn segments(&self) -> &[PathSegment] {
        &self.0
    }

    /// The top-level attribute name.
    pub fn top(&self) -> &str {
        match self.0.first() {
            Some(PathSegment::Field(name)) => name,
            _ => "",
        }
    }

    /// Compares with a value: `path = value`.
    pub fn eq(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Eq, value)
    }

    /// `path <> value`.
    pub fn ne(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Ne, value)
    }

    /// `path < value`.
    pub fn lt(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Lt, value)
    }

    /// `path <= value`.
    pub fn le(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Le, value)
    }

    /// `path > value`.
    pub fn gt(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Gt, value)
    }

    /// `path >= value`.
    pub fn ge(self, value: impl Into<Value>) -> Condition {
        self.compare(CompareOp::Ge, value)
    }

    fn compare(self, op: CompareOp, value: impl Into<Value>) -> Condition {
        Condition::Compare {
            path: self,
            op,
            value: value.into(),
        }
    }

    /// The attribute exists.
    pub fn exists(self) -> Condition {
        Condition::Exists(self)
    }

    /// The attribute does not exist.
    pub fn not_exists(self) -> Condition {
        Condition::NotExists(self)
    }

    /// The string (or bytes) attribute starts with `prefix`.
    pub fn begins_with(self, prefix: impl Into<Value>) -> Condition {
        Condition::BeginsWith(self, prefix.into())
    }

    /// `low <= path <= high`.
    pub fn between(self, low: impl Into<Value>, high: impl Into<Value>) -> Condition {
        Condition::Between(self, low.into(), high.into())
    }

    /// A string contains a substring, or a set or list contains an element.
    pub fn contains(self, value: impl Into<Value>) -> Condition {
        Condition::Contains(self, value.into())
    }

    /// The attribute equals one of `values`.
    pub fn is_in(self, values: impl IntoIterator<Item = impl Into<Value>>) -> Condition {
        Condition::In(self, values.into_iter().map(Into::into).collect())
    }

    /// The attribute's size: string length in bytes, bytes length, or element count.
    pub fn size(self) -> SizeOf {
        SizeOf(self)
    }
}

impl std::fmt::Display for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                PathSegment::Field(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    if name.chars().all(|c| c.is_alphanumeric() || c == '_') && !name.is_empty() {
                        f.write_str(name)?;
                    } else {
                        write!(f, "`{name}`")?;
                    }
                }
                PathSegment::Index(idx) => write!(f, "[{idx}]")?,
            }
        }
        Ok(())
    }
}

impl From<&str> for Path {
    fn from(name: &str) -> Self {
        Path::attr(name)
    }
}

impl From<String> for Path {
    fn from(name: String) -> Self {
        Path::attr(name)
    }
}

/// Shorthand for [`Path::attr`].
pub fn attr(name: impl Into<String>) -> Path {
    Path::attr(name)
}

/// The size of an attribute, to compare with a number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SizeOf(Path);

impl SizeOf {
    fn compare(self, op: CompareOp, n: u64) -> Condition {
        Condition::Size {
            path: self.0,
            op,
            value: n,
        }
    }

    /// `size(path) = n`.
    pub fn eq(self, n: u64) -> Condition {
        self.compare(CompareOp::Eq, n)
    }

    /// `size(path) < n`.
    pub fn lt(self, n: u64) -> Condition {
        self.compare(CompareOp::Lt, n)
    }

    /// `size(path) <= n`.
    pub fn le(self, n: u64) -> Condition {
        self.compare(CompareOp::Le, n)
    }

    /// `size(path) > n`.
    pub fn gt(self, n: u64) -> Condition {
        self.compare(CompareOp::Gt, n)
    }

    /// `size(path) >= n`.
    pub fn ge(self, n: u64) -> Condition {
        self.compare(CompareOp::Ge, n)
    }
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as DynamoDB and SQL write it.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A condition on a document, for conditional writes and filters.
///
/// ```
/// use store_core::document::{attr, Condition};
/// let cond = attr("status").eq("active").and(attr("age").ge(18)).and(attr("deleted").not_exists());
/// assert!(matches!(cond, Condition::And(ref parts) if parts.len() == 3));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The attribute exists.
    Exists(Path),
    /// The attribute does not exist.
    NotExists(Path),
    /// The attribute compares with a value (same type only, as in DynamoDB).
    Compare {
        /// The attribute.
        path: Path,
        /// The operator.
        op: CompareOp,
        /// The value compared with.
        value: Value,
    },
    /// The attribute's size compares with a number.
    Size {
        /// The attribute.
        path: Path,
        /// The operator.
        op: CompareOp,
        /// The size compared with.
        value: u64,
    },
    /// The string or bytes attribute starts with a prefix.
    BeginsWith(Path, Value),
    /// The attribute lies between two values, inclusive.
    Between(Path, Value, Value),
    /// A string contains a substring, or a set or list contains an element.
    Contains(Path, Value),
    /// The attribute equals one of the values.
    In(Path, Vec<Value>),
    /// All hold.
    And(Vec<Condition>),
    /// At least one holds.
    Or(Vec<Condition>),
    /// The inner condition does not hold.
    Not(Box<Condition>),
}

impl Condition {
    /// Both this and `other` hold (flattens nested `And`s).
    pub fn and(self, other: Condition) -> Condition {
        match self {
            Condition::And(mut parts) => {
                parts.push(other);
                Condition::And(parts)
            }
            first => Condition::And(vec![first, other]),
        }
    }

    /// This or `other` holds (flattens nested `Or`s).
    pub fn or(self, other: Condition) -> Condition {
        match self {
            Condition::Or(mut parts) => {
                parts.push(other);
                Condition::Or(parts)
            }
            first => Condition::Or(vec![first, other]),
        }
    }

    /// The negation.
    #[allow(clippy::should_implement_trait)]
    pub fn not(self) -> Condition {
        Condition::Not(Box::new(self))
    }
}

/// How a `set` action computes its value.
#[derive(Debug, Clone, PartialEq)]
pub enum SetValue {
    /// Exactly this value.
    Value(Value),
    /// This value only if the attribute does not exist yet (DynamoDB `if_not_exists`).
    IfNotExists(Value),
}

/// One action of an [`Update`].
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    /// Sets the attribute.
    Set(Path, SetValue),
    /// Removes the attribute.
    Remove(Path),
    /// Adds to a number (creating it from 0), or adds elements to a set (creating it).
    Add(Path, Value),
    /// Removes elements from a set; the attribute is removed when the set becomes empty.
    DeleteFromSet(Path, Value),
    /// Appends elements to a list (creating it when missing).
    Append(Path, Vec<Value>),
}

/// A list of update actions, applied together and atomically.
///
/// ```
/// use store_core::document::Update;
/// use store_core::StringSet;
/// let update = Update::new()
///     .set("status", "shipped")
///     .add("count", 1)
///     .remove("draft")
///     .append("history", vec!["shipped"])
///     .set_if_not_exists("created", "2024-01-01");
/// assert_eq!(update.actions().len(), 5);
/// ```
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Update(Vec<UpdateAction>);

impl Update {
    /// An empty update.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets an attribute.
    pub fn set(mut self, path: impl Into<Path>, value: impl Into<Value>) -> Self {
        self.0.push(UpdateAction::Set(
            path.into(),
            SetValue::Value(value.into()),
        ));
        self
    }

    /// Sets an attribute only if it does not exist yet.
    pub fn set_if_not_exists(mut self, path: impl Into<Path>, value: impl Into<Value>) -> Self {
        self.0.push(UpdateAction::Set(
            path.into(),
            SetValue::IfNotExists(value.into()),
        ));
        self
    }

    /// Removes an attribute.
    pub fn remove(mut self, path: impl Into<Path>) -> Self {
        self.0.push(UpdateAction::Remove(path.into()));
        self
    }

    /// Adds a number to a number attribute, or elements (a set value) to a set attribute.
    pub fn add(mut self, path: impl Into<Path>, value: impl Into<Value>) -> Self {
        self.0.push(UpdateAction::Add(path.into(), value.into()));
        self
    }

    /// Removes the elements of a set value from a set attribute.
    pub fn delete_from_set(mut self, path: impl Into<Path>, value: impl Into<Value>) -> Self {
        self.0
            .push(UpdateAction::DeleteFromSet(path.into(), value.into()));
        self
    }

    /// Appends elements to a list attribute.
    pub fn append<V: Into<Value>>(
        mut self,
        path: impl Into<Path>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.0.push(UpdateAction::Append(
            path.into(),
            values.into_iter().map(Into::into).collect(),
        ));
        self
    }

    /// The actions in order.
    pub fn actions(&self) -> &[UpdateAction] {
        &self.0
    }

    /// Whether there are no actions.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A condition on the sort key in a [`Query`](super::Query).
#[derive(Debug, Clone, PartialEq)]
pub enum SortCondition {
    /// `sort = v`
    Eq(Value),
    /// `sort < v`
    Lt(Value),
    /// `sort <= v`
    Le(Value),
    /// `sort > v`
    Gt(Value),
    /// `sort >= v`
    Ge(Value),
    /// `low <= sort <= high`
    Between(Value, Value),
    /// The string or bytes sort key starts with a prefix.
    BeginsWith(Value),
}
