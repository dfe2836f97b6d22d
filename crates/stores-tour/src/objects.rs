//! The object-storage part of the tour (the seed's `S3Manager` scenario).

use std::time::Duration;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use store_core::object::{ListEntry, ListOptions, PresignMethod, PutOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt};

use crate::step;

#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct Person {
    name: String,
    age: u32,
}

/// Uploads and downloads a file and a JSON document, lists, presigns and deletes.
pub(crate) async fn run(store: &dyn ObjectStore) -> anyhow::Result<()> {
    let service = store.backend();
    let dir = std::env::temp_dir().join(format!("stores-tour-{}", std::process::id()));
    tokio::fs::create_dir_all(&dir).await?;

    let local = dir.join("local_file.txt");
    tokio::fs::write(&local, "hello from the stores tour\n".repeat(1000)).await?;
    let remote = ObjectKey::new("remote_file.txt")?;
    let options = PutOptions::new()
        .content_type("text/plain")
        .metadata("origin", "tour");
    let put = store.upload_file(&local, &remote, options).await?;
    step(
        service,
        "upload_file local_file.txt",
        format!("etag {}", put.etag.unwrap_or_default()),
    );

    let downloaded = dir.join("downloaded_file.txt");
    let bytes = store.download_file(&remote, &downloaded).await?;
    let same = tokio::fs::read(&local).await? == tokio::fs::read(&downloaded).await?;
    step(
        service,
        "download_file -> downloaded_file.txt",
        format!("{bytes} bytes, identical: {same}"),
    );
    anyhow::ensure!(same, "downloaded file differs from the upload");

    let data_key = ObjectKey::new("data.json")?;
    let person = Person {
        name: "张三".into(),
        age: 30,
    };
    store.put_json(&data_key, &person).await?;
    let back: Person = store.get_json(&data_key).await?;
    step(
        service,
        "put_json / get_json data.json",
        format!("{back:?}"),
    );
    anyhow::ensure!(back == person, "JSON document changed in transit");

    let meta = store.head(&remote).await?;
    step(
        service,
        "head remote_file.txt",
        format!(
            "{} bytes, {:?}, metadata {:?}",
            meta.size, meta.content_type, meta.metadata
        ),
    );

    let entries: Vec<ListEntry> = store.list(ListOptions::new()).try_collect().await?;
    let keys: Vec<&str> = entries
        .iter()
        .filter_map(|e| e.as_object())
        .map(|m| m.key.as_str())
        .collect();
    step(service, "list (all keys)", format!("{keys:?}"));

    match store
        .presign(PresignMethod::Get, &remote, Duration::from_secs(3600))
        .await
    {
        Ok(url) => step(service, "presign GET for 1 hour", url),
        Err(e) if e.kind() == ErrorKind::Unsupported => step(
            service,
            "presign GET for 1 hour",
            "not available on this backend",
        ),
        Err(e) => return Err(e.into()),
    }

    store.delete(&remote).await?;
    let gone = !store.exists(&remote).await?;
    step(service, "delete remote_file.txt", format!("gone: {gone}"));
    tokio::fs::remove_dir_all(&dir).await?;
    Ok(())
}
