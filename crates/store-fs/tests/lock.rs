//! One writer process per folder: a second process opening the folder for writing gets a
//! `Conflict` naming the folder and the holder; readers open alongside; the lock of a killed
//! writer is released by the operating system.

#[path = "common/scratch.rs"]
mod scratch;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures::TryStreamExt;
use scratch::{Cleanup, unique_dir};
use store_core::object::{ListEntry, ListOptions};
use store_core::{ErrorKind, ObjectKey, ObjectStore, ObjectStoreExt};
use store_fs::FsStore;

/// Set in the holder child: the store folder.
const CHILD_ENV: &str = "STORE_FS_LOCK_HOLDER";

/// The holder: runs only when the parent starts this binary with [`CHILD_ENV`] set. It opens
/// the store, writes one object, says so, and waits to be killed.
#[test]
fn lock_holder_child() {
    let Ok(root) = std::env::var(CHILD_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = FsStore::open(&root)
            .await
            .expect("the holder opens the store");
        let key = ObjectKey::new("held").unwrap();
        store.put_str(&key, "by the child").await.expect("put");
        let mut out = std::io::stdout().lock();
        writeln!(out, "\nlocked")
            .and_then(|()| out.flush())
            .expect("stdout");
        tokio::time::sleep(Duration::from_secs(60)).await;
    });
}

/// Kills the child when dropped, so a failing assertion leaves no holder behind.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_second_writer_process_is_refused_until_the_first_dies() {
    let root = unique_dir("lock");
    let _cleanup = Cleanup(root.clone());
    let mut holder = KillOnDrop(
        Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "lock_holder_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &root)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let child = &mut holder.0;
    let stdout = child.stdout.take().unwrap();
    let ready = tokio::task::spawn_blocking(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .any(|line| line.trim() == "locked")
    });
    let ready = tokio::time::timeout(Duration::from_secs(30), ready).await;
    if !matches!(ready, Ok(Ok(true))) {
        panic!("the holder never said it had locked the store");
    }

    // A second writer: refused, with the folder and the holder's pid in the message.
    let err = FsStore::open(&root).await.expect_err("a second writer");
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err}");
    let canonical = std::fs::canonicalize(&root).unwrap();
    assert!(
        err.message().contains(&canonical.display().to_string()),
        "names the folder: {err}"
    );
    assert!(
        err.message().contains(&format!("pid {}", child.id())),
        "names the holder: {err}"
    );
    assert_eq!(err.backend(), Some("fs"));

    // A reader works alongside and sees the holder's object; it cannot write.
    let reader = FsStore::builder(&root)
        .read_only(true)
        .build()
        .await
        .unwrap();
    let key = ObjectKey::new("held").unwrap();
    assert_eq!(reader.get_string(&key).await.unwrap(), "by the child");
    let listed: Vec<ListEntry> = reader.list(ListOptions::new()).try_collect().await.unwrap();
    assert_eq!(listed.len(), 1);
    let err = reader
        .put_str(&key, "no")
        .await
        .expect_err("a read-only put");
    assert_eq!(err.kind(), ErrorKind::Unsupported, "{err}");

    // SIGKILL the holder: the operating system releases its lock.
    child.kill().unwrap();
    child.wait().unwrap();
    let store = FsStore::open(&root)
        .await
        .expect("the lock of a dead writer is free");
    assert_eq!(store.get_string(&key).await.unwrap(), "by the child");
}
