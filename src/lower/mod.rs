//! Stage 2, lower: [`ast::File`]s → [`model::Project`]. Resolves which items may appear where,
//! attribute types, enum values, parameter and secret references, `{param}` templates,
//! `file()` handlers (through the [`Loader`]) and object names. Collects every problem.
//!
//! This file holds the entry points ([`lower`], [`Lowering`]), the [`Lowerer`] state every
//! other file reports into, and the message helpers they share. The rest, a concept per file:
//! `attrs.rs` ([`Attrs`], typed access to a block's attributes), `api.rs` (an api, its names,
//! auth, secrets and grants), `action.rs` (a procedure or function, its examples and handler
//! file), `types.rs` (parameters, literals, Snowflake types), `request.rs` (a generated
//! request: method, headers, and the values it sends) and `template.rs` (`{param}` templates
//! and URLs).
//!
//! [`model::Project`]: crate::model::Project

mod action;
mod api;
mod attrs;
mod request;
mod template;
mod types;

pub use attrs::Attrs;
pub(crate) use request::check_header;

use std::collections::BTreeMap;

use crate::ast::{self, Item};
use crate::config::Config;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Api, Project};
use crate::source::{FileId, Sources, Span};
use api::lower_api;

/// Reads files named by `file("...")`. The CLI reads from disk; tests read from memory.
pub trait Loader {
    /// Loads `path` (as written, relative to the spec named `spec`). Returns the name to show
    /// in diagnostics and the text, or a message saying why it cannot be read.
    fn load(&self, spec: &str, path: &str) -> Result<(String, String), String>;
}

/// Shared state of lowering: sources (handler files are added), settings and the problems found.
pub struct Lowerer<'a> {
    pub(crate) sources: &'a mut Sources,
    pub(crate) config: &'a Config,
    pub(crate) loader: &'a dyn Loader,
    pub(crate) diagnostics: Vec<Diagnostic>,
}

impl Lowerer<'_> {
    /// Records a problem.
    pub(crate) fn report(&mut self, diagnostic: Diagnostic) {
        self.diagnostics.push(diagnostic);
    }
}

/// Lowers parsed specs into one project. Returns the project (possibly partial) and every
/// problem found; the project is only meaningful when no error was reported.
pub fn lower(
    files: &[(FileId, ast::File)],
    sources: &mut Sources,
    config: &Config,
    loader: &dyn Loader,
) -> (Project, Vec<Diagnostic>) {
    let mut lowering = Lowering::new(sources, config, loader);
    for (file, tree) in files {
        lowering.file(*file, tree);
    }
    lowering.finish()
}

/// Lowering one file at a time, in order, so that a file's syntax tree can be dropped as soon
/// as it is lowered (for 10,000 apis the trees are larger than the model). The same as
/// [`lower`] on all the files.
pub struct Lowering<'a> {
    lx: Lowerer<'a>,
    apis: Vec<Api>,
    seen: BTreeMap<String, Span>,
}

impl<'a> Lowering<'a> {
    /// Starts lowering; handler files are read with `loader` and added to `sources`.
    pub fn new(sources: &'a mut Sources, config: &'a Config, loader: &'a dyn Loader) -> Self {
        Self {
            lx: Lowerer {
                sources,
                config,
                loader,
                diagnostics: Vec::new(),
            },
            apis: Vec::new(),
            seen: BTreeMap::new(),
        }
    }

    /// Lowers the next file.
    pub fn file(&mut self, file: FileId, tree: &ast::File) {
        for api in &tree.apis {
            if let Some(first) = self.seen.get(&api.name.node) {
                self.lx.report(
                    Diagnostic::new(
                        Code::Duplicate,
                        api.name.span,
                        format!("api `{}` is defined twice", api.name.node),
                    )
                    .label("second definition")
                    .with_label(*first, "first defined here")
                    .help("rename one of them; api names must be unique across all specs"),
                );
                continue;
            }
            self.seen.insert(api.name.node.clone(), api.name.span);
            if let Some(api) = lower_api(&mut self.lx, file, api) {
                self.apis.push(api);
            }
        }
    }

    /// The project (apis sorted by name) and every problem found.
    #[must_use]
    pub fn finish(self) -> (Project, Vec<Diagnostic>) {
        let mut apis = self.apis;
        apis.sort_by(|a: &Api, b: &Api| a.name.node.cmp(&b.name.node));
        (Project { apis }, self.lx.diagnostics)
    }
}

/// "did you mean `x`? (`y` is one of ...)" or just the second part.
fn join_help(suggestion: &str, rest: &str) -> String {
    if suggestion.is_empty() {
        rest.to_string()
    } else {
        format!("{suggestion} ({rest})")
    }
}

/// "`a`, `b` or `c`".
fn list(names: &[&str]) -> String {
    let quoted: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
    match quoted.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

/// Reports `item` where it may not appear: `place` completes "... is not allowed", `help` says
/// where it belongs.
fn misplaced(lx: &mut Lowerer<'_>, item: &Item, place: &str, help: &str) {
    lx.report(
        Diagnostic::new(
            Code::MisplacedItem,
            item.head_span(),
            format!("{} is not allowed {place}", item.describe()),
        )
        .label("not allowed here")
        .help(help.to_string()),
    );
}
