//! Unit tests of condition evaluation and item checks.

use std::collections::BTreeSet;

use super::*;
use crate::document::MAX_ITEM_BYTES;
use crate::document::attr;
use crate::document::validate::*;
use crate::keys::{DocKey, KeyAttribute, KeyType};
use crate::value::Number;

fn num(s: &str) -> Number {
    s.parse().unwrap()
}

fn item() -> Document {
    Document::new()
        .with("n", 10)
        .with("s", "hello")
        .with("b", bytes::Bytes::from_static(b"\x01\x02\x03"))
        .with("list", vec![Value::from(1), Value::from("x")])
        .with(
            "map",
            Document::new().with("inner", 5).with("a.b", "dotted"),
        )
        .with(
            "tags",
            Value::StringSet(BTreeSet::from(["red".into(), "blue".into()])),
        )
        .with("nothing", Value::Null)
}

fn holds(c: Condition) -> bool {
    check_condition(&c).unwrap();
    eval_condition(&c, Some(&item()))
}

#[test]
fn comparisons_across_types_are_false_but_not_equal_is_true() {
    assert!(!holds(attr("n").eq("10")));
    assert!(!holds(attr("n").lt("99")));
    assert!(!holds(attr("s").gt(1)));
    assert!(!holds(attr("n").between("0", "z")));
    assert!(holds(attr("n").ne("10")));
    assert!(holds(attr("missing").ne(1)));
    assert!(!holds(attr("missing").eq(Value::Null)));
    assert!(holds(attr("nothing").eq(Value::Null)));
}

#[test]
fn numbers_compare_numerically_and_strings_by_bytes() {
    assert!(holds(attr("n").eq(num("10.000"))));
    assert!(holds(attr("n").gt(9)));
    assert!(holds(attr("n").lt(num("1E+1")).not()));
    assert!(holds(attr("s").lt("hellp")));
    assert!(holds(attr("s").gt("Hello")));
    assert!(holds(attr("n").between(10, 10)));
    assert!(holds(attr("b").gt(bytes::Bytes::from_static(b"\x01\x02"))));
}

#[test]
fn functions_follow_dynamodb() {
    assert!(holds(attr("s").begins_with("he")));
    assert!(!holds(attr("n").begins_with("1")));
    assert!(holds(
        attr("b").begins_with(bytes::Bytes::from_static(b"\x01"))
    ));
    assert!(holds(attr("s").contains("ell")));
    assert!(holds(attr("tags").contains("red")));
    assert!(!holds(attr("tags").contains("green")));
    assert!(holds(attr("list").contains("x")));
    assert!(holds(attr("s").size().eq(5)));
    assert!(holds(attr("tags").size().eq(2)));
    assert!(holds(attr("map").size().eq(2)));
    assert!(!holds(attr("n").size().ge(0)));
    assert!(!holds(attr("missing").size().ge(0)));
    assert!(holds(attr("n").is_in([1, 10])));
    assert!(!holds(attr("n").is_in(["10"])));
}

#[test]
fn paths_reach_into_maps_and_lists() {
    assert!(holds(attr("map").field("inner").eq(5)));
    assert!(holds(attr("map").field("a.b").eq("dotted")));
    assert!(holds(attr("list").index(1).eq("x")));
    assert!(!holds(attr("list").index(2).exists()));
    assert!(!holds(attr("s").index(0).exists()));
    assert!(holds(attr("map").field("nope").not_exists()));
}

#[test]
fn a_missing_item_has_no_attributes() {
    assert!(eval_condition(&attr("id").not_exists(), None));
    assert!(!eval_condition(&attr("id").exists(), None));
    assert!(eval_condition(&attr("id").ne("x"), None));
    assert!(!eval_condition(
        &attr("id").eq("x").or(attr("n").gt(1)),
        None
    ));
}

#[test]
fn malformed_conditions_are_rejected() {
    let bad = [
        attr("n").lt(true),
        attr("n").gt(Value::List(vec![])),
        attr("n").between(5, 1),
        attr("n").between(1, "5"),
        attr("s").begins_with(1),
        Condition::In(Path::attr("n"), vec![]),
        Condition::And(vec![]),
        attr("").exists(),
        attr("x").eq(Value::StringSet(BTreeSet::new())),
        attr("x").eq(num("1234567890123456789012345678901234567890")),
    ];
    for c in bad {
        let err = check_condition(&c).unwrap_err();
        assert_eq!(err.kind(), crate::ErrorKind::InvalidInput, "{c:?}");
    }
}

#[test]
fn numbers_are_held_to_dynamodb_limits() {
    for ok in [
        "1E-130",
        "9.9999999999999999999999999999999999999E+125",
        "-1E-130",
        "0",
    ] {
        assert!(check_number(&num(ok)).is_ok(), "{ok}");
    }
    for bad in [
        "1E-131",
        "1E+126",
        "123456789012345678901234567890123456789",
    ] {
        assert!(check_number(&num(bad)).is_err(), "{bad}");
    }
    assert!(check_number(&num("12345678901234567890123456789012345678000")).is_ok());
}

#[test]
fn sort_conditions_check_types_and_match() {
    let sort = KeyAttribute::new("sk", KeyType::Number);
    assert!(check_sort_condition(&SortCondition::Eq("1".into()), Some(&sort)).is_err());
    assert!(check_sort_condition(&SortCondition::BeginsWith("1".into()), Some(&sort)).is_err());
    assert!(check_sort_condition(&SortCondition::Eq(1.into()), None).is_err());
    let ten = KeyValue::Number(10.into());
    assert!(sort_matches(&SortCondition::Gt(9.into()), &ten));
    assert!(sort_matches(
        &SortCondition::Between(10.into(), 11.into()),
        &ten
    ));
    assert!(!sort_matches(&SortCondition::Lt(2.into()), &ten));
    let text = KeyValue::String("order#2024-01".into());
    assert!(sort_matches(
        &SortCondition::BeginsWith("order#2024".into()),
        &text
    ));
}

#[test]
fn items_over_the_size_limit_are_rejected_naming_the_key() {
    let key = DocKey::partition("big");
    let item = Document::new()
        .with("id", "big")
        .with("blob", "x".repeat(MAX_ITEM_BYTES));
    let err = check_item(&item, &key).unwrap_err();
    assert!(err.message().contains("big"), "{err}");
}
