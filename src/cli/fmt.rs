//! `eaxc fmt`: rewrite specs in the canonical layout of [`crate::fmt`], or with `--check`
//! report as a unified diff what would change.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::project::load_project;
use super::{report, Color, Fatal, Format, SpecArgs};
use crate::config::Config;
use crate::source::Sources;
use crate::Compilation;

/// `eaxc fmt`.
#[derive(Debug, clap::Args)]
pub struct FmtArgs {
    /// Spec files or directories (searched for `*.eax`); default: the project directory.
    pub paths: Vec<PathBuf>,
    /// Write nothing: print a diff of what would change and exit 1 if anything would.
    #[arg(long)]
    pub check: bool,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

pub(crate) fn fmt(args: &FmtArgs) -> Result<u8, Fatal> {
    let spec_args = SpecArgs {
        paths: args.paths.clone(),
        deny_warnings: false,
        color: args.color,
        format: Format::Human,
    };
    let project = load_project(&spec_args)?;
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let mut changed = 0;
    let mut stdout = std::io::stdout().lock();
    for ((name, text), path) in project.specs.iter().zip(&project.paths) {
        let file = sources.add(name.clone(), text.clone());
        let formatted = match crate::fmt::format(file, text) {
            Ok(formatted) => formatted,
            Err(errors) => {
                diagnostics.extend(errors);
                continue;
            }
        };
        if formatted == *text {
            continue;
        }
        changed += 1;
        if args.check {
            // Outside the project a spec is named by its absolute path; `a/` and `b/` then
            // stand in for its leading `/`.
            let shown = name.trim_start_matches('/');
            let diff = similar::TextDiff::from_lines(text.as_str(), formatted.as_str());
            let patch = diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{shown}"), &format!("b/{shown}"))
                .to_string();
            let _ = stdout.write_all(patch.as_bytes());
        } else {
            write_atomically(path, &formatted)?;
        }
    }
    let failed = !diagnostics.is_empty();
    if failed {
        crate::diagnostic::sort(&mut diagnostics);
        let compilation = Compilation {
            sources,
            diagnostics,
            config: Config::default(),
            project: crate::model::Project::default(),
            plan: None,
            output: None,
        };
        report(&compilation, &spec_args);
    }
    let total = project.specs.len();
    if args.check {
        if changed > 0 {
            eprintln!("{changed} file(s) would be reformatted");
        } else if !failed {
            eprintln!("{total} file(s) already formatted");
        }
    } else {
        eprintln!("formatted {changed} file(s)");
    }
    Ok(u8::from(failed || (args.check && changed > 0)))
}

/// Replaces `path` through a temporary file beside it and a rename, keeping its permissions,
/// so that the spec is never seen half written.
fn write_atomically(path: &Path, text: &str) -> Result<(), Fatal> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(format!(".{name}.eaxc-fmt-tmp"));
    let result = std::fs::write(&temporary, text)
        .and_then(|()| {
            let permissions = std::fs::metadata(path)?.permissions();
            std::fs::set_permissions(&temporary, permissions)
        })
        .and_then(|()| std::fs::rename(&temporary, path));
    result.map_err(|error| {
        let _ = std::fs::remove_file(&temporary);
        Fatal(format!("cannot write `{}`: {error}", path.display()))
    })
}
