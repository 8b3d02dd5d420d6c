//! Putting the new tree in place with two renames, and finishing what a build killed around
//! them left beside the output directory.

use std::fs;
use std::path::Path;

use super::inject::{injected, injected_error};
use super::location::sibling;
use crate::cli::Fatal;

/// Puts the finished new tree `tmp` in place as `dir` (which `exists` or not): with one
/// rename when there is no `dir`; else `dir` is moved aside, `tmp` moved in and the old tree
/// deleted. A failure deletes `tmp` and leaves `dir` as it was — if moving it back fails too,
/// the next build's [`recover`] puts it back.
pub(super) fn install(tmp: &Path, dir: &Path, exists: bool) -> Result<(), Fatal> {
    if !exists {
        return match fs::rename(tmp, dir) {
            Ok(()) => Ok(()),
            Err(error) => {
                let _ = fs::remove_dir_all(tmp);
                Err(Fatal(format!(
                    "cannot move the new output into `{}`: {error}",
                    dir.display()
                )))
            }
        };
    }
    let old = sibling(dir, &format!("old-{}", std::process::id()))?;
    if let Err(error) = fs::rename(dir, &old) {
        let _ = fs::remove_dir_all(tmp);
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
        fs::rename(tmp, dir)
    };
    if let Err(error) = swapped {
        let restored = fs::rename(&old, dir);
        let _ = fs::remove_dir_all(tmp);
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
    Ok(())
}

/// Finishes what a build that died left beside `dir` (called under the lock, so no other
/// build is running): a half-written new tree is deleted; an old tree is put back when the
/// crash fell between the two renames (`dir` is missing), and deleted otherwise.
pub(super) fn recover(dir: &Path) -> Result<(), Fatal> {
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
