//! PartiQL: [`DynamoStore::execute_statement`] runs a statement with `?` parameters bound from
//! exact [`Value`]s, and pages through what it returns.

use std::sync::Arc;

use futures::stream::{self, BoxStream, StreamExt};
use store_core::{Document, Result, StoreError, Value};

use crate::convert::{from_item, to_attribute};
use crate::error::{BACKEND, map_sdk_error};
use crate::store::DynamoStore;

/// A PartiQL statement and its parameters.
///
/// Values are bound to the `?` placeholders in order and sent as attribute values, so a
/// 38-digit number, a set or binary goes in exactly and nothing is spliced into the text.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    text: String,
    params: Vec<Value>,
    consistent: bool,
}

impl Statement {
    /// A statement such as `SELECT * FROM "orders" WHERE "user" = ?`.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            text: text.into(),
            params: Vec::new(),
            consistent: false,
        }
    }

    /// Binds the next `?`.
    pub fn param(mut self, value: impl Into<Value>) -> Self {
        self.params.push(value.into());
        self
    }

    /// Binds the next `?`s in order.
    pub fn params(mut self, values: impl IntoIterator<Item = Value>) -> Self {
        self.params.extend(values);
        self
    }

    /// Reads with strong consistency (a `SELECT` on a table, not on an index).
    pub fn consistent(mut self) -> Self {
        self.consistent = true;
        self
    }
}

/// Where the paging of a statement stands.
enum Paging {
    First,
    Next(String),
    Done,
}

impl DynamoStore {
    /// Runs a PartiQL `SELECT`, `INSERT`, `UPDATE` or `DELETE` and streams the items it
    /// returns, following `NextToken` until the last page (writes return none).
    ///
    /// The statement names its table itself; it may be another table than this store's
    /// (errors name this store's table as their target). DynamoDB's errors map as for every
    /// call: an `INSERT` of a key that exists is `AlreadyExists`, a failed `WHERE` condition of
    /// an `UPDATE` or `DELETE` is `PreconditionFailed`, a malformed statement `InvalidInput`.
    ///
    /// ```no_run
    /// # async fn demo(store: store_dynamo::DynamoStore) -> store_core::Result<()> {
    /// use futures::TryStreamExt;
    /// use store_dynamo::Statement;
    /// let insert = Statement::new(r#"INSERT INTO "orders" VALUE {'user': ?, 'n': ?, 'total': ?}"#)
    ///     .param("u1")
    ///     .param(1)
    ///     .param("12345678901234567890123456789012345678".parse::<store_core::Number>()?);
    /// store.execute_statement(insert).try_collect::<Vec<_>>().await?;
    /// let mine: Vec<_> = store
    ///     .execute_statement(Statement::new(r#"SELECT * FROM "orders" WHERE "user" = ?"#).param("u1"))
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn execute_statement(&self, statement: Statement) -> BoxStream<'_, Result<Document>> {
        if statement.text.trim().is_empty() {
            let e = StoreError::invalid_input("a PartiQL statement cannot be empty")
                .in_context(BACKEND, "execute_statement");
            return stream::iter([Err(e)]).boxed();
        }
        let parameters: Option<Vec<_>> = (!statement.params.is_empty())
            .then(|| statement.params.iter().map(to_attribute).collect());
        let statement = Arc::new(statement);
        stream::unfold(Paging::First, move |paging| {
            let parameters = parameters.clone();
            let statement = Arc::clone(&statement);
            async move {
                let token = match paging {
                    Paging::Done => return None,
                    Paging::First => None,
                    Paging::Next(token) => Some(token),
                };
                let page = self
                    .client()
                    .execute_statement()
                    .statement(&statement.text)
                    .set_parameters(parameters)
                    .consistent_read(statement.consistent)
                    .set_next_token(token)
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(e, "execute_statement", self.table()));
                match page {
                    Err(e) => Some((vec![Err(e)], Paging::Done)),
                    Ok(out) => {
                        let items: Vec<Result<Document>> = out
                            .items
                            .unwrap_or_default()
                            .iter()
                            .map(from_item)
                            .collect();
                        let next = out.next_token.map_or(Paging::Done, Paging::Next);
                        Some((items, next))
                    }
                }
            }
        })
        .flat_map(stream::iter)
        .boxed()
    }
}
