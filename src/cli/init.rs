//! `eaxc init`: a new project that builds at once — `eaxc.yaml`, one example spec and a
//! pre-commit configuration. Never overwrites a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::Fatal;

/// `eaxc init`.
#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// The project directory (created if missing); default: the current directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
}

const CONFIG: &str = include_str!("init/eaxc.yaml");
const SPEC: &str = include_str!("init/example.eax");
const PRE_COMMIT: &str = include_str!("init/pre-commit-config.yaml");

pub(crate) fn init(args: &InitArgs) -> Result<u8, Fatal> {
    let dir = &args.dir;
    let files = [
        (Path::new("eaxc.yaml"), CONFIG),
        (Path::new("specs/weather.eax"), SPEC),
    ];
    let taken: Vec<String> = files
        .iter()
        .map(|(path, _)| dir.join(path))
        .filter(|path| path.exists())
        .map(|path| path.display().to_string())
        .collect();
    if !taken.is_empty() {
        return Err(Fatal(format!(
            "not initialising: {} already exist(s); eaxc init never overwrites a file",
            taken.join(", ")
        )));
    }
    for (path, text) in files {
        write_new(&dir.join(path), text)?;
    }
    let pre_commit = dir.join(".pre-commit-config.yaml");
    let mut stderr = std::io::stderr().lock();
    let mut written = vec!["eaxc.yaml", "specs/weather.eax"];
    if pre_commit.exists() {
        let _ = writeln!(
            stderr,
            "{} exists; add these hooks to it:\n",
            pre_commit.display()
        );
        let _ = std::io::stdout().lock().write_all(PRE_COMMIT.as_bytes());
    } else {
        write_new(&pre_commit, PRE_COMMIT)?;
        written.push(".pre-commit-config.yaml");
    }
    let _ = writeln!(
        stderr,
        "initialised {}: {}\nnext: `eaxc build` writes the SQL scripts and handlers to generated/",
        dir.display(),
        written.join(", ")
    );
    Ok(0)
}

/// Creates a file that must not exist yet, with its directory.
fn write_new(path: &Path, text: &str) -> Result<(), Fatal> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|error| Fatal(format!("cannot create `{}`: {error}", parent.display())))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|error| Fatal(format!("cannot create `{}`: {error}", path.display())))?;
    file.write_all(text.as_bytes())
        .map_err(|error| Fatal(format!("cannot write `{}`: {error}", path.display())))
}
