//! Archive lines (the typed JSON of "stores archive v1"): any line is a record or a typed
//! error; a record's line decodes back to the same record.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_sync::archive::{decode_line, encode_line};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else {
        return;
    };
    let keys = ["id".to_owned()];
    if let Ok(record) = decode_line(line, &keys) {
        let written = encode_line(&record);
        let again = decode_line(&written, &keys)
            .unwrap_or_else(|e| panic!("{line:?} re-encoded as {written:?}, refused: {e}"));
        assert_eq!(again, record);
    }
});
