//! The DynamoDB expression builder: whatever the attribute names, they reach the expression
//! only as placeholders (`#n0`), never as text, and the placeholder map gives them back
//! exactly; values reach it only as `:v0` placeholders.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_core::document::Path;
use store_dynamo::expr::ExpressionBuilder;
use store_dynamo::sdk::types::AttributeValue;

fn safe(expression: &str) -> bool {
    expression
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "#:._[], ()=<>".contains(c))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let parts: Vec<&str> = text.split('\u{1}').collect();
    let mut builder = ExpressionBuilder::new();
    let mut path = Path::attr(parts[0]);
    // Every third part is a list index (its length); the others are attribute names.
    let mut names = vec![parts[0]];
    for (i, part) in parts.iter().enumerate().skip(1) {
        path = if i % 3 == 0 {
            path.index(part.len())
        } else {
            names.push(part);
            path.field(*part)
        };
    }
    let rendered = builder.path(&path);
    assert!(safe(&rendered), "{rendered:?}");
    let condition = builder.condition(&path.clone().eq(names[0]));
    assert!(safe(&condition), "{condition:?}");
    let value = builder.value(AttributeValue::S(text.to_owned()));
    assert!(safe(&value), "{value:?}");
    let (placeholders, _values) = builder.finish();
    let placeholders = placeholders.expect("a path has names");
    for name in &names {
        assert!(
            placeholders.values().any(|n| n == name),
            "{name:?} is missing from {placeholders:?}"
        );
    }
});
