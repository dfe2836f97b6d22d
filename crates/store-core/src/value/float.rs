//! When a double stands for a [`Number`] exactly: only when the number is the one decimal
//! every shortest-round-trip printer (Rust's, ryu's as serde_json uses it) gives for that
//! double. A number handed over as such a double comes back with the same digits from any
//! format.

use super::Number;

/// The double that prints back as exactly `n` under any shortest-round-trip printer, if there
/// is one.
pub(crate) fn unambiguous_f64(n: &Number) -> Option<f64> {
    let x = n.to_f64();
    if !x.is_finite() || Number::try_from(x).ok().as_ref() != Some(n) {
        return None;
    }
    // At 15 significant digits or fewer, at most one decimal of that length rounds to a given
    // double, so every printer gives it.
    let digits = n.significant_digits();
    if digits <= 15 {
        return Some(x);
    }
    // Longer: the double may lie exactly halfway between two decimals of that length, and
    // printers then differ (`122211111222221.12` from serde_json, `…13` from Rust).
    (!halfway(x, digits)).then_some(x)
}

/// Whether `x`'s exact value lies exactly halfway between two decimals of `digits`
/// significant digits.
fn halfway(x: f64, digits: usize) -> bool {
    // Exact: a double's decimal expansion has at most 767 significant digits.
    let exact = format!("{:.800e}", x.abs());
    let mantissa: String = exact
        .split('e')
        .next()
        .unwrap_or_default()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let rest = mantissa.get(digits..).unwrap_or_default();
    rest.starts_with('5') && rest.bytes().skip(1).all(|b| b == b'0')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(text: &str) -> Number {
        text.parse().expect("number")
    }

    #[test]
    fn short_and_unique_decimals_are_doubles_and_ties_are_not() {
        assert_eq!(unambiguous_f64(&number("0.1")), Some(0.1));
        assert_eq!(
            unambiguous_f64(&number("0.30000000000000004")),
            Some(0.1 + 0.2)
        );
        // Exactly halfway between …12 and …13: neither is the double's one decimal.
        assert_eq!(unambiguous_f64(&number("122211111222221.13")), None);
        assert_eq!(unambiguous_f64(&number("122211111222221.12")), None);
        // More digits than any double holds.
        assert_eq!(unambiguous_f64(&number("0.1000000000000000000001")), None);
    }
}
