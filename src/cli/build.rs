//! `eaxc build`: compile and write the output directory, or compare it (`--check`).

use std::io::Write as _;
use std::path::PathBuf;

use super::output::{self, Status};
use super::project::analyse_project;
use super::{report, Fatal, Format, SpecArgs};

/// `eaxc build`.
#[derive(Debug, clap::Args)]
pub struct BuildArgs {
    /// Specs to read.
    #[command(flatten)]
    pub specs: SpecArgs,
    /// Output directory (default: `out` from eaxc.yaml, else `generated`, next to eaxc.yaml).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Write nothing; list on stdout every file of the output directory that is stale,
    /// missing, obsolete or in the way, and exit 1 if there is any.
    #[arg(long)]
    pub check: bool,
}

pub(crate) fn build(args: &BuildArgs) -> Result<u8, Fatal> {
    let (root, mut compilation) = analyse_project(&args.specs)?;
    let out = match &args.out {
        Some(out) => out.clone(),
        None => root.join(&compilation.config.out),
    };
    if args.check && args.specs.format == Format::Json {
        return check_json(&mut compilation, args, &out);
    }
    if report(&compilation, &args.specs) {
        return Ok(1);
    }
    let Some(plan) = &compilation.plan else {
        return Ok(1);
    };
    let paths = crate::render::paths(&compilation.project, plan);
    if args.check {
        let found = match output::check(&out, &paths, |sink| compilation.render_to(sink))? {
            Ok(found) => found,
            Err(diagnostic) => return Ok(internal(&mut compilation, diagnostic, args)),
        };
        let mut stdout = std::io::stdout().lock();
        for (status, path) in &found {
            let _ = writeln!(stdout, "{:<9}{path}", status.word());
        }
        if found.is_empty() {
            eprintln!("{} is up to date", out.display());
            return Ok(0);
        }
        eprintln!(
            "{} is out of date: {} file(s); run `eaxc build`{}",
            out.display(),
            found.len(),
            if found.iter().any(|(status, _)| *status == Status::Conflict) {
                " after moving away the files marked `conflict`"
            } else {
                ""
            }
        );
        return Ok(1);
    }
    if let Err(diagnostic) = output::write(&out, &paths, &root, |sink| compilation.render_to(sink))?
    {
        return Ok(internal(&mut compilation, diagnostic, args));
    }
    eprintln!("wrote {} file(s) to {}", paths.len(), out.display());
    // Freeing the whole model piece by piece takes longer than ending the process.
    std::mem::forget(compilation);
    Ok(0)
}

/// Reports a render failure (a bug in eaxc, E0901) found while streaming the output: nothing
/// was written. Returns the exit code.
fn internal(
    compilation: &mut crate::Compilation,
    diagnostic: crate::diagnostic::Diagnostic,
    args: &BuildArgs,
) -> u8 {
    compilation.diagnostics = vec![diagnostic];
    report(compilation, &args.specs);
    1
}

/// `--check --format json`: one JSON document on stdout, the diagnostics with a `check` member
/// (`null` when the specs do not compile).
fn check_json(
    compilation: &mut crate::Compilation,
    args: &BuildArgs,
    out: &std::path::Path,
) -> Result<u8, Fatal> {
    let (_, _, failed) = super::verdict(compilation, &args.specs);
    let found = match (&compilation.plan, failed) {
        (Some(plan), false) => {
            let paths = crate::render::paths(&compilation.project, plan);
            match output::check(out, &paths, |sink| compilation.render_to(sink))? {
                Ok(found) => Some(found),
                Err(diagnostic) => {
                    compilation.diagnostics.push(diagnostic);
                    None
                }
            }
        }
        _ => None,
    };
    let json = crate::diagnostic::render_json(&compilation.diagnostics, &compilation.sources);
    let mut document: serde_json::Value =
        serde_json::from_str(&json).expect("diagnostics are JSON");
    let (code, check) = match found {
        Some(found) => {
            let files: Vec<serde_json::Value> = found
                .iter()
                .map(|(status, path)| serde_json::json!({ "status": status.word(), "path": path }))
                .collect();
            (
                u8::from(!files.is_empty()),
                serde_json::json!({
                    "out": out.display().to_string(),
                    "up_to_date": files.is_empty(),
                    "files": files,
                }),
            )
        }
        None => (1, serde_json::Value::Null),
    };
    document["check"] = check;
    let text = serde_json::to_string_pretty(&document).expect("JSON serialises") + "\n";
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(code)
}
