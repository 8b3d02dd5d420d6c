//! What an earlier build wrote: the `files` list of the `manifest.yaml` in the output
//! directory, read fast when eaxc wrote it and by a YAML parser otherwise.

use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::Path;

use serde::Deserialize;

use crate::cli::Fatal;

/// The file `build` writes its own file list into.
const MANIFEST: &str = "manifest.yaml";

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
pub(super) fn owned_files(dir: &Path) -> Result<Option<BTreeSet<String>>, Fatal> {
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
