//! Passwords that change under a running pool, and IAM tokens, against the harness's
//! PostgreSQL: members of the role `password_checked` log in with a password there (everyone
//! else is trusted), so a wrong or stale password is really refused. The tests set passwords
//! as md5 hashes, so no statement (which the driver logs) holds one.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, future};
use integration_tests::names::unique_ident;
use integration_tests::trace_capture::register_secret;
use store_core::{ErrorKind, SqlStore, SqlStoreExt, StoreError, Value};
use store_rds::iam::IamAuth;
use store_rds::{PasswordSource, PgConfig, PgStore, SslMode};

use crate::support::{store, url};

/// A login role whose password the server checks, dropped by [`Role::drop_now`].
struct Role {
    name: String,
    admin: PgStore,
}

impl Role {
    async fn create(prefix: &str, password: &str) -> Self {
        register_secret("a test role's password", password);
        let name = unique_ident(prefix);
        let admin = store().await;
        admin
            .batch_execute(&format!(
                "CREATE ROLE {name} LOGIN PASSWORD '{}' IN ROLE password_checked",
                hashed(password, &name)
            ))
            .await
            .expect("the role is created");
        Self { name, admin }
    }

    async fn set_password(&self, password: &str) {
        register_secret("a test role's password", password);
        self.admin
            .batch_execute(&format!(
                "ALTER ROLE {} PASSWORD '{}'",
                self.name,
                hashed(password, &self.name)
            ))
            .await
            .expect("the password changes");
    }

    async fn drop_now(self) {
        self.admin
            .batch_execute(&format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{0}'; \
                 DROP ROLE {0}",
                self.name
            ))
            .await
            .expect("the role is dropped");
    }

    /// Settings for logging in as this role (no password of their own).
    async fn config(&self) -> PgConfig {
        let url = url()
            .await
            .replacen("postgres@", &format!("{}@", self.name), 1);
        PgConfig::from_url(&url).expect("the URL parses")
    }
}

/// `password` of `role` as PostgreSQL's md5 verifier (`md5` + md5(password + role)), which
/// the server stores as it is.
fn hashed(password: &str, role: &str) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(format!("{password}{role}").as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("md5{hex}")
}

/// A password the test changes at will, counting how often the pool asked for it.
#[derive(Clone)]
struct Rotating {
    current: Arc<Mutex<Result<String, String>>>,
    asked: Arc<AtomicUsize>,
}

impl Rotating {
    fn new(password: &str) -> Self {
        Self {
            current: Arc::new(Mutex::new(Ok(password.to_owned()))),
            asked: Arc::default(),
        }
    }

    fn set(&self, password: Result<&str, &str>) {
        *self.current.lock().unwrap() = password.map(str::to_owned).map_err(str::to_owned);
    }
    fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

#[async_trait]
impl PasswordSource for Rotating {
    async fn password(&self) -> store_core::Result<String> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.current
            .lock()
            .unwrap()
            .clone()
            .map_err(StoreError::unavailable)
    }
}

async fn whoami(store: &PgStore) -> Result<Value, StoreError> {
    let row = store.query_one("SELECT current_user AS me", &[]).await?;
    Ok(row.get("me").cloned().unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_rotated_password_reaches_new_connections_and_spares_open_ones() {
    let role = Role::create("rotating", "first-secret").await;
    let source = Rotating::new("first-secret");
    let store = role
        .config()
        .await
        .pool_size(4)
        .password_source(source.clone())
        .build()
        .unwrap();
    let me = Value::from(role.name.as_str());
    assert_eq!(whoami(&store).await.unwrap(), me);
    assert_eq!(source.asked(), 1, "one connection, one password");

    // The password rotates on the server and in the source: the open connection keeps
    // working, and a new one logs in with the new password.
    role.set_password("second-secret").await;
    source.set(Ok("second-secret"));
    let held = store.client().await.unwrap();
    let both = futures::future::join(whoami(&store), async {
        held.query_one("SELECT 1", &[]).await.map(|_| ())
    })
    .await;
    assert_eq!(
        both.0.unwrap(),
        me,
        "a second connection opened with the new password"
    );
    both.1.unwrap();
    assert_eq!(source.asked(), 2);
    drop(held);

    // A source that is behind the server: the server refuses the login.
    role.set_password("third-secret").await;
    let refused = fresh_connection(&store).await.unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::Unauthorized, "{refused}");

    // A source that fails: the checkout says why, in the source's own words.
    source.set(Err("the secret store is sealed"));
    let failed = fresh_connection(&store).await.unwrap_err();
    assert_eq!(failed.kind(), ErrorKind::Unavailable, "{failed}");
    assert!(
        failed.to_string().contains("the secret store is sealed"),
        "{failed}"
    );

    // Back in step: the pool recovers without being rebuilt.
    source.set(Ok("third-secret"));
    assert_eq!(fresh_connection(&store).await.unwrap(), me);
    drop(store);
    role.drop_now().await;
}

/// Runs a query on a connection the pool must open now: every idle one is held meanwhile.
async fn fresh_connection(store: &PgStore) -> Result<Value, StoreError> {
    let mut held = Vec::new();
    while store.pool_status().available > 0 {
        held.push(store.client().await?);
    }
    whoami(store).await
}

#[tokio::test]
async fn the_listener_logs_in_with_the_source_s_password() {
    let role = Role::create("listening", "listen-secret").await;
    let source = Rotating::new("listen-secret");
    let store = role
        .config()
        .await
        .password_source(source.clone())
        .build()
        .unwrap();
    let listener = store
        .listen(&["rotation_events"], store_core::RetryPolicy::default())
        .await
        .expect("the listener logs in with the source's password");
    assert_eq!(source.asked(), 1);
    drop(listener);
    drop(store);
    role.drop_now().await;
}

/// Credentials counting how often they were asked for.
#[derive(Debug, Default)]
struct Counted(Arc<AtomicUsize>);

impl ProvideCredentials for Counted {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.0.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            "AKIDEXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        )))
    }
}

#[tokio::test]
async fn iam_tokens_are_sent_as_the_password_and_signed_once_per_window() {
    let role = Role::create("iam_user", "not-a-token").await;
    let asked = Arc::new(AtomicUsize::new(0));
    let store = role
        .config()
        .await
        .ssl_mode(SslMode::Require)
        .create_timeout(Duration::from_secs(5))
        .iam_auth(IamAuth::new("eu-west-1", Counted(asked.clone())))
        .build()
        .unwrap();
    // PostgreSQL is not RDS: it checks the token against the role's password and refuses it,
    // which proves the token went out as the password.
    for _ in 0..3 {
        let refused = whoami(&store).await.unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Unauthorized, "{refused}");
    }
    assert_eq!(
        asked.load(Ordering::SeqCst),
        1,
        "one token serves every login in its window"
    );
    drop(store);
    role.drop_now().await;
}

#[tokio::test]
async fn iam_auth_refuses_settings_that_would_expose_the_token() {
    let base = || PgConfig::from_url("postgres://app@db.example.com/orders").unwrap();
    let auth = || IamAuth::new("eu-west-1", Counted::default());
    for mode in [SslMode::Disable, SslMode::Prefer] {
        let refused = base().ssl_mode(mode).iam_auth(auth()).build().unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::InvalidInput, "{refused}");
        assert!(refused.to_string().contains("needs TLS"), "{refused}");
    }
    let nobody = PgConfig::from_url("postgres://db.example.com/orders")
        .unwrap()
        .ssl_mode(SslMode::Require)
        .iam_auth(auth())
        .build()
        .unwrap_err();
    assert!(nobody.to_string().contains("user"), "{nobody}");
    base()
        .ssl_mode(SslMode::VerifyFull)
        .iam_auth(auth())
        .build()
        .unwrap();
}
