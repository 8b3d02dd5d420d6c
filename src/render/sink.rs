//! Where rendered files go: the [`Sink`] trait, and the two sinks of the library, [`Output`]
//! (everything in memory) and [`Discard`] (nothing kept). The CLI adds its own for writing
//! and comparing a directory.

use std::collections::BTreeMap;

/// The files of one build: relative path → content. Deterministic for the same input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Output {
    /// Relative paths (with `/`) and contents.
    pub files: BTreeMap<String, String>,
}

/// Where rendered files go as they are rendered: into memory ([`Output`]), into a directory,
/// or compared with one. Each file is appended to in order, then closed; a few are open at a
/// time (a stage script and `deploy.sql`), so a sink never needs the whole output at once.
pub trait Sink {
    /// Appends `text` to the file at `path` (relative, `/`-separated), made on first use.
    fn append(&mut self, path: &str, text: &str);
    /// Nothing more is appended to `path`.
    fn close(&mut self, path: &str);
    /// Whether the sink has given up (say, on a write error): rendering stops early.
    fn failed(&self) -> bool {
        false
    }
    /// Whether the sink keeps what it is given. One that keeps nothing ([`Discard`]) spares
    /// the renderer the SHA-256 of every statement and file, and the manifest that holds them.
    fn keeps(&self) -> bool {
        true
    }
}

impl Sink for Output {
    fn append(&mut self, path: &str, text: &str) {
        match self.files.get_mut(path) {
            Some(file) => file.push_str(text),
            None => {
                self.files.insert(path.to_string(), text.to_string());
            }
        }
    }

    fn close(&mut self, _path: &str) {}
}

/// A sink that drops everything: `eaxc check` renders (a failure there is a bug worth
/// reporting) without keeping any of it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Discard;

impl Sink for Discard {
    fn append(&mut self, _path: &str, _text: &str) {}

    fn close(&mut self, _path: &str) {}

    fn keeps(&self) -> bool {
        false
    }
}
