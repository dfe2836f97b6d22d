//! HTTPS with a private CA, as a secured cluster (Elasticsearch 8's `http_ca.crt`) is reached:
//! the node behind a TLS terminator whose certificate a throwaway CA signed for `localhost`.
//! With that CA trusted (`ca_file`) everything works; without it, with another CA, or under a
//! host name the certificate does not name, nothing is sent.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use store_core::search::{IndexOptions, IndexSpec};
use store_core::{Document, SearchIndex};
use store_search::OpenSearchIndex;

use super::support::url;

/// Runs openssl with `args` in `dir`, failing the test on an error.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`<name>.pem`, `<name>.key`) made in `dir`.
fn make_ca(dir: &Path, name: &str) {
    let (pem, key, subject) = (
        format!("{name}.pem"),
        format!("{name}.key"),
        format!("/CN=stores test {name}"),
    );
    openssl(
        dir,
        &[
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", &subject,
            "-keyout", &key, "-out", &pem,
        ],
    );
}

/// `server.pem` / `server.key` for the name `localhost` only, signed by the CA `ca`.
fn make_server_certificate(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=DNS:localhost\n").unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
}

/// The TLS terminator in front of the node, and the port it listens on.
fn start_proxy(dir: &Path, upstream: &str) -> (Child, u16) {
    let script =
        integration_tests::services::repo_root().join("integration-tests/services/tls_proxy.py");
    let mut child = Command::new("python3")
        .arg(script)
        .args(["server.pem", "server.key", upstream])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let port = line
        .strip_prefix("LISTENING ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("tls_proxy.py said {line:?}"));
    (child, port)
}

#[tokio::test]
async fn https_with_a_private_ca_is_verified() {
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path(), "ca");
    make_ca(dir.path(), "other");
    make_server_certificate(dir.path());
    let upstream = url().await;
    let upstream = upstream
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let (mut proxy, port) = start_proxy(dir.path(), &upstream);
    let name = integration_tests::names::unique_name("tls");
    let open = |host: &str, ca: Option<&str>| {
        let mut builder = OpenSearchIndex::builder(&name).url(format!("https://{host}:{port}"));
        if let Some(ca) = ca {
            builder = builder.ca_file(dir.path().join(ca));
        }
        builder.build().unwrap()
    };

    let trusted = open("localhost", Some("ca.pem"));
    trusted.create(&IndexSpec::new().replicas(0)).await.unwrap();
    trusted
        .index(
            "1",
            Document::new().with("n", 1),
            IndexOptions::new().refresh(),
        )
        .await
        .unwrap();
    assert_eq!(trusted.count(&Default::default()).await.unwrap(), 1);
    assert!(trusted.cluster().await.is_ok());

    for (host, ca, why) in [
        (
            "localhost",
            None,
            "the system roots do not hold the private CA",
        ),
        (
            "localhost",
            Some("other.pem"),
            "another CA signed nothing here",
        ),
        (
            "127.0.0.1",
            Some("ca.pem"),
            "the certificate names localhost only",
        ),
    ] {
        let refused = open(host, ca).count(&Default::default()).await;
        let e = refused.expect_err(why);
        assert_eq!(e.kind(), store_core::ErrorKind::Unavailable, "{why}: {e}");
    }

    trusted.drop_index().await.unwrap();
    drop(proxy.stdin.take());
    let _ = proxy.kill();
    let _ = proxy.wait();
}
