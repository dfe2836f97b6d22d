//! Benchmark of store-s3 against a local S3 server, with baselines measured in the same run.
//!
//! ```text
//! crates/store-s3/bench/run.sh [--server moto|s3s] [--size-mib 1024] [--small-ops 2000]
//!     [--rounds 3] [--concurrency N] [--download-concurrency N] [--part-mib N]
//! ```
//!
//! - upload then download of a file (1 GiB by default) through `upload_file` /
//!   `download_file` of an `S3Store`, against boto3's `upload_file` / `download_file` with the
//!   default `TransferConfig` (`bench/boto3_baseline.py`, run from `.services/venv-bench`,
//!   created with boto3 on first use; `BENCH_PYTHON` names another interpreter), against AWS's
//!   Rust transfer manager with its defaults (`bench/transfer-manager`, a program built by
//!   `bench/run.sh`, named by `BENCH_TRANSFER_MANAGER`), and against the server's ceiling: one
//!   presigned streaming `PUT` and `GET` of the whole file by `curl`;
//! - small puts and gets through the store against the raw `aws_sdk_s3::Client` calls;
//! - the peak RSS above the process's baseline during our large transfers.
//!
//! Every contender runs once at full size to warm the server, then `--rounds` rounds run them
//! in rotated order; each comparison prints as `bench <name>: ours <median> [min–max] vs
//! <baseline> <median> [min–max] = <ratio>x` (MiB/s for transfers: above 1, ours is faster;
//! ms per operation for small ones: below 1, ours is faster).
//!
//! `--server moto` (the default) uses `STORES_S3_ENDPOINT`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`; `--server s3s` uses the s3s-fs server of the harness
//! (`STORES_S3_VERIFYING_ENDPOINT`, `…_ACCESS_KEY`, `…_SECRET_KEY`); both from the environment,
//! else from the harness's `.services/services.env`.

mod large;
mod small;
mod support;

use store_s3::S3Store;

const MIB: u64 = 1024 * 1024;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
        .or_else(|| {
            let var =
                format!("BENCH_{}", name.trim_start_matches("--").replace('-', "_")).to_uppercase();
            std::env::var(var).ok()
        })
        .unwrap_or_else(|| default.to_owned())
}

fn number(name: &str, default: u64) -> Result<u64, BoxError> {
    let text = arg(name, &default.to_string());
    text.replace('_', "")
        .parse()
        .map_err(|e| format!("{name} {text}: {e}").into())
}

/// The server to measure against: its endpoint and credentials.
pub(crate) struct Server {
    pub(crate) name: String,
    /// The server's process, when it runs here: its CPU time per transfer is reported.
    pub(crate) process: Option<store_core::testkit::bench::ServerProcess>,
    endpoint: String,
    access: String,
    secret: String,
    region: String,
}

impl Server {
    fn from_settings(name: &str) -> Result<Server, BoxError> {
        let settings = support::settings();
        let get = |key: &str| settings.get(key).cloned();
        let (endpoint, access, secret) = match name {
            "moto" => (
                get("STORES_S3_ENDPOINT").or_else(|| get("AWS_ENDPOINT_URL")),
                get("AWS_ACCESS_KEY_ID").unwrap_or_else(|| "test".into()),
                get("AWS_SECRET_ACCESS_KEY").unwrap_or_else(|| "test".into()),
            ),
            "s3s" => (
                get("STORES_S3_VERIFYING_ENDPOINT"),
                get("STORES_S3_VERIFYING_ACCESS_KEY").ok_or("no s3s access key")?,
                get("STORES_S3_VERIFYING_SECRET_KEY").ok_or("no s3s secret key")?,
            ),
            other => return Err(format!("--server {other}: expected moto or s3s").into()),
        };
        let endpoint = endpoint.ok_or_else(|| {
            format!("no {name} endpoint: start it with `just services-up {name}`")
        })?;
        let pid_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../.services")
            .join(format!("{name}/{name}.pid"));
        Ok(Server {
            process: store_core::testkit::bench::ServerProcess::from_pid_file(&pid_file),
            name: name.to_owned(),
            endpoint,
            access,
            secret,
            region: get("AWS_REGION").unwrap_or_else(|| "us-east-1".into()),
        })
    }

    /// The environment a baseline child process needs (credentials and region).
    pub(crate) fn child_env(&self) -> [(&'static str, &str); 3] {
        [
            ("AWS_ACCESS_KEY_ID", &self.access),
            ("AWS_SECRET_ACCESS_KEY", &self.secret),
            ("AWS_REGION", &self.region),
        ]
    }
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let server = Server::from_settings(&arg("--server", "moto"))?;
    let size_mib = number("--size-mib", 1024)?;
    let small_ops = number("--small-ops", 2000)? as usize;
    let rounds = number("--rounds", 3)?.max(1) as usize;
    let defaults = store_s3::TransferConfig::default();
    let transfer = store_s3::TransferConfig {
        concurrency: number("--concurrency", defaults.concurrency as u64)? as usize,
        download_concurrency: number(
            "--download-concurrency",
            defaults.download_concurrency as u64,
        )? as usize,
        part_size: number("--part-mib", defaults.part_size / MIB)? * MIB,
        ..defaults
    };
    let bucket = format!(
        "bench-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis()
            % 1_000_000
    );
    let store = S3Store::builder(&bucket)
        .endpoint(&server.endpoint)
        .region(&server.region)
        .force_path_style(true)
        .static_credentials(&server.access, &server.secret)
        .transfer(transfer)
        .build()
        .await?;
    store.create_bucket().await?;
    println!(
        "bench s3 on {} ({}): a {size_mib} MiB file, {small_ops} small operations; {rounds} \
         rounds after a warm-up run of each contender",
        server.name, server.endpoint
    );
    let outcome = async {
        large::transfers(&store, &server, size_mib * MIB, rounds).await?;
        small::operations(&store, small_ops, rounds).await
    }
    .await;
    // The benchmark's own error first; a failed clean-up only when the benchmark passed.
    let cleaned = store.empty_and_delete_bucket().await;
    outcome?;
    Ok(cleaned?)
}
