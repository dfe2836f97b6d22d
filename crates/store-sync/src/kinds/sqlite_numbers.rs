//! Numbers a SQLite column would round: a column of INTEGER, REAL or NUMERIC affinity stores a
//! number that is not a 64-bit integer as a REAL, keeping about 15 significant digits. A batch
//! holding one is refused, naming the column and the number, before anything is written;
//! `DECIMAL_TEXT` (TEXT affinity, read back as numbers) keeps every digit.

use store_core::sql::{SqliteAffinity, sqlite_affinity, sqlite_keeps_class};
use store_core::{Number, Result, StoreError, Value};

use crate::kinds::catalog::TableInfo;
use crate::record::canonical_number;
use crate::schema::TableOption;

/// Refuses `rows` (of `columns`) for the SQLite table `table` when a number would be rounded
/// by its column.
pub(super) fn refuse_rounding(
    info: &TableInfo,
    table: &str,
    columns: &[String],
    rows: &[Vec<Value>],
) -> Result<()> {
    let strict = info.options.contains(&TableOption::Strict);
    let rounding: Vec<(usize, &str)> = columns
        .iter()
        .enumerate()
        .filter_map(|(at, name)| {
            let column = info.columns.iter().find(|c| &c.name == name)?;
            let converts = matches!(
                sqlite_affinity(&column.sql_type),
                SqliteAffinity::Integer | SqliteAffinity::Real | SqliteAffinity::Numeric
            );
            (converts && !sqlite_keeps_class(&column.sql_type, strict))
                .then_some((at, column.sql_type.as_str()))
        })
        .collect();
    if rounding.is_empty() {
        return Ok(());
    }
    for row in rows {
        for &(at, sql_type) in &rounding {
            if let Some(Value::Number(number)) = row.get(at)
                && !kept(number)
            {
                return Err(StoreError::invalid_input(format!(
                    "column `{}` of table `{table}` ({sql_type}) would round {number}: SQLite \
                     keeps a number that is not a 64-bit integer there as a REAL (about 15 \
                     digits); declare the column DECIMAL_TEXT to keep every digit",
                    columns[at]
                )));
            }
        }
    }
    Ok(())
}

/// Whether a column of numeric affinity keeps `number`'s value: a 64-bit integer, or a
/// number the nearest `f64` equals.
fn kept(number: &Number) -> bool {
    if number.exponent() >= 0 && number.to_i64().is_some() {
        return true;
    }
    number
        .to_string()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .and_then(|f| Number::try_from(f).ok())
        .is_some_and(|nearest| canonical_number(&nearest) == canonical_number(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_numbers_a_real_cannot_hold_are_rounded() {
        let kept_text = |text: &str| kept(&text.parse().unwrap());
        for ok in [
            "7",
            "-9223372036854775808",
            "1.5",
            "1.50",
            "0.1",
            "123456789012.345",
            "1E+300",
        ] {
            assert!(kept_text(ok), "{ok}");
        }
        for rounded in [
            "12345678901234567890",
            "123456789012345678901234567890123456.78",
            "0.12345678901234567891",
            "1E-400",
            "1E+400",
        ] {
            assert!(!kept_text(rounded), "{rounded}");
        }
    }
}
