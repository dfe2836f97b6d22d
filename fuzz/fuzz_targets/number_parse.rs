//! `Number` parsing: any text is a number or a typed error, never a panic; a number prints
//! as text that parses back to an equal number.
#![no_main]

use libfuzzer_sys::fuzz_target;
use store_core::Number;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(number) = text.parse::<Number>() {
        let printed = number.to_string();
        let again: Number = printed.parse().unwrap_or_else(|e| {
            panic!("{text:?} printed as {printed:?}, which does not parse: {e}")
        });
        assert_eq!(again, number, "{text:?} -> {printed:?}");
        assert_eq!(again.cmp(&number), std::cmp::Ordering::Equal);
    }
});
