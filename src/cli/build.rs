//! `eaxc build`: compile and write the output directory.

use std::path::{Path, PathBuf};

use super::project::{load_project, FsLoader};
use super::{report, Fatal, SpecArgs};
use crate::{compile, Input};

/// `eaxc build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Specs to read.
    #[command(flatten)]
    pub specs: SpecArgs,
    /// Output directory (default: `out` from eaxc.yaml, else `generated`, next to eaxc.yaml).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub(crate) fn build(args: &BuildArgs) -> Result<u8, Fatal> {
    let project = load_project(&args.specs)?;
    let loader = FsLoader {
        root: project.root.clone(),
    };
    let compilation = compile(
        &Input {
            specs: project.specs,
            config: project.config,
        },
        &loader,
    );
    if report(&compilation, &args.specs) {
        return Ok(1);
    }
    let Some(output) = &compilation.output else {
        return Ok(1);
    };
    let out = match &args.out {
        Some(out) => out.clone(),
        None => project.root.join(&compilation.config.out),
    };
    write_output(&out, output)?;
    eprintln!("wrote {} file(s) to {}", output.files.len(), out.display());
    Ok(0)
}

/// Writes every file through a temporary file and a rename, so a reader never sees half a file.
fn write_output(out: &Path, output: &crate::render::Output) -> Result<(), Fatal> {
    for (relative, text) in &output.files {
        let path = out.join(relative);
        let dir = path.parent().unwrap_or(out);
        std::fs::create_dir_all(dir)
            .map_err(|error| Fatal(format!("cannot create `{}`: {error}", dir.display())))?;
        let temporary = dir.join(format!(
            ".{}.eaxc-tmp",
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        std::fs::write(&temporary, text)
            .map_err(|error| Fatal(format!("cannot write `{}`: {error}", temporary.display())))?;
        std::fs::rename(&temporary, &path)
            .map_err(|error| Fatal(format!("cannot write `{}`: {error}", path.display())))?;
    }
    Ok(())
}
