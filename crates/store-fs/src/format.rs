//! The format file `<root>/.store-fs.json`: which on-disk format a folder holds, so that a
//! future version of the layout is refused with a clear error instead of misread.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use store_core::{Result, StoreError};

use crate::disk::sync_dir;
use crate::error::io_error;
use crate::lock::LOCK_FILE;

/// The on-disk format this version reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The format file's name inside the store's folder.
pub(crate) const FORMAT_FILE: &str = ".store-fs.json";

/// The folder of object files inside the store's folder.
pub(crate) const OBJECTS_DIR: &str = "objects";

/// The format file's content.
#[derive(Debug, Serialize, Deserialize)]
struct FormatFile {
    format: u32,
}

/// The root of the store-fs store whose folder holds `path`: `path` itself or the nearest
/// ancestor with a format file, found after links and `..` are resolved (the root is given
/// resolved too). `None` when no folder on the way up holds a store.
///
/// ```
/// let root = std::env::temp_dir().join(format!("store-fs-root-of-doc-{}", std::process::id()));
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// store_fs::FsStore::open(&root).await?;
/// let resolved = root.canonicalize().unwrap();
/// assert_eq!(store_fs::store_root_of(&root.join("objects/a")), Some(resolved.clone()));
/// assert_eq!(store_fs::store_root_of(&root.join("../x")), None);
/// assert_eq!(store_fs::store_root_of(&std::env::temp_dir()), None);
/// # std::fs::remove_dir_all(&root).unwrap();
/// # Ok::<_, store_core::StoreError>(())
/// # }).unwrap();
/// ```
pub fn store_root_of(path: &Path) -> Option<std::path::PathBuf> {
    // From the deepest folder of the path that exists, made absolute with its links and
    // `..` resolved, so neither a relative path nor a link hides a store above it.
    let absolute = std::path::absolute(path).ok()?;
    let existing = absolute.ancestors().find_map(|p| p.canonicalize().ok())?;
    existing
        .ancestors()
        .find(|folder| folder.join(FORMAT_FILE).is_file())
        .map(Path::to_path_buf)
}

/// Reads the format file of `root`: `None` when there is none, an error when it is unreadable
/// or names another format.
pub(crate) fn read(root: &Path) -> Result<Option<u32>> {
    let path = root.join(FORMAT_FILE);
    let text = match fs::read(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_error("read the format file", &path, e)),
    };
    let file: FormatFile = serde_json::from_slice(&text).map_err(|e| {
        StoreError::internal(format!(
            "`{}` is not a store-fs format file ({e}); expected {{\"format\": {FORMAT_VERSION}}}",
            path.display()
        ))
    })?;
    if file.format != FORMAT_VERSION {
        return Err(StoreError::unsupported(format!(
            "the store in `{}` uses on-disk format {}, but this store-fs reads format \
             {FORMAT_VERSION} only; open it with a store-fs that knows format {}",
            root.display(),
            file.format,
            file.format
        )));
    }
    Ok(Some(file.format))
}

/// Whether `root` (which has no format file) may become a store: it holds nothing but what an
/// interrupted initialization leaves (the lock file, the objects folder, temporary files).
pub(crate) fn check_unused(root: &Path) -> Result<()> {
    let entries = fs::read_dir(root).map_err(|e| io_error("read the folder", root, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io_error("read the folder", root, e))?;
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name == LOCK_FILE || name == OBJECTS_DIR || name.starts_with(".tmp-") {
            continue;
        }
        return Err(StoreError::invalid_input(format!(
            "`{}` is not empty (it holds `{name}`) and has no {FORMAT_FILE}, so it is not a \
             store-fs store; open an empty or new folder",
            root.display()
        )));
    }
    Ok(())
}

/// Makes `root` a store of the current format: the objects folder, then the format file
/// (written to a temporary file, synced and renamed), each made durable.
pub(crate) fn init(root: &Path) -> Result<()> {
    let objects = root.join(OBJECTS_DIR);
    match fs::create_dir(&objects) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io_error("create", &objects, e)),
    }
    let body = serde_json::to_vec(&FormatFile {
        format: FORMAT_VERSION,
    })
    .map_err(|e| StoreError::internal(format!("cannot encode the format file: {e}")))?;
    let temp = root.join(format!(".tmp-format-{}", std::process::id()));
    let target = root.join(FORMAT_FILE);
    let write = || -> io::Result<()> {
        let mut file = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(&body)?;
        file.sync_all()?;
        fs::rename(&temp, &target)?;
        sync_dir(root)
    };
    write().map_err(|e| {
        let _ = fs::remove_file(&temp);
        io_error("write the format file", &target, e)
    })
}
