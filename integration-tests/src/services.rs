//! Where each service is: environment first, then Docker, else a failure naming the command.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// A service the integration suite needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// PostgreSQL 15.
    Postgres,
    /// S3 (moto or LocalStack).
    S3,
    /// DynamoDB (moto or LocalStack).
    DynamoDb,
    /// OpenSearch 2.19.
    OpenSearch,
    /// Elasticsearch 7.10.2 (Elasticsearch 8 on the Docker path).
    Elasticsearch,
}

impl Service {
    /// The environment variable holding the endpoint.
    pub fn env_var(self) -> &'static str {
        match self {
            Service::Postgres => "STORES_POSTGRES_URL",
            Service::S3 => "STORES_S3_ENDPOINT",
            Service::DynamoDb => "STORES_DYNAMODB_ENDPOINT",
            Service::OpenSearch => "STORES_OPENSEARCH_URL",
            Service::Elasticsearch => "STORES_ELASTICSEARCH_URL",
        }
    }

    /// The name `services/up.sh` knows the service by.
    pub fn script_name(self) -> &'static str {
        match self {
            Service::Postgres => "postgres",
            Service::S3 | Service::DynamoDb => "moto",
            Service::OpenSearch => "opensearch",
            Service::Elasticsearch => "elasticsearch",
        }
    }

    /// The command that starts the service without Docker.
    pub fn start_command(self) -> String {
        format!(
            "just services-up {0}   (or: ./integration-tests/services/up.sh {0})",
            self.script_name()
        )
    }
}

/// Where an endpoint was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Given by the environment or the env file.
    Configured(String),
    /// To be started through testcontainers.
    Docker,
}

/// Decides where a service is, from a variable lookup and whether Docker answers.
///
/// Fails with a message naming the variable and the command that starts the service.
pub fn resolve(
    service: Service,
    lookup: impl Fn(&str) -> Option<String>,
    docker_available: bool,
) -> Result<Resolution, String> {
    if let Some(value) = lookup(service.env_var()).filter(|v| !v.trim().is_empty()) {
        return Ok(Resolution::Configured(value));
    }
    if docker_available {
        return Ok(Resolution::Docker);
    }
    Err(format!(
        "{service:?} is not available: {var} is not set, .services/services.env does not name it, \
         and no Docker engine answers (the Docker path is built with integration-tests' feature \
         `docker`). Start it with: {cmd}",
        var = service.env_var(),
        cmd = service.start_command(),
    ))
}

/// The endpoint of `service`, starting a container if that is the way to get one.
///
/// Panics (failing the test) with the start command when the service cannot be had.
pub async fn endpoint(service: Service) -> String {
    match resolve(service, setting, docker_available()) {
        Ok(Resolution::Configured(url)) => url,
        Ok(Resolution::Docker) => docker_endpoint(service).await,
        Err(message) => panic!("{message}"),
    }
}

/// Whether the Docker path is built in (feature `docker`) and an engine seems reachable.
fn docker_available() -> bool {
    #[cfg(feature = "docker")]
    return crate::docker::available();
    #[cfg(not(feature = "docker"))]
    false
}

#[cfg(feature = "docker")]
async fn docker_endpoint(service: Service) -> String {
    crate::docker::endpoint(service)
        .await
        .unwrap_or_else(|e| panic!("starting {service:?} in Docker failed: {e:#}"))
}

#[cfg(not(feature = "docker"))]
async fn docker_endpoint(service: Service) -> String {
    unreachable!("{service:?}: the Docker path is not built in")
}

/// A setting from the process environment, else from `.services/services.env`.
pub fn setting(name: &str) -> Option<String> {
    crate::trace_capture::install();
    std::env::var(name)
        .ok()
        .or_else(|| env_file().get(name).cloned())
}

/// The repository's top folder.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// Every setting of `.services/services.env`.
pub(crate) fn env_file_entries() -> impl Iterator<Item = (String, String)> {
    env_file().iter().map(|(k, v)| (k.clone(), v.clone()))
}

fn env_file() -> &'static HashMap<String, String> {
    static FILE: OnceLock<HashMap<String, String>> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = repo_root().join(".services").join("services.env");
        std::fs::read_to_string(path)
            .map(|text| parse_env_file(&text))
            .unwrap_or_default()
    })
}

/// Parses `export NAME=value` / `NAME=value` lines, ignoring comments and blank lines.
pub fn parse_env_file(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| {
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (name, value) = line.split_once('=')?;
            let value = value.trim().trim_matches(|c| c == '"' || c == '\'');
            Some((name.trim().to_owned(), value.to_owned()))
        })
        .collect()
}

/// Kills `service`'s server and starts it again on its data directory, returning once it
/// answers (`services/<name>.sh restart`: PostgreSQL's immediate shutdown, SIGKILL for the
/// search nodes). Panics with the script's output when it fails or the service cannot restart
/// (moto and s3s-fs keep no data across a restart; their tests use the fault proxy instead).
pub async fn restart(service: Service) {
    let script = repo_root()
        .join("integration-tests/services")
        .join(format!("{}.sh", service.script_name()));
    let output = tokio::process::Command::new("bash")
        .arg(&script)
        .arg("restart")
        .output()
        .await
        .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
    assert!(
        output.status.success(),
        "{} restart failed ({}):\n{}{}",
        script.display(),
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins() {
        let found = resolve(Service::Postgres, |_| Some("postgres://x".into()), true);
        assert_eq!(found, Ok(Resolution::Configured("postgres://x".into())));
    }

    #[test]
    fn docker_is_used_when_nothing_is_configured() {
        assert_eq!(resolve(Service::S3, |_| None, true), Ok(Resolution::Docker));
    }

    #[test]
    fn missing_service_fails_naming_the_variable_and_start_command() {
        for service in [
            Service::Postgres,
            Service::S3,
            Service::DynamoDb,
            Service::OpenSearch,
            Service::Elasticsearch,
        ] {
            let err = resolve(service, |_| None, false).unwrap_err();
            assert!(err.contains(service.env_var()), "{err}");
            assert!(err.contains("just services-up"), "{err}");
            assert!(err.contains(service.script_name()), "{err}");
        }
        let blank = resolve(Service::OpenSearch, |_| Some("  ".into()), false);
        assert!(
            blank.is_err(),
            "a blank variable must not count as configured"
        );
    }

    #[test]
    fn env_file_lines_parse() {
        let vars = parse_env_file(
            "# written by up.sh\nexport STORES_S3_ENDPOINT=http://127.0.0.1:55000\nAWS_REGION='us-east-1'\n\n",
        );
        assert_eq!(vars["STORES_S3_ENDPOINT"], "http://127.0.0.1:55000");
        assert_eq!(vars["AWS_REGION"], "us-east-1");
        assert_eq!(vars.len(), 2);
    }
}
