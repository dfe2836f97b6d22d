//! The archive on disk: plain files that `zstd`, `jq` and `sha256sum` open; damage and unknown
//! versions refused by name; partitioned backups merged; a finished archive never rewritten.

mod common;

use std::process::Command;
use std::sync::Arc;

use common::{dataset, documents};
use store_sync::{ArchiveSink, ArchiveSource, CopyOptions, Partition, Silent, check, copy};

const N: usize = 250;

fn options() -> CopyOptions {
    CopyOptions {
        batch_size: 100,
        ..CopyOptions::default()
    }
}

async fn backup_into(dir: &std::path::Path) -> store_sync::DocumentCollection {
    let (_, source) = documents("users", &dataset(N)).await;
    let sink = ArchiveSink::in_dir(
        dir.join("backup"),
        "file://backup",
        "stores-test",
        Partition::whole(),
    )
    .with_source("mem://users");
    copy(&source, &sink, &options(), &Silent).await.unwrap();
    source
}

fn archive(dir: &std::path::Path) -> ArchiveSource {
    ArchiveSource::in_dir(dir.join("backup"), "file://backup")
}

fn run(dir: &std::path::Path, script: &str) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .current_dir(dir)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "`{script}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn the_archive_opens_with_zstd_jq_and_sha256sum() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let root = dir.path().join("backup");
    assert!(run(&root, "sha256sum -c SHA256SUMS").contains(": OK"));
    let manifest = run(
        &root,
        "jq -r '.format, .version, .source, .collections[0].records' manifest.json",
    );
    assert_eq!(manifest, format!("stores-archive\n1\nmem://users\n{N}\n"));
    let lines = run(
        &root,
        "for p in data/users/*.ndjson.zst; do zstd -dc \"$p\"; done | jq -c . | wc -l",
    );
    assert_eq!(lines.trim(), N.to_string());
    // The 38-digit decimal is there as text, digit for digit.
    let numbers = run(
        &root,
        "zstd -dc data/users/*.ndjson.zst | jq -r '.v.n.N' | sort -u",
    );
    assert!(
        numbers.contains("12345678901234567890123456789012345678\n"),
        "{numbers}"
    );
    let schema = run(
        &root,
        "jq -r '.kind, .partition_key.name, .partition_key.type' schema/users.json",
    );
    assert_eq!(schema, "documents\nid\nS\n");
}

#[tokio::test]
async fn a_damaged_part_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let part = archive(dir.path()).manifest().await.unwrap().collections[0].parts[1]
        .path
        .clone();
    // Flip one byte of the second part in place.
    let path = dir.path().join("backup").join(&part);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();

    let (_, target) = documents("restored", &[]).await;
    let err = copy(&archive(dir.path()), &target, &options(), &Silent)
        .await
        .unwrap_err();
    assert!(
        err.message().contains(&part) && err.message().contains("damaged"),
        "{}",
        err.message()
    );
}

/// Rewrites the lines of `part` with `edit`, compresses the part again and gives the manifest
/// its new digest and size: only the lines themselves can tell.
fn rewrite_part(dir: &std::path::Path, part: &str, edit: impl FnOnce(&mut Vec<Vec<u8>>)) {
    use sha2::Digest as _;
    let path = dir.join("backup").join(part);
    let text = zstd::decode_all(std::fs::read(&path).unwrap().as_slice()).unwrap();
    let mut lines: Vec<Vec<u8>> = text.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    edit(&mut lines);
    let bytes = zstd::encode_all(lines.join(&b'\n').as_slice(), 3).unwrap();
    std::fs::write(&path, &bytes).unwrap();
    let manifest_path = dir.join("backup").join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let entry = manifest["collections"][0]["parts"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|p| p["path"] == part)
        .unwrap();
    let digest = sha2::Sha256::digest(&bytes);
    entry["sha256"] = digest
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>()
        .into();
    entry["bytes"] = bytes.len().into();
    refresh_totals(&mut manifest);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();
}

/// Sets the collection's totals to the sums of its parts, as a consistent forger would.
fn refresh_totals(manifest: &mut serde_json::Value) {
    let collection = &mut manifest["collections"][0];
    for total in ["records", "bytes"] {
        let sum: u64 = collection["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[total].as_u64().unwrap())
            .sum();
        collection[total] = sum.into();
    }
}

#[tokio::test]
async fn a_broken_line_in_a_part_its_manifest_vouches_for_is_refused_by_part_and_line() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let part = archive(dir.path()).manifest().await.unwrap().collections[0].parts[1].clone();
    // Line 3 of the second part is cut short.
    rewrite_part(dir.path(), &part.path, |lines| {
        let half = lines[2].len() / 2;
        lines[2].truncate(half);
    });

    let err = archive(dir.path())
        .verify(Partition::whole())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
    assert!(
        err.message()
            .contains(&format!("archive part {}, line 3:", part.path)),
        "{}",
        err.message()
    );
    // The parts a half of the restore reads without that one still verify, whole: the
    // check faults that part alone.
    let source = archive(dir.path());
    let parts = &source.manifest().await.unwrap().collections[0].parts;
    let even: u64 = parts.iter().step_by(2).map(|p| p.records).sum();
    assert!(parts.len() >= 3 && even > 0, "{parts:?}");
    let half = Partition::new(0, 2).unwrap();
    assert_eq!(source.verify(half).await.unwrap(), even);
}

#[tokio::test]
async fn a_line_of_json_a_restore_could_not_read_is_refused_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let part = archive(dir.path()).manifest().await.unwrap().collections[0].parts[0].clone();
    // Well-formed JSON whose brackets stay within a line's depth (an empty list at the
    // bottom has a set's two), but whose lists nest one deeper than a restore reads; then
    // a type tag the format does not have.
    let too_deep = format!(
        r#"{{"k":{{"id":{{"N":"1"}}}},"v":{{"id":{{"N":"1"}},"d":{}{{"L":[]}}{}}}}}"#,
        r#"{"L":["#.repeat(256),
        "]}".repeat(256)
    );
    let unknown_tag = r#"{"k":{"id":{"N":"2"}},"v":{"id":{"N":"2"},"d":{"DATE":"2026"}}}"#;
    for (bad, expected) in [
        (too_deep.as_str(), "nested more than 256"),
        (unknown_tag, "`DATE`"),
    ] {
        rewrite_part(dir.path(), &part.path, |lines| {
            lines[1] = bad.as_bytes().to_vec()
        });
        let err = archive(dir.path())
            .verify(Partition::whole())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
        let message = err.message();
        assert!(
            message.contains(&format!("archive part {}, line 2:", part.path))
                && message.contains(expected),
            "{message}"
        );
    }
}

#[tokio::test]
async fn an_unknown_version_or_a_missing_manifest_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let manifest = dir.path().join("backup/manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let refusal = |edited: String| async {
        std::fs::write(&manifest, edited).unwrap();
        archive(dir.path())
            .manifest()
            .await
            .unwrap_err()
            .message()
            .to_owned()
    };
    let said = refusal(text.replace("\"version\": 1", "\"version\": 2")).await;
    assert!(said.contains("format version 2"), "{said}");
    let said = refusal(text.replace("\"version\": 1", "\"version\": \"1\"")).await;
    assert!(
        said.contains("version \"1\" (not a version number)"),
        "{said}"
    );
    // A part path that steps out of the archive.
    let said = refusal(text.replacen("\"path\": \"data/", "\"path\": \"data/../../", 1)).await;
    assert!(said.contains("not under data/"), "{said}");
    // Totals that are not the sums of the parts.
    let said = refusal(text.replacen(&format!("\"records\": {N}"), "\"records\": 100", 1)).await;
    assert!(said.contains(&format!("parts hold {N} records")), "{said}");
    std::fs::remove_file(&manifest).unwrap();
    let err = archive(dir.path()).manifest().await.unwrap_err();
    assert!(
        err.message().contains("no manifest.json"),
        "{}",
        err.message()
    );
}

#[tokio::test]
async fn a_finished_archive_is_written_into_again_only_by_the_same_backup() {
    let dir = tempfile::tempdir().unwrap();
    let source = backup_into(dir.path()).await;
    // Another backup (here, of another source) is refused.
    let other = ArchiveSink::in_dir(
        dir.path().join("backup"),
        "file://backup",
        "stores-test",
        Partition::whole(),
    )
    .with_source("mem://other");
    let err = copy(&source, &other, &options(), &Silent)
        .await
        .unwrap_err();
    assert!(
        err.message()
            .contains("already holds a finished archive of mem://users"),
        "{}",
        err.message()
    );
    // The same backup runs again in place (as one killed after its manifest was written but
    // before its checkpoint was saved does), and the archive still restores whole.
    let again = ArchiveSink::in_dir(
        dir.path().join("backup"),
        "file://backup",
        "stores-test",
        Partition::whole(),
    )
    .with_source("mem://users");
    copy(&source, &again, &options(), &Silent).await.unwrap();
    assert!(
        check(&source, &archive(dir.path()), 100)
            .await
            .unwrap()
            .is_equal()
    );
}

#[tokio::test]
async fn four_partitions_back_up_concurrently_and_restore_whole() {
    let dir = tempfile::tempdir().unwrap();
    let fs = Arc::new(store_fs::FsStore::open(dir.path()).await.unwrap());
    let (_, source) = documents("users", &dataset(N)).await;
    let mut jobs = Vec::new();
    for i in 0..4 {
        let fs = fs.clone();
        let source = source.clone();
        jobs.push(tokio::spawn(async move {
            let partition = Partition::new(i, 4).unwrap();
            let sink = ArchiveSink::new(fs, "parts", "file://parts", "stores-test", partition);
            let options = CopyOptions {
                partition,
                batch_size: 30,
                ..CopyOptions::default()
            };
            copy(&source, &sink, &options, &Silent)
                .await
                .unwrap()
                .records
        }));
    }
    let mut total = 0;
    for job in jobs {
        total += job.await.unwrap();
    }
    assert_eq!(total, N as u64);
    let archive = ArchiveSource::new(fs, "parts", "file://parts");
    let manifest = archive.manifest().await.unwrap();
    assert_eq!(manifest.partitions, 4);
    assert_eq!(manifest.collections[0].records, N as u64);
    let (_, restored) = documents("restored", &[]).await;
    copy(&archive, &restored, &options(), &Silent)
        .await
        .unwrap();
    assert!(check(&source, &restored, 100).await.unwrap().is_equal());
    // Restores may be partitioned too: four shares of the parts make the whole.
    let (_, shared) = documents("shared", &[]).await;
    for i in 0..4 {
        let options = CopyOptions {
            partition: Partition::new(i, 4).unwrap(),
            ..options()
        };
        copy(&archive, &shared, &options, &Silent).await.unwrap();
    }
    assert!(check(&source, &shared, 100).await.unwrap().is_equal());
}

/// A manifest claiming a part holds far more records than it does is refused by the count,
/// naming the part, without reserving room for what it claims.
#[tokio::test]
async fn a_manifest_claiming_billions_of_records_is_refused_by_the_count() {
    let dir = tempfile::tempdir().unwrap();
    backup_into(dir.path()).await;
    let manifest_path = dir.path().join("backup").join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let part = &mut manifest["collections"][0]["parts"][1];
    let path = part["path"].as_str().unwrap().to_owned();
    let held = part["records"].as_u64().unwrap();
    let claimed: u64 = 1_000_000_000_000_000;
    part["records"] = claimed.into();
    refresh_totals(&mut manifest);
    std::fs::write(&manifest_path, manifest.to_string()).unwrap();

    let (_, target) = documents("restored", &[]).await;
    let err = copy(&archive(dir.path()), &target, &options(), &Silent)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::InvalidInput);
    let said =
        format!("archive part {path} holds {held} records where the manifest says {claimed}");
    assert!(err.message().contains(&said), "{}", err.message());
}

/// A location half-filled by a partitioned backup of one source lends nothing to a backup of
/// another: the second is refused naming the first's partition, and no manifest is written.
#[tokio::test]
async fn a_partition_of_another_backup_is_refused_not_merged() {
    let dir = tempfile::tempdir().unwrap();
    let into = |index: u32, source: &str| {
        ArchiveSink::in_dir(
            dir.path().join("backup"),
            "file://backup",
            "stores-test",
            Partition::new(index, 2).unwrap(),
        )
        .with_source(source)
    };
    let share = |index: u32| CopyOptions {
        partition: Partition::new(index, 2).unwrap(),
        ..options()
    };
    let (_, first) = documents("users", &dataset(20)).await;
    copy(&first, &into(1, "mem://first"), &share(1), &Silent)
        .await
        .unwrap();
    let (_, second) = documents("users", &dataset(30)).await;
    let err = copy(&second, &into(0, "mem://second"), &share(0), &Silent)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), store_core::ErrorKind::AlreadyExists);
    assert!(
        err.message().contains("partitions/1-of-2.json") && err.message().contains("mem://first"),
        "{}",
        err.message()
    );
    assert!(!dir.path().join("backup/manifest.json").exists());

    // The first backup's other partition completes it.
    copy(&first, &into(0, "mem://first"), &share(0), &Silent)
        .await
        .unwrap();
    let verdict = check(&archive(dir.path()), &first, 16).await.unwrap();
    assert!(verdict.is_equal(), "{verdict:?}");
}
