//! Sorting the current output directory into eaxc's entries (replaced or dropped) and the
//! user's (carried over), and refusing a build that would overwrite the user's.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use super::manifest::owned_files;
use crate::cli::Fatal;

/// What the build carries over from the current directory: files eaxc did not write.
#[derive(Default)]
pub(super) struct Keep {
    /// Directories to create (relative), parents first, with the mode of the original.
    pub(super) dirs: Vec<(PathBuf, fs::Permissions)>,
    /// Files, symlinks and other non-directories (relative).
    pub(super) files: Vec<PathBuf>,
    /// eaxc's regular files in the current directory that the new build writes again: when
    /// the content is the same, the file is linked rather than written.
    pub(super) reuse: BTreeSet<String>,
}

/// Walks `dir` and sorts every entry into "eaxc's" (skipped: replaced or dropped) and "the
/// user's" (kept). A user entry where the build must write is a conflict: nothing is written.
pub(super) fn survey(dir: &Path, paths: &BTreeSet<String>) -> Result<Keep, Fatal> {
    let manifest = owned_files(dir)?;
    let has_manifest = manifest.is_some();
    let owned = manifest.unwrap_or_default();
    // Directories eaxc made: the parents of the files it wrote.
    let owned_dirs = parent_dirs(&owned);
    let new_dirs = parent_dirs(paths);
    let mut keep = Keep::default();
    let mut conflicts = Vec::new();
    let context = Survey {
        root: dir,
        owned: &owned,
        owned_dirs: &owned_dirs,
        new_dirs: &new_dirs,
        paths,
    };
    context.walk(Path::new(""), &mut keep, &mut conflicts)?;
    if !conflicts.is_empty() {
        conflicts.sort();
        let why = if !has_manifest {
            "it has no manifest.yaml, so eaxc did not write them"
        } else {
            "its manifest.yaml does not list them, so eaxc did not write them"
        };
        return Err(Fatal(format!(
            "refusing to overwrite {} file(s) in `{}`: {why}: {}; move them away or choose \
             another --out",
            conflicts.len(),
            dir.display(),
            conflicts.join(", ")
        )));
    }
    Ok(keep)
}

/// Every directory above a file of `paths` (`a` and `a/b` for `a/b/c`).
fn parent_dirs(paths: &BTreeSet<String>) -> BTreeSet<&str> {
    paths
        .iter()
        .flat_map(|path| {
            path.match_indices('/')
                .map(move |(index, _)| &path[..index])
        })
        .collect()
}

/// What [`survey`] walks with: the directory, the files eaxc wrote there and their
/// directories, and the files (`paths`) and directories the new build writes.
struct Survey<'a> {
    root: &'a Path,
    owned: &'a BTreeSet<String>,
    owned_dirs: &'a BTreeSet<&'a str>,
    new_dirs: &'a BTreeSet<&'a str>,
    paths: &'a BTreeSet<String>,
}

impl Survey<'_> {
    /// Returns whether anything under `relative` is kept.
    fn walk(
        &self,
        relative: &Path,
        keep: &mut Keep,
        conflicts: &mut Vec<String>,
    ) -> Result<bool, Fatal> {
        let mut any = false;
        for (name, is_dir, is_file) in sorted_entries(&self.root.join(relative))? {
            let child = relative.join(&name);
            // Generated names are UTF-8 with `/`; any other name is the user's.
            let key = child.to_string_lossy().replace('\\', "/");
            if is_dir {
                if self.paths.contains(&key) {
                    conflicts.push(format!("{key}/"));
                    continue;
                }
                let at = keep.dirs.len();
                let mode = fs::metadata(self.root.join(&child))
                    .map_err(|error| {
                        Fatal(format!(
                            "cannot read `{}`: {error}",
                            self.root.join(&child).display()
                        ))
                    })?
                    .permissions();
                keep.dirs.push((child.clone(), mode));
                let kept = self.walk(&child, keep, conflicts)?;
                // An emptied directory eaxc made goes; the user's own empty ones stay.
                if !kept && self.owned_dirs.contains(key.as_str()) {
                    keep.dirs.remove(at);
                } else {
                    any = true;
                }
            } else if self.owned.contains(&key) {
                // eaxc's own file: replaced by the new build, or dropped.
                if is_file && self.paths.contains(&key) {
                    keep.reuse.insert(key);
                }
            } else if self.paths.contains(&key) || self.new_dirs.contains(key.as_str()) {
                conflicts.push(key);
            } else {
                keep.files.push(child);
                any = true;
            }
        }
        Ok(any)
    }
}

/// The entries of the directory `full`, sorted by name, each with whether it is a directory
/// and whether it is a regular file (symlinks are neither: they are not followed).
fn sorted_entries(full: &Path) -> Result<Vec<(OsString, bool, bool)>, Fatal> {
    let entries = fs::read_dir(full)
        .map_err(|error| Fatal(format!("cannot read `{}`: {error}", full.display())))?;
    let mut names = Vec::new();
    for entry in entries {
        let entry =
            entry.map_err(|error| Fatal(format!("cannot read `{}`: {error}", full.display())))?;
        let file_type = entry
            .file_type()
            .map_err(|error| Fatal(format!("cannot read `{}`: {error}", entry.path().display())))?;
        names.push((entry.file_name(), file_type.is_dir(), file_type.is_file()));
    }
    names.sort();
    Ok(names)
}
