use super::*;

fn n(s: &str) -> Number {
    s.parse().unwrap()
}

#[test]
fn keeps_every_digit_and_the_scale() {
    for text in [
        "0",
        "1.50",
        "-0.001",
        "12345678901234567890123456789012345678",
        "0.12345678901234567890123456789012345678",
        "-99999999999999999999999999999999999999",
        "1234567890123456789012345678.0123456789",
    ] {
        assert_eq!(n(text).to_string(), text);
    }
}

#[test]
fn dynamodb_range_edges_round_trip() {
    let smallest = n("1E-130");
    assert_eq!(smallest.to_string(), "1E-130");
    assert_eq!(n(&smallest.to_string()), smallest);
    let largest = n("9.9999999999999999999999999999999999999E+125");
    assert_eq!(largest.significant_digits(), 38);
    assert_eq!(largest.adjusted_exponent(), 125);
    assert_eq!(
        n(&largest.to_string()).to_plain_string(),
        largest.to_plain_string()
    );
    assert_eq!(n(&largest.to_plain_string()), largest);
}

#[test]
fn comparison_is_numeric() {
    assert_eq!(n("1.50"), n("1.5"));
    assert_eq!(n("-0"), n("0.000"));
    assert!(n("-2") < n("-1.5"));
    assert!(n("0.1") < n("0.10001"));
    assert!(n("1E+3") > n("999.999"));
    assert!(n("-1E-130") < n("0"));
}

#[test]
fn rejects_garbage_nan_and_infinity() {
    for text in [
        "", "-", ".", "1e", "1.2.3", "NaN", "inf", " 1", "1 ", "0x10", "1e+",
    ] {
        assert!(text.parse::<Number>().is_err(), "{text:?} parsed");
    }
    assert!(Number::try_from(f64::INFINITY).is_err());
    assert!(Number::try_from(f64::NAN).is_err());
}

#[test]
fn floats_convert_to_their_shortest_decimal() {
    assert_eq!(Number::try_from(0.1f64).unwrap().to_string(), "0.1");
    assert_eq!(Number::try_from(-2.5e-10f64).unwrap().to_f64(), -2.5e-10);
}

#[test]
fn integer_conversions_are_exact() {
    assert_eq!(n("1.0E+2").to_i64(), Some(100));
    assert_eq!(n("1.5").to_i64(), None);
    assert_eq!(Number::from(u64::MAX).to_u64(), Some(u64::MAX));
    assert_eq!(Number::from(i128::MIN).to_i128(), Some(i128::MIN));
    assert_eq!(n("-1").to_u64(), None);
}

#[test]
fn addition_is_exact() {
    let sum = n("0.1").checked_add(&n("0.2")).unwrap();
    assert_eq!(sum.to_string(), "0.3");
    assert_eq!(
        n("5").checked_add(&n("-7.25")).unwrap().to_string(),
        "-2.25"
    );
    assert_eq!(
        n("1E+20").checked_add(&n("1")).unwrap().to_string(),
        "100000000000000000001"
    );
    assert!(n("-3").checked_add(&n("3")).unwrap().is_zero());
}

#[test]
fn to_f64_rounds_as_parsing_the_decimal_text_does() {
    // Both sides of the fast path's limits (15 digits, 10^±22) and far beyond them.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move |bound: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % bound
    };
    for _ in 0..50_000 {
        let len = 1 + next(20) as usize;
        let digits: String = (0..len)
            .map(|i| match i {
                0 => char::from(b'1' + next(9) as u8),
                _ => char::from(b'0' + next(10) as u8),
            })
            .collect();
        let exponent = next(70) as i64 - 35;
        let sign = if next(2) == 0 { "" } else { "-" };
        let text = format!("{sign}{digits}e{exponent}");
        let expected: f64 = text.parse().unwrap();
        assert_eq!(n(&text).to_f64().to_bits(), expected.to_bits(), "{text}");
    }
    assert_eq!(n("0").to_f64().to_bits(), 0.0f64.to_bits());
    assert_eq!(
        n("-0.00").to_f64().to_bits(),
        0.0f64.to_bits(),
        "zero has no sign"
    );
    assert_eq!(n("999999999999999e-22").to_f64(), 999999999999999e-22);
    assert_eq!(n("999999999999999e22").to_f64(), 999999999999999e22);
    assert_eq!(n("123456789012345e22").to_f64(), 123456789012345e22);
    assert_eq!(n("-1E-22").to_f64(), -1e-22);
}

#[test]
fn display_writes_plain_text_without_a_buffer_as_to_plain_string_does() {
    for text in ["0", "-1.50", "1e3", "0.000123", "-98765.4321", "1e-40"] {
        let number = n(text);
        assert_eq!(number.to_string(), number.to_plain_string(), "{text}");
    }
    assert_eq!(n("1e3").to_string(), "1000");
    assert_eq!(n("-0.0050").to_string(), "-0.0050");
}

#[test]
fn to_i64_agrees_with_the_wide_conversion_at_every_length() {
    let wide = |x: &Number| x.to_i128().and_then(|v| i64::try_from(v).ok());
    let mut texts: Vec<String> = [
        "0", "-0", "7", "-7", "1E17", "12E16", "-12E16", "1E18", "1E19", "9.9E17", "1.0E+2",
        "100.00", "-100.0", "0.5E1", "1.5",
    ]
    .iter()
    .map(|t| (*t).to_owned())
    .collect();
    for digits in 1..=20 {
        let nines = "9".repeat(digits);
        texts.push(nines.clone());
        texts.push(format!("-{nines}"));
        texts.push(format!("1{}", "0".repeat(digits)));
    }
    texts.extend([i64::MAX.to_string(), i64::MIN.to_string()]);
    texts.push(format!("{}", i128::from(i64::MAX) + 1));
    texts.push(format!("{}", i128::from(i64::MIN) - 1));
    for text in &texts {
        let number = n(text);
        assert_eq!(number.to_i64(), wide(&number), "{text}");
    }
    assert_eq!(n(&i64::MIN.to_string()).to_i64(), Some(i64::MIN));
}

#[test]
fn integers_become_numbers_with_every_digit_and_their_sign() {
    let texts_of = |number: Number| (number.to_string(), number.is_negative());
    assert_eq!(texts_of(Number::from(0i64)), ("0".into(), false));
    assert_eq!(texts_of(Number::from(-1i8)), ("-1".into(), true));
    assert_eq!(texts_of(Number::from(i8::MIN)).0, i8::MIN.to_string());
    assert_eq!(texts_of(Number::from(i64::MIN)).0, i64::MIN.to_string());
    assert_eq!(texts_of(Number::from(i128::MIN)).0, i128::MIN.to_string());
    assert_eq!(texts_of(Number::from(u128::MAX)).0, u128::MAX.to_string());
    assert_eq!(texts_of(Number::from(usize::MAX)).0, usize::MAX.to_string());
    assert_eq!(Number::from(1_000_000u32), n("1E6"));
    // Every length and sign of i64, and the neighbours of each power of ten.
    let mut power: i64 = 1;
    for _ in 0..19 {
        for value in [
            power - 1,
            power,
            power + 1,
            -power + 1,
            -power,
            -power - 1,
            power * 7,
        ] {
            assert_eq!(Number::from(value).to_string(), value.to_string());
            assert_eq!(Number::from(value), n(&value.to_string()), "{value}");
        }
        power = power.saturating_mul(10);
    }
}
