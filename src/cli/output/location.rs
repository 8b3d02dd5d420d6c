//! Where the output directory is: its canonical path, the names of the lock and trees beside
//! it, and the directories it must not be.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use crate::cli::Fatal;

/// `parent/.NAME.eaxc-<what>` for the output directory `parent/NAME`.
pub(super) fn sibling(dir: &Path, what: &str) -> Result<PathBuf, Fatal> {
    let name = dir
        .file_name()
        .ok_or_else(|| Fatal(format!("`{}` cannot be an output directory", dir.display())))?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}.eaxc-{what}", name.to_string_lossy())))
}

/// The output directory as a canonical path (following a symlink to the real directory),
/// creating its parent if need be and `create` is set.
pub(super) fn resolve(dir: &Path, create: bool) -> Result<PathBuf, Fatal> {
    match fs::canonicalize(dir) {
        Ok(path) => return Ok(path),
        Err(error) if error.kind() == ErrorKind::NotFound => {}
        Err(error) => return Err(Fatal(format!("cannot read `{}`: {error}", dir.display()))),
    }
    let name = dir
        .file_name()
        .ok_or_else(|| Fatal(format!("`{}` cannot be an output directory", dir.display())))?;
    let parent = match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if create {
        fs::create_dir_all(parent)
            .map_err(|error| Fatal(format!("cannot create `{}`: {error}", parent.display())))?;
    }
    let parent = fs::canonicalize(parent)
        .map_err(|error| Fatal(format!("cannot read `{}`: {error}", parent.display())))?;
    Ok(parent.join(name))
}

/// Refuses an output directory that holds the current directory or the project: the swap
/// would replace it (and carry a whole project, `.git` and all, into a new tree).
pub(super) fn refuse_enclosing(dir: &Path, project: &Path) -> Result<(), Fatal> {
    let cwd = std::env::current_dir().and_then(fs::canonicalize);
    if project.starts_with(dir) || cwd.is_ok_and(|cwd| cwd.starts_with(dir)) {
        return Err(Fatal(format!(
            "`{}` cannot be the output directory: it contains the project or the current \
             directory, and `build` replaces its output directory as a whole; choose a \
             subdirectory",
            dir.display()
        )));
    }
    Ok(())
}
