//! The output directory: comparing it with a build (`--check`) and replacing it atomically.
//!
//! `build` never edits the output directory `DIR` in place. Under a lock it writes the whole
//! new directory beside it as `.DIR.eaxc-tmp-<pid>` — the generated files plus a hard link (or,
//! failing that, a copy) of every file in `DIR` that eaxc did not write — and then swaps it in
//! with two renames: `DIR` → `.DIR.eaxc-old-<pid>`, `.DIR.eaxc-tmp-<pid>` → `DIR`. The old
//! tree is then deleted. The generated files stream in from the renderer (a [`Sink`]) and are
//! written as they come; one identical to eaxc's file in `DIR` is linked instead, so that it
//! keeps its inode and mtime. What eaxc wrote is known from the old `manifest.yaml`'s `files`
//! list; files it no longer produces are simply not carried over. See ARCHITECTURE.md for the
//! crash behaviour. `--check` compares the same stream with `DIR`, reading each file no further
//! than the stream has come.
//!
//! A build ([`write`]) goes through the submodules in order: `location` resolves `DIR` and
//! names what lies beside it; `lock` takes `.DIR.eaxc-lock`; `swap` first finishes what a
//! killed build left; `survey` sorts `DIR` into eaxc's files and the user's, knowing eaxc's
//! from the old manifest (`manifest`); `tree` writes the new tree; `swap` renames it into
//! place. [`check`] takes the lock shared and compares through `compare`. `inject` holds the
//! failures the tests inject into the writer and the swap.

mod compare;
mod inject;
mod location;
mod lock;
mod manifest;
mod survey;
mod swap;
mod tree;

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use self::compare::Compare;
use self::location::{refuse_enclosing, resolve, sibling};
use self::lock::{exclusive_lock, shared_lock};
use self::manifest::owned_files;
use self::survey::{survey, Keep};
use self::swap::recover;
use self::tree::fill;
use super::Fatal;
use crate::diagnostic::Diagnostic;
use crate::render::Sink;

/// How a file of the output directory differs from what a build would write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    /// Exists with other content.
    Stale,
    /// Would be written but does not exist.
    Missing,
    /// Written by an earlier build (listed in the old manifest) but no longer produced.
    Obsolete,
    /// Exists, was not written by eaxc, and a build would have to overwrite it (it refuses).
    Conflict,
}

impl Status {
    pub(crate) fn word(self) -> &'static str {
        match self {
            Self::Stale => "stale",
            Self::Missing => "missing",
            Self::Obsolete => "obsolete",
            Self::Conflict => "conflict",
        }
    }
}

/// Compares `dir` with the build `render` streams, whose files are `paths`: every file that
/// differs, is missing, is obsolete or is in the way, sorted by path. Reads only; creates
/// nothing. The inner error is a failed render (a bug in eaxc).
pub(crate) fn check(
    dir: &Path,
    paths: &BTreeSet<String>,
    render: impl FnOnce(&mut dyn Sink) -> Result<(), Diagnostic>,
) -> Result<Result<Vec<(Status, String)>, Diagnostic>, Fatal> {
    let _lock = match resolve(dir, false).and_then(|dir| sibling(&dir, "lock")) {
        Ok(lock_path) => shared_lock(&lock_path)?,
        Err(_) => None,
    };
    let exists = match fs::metadata(dir) {
        Ok(metadata) if metadata.is_dir() => true,
        Ok(_) => return Err(Fatal(format!("`{}` is not a directory", dir.display()))),
        Err(error) if error.kind() == ErrorKind::NotFound => false,
        Err(error) => return Err(Fatal(format!("cannot read `{}`: {error}", dir.display()))),
    };
    let owned = if exists { owned_files(dir)? } else { None };
    let mut compare = Compare::new(dir, owned.as_ref());
    if let Err(diagnostic) = render(&mut compare) {
        return Ok(Err(diagnostic));
    }
    let mut found = compare.finish()?;
    for path in owned.iter().flatten() {
        if !paths.contains(path) && fs::symlink_metadata(dir.join(path)).is_ok() {
            found.push((Status::Obsolete, path.clone()));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(Ok(found))
}

/// Replaces the output directory `dir` by the build `render` streams (whose files are
/// `paths`) plus the files in `dir` eaxc did not write, atomically (see the module
/// documentation). `project` is the project directory. The inner error is a failed render (a
/// bug in eaxc); like any failure, it leaves `dir` as it was.
pub(crate) fn write(
    dir: &Path,
    paths: &BTreeSet<String>,
    project: &Path,
    render: impl FnOnce(&mut dyn Sink) -> Result<(), Diagnostic>,
) -> Result<Result<(), Diagnostic>, Fatal> {
    let dir = resolve(dir, true)?;
    refuse_enclosing(&dir, project)?;
    let _lock = exclusive_lock(&dir)?;
    recover(&dir)?;
    let exists = match fs::symlink_metadata(&dir) {
        Ok(metadata) if metadata.is_dir() => true,
        Ok(_) => return Err(Fatal(format!("`{}` is not a directory", dir.display()))),
        Err(error) if error.kind() == ErrorKind::NotFound => false,
        Err(error) => return Err(Fatal(format!("cannot read `{}`: {error}", dir.display()))),
    };
    let keep = if exists {
        survey(&dir, paths)?
    } else {
        Keep::default()
    };
    let tmp = sibling(&dir, &format!("tmp-{}", std::process::id()))?;
    match fill(&tmp, &dir, exists, &keep, render) {
        Ok(Ok(())) => {}
        failed => {
            let _ = fs::remove_dir_all(&tmp);
            return failed;
        }
    }
    swap::install(&tmp, &dir, exists)?;
    Ok(Ok(()))
}
