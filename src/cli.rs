//! The command line: argument types (clap) and one function per subcommand. The only module
//! that touches the filesystem or the terminal.

use std::io::{IsTerminal as _, Write as _};
use std::path::{Component, Path, PathBuf};

use clap::{Parser, Subcommand, ValueEnum};

use crate::diagnostic::{Code, Report};
use crate::lower::Loader;
use crate::{compile, Compilation, Input};

/// Compile `.eax` specs into Snowflake external network access SQL and Python handlers.
#[derive(Debug, Parser)]
#[command(name = "eaxc", version, about, long_about = None)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check specs and write the SQL scripts, handlers and manifest.
    Build(BuildArgs),
    /// Check specs without writing anything.
    Check(CheckArgs),
    /// Explain a diagnostic code: what it checks, why it matters, a wrong and a right example.
    Explain(ExplainArgs),
}

/// `eaxc explain`.
#[derive(Debug, clap::Args)]
pub struct ExplainArgs {
    /// The code, e.g. `E0307`; without one, every code is listed.
    pub code: Option<String>,
}

/// Options shared by every command that reads specs.
#[derive(Debug, clap::Args)]
pub struct SpecArgs {
    /// Spec files or directories (searched for `*.eax`); default: the project directory.
    pub paths: Vec<PathBuf>,
    /// Fail when there are warnings.
    #[arg(long)]
    pub deny_warnings: bool,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
    /// How to print diagnostics: for people (stderr) or as JSON (stdout).
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Rendered with source excerpts, on stderr.
    Human,
    /// One JSON document on stdout, for editors and CI.
    Json,
}

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

/// `eaxc check`.
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Specs to read.
    #[command(flatten)]
    pub specs: SpecArgs,
}

/// When to colour output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Color {
    /// Only on a terminal, and not when NO_COLOR is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// A usage or I/O problem: exit code 2.
struct Fatal(String);

/// Runs a command and returns the exit code: 0 clean, 1 problems found, 2 usage or I/O error.
#[must_use]
pub fn run(cli: &Cli) -> u8 {
    let result = match &cli.command {
        Command::Build(args) => build(args),
        Command::Check(args) => check(args),
        Command::Explain(args) => explain(args),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("error: {message}");
            2
        }
    }
}

/// The project: where `eaxc.yaml` is (or the current directory), and the specs found.
struct Project {
    root: PathBuf,
    config: Option<(String, String)>,
    specs: Vec<(String, String)>,
}

fn find_config(start: &Path) -> Option<PathBuf> {
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
fn display_name(root: &Path, path: &Path) -> String {
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

fn load_project(args: &SpecArgs) -> Result<Project, Fatal> {
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
    for file in files {
        let text = std::fs::read_to_string(&file)
            .map_err(|error| Fatal(format!("cannot read `{}`: {error}", file.display())))?;
        specs.push((display_name(&root, &file), text));
    }
    Ok(Project {
        root,
        config,
        specs,
    })
}

/// Reads handler files relative to their spec.
struct FsLoader {
    root: PathBuf,
}

impl Loader for FsLoader {
    fn load(&self, spec: &str, path: &str) -> Result<(String, String), String> {
        let spec_dir = Path::new(spec).parent().unwrap_or(Path::new(""));
        let full = self.root.join(spec_dir).join(path);
        let text = std::fs::read_to_string(&full).map_err(|error| error.to_string())?;
        Ok((display_name(&self.root, &full), text))
    }
}

fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// Prints diagnostics and returns whether the run failed.
fn report(compilation: &Compilation, args: &SpecArgs) -> bool {
    let errors = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .count();
    let warnings = compilation.diagnostics.len() - errors;
    let failed = errors > 0 || (args.deny_warnings && warnings > 0);
    if args.format == Format::Json {
        let json = crate::diagnostic::render_json(&compilation.diagnostics, &compilation.sources);
        let _ = std::io::stdout().lock().write_all(json.as_bytes());
        return failed;
    }
    let theme = if use_color(args.color) {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme);
    let mut stderr = std::io::stderr().lock();
    for diagnostic in &compilation.diagnostics {
        let mut text = String::new();
        let report = Report::new(diagnostic, &compilation.sources);
        if handler.render_report(&mut text, &report).is_err() {
            text = diagnostic.message.clone();
        }
        let _ = writeln!(stderr, "{text}");
    }
    if errors + warnings > 0 {
        let _ = writeln!(stderr, "{errors} error(s), {warnings} warning(s)");
    }
    failed
}

fn check(args: &CheckArgs) -> Result<u8, Fatal> {
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
    Ok(u8::from(report(&compilation, &args.specs)))
}

fn build(args: &BuildArgs) -> Result<u8, Fatal> {
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

fn explain(args: &ExplainArgs) -> Result<u8, Fatal> {
    let mut stdout = std::io::stdout().lock();
    let Some(code) = &args.code else {
        for code in Code::ALL {
            let _ = writeln!(stdout, "{code}  {}", code.title());
        }
        return Ok(0);
    };
    match Code::parse(code) {
        Some(code) => {
            let _ = stdout.write_all(code.explanation().as_bytes());
            Ok(0)
        }
        None => {
            let hint = crate::diagnostic::did_you_mean(
                &code.to_uppercase(),
                Code::ALL.iter().map(|c| c.as_str()),
            );
            Err(Fatal(format!(
                "`{code}` is not a diagnostic code{}; `eaxc explain` lists them all",
                if hint.is_empty() {
                    String::new()
                } else {
                    format!(" ({hint})")
                }
            )))
        }
    }
}
