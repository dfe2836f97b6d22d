//! What an object transfer tells its progress: the source's size when asked for, and the
//! objects and bytes done, copied or found equal.

mod common;

use std::sync::Arc;

use common::Recorder;

use store_core::memory::MemoryObjectStore;
use store_core::{ObjectKey, ObjectStore, ObjectStoreExt};
use store_sync::Event;
use store_sync::objects::{ObjectLocation, ObjectTransferOptions, transfer_objects};

/// `n` objects of different sizes under `prefix`; returns their bytes.
async fn filled(store: &dyn ObjectStore, prefix: &str, n: usize) -> u64 {
    let mut bytes = 0;
    for i in 0..n {
        let body = vec![b'x'; i * 131 % 3000];
        bytes += body.len() as u64;
        let key = ObjectKey::new(format!("{prefix}obj-{i:03}")).unwrap();
        store
            .put(&key, body.into(), Default::default())
            .await
            .unwrap();
    }
    bytes
}

/// The sized events and the progress events (objects, batch, bytes) of `events`.
#[allow(clippy::type_complexity)]
fn split(events: &[Event]) -> (Vec<(u64, u64)>, Vec<(u64, u64, Option<u64>)>) {
    let sized = events
        .iter()
        .filter_map(|e| match e {
            Event::Sized { records, bytes } => Some((*records, *bytes)),
            _ => None,
        })
        .collect();
    let progress = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress {
                records,
                batch,
                bytes,
            } => Some((*records, *batch, *bytes)),
            _ => None,
        })
        .collect();
    (sized, progress)
}

#[tokio::test]
async fn a_transfer_reports_the_source_size_and_the_objects_and_bytes_done() {
    let source = Arc::new(MemoryObjectStore::new());
    let total = filled(source.as_ref(), "src/", 60).await;
    // Outside the prefix: neither copied nor counted.
    source
        .put_str(&ObjectKey::new("zz-elsewhere").unwrap(), "not counted")
        .await
        .unwrap();
    let from = ObjectLocation::new(source.clone(), "src/", "mem://src/");
    let to = ObjectLocation::new(Arc::new(MemoryObjectStore::new()), "copy/", "mem://copy/");

    let watching = Recorder::new(true);
    let report = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &watching)
        .await
        .unwrap();
    assert_eq!((report.copied, report.bytes), (60, total));
    let events = watching.take();
    assert!(matches!(events[0], Event::Started { .. }), "{events:?}");
    let (sized, progress) = split(&events);
    assert_eq!(sized, vec![(60, total)]);
    let last = *progress.last().expect("progress was reported");
    assert_eq!((last.0, last.2), (60, Some(total)));
    assert_eq!(progress.iter().map(|p| p.1).sum::<u64>(), 60);
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].0 < w[1].0 && w[0].2 <= w[1].2)
    );

    // A sync that finds every object equal has done them all, bytes too.
    let again = transfer_objects(&from, &to, &ObjectTransferOptions::default(), &watching)
        .await
        .unwrap();
    assert_eq!((again.copied, again.unchanged), (0, 60));
    let (sized, progress) = split(&watching.take());
    assert_eq!(sized, vec![(60, total)]);
    let last = *progress.last().unwrap();
    assert_eq!((last.0, last.2), (60, Some(total)));
    assert_eq!(progress.iter().map(|p| p.1).sum::<u64>(), 60);

    // Nobody asking, nothing is counted beside the copy; progress is still reported.
    let unwatched = Recorder::new(false);
    let copy_all = ObjectTransferOptions {
        skip_unchanged: false,
        ..ObjectTransferOptions::default()
    };
    transfer_objects(&from, &to, &copy_all, &unwatched)
        .await
        .unwrap();
    let (sized, progress) = split(&unwatched.take());
    assert!(sized.is_empty(), "{sized:?}");
    assert_eq!(progress.last().unwrap().0, 60);

    // Nor in a dry run, however watched.
    let dry = ObjectTransferOptions {
        dry_run: true,
        ..copy_all
    };
    transfer_objects(&from, &to, &dry, &watching).await.unwrap();
    let (sized, progress) = split(&watching.take());
    assert!(sized.is_empty(), "{sized:?}");
    assert_eq!(progress.last().unwrap().0, 60);
}

#[tokio::test]
async fn an_object_backup_reports_the_listing_size_and_the_archive_bytes_written() {
    use store_sync::{ArchiveSink, CopyOptions, ObjectArchiveSink, ObjectListing, Partition, copy};
    let source = Arc::new(MemoryObjectStore::new());
    let total = filled(source.as_ref(), "photos/", 40).await;
    let from = ObjectLocation::new(source.clone(), "photos/", "mem://photos/");
    let dir = tempfile::tempdir().unwrap();
    let backup = |name: &str| {
        ObjectArchiveSink::new(
            ArchiveSink::in_dir(
                dir.path().join(name),
                "file://a",
                "test",
                Partition::whole(),
            ),
            from.clone(),
        )
    };
    let options = CopyOptions {
        batch_size: 10,
        ..CopyOptions::default()
    };

    let watching = Recorder::new(true);
    copy(
        &ObjectListing::new(from.clone()),
        &backup("a"),
        &options,
        &watching,
    )
    .await
    .unwrap();
    let (sized, progress) = split(&watching.take());
    assert_eq!(sized, vec![(40, total)]);
    // Four batches of ten, each with the archive's bytes so far: the bodies and more (the
    // parts listing them).
    assert_eq!(progress.iter().map(|p| p.1).collect::<Vec<_>>(), [10; 4]);
    let bytes: Vec<u64> = progress.iter().map(|p| p.2.unwrap()).collect();
    assert!(bytes.windows(2).all(|w| w[0] < w[1]), "{bytes:?}");
    assert!(bytes[3] > total, "{bytes:?} against {total}");

    // Nobody asking, the listing is not read twice.
    let unwatched = Recorder::new(false);
    copy(
        &ObjectListing::new(from.clone()),
        &backup("b"),
        &options,
        &unwatched,
    )
    .await
    .unwrap();
    let (sized, progress) = split(&unwatched.take());
    assert!(sized.is_empty(), "{sized:?}");
    assert_eq!(progress.len(), 4);
}

#[tokio::test]
async fn a_copy_of_large_objects_confirms_them_a_few_at_a_time() {
    use store_sync::objects::ObjectCopySink;
    use store_sync::{CopyOptions, ObjectListing, copy};
    let source = Arc::new(MemoryObjectStore::new());
    for (i, size) in [40usize << 20, 40 << 20, 40 << 20, 10, 20, 30]
        .iter()
        .enumerate()
    {
        let key = ObjectKey::new(format!("src/obj-{i}")).unwrap();
        source
            .put(&key, vec![b'x'; *size].into(), Default::default())
            .await
            .unwrap();
    }
    let from = ObjectLocation::new(source.clone(), "src/", "mem://src/");
    let to = ObjectLocation::new(Arc::new(MemoryObjectStore::new()), "copy/", "mem://copy/");
    let recorder = Recorder::new(false);
    let options = CopyOptions {
        batch_size: 5_000,
        ..CopyOptions::default()
    };
    let report = copy(
        &ObjectListing::new(from.clone()),
        &ObjectCopySink::new(from, to),
        &options,
        &recorder,
    )
    .await
    .unwrap();
    assert_eq!(report.records, 6);
    // Batches end once their bodies reach 64 MiB: two objects of 40 MiB, then the rest.
    let (_, progress) = split(&recorder.take());
    let batches: Vec<u64> = progress.iter().map(|p| p.1).collect();
    assert_eq!(batches, [2, 4], "{progress:?}");
}
