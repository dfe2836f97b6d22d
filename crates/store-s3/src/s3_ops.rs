//! The S3-only operations of [`S3Store`]: writes and reads with S3's own options, the
//! details of a `HeadObject`, and object tags.

use std::collections::BTreeMap;
use std::path::Path;

use aws_sdk_s3::operation::head_object::HeadObjectOutput;
use bytes::Bytes;
use store_core::object::{ByteStream, GetOptions, GetResult, ObjectMeta, PutOptions, PutResult};
use store_core::{ObjectKey, Result};

use crate::client::meta_of_head;
use crate::multipart::WriteOptions;
use crate::options::{Checksum, ReadOptions, S3PutOptions};
use crate::store::S3Store;

/// What a `HeadObject` tells about an object beyond its portable metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectInfo {
    /// Size, etag, time, content type, user metadata.
    pub meta: ObjectMeta,
    /// The version id (versioned buckets).
    pub version_id: Option<String>,
    /// The storage class; S3 leaves it out for `STANDARD`.
    pub storage_class: Option<String>,
    /// `AES256` (SSE-S3) or `aws:kms` (SSE-KMS).
    pub encryption: Option<String>,
    /// The KMS key of an SSE-KMS object.
    pub kms_key_id: Option<String>,
    /// Whether an S3 Bucket Key encrypted it.
    pub bucket_key: bool,
    /// `AES256` for an SSE-C object.
    pub customer_algorithm: Option<String>,
    /// The stored checksums (asked with [`ReadOptions::verify_checksum`]).
    pub checksums: Vec<(Checksum, String)>,
    /// `FULL_OBJECT` or `COMPOSITE` (for multipart uploads, `…-N` checksums).
    pub checksum_type: Option<String>,
    /// How many tags the object has.
    pub tag_count: u32,
}

impl ObjectInfo {
    fn from_head(key: &ObjectKey, out: &HeadObjectOutput) -> Self {
        let checksums = [
            (Checksum::Crc32, out.checksum_crc32()),
            (Checksum::Crc32c, out.checksum_crc32_c()),
            (Checksum::Crc64Nvme, out.checksum_crc64_nvme()),
            (Checksum::Sha1, out.checksum_sha1()),
            (Checksum::Sha256, out.checksum_sha256()),
        ]
        .into_iter()
        .filter_map(|(checksum, value)| Some((checksum, value?.to_owned())))
        .collect();
        Self {
            meta: meta_of_head(key, out),
            version_id: out.version_id().map(str::to_owned),
            storage_class: out.storage_class().map(|c| c.as_str().to_owned()),
            encryption: out.server_side_encryption().map(|e| e.as_str().to_owned()),
            kms_key_id: out.ssekms_key_id().map(str::to_owned),
            bucket_key: out.bucket_key_enabled() == Some(true),
            customer_algorithm: out.sse_customer_algorithm().map(str::to_owned),
            checksums,
            checksum_type: out.checksum_type().map(|t| t.as_str().to_owned()),
            tag_count: out.tag_count().unwrap_or(0).max(0) as u32,
        }
    }
}

impl S3Store {
    /// A put with S3's options; what `s3` leaves unset comes from the store's
    /// [`put_defaults`](Self::put_defaults).
    ///
    /// ```no_run
    /// # async fn demo(store: store_s3::S3Store) -> store_core::Result<()> {
    /// use store_core::ObjectKey;
    /// use store_core::object::PutOptions;
    /// use store_s3::{Checksum, Encryption, S3PutOptions};
    /// let s3 = S3PutOptions::new()
    ///     .encryption(Encryption::S3)
    ///     .checksum(Checksum::Sha256)
    ///     .tag("retention", "1y");
    /// let key = ObjectKey::new("reports/2026.csv")?;
    /// store.put_with(&key, "a,b\n".into(), PutOptions::new(), &s3).await?;
    /// # Ok(()) }
    /// ```
    pub async fn put_with(
        &self,
        key: &ObjectKey,
        body: Bytes,
        options: PutOptions,
        s3: &S3PutOptions,
    ) -> Result<PutResult> {
        let client = self.bucket_client();
        self.in_context("put", key.as_str(), async {
            let s3 = s3.or(client.defaults());
            s3.validate()?;
            let _guard = client.condition_lock(key, &options.mode).await;
            client.put_object(key, body, &options, &s3, "put").await
        })
        .await
    }

    /// A streamed put (multipart above the threshold, every part with the checksum and the
    /// SSE-C key) with S3's options over the store's defaults.
    pub async fn put_stream_with(
        &self,
        key: &ObjectKey,
        body: ByteStream,
        options: PutOptions,
        s3: &S3PutOptions,
    ) -> Result<PutResult> {
        let s3 = s3.or(self.bucket_client().defaults());
        let upload = crate::multipart::upload(
            self.bucket_client(),
            self.transfer(),
            key,
            crate::multipart::Source::stream(body),
            WriteOptions { options, s3: &s3 },
            None,
            "put_stream",
        );
        self.in_context("put_stream", key.as_str(), upload).await
    }

    /// [`upload_file`](store_core::ObjectStore::upload_file) with S3's options over the
    /// store's defaults.
    pub async fn upload_file_with(
        &self,
        path: &Path,
        key: &ObjectKey,
        options: PutOptions,
        s3: &S3PutOptions,
    ) -> Result<PutResult> {
        let s3 = s3.or(self.bucket_client().defaults());
        let client = self.bucket_client();
        let upload = crate::files::upload_file(client, self.transfer(), path, key, options, &s3);
        self.in_context("upload_file", key.as_str(), upload).await
    }

    /// A get of a version, of an SSE-C object (with its key), or with the stored checksum
    /// verified as the body streams (a mismatch fails the stream). Without a key in `read`,
    /// the store's default SSE-C key is presented.
    pub async fn get_with(
        &self,
        key: &ObjectKey,
        options: GetOptions,
        read: &ReadOptions,
    ) -> Result<GetResult> {
        let read = self.effective(read);
        let resumes = self.transfer().download_resumes;
        let get = self
            .bucket_client()
            .get_object(key, options, &read, resumes, "get");
        self.in_context("get", key.as_str(), get).await
    }

    /// [`download_file`](store_core::ObjectStore::download_file) of a version or an SSE-C
    /// object.
    pub async fn download_file_with(
        &self,
        key: &ObjectKey,
        path: &Path,
        read: &ReadOptions,
    ) -> Result<u64> {
        let read = self.effective(read);
        let client = self.bucket_client();
        let download = crate::files::download_file(client, self.transfer(), key, path, &read);
        self.in_context("download_file", key.as_str(), download)
            .await
    }

    /// Everything a `HeadObject` says: version, storage class, encryption, checksums (with
    /// [`ReadOptions::verify_checksum`]), tag count.
    pub async fn head_with(&self, key: &ObjectKey, read: &ReadOptions) -> Result<ObjectInfo> {
        let read = self.effective(read);
        let head = self.bucket_client().head_with(key, &read, "head");
        let out = self.in_context("head", key.as_str(), head).await?;
        Ok(ObjectInfo::from_head(key, &out))
    }

    /// The tags of an object (of one version when `version_id` is given).
    pub async fn tags(
        &self,
        key: &ObjectKey,
        version_id: Option<&str>,
    ) -> Result<BTreeMap<String, String>> {
        let client = self.bucket_client();
        self.in_context("tags", key.as_str(), async {
            let out = client
                .sdk()
                .get_object_tagging()
                .bucket(client.bucket())
                .key(key.as_str())
                .set_version_id(version_id.map(str::to_owned))
                .send()
                .await
                .map_err(|e| client.sdk_error(e, "tags", key.as_str()))?;
            Ok(out
                .tag_set()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect())
        })
        .await
    }

    /// `read` with the store's default SSE-C key when it names none.
    fn effective(&self, read: &ReadOptions) -> ReadOptions {
        let mut read = read.clone();
        if read.customer_key.is_none() {
            read.customer_key = self.bucket_client().read_defaults().customer_key;
        }
        read
    }
}
