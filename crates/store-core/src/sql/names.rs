//! Quoting identifiers, as PostgreSQL and SQLite both read them (the SQL standard's double
//! quotes), for names that cannot be parameters: tables, columns, schemas.

/// Quotes an SQL identifier: `my "table"` → `"my ""table"""`. The name is then taken
/// literally (case and all); a NUL in it is left for the backend to refuse.
///
/// ```
/// use store_core::sql::quote_ident;
/// assert_eq!(quote_ident("order"), r#""order""#);
/// assert_eq!(quote_ident(r#"my "table""#), r#""my ""table""""#);
/// ```
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a possibly schema-qualified name, part by part: `sales.orders` →
/// `"sales"."orders"`.
///
/// ```
/// use store_core::sql::quote_qualified;
/// assert_eq!(quote_qualified("sales.orders"), r#""sales"."orders""#);
/// ```
pub fn quote_qualified(name: &str) -> String {
    name.split('.')
        .map(quote_ident)
        .collect::<Vec<_>>()
        .join(".")
}
