//! Finding the project: `eaxc.yaml`, the spec files, and the handler files they name.

use std::path::{Component, Path, PathBuf};

use super::{Fatal, SpecArgs};
use crate::lower::Loader;
use crate::{analyse, compile, Compilation, Input};

/// Finds the project of `args` and compiles it, the output rendered into memory; returns the
/// project root too.
pub(crate) fn compile_project(args: &SpecArgs) -> Result<(PathBuf, Compilation), Fatal> {
    read_project(args, compile)
}

/// Like [`compile_project`], but stops before rendering: the caller streams the output with
/// [`Compilation::render_to`].
pub(crate) fn analyse_project(args: &SpecArgs) -> Result<(PathBuf, Compilation), Fatal> {
    read_project(args, analyse)
}

fn read_project(
    args: &SpecArgs,
    run: fn(&Input, &dyn Loader) -> Compilation,
) -> Result<(PathBuf, Compilation), Fatal> {
    let project = load_project(args)?;
    let loader = FsLoader {
        root: project.root.clone(),
    };
    let input = Input {
        specs: project.specs,
        config: project.config,
    };
    let compilation = run(&input, &loader);
    // The texts live on in the compilation's sources; freeing this copy piece by piece costs
    // more than leaving it to the end of the process.
    std::mem::forget(input);
    Ok((project.root, compilation))
}

/// The project: where `eaxc.yaml` is (or the current directory), and the specs found.
pub(crate) struct Project {
    pub(crate) root: PathBuf,
    pub(crate) config: Option<(String, String)>,
    pub(crate) specs: Vec<(String, String)>,
    /// The path each spec was read from, in the order of `specs`.
    pub(crate) paths: Vec<PathBuf>,
}

pub(crate) fn find_config(start: &Path) -> Option<PathBuf> {
    let start = if start.is_file() {
        start.parent()?
    } else {
        start
    };
    // A bare file name has an empty parent: the search starts in the current directory.
    let start = if start.as_os_str().is_empty() {
        Path::new(".")
    } else {
        start
    };
    let start = std::fs::canonicalize(start).ok()?;
    start
        .ancestors()
        .map(|dir| dir.join("eaxc.yaml"))
        .find(|candidate| candidate.is_file())
}

/// A path relative to `root` when it is inside it, with `/` separators.
pub(crate) fn display_name(root: &Path, path: &Path) -> String {
    let absolute = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    // Outside the project a path is shown absolute, so that it still resolves.
    let (shown, prefix) = match absolute.strip_prefix(root) {
        Ok(relative) => (relative, ""),
        Err(_) => (absolute.as_path(), "/"),
    };
    let parts: Vec<String> = shown
        .components()
        .filter_map(|component| match component {
            Component::Normal(part) => Some(part.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect();
    format!("{prefix}{}", parts.join("/"))
}

fn collect_specs(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), Fatal> {
    let metadata = std::fs::metadata(path)
        .map_err(|error| Fatal(format!("cannot read `{}`: {error}", path.display())))?;
    if metadata.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let entries = std::fs::read_dir(path)
        .map_err(|error| Fatal(format!("cannot read `{}`: {error}", path.display())))?;
    let mut children: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .collect();
    children.sort();
    for child in children {
        let name = child
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || name == "target" || name == "node_modules" {
            continue;
        }
        if child.is_dir() {
            collect_specs(&child, out)?;
        } else if name.ends_with(".eax") {
            out.push(child);
        }
    }
    Ok(())
}

pub(crate) fn load_project(args: &SpecArgs) -> Result<Project, Fatal> {
    let cwd = std::env::current_dir()
        .map_err(|error| Fatal(format!("cannot read the current directory: {error}")))?;
    let first = args.paths.first().cloned().unwrap_or_else(|| cwd.clone());
    let config_path = find_config(&first);
    let root = config_path
        .as_ref()
        .and_then(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| std::fs::canonicalize(&cwd).unwrap_or(cwd));
    let config = match &config_path {
        Some(path) => Some((
            display_name(&root, path),
            std::fs::read_to_string(path)
                .map_err(|error| Fatal(format!("cannot read `{}`: {error}", path.display())))?,
        )),
        None => None,
    };
    let paths = if args.paths.is_empty() {
        vec![root.clone()]
    } else {
        args.paths.clone()
    };
    let mut files = Vec::new();
    for path in &paths {
        collect_specs(path, &mut files)?;
    }
    if files.is_empty() {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(Fatal(format!(
            "no .eax specs found in {}",
            shown.join(", ")
        )));
    }
    let mut specs = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file)
            .map_err(|error| Fatal(format!("cannot read `{}`: {error}", file.display())))?;
        specs.push((display_name(&root, file), text));
    }
    Ok(Project {
        root,
        config,
        specs,
        paths: files,
    })
}

/// Reads handler files relative to their spec.
pub(crate) struct FsLoader {
    pub(crate) root: PathBuf,
}

impl Loader for FsLoader {
    fn load(&self, spec: &str, path: &str) -> Result<(String, String), String> {
        let spec_dir = Path::new(spec).parent().unwrap_or(Path::new(""));
        let full = self.root.join(spec_dir).join(path);
        let text = std::fs::read_to_string(&full).map_err(|error| error.to_string())?;
        Ok((display_name(&self.root, &full), text))
    }
}
