//! DynamoDB attribute conversion: any value (read from the archive's typed JSON, which has
//! every kind: exact numbers, binary, sets, nested maps) converts to an attribute without
//! panicking, and an attribute that converts back gives the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_dynamo::convert::{from_attribute, to_attribute};
use store_sync::codec::decode_value;

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(value) = decode_value(&json) else {
        return;
    };
    let attribute = to_attribute(&value);
    if let Ok(back) = from_attribute(&attribute) {
        assert_eq!(back, value, "{attribute:?}");
    }
});
