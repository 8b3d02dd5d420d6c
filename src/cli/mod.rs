//! The command line: argument types (clap) and one module per subcommand. The only module
//! that touches the filesystem or the terminal.

mod build;
mod explain;
mod fmt;
mod init;
mod output;
mod plan;
mod project;
mod resolve;

pub use build::BuildArgs;
pub use explain::ExplainArgs;
pub use fmt::FmtArgs;
pub use init::InitArgs;
pub use plan::{PlanArgs, PlanFormat};
pub use resolve::ResolveArgs;

use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::Compilation;

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
    /// Rewrite specs in the canonical layout (`--check`: only report what would change).
    Fmt(FmtArgs),
    /// Print the objects a build creates, in deploy order, with their dependencies.
    Plan(PlanArgs),
    /// Print the statements that hold secret values (020, 030) with the values read from the
    /// environment, for piping into a SQL client (`eaxc resolve | snow sql --stdin`); refuses a
    /// terminal without --force.
    Resolve(ResolveArgs),
    /// Start a project: eaxc.yaml, an example spec and a pre-commit configuration.
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh or fish) to stdout.
    Completions(CompletionsArgs),
}

/// `eaxc completions`.
#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell.
    pub shell: Shell,
}

/// Shells with completion scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
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
pub(crate) struct Fatal(pub(crate) String);

/// Runs a command and returns the exit code: 0 clean, 1 problems found, 2 usage or I/O error.
#[must_use]
pub fn run(cli: &Cli) -> u8 {
    let result = match &cli.command {
        Command::Build(args) => build::build(args),
        Command::Check(args) => check(args),
        Command::Explain(args) => explain::explain(args),
        Command::Plan(args) => plan::plan(args),
        Command::Init(args) => init::init(args),
        Command::Completions(args) => Ok(completions(args.shell)),
        Command::Fmt(args) => fmt::fmt(args),
        Command::Resolve(args) => resolve::resolve(args),
    };
    match result {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("error: {message}");
            2
        }
    }
}

fn use_color(color: Color) -> bool {
    match color {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stderr().is_terminal(),
    }
}

/// Counts errors and warnings, and whether they fail the run (warnings do with
/// `--deny-warnings`).
pub(crate) fn verdict(compilation: &Compilation, args: &SpecArgs) -> (usize, usize, bool) {
    let errors = compilation
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .count();
    let warnings = compilation.diagnostics.len() - errors;
    (
        errors,
        warnings,
        errors > 0 || (args.deny_warnings && warnings > 0),
    )
}

/// Prints diagnostics and returns whether the run failed.
pub(crate) fn report(compilation: &Compilation, args: &SpecArgs) -> bool {
    let (errors, warnings, failed) = verdict(compilation, args);
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
        crate::diagnostic::render_graphical(diagnostic, &compilation.sources, &handler, &mut text);
        let _ = writeln!(stderr, "{text}");
    }
    if errors + warnings > 0 {
        let _ = writeln!(stderr, "{errors} error(s), {warnings} warning(s)");
    }
    failed
}

/// `eaxc check`: every stage, rendering included, but nothing written — the output is
/// rendered into a sink that drops it.
fn check(args: &CheckArgs) -> Result<u8, Fatal> {
    let (_, mut compilation) = project::analyse_project(&args.specs)?;
    if let Err(diagnostic) = compilation.render_to(&mut crate::render::Discard) {
        compilation.diagnostics.push(diagnostic);
    }
    let failed = report(&compilation, &args.specs);
    // Freeing the whole model piece by piece takes longer than ending the process.
    std::mem::forget(compilation);
    Ok(u8::from(failed))
}

fn completions(shell: Shell) -> u8 {
    use clap::CommandFactory as _;
    let shell = match shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut stdout = std::io::stdout().lock();
    clap_complete::generate(shell, &mut Cli::command(), "eaxc", &mut stdout);
    0
}
