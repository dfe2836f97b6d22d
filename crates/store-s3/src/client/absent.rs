//! Telling a missing key from a missing bucket. A read answered "nothing here" (a `HEAD`'s
//! bodiless 404, or `NoSuchKey` from a server that says it for a missing bucket too) is about
//! the key, unless the bucket has not been seen lately and `HeadBucket` finds it missing.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use store_core::{ObjectKey, StoreError};

use super::BucketClient;
use crate::BACKEND;
use crate::error::{HttpLike, is_absent_answer};

impl BucketClient {
    /// The error of a read answered "nothing here" (`e`): about the key, unless the bucket
    /// has not been seen lately and turns out to be missing. A `HEAD` has no body to say
    /// which, and not every S3-compatible server says `NoSuchBucket` to a `GET`.
    pub(super) async fn absent<E, R>(
        &self,
        e: SdkError<E, R>,
        operation: &'static str,
        key: &ObjectKey,
    ) -> StoreError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: HttpLike + std::fmt::Debug + Send + Sync + 'static,
    {
        let missing_key = self.sdk_error(e, operation, key.as_str());
        if self.seen.recently() {
            return missing_key;
        }
        self.missing_bucket(operation).await.unwrap_or(missing_key)
    }

    /// After a `HEAD` answered 404, which cannot say what is missing: the error naming the
    /// bucket when `HeadBucket` finds it missing too; `None` when the bucket answers (then
    /// only the key is missing) or the question cannot be settled (the caller may lack the
    /// right to ask about the bucket).
    async fn missing_bucket(&self, operation: &'static str) -> Option<StoreError> {
        match self.sdk.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => {
                self.seen.mark();
                None
            }
            Err(e) if is_absent_answer(&e) || e.code() == Some("NoSuchBucket") => Some(
                StoreError::not_found(format!(
                    "bucket `{}` does not exist (HEAD of the key and of the bucket answered \
                     HTTP 404)",
                    self.bucket
                ))
                .with_backend(BACKEND)
                .with_operation(operation)
                .with_target(self.bucket.clone())
                .with_status_code("404")
                .with_missing_collection()
                .with_source(e),
            ),
            Err(_) => None,
        }
    }
}
