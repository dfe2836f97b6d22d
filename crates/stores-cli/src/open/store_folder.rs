//! Folders that belong to an object store: nothing else is written into them.

use anyhow::{Result, bail};

use crate::location::Location;

/// Refuses a `file://` location that is, or is inside, a store-fs object store: `what` (an
/// archive, a plan) written there would be mixed with the store's own files.
pub(crate) fn refuse_store_folder(location: &Location, what: &str) -> Result<()> {
    if let Location::File { path } = location
        && let Some(root) = store_fs::store_root_of(path)
    {
        bail!(
            "{location} is inside the object store in `{}`: {what} there would be mixed with \
             its objects; give a folder of its own",
            root.display()
        );
    }
    Ok(())
}
