//! eaxc compiles `.eax` specs — egress hosts, auth methods and target actions of external
//! APIs — into the Snowflake objects external network access needs: ordered SQL scripts plus
//! the Python handlers of the procedures and functions that call the APIs.
//!
//! ```text
//!  .eax text ──parse──▶ ast::File ──lower──▶ model::Project ──check──▶ diagnostics
//!                                                │
//!                                                └──plan──▶ plan::Plan ──render──▶ render::Output
//! ```
//!
//! Every stage is a pure function; only the command line (`cli`) reads or writes files.
//! [`compile`] chains the stages.

pub mod ast;
pub mod auth;
pub mod check;
pub mod cli;
pub mod config;
pub mod diagnostic;
pub mod fmt;
pub mod lower;
pub mod model;
mod par;
pub mod parse;
pub mod plan;
pub mod render;
pub mod source;
pub mod templating;

use config::Config;
use diagnostic::Diagnostic;
use lower::Loader;
use render::Output;
use source::Sources;

/// What to compile: spec files and, optionally, the text of `eaxc.yaml`.
#[derive(Clone, Debug, Default)]
pub struct Input {
    /// Spec names (relative paths with `/`) and texts.
    pub specs: Vec<(String, String)>,
    /// `eaxc.yaml`, if the project has one: its name and text.
    pub config: Option<(String, String)>,
}

/// The result of a compilation.
#[derive(Debug)]
pub struct Compilation {
    /// Every file read: specs, handlers and the configuration.
    pub sources: Sources,
    /// Every problem, errors and warnings, in file and position order.
    pub diagnostics: Vec<Diagnostic>,
    /// The settings used.
    pub config: Config,
    /// The lowered specs (possibly partial when there are errors); `resolve` renders it again.
    pub project: model::Project,
    /// The objects in deploy order; `None` when there are errors.
    pub plan: Option<plan::Plan>,
    /// The files to write, when rendered into memory ([`compile`]); `None` when there are
    /// errors, and after [`analyse`].
    pub output: Option<Output>,
}

impl Compilation {
    /// Whether any error (not only warnings) was found.
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }

    /// Renders the output into `sink` as it is made (see [`render::Sink`]); nothing is
    /// rendered when there are errors. Fails only on a bug in eaxc (E0901).
    pub fn render_to(&self, sink: &mut dyn render::Sink) -> Result<(), Diagnostic> {
        match &self.plan {
            Some(plan) => render::render_to(&self.project, plan, &self.sources, &self.config, sink),
            None => Ok(()),
        }
    }
}

/// Runs every stage and renders the output into memory. Specs are compiled in name order, so
/// the result does not depend on the order they are given in.
#[must_use]
pub fn compile(input: &Input, loader: &dyn Loader) -> Compilation {
    let mut compilation = analyse(input, loader);
    if compilation.plan.is_some() {
        let mut output = Output::default();
        match compilation.render_to(&mut output) {
            Ok(()) => compilation.output = Some(output),
            Err(diagnostic) => {
                compilation.diagnostics.push(diagnostic);
                compilation.plan = None;
            }
        }
    }
    compilation
}

/// Spec files parsed at a time (see [`analyse`]).
const PARSE_BATCH: usize = 8;

/// Runs every stage but rendering: the output is then streamed with
/// [`Compilation::render_to`], so that it never has to be held in memory whole.
#[must_use]
pub fn analyse(input: &Input, loader: &dyn Loader) -> Compilation {
    let mut sources = Sources::default();
    let mut diagnostics = Vec::new();
    let config = match &input.config {
        None => Config::default(),
        Some((name, text)) => {
            let file = sources.add(name.clone(), text.clone());
            Config::parse(file, text).unwrap_or_else(|diagnostic| {
                diagnostics.push(diagnostic);
                Config::default()
            })
        }
    };
    let mut specs: Vec<&(String, String)> = input.specs.iter().collect();
    specs.sort_by(|a, b| a.0.cmp(&b.0));
    let files: Vec<(source::FileId, &str)> = specs
        .into_iter()
        .map(|(name, text)| (sources.add(name.clone(), text.clone()), text.as_str()))
        .collect();
    // Files parse independently, a few at a time in parallel on other threads, while this one
    // lowers the batch before, in order; each tree is dropped once lowered, so that only a few
    // are ever held at once. `par` keeps the order, so the result is the same as one by one.
    let mut lowering = lower::Lowering::new(&mut sources, &config, loader);
    par::pipeline(
        &files,
        PARSE_BATCH,
        |batch| par::map_each(batch, |(file, text)| parse::parse(*file, text)),
        |batch, parsed| {
            for ((file, _), result) in batch.iter().zip(parsed) {
                match result {
                    Ok(tree) => lowering.file(*file, &tree),
                    Err(errors) => diagnostics.extend(errors),
                }
            }
            std::ops::ControlFlow::<()>::Continue(())
        },
    );
    let (project, lower_diagnostics) = lowering.finish();
    diagnostics.extend(lower_diagnostics);
    diagnostics.extend(check::check(&project, &sources));
    diagnostic::sort(&mut diagnostics);
    let plan = (!diagnostics.iter().any(Diagnostic::is_error)).then(|| plan::plan(&project));
    Compilation {
        sources,
        diagnostics,
        config,
        project,
        plan,
        output: None,
    }
}
