//! `eaxc resolve`: the statements that hold secret values (`020_security_integrations.sql` and
//! `030_secrets.sql`) with every environment variable filled in, printed to stdout only, so
//! that `eaxc resolve | snow sql --stdin` creates them without their values ever reaching a
//! file. Values are escaped like any string literal eaxc writes, so the client's templating
//! leaves them alone. Values are never printed to stderr.

use std::collections::hash_map::RandomState;
use std::collections::BTreeSet;
use std::hash::BuildHasher as _;
use std::io::{IsTerminal as _, Write as _};

use super::project::compile_project;
use super::{report, Fatal, Format, SpecArgs};
use crate::plan::{self, Stage};
use crate::render::{self, snowflake};

/// `eaxc resolve`.
#[derive(Debug, clap::Args)]
pub struct ResolveArgs {
    /// Specs to read.
    #[command(flatten)]
    pub specs: SpecArgs,
    /// Print even when stdout is a terminal (the secret values then appear on screen).
    #[arg(long)]
    pub force: bool,
}

pub(crate) fn resolve(args: &ResolveArgs) -> Result<u8, Fatal> {
    if args.specs.format == Format::Json {
        return Err(Fatal(
            "`eaxc resolve` keeps stdout for SQL; run `eaxc check --format json` for diagnostics"
                .into(),
        ));
    }
    if !args.force && std::io::stdout().is_terminal() {
        return Err(Fatal(
            "`eaxc resolve` prints secret values; pipe it into a client (`eaxc resolve | snow sql --stdin`) or pass --force to print them on this terminal".into(),
        ));
    }
    let (_, compilation) = compile_project(&args.specs)?;
    if report(&compilation, &args.specs) || compilation.output.is_none() {
        return Ok(1);
    }
    // Render again with every variable written as a marker no spec can contain, then put the
    // escaped value in place of each marker's whole string literal.
    let marker = marker(&compilation);
    let mut config = compilation.config.clone();
    config.secret_template = format!("{marker}{{name}}{marker}");
    let plan = plan::plan(&compilation.project);
    let output = render::render(&compilation.project, &plan, &compilation.sources, &config)
        .map_err(|diagnostic| Fatal(diagnostic.message))?;
    // Every statement that can hold a value: the OAuth security integrations (client ids and
    // secrets) and the secrets, in deploy order, so that one pipe creates them all.
    let text: String = [Stage::SecurityIntegrations, Stage::Secrets]
        .iter()
        .map(|stage| output.files[stage.file()].as_str())
        .collect::<Vec<_>>()
        .join("\n");
    let pieces = split_markers(&text, &marker);

    let mut missing = BTreeSet::new();
    let mut not_unicode = BTreeSet::new();
    let mut resolved = String::with_capacity(text.len());
    for piece in &pieces {
        match piece {
            Piece::Text(text) => resolved.push_str(text),
            Piece::Variable(name) => match std::env::var(name) {
                Ok(value) => resolved.push_str(&snowflake::string(&value)),
                Err(std::env::VarError::NotPresent) => {
                    missing.insert(*name);
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    not_unicode.insert(*name);
                }
            },
        }
    }
    if !missing.is_empty() || !not_unicode.is_empty() {
        let mut stderr = std::io::stderr().lock();
        if !missing.is_empty() {
            let names: Vec<&str> = missing.into_iter().collect();
            let _ = writeln!(
                stderr,
                "error: environment variable(s) not set: {}",
                names.join(", ")
            );
        }
        if !not_unicode.is_empty() {
            let names: Vec<&str> = not_unicode.into_iter().collect();
            let _ = writeln!(
                stderr,
                "error: environment variable(s) not valid UTF-8: {}",
                names.join(", ")
            );
        }
        let _ = writeln!(stderr, "nothing was printed");
        return Ok(1);
    }
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(resolved.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| Fatal(format!("cannot write to stdout: {error}")))?;
    Ok(0)
}

/// A random marker found in no source text (so a spec cannot forge one).
fn marker(compilation: &crate::Compilation) -> String {
    loop {
        let state = RandomState::new();
        let marker = format!(
            "EAXC{:016X}{:016X}X",
            state.hash_one(1_u8),
            state.hash_one(2_u8)
        );
        if compilation
            .sources
            .iter()
            .all(|file| !file.text.contains(&marker))
        {
            return marker;
        }
    }
}

enum Piece<'a> {
    Text(&'a str),
    Variable(&'a str),
}

/// Splits rendered SQL at every `'<marker>NAME<marker>'` literal.
fn split_markers<'a>(text: &'a str, marker: &str) -> Vec<Piece<'a>> {
    let open = format!("'{marker}");
    let close = format!("{marker}'");
    let mut pieces = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let end = after
            .find(&close)
            .expect("a marker literal is closed: the marker holds no quote");
        pieces.push(Piece::Text(&rest[..start]));
        pieces.push(Piece::Variable(&after[..end]));
        rest = &after[end + close.len()..];
    }
    pieces.push(Piece::Text(rest));
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_split_whole_literals() {
        let pieces = split_markers("A = 'MxM' B = 'MyM';", "M");
        let shown: Vec<String> = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => format!("[{text}]"),
                Piece::Variable(name) => format!("<{name}>"),
            })
            .collect();
        assert_eq!(shown.concat(), "[A = ]<x>[ B = ]<y>[;]");
    }
}
