//! The new tree: writing the generated files into `.DIR.eaxc-tmp-<pid>` as the renderer
//! streams them (linking those unchanged), then carrying the user's files over.

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};

use super::compare::Matcher;
use super::inject::{injected, injected_error};
use super::survey::Keep;
use crate::cli::Fatal;
use crate::diagnostic::Diagnostic;
use crate::render::Sink;

/// Writes the new tree into `tmp`: the generated files as `render` streams them, then the
/// user's files of `dir`.
pub(super) fn fill(
    tmp: &Path,
    dir: &Path,
    exists: bool,
    keep: &Keep,
    render: impl FnOnce(&mut dyn Sink) -> Result<(), Diagnostic>,
) -> Result<Result<(), Diagnostic>, Fatal> {
    let create = |path: &Path| {
        fs::create_dir(path)
            .map_err(|error| Fatal(format!("cannot create `{}`: {error}", path.display())))
    };
    create(tmp)?;
    let mut made: BTreeSet<PathBuf> = BTreeSet::new();
    for (relative, _) in &keep.dirs {
        create(&tmp.join(relative))?;
        made.insert(relative.clone());
    }
    let mut tree = Tree {
        tmp,
        dir,
        reuse: &keep.reuse,
        made,
        open: Vec::new(),
        count: 0,
        error: None,
    };
    if let Err(diagnostic) = render(&mut tree) {
        return Ok(Err(diagnostic));
    }
    if let Some(error) = tree.error {
        return Err(error);
    }
    if let Some((path, _)) = tree.open.first() {
        return Err(Fatal(format!("bug in eaxc: `{path}` was never closed")));
    }
    for relative in &keep.files {
        carry(&dir.join(relative), &tmp.join(relative))?;
    }
    // Modes last: a read-only directory of the user's is still filled.
    for (relative, mode) in keep.dirs.iter().rev() {
        let _ = fs::set_permissions(tmp.join(relative), mode.clone());
    }
    if exists {
        if let Ok(metadata) = fs::metadata(dir) {
            let _ = fs::set_permissions(tmp, metadata.permissions());
        }
    }
    Ok(Ok(()))
}

/// A file of the new tree while it streams in.
enum Pending {
    /// One piece so far, not yet written: most files arrive whole, and an unchanged one is
    /// then linked without being written at all.
    Whole(String),
    /// Several pieces: written as they come, and compared with eaxc's file in the current
    /// directory (when there is one) so that an unchanged file is still linked at the end.
    Streaming(BufWriter<File>, Option<Matcher>),
}

/// The build sink: writes the new tree into the temporary directory.
struct Tree<'a> {
    tmp: &'a Path,
    /// The current output directory.
    dir: &'a Path,
    /// eaxc's files in `dir` that this build writes again (linked when unchanged).
    reuse: &'a BTreeSet<String>,
    /// Directories made in `tmp`.
    made: BTreeSet<PathBuf>,
    open: Vec<(String, Pending)>,
    /// Files made so far (for `EAXC_TEST_FAIL=write:N`).
    count: usize,
    /// The first failure; everything after it is ignored.
    error: Option<Fatal>,
}

impl Tree<'_> {
    /// The path of `relative` in the new tree, its directory made.
    fn target(&mut self, relative: &str) -> Result<PathBuf, Fatal> {
        let relative = Path::new(relative);
        if let Some(parent) = relative.parent() {
            if !parent.as_os_str().is_empty() && !self.made.contains(parent) {
                let full = self.tmp.join(parent);
                fs::create_dir_all(&full).map_err(|error| {
                    Fatal(format!("cannot create `{}`: {error}", full.display()))
                })?;
                self.made.insert(parent.to_path_buf());
            }
        }
        let path = self.tmp.join(relative);
        let count = self.count;
        self.count += 1;
        if injected("write", count) {
            return Err(write_error(&path, &injected_error()));
        }
        Ok(path)
    }

    /// Starts streaming `relative` with `pieces` as its first pieces.
    fn stream(&mut self, relative: &str, pieces: &[&str]) -> Result<Pending, Fatal> {
        let path = self.target(relative)?;
        let file = File::create(&path).map_err(|error| write_error(&path, &error))?;
        let mut out = BufWriter::with_capacity(1 << 16, file);
        let mut matcher = if self.reuse.contains(relative) {
            File::open(self.dir.join(relative)).ok().map(Matcher::new)
        } else {
            None
        };
        for piece in pieces {
            out.write_all(piece.as_bytes())
                .map_err(|error| write_error(&path, &error))?;
            if let Some(matcher) = &mut matcher {
                matcher.feed(piece);
            }
        }
        Ok(Pending::Streaming(out, matcher))
    }

    fn append_to(&mut self, at: usize, text: &str) -> Result<(), Fatal> {
        if let Pending::Whole(first) = &mut self.open[at].1 {
            let first = std::mem::take(first);
            let path = self.open[at].0.clone();
            self.open[at].1 = self.stream(&path, &[&first, text])?;
            return Ok(());
        }
        let (path, pending) = &mut self.open[at];
        if let Pending::Streaming(out, matcher) = pending {
            out.write_all(text.as_bytes())
                .map_err(|error| write_error(&self.tmp.join(&*path), &error))?;
            if let Some(matcher) = matcher {
                matcher.feed(text);
            }
        }
        Ok(())
    }

    fn finish(&mut self, relative: &str, pending: Pending) -> Result<(), Fatal> {
        let old = self.dir.join(relative);
        match pending {
            Pending::Whole(text) => {
                let path = self.target(relative)?;
                let written = if self.reuse.contains(relative) && unchanged(&old, &text) {
                    // The same bytes: a link costs less than a new file and keeps its mtime.
                    fs::hard_link(&old, &path).or_else(|_| fs::write(&path, &text))
                } else {
                    fs::write(&path, &text)
                };
                written.map_err(|error| write_error(&path, &error))
            }
            Pending::Streaming(out, matcher) => {
                let path = self.tmp.join(relative);
                out.into_inner()
                    .map_err(|error| write_error(&path, error.error()))?;
                if matcher.is_some_and(Matcher::finish) {
                    // Unchanged after all: the old file takes the copy's place (keeping its
                    // inode and mtime) by a link renamed over it; if that fails, the
                    // byte-identical copy stays.
                    let link = path.with_extension("eaxc-link");
                    if fs::hard_link(&old, &link).is_ok() && fs::rename(&link, &path).is_err() {
                        let _ = fs::remove_file(&link);
                    }
                }
                Ok(())
            }
        }
    }
}

impl Sink for Tree<'_> {
    fn append(&mut self, path: &str, text: &str) {
        if self.error.is_some() {
            return;
        }
        let result = match self.open.iter().position(|(open, _)| open == path) {
            Some(at) => self.append_to(at, text),
            // A large first piece (the manifest) is written at once rather than copied.
            None if text.len() > 1 << 20 => self
                .stream(path, &[text])
                .map(|pending| self.open.push((path.to_string(), pending))),
            None => {
                self.open
                    .push((path.to_string(), Pending::Whole(text.to_string())));
                Ok(())
            }
        };
        if let Err(error) = result {
            self.error = Some(error);
        }
    }

    fn close(&mut self, path: &str) {
        let Some(at) = self.open.iter().position(|(open, _)| open == path) else {
            return;
        };
        let (path, pending) = self.open.swap_remove(at);
        if self.error.is_none() {
            if let Err(error) = self.finish(&path, pending) {
                self.error = Some(error);
            }
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

fn write_error(path: &Path, error: &std::io::Error) -> Fatal {
    Fatal(format!("cannot write `{}`: {error}", path.display()))
}

/// Whether the file at `path` holds exactly `text`.
fn unchanged(path: &Path, text: &str) -> bool {
    fs::metadata(path).is_ok_and(|metadata| metadata.len() == text.len() as u64)
        && fs::read(path).is_ok_and(|bytes| bytes == text.as_bytes())
}

/// Puts a file of the user's into the new tree: a hard link (the same file, nothing copied),
/// else a copy; a symlink is recreated as a symlink.
fn carry(from: &Path, to: &Path) -> Result<(), Fatal> {
    let failed = |error: std::io::Error| {
        Fatal(format!(
            "cannot carry `{}` over into the new output: {error}",
            from.display()
        ))
    };
    let metadata = fs::symlink_metadata(from).map_err(failed)?;
    if metadata.file_type().is_symlink() {
        let target = fs::read_link(from).map_err(failed)?;
        #[cfg(unix)]
        return std::os::unix::fs::symlink(target, to).map_err(failed);
        #[cfg(not(unix))]
        {
            let _ = target;
            return fs::copy(from, to).map(drop).map_err(failed);
        }
    }
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    fs::copy(from, to).map(drop).map_err(failed)
}
