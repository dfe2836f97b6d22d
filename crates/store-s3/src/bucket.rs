//! Bucket helpers: create, exists, delete (for tests, tours and tools).

use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration,
    VersioningConfiguration,
};
use futures::TryStreamExt;
use store_core::object::ListOptions;
use store_core::{ErrorKind, ObjectStore, Result};

use crate::error::map_sdk_error;
use crate::store::S3Store;

impl S3Store {
    /// Creates the bucket in the client's region; a bucket this account already owns is fine.
    pub async fn create_bucket(&self) -> Result<()> {
        self.in_context("create_bucket", self.bucket(), async {
            let region = self
                .client()
                .config()
                .region()
                .map(|r| r.as_ref().to_owned())
                .unwrap_or_default();
            let mut request = self.client().create_bucket().bucket(self.bucket());
            if !region.is_empty() && region != "us-east-1" {
                request = request.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(region.as_str()))
                        .build(),
                );
            }
            match request.send().await {
                Ok(_) => Ok(()),
                Err(e) => {
                    let owned = matches!(
                        aws_sdk_s3::error::ProvideErrorMetadata::code(&e),
                        Some("BucketAlreadyOwnedByYou")
                    );
                    if owned {
                        Ok(())
                    } else {
                        Err(map_sdk_error(
                            e,
                            "create_bucket",
                            self.bucket(),
                            self.bucket(),
                        ))
                    }
                }
            }
        })
        .await
    }

    /// Whether the bucket exists (and these credentials may see it).
    pub async fn bucket_exists(&self) -> Result<bool> {
        self.in_context("bucket_exists", self.bucket(), async {
            match self
                .client()
                .head_bucket()
                .bucket(self.bucket())
                .send()
                .await
            {
                Ok(_) => Ok(true),
                Err(e) => {
                    let err = map_sdk_error(e, "bucket_exists", self.bucket(), self.bucket());
                    if err.kind() == ErrorKind::NotFound {
                        Ok(false)
                    } else {
                        Err(err)
                    }
                }
            }
        })
        .await
    }

    /// Deletes the bucket, which must be empty (`Conflict` otherwise); a missing bucket is
    /// fine.
    pub async fn delete_bucket(&self) -> Result<()> {
        self.in_context("delete_bucket", self.bucket(), async {
            match self
                .client()
                .delete_bucket()
                .bucket(self.bucket())
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) => {
                    let err = map_sdk_error(e, "delete_bucket", self.bucket(), self.bucket());
                    if err.kind() == ErrorKind::NotFound {
                        Ok(())
                    } else {
                        Err(err)
                    }
                }
            }
        })
        .await
    }

    /// Aborts every unfinished multipart upload, deletes every object (every version on a
    /// versioned bucket), then the bucket. On a server that cannot list uploads or versions
    /// (`Unsupported`, as some S3-compatible ones answer), there are none to remove.
    pub async fn empty_and_delete_bucket(&self) -> Result<()> {
        if !self.bucket_exists().await? {
            return Ok(());
        }
        for (key, upload_id) in unless_unsupported(self.multipart_uploads().await)? {
            let _ = self
                .client()
                .abort_multipart_upload()
                .bucket(self.bucket())
                .key(key)
                .upload_id(upload_id)
                .send()
                .await;
        }
        let keys: Vec<_> = self
            .list(ListOptions::new())
            .map_ok(|entry| entry.as_object().map(|m| m.key.clone()))
            .try_filter_map(|k| async move { Ok(k) })
            .try_collect()
            .await?;
        let failures = self.delete_many(&keys).await?;
        if let Some(first) = failures.into_iter().next() {
            return Err(first.error);
        }
        // On a versioned bucket, the old versions and delete markers stay until deleted one
        // by one.
        let versions: Result<Vec<_>> = self.list_versions(ListOptions::new()).try_collect().await;
        for version in unless_unsupported(versions)? {
            self.delete_version(&version.key, &version.version_id)
                .await?;
        }
        self.delete_bucket().await
    }

    /// Turns versioning on (or suspends it) for the bucket.
    pub async fn set_versioning(&self, on: bool) -> Result<()> {
        self.in_context("set_versioning", self.bucket(), async {
            let status = match on {
                true => BucketVersioningStatus::Enabled,
                false => BucketVersioningStatus::Suspended,
            };
            self.client()
                .put_bucket_versioning()
                .bucket(self.bucket())
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(|e| map_sdk_error(e, "set_versioning", self.bucket(), self.bucket()))?;
            Ok(())
        })
        .await
    }

    /// The unfinished multipart uploads of the bucket, as (key, upload id) pairs.
    pub async fn multipart_uploads(&self) -> Result<Vec<(String, String)>> {
        self.in_context("list_uploads", self.bucket(), async {
            let mut out = Vec::new();
            let mut key_marker: Option<String> = None;
            let mut id_marker: Option<String> = None;
            loop {
                let page = self
                    .client()
                    .list_multipart_uploads()
                    .bucket(self.bucket())
                    .set_key_marker(key_marker.take())
                    .set_upload_id_marker(id_marker.take())
                    .send()
                    .await
                    .map_err(|e| map_sdk_error(e, "list_uploads", self.bucket(), self.bucket()))?;
                for upload in page.uploads() {
                    out.push((
                        upload.key().unwrap_or_default().to_owned(),
                        upload.upload_id().unwrap_or_default().to_owned(),
                    ));
                }
                if page.is_truncated() != Some(true) {
                    break;
                }
                key_marker = page.next_key_marker().map(str::to_owned);
                id_marker = page.next_upload_id_marker().map(str::to_owned);
                if key_marker.is_none() && id_marker.is_none() {
                    break;
                }
            }
            Ok(out)
        })
        .await
    }
}

/// `listed`, or nothing when the server cannot list that kind of thing at all.
fn unless_unsupported<T>(listed: Result<Vec<T>>) -> Result<Vec<T>> {
    match listed {
        Err(e) if e.kind() == ErrorKind::Unsupported => {
            tracing::debug!(error = %e, "the server cannot list these; taking it as none");
            Ok(Vec::new())
        }
        other => other,
    }
}
