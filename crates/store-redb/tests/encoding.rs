//! Property tests of the encodings: key bytes sort exactly as store-core orders key values
//! (numbers by [`Number`]'s numeric order), encoded values are prefix-free, and items round-trip
//! exactly.

use std::cmp::Ordering;

use bytes::Bytes;
use proptest::prelude::*;
use store_core::{DocKey, Document, KeyValue, Number, Value};
use store_redb::codec::{decode_document, encode_document, encode_key, encode_key_value};

/// Numbers of every shape DynamoDB stores and more: up to 38 significant digits, trailing
/// zeros (scale), negative, zero of any scale, exponents across and beyond 1E-130..1E+126.
fn number() -> impl Strategy<Value = Number> {
    let digits = prop_oneof!["[0-9]{1,3}", "[1-9][0-9]{0,37}", "[1-9]0{0,10}", "0{1,3}",];
    (any::<bool>(), digits, -200i32..200).prop_map(|(negative, digits, exponent)| {
        let sign = if negative { "-" } else { "" };
        format!("{sign}{digits}E{exponent}").parse().unwrap()
    })
}

/// Numbers close together, so that equal and near-equal values meet often.
fn near_number() -> impl Strategy<Value = Number> {
    (any::<bool>(), 0u32..50, 0i32..3, 0usize..3).prop_map(|(negative, n, shift, zeros)| {
        let sign = if negative { "-" } else { "" };
        let padded = format!("{n}{}", "0".repeat(zeros));
        format!("{sign}{padded}E{}", shift - zeros as i32)
            .parse()
            .unwrap()
    })
}

fn bytes_with_nuls() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(
        prop_oneof![Just(0u8), Just(1u8), Just(0xFFu8), any::<u8>()],
        1..8,
    )
}

fn any_number() -> impl Strategy<Value = KeyValue> {
    prop_oneof![number(), near_number()].prop_map(KeyValue::Number)
}

fn any_string() -> impl Strategy<Value = KeyValue> {
    "[a\\x00\\x01b\u{e9}]{1,6}".prop_map(KeyValue::String)
}

fn any_bytes() -> impl Strategy<Value = KeyValue> {
    bytes_with_nuls().prop_map(|b| KeyValue::Bytes(Bytes::from(b)))
}

/// Two key values of one type (a key attribute has one type).
fn pair() -> impl Strategy<Value = (KeyValue, KeyValue)> {
    prop_oneof![
        (any_number(), any_number()),
        (any_string(), any_string()),
        (any_bytes(), any_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn number_bytes_sort_as_numbers(a in prop_oneof![number(), near_number()], b in prop_oneof![number(), near_number()]) {
        let (ea, eb) = (encode_key_value(&KeyValue::Number(a.clone())), encode_key_value(&KeyValue::Number(b.clone())));
        prop_assert_eq!(ea.cmp(&eb), a.cmp(&b), "{} vs {}", a, b);
        prop_assert_eq!(ea == eb, a == b);
    }

    #[test]
    fn key_values_sort_as_store_core_orders_them((a, b) in pair()) {
        let (ea, eb) = (encode_key_value(&a), encode_key_value(&b));
        prop_assert_eq!(ea.cmp(&eb), a.cmp(&b), "{:?} vs {:?}", a, b);
        if ea != eb {
            prop_assert!(!eb.starts_with(&ea) && !ea.starts_with(&eb), "prefix: {:?} {:?}", a, b);
        }
    }

    #[test]
    fn whole_keys_sort_by_partition_then_sort(
        ((p1, p2), (s1, s2)) in (pair(), pair())
    ) {
        let a = DocKey { partition: p1, sort: Some(s1) };
        let b = DocKey { partition: p2, sort: Some(s2) };
        prop_assert_eq!(encode_key(&a).cmp(&encode_key(&b)), a.cmp(&b), "{:?} vs {:?}", a, b);
    }

    #[test]
    fn a_partition_is_one_contiguous_range(((p, q), (s, t)) in (pair(), pair())) {
        let inside = encode_key(&DocKey { partition: p.clone(), sort: Some(s) });
        let other = encode_key(&DocKey { partition: q.clone(), sort: Some(t) });
        let prefix = encode_key_value(&p);
        prop_assert!(inside.starts_with(&prefix));
        prop_assert_eq!(other.starts_with(&prefix), p == q);
    }
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number().prop_map(Value::Number),
        ".{0,8}".prop_map(Value::String),
        bytes_with_nuls().prop_map(|b| Value::Bytes(b.into())),
        proptest::collection::btree_set("[a-c]{1,3}", 1..4).prop_map(Value::StringSet),
        proptest::collection::btree_set(number(), 1..4).prop_map(Value::NumberSet),
        proptest::collection::btree_set(bytes_with_nuls().prop_map(Bytes::from), 1..4)
            .prop_map(Value::BytesSet),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::List),
            proptest::collection::vec(("[a-z]{1,4}", inner), 0..4)
                .prop_map(|fields| Value::Map(fields.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn items_round_trip_exactly(fields in proptest::collection::vec(("[a-z.#]{1,5}", value()), 0..6)) {
        let doc: Document = fields.into_iter().collect();
        let back = decode_document(&encode_document(&doc)).unwrap();
        // Debug shows every digit as written, so equal Debug means equal scale too.
        prop_assert_eq!(format!("{back:?}"), format!("{doc:?}"));
        prop_assert_eq!(back, doc);
    }
}

#[test]
fn ordering_examples_from_dynamodb() {
    let n = |t: &str| encode_key_value(&KeyValue::Number(t.parse().unwrap()));
    let texts = [
        "-9.9999999999999999999999999999999999999E+125",
        "-1E+20",
        "-10",
        "-2.5",
        "-1E-130",
        "0",
        "1E-130",
        "0.001",
        "2",
        "10",
        "1E+20",
        "12345678901234567890123456789012345678",
        "9.9999999999999999999999999999999999999E+125",
    ];
    for pair in texts.windows(2) {
        assert_eq!(
            n(pair[0]).cmp(&n(pair[1])),
            Ordering::Less,
            "{} < {}",
            pair[0],
            pair[1]
        );
    }
}
