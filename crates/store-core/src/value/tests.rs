//! Round trips through serde and JSON that cross module lines.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;

fn n(text: &str) -> Number {
    text.parse().unwrap()
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct WithRest {
    id: String,
    #[serde(flatten)]
    rest: Document,
}

#[test]
fn flatten_keeps_digits_no_float_can_hold() {
    let doc = Document::new()
        .with("id", "a")
        .with("amount", n("12345678901234567890.123456789"))
        .with("price", n("1.5"));
    let typed: WithRest = from_value(Value::Map(doc)).unwrap();
    assert_eq!(
        typed
            .rest
            .get("amount")
            .and_then(Value::as_number)
            .unwrap()
            .to_string(),
        "12345678901234567890.123456789"
    );
    assert_eq!(typed.rest.get("price"), Some(&Value::Number(n("1.5"))));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum Event {
    Pay { amount: Number },
}

#[test]
fn internally_tagged_enums_keep_exact_numbers() {
    let doc = Document::new()
        .with("type", "Pay")
        .with("amount", n("99999999999999999999999999999999999999"));
    let event: Event = from_value(Value::Map(doc)).unwrap();
    assert_eq!(
        event,
        Event::Pay {
            amount: n("99999999999999999999999999999999999999")
        }
    );
}

#[test]
fn a_float_field_refuses_a_number_it_cannot_hold() {
    #[derive(Debug, Deserialize)]
    struct Untagged {
        #[serde(flatten)]
        _inner: BTreeMap<String, f64>,
    }
    let doc = Document::new().with("x", n("0.12345678901234567890123"));
    assert!(from_value::<Untagged>(Value::Map(doc)).is_err());
}

#[test]
fn numeric_and_boolean_map_keys_round_trip() {
    let ints: BTreeMap<u32, String> = [(1, "a".to_owned()), (20, "b".to_owned())].into();
    assert_eq!(
        from_value::<BTreeMap<u32, String>>(to_value(&ints).unwrap()).unwrap(),
        ints
    );
    let bools: BTreeMap<bool, u8> = [(true, 1), (false, 0)].into();
    assert_eq!(
        from_value::<BTreeMap<bool, u8>>(to_value(&bools).unwrap()).unwrap(),
        bools
    );
    let bad = Document::new().with("x", 1);
    let err = from_value::<BTreeMap<u32, u8>>(Value::Map(bad)).unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
}

#[test]
fn extreme_integers_round_trip() {
    assert_eq!(
        from_value::<u128>(to_value(&u128::MAX).unwrap()).unwrap(),
        u128::MAX
    );
    assert_eq!(
        from_value::<i128>(to_value(&i128::MIN).unwrap()).unwrap(),
        i128::MIN
    );
    assert_eq!(
        from_value::<u64>(to_value(&u64::MAX).unwrap()).unwrap(),
        u64::MAX
    );
}

#[test]
fn value_round_trips_through_its_own_serde_exactly() {
    let doc = Document::new()
        .with("big", n("123456789012345678901234567890.5"))
        .with("tags", Value::StringSet(["x".to_owned()].into()))
        .with("raw", bytes::Bytes::from_static(b"\x00\xff"));
    let back: Value = from_value(Value::Map(doc.clone())).unwrap();
    assert_eq!(back, Value::Map(doc));
}

#[test]
fn json_gets_numbers_where_a_float_holds_them_and_strings_otherwise() {
    let doc = Value::Map(
        Document::new()
            .with("price", n("1.50"))
            .with("count", n("1E+2"))
            .with("exact", n("0.1000000000000000000000001")),
    );
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(json["price"], serde_json::json!(1.5));
    assert_eq!(json["count"], serde_json::json!(100));
    assert_eq!(
        json["exact"],
        serde_json::json!("0.1000000000000000000000001")
    );
    let explicit = to_json(&doc);
    assert_eq!(explicit["price"], serde_json::json!(1.5));
    assert_eq!(
        from_json(explicit).unwrap().as_map().unwrap().get("price"),
        Some(&Value::Number(n("1.5")))
    );
}

#[test]
fn absurd_exponents_are_invalid_input() {
    let err = "1e-2000000000".parse::<Number>().unwrap_err();
    assert_eq!(err.kind(), crate::ErrorKind::InvalidInput);
    assert!("1e-100000".parse::<Number>().is_ok());
}

/// Found by fuzzing (fuzz/fuzz_targets/value_json.rs): JSON text read by serde_json must give
/// the nearest f64, or a number read from JSON and written back changes (`291e91` came back
/// as 2.9100000000000002E+93 before the workspace turned on serde_json's `float_roundtrip`).
#[test]
fn json_numbers_read_to_the_nearest_double_and_round_trip() {
    for text in [
        "291e91",
        "1.7976931348623157e308",
        "2.2250738585072014e-308",
        "0.1",
        "123456789.123456789e-30",
    ] {
        let json: serde_json::Value = serde_json::from_str(text).expect("json");
        let value = crate::from_json(json).expect("a number");
        let expected: f64 = text.parse().expect("std parses to the nearest double");
        let Value::Number(number) = &value else {
            panic!("{text} read as {value:?}");
        };
        assert_eq!(number.to_f64(), expected, "{text}");
        let again = crate::from_json(crate::to_json(&value)).expect("reads back");
        assert_eq!(again, value, "{text}");
    }
}

/// Found by fuzzing: a number goes out as a JSON number only if serde_json prints it back
/// with the same digits. `122211111222221.12` and `…13` are the same double; serde_json
/// prints `…12`, so `…12` stays a JSON number and `…13` becomes a string of its digits
/// (before, `…12` became a string and `…13` a number that came back as `…12`).
#[test]
fn numbers_become_json_numbers_only_when_serde_json_prints_them_back_exactly() {
    let twelve: Number = "122211111222221.12".parse().expect("number");
    let thirteen: Number = "122211111222221.13".parse().expect("number");
    assert_eq!(twelve.to_f64(), thirteen.to_f64());
    let json = crate::to_json(&Value::Number(twelve.clone()));
    assert!(json.is_number(), "{json}");
    assert_eq!(
        crate::from_json(json).expect("reads"),
        Value::Number(twelve)
    );
    let json = crate::to_json(&Value::Number(thirteen.clone()));
    assert_eq!(json, serde_json::Value::String("122211111222221.13".into()));
}
