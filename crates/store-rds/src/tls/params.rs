//! Takes `sslmode` and `sslrootcert` out of a connection string: the driver knows neither
//! `verify-ca`/`verify-full` nor `sslrootcert`, so they are read here and the rest is handed
//! on unchanged. Both forms are read: `postgres://…?sslmode=verify-full&sslrootcert=/x.pem`
//! (values percent-decoded) and `host=db sslmode=verify-full sslrootcert='/my certs/x.pem'`
//! (values quoted and escaped as libpq does).

use store_core::StoreError;

use super::{RootCerts, SslMode, TlsSettings};

/// `text` without its TLS settings, and those settings.
pub(crate) fn take_tls_settings(text: &str) -> Result<(String, TlsSettings), StoreError> {
    let mut settings = TlsSettings::default();
    let mut take = |key: &str, value: String| -> Result<bool, StoreError> {
        match key {
            "sslmode" => settings.mode = Some(SslMode::parse(&value)?),
            "sslrootcert" => settings.roots = Some(RootCerts::parse(&value)),
            _ => return Ok(false),
        }
        Ok(true)
    };
    let rest = if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        from_url(text, &mut take)?
    } else {
        from_key_values(text, &mut take)?
    };
    Ok((rest, settings))
}

type Take<'t> = dyn FnMut(&str, String) -> Result<bool, StoreError> + 't;

fn from_url(url: &str, take: &mut Take<'_>) -> Result<String, StoreError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok(url.to_owned());
    };
    let mut kept = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if !take(key, percent_decode(value)?)? {
            kept.push(pair);
        }
    }
    Ok(if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    })
}

fn percent_decode(value: &str) -> Result<String, StoreError> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = value.get(i + 1..i + 3).filter(|h| h.len() == 2);
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        StoreError::invalid_input(format!(
                            "`{value}` in the connection URL has a bad percent escape"
                        ))
                    })?;
                out.push(byte);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| {
        StoreError::invalid_input(format!("`{value}` in the connection URL is not UTF-8"))
    })
}

fn from_key_values(text: &str, take: &mut Take<'_>) -> Result<String, StoreError> {
    let mut kept = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let (raw, key, value, after) = next_pair(rest)?;
        if !take(key, value)? {
            kept.push(raw);
        }
        rest = after.trim_start();
    }
    Ok(kept.join(" "))
}

/// One `key = value` at the start of `text`: its raw text, key, unescaped value, and what
/// follows.
fn next_pair(text: &str) -> Result<(&str, &str, String, &str), StoreError> {
    let bad = || {
        StoreError::invalid_input(format!(
            "invalid PostgreSQL connection string near `{}`",
            text.chars().take(20).collect::<String>()
        ))
    };
    let key_end = text
        .find(|c: char| c == '=' || c.is_whitespace())
        .ok_or_else(bad)?;
    let key = &text[..key_end];
    let after_key = text[key_end..].trim_start();
    let after_eq = after_key.strip_prefix('=').ok_or_else(bad)?.trim_start();
    let value_start = text.len() - after_eq.len();
    let mut value = String::new();
    let mut chars = after_eq.char_indices();
    let quoted = after_eq.starts_with('\'');
    if quoted {
        chars.next();
    }
    let mut end = after_eq.len();
    let mut closed = !quoted;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => value.extend(chars.next().map(|(_, c)| c)),
            '\'' if quoted => {
                end = i + 1;
                closed = true;
                break;
            }
            c if c.is_whitespace() && !quoted => {
                end = i;
                break;
            }
            c => value.push(c),
        }
    }
    if !closed {
        return Err(bad());
    }
    let raw_end = value_start + end;
    Ok((&text[..raw_end], key, value, &text[raw_end..]))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn urls_lose_their_tls_settings_and_keep_the_rest() {
        let (rest, tls) = take_tls_settings(
            "postgres://u:p%40ss@db:5432/app?application_name=x&sslmode=verify-full\
             &sslrootcert=%2Fetc%2Fmy%20certs%2Frds.pem&connect_timeout=3",
        )
        .unwrap();
        assert_eq!(
            rest,
            "postgres://u:p%40ss@db:5432/app?application_name=x&connect_timeout=3"
        );
        assert_eq!(tls.mode, Some(SslMode::VerifyFull));
        assert_eq!(
            tls.roots,
            Some(RootCerts::File(PathBuf::from("/etc/my certs/rds.pem")))
        );
        let (rest, tls) = take_tls_settings("postgresql://db/app?sslrootcert=system").unwrap();
        assert_eq!(rest, "postgresql://db/app");
        assert_eq!((tls.mode, tls.roots), (None, Some(RootCerts::System)));
        assert_eq!(
            take_tls_settings("postgres://db/app").unwrap().0,
            "postgres://db/app"
        );
    }

    #[test]
    fn key_value_strings_are_read_with_quotes_and_escapes() {
        let (rest, tls) = take_tls_settings(
            "host=db  sslmode = verify-ca sslrootcert='/my certs/it\\'s.pem' password='a b'",
        )
        .unwrap();
        assert_eq!(rest, "host=db password='a b'");
        assert_eq!(tls.mode, Some(SslMode::VerifyCa));
        assert_eq!(
            tls.roots,
            Some(RootCerts::File(PathBuf::from("/my certs/it's.pem")))
        );
        assert!(take_tls_settings("host=db sslmode='verify-full").is_err());
        assert!(take_tls_settings("host").is_err());
        let err = take_tls_settings("host=db sslmode=verify").unwrap_err();
        assert!(err.message().contains("verify-ca"), "{err}");
    }
}
