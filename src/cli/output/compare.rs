//! `build --check`: the sink that compares each file as it streams with the one in the output
//! directory, and the [`Matcher`] that compares one file (the tree writer uses it too).

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufReader, ErrorKind, Read as _};
use std::path::Path;

use super::Status;
use crate::cli::Fatal;
use crate::render::Sink;

/// Compares text that arrives in pieces with a file's content, reading no more of the file
/// than has arrived.
pub(super) struct Matcher {
    file: BufReader<File>,
    same: bool,
    buffer: Vec<u8>,
}

impl Matcher {
    /// Compares with `file` from its start.
    pub(super) fn new(file: File) -> Self {
        Self {
            file: BufReader::with_capacity(1 << 16, file),
            same: true,
            buffer: Vec::new(),
        }
    }

    /// Compares the next piece; after a difference, reads nothing more.
    pub(super) fn feed(&mut self, text: &str) {
        // In blocks, so that a large piece (the manifest) needs no buffer of its size.
        for block in text.as_bytes().chunks(1 << 16) {
            if !self.same {
                return;
            }
            self.buffer.resize(block.len(), 0);
            self.same = self.file.read_exact(&mut self.buffer).is_ok() && self.buffer == block;
        }
    }

    /// Whether the file held exactly the text fed, and nothing more.
    pub(super) fn finish(mut self) -> bool {
        self.same && matches!(self.file.read(&mut [0; 1]), Ok(0))
    }
}

/// The `--check` sink: compares each file as it streams with the one in the directory.
pub(super) struct Compare<'a> {
    dir: &'a Path,
    owned: Option<&'a BTreeSet<String>>,
    /// Files being compared (`None`: already found missing or in the way).
    open: Vec<(String, Option<Matcher>)>,
    found: Vec<(Status, String)>,
    error: Option<Fatal>,
}

impl<'a> Compare<'a> {
    /// Compares with `dir`, whose files eaxc wrote are `owned` (`None`: no manifest).
    pub(super) fn new(dir: &'a Path, owned: Option<&'a BTreeSet<String>>) -> Self {
        Self {
            dir,
            owned,
            open: Vec::new(),
            found: Vec::new(),
            error: None,
        }
    }

    /// The files found stale, missing or in the way (unsorted), or the first error reading
    /// the directory.
    pub(super) fn finish(self) -> Result<Vec<(Status, String)>, Fatal> {
        match self.error {
            Some(error) => Err(error),
            None => Ok(self.found),
        }
    }

    /// Starts comparing `path`: `None` when its status is already known.
    fn start(&mut self, path: &str) -> Option<Matcher> {
        let full = self.dir.join(path);
        match File::open(&full) {
            Ok(file) if file.metadata().is_ok_and(|metadata| metadata.is_dir()) => {
                self.found.push((Status::Conflict, path.to_string()));
                None
            }
            Ok(file) => {
                if self.owned.is_some_and(|owned| owned.contains(path)) {
                    Some(Matcher::new(file))
                } else {
                    self.found.push((Status::Conflict, path.to_string()));
                    None
                }
            }
            Err(error) if error.kind() == ErrorKind::NotFound => {
                self.found.push((Status::Missing, path.to_string()));
                None
            }
            // A file where its directory goes.
            Err(error) if error.kind() == ErrorKind::NotADirectory => {
                self.found.push((Status::Conflict, path.to_string()));
                None
            }
            Err(error) => {
                self.error.get_or_insert_with(|| {
                    Fatal(format!("cannot read `{}`: {error}", full.display()))
                });
                None
            }
        }
    }
}

impl Sink for Compare<'_> {
    fn append(&mut self, path: &str, text: &str) {
        let at = match self.open.iter().position(|(open, _)| open == path) {
            Some(at) => at,
            None => {
                let matcher = self.start(path);
                self.open.push((path.to_string(), matcher));
                self.open.len() - 1
            }
        };
        if let Some(matcher) = &mut self.open[at].1 {
            matcher.feed(text);
        }
    }

    fn close(&mut self, path: &str) {
        if let Some(at) = self.open.iter().position(|(open, _)| open == path) {
            let (path, matcher) = self.open.swap_remove(at);
            if matcher.is_some_and(|matcher| !matcher.finish()) {
                self.found.push((Status::Stale, path));
            }
        }
    }

    fn failed(&self) -> bool {
        self.error.is_some()
    }
}
