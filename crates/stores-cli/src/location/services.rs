//! The locations of the services reached over a network: `postgres://` (a password written
//! in the URL, before the host or as a parameter, kept out of every message) and
//! `opensearch://` / `elasticsearch://`.

use super::query_text::{percent_decode, percent_encode};
use super::{Location, LocationError, bad, take_table};

/// The parameters of a PostgreSQL URL that hold a secret (libpq's `password` and
/// `sslpassword`), shown as `***`.
const SECRET_PARAMS: [&str; 2] = ["password", "sslpassword"];

pub(super) fn parse_postgres(
    scheme: &str,
    body: &str,
    mut query: Vec<(String, String)>,
) -> Result<Location, LocationError> {
    let table = take_table(scheme, &mut query)?;
    let (authority, path) = body.split_once('/').unwrap_or((body, ""));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    let (user, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (Some(user), Some(password)),
            None => (Some(info), None),
        },
        None => (None, None),
    };
    // libpq takes a password as a parameter too: it is as secret there as before the host.
    let secret_param = |name: &str| SECRET_PARAMS.contains(&name.to_ascii_lowercase().as_str());
    let rest = |redact: bool| {
        if query.is_empty() {
            return String::new();
        }
        let pairs: Vec<String> = query
            .iter()
            .map(|(k, v)| {
                let v = if redact && secret_param(k) {
                    "***".to_owned()
                } else {
                    percent_encode(v)
                };
                format!("{}={v}", percent_encode(k))
            })
            .collect();
        format!("?{}", pairs.join("&"))
    };
    let query_password = query
        .iter()
        .find(|(k, v)| secret_param(k) && !v.is_empty())
        .map(|(_, v)| v.as_str());
    let path = if path.is_empty() {
        String::new()
    } else {
        format!("/{path}")
    };
    let userinfo = |password: Option<&str>| match (user, password) {
        (Some(user), Some(password)) => format!("{user}:{password}@"),
        (Some(user), None) => format!("{user}@"),
        (None, _) => String::new(),
    };
    Ok(Location::Postgres {
        url: format!(
            "{scheme}://{}{host}{path}{}",
            userinfo(password),
            rest(false)
        ),
        redacted: format!(
            "{scheme}://{}{host}{path}{}",
            userinfo(password.map(|_| "***")),
            rest(true)
        ),
        password: password.or(query_password).map(str::to_owned),
        table,
    })
}

pub(super) fn parse_opensearch(
    elastic: bool,
    https: bool,
    body: &str,
) -> Result<Location, LocationError> {
    let (authority, index) = body.split_once('/').unwrap_or((body, ""));
    let index = percent_decode(index.trim_end_matches('/'))?;
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    if host.is_empty() || index.is_empty() || index.contains('/') {
        return Err(bad(
            "a search location is opensearch://HOST:PORT/INDEX or elasticsearch://HOST:PORT/INDEX \
             (or +https), e.g. opensearch://localhost:9200/articles",
        ));
    }
    let (user, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (Some(percent_decode(user)?), Some(password.to_owned())),
            None => (Some(percent_decode(info)?), None),
        },
        None => (None, None),
    };
    Ok(Location::OpenSearch {
        elastic,
        https,
        host: host.to_owned(),
        index,
        user,
        password,
    })
}
