//! The lock beside the output directory, `.DIR.eaxc-lock`: exclusive while a build replaces
//! the directory, shared while `--check` reads it.

use std::fs::File;
use std::io::ErrorKind;
use std::path::Path;

use super::location::sibling;
use crate::cli::Fatal;

/// Holds the exclusive build lock of an output directory while alive.
pub(super) struct Lock {
    _file: File,
}

/// Takes the exclusive build lock of the output directory `dir` on `.DIR.eaxc-lock`, creating
/// the lock file if need be (and leaving it there), waiting for a build or `--check` that
/// holds it.
pub(super) fn exclusive_lock(dir: &Path) -> Result<Lock, Fatal> {
    let path = sibling(dir, "lock")?;
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|error| Fatal(format!("cannot open `{}`: {error}", path.display())))?;
    wait_for_lock(&path, file.try_lock(), || file.lock())?;
    Ok(Lock { _file: file })
}

/// Takes a shared lock on an existing lock file, so that `--check` never reads a directory
/// in the middle of a swap. A missing lock file is not created: no build has run yet.
pub(super) fn shared_lock(path: &Path) -> Result<Option<File>, Fatal> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Fatal(format!("cannot open `{}`: {error}", path.display()))),
    };
    wait_for_lock(path, file.try_lock_shared(), || file.lock_shared())?;
    Ok(Some(file))
}

/// Finishes taking a lock that `tried` could not take at once: says so, then waits with
/// `block`.
fn wait_for_lock(
    path: &Path,
    tried: Result<(), std::fs::TryLockError>,
    block: impl FnOnce() -> std::io::Result<()>,
) -> Result<(), Fatal> {
    let failed =
        |error: std::io::Error| Fatal(format!("cannot lock `{}`: {error}", path.display()));
    match tried {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => {
            eprintln!("waiting for lock on {}", path.display());
            block().map_err(failed)
        }
        Err(std::fs::TryLockError::Error(error)) => Err(failed(error)),
    }
}
