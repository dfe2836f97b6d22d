//! Builds DynamoDB expressions from store-core's typed trees, always through placeholders.
//!
//! Every attribute name becomes `#n0`, `#n1`… and every value `:v0`, `:v1`…, so no user text
//! is ever spliced into an expression string: reserved words (`name`, `status`, `size`),
//! names with dots, dashes or spaces, and hostile input all just work. One builder is used
//! per request, so condition, update, key condition, filter and projection share one set of
//! placeholders.
//!
//! ```
//! use store_core::document::{attr, Update};
//! use store_dynamo::expr::ExpressionBuilder;
//! let mut b = ExpressionBuilder::new();
//! let update = b.update(&Update::new().set("status", "open").add("count", 1));
//! let condition = b.condition(&attr("status").ne("closed"));
//! assert_eq!(update, "SET #n0 = :v0 ADD #n1 :v1");
//! assert_eq!(condition, "#n0 <> :v2");
//! let (names, values) = b.finish();
//! assert_eq!(names.unwrap()["#n0"], "status");
//! assert_eq!(values.unwrap().len(), 3);
//! ```

use std::collections::HashMap;
use std::fmt::Write as _;

use aws_sdk_dynamodb::types::AttributeValue;
use store_core::document::{
    CompareOp, Condition, Path, PathSegment, SetValue, SortCondition, Update, UpdateAction,
};
use store_core::{KeySchema, KeyValue, Value};

use crate::convert::{key_attribute, to_attribute};

/// Placeholder names and values for one request, and the expressions that use them.
#[derive(Debug, Default, Clone)]
pub struct ExpressionBuilder {
    names: HashMap<String, String>,
    by_name: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl ExpressionBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The placeholder of an attribute name (the same name always gets the same one).
    pub fn name(&mut self, name: &str) -> String {
        if let Some(placeholder) = self.by_name.get(name) {
            return placeholder.clone();
        }
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        self.by_name.insert(name.to_owned(), placeholder.clone());
        placeholder
    }

    /// The placeholder of a new value.
    pub fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn core_value(&mut self, value: &Value) -> String {
        self.value(to_attribute(value))
    }

    /// A document path: `#n0.#n1[2]`.
    pub fn path(&mut self, path: &Path) -> String {
        let mut out = String::new();
        for (i, segment) in path.segments().iter().enumerate() {
            match segment {
                PathSegment::Field(name) => {
                    if i > 0 {
                        out.push('.');
                    }
                    let placeholder = self.name(name);
                    out.push_str(&placeholder);
                }
                PathSegment::Index(index) => {
                    let _ = write!(out, "[{index}]");
                }
            }
        }
        out
    }

    /// A condition expression (also used for filters).
    pub fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::Exists(path) => format!("attribute_exists({})", self.path(path)),
            Condition::NotExists(path) => format!("attribute_not_exists({})", self.path(path)),
            Condition::Compare { path, op, value } => {
                let p = self.path(path);
                let v = self.core_value(value);
                let comparison = format!("{p} {} {v}", op.symbol());
                match op {
                    CompareOp::Eq | CompareOp::Ne => comparison,
                    _ => self.type_guarded(&p, value, comparison),
                }
            }
            Condition::Size { path, op, value } => {
                let p = self.path(path);
                let v = self.value(AttributeValue::N(value.to_string()));
                format!("size({p}) {} {v}", op.symbol())
            }
            Condition::BeginsWith(path, prefix) => {
                let p = self.path(path);
                let v = self.core_value(prefix);
                format!("begins_with({p}, {v})")
            }
            Condition::Between(path, low, high) => {
                let p = self.path(path);
                let l = self.core_value(low);
                let h = self.core_value(high);
                let comparison = format!("{p} BETWEEN {l} AND {h}");
                self.type_guarded(&p, low, comparison)
            }
            Condition::Contains(path, needle) => {
                let p = self.path(path);
                let v = self.core_value(needle);
                format!("contains({p}, {v})")
            }
            Condition::In(path, values) => {
                let p = self.path(path);
                let list: Vec<String> = values.iter().map(|v| self.core_value(v)).collect();
                format!("{p} IN ({})", list.join(", "))
            }
            Condition::And(parts) => self.join(parts, " AND "),
            Condition::Or(parts) => self.join(parts, " OR "),
            Condition::Not(inner) => format!("NOT ({})", self.condition(inner)),
        }
    }

    /// `attribute_type(p, :t) AND comparison`: an ordering comparison across types is false
    /// in DynamoDB; the guard keeps it so on emulators that fail on such comparisons (moto
    /// answers them with an internal error), and changes nothing on DynamoDB itself.
    fn type_guarded(&mut self, path: &str, value: &Value, comparison: String) -> String {
        let type_code = match value {
            Value::Number(_) => "N",
            Value::String(_) => "S",
            Value::Bytes(_) => "B",
            _ => return comparison,
        };
        let t = self.value(AttributeValue::S(type_code.to_owned()));
        format!("attribute_type({path}, {t}) AND {comparison}")
    }

    fn join(&mut self, parts: &[Condition], separator: &str) -> String {
        if let [only] = parts {
            return self.condition(only);
        }
        let parts: Vec<String> = parts
            .iter()
            .map(|c| format!("({})", self.condition(c)))
            .collect();
        parts.join(separator)
    }

    /// An update expression (`SET … REMOVE … ADD … DELETE …`); `None` for an empty update.
    pub fn update(&mut self, update: &Update) -> String {
        let mut set = Vec::new();
        let mut remove = Vec::new();
        let mut add = Vec::new();
        let mut delete = Vec::new();
        for action in update.actions() {
            match action {
                UpdateAction::Set(path, SetValue::Value(value)) => {
                    let p = self.path(path);
                    let v = self.core_value(value);
                    set.push(format!("{p} = {v}"));
                }
                UpdateAction::Set(path, SetValue::IfNotExists(value)) => {
                    let p = self.path(path);
                    let v = self.core_value(value);
                    set.push(format!("{p} = if_not_exists({p}, {v})"));
                }
                UpdateAction::Append(path, values) => {
                    let p = self.path(path);
                    let empty = self.value(AttributeValue::L(Vec::new()));
                    let v =
                        self.value(AttributeValue::L(values.iter().map(to_attribute).collect()));
                    set.push(format!(
                        "{p} = list_append(if_not_exists({p}, {empty}), {v})"
                    ));
                }
                UpdateAction::Remove(path) => remove.push(self.path(path)),
                UpdateAction::Add(path, value) => {
                    let p = self.path(path);
                    let v = self.core_value(value);
                    add.push(format!("{p} {v}"));
                }
                UpdateAction::DeleteFromSet(path, value) => {
                    let p = self.path(path);
                    let v = self.core_value(value);
                    delete.push(format!("{p} {v}"));
                }
            }
        }
        let mut clauses = Vec::new();
        for (keyword, parts) in [
            ("SET", set),
            ("REMOVE", remove),
            ("ADD", add),
            ("DELETE", delete),
        ] {
            if !parts.is_empty() {
                clauses.push(format!("{keyword} {}", parts.join(", ")));
            }
        }
        clauses.join(" ")
    }

    /// A key condition: the partition value, and optionally a condition on the sort key.
    pub fn key_condition(
        &mut self,
        schema: &KeySchema,
        partition: &KeyValue,
        sort: Option<&SortCondition>,
    ) -> String {
        let pk = self.name(&schema.partition.name);
        let pv = self.value(key_attribute(partition));
        let mut out = format!("{pk} = {pv}");
        if let (Some(condition), Some(attr)) = (sort, &schema.sort) {
            let sk = self.name(&attr.name);
            let clause = match condition {
                SortCondition::Eq(v) => format!("{sk} = {}", self.core_value(v)),
                SortCondition::Lt(v) => format!("{sk} < {}", self.core_value(v)),
                SortCondition::Le(v) => format!("{sk} <= {}", self.core_value(v)),
                SortCondition::Gt(v) => format!("{sk} > {}", self.core_value(v)),
                SortCondition::Ge(v) => format!("{sk} >= {}", self.core_value(v)),
                SortCondition::Between(low, high) => {
                    let l = self.core_value(low);
                    let h = self.core_value(high);
                    format!("{sk} BETWEEN {l} AND {h}")
                }
                SortCondition::BeginsWith(prefix) => {
                    format!("begins_with({sk}, {})", self.core_value(prefix))
                }
            };
            out.push_str(" AND ");
            out.push_str(&clause);
        }
        out
    }

    /// A projection of top-level attributes: `#n0, #n1`.
    pub fn projection(&mut self, fields: &[String]) -> String {
        let names: Vec<String> = fields.iter().map(|f| self.name(f)).collect();
        names.join(", ")
    }

    /// The placeholder maps, each `None` when empty (DynamoDB refuses empty maps).
    #[allow(clippy::type_complexity)]
    pub fn finish(
        self,
    ) -> (
        Option<HashMap<String, String>>,
        Option<HashMap<String, AttributeValue>>,
    ) {
        (
            (!self.names.is_empty()).then_some(self.names),
            (!self.values.is_empty()).then_some(self.values),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use store_core::KeyType;
    use store_core::document::attr;

    #[test]
    fn odd_names_only_ever_appear_as_placeholders() {
        let odd = [
            "name",
            "status",
            "size",
            "a.b",
            "with-dash",
            "with space",
            "#x",
            ":v0)",
        ];
        let mut b = ExpressionBuilder::new();
        let mut condition = attr(odd[0]).exists();
        for name in &odd[1..] {
            condition = condition.and(attr(*name).eq("v"));
        }
        let expr = b.condition(&condition);
        let update = b.update(
            &odd.iter()
                .fold(Update::new(), |u, n| u.set(format!("u-{n}"), 1)),
        );
        let projection = b.projection(&odd.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        for text in [&expr, &update, &projection] {
            for token in text
                .split(|c: char| " (),=".contains(c))
                .filter(|t| !t.is_empty())
            {
                let ok = token.starts_with("#n")
                    || token.starts_with(":v")
                    || ["AND", "SET", "attribute_exists"].contains(&token);
                assert!(ok, "unexpected token `{token}` in `{text}`");
            }
        }
        let (names, values) = b.finish();
        let names = names.unwrap();
        for name in odd {
            assert!(names.values().any(|n| n == name), "{name} missing");
        }
        // The same name reuses its placeholder.
        assert_eq!(names.len(), odd.len() * 2);
        assert_eq!(values.unwrap().len(), odd.len() - 1 + odd.len());
    }

    #[test]
    fn nested_paths_use_one_placeholder_per_segment() {
        let mut b = ExpressionBuilder::new();
        let path = Path::attr("a.b").field("c d").index(3).field("a.b");
        assert_eq!(b.path(&path), "#n0.#n1[3].#n0");
    }

    #[test]
    fn every_condition_kind_translates() {
        let mut b = ExpressionBuilder::new();
        let c = attr("a")
            .exists()
            .and(attr("b").not_exists())
            .and(attr("c").lt(1))
            .and(attr("d").size().ge(2))
            .and(attr("e").begins_with("x"))
            .and(attr("f").between(1, 9))
            .and(attr("g").contains("y"))
            .and(attr("h").is_in([1, 2]))
            .and(attr("i").eq(1).or(attr("i").eq(2)).not());
        assert_eq!(
            b.condition(&c),
            "(attribute_exists(#n0)) AND (attribute_not_exists(#n1)) AND \
             (attribute_type(#n2, :v1) AND #n2 < :v0) AND \
             (size(#n3) >= :v2) AND (begins_with(#n4, :v3)) AND \
             (attribute_type(#n5, :v6) AND #n5 BETWEEN :v4 AND :v5) AND \
             (contains(#n6, :v7)) AND (#n7 IN (:v8, :v9)) AND (NOT ((#n8 = :v10) OR (#n8 = :v11)))"
        );
        let (_, values) = b.finish();
        let values = values.unwrap();
        assert_eq!(values[":v1"], AttributeValue::S("N".into()));
        assert_eq!(values[":v2"], AttributeValue::N("2".into()));
    }

    #[test]
    fn every_update_kind_translates() {
        let mut b = ExpressionBuilder::new();
        let u = Update::new()
            .set("a", 1)
            .set_if_not_exists("b", 2)
            .append("c", [3])
            .remove("d")
            .add("e", 4)
            .delete_from_set("f", Value::StringSet(["x".to_owned()].into()));
        assert_eq!(
            b.update(&u),
            "SET #n0 = :v0, #n1 = if_not_exists(#n1, :v1), \
             #n2 = list_append(if_not_exists(#n2, :v2), :v3) REMOVE #n3 ADD #n4 :v4 DELETE #n5 :v5"
        );
        assert_eq!(b.update(&Update::new()), "");
    }

    #[test]
    fn key_conditions_translate() {
        let schema =
            KeySchema::partition("user", KeyType::String).with_sort("date", KeyType::String);
        let mut b = ExpressionBuilder::new();
        let e = b.key_condition(
            &schema,
            &KeyValue::String("u".into()),
            Some(&SortCondition::BeginsWith("2024".into())),
        );
        assert_eq!(e, "#n0 = :v0 AND begins_with(#n1, :v1)");
        let e = b.key_condition(
            &schema,
            &KeyValue::String("u".into()),
            Some(&SortCondition::Between("a".into(), "b".into())),
        );
        assert_eq!(e, "#n0 = :v2 AND #n1 BETWEEN :v3 AND :v4");
        let e = b.key_condition(&schema, &KeyValue::String("u".into()), None);
        assert_eq!(e, "#n0 = :v5");
    }

    #[test]
    fn empty_builder_yields_no_maps() {
        let (names, values) = ExpressionBuilder::new().finish();
        assert!(names.is_none() && values.is_none());
    }
}
