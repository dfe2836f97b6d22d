//! The portable search query tree as a SQL condition with bound parameters, portable between
//! PostgreSQL and SQLite.

use store_core::search::{BoolQuery, MatchOperator, RangeBounds, SearchQuery};
use store_core::sql::quote_ident;
use store_core::{Result, StoreError, Value};

/// A SQL condition being built: its text and the parameters its `$n` placeholders bind.
#[derive(Debug, Default)]
pub(crate) struct Condition {
    pub(crate) params: Vec<Value>,
}

impl Condition {
    /// Binds `value` and returns its placeholder.
    pub(crate) fn bind(&mut self, value: Value) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }

    /// The condition `query` stands for.
    pub(crate) fn of(&mut self, query: &SearchQuery) -> Result<String> {
        Ok(match query {
            SearchQuery::MatchAll => "1 = 1".to_owned(),
            SearchQuery::Match {
                field,
                text,
                operator,
            } => {
                let column = column(field)?;
                let words = words(text);
                if words.is_empty() {
                    return Ok("1 = 0".to_owned());
                }
                let joiner = match operator {
                    MatchOperator::Or => " OR ",
                    MatchOperator::And => " AND ",
                };
                let parts: Vec<String> = words
                    .into_iter()
                    .map(|word| self.contains(&column, &word))
                    .collect();
                format!("({})", parts.join(joiner))
            }
            SearchQuery::MatchPhrase { field, text } => {
                let column = column(field)?;
                let words = words(text);
                if words.is_empty() {
                    return Ok("1 = 0".to_owned());
                }
                self.contains(&column, &words.join(" "))
            }
            SearchQuery::Term { field, value } => {
                let column = column(field)?;
                format!("{column} = {}", self.bind(value.clone()))
            }
            SearchQuery::Terms { field, values } => {
                let column = column(field)?;
                if values.is_empty() {
                    return Ok("1 = 0".to_owned());
                }
                let marks: Vec<String> = values.iter().map(|v| self.bind(v.clone())).collect();
                format!("{column} IN ({})", marks.join(", "))
            }
            SearchQuery::Range { field, bounds } => self.range(&column(field)?, bounds),
            SearchQuery::Prefix { field, prefix } => {
                // Case-sensitive as on OpenSearch (SQLite's LIKE ignores ASCII case).
                let column = column(field)?;
                let length = self.bind(Value::String(prefix.clone()));
                let start = self.bind(Value::String(prefix.clone()));
                format!(
                    "SUBSTR(CAST({column} AS TEXT), 1, LENGTH(CAST({length} AS TEXT))) = {start}"
                )
            }
            SearchQuery::Exists { field } => format!("{} IS NOT NULL", column(field)?),
            SearchQuery::Bool(query) => self.boolean(query)?,
        })
    }

    /// Whether `column` (as text) holds `text`, ignoring case.
    fn contains(&mut self, column: &str, text: &str) -> String {
        let pattern = self.bind(Value::String(format!("%{}%", escape_like(text))));
        format!("LOWER(CAST({column} AS TEXT)) LIKE {pattern} ESCAPE '\\'")
    }

    fn range(&mut self, column: &str, bounds: &RangeBounds) -> String {
        let mut parts = Vec::new();
        for (op, bound) in [
            (">", &bounds.gt),
            (">=", &bounds.gte),
            ("<", &bounds.lt),
            ("<=", &bounds.lte),
        ] {
            if let Some(value) = bound {
                parts.push(format!("{column} {op} {}", self.bind(value.clone())));
            }
        }
        if parts.is_empty() {
            return format!("{column} IS NOT NULL");
        }
        format!("({})", parts.join(" AND "))
    }

    /// OpenSearch's rules: `must` and `filter` all hold, no `must_not` holds, and at least one
    /// `should` holds when there is neither `must` nor `filter` (otherwise `should` only
    /// scores, and there is no score here).
    fn boolean(&mut self, query: &BoolQuery) -> Result<String> {
        let mut parts = Vec::new();
        for q in query.must.iter().chain(&query.filter) {
            parts.push(self.of(q)?);
        }
        for q in &query.must_not {
            // A row whose column is NULL matches `must_not`, as a document without the field
            // does on OpenSearch: an unknown condition counts as false.
            parts.push(format!("NOT COALESCE(({}), FALSE)", self.of(q)?));
        }
        if query.must.is_empty() && query.filter.is_empty() && !query.should.is_empty() {
            let mut any = Vec::new();
            for q in &query.should {
                any.push(self.of(q)?);
            }
            parts.push(format!("({})", any.join(" OR ")));
        }
        if parts.is_empty() {
            return Ok("1 = 1".to_owned());
        }
        Ok(format!("({})", parts.join(" AND ")))
    }
}

/// The quoted column a search field names; nested fields (`a.b`) have no column.
pub(crate) fn column(field: &str) -> Result<String> {
    if field.contains('.') {
        return Err(StoreError::unsupported(format!(
            "the field `{field}` is nested: a search over a SQL table reads top-level columns only"
        )));
    }
    Ok(quote_ident(field))
}

/// The lowercase words of `text`: runs of letters and digits.
fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// `text` with LIKE's wildcards and the escape character escaped.
fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bool_query_becomes_bound_conditions() {
        let query = BoolQuery::default()
            .must(SearchQuery::Match {
                field: "title".into(),
                text: "Red 50%".into(),
                operator: MatchOperator::And,
            })
            .must_not(SearchQuery::Term {
                field: "tag".into(),
                value: "x".into(),
            })
            .build();
        let mut condition = Condition::default();
        let sql = condition.of(&query).unwrap();
        assert_eq!(
            sql,
            "((LOWER(CAST(\"title\" AS TEXT)) LIKE $1 ESCAPE '\\' AND \
             LOWER(CAST(\"title\" AS TEXT)) LIKE $2 ESCAPE '\\') \
             AND NOT COALESCE((\"tag\" = $3), FALSE))"
        );
        assert_eq!(
            condition.params,
            vec![Value::from("%red%"), Value::from("%50%"), Value::from("x")]
        );
    }

    #[test]
    fn prefixes_compare_exactly_and_nested_fields_are_refused() {
        let mut condition = Condition::default();
        let sql = condition
            .of(&SearchQuery::Prefix {
                field: "sku".into(),
                prefix: "a_b%".into(),
            })
            .unwrap();
        assert_eq!(
            sql,
            "SUBSTR(CAST(\"sku\" AS TEXT), 1, LENGTH(CAST($1 AS TEXT))) = $2"
        );
        assert_eq!(
            condition.params,
            vec![Value::from("a_b%"), Value::from("a_b%")]
        );
        let err = Condition::default()
            .of(&SearchQuery::Exists {
                field: "a.b".into(),
            })
            .unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::Unsupported);
    }
}
