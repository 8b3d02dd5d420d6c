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

use std::collections::BTreeSet;
use std::fs::{self, File};
use std::io::{BufReader, BufWriter, ErrorKind, Read as _, Write as _};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Fatal;
use crate::diagnostic::Diagnostic;
use crate::render::Sink;

/// The file `build` writes its own file list into.
const MANIFEST: &str = "manifest.yaml";

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

#[derive(Deserialize)]
struct OldManifest {
    files: Vec<OldFile>,
}

#[derive(Deserialize)]
struct OldFile {
    path: String,
}

/// The files an earlier build wrote into `dir` (its manifest's list plus the manifest itself),
/// or `None` when there is no manifest. Paths that could leave `dir` are ignored.
fn owned_files(dir: &Path) -> Result<Option<BTreeSet<String>>, Fatal> {
    let path = dir.join(MANIFEST);
    let text = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Fatal(format!("cannot read `{}`: {error}", path.display()))),
    };
    // The `files` list is the last top-level key of a manifest eaxc wrote; parsing only it
    // skips the `objects` list, which is most of the text (2 MB for 1,000 apis).
    let files = text
        .find("\nfiles:")
        .map_or(text.as_str(), |start| &text[start + 1..]);
    let manifest = match quick_files(files) {
        Some(files) => OldManifest { files },
        None => serde_norway::from_str(files).map_err(|error| {
            Fatal(format!(
            "`{}` is not a manifest written by eaxc ({error}); without it eaxc cannot tell its \
             files from yours: move the directory away or delete the manifest by hand",
            path.display()
        ))
        })?,
    };
    let mut owned: BTreeSet<String> = manifest
        .files
        .into_iter()
        .map(|file| file.path)
        .filter(|path| is_safe_relative(path))
        .collect();
    owned.insert(MANIFEST.to_string());
    Ok(Some(owned))
}

/// Reads a `files:` list exactly as eaxc writes it (`- path: P` and `  sha256: H` lines, every
/// path a plain scalar) without a YAML parser, ten times faster; `None` for anything else.
fn quick_files(text: &str) -> Option<Vec<OldFile>> {
    let mut lines = text.lines();
    if lines.next()? != "files:" {
        return None;
    }
    let plain = |value: &str| {
        !value.is_empty()
            && value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || b"_./-".contains(&byte))
    };
    let mut files = Vec::new();
    while let Some(line) = lines.next() {
        let path = line.strip_prefix("- path: ").filter(|path| plain(path))?;
        let hash = lines.next()?.strip_prefix("  sha256: ")?;
        if !plain(hash) {
            return None;
        }
        files.push(OldFile {
            path: path.to_string(),
        });
    }
    Some(files)
}

/// A relative path with `/` separators that stays inside its directory.
fn is_safe_relative(path: &str) -> bool {
    !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
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
    let mut compare = Compare {
        dir,
        owned: owned.as_ref(),
        open: Vec::new(),
        found: Vec::new(),
        error: None,
    };
    if let Err(diagnostic) = render(&mut compare) {
        return Ok(Err(diagnostic));
    }
    if let Some(error) = compare.error {
        return Err(error);
    }
    let mut found = compare.found;
    for path in owned.iter().flatten() {
        if !paths.contains(path) && fs::symlink_metadata(dir.join(path)).is_ok() {
            found.push((Status::Obsolete, path.clone()));
        }
    }
    found.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(Ok(found))
}

/// Compares text that arrives in pieces with a file's content, reading no more of the file
/// than has arrived.
struct Matcher {
    file: BufReader<File>,
    same: bool,
    buffer: Vec<u8>,
}

impl Matcher {
    fn new(file: File) -> Self {
        Self {
            file: BufReader::with_capacity(1 << 16, file),
            same: true,
            buffer: Vec::new(),
        }
    }

    fn feed(&mut self, text: &str) {
        // In blocks, so that a large piece (the manifest) needs no buffer of its size.
        for block in text.as_bytes().chunks(1 << 16) {
            if !self.same {
                return;
            }
            self.buffer.resize(block.len(), 0);
            self.same = self.file.read_exact(&mut self.buffer).is_ok() && self.buffer == block;
        }
    }

    /// Whether the file held exactly the text fed, and nothing more.
    fn finish(mut self) -> bool {
        self.same && matches!(self.file.read(&mut [0; 1]), Ok(0))
    }
}

/// The `--check` sink: compares each file as it streams with the one in the directory.
struct Compare<'a> {
    dir: &'a Path,
    owned: Option<&'a BTreeSet<String>>,
    /// Files being compared (`None`: already found missing or in the way).
    open: Vec<(String, Option<Matcher>)>,
    found: Vec<(Status, String)>,
    error: Option<Fatal>,
}

impl Compare<'_> {
    /// Starts comparing `path`: `None` when its status is already known.
    fn start(&mut self, path: &str) -> Option<Matcher> {
        let full = self.dir.join(path);
        match File::open(&full) {
            Ok(file) if file.metadata().is_ok_and(|metadata| metadata.is_dir()) => {
                self.found.push((Status::Conflict, path.to_string()));
                None
            }
            Ok(file) => {
                if self.owned.is_some_and(|owned| owned.contains(path)) {
                    Some(Matcher::new(file))
                } else {
                    self.found.push((Status::Conflict, path.to_string()));
                    None
                }
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.found.push((Status::Missing, path.to_string()));
                None
            }
            // A file where its directory goes.
            Err(error) if error.kind() == ErrorKind::NotADirectory => {
                self.found.push((Status::Conflict, path.to_string()));
                None
            }
            Err(error) => {
                self.error.get_or_insert_with(|| {
                    Fatal(format!("cannot read `{}`: {error}", full.display()))
                });
                None
            }
        }
    }
}

impl Sink for Compare<'_> {
    fn append(&mut self, path: &str, text: &str) {
        let at = match self.open.iter().position(|(open, _)| open == path) {
            Some(at) => at,
            None => {
                let matcher = self.start(path);
                self.open.push((path.to_string(), matcher));
                self.open.len() - 1
            }
        };
        if let Some(matcher) = &mut self.open[at].1 {
            matcher.feed(text);
        }
    }

    fn close(&mut self, path: &str) {
        if let Some(at) = self.open.iter().position(|(open, _)| open == path) {
            let (path, matcher) = self.open.swap_remove(at);
            if matcher.is_some_and(|matcher| !matcher.finish()) {
                self.found.push((Status::Stale, path));
            }
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}

/// Takes a shared lock on an existing lock file, so that `--check` never reads a directory
/// in the middle of a swap. A missing lock file is not created: no build has run yet.
fn shared_lock(path: &Path) -> Result<Option<File>, Fatal> {
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

/// `parent/.NAME.eaxc-<what>` for the output directory `parent/NAME`.
fn sibling(dir: &Path, what: &str) -> Result<PathBuf, Fatal> {
    let name = dir
        .file_name()
        .ok_or_else(|| Fatal(format!("`{}` cannot be an output directory", dir.display())))?;
    let parent = dir.parent().unwrap_or(Path::new("."));
    Ok(parent.join(format!(".{}.eaxc-{what}", name.to_string_lossy())))
}

/// The output directory as a canonical path (following a symlink to the real directory),
/// creating its parent if need be and `create` is set.
fn resolve(dir: &Path, create: bool) -> Result<PathBuf, Fatal> {
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
fn refuse_enclosing(dir: &Path, project: &Path) -> Result<(), Fatal> {
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

/// Holds the exclusive build lock of an output directory while alive.
struct Lock {
    _file: File,
}

fn exclusive_lock(dir: &Path) -> Result<Lock, Fatal> {
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

/// Finishes what a build that died left beside `dir` (called under the lock, so no other
/// build is running): a half-written new tree is deleted; an old tree is put back when the
/// crash fell between the two renames (`dir` is missing), and deleted otherwise.
fn recover(dir: &Path) -> Result<(), Fatal> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
    let parent = dir.parent().unwrap_or(Path::new("."));
    let (Some(name), Ok(entries)) = (name, fs::read_dir(parent)) else {
        return Ok(());
    };
    let tmp_prefix = format!(".{name}.eaxc-tmp-");
    let old_prefix = format!(".{name}.eaxc-old-");
    let mut olds = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        if entry_name.starts_with(&tmp_prefix) {
            remove_tree(&entry.path())?;
        } else if entry_name.starts_with(&old_prefix) {
            olds.push(entry.path());
        }
    }
    olds.sort();
    let dir_exists = fs::symlink_metadata(dir).is_ok();
    match (dir_exists, olds.as_slice()) {
        (_, []) => {}
        (false, [old]) => {
            fs::rename(old, dir).map_err(|error| {
                Fatal(format!(
                    "cannot restore `{}` from `{}` (left by an interrupted build): {error}",
                    dir.display(),
                    old.display()
                ))
            })?;
            eprintln!(
                "restored {} from {}, left by an interrupted build",
                dir.display(),
                old.display()
            );
        }
        (false, _) => {
            return Err(Fatal(format!(
                "`{}` is missing and several earlier outputs were left beside it by interrupted \
                 builds ({}); rename the one to keep to `{name}`",
                dir.display(),
                olds.iter()
                    .map(|old| old.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )))
        }
        (true, olds) => {
            for old in olds {
                remove_tree(old)?;
            }
        }
    }
    Ok(())
}

fn remove_tree(path: &Path) -> Result<(), Fatal> {
    fs::remove_dir_all(path)
        .map_err(|error| Fatal(format!("cannot remove `{}`: {error}", path.display())))
}

/// What the build carries over from the current directory: files eaxc did not write.
#[derive(Default)]
struct Keep {
    /// Directories to create (relative), parents first, with the mode of the original.
    dirs: Vec<(PathBuf, fs::Permissions)>,
    /// Files, symlinks and other non-directories (relative).
    files: Vec<PathBuf>,
    /// eaxc's regular files in the current directory that the new build writes again: when
    /// the content is the same, the file is linked rather than written.
    reuse: BTreeSet<String>,
}

/// Walks `dir` and sorts every entry into "eaxc's" (skipped: replaced or dropped) and "the
/// user's" (kept). A user entry where the build must write is a conflict: nothing is written.
fn survey(dir: &Path, paths: &BTreeSet<String>) -> Result<Keep, Fatal> {
    let manifest = owned_files(dir)?;
    let has_manifest = manifest.is_some();
    let owned = manifest.unwrap_or_default();
    // Directories eaxc made: the parents of the files it wrote.
    let owned_dirs: BTreeSet<&str> = owned
        .iter()
        .flat_map(|path| {
            path.match_indices('/')
                .map(move |(index, _)| &path[..index])
        })
        .collect();
    let new_dirs: BTreeSet<&str> = paths
        .iter()
        .flat_map(|path| {
            path.match_indices('/')
                .map(move |(index, _)| &path[..index])
        })
        .collect();
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
        let full = self.root.join(relative);
        let entries = fs::read_dir(&full)
            .map_err(|error| Fatal(format!("cannot read `{}`: {error}", full.display())))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry
                .map_err(|error| Fatal(format!("cannot read `{}`: {error}", full.display())))?;
            let file_type = entry.file_type().map_err(|error| {
                Fatal(format!("cannot read `{}`: {error}", entry.path().display()))
            })?;
            names.push((entry.file_name(), file_type.is_dir(), file_type.is_file()));
        }
        names.sort();
        let mut any = false;
        for (name, is_dir, is_file) in names {
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

/// A failure injected by tests (debug builds only): `EAXC_TEST_FAIL=write:N` fails writing
/// the N+1th file of the new tree, `EAXC_TEST_FAIL=swap` fails the rename that moves the new
/// tree into place (after the old one was moved aside).
fn injected(stage: &str, count: usize) -> bool {
    if !cfg!(debug_assertions) {
        return false;
    }
    let Some(value) = std::env::var_os("EAXC_TEST_FAIL") else {
        return false;
    };
    let value = value.to_string_lossy();
    match value.split_once(':') {
        Some((name, n)) => name == stage && n.parse() == Ok(count),
        None => value == stage,
    }
}

fn injected_error() -> std::io::Error {
    std::io::Error::other("failure injected by EAXC_TEST_FAIL")
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
    if !exists {
        return match fs::rename(&tmp, &dir) {
            Ok(()) => Ok(Ok(())),
            Err(error) => {
                let _ = fs::remove_dir_all(&tmp);
                Err(Fatal(format!(
                    "cannot move the new output into `{}`: {error}",
                    dir.display()
                )))
            }
        };
    }
    let old = sibling(&dir, &format!("old-{}", std::process::id()))?;
    if let Err(error) = fs::rename(&dir, &old) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(Fatal(format!(
            "cannot move `{}` aside: {error}",
            dir.display()
        )));
    }
    // The crash window: between these two renames `dir` does not exist (the next build puts
    // `old` back, see `recover`).
    let swapped = if injected("swap", 0) {
        Err(injected_error())
    } else {
        fs::rename(&tmp, &dir)
    };
    if let Err(error) = swapped {
        let restored = fs::rename(&old, &dir);
        let _ = fs::remove_dir_all(&tmp);
        return Err(Fatal(match restored {
            Ok(()) => format!(
                "cannot move the new output into `{}`: {error}",
                dir.display()
            ),
            Err(second) => format!(
                "cannot move the new output into `{}`: {error}; and cannot move the previous \
                 output back from `{}`: {second} (the next build restores it)",
                dir.display(),
                old.display()
            ),
        }));
    }
    if let Err(error) = fs::remove_dir_all(&old) {
        eprintln!(
            "warning: cannot remove the previous output `{}`: {error} (the next build retries)",
            old.display()
        );
    }
    Ok(Ok(()))
}

/// Writes the new tree into `tmp`: the generated files as `render` streams them, then the
/// user's files of `dir`.
fn fill(
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
