//! The order the files of a build are written in: [`Renderer::run`] renders the plan's
//! objects a chunk at a time on other threads and, on this one, appends each statement to its
//! stage script and to `deploy.sql` in plan order ([`Stages`] opens and closes the scripts),
//! writes handler files whole, then teardown, examples and the manifest. [`Files`] hashes
//! every file on its way into the sink.

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sha2::{Digest, Sha256};

use super::manifest::{ManifestFile, ManifestObject};
use super::objects::Rendered;
use super::{hex, internal, sha256, Renderer, Sink, DEPLOY, HEADER};
use crate::diagnostic::Diagnostic;
use crate::plan::{Object, Plan, Stage, Target};
use crate::templating;

/// The sink, plus the SHA-256 of every file as it streams by (for the manifest).
pub(super) struct Files<'s> {
    pub(super) sink: &'s mut dyn Sink,
    /// Files appended to and not yet closed, with their running hashes.
    open: Vec<(&'static str, Sha256)>,
    /// Closed files and their hashes.
    pub(super) hashes: Vec<ManifestFile>,
    /// Whether files are hashed at all (not for a sink that keeps nothing).
    hashing: bool,
}

impl Files<'_> {
    /// Appends to a file that streams (a stage script or `deploy.sql`), hashing as it goes.
    fn append(&mut self, path: &'static str, text: &str) {
        if !self.hashing {
            self.sink.append(path, text);
            return;
        }
        match self.open.iter_mut().find(|(open, _)| *open == path) {
            Some((_, hasher)) => hasher.update(text.as_bytes()),
            None => {
                let mut hasher = Sha256::new();
                hasher.update(text.as_bytes());
                self.open.push((path, hasher));
            }
        }
        self.sink.append(path, text);
    }

    /// Closes a streaming file and notes its hash for the manifest.
    fn close(&mut self, path: &'static str) {
        if let Some(at) = self.open.iter().position(|(open, _)| *open == path) {
            let (_, hasher) = self.open.swap_remove(at);
            self.hashes.push(ManifestFile {
                path: path.to_string(),
                sha256: hex(hasher.finalize().as_slice()),
            });
        }
        self.sink.close(path);
    }

    /// A whole file at once; `hash` when it is already known.
    fn whole(&mut self, path: String, text: &str, hash: Option<String>) {
        self.sink.append(&path, text);
        self.sink.close(&path);
        if self.hashing {
            let sha256 = hash.unwrap_or_else(|| sha256(text));
            self.hashes.push(ManifestFile { path, sha256 });
        }
    }
}

/// The stage scripts as they stream: stages come in [`Stage::ALL`] order, each opened with
/// its header (in its script and in `deploy.sql`); a stage without objects says so.
struct Stages {
    /// The open stage and the api whose objects were written last.
    open: Option<(Stage, usize)>,
    /// Index into [`Stage::ALL`] of the first stage not yet opened.
    next: usize,
}

impl Stages {
    /// Makes `stage` the open one for an object of `api`; returns whether the object is the
    /// first of its api in the stage, or `None` when `stage` comes before the open one.
    fn enter(&mut self, stage: Stage, api: usize, files: &mut Files<'_>) -> Option<bool> {
        if let Some((open, last_api)) = &mut self.open {
            if *open == stage {
                let first = *last_api != api;
                *last_api = api;
                return Some(first);
            }
            files.close(open.file());
            self.open = None;
        }
        loop {
            let next = *Stage::ALL.get(self.next)?;
            self.next += 1;
            Self::header(next, files);
            if next == stage {
                self.open = Some((stage, api));
                return Some(true);
            }
            Self::empty(next, files);
        }
    }

    /// Opens `stage`: its script starts with [`HEADER`] and its title, and `deploy.sql` marks
    /// where the stage begins.
    fn header(stage: Stage, files: &mut Files<'_>) {
        let title = format!("-- {}: {}\n", &stage.file()[..3], stage.title());
        files.append(stage.file(), HEADER);
        files.append(stage.file(), &title);
        files.append(DEPLOY, &format!("\n-- ===== {} =====\n", stage.file()));
        files.append(DEPLOY, &title);
    }

    /// Says in its script and in `deploy.sql` that `stage` has no objects; closes its script.
    fn empty(stage: Stage, files: &mut Files<'_>) {
        for file in [stage.file(), DEPLOY] {
            files.append(file, "\n-- Nothing in this stage.\n");
        }
        files.close(stage.file());
    }

    /// Closes the open stage and writes every stage after it, empty.
    fn finish(&mut self, files: &mut Files<'_>) {
        if let Some((open, _)) = self.open.take() {
            files.close(open.file());
        }
        for stage in &Stage::ALL[self.next..] {
            Self::header(*stage, files);
            Self::empty(*stage, files);
        }
        self.next = Stage::ALL.len();
    }
}

/// What a run carries from one object to the next while the objects stream by in plan order.
struct Stream<'s, 'n> {
    files: Files<'s>,
    stages: Stages,
    /// (role, database, schema) already granted usage on the database and schema: an
    /// object's grant only grants what no grant before it did.
    granted: BTreeSet<(String, String, String)>,
    /// Every object's name, in plan order.
    names: &'n [String],
    /// The manifest's entry of every object written so far.
    objects: Vec<ManifestObject<'n>>,
}

impl Renderer<'_> {
    /// Renders the whole build into `sink`. Stops early, without an error, when the sink
    /// fails; the sink reports that itself.
    pub(super) fn run(&self, plan: &Plan, sink: &mut dyn Sink) -> Result<(), Diagnostic> {
        // Every object's name once: each is written once as a name and again in the
        // `depends_on` of everything that needs it.
        let names: Vec<String> = crate::par::map(&plan.objects, |object| {
            self.object_name(&self.project.apis[object.api], object.target)
        });
        let mut stream = Stream {
            files: Files {
                sink,
                open: Vec::new(),
                hashes: Vec::new(),
                hashing: self.hashing,
            },
            stages: Stages {
                open: None,
                next: 0,
            },
            granted: BTreeSet::new(),
            names: &names,
            objects: Vec::with_capacity(plan.objects.len()),
        };
        stream.files.append(DEPLOY, HEADER);
        stream.files.append(
            DEPLOY,
            "-- Every stage script in order; run with `snow sql -f deploy.sql`.\n",
        );
        // The output streams out chunk by chunk, so memory holds a few chunks of rendered
        // text rather than the whole output (380 MB for 10,000 apis). The next chunk is
        // rendered on other threads while this one is written.
        let mut next = 0;
        let stopped = crate::par::pipeline(
            &plan.objects,
            self.chunk,
            |chunk| crate::par::map(chunk, |object| self.standalone(object)),
            |chunk, rendered| {
                if stream.files.sink.failed() {
                    return ControlFlow::Break(Ok(()));
                }
                for (object, rendered) in chunk.iter().zip(rendered) {
                    let position = next;
                    next += 1;
                    if let Err(diagnostic) = self.write(&mut stream, object, position, rendered) {
                        return ControlFlow::Break(Err(diagnostic));
                    }
                }
                ControlFlow::Continue(())
            },
        );
        if let Some(Err(diagnostic)) = stopped {
            return Err(diagnostic);
        }
        let Stream {
            mut files,
            mut stages,
            objects,
            ..
        } = stream;
        if files.sink.failed() {
            return Ok(());
        }
        stages.finish(&mut files);
        files.close(DEPLOY);
        files.whole("teardown.sql".into(), &self.teardown(plan, &names), None);
        files.whole("examples.sql".into(), &self.examples(), None);
        if !self.hashing {
            // A sink that keeps nothing needs no manifest of what it did not keep.
            return Ok(());
        }
        self.write_manifest(files, objects)
    }

    /// Writes the object at `position` in the plan: its handler file, then its statement into
    /// its stage script and `deploy.sql` (after a line naming the api when it is the api's
    /// first in the stage); and notes it for the manifest.
    fn write<'n>(
        &'n self,
        stream: &mut Stream<'_, 'n>,
        object: &Object,
        position: usize,
        rendered: Result<Option<Rendered>, Diagnostic>,
    ) -> Result<(), Diagnostic> {
        let api = &self.project.apis[object.api];
        let (statement, hash) = match (rendered, object.target) {
            (Err(diagnostic), _) => return Err(diagnostic),
            (Ok(Some(rendered)), _) => {
                if let Some((path, handler, hash)) = rendered.handler {
                    stream.files.whole(path, &handler, Some(hash));
                }
                (rendered.statement, rendered.hash)
            }
            (Ok(None), Target::ApiGrant(index)) => {
                let statement = self.api_grant(api, &api.grants[index], &mut stream.granted);
                let hash = self.hash(&statement);
                (statement, hash)
            }
            (Ok(None), Target::ActionGrant(action, grant)) => {
                let statement = self.action_grant(
                    api,
                    &api.actions[action],
                    &api.actions[action].grants[grant],
                    &mut stream.granted,
                );
                let hash = self.hash(&statement);
                (statement, hash)
            }
            (Ok(None), _) => {
                return Err(internal(
                    api,
                    "an object was rendered in order that stands alone",
                ));
            }
        };
        let first_of_api = stream
            .stages
            .enter(object.stage, object.api, &mut stream.files);
        let Some(first_of_api) = first_of_api else {
            return Err(internal(api, "the plan is not in stage order"));
        };
        let separator = if first_of_api {
            format!(
                "\n-- api {} ({})\n",
                api.name,
                templating::inert(&self.sources.get(api.file).name)
            )
        } else {
            "\n".to_string()
        };
        for file in [object.stage.file(), DEPLOY] {
            stream.files.append(file, &separator);
            stream.files.append(file, &statement);
        }
        let names: &'n [String] = stream.names;
        stream.objects.push(ManifestObject {
            kind: object.kind(self.project),
            name: &names[position],
            api: &api.name.node,
            file: object.stage.file(),
            depends_on: object
                .depends_on
                .iter()
                .map(|index| names[*index].as_str())
                .collect(),
            sha256: hash,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::environment::environment;
    use crate::render::{paths, Output, CHUNK};

    /// Reads `file("...")` handlers from `specs/ok`.
    struct SpecFiles;

    impl crate::lower::Loader for SpecFiles {
        fn load(&self, spec: &str, path: &str) -> Result<(String, String), String> {
            let dir = std::path::Path::new(spec)
                .parent()
                .unwrap_or(std::path::Path::new(""));
            let name = dir.join(path).to_string_lossy().replace('\\', "/");
            let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(&name);
            std::fs::read_to_string(full)
                .map(|text| (name, text))
                .map_err(|error| error.to_string())
        }
    }

    #[test]
    fn output_and_file_list_do_not_depend_on_how_it_is_streamed() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("specs/ok");
        let mut specs = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "eax") {
                let name = format!("specs/ok/{}", path.file_name().unwrap().to_string_lossy());
                specs.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
        assert!(specs.len() >= 6);
        let input = crate::Input {
            specs,
            config: None,
        };
        let compilation = crate::analyse(&input, &SpecFiles);
        assert!(!compilation.has_errors());
        let plan = compilation.plan.as_ref().unwrap();
        assert!(plan.objects.len() > 20, "enough objects to cross chunks");
        let render = |chunk: usize| {
            let mut output = Output::default();
            Renderer {
                project: &compilation.project,
                sources: &compilation.sources,
                config: &compilation.config,
                env: environment().unwrap(),
                chunk,
                hashing: true,
            }
            .run(plan, &mut output)
            .unwrap();
            output
        };
        let whole = render(CHUNK);
        let listed = paths(&compilation.project, plan);
        assert_eq!(
            listed.iter().collect::<Vec<_>>(),
            whole.files.keys().collect::<Vec<_>>()
        );
        for chunk in [1, 2, 3, 7] {
            assert!(render(chunk) == whole, "chunks of {chunk} objects");
        }
    }
}
