//! [`SearchIndexExt`]: typed conveniences and whole-result iteration for every index.

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{DocVersion, Hit, IndexOptions, SearchIndex, SearchRequest};
use crate::error::{Result, StoreError};
use crate::page::{Cursor, Page, paginate};
use crate::value::{Value, from_document, from_json, to_document, to_json};

/// Conveniences over [`SearchIndex`], available on every index including `dyn SearchIndex`.
#[async_trait]
pub trait SearchIndexExt: SearchIndex {
    /// Serializes and indexes a document.
    async fn index_as<T: Serialize + Sync>(&self, id: &str, doc: &T) -> Result<DocVersion> {
        self.index(id, to_document(doc)?, IndexOptions::default())
            .await
    }

    /// Reads and deserializes a document.
    async fn get_as<T: DeserializeOwned>(&self, id: &str) -> Result<Option<T>> {
        match self.get(id).await? {
            Some(stored) => from_document(stored.source).map(Some),
            None => Ok(None),
        }
    }

    /// Runs a search and deserializes each hit's source.
    async fn search_as<T: DeserializeOwned>(
        &self,
        request: &SearchRequest,
    ) -> Result<Vec<(Hit, T)>> {
        let response = self.search(request).await?;
        response
            .hits
            .into_iter()
            .map(|hit| {
                let typed = from_document(hit.source.clone())?;
                Ok((hit, typed))
            })
            .collect()
    }

    /// Every hit of a search, however many, fetched page by page with `search_after`.
    ///
    /// The request's sort must end with a field that is unique per document (an id field),
    /// so that no hit is skipped or repeated between pages; `from` must be 0.
    fn search_all(&self, request: SearchRequest) -> BoxStream<'_, Result<Hit>> {
        if request.sort.is_empty() || request.from != 0 {
            return futures::stream::iter([Err(StoreError::invalid_input(
                "search_all needs a sort ending in a unique field, and from = 0",
            ))])
            .boxed();
        }
        paginate(move |cursor: Option<Cursor>| {
            let mut request = request.clone();
            async move {
                if let Some(cursor) = cursor {
                    let raw = cursor.decode()?;
                    let json: serde_json::Value = serde_json::from_slice(&raw).map_err(|_| {
                        StoreError::invalid_input("the cursor is not one this library issued")
                    })?;
                    match from_json(json)? {
                        Value::List(values) => request.search_after = Some(values),
                        _ => {
                            return Err(StoreError::invalid_input(
                                "the cursor is not one this library issued",
                            ));
                        }
                    }
                }
                let response = self.search(&request).await?;
                let next = if response.hits.len() < request.size || request.size == 0 {
                    None
                } else {
                    response.hits.last().map(|hit| {
                        let json = to_json(&Value::List(hit.sort.clone()));
                        Cursor::encode(json.to_string().as_bytes())
                    })
                };
                Ok(Page::new(response.hits, next))
            }
        })
        .boxed()
    }
}

impl<S: SearchIndex + ?Sized> SearchIndexExt for S {}
