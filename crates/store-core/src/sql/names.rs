//! Quoting identifiers, as PostgreSQL and SQLite both read them (the SQL standard's double
//! quotes), for names that cannot be parameters: tables, columns, schemas.

use crate::StoreError;

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

/// [`quote_ident`], refusing with `InvalidInput` a name holding a NUL character (no SQL engine
/// keeps one) or longer than `max_bytes` (when given).
///
/// ```
/// use store_core::sql::quote_ident_within;
/// assert_eq!(quote_ident_within("order", Some(63)).unwrap(), r#""order""#);
/// assert!(quote_ident_within(&"n".repeat(64), Some(63)).is_err());
/// assert!(quote_ident_within("a\0b", None).is_err());
/// ```
pub fn quote_ident_within(name: &str, max_bytes: Option<usize>) -> Result<String, StoreError> {
    if name.contains('\0') {
        return Err(StoreError::invalid_input(
            "an identifier cannot hold a NUL character",
        ));
    }
    if let Some(max) = max_bytes
        && name.len() > max
    {
        let shown: String = name.chars().take(32).collect();
        return Err(StoreError::invalid_input(format!(
            "the identifier `{shown}…` is {} bytes long; this engine keeps at most {max} (longer names would be cut)",
            name.len()
        )));
    }
    Ok(quote_ident(name))
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
