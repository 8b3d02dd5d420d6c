//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use eaxc::lower::Loader;
use eaxc::{compile, Compilation, Input};

/// The repository root.
pub(crate) fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs the `eaxc` binary in `dir` with `args` (see [`Eaxc`]).
pub(crate) fn eaxc(args: &[&str], dir: &Path) -> Output {
    Eaxc::new(dir).args(args).run()
}

/// The one way the tests start the binary: in a directory, without colour, without the
/// debug-only failure switch unless a test sets it, with the arguments and environment given.
pub(crate) struct Eaxc {
    command: Command,
}

impl Eaxc {
    pub(crate) fn new(dir: &Path) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_eaxc"));
        command
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env_remove("EAXC_TEST_FAIL");
        Eaxc { command }
    }

    pub(crate) fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    pub(crate) fn env(mut self, name: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    pub(crate) fn env_remove(mut self, name: &str) -> Self {
        self.command.env_remove(name);
        self
    }

    /// The command itself, for `insta_cmd` snapshots.
    pub(crate) fn command(self) -> Command {
        self.command
    }

    /// Runs it to the end; stdin is empty.
    pub(crate) fn run(mut self) -> Output {
        self.command
            .stdin(std::process::Stdio::null())
            .output()
            .expect("eaxc runs")
    }
}

/// The snapshot settings of every test: files in `snapshots/` named as given (no module
/// prefix, no suffix), with `temp` (when given) shown as `[TEMP]`.
pub(crate) fn snapshots(temp: Option<&Path>) -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(root().join("snapshots"));
    settings.set_prepend_module_to_snapshot(false);
    settings.set_snapshot_suffix("");
    if let Some(temp) = temp {
        let shown = std::fs::canonicalize(temp).unwrap_or_else(|_| temp.to_path_buf());
        settings.add_filter(&regex_escape(&shown.display().to_string()), "[TEMP]");
        settings.add_filter(&regex_escape(&temp.display().to_string()), "[TEMP]");
    }
    settings
}

/// `text` with every regex metacharacter escaped.
fn regex_escape(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$#&-~".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
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
                let (at, escaped) = chars.next().expect("escape has a character");
                let digits = |count: usize, radix: u32, max: usize| -> (u32, usize) {
                    let run: String = body[at + 1..]
                        .chars()
                        .take(max)
                        .take_while(|c| c.is_digit(radix))
                        .collect();
                    assert!(run.len() >= count, "short escape in {literal}");
                    (u32::from_str_radix(&run, radix).expect("digits"), run.len())
                };
                let (decoded, skip) = match escaped {
                    'n' => ('\n', 0),
                    't' => ('\t', 0),
                    'r' => ('\r', 0),
                    'b' => ('\u{8}', 0),
                    'f' => ('\u{c}', 0),
                    'u' => {
                        let (code, _) = digits(4, 16, 4);
                        (char::from_u32(code).expect("scalar"), 4)
                    }
                    'x' => {
                        let (code, _) = digits(2, 16, 2);
                        (char::from_u32(code).expect("scalar"), 2)
                    }
                    '0'..='7' => {
                        let run: String = body[at..]
                            .chars()
                            .take(3)
                            .take_while(|c| c.is_digit(8))
                            .collect();
                        let code = u32::from_str_radix(&run, 8).expect("octal");
                        (char::from_u32(code).expect("scalar"), run.len() - 1)
                    }
                    other => (other, 0),
                };
                for _ in 0..skip {
                    chars.next();
                }
                out.push(decoded);
            }
            other => out.push(other),
        }
    }
    panic!("unterminated string literal");
}
