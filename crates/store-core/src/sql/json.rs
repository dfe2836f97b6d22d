//! JSON text with exact numbers, for the JSON columns of SQL backends.
//!
//! serde_json (without its `arbitrary_precision` feature) reads numbers through `f64` or
//! 64-bit integers, which would lose digits of a 30-digit integer; [`write()`] and [`parse()`]
//! keep every digit the text has, so a [`Value::Map`] stored in a `jsonb` (PostgreSQL) or
//! `JSON` (SQLite) column comes back equal.
//!
//! ```
//! use store_core::{Document, Number, Value};
//! use store_core::sql::json;
//!
//! let price: Number = "12.50".parse()?;
//! let doc = Value::Map(Document::new().with("price", price));
//! let mut text = String::new();
//! json::write(&doc, &mut text);
//! assert_eq!(text, r#"{"price":12.50}"#);
//! assert_eq!(json::parse(text.as_bytes())?, doc);
//! # Ok::<_, store_core::StoreError>(())
//! ```

use crate::error::StoreError;
use crate::value::{Document, Number, Value};

/// The deepest nesting accepted when parsing.
const MAX_DEPTH: usize = 512;

/// Writes `value` as JSON text. Bytes become base64 strings and sets arrays, as
/// [`to_json`](crate::to_json) does; numbers are written with all their digits.
pub fn write(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(n, out),
        Value::String(s) => write_string(s, out),
        Value::List(items) => write_seq(items.iter(), out, write),
        Value::Map(doc) => {
            out.push('{');
            for (i, (k, v)) in doc.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(k, out);
                out.push(':');
                write(v, out);
            }
            out.push('}');
        }
        Value::StringSet(set) => write_seq(set.iter(), out, |s, o| write_string(s, o)),
        Value::NumberSet(set) => write_seq(set.iter(), out, write_number),
        Value::Bytes(_) | Value::BytesSet(_) => {
            out.push_str(&crate::value::to_json(value).to_string());
        }
    }
}

fn write_seq<T>(items: impl Iterator<Item = T>, out: &mut String, each: impl Fn(T, &mut String)) {
    out.push('[');
    for (i, item) in items.enumerate() {
        if i > 0 {
            out.push(',');
        }
        each(item, out);
    }
    out.push(']');
}

fn write_number(n: &Number, out: &mut String) {
    // Display is plain or `d.dddE±x`, both valid JSON numbers.
    out.push_str(&n.to_string());
}

fn write_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Parses JSON text into a [`Value`]: objects become maps (keys in text order), numbers exact.
/// Text that is not JSON is `InvalidInput`, saying at which byte.
pub fn parse(text: &[u8]) -> Result<Value, StoreError> {
    let mut p = Parser { s: text, i: 0 };
    p.ws();
    let v = p.value(0)?;
    p.ws();
    if p.i != p.s.len() {
        return Err(p.err("trailing characters"));
    }
    Ok(v)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> StoreError {
        StoreError::invalid_input(format!("malformed JSON at byte {}: {what}", self.i))
    }

    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &[u8]) -> bool {
        if self.s[self.i..].starts_with(lit) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, StoreError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut doc = Document::new();
                self.ws();
                if self.eat(b"}") {
                    return Ok(Value::Map(doc));
                }
                loop {
                    self.ws();
                    let key = self.string()?;
                    self.ws();
                    if !self.eat(b":") {
                        return Err(self.err("expected `:`"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    doc.insert(key, v);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"}") {
                        return Ok(Value::Map(doc));
                    }
                    return Err(self.err("expected `,` or `}`"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.eat(b"]") {
                    return Ok(Value::List(items));
                }
                loop {
                    self.ws();
                    items.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(b",") {
                        continue;
                    }
                    if self.eat(b"]") {
                        return Ok(Value::List(items));
                    }
                    return Err(self.err("expected `,` or `]`"));
                }
            }
            Some(b'"') => Ok(Value::String(self.string()?)),
            Some(b't') if self.eat(b"true") => Ok(Value::Bool(true)),
            Some(b'f') if self.eat(b"false") => Ok(Value::Bool(false)),
            Some(b'n') if self.eat(b"null") => Ok(Value::Null),
            Some(b'-' | b'0'..=b'9') => {
                let start = self.i;
                while matches!(
                    self.s.get(self.i),
                    Some(b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                ) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i])
                    .map_err(|_| self.err("bad number"))?;
                let n: Number = text.parse().map_err(|_| self.err("bad number"))?;
                Ok(Value::Number(n))
            }
            _ => Err(self.err("expected a value")),
        }
    }

    fn string(&mut self) -> Result<String, StoreError> {
        if !self.eat(b"\"") {
            return Err(self.err("expected a string"));
        }
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.i) else {
                return Err(self.err("unterminated string"));
            };
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.i) else {
                        return Err(self.err("unterminated escape"));
                    };
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if !self.eat(b"\\u") {
                                    return Err(self.err("lone surrogate"));
                                }
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3ff)
                            } else {
                                hi
                            };
                            char::from_u32(code).ok_or_else(|| self.err("bad \\u escape"))?
                        }
                        _ => return Err(self.err("bad escape")),
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                other => out.push(other),
            }
        }
        String::from_utf8(out).map_err(|_| self.err("invalid UTF-8"))
    }

    fn hex4(&mut self) -> Result<u32, StoreError> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok())
            .ok_or_else(|| self.err("bad \\u escape"))?;
        self.i += 4;
        Ok(digits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_exact_numbers_and_escapes() {
        let doc = Document::new()
            .with(
                "big",
                "123456789012345678901234567890".parse::<Number>().unwrap(),
            )
            .with("price", "12.50".parse::<Number>().unwrap())
            .with("text", "quote \" slash \\ nl \n tab \t bell \u{7} 🎉")
            .with("list", vec![Value::Null, true.into(), Value::from(-3)])
            .with("empty", Document::new());
        let mut text = String::new();
        write(&Value::Map(doc.clone()), &mut text);
        let back = parse(text.as_bytes()).unwrap();
        assert_eq!(back, Value::Map(doc));
        let price = back.as_map().unwrap().get("price").unwrap();
        assert_eq!(price.as_number().unwrap().to_string(), "12.50");
    }

    #[test]
    fn surrogate_pairs_and_garbage() {
        assert_eq!(parse(br#""\ud83c\udf89""#).unwrap(), Value::from("🎉"));
        assert!(parse(b"{\"a\":}").is_err());
        assert!(parse(b"[1,2").is_err());
        assert!(parse(b"1 2").is_err());
    }
}
