//! Unique names for buckets, tables, indexes and schemas, so tests never collide.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn suffix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{:x}{:x}{:x}", std::process::id(), nanos % 0xfffff, n)
}

/// A unique lowercase name `<prefix>-<suffix>`, valid as an S3 bucket, DynamoDB table and
/// OpenSearch index name (3–63 characters of `a-z 0-9 -`).
pub fn unique_name(prefix: &str) -> String {
    let prefix: String = prefix
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .take(30)
        .collect();
    format!("{prefix}-{}", suffix())
}

/// A unique SQL identifier `<prefix>_<suffix>` (lowercase letters, digits and `_`).
pub fn unique_ident(prefix: &str) -> String {
    unique_name(prefix).replace('-', "_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_valid_bucket_names() {
        let a = unique_name("My_Bucket");
        let b = unique_name("My_Bucket");
        assert_ne!(a, b);
        assert!(a.len() <= 63 && a.len() >= 3);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(
            unique_ident("t")
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
        );
    }
}
