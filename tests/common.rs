//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};

use eaxc::lower::Loader;
use eaxc::{compile, Compilation, Input};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Reads `file("...")` paths relative to the spec, from the repository.
pub(crate) struct RepoLoader;

impl Loader for RepoLoader {
    fn load(&self, spec: &str, path: &str) -> Result<(String, String), String> {
        let spec_dir = Path::new(spec).parent().unwrap_or(Path::new(""));
        let relative = spec_dir.join(path);
        let text =
            std::fs::read_to_string(root().join(&relative)).map_err(|error| error.to_string())?;
        Ok((relative.to_string_lossy().replace('\\', "/"), text))
    }
}

/// Relative path (with `/`) and text of every file matching `dir/*.ext`, sorted.
pub(crate) fn files(dir: &str, ext: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|error| panic!("cannot list {dir}: {error}"))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == ext))
        .map(|path| {
            let name = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&path).expect("readable spec");
            (name, text)
        })
        .collect();
    out.sort();
    out
}

/// Compiles specs (relative names and texts) with an optional `eaxc.yaml` text.
pub(crate) fn compile_specs(specs: Vec<(String, String)>, config: Option<String>) -> Compilation {
    let input = Input {
        specs,
        config: config.map(|text| ("eaxc.yaml".to_string(), text)),
    };
    compile(&input, &RepoLoader)
}

/// Decodes a Snowflake single-quoted string constant (starting at its opening quote) the way
/// Snowflake does: `''` and `\'` are a quote, backslash escapes are interpreted, an unknown
/// escape drops the backslash. Returns the text and the rest after the closing quote.
/// <https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants>
pub(crate) fn decode_sql_string(literal: &str) -> (String, &str) {
    let body = literal.strip_prefix('\'').expect("starts with a quote");
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        match c {
            '\'' if chars.peek().is_some_and(|(_, next)| *next == '\'') => {
                chars.next();
                out.push('\'');
            }
            '\'' => return (out, &body[index + 1..]),
            '\\' => {
                let (_, escaped) = chars.next().expect("escape has a character");
                out.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    '0' => '\0',
                    other => other,
                });
            }
            other => out.push(other),
        }
    }
    panic!("unterminated string literal");
}
