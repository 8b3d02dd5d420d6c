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
