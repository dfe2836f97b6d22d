//! The portable search query tree and search request.

use crate::value::Value;

/// How the terms of a `match` query combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchOperator {
    /// Any term matches (the default).
    #[default]
    Or,
    /// Every term must match.
    And,
}

/// Bounds of a range query; unset bounds are open.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RangeBounds {
    /// Strictly greater than.
    pub gt: Option<Value>,
    /// Greater than or equal.
    pub gte: Option<Value>,
    /// Strictly less than.
    pub lt: Option<Value>,
    /// Less than or equal.
    pub lte: Option<Value>,
}

/// A search query, translated by each backend (to the query DSL on OpenSearch).
///
/// ```
/// use store_core::search::SearchQuery as Q;
/// let q = Q::bool()
///     .must(Q::matches("title", "rust database"))
///     .filter(Q::term("status", "published"))
///     .filter(Q::range("year").gte(2020))
///     .must_not(Q::exists("deleted_at"))
///     .build();
/// # let _ = q;
/// ```
// `Bool` is larger than the leaves; boxing it would make every query harder to build and match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Default)]
pub enum SearchQuery {
    /// Every document.
    #[default]
    MatchAll,
    /// Full-text: the analyzed text against an analyzed field.
    Match {
        /// The field.
        field: String,
        /// The text.
        text: String,
        /// How terms combine.
        operator: MatchOperator,
    },
    /// Full-text: the analyzed terms in this order, adjacent.
    MatchPhrase {
        /// The field.
        field: String,
        /// The phrase.
        text: String,
    },
    /// Exact value (not analyzed).
    Term {
        /// The field.
        field: String,
        /// The value.
        value: Value,
    },
    /// Any of these exact values.
    Terms {
        /// The field.
        field: String,
        /// The values.
        values: Vec<Value>,
    },
    /// Values within bounds.
    Range {
        /// The field.
        field: String,
        /// The bounds.
        bounds: RangeBounds,
    },
    /// Exact values starting with a prefix.
    Prefix {
        /// The field.
        field: String,
        /// The prefix.
        prefix: String,
    },
    /// The field has a value.
    Exists {
        /// The field.
        field: String,
    },
    /// A boolean combination.
    Bool(BoolQuery),
}

/// A boolean combination of queries.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BoolQuery {
    /// All must match; they score.
    pub must: Vec<SearchQuery>,
    /// Any may match; they score. With no `must`/`filter`, at least one must match.
    pub should: Vec<SearchQuery>,
    /// None may match.
    pub must_not: Vec<SearchQuery>,
    /// All must match; they do not score.
    pub filter: Vec<SearchQuery>,
}

impl BoolQuery {
    /// Adds a `must` clause.
    pub fn must(mut self, q: SearchQuery) -> Self {
        self.must.push(q);
        self
    }

    /// Adds a `should` clause.
    pub fn should(mut self, q: SearchQuery) -> Self {
        self.should.push(q);
        self
    }

    /// Adds a `must_not` clause.
    pub fn must_not(mut self, q: SearchQuery) -> Self {
        self.must_not.push(q);
        self
    }

    /// Adds a `filter` clause.
    pub fn filter(mut self, q: SearchQuery) -> Self {
        self.filter.push(q);
        self
    }

    /// Finishes the boolean query.
    pub fn build(self) -> SearchQuery {
        SearchQuery::Bool(self)
    }
}

/// A range query under construction.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeBuilder {
    field: String,
    bounds: RangeBounds,
}

impl RangeBuilder {
    /// `> v`
    pub fn gt(mut self, v: impl Into<Value>) -> SearchQuery {
        self.bounds.gt = Some(v.into());
        self.into()
    }

    /// `>= v`
    pub fn gte(mut self, v: impl Into<Value>) -> SearchQuery {
        self.bounds.gte = Some(v.into());
        self.into()
    }

    /// `< v`
    pub fn lt(mut self, v: impl Into<Value>) -> SearchQuery {
        self.bounds.lt = Some(v.into());
        self.into()
    }

    /// `<= v`
    pub fn lte(mut self, v: impl Into<Value>) -> SearchQuery {
        self.bounds.lte = Some(v.into());
        self.into()
    }

    /// Both bounds given at once.
    pub fn bounds(mut self, bounds: RangeBounds) -> SearchQuery {
        self.bounds = bounds;
        self.into()
    }
}

impl From<RangeBuilder> for SearchQuery {
    fn from(b: RangeBuilder) -> Self {
        SearchQuery::Range {
            field: b.field,
            bounds: b.bounds,
        }
    }
}

impl SearchQuery {
    /// Full-text match, any term.
    pub fn matches(field: impl Into<String>, text: impl Into<String>) -> Self {
        SearchQuery::Match {
            field: field.into(),
            text: text.into(),
            operator: MatchOperator::Or,
        }
    }

    /// Full-text match, every term.
    pub fn matches_all(field: impl Into<String>, text: impl Into<String>) -> Self {
        SearchQuery::Match {
            field: field.into(),
            text: text.into(),
            operator: MatchOperator::And,
        }
    }

    /// Phrase match.
    pub fn phrase(field: impl Into<String>, text: impl Into<String>) -> Self {
        SearchQuery::MatchPhrase {
            field: field.into(),
            text: text.into(),
        }
    }

    /// Exact value.
    pub fn term(field: impl Into<String>, value: impl Into<Value>) -> Self {
        SearchQuery::Term {
            field: field.into(),
            value: value.into(),
        }
    }

    /// Any of these exact values.
    pub fn terms<V: Into<Value>>(
        field: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        SearchQuery::Terms {
            field: field.into(),
            values: values.into_iter().map(Into::into).collect(),
        }
    }

    /// A range; finish with `gt`, `gte`, `lt`, `lte` or `bounds`.
    pub fn range(field: impl Into<String>) -> RangeBuilder {
        RangeBuilder {
            field: field.into(),
            bounds: RangeBounds::default(),
        }
    }

    /// Exact values with a prefix.
    pub fn prefix(field: impl Into<String>, prefix: impl Into<String>) -> Self {
        SearchQuery::Prefix {
            field: field.into(),
            prefix: prefix.into(),
        }
    }

    /// The field has a value.
    pub fn exists(field: impl Into<String>) -> Self {
        SearchQuery::Exists {
            field: field.into(),
        }
    }

    /// Starts a boolean query.
    pub fn bool() -> BoolQuery {
        BoolQuery::default()
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// One sort key of a search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortField {
    /// By relevance score.
    Score(SortOrder),
    /// By a field's exact value (keyword, number, date, bool).
    Field(String, SortOrder),
}

impl SortField {
    /// Ascending by a field.
    pub fn asc(field: impl Into<String>) -> Self {
        SortField::Field(field.into(), SortOrder::Asc)
    }

    /// Descending by a field.
    pub fn desc(field: impl Into<String>) -> Self {
        SortField::Field(field.into(), SortOrder::Desc)
    }
}

/// A search: the query, sort, page and an optional `search_after` position.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRequest {
    /// What to find.
    pub query: SearchQuery,
    /// How to order hits; empty means by score, descending.
    pub sort: Vec<SortField>,
    /// How many hits to return (default 10).
    pub size: usize,
    /// How many hits to skip (from + size must stay within 10,000).
    pub from: usize,
    /// Continue after the hit with these sort values (from a previous hit's `sort`).
    pub search_after: Option<Vec<Value>>,
}

impl Default for SearchRequest {
    fn default() -> Self {
        Self {
            query: SearchQuery::MatchAll,
            sort: Vec::new(),
            size: 10,
            from: 0,
            search_after: None,
        }
    }
}

/// The deepest page `from + size` may reach, as in OpenSearch's default `max_result_window`.
pub const MAX_RESULT_WINDOW: usize = 10_000;

impl SearchRequest {
    /// A request for `query` with default sort and size.
    pub fn new(query: SearchQuery) -> Self {
        Self {
            query,
            ..Self::default()
        }
    }

    /// Adds a sort key.
    pub fn sort(mut self, field: SortField) -> Self {
        self.sort.push(field);
        self
    }

    /// Sets the page size.
    pub fn size(mut self, size: usize) -> Self {
        self.size = size;
        self
    }

    /// Skips hits.
    pub fn from(mut self, from: usize) -> Self {
        self.from = from;
        self
    }

    /// Continues after a previous hit's sort values.
    pub fn search_after(mut self, values: Vec<Value>) -> Self {
        self.search_after = Some(values);
        self
    }

    /// Checks the paging limits shared by every backend.
    pub fn validate(&self) -> crate::Result<()> {
        if self.from.saturating_add(self.size) > MAX_RESULT_WINDOW {
            return Err(crate::StoreError::invalid_input(format!(
                "from + size = {} exceeds the result window of {MAX_RESULT_WINDOW}; iterate with search_after instead",
                self.from.saturating_add(self.size)
            )));
        }
        if self.search_after.is_some() && self.from > 0 {
            return Err(crate::StoreError::invalid_input(
                "search_after cannot be combined with from",
            ));
        }
        if let Some(after) = &self.search_after
            && after.len() != self.sort.len()
        {
            return Err(crate::StoreError::invalid_input(format!(
                "search_after has {} values but the sort has {} keys",
                after.len(),
                self.sort.len()
            )));
        }
        Ok(())
    }
}
