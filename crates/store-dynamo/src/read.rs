//! Queries and scans: one page per request, resumed from an opaque cursor.

use store_core::document::validate::{
    check_condition, check_page_size, check_projection, check_query,
};
use store_core::document::{Query, Scan};
use store_core::{Cursor, Document, Page, Result, StoreError};

use crate::convert::from_item;
use crate::cursor;
use crate::error::map_sdk_error;
use crate::expr::ExpressionBuilder;

use crate::store::*;

impl DynamoStore {
    pub(crate) async fn run_query(
        &self,
        query: &Query,
        cursor: Option<Cursor>,
    ) -> Result<Page<Document>> {
        let schema = match &query.index {
            None => self.schema(),
            Some(name) => {
                let info = self.inner.indexes.get(name).ok_or_else(|| {
                    StoreError::invalid_input(format!("the table has no index named `{name}`"))
                })?;
                if info.global && query.consistent {
                    return Err(StoreError::invalid_input(
                        "strongly consistent reads are not supported on a global secondary index",
                    ));
                }
                &info.schema
            }
        };
        let partition = check_query(query, schema)?;
        let limit = page_limit(query.page_size)?;
        let start = cursor
            .map(|c| cursor::decode(&c, self.table(), "query", query.index.as_deref()))
            .transpose()?;

        let mut b = ExpressionBuilder::new();
        let key_condition = b.key_condition(schema, partition, query.sort.as_ref());
        let filter = query.filter.as_ref().map(|f| b.condition(f));
        let projection = query.projection.as_ref().map(|p| b.projection(p));
        let (names, values) = b.finish();
        let out = self
            .inner
            .client
            .query()
            .table_name(self.table())
            .set_index_name(query.index.clone())
            .key_condition_expression(key_condition)
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(limit)
            .scan_index_forward(!query.reverse)
            .consistent_read(query.consistent)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "query", self.table()))?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_item)
            .collect::<Result<Vec<_>>>()?;
        let next = non_empty(out.last_evaluated_key)
            .map(|k| cursor::encode(self.table(), "query", query.index.as_deref(), &k))
            .transpose()?;
        Ok(Page::new(items, next))
    }

    pub(crate) async fn run_scan(
        &self,
        scan: &Scan,
        cursor: Option<Cursor>,
    ) -> Result<Page<Document>> {
        if let Some(segment) = scan.segment
            && segment.index >= segment.total
        {
            return Err(StoreError::invalid_input(format!(
                "scan segment {} of {} does not exist: segments are numbered from 0 to total - 1, \
                 and total must be at least 1",
                segment.index, segment.total
            )));
        }
        let (segment, total) = match scan.segment {
            Some(s) => {
                let total = i32::try_from(s.total)
                    .ok()
                    .filter(|t| *t <= 1_000_000)
                    .ok_or_else(|| {
                        StoreError::invalid_input("a scan has at most 1,000,000 segments")
                    })?;
                (Some(s.index as i32), Some(total))
            }
            None => (None, None),
        };
        if let Some(filter) = &scan.filter {
            check_condition(filter)?;
        }
        check_projection(scan.projection.as_ref())?;
        let limit = page_limit(scan.page_size)?;
        let start = cursor
            .map(|c| cursor::decode(&c, self.table(), "scan", None))
            .transpose()?;
        let mut b = ExpressionBuilder::new();
        let filter = scan.filter.as_ref().map(|f| b.condition(f));
        let projection = scan.projection.as_ref().map(|p| b.projection(p));
        let (names, values) = b.finish();
        let out = self
            .inner
            .client
            .scan()
            .table_name(self.table())
            .set_filter_expression(filter)
            .set_projection_expression(projection)
            .set_expression_attribute_names(names)
            .set_expression_attribute_values(values)
            .set_limit(limit)
            .consistent_read(scan.consistent)
            .set_segment(segment)
            .set_total_segments(total)
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|e| map_sdk_error(e, "scan", self.table()))?;
        let items = out
            .items
            .unwrap_or_default()
            .iter()
            .map(from_item)
            .collect::<Result<Vec<_>>>()?;
        let next = non_empty(out.last_evaluated_key)
            .map(|k| cursor::encode(self.table(), "scan", None, &k))
            .transpose()?;
        Ok(Page::new(items, next))
    }
}

fn page_limit(requested: Option<usize>) -> Result<Option<i32>> {
    check_page_size(requested)?;
    Ok(requested.map(|n| i32::try_from(n).unwrap_or(i32::MAX)))
}
