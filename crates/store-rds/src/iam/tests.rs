use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, future};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

use super::*;

const ACCESS_KEY: &str = "AKIDEXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "IQoJb3JpZ2luX2VjEXAMPLE/session+token==";

/// 2024-06-15T12:00:00Z.
fn signed_at() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_718_452_800)
}

fn endpoint() -> TokenEndpoint {
    TokenEndpoint {
        host: "mydb.123456789012.us-east-1.rds.amazonaws.com".into(),
        port: 5432,
        user: "iam user+1".into(),
    }
}

/// What boto3 1.44.8 printed for the same inputs, its clock fixed at `signed_at`:
/// `client("rds").generate_db_auth_token(host, 5432, "iam user+1", Region="eu-west-1")`
/// under `mock.patch("botocore.auth.get_current_datetime", ...)`.
#[test]
fn tokens_equal_boto3_s_for_the_same_inputs() {
    let plain = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let token = generate_auth_token(&plain, &endpoint(), "eu-west-1", signed_at()).unwrap();
    assert_eq!(
        token.as_str(),
        "mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=iam%20user%2B1\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20240615%2Feu-west-1%2Frds-db%2Faws4_request\
         &X-Amz-Date=20240615T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
         &X-Amz-Signature=33026735bb8d27d2aca35631a3cdb731558feaad935769b7ac3637c5c285da89"
    );
    let session = Credentials::new(
        ACCESS_KEY,
        SECRET_KEY,
        Some(SESSION_TOKEN.into()),
        None,
        "test",
    );
    let token = generate_auth_token(&session, &endpoint(), "eu-west-1", signed_at()).unwrap();
    assert_eq!(
        token.as_str(),
        "mydb.123456789012.us-east-1.rds.amazonaws.com:5432/?Action=connect&DBUser=iam%20user%2B1\
         &X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20240615%2Feu-west-1%2Frds-db%2Faws4_request\
         &X-Amz-Date=20240615T120000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host\
         &X-Amz-Security-Token=IQoJb3JpZ2luX2VjEXAMPLE%2Fsession%2Btoken%3D%3D\
         &X-Amz-Signature=4c4e31e52831977e8b5f19381b88dca9ff21ed684a830718de915f07149d7468"
    );
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// AWS's documented SigV4 steps, written out here without aws-sigv4: the canonical request
/// (sorted, encoded query; the `host` header; the empty body's hash), the string to sign, the
/// signing key derived from the secret through date, region, service and `aws4_request`.
fn documented_signature(query: &str, host: &str, date: &str, region: &str) -> String {
    let canonical = format!(
        "GET\n/\n{query}\nhost:{host}\n\nhost\n{}",
        hex(&Sha256::digest(b""))
    );
    let scope = format!("{}/{region}/rds-db/aws4_request", &date[..8]);
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{date}\n{scope}\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(format!("AWS4{SECRET_KEY}").as_bytes(), &date[..8]);
    let key = hmac(&key, region);
    let key = hmac(&key, "rds-db");
    let key = hmac(&key, "aws4_request");
    hex(&hmac(&key, &string_to_sign))
}

#[test]
fn signatures_follow_aws_s_documented_algorithm() {
    let credentials = Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    for (host, port, user, region) in [
        ("db.example.com", 5432, "app", "us-east-1"),
        ("10.0.0.7", 6543, "user.with-dots_~", "ap-southeast-2"),
        ("proxy.internal", 5432, "名前 & more", "eu-central-1"),
    ] {
        let target = TokenEndpoint {
            host: host.into(),
            port,
            user: user.into(),
        };
        let token = generate_auth_token(&credentials, &target, region, signed_at()).unwrap();
        let (before, signature) = token.as_str().rsplit_once("&X-Amz-Signature=").unwrap();
        let query = before.split_once("/?").unwrap().1;
        let mut pairs: Vec<&str> = query.split('&').collect();
        pairs.sort_unstable();
        let expected = documented_signature(
            &pairs.join("&"),
            &format!("{host}:{port}"),
            "20240615T120000Z",
            region,
        );
        assert_eq!(signature, expected, "{host} {user} {region}");
        assert!(before.starts_with(&format!("{host}:{port}/?Action=connect&DBUser=")));
    }
}

#[test]
fn a_token_ends_when_its_credentials_do_and_hides_its_signature() {
    let expiry = signed_at() + Duration::from_secs(120);
    let short = Credentials::new(ACCESS_KEY, SECRET_KEY, None, Some(expiry), "test");
    let token = generate_auth_token(&short, &endpoint(), "eu-west-1", signed_at()).unwrap();
    assert_eq!(token.expires_at(), expiry);
    let shown = format!("{token:?}");
    let signature = token.as_str().rsplit_once('=').unwrap().1;
    assert!(!shown.contains(signature), "{shown}");
    assert!(!shown.contains("X-Amz-Credential"), "{shown}");
    let empty = TokenEndpoint {
        user: String::new(),
        ..endpoint()
    };
    let refused = generate_auth_token(&short, &empty, "eu-west-1", signed_at()).unwrap_err();
    assert_eq!(refused.kind(), store_core::ErrorKind::InvalidInput);
}

/// Credentials that count how often they were asked for, optionally expiring.
#[derive(Debug)]
struct Counted {
    calls: Arc<AtomicUsize>,
    expiry: Option<SystemTime>,
}

impl ProvideCredentials for Counted {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        self.calls.fetch_add(1, Ordering::SeqCst);
        future::ProvideCredentials::ready(Ok(Credentials::new(
            ACCESS_KEY,
            SECRET_KEY,
            None,
            self.expiry,
            "counted",
        )))
    }
}

fn tokens(expiry: Option<SystemTime>) -> (IamTokens, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let provider = Counted {
        calls: calls.clone(),
        expiry,
    };
    (
        IamAuth::new("eu-west-1", provider).source(endpoint()),
        calls,
    )
}

#[tokio::test]
async fn a_token_is_reused_until_its_margin_then_signed_again() {
    let (source, calls) = tokens(None);
    let start = signed_at();
    let first = source.token_at(start).await.unwrap();
    let later = source
        .token_at(start + Duration::from_secs(599))
        .await
        .unwrap();
    assert_eq!(first, later, "reused inside its first 10 minutes");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    let renewed = source
        .token_at(start + Duration::from_secs(600))
        .await
        .unwrap();
    assert_ne!(
        first, renewed,
        "5 minutes before expiry a new token is signed"
    );
    assert_eq!(renewed.expires_at(), start + Duration::from_secs(1500));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn credentials_about_to_expire_shorten_the_token_s_reuse() {
    let start = signed_at();
    let (source, calls) = tokens(Some(start + Duration::from_secs(400)));
    let first = source.token_at(start).await.unwrap();
    assert_eq!(first.expires_at(), start + Duration::from_secs(400));
    source
        .token_at(start + Duration::from_secs(99))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    source
        .token_at(start + Duration::from_secs(100))
        .await
        .unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "300 s margin reached at 100 s"
    );
}

/// A provider with nothing to give.
#[derive(Debug)]
struct Nothing;

impl ProvideCredentials for Nothing {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::ready(Err(CredentialsError::not_loaded("no profile found")))
    }
}

#[tokio::test]
async fn missing_credentials_are_unauthorized_and_say_so() {
    let source = IamAuth::new("eu-west-1", Nothing).source(endpoint());
    let error = source.password().await.unwrap_err();
    assert_eq!(error.kind(), store_core::ErrorKind::Unauthorized);
    assert!(error.message().contains("no AWS credentials"), "{error}");
}
