//! `Value` from JSON and back: any JSON is a value or a typed error; a value's JSON reads
//! back as the same value; serialized through serde, every number keeps its digits (as a
//! JSON number, or as a string of its exact digits where a double could print it otherwise).
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_core::{Value, from_json, to_json};

/// Equal, except that a number may have become the string of its exact digits.
fn same_digits(got: &Value, want: &Value) -> bool {
    match (got, want) {
        (Value::String(text), Value::Number(n)) => text.parse().ok().as_ref() == Some(n),
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same_digits(x, y))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(k, x)| b.get(k).is_some_and(|y| same_digits(x, y)))
        }
        _ => got == want,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    if let Ok(value) = from_json(json) {
        let again = from_json(to_json(&value)).expect("a value's own JSON reads back");
        assert_eq!(again, value);
        let text = serde_json::to_string(&value).expect("a value serializes");
        let reparsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        let serialized = from_json(reparsed).expect("reads back");
        assert!(
            same_digits(&serialized, &value),
            "{text}: {serialized:?} vs {value:?}"
        );
    }
});
