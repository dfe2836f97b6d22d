//! Cursors: the encoded position of the last entry a page read (a primary key for scans and
//! table queries, an index entry for index queries), tagged with the table, the call and the
//! index, so that a cursor from anywhere else is `InvalidInput`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use store_core::{Cursor, Result, StoreError};

use crate::db::Inner;

const CURSOR_TAG: &str = "store-redb/1";

#[derive(Serialize, Deserialize)]
struct CursorRecord {
    tag: String,
    table: String,
    call: String,
    index: Option<String>,
    /// The position, base64.
    after: String,
}

impl Inner {
    pub(crate) fn encode_cursor(&self, call: &str, index: Option<&str>, position: &[u8]) -> Cursor {
        let record = CursorRecord {
            tag: CURSOR_TAG.to_owned(),
            table: self.layout.table.to_string(),
            call: call.to_owned(),
            index: index.map(str::to_owned),
            after: base64::engine::general_purpose::STANDARD.encode(position),
        };
        Cursor::encode(&serde_json::to_vec(&record).unwrap_or_default())
    }

    pub(crate) fn decode_cursor(
        &self,
        cursor: &Cursor,
        call: &str,
        index: Option<&str>,
    ) -> Result<Vec<u8>> {
        let foreign = || self.foreign_cursor(call, index);
        let record: CursorRecord = serde_json::from_slice(&cursor.decode().map_err(|_| foreign())?)
            .map_err(|_| foreign())?;
        if record.tag != CURSOR_TAG
            || record.table != self.layout.table.as_str()
            || record.call != call
            || record.index.as_deref() != index
        {
            return Err(foreign());
        }
        base64::engine::general_purpose::STANDARD
            .decode(record.after)
            .map_err(|_| foreign())
    }

    pub(crate) fn foreign_cursor(&self, call: &str, index: Option<&str>) -> StoreError {
        StoreError::invalid_input(format!(
            "the cursor was not issued by a {call} of the redb table `{}`{}",
            self.layout.table,
            index
                .map(|i| format!(" on index `{i}`"))
                .unwrap_or_default()
        ))
    }
}
