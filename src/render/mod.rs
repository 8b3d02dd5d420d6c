//! Stage 5, render: [`Plan`] + [`Project`] → [`Output`], the files `build` writes. Templates
//! (minijinja, under `templates/`) do the layout; `snowflake.rs` and `python.rs` do every bit of
//! quoting and escaping, exposed to templates as filters. Rendering a checked project cannot
//! fail; a template error is a bug in eaxc.

pub mod python;
pub mod snowflake;
mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::sync::OnceLock;

use minijinja::{context, AutoEscape, Environment, UndefinedBehavior};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::auth::{ClientAuth, OAuthGrant};
use crate::config::Config;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{
    Action, ActionBody, ActionKind, Api, DataType, ExecuteAs, Literal, OnError, Piece, Project,
    Request, SecretBody, SecretValue, TypeFamily,
};
use crate::plan::{Plan, Stage, Target};
use crate::source::{Sources, Span};
use crate::templating;

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
}

/// `deploy.sql`: every stage script in order.
const DEPLOY: &str = "deploy.sql";
/// `manifest.yaml`: every object and file of the build.
const MANIFEST: &str = "manifest.yaml";
/// Objects rendered at a time (see `Renderer::run`).
const CHUNK: usize = 256;

/// The handler file of an action.
fn handler_path(api: &Api, action: &Action) -> String {
    format!("handlers/{}__{}.py", api.name, action.name)
}

/// Every file a build of `plan` writes, without rendering any: the output directory is
/// surveyed with it before anything is written.
#[must_use]
pub fn paths(project: &Project, plan: &Plan) -> BTreeSet<String> {
    let mut paths: BTreeSet<String> = Stage::ALL
        .iter()
        .map(|stage| stage.file())
        .chain([DEPLOY, "teardown.sql", "examples.sql", MANIFEST])
        .map(str::to_string)
        .collect();
    for object in &plan.objects {
        if let Target::Action(index) = object.target {
            let api = &project.apis[object.api];
            paths.insert(handler_path(api, &api.actions[index]));
        }
    }
    paths
}

/// One standalone object, rendered and hashed: its statement, and its handler file (path,
/// text, hash) when it has one.
struct Rendered {
    statement: String,
    hash: String,
    handler: Option<(String, String, String)>,
}

/// The sink, plus the SHA-256 of every file as it streams by (for the manifest).
struct Files<'s> {
    sink: &'s mut dyn Sink,
    /// Files appended to and not yet closed, with their running hashes.
    open: Vec<(&'static str, Sha256)>,
    /// Closed files and their hashes.
    hashes: Vec<ManifestFile>,
}

impl Files<'_> {
    fn append(&mut self, path: &'static str, text: &str) {
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
        let sha256 = hash.unwrap_or_else(|| sha256(text));
        self.hashes.push(ManifestFile { path, sha256 });
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

    fn header(stage: Stage, files: &mut Files<'_>) {
        let title = format!("-- {}: {}\n", &stage.file()[..3], stage.title());
        files.append(stage.file(), HEADER);
        files.append(stage.file(), &title);
        files.append(DEPLOY, &format!("\n-- ===== {} =====\n", stage.file()));
        files.append(DEPLOY, &title);
    }

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

const HEADER: &str =
    "-- Generated by eaxc. Do not edit: change the .eax specs and run `eaxc build`.\n";

/// The template environment, built once per process: parsing the templates is the costly part
/// and nothing in it depends on the input.
fn environment() -> Result<&'static Environment<'static>, String> {
    static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| new_environment().map_err(|error| format!("{error:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

fn new_environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in [
        (
            "network_rule.sql",
            include_str!("templates/network_rule.sql.j2"),
        ),
        (
            "security_integration.sql",
            include_str!("templates/security_integration.sql.j2"),
        ),
        ("secret.sql", include_str!("templates/secret.sql.j2")),
        (
            "integration.sql",
            include_str!("templates/integration.sql.j2"),
        ),
        ("action.sql", include_str!("templates/action.sql.j2")),
        ("handler.py", include_str!("templates/handler.py.j2")),
    ] {
        env.add_template(name, source)?;
    }
    env.add_filter("sf_string", |text: String| snowflake::string(&text));
    env.add_filter("sf_strings", |items: Vec<String>| {
        items
            .iter()
            .map(|item| snowflake::string(item))
            .collect::<Vec<_>>()
            .join(", ")
    });
    env.add_filter("py_string", |text: String| python::string_literal(&text));
    Ok(env)
}

/// E0901 on `api`: something went wrong that the checks should have made impossible.
fn internal(api: &Api, what: &str) -> Diagnostic {
    internal_at(api.name.span, what)
}

fn internal_at(span: Span, what: &str) -> Diagnostic {
    Diagnostic::new(Code::Internal, span, format!("bug in eaxc: {what}"))
        .label("while generating this")
        .help("nothing was written; please report this with the spec, eaxc.yaml and the command you ran")
}

/// Renders every output file of a checked project into memory. Fails only on a bug in eaxc
/// (E0901).
pub fn render(
    project: &Project,
    plan: &Plan,
    sources: &Sources,
    config: &Config,
) -> Result<Output, Diagnostic> {
    let mut output = Output::default();
    render_to(project, plan, sources, config, &mut output)?;
    Ok(output)
}

/// Renders every output file of a checked project into `sink`, file by file as they are made.
/// Fails only on a bug in eaxc (E0901); the sink then holds part of the output.
pub fn render_to(
    project: &Project,
    plan: &Plan,
    sources: &Sources,
    config: &Config,
    sink: &mut dyn Sink,
) -> Result<(), Diagnostic> {
    let env = environment().map_err(|error| {
        let span = project
            .apis
            .first()
            .map(|api| api.name.span)
            .unwrap_or_default();
        internal_at(span, &format!("the templates do not load: {error}"))
    })?;
    render_with(env, project, plan, sources, config, sink)
}

fn render_with(
    env: &Environment<'static>,
    project: &Project,
    plan: &Plan,
    sources: &Sources,
    config: &Config,
    sink: &mut dyn Sink,
) -> Result<(), Diagnostic> {
    Renderer {
        project,
        sources,
        config,
        env,
        chunk: CHUNK,
    }
    .run(plan, sink)
}

struct Renderer<'a> {
    project: &'a Project,
    sources: &'a Sources,
    config: &'a Config,
    env: &'a Environment<'static>,
    /// Objects rendered at a time (tests vary it: the output must not depend on it).
    chunk: usize,
}

/// An object in the manifest; names are borrowed (there are 60,000 objects for 10,000 apis).
#[derive(Serialize)]
struct ManifestObject<'a> {
    kind: &'static str,
    name: &'a str,
    api: &'a str,
    file: &'static str,
    depends_on: Vec<&'a str>,
    sha256: String,
}

#[derive(Serialize)]
struct ManifestFile {
    path: String,
    sha256: String,
}

#[derive(Serialize)]
struct Manifest<'a> {
    generator: String,
    sources: Vec<String>,
    objects: Vec<ManifestObject<'a>>,
    files: Vec<ManifestFile>,
}

/// Appends `text` between two `quote` characters, each `quote` inside doubled: SQL
/// identifiers (`"`) and YAML single-quoted scalars (`'`) escape the same way.
fn push_doubling_quotes(out: &mut String, text: &str, quote: char) {
    out.push(quote);
    for (index, part) in text.split(quote).enumerate() {
        if index > 0 {
            out.push(quote);
            out.push(quote);
        }
        out.push_str(part);
    }
    out.push(quote);
}

fn sha256(text: &str) -> String {
    hex(Sha256::digest(text.as_bytes()).as_slice())
}

fn hex(digest: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(2 * digest.len());
    for byte in digest {
        out.push(char::from(HEX[usize::from(byte >> 4)]));
        out.push(char::from(HEX[usize::from(byte & 15)]));
    }
    out
}

impl Renderer<'_> {
    /// Renders template `name` for `api`. A failure is a bug in eaxc, reported as E0901 on the
    /// api's name so that the user knows which spec to attach to the report.
    fn template(&self, api: &Api, name: &str, ctx: minijinja::Value) -> Result<String, Diagnostic> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(ctx))
            .map_err(|error| internal(api, &format!("template `{name}` failed: {error:#}")))
    }

    fn qualified(api: &Api, name: &str) -> String {
        snowflake::qualified(&api.database, &api.schema, name)
    }

    fn secret_value(&self, value: &SecretValue) -> String {
        match value {
            SecretValue::Literal(text) => snowflake::string(text),
            SecretValue::Env(variable) => {
                snowflake::template(&self.config.secret_template.replace("{name}", variable))
            }
        }
    }

    fn comment(api: &Api, what: &str) -> String {
        match &api.comment {
            Some(comment) => format!("{comment} (eaxc: {what} of api {})", api.name),
            None => format!("eaxc: {what} of api {}", api.name),
        }
    }

    fn signature(action: &Action) -> String {
        action
            .params
            .iter()
            .map(|param| param.data_type.sql())
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn action_name(api: &Api, action: &Action) -> String {
        Self::qualified(api, &action.object)
    }

    /// The name an object has in manifest and teardown.
    fn object_name(&self, api: &Api, target: Target) -> String {
        match target {
            Target::NetworkRule => Self::qualified(api, &api.names.network_rule),
            Target::SecurityIntegration => snowflake::ident(&api.names.security_integration),
            Target::Secret(index) => Self::qualified(api, &api.secrets[index].object),
            Target::Integration => snowflake::ident(&api.names.integration),
            Target::Action(index) => {
                let action = &api.actions[index];
                format!(
                    "{}({})",
                    Self::action_name(api, action),
                    Self::signature(action)
                )
            }
            Target::ApiGrant(index) => format!(
                "USAGE ON INTEGRATION {} TO ROLE {}",
                snowflake::ident(&api.names.integration),
                snowflake::ident(&api.grants[index])
            ),
            Target::ActionGrant(action, grant) => {
                let action_ref = &api.actions[action];
                format!(
                    "USAGE ON {} {}({}) TO ROLE {}",
                    action_ref.kind.sql(),
                    Self::action_name(api, action_ref),
                    Self::signature(action_ref),
                    snowflake::ident(&action_ref.grants[grant])
                )
            }
        }
    }

    /// Renders and hashes one object that stands alone (all but grants, which depend on what
    /// earlier grants granted): its statement, its handler file when it has one, and hashes.
    fn standalone(&self, object: &crate::plan::Object) -> Result<Option<Rendered>, Diagnostic> {
        let api = &self.project.apis[object.api];
        let (statement, handler) = match object.target {
            Target::NetworkRule => (self.network_rule(api)?, None),
            Target::SecurityIntegration => (self.security_integration(api)?, None),
            Target::Secret(index) => (self.secret(api, index)?, None),
            Target::Integration => (self.integration(api)?, None),
            Target::Action(index) => {
                let action = &api.actions[index];
                let (sql, handler) = self.action(api, action)?;
                let hash = sha256(&handler);
                (sql, Some((handler_path(api, action), handler, hash)))
            }
            Target::ApiGrant(_) | Target::ActionGrant(..) => return Ok(None),
        };
        let hash = sha256(&statement);
        Ok(Some(Rendered {
            statement,
            hash,
            handler,
        }))
    }

    fn run(&self, plan: &Plan, sink: &mut dyn Sink) -> Result<(), Diagnostic> {
        // Every object's name once: each is written once as a name and again in the
        // `depends_on` of everything that needs it.
        let names: Vec<String> = crate::par::map(&plan.objects, |object| {
            self.object_name(&self.project.apis[object.api], object.target)
        });
        let mut files = Files {
            sink,
            open: Vec::new(),
            hashes: Vec::new(),
        };
        files.append(DEPLOY, HEADER);
        files.append(
            DEPLOY,
            "-- Every stage script in order; run with `snow sql -f deploy.sql`.\n",
        );
        let mut stages = Stages {
            open: None,
            next: 0,
        };
        let mut manifest_objects = Vec::with_capacity(plan.objects.len());
        let mut granted_containers: BTreeSet<(String, String, String)> = BTreeSet::new();
        // The output streams out chunk by chunk, so memory holds a few chunks of rendered
        // text rather than the whole output (380 MB for 10,000 apis). The next chunk is
        // rendered on other threads while this one is written.
        let mut next = 0;
        let stopped = crate::par::pipeline(
            &plan.objects,
            self.chunk,
            |chunk| crate::par::map(chunk, |object| self.standalone(object)),
            |chunk, rendered| {
                if files.sink.failed() {
                    return ControlFlow::Break(Ok(()));
                }
                for (object, rendered) in chunk.iter().zip(rendered) {
                    let position = next;
                    next += 1;
                    let api = &self.project.apis[object.api];
                    let (statement, hash) = match (rendered, object.target) {
                        (Err(diagnostic), _) => return ControlFlow::Break(Err(diagnostic)),
                        (Ok(Some(rendered)), _) => {
                            if let Some((path, handler, hash)) = rendered.handler {
                                files.whole(path, &handler, Some(hash));
                            }
                            (rendered.statement, rendered.hash)
                        }
                        (Ok(None), Target::ApiGrant(index)) => {
                            let statement =
                                self.api_grant(api, &api.grants[index], &mut granted_containers);
                            let hash = sha256(&statement);
                            (statement, hash)
                        }
                        (Ok(None), Target::ActionGrant(action, grant)) => {
                            let statement = self.action_grant(
                                api,
                                &api.actions[action],
                                &api.actions[action].grants[grant],
                                &mut granted_containers,
                            );
                            let hash = sha256(&statement);
                            (statement, hash)
                        }
                        (Ok(None), _) => {
                            return ControlFlow::Break(Err(internal(
                                api,
                                "an object was rendered in order that stands alone",
                            )));
                        }
                    };
                    let first_of_api = stages.enter(object.stage, object.api, &mut files);
                    let Some(first_of_api) = first_of_api else {
                        return ControlFlow::Break(Err(internal(
                            api,
                            "the plan is not in stage order",
                        )));
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
                        files.append(file, &separator);
                        files.append(file, &statement);
                    }
                    manifest_objects.push(ManifestObject {
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
                }
                ControlFlow::Continue(())
            },
        );
        if let Some(Err(diagnostic)) = stopped {
            return Err(diagnostic);
        }
        if files.sink.failed() {
            return Ok(());
        }
        stages.finish(&mut files);
        files.close(DEPLOY);
        files.whole("teardown.sql".into(), &self.teardown(plan, &names), None);
        files.whole("examples.sql".into(), &self.examples(), None);

        let mut sources: Vec<String> = self
            .project
            .apis
            .iter()
            .flat_map(|api| {
                std::iter::once(self.sources.get(api.file).name.clone()).chain(
                    api.actions.iter().filter_map(|action| match &action.body {
                        ActionBody::Handler(handler) => {
                            Some(self.sources.get(handler.file).name.clone())
                        }
                        ActionBody::Request(_) => None,
                    }),
                )
            })
            .collect();
        sources.sort();
        sources.dedup();
        let mut hashes = std::mem::take(&mut files.hashes);
        hashes.sort_by(|a, b| a.path.cmp(&b.path));
        let manifest = Manifest {
            generator: format!("eaxc {}", env!("CARGO_PKG_VERSION")),
            sources,
            objects: manifest_objects,
            files: hashes,
        };
        // A dry run first: the manifest goes straight into the sink, and must not stop
        // halfway for a string only serde_norway can write.
        files.sink.append(
            MANIFEST,
            "# Generated by eaxc. Do not edit: every object and file of this build.\n",
        );
        if yaml::write(&manifest, &mut |_| {}).is_some() {
            let written = yaml::write(&manifest, &mut |piece| files.sink.append(MANIFEST, piece));
            if written.is_none() {
                return Err(internal_at(
                    Span::default(),
                    "manifest.yaml: the writer declined a string its dry run accepted",
                ));
            }
        } else {
            let yaml = serde_norway::to_string(&manifest).map_err(|error| {
                internal_at(Span::default(), &format!("manifest.yaml: {error}"))
            })?;
            files.sink.append(MANIFEST, &yaml);
        }
        files.sink.close(MANIFEST);
        Ok(())
    }

    fn network_rule(&self, api: &Api) -> Result<String, Diagnostic> {
        let hosts: Vec<&str> = api.egress.iter().map(|host| host.node.as_str()).collect();
        self.template(
            api,
            "network_rule.sql",
            context! {
                name => Self::qualified(api, &api.names.network_rule),
                hosts => hosts,
                comment => Self::comment(api, "egress"),
            },
        )
    }

    fn security_integration(&self, api: &Api) -> Result<String, Diagnostic> {
        let integration = api.auth.integration().ok_or_else(|| {
            internal(
                api,
                "a security integration was planned for an api without OAuth",
            )
        })?;
        self.template(
            api,
            "security_integration.sql",
            context! {
                name => snowflake::ident(&api.names.security_integration),
                client_auth => match integration.client_auth {
                    ClientAuth::Basic => "CLIENT_SECRET_BASIC",
                    ClientAuth::Post => "CLIENT_SECRET_POST",
                },
                authorization_endpoint => integration.authorization_endpoint.as_ref().map(|e| e.node.clone()),
                token_endpoint => integration.token_endpoint.node.clone(),
                client_id => self.secret_value(&integration.client_id),
                client_secret => self.secret_value(&integration.client_secret),
                grant => match integration.grant {
                    OAuthGrant::ClientCredentials => "CLIENT_CREDENTIALS",
                    OAuthGrant::AuthorizationCode => "AUTHORIZATION_CODE",
                },
                scopes => integration.scopes.clone(),
                access_token_validity => integration.access_token_validity,
                refresh_token_validity => integration.refresh_token_validity,
                enabled => if api.enabled { "TRUE" } else { "FALSE" },
                comment => Self::comment(api, "OAuth"),
            },
        )
    }

    fn secret(&self, api: &Api, index: usize) -> Result<String, Diagnostic> {
        let secret = &api.secrets[index];
        let security_integration = snowflake::ident(&api.names.security_integration);
        let clauses: Vec<String> = match &secret.body {
            SecretBody::Password { username, password } => vec![
                "TYPE = PASSWORD".into(),
                format!("USERNAME = {}", self.secret_value(username)),
                format!("PASSWORD = {}", self.secret_value(password)),
            ],
            SecretBody::GenericString { value } => vec![
                "TYPE = GENERIC_STRING".into(),
                format!("SECRET_STRING = {}", self.secret_value(value)),
            ],
            SecretBody::OAuthClientCredentials { scopes } => {
                let mut clauses = vec![
                    "TYPE = OAUTH2".into(),
                    format!("API_AUTHENTICATION = {security_integration}"),
                ];
                if !scopes.is_empty() {
                    let scopes: Vec<String> = scopes
                        .iter()
                        .map(|scope| snowflake::string(scope))
                        .collect();
                    clauses.push(format!("OAUTH_SCOPES = ({})", scopes.join(", ")));
                }
                clauses
            }
            SecretBody::OAuthAuthorizationCode {
                refresh_token,
                expiry,
            } => vec![
                "TYPE = OAUTH2".into(),
                format!("API_AUTHENTICATION = {security_integration}"),
                format!("OAUTH_REFRESH_TOKEN = {}", self.secret_value(refresh_token)),
                format!(
                    "OAUTH_REFRESH_TOKEN_EXPIRY_TIME = {}",
                    snowflake::string(expiry)
                ),
            ],
        };
        self.template(
            api,
            "secret.sql",
            context! {
                name => Self::qualified(api, &secret.object),
                clauses => clauses,
                comment => Self::comment(api, &format!("secret `{}`", secret.alias)),
            },
        )
    }

    fn integration(&self, api: &Api) -> Result<String, Diagnostic> {
        let secrets: Vec<String> = api
            .secrets
            .iter()
            .map(|secret| Self::qualified(api, &secret.object))
            .collect();
        self.template(
            api,
            "integration.sql",
            context! {
                name => snowflake::ident(&api.names.integration),
                network_rule => Self::qualified(api, &api.names.network_rule),
                security_integration => api.auth.integration().map(|_| snowflake::ident(&api.names.security_integration)),
                secrets => secrets,
                enabled => if api.enabled { "TRUE" } else { "FALSE" },
                comment => Self::comment(api, "external access"),
            },
        )
    }

    fn action(&self, api: &Api, action: &Action) -> Result<(String, String), Diagnostic> {
        let params: Vec<String> = action
            .params
            .iter()
            .map(|param| {
                let mut text = format!("{} {}", param.name, param.data_type.sql());
                if let Some(default) = &param.default {
                    let _ = write!(
                        text,
                        " DEFAULT {}",
                        sql_value(&default.node, &param.data_type)
                    );
                }
                text
            })
            .collect();
        let mut packages: Vec<String> = Vec::new();
        if action.kind == ActionKind::Procedure {
            packages.push("snowflake-snowpark-python".into());
        }
        if matches!(action.body, ActionBody::Request(_)) {
            packages.push("requests".into());
        }
        for package in &action.packages {
            if !packages.contains(package) {
                packages.push(package.clone());
            }
        }
        let secrets: Vec<String> = action
            .secrets
            .iter()
            .map(|index| {
                let secret = &api.secrets[*index];
                format!(
                    "{} = {}",
                    snowflake::string(&secret.alias),
                    Self::qualified(api, &secret.object)
                )
            })
            .collect();
        let handler = match &action.body {
            ActionBody::Handler(handler) => self.sources.get(handler.file).text.clone(),
            ActionBody::Request(request) => self.handler(api, action, request)?,
        };
        let sql = self.template(
            api,
            "action.sql",
            context! {
                secure => action.secure,
                kind => action.kind.sql(),
                name => Self::action_name(api, action),
                params => params,
                returns => action.returns.sql(),
                runtime => action.runtime.node.clone(),
                packages => packages,
                integration => snowflake::ident(&api.names.integration),
                secrets => secrets,
                comment => action.comment.clone(),
                execute_as => match (action.kind, action.execute_as) {
                    (ActionKind::Function, _) => None,
                    (ActionKind::Procedure, ExecuteAs::Owner) => Some("OWNER"),
                    (ActionKind::Procedure, ExecuteAs::Caller) => Some("CALLER"),
                    (ActionKind::Procedure, ExecuteAs::RestrictedCaller) => Some("RESTRICTED CALLER"),
                },
            },
        )?;
        // The body is appended here rather than passed through the template: it is most of
        // the statement, and each copy in and out of a template value costs.
        let mut sql = sql;
        sql.truncate(sql.trim_end().len());
        sql.reserve(handler.len() + 8);
        sql.push(' ');
        snowflake::push_body(&mut sql, &handler);
        sql.push_str(";\n");
        Ok((sql, handler))
    }

    fn handler(&self, api: &Api, action: &Action, request: &Request) -> Result<String, Diagnostic> {
        let apply = api.auth.apply().unwrap_or_default();
        let uses_secrets = !action.secrets.is_empty();
        let mut required: Vec<String> = Vec::new();
        let mut must_have = |name: &str| {
            if !required.iter().any(|r| r == name) {
                required.push(name.to_string());
            }
        };
        for param in &action.params {
            if param.default.is_none() {
                must_have(&param.name);
            }
        }
        // Parameters in the host or the path cannot be empty either.
        for piece in request.url.authority.iter().chain(&request.url.path) {
            if let Piece::Param(name) = piece {
                must_have(name);
            }
        }
        let required: Vec<String> = action
            .params
            .iter()
            .map(|param| param.name.node.clone())
            .filter(|name| required.contains(name))
            .collect();
        let allowed: Vec<(String, String)> = action
            .params
            .iter()
            .filter(|param| !param.allowed.is_empty())
            .map(|param| {
                let values: Vec<String> = param
                    .allowed
                    .iter()
                    .map(|value| python::literal(&value.node))
                    .collect();
                (param.name.node.clone(), format!("({},)", values.join(", ")))
            })
            .collect();
        let host_names: Vec<&str> = request
            .url
            .host_params()
            .map(|name| name.node.as_str())
            .collect();
        let default_port = if request.url.scheme == "http" {
            80
        } else {
            443
        };
        let host_check = (!host_names.is_empty()).then(|| {
            context! {
                names => host_names.join(", "),
                expr => host_check_expr(request),
                port => default_port,
            }
        });
        // The URL as literal text and code, adjacent literals merged.
        let mut url_parts: Vec<UrlPart> = vec![UrlPart::Text(format!("{}://", request.url.scheme))];
        let path_param = |name: &str| {
            UrlPart::Code(format!(
                "_path({}, {})",
                python::string_literal(name),
                python::arg(name)
            ))
        };
        let query_param = |name: &str| {
            UrlPart::Code(format!(
                "_quote({}, {})",
                python::string_literal(name),
                python::arg(name)
            ))
        };
        let pieces =
            |pieces: &[Piece], parts: &mut Vec<UrlPart>, param: &dyn Fn(&str) -> UrlPart| {
                for piece in pieces {
                    parts.push(match piece {
                        Piece::Text(text) => UrlPart::Text(text.clone()),
                        Piece::Param(name) => param(name),
                    });
                }
            };
        if host_check.is_some() {
            url_parts.push(UrlPart::Code("authority".into()));
        } else {
            pieces(&request.url.authority, &mut url_parts, &path_param);
        }
        pieces(&request.url.path, &mut url_parts, &path_param);
        if !request.url.query.is_empty() {
            url_parts.push(UrlPart::Text("?".into()));
            pieces(&request.url.query, &mut url_parts, &query_param);
        }
        let url = join_url(url_parts);
        let has_param =
            |pieces: &[Piece]| pieces.iter().any(|piece| matches!(piece, Piece::Param(_)));
        let uses_path = has_param(&request.url.path);
        let uses_query_template = has_param(&request.url.query);
        // A parameter is turned into text by name, so that a value without a text form (NaN
        // inside an ARRAY) is refused naming it.
        let named = |name: &str| {
            format!(
                "_named({}, {})",
                python::string_literal(name),
                python::arg(name)
            )
        };
        let named_piece = |name: &str| format!("({} or \"\")", named(name));
        let query: Vec<(String, String)> = request
            .query
            .iter()
            .map(|(key, value)| {
                (
                    key.clone(),
                    python::expr_with(value, 8, &named, &named_piece),
                )
            })
            .collect();
        // A parameter in a header is checked by name: HTTP cannot carry every character.
        let header_param = |name: &str| {
            format!(
                "_header({}, {})",
                python::string_literal(name),
                python::arg(name)
            )
        };
        let headers: Vec<(String, String)> = request
            .headers
            .iter()
            .map(|(key, value)| {
                let code = python::expr_with(value, 8, &header_param, &|name| {
                    format!("({} or \"\")", header_param(name))
                });
                (key.clone(), code)
            })
            .collect();
        // A parameter in a JSON body is encoded on its own, so that NaN is refused by name.
        let json = request.json.as_ref().map(|json| {
            python::expr_with(
                json,
                4,
                &|name| {
                    format!(
                        "_arg({}, {})",
                        python::string_literal(name),
                        python::arg(name)
                    )
                },
                &named_piece,
            )
        });
        let uses_header_params = headers.iter().any(|(_, code)| code.contains("_header("));
        let uses_named = uses_header_params
            || uses_path
            || uses_query_template
            || query.iter().any(|(_, code)| code.contains("_named("))
            || json.as_deref().is_some_and(|code| code.contains("_named("));
        let uses_text = !query.is_empty()
            || !headers.is_empty()
            || uses_named
            || host_check_expr(request).contains("_text(");
        let has_family = |family: TypeFamily| {
            action
                .params
                .iter()
                .any(|param| param.data_type.family == family)
        };
        let text_json = uses_text && has_family(TypeFamily::Semi);
        let text_binary = uses_text && has_family(TypeFamily::Binary);
        let text_time = uses_text && has_family(TypeFamily::Time);
        let uses_json = json.is_some() || text_json;
        let returns_json = action.returns.family == TypeFamily::Semi;
        let mut imports: Vec<&str> =
            vec!["http.client", "http.cookiejar", "logging", "time", "zlib"];
        if action.retries > 0 {
            imports.extend(["datetime", "email.utils"]);
        }
        if uses_json {
            imports.extend(["datetime", "decimal", "json", "math"]);
        }
        if returns_json {
            imports.push("json");
        }
        if text_time {
            imports.push("datetime");
        }
        if uses_path || uses_query_template {
            imports.push("urllib.parse");
        }
        imports.extend(apply.imports.iter().copied());
        imports.sort_unstable();
        imports.dedup();
        // Whether a request that may have reached the server may be sent again.
        let idempotent_method = matches!(
            request.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
        );
        let mut signature: Vec<&str> = Vec::new();
        if action.kind == ActionKind::Procedure {
            signature.push("session");
        }
        signature.extend(action.params.iter().map(|param| param.name.node.as_str()));
        let egress: Vec<(String, u16)> = crate::check::egress_entries(api)
            .into_iter()
            .map(|entry| (entry.host, entry.port.unwrap_or(443)))
            .collect();
        self.template(
            api,
            "handler.py",
            context! {
                spec => templating::inert(&self.sources.get(api.file).name),
                api => api.name.node.clone(),
                kind => action.kind.word(),
                action => action.name.node.clone(),
                comment => action.comment.is_some(),
                comment_lines => action.comment.as_deref().unwrap_or_default().lines().map(templating::inert).collect::<Vec<_>>(),
                imports => imports,
                uses_secrets => uses_secrets,
                egress => egress,
                timeout => action.timeout,
                retries => action.retries,
                retry_sent => idempotent_method || action.idempotent,
                idempotent_attribute => action.idempotent && !idempotent_method,
                signature => signature.join(", "),
                args => action.params.iter().map(|param| param.name.node.clone()).collect::<Vec<_>>(),
                required => required,
                allowed => allowed,
                host_check => host_check,
                url => url,
                query => query,
                headers => headers,
                json => json,
                uses_header_params => uses_header_params,
                uses_named => uses_named,
                uses_text => uses_text,
                uses_json => uses_json,
                text_json => text_json,
                text_binary => text_binary,
                text_time => text_time,
                method => request.method.clone(),
                uses_path => uses_path,
                uses_query_template => uses_query_template,
                on_error_return => action.on_error == OnError::Return,
                returns_json => returns_json,
                auth_lines => apply.lines,
            },
        )
    }

    fn container_grants(
        api: &Api,
        role: &str,
        out: &mut String,
        granted: &mut BTreeSet<(String, String, String)>,
    ) {
        let key = (role.to_string(), api.database.clone(), api.schema.clone());
        if granted.insert(key) {
            let role = snowflake::ident(role);
            let _ = writeln!(
                out,
                "GRANT USAGE ON DATABASE {} TO ROLE {role};",
                snowflake::ident(&api.database)
            );
            let _ = writeln!(
                out,
                "GRANT USAGE ON SCHEMA {}.{} TO ROLE {role};",
                snowflake::ident(&api.database),
                snowflake::ident(&api.schema)
            );
        }
    }

    fn api_grant(
        &self,
        api: &Api,
        role: &str,
        granted: &mut BTreeSet<(String, String, String)>,
    ) -> String {
        let mut out = String::new();
        Self::container_grants(api, role, &mut out, granted);
        let quoted_role = snowflake::ident(role);
        let _ = writeln!(
            out,
            "GRANT USAGE ON INTEGRATION {} TO ROLE {quoted_role};",
            snowflake::ident(&api.names.integration)
        );
        for secret in &api.secrets {
            let _ = writeln!(
                out,
                "GRANT READ ON SECRET {} TO ROLE {quoted_role};",
                Self::qualified(api, &secret.object)
            );
        }
        out
    }

    fn action_grant(
        &self,
        api: &Api,
        action: &Action,
        role: &str,
        granted: &mut BTreeSet<(String, String, String)>,
    ) -> String {
        let mut out = String::new();
        Self::container_grants(api, role, &mut out, granted);
        let _ = writeln!(
            out,
            "GRANT USAGE ON {} {}({}) TO ROLE {};",
            action.kind.sql(),
            Self::action_name(api, action),
            Self::signature(action),
            snowflake::ident(role)
        );
        out
    }

    /// `names` are the objects' names, in plan order.
    fn teardown(&self, plan: &Plan, names: &[String]) -> String {
        let mut out = String::from(HEADER);
        out.push_str(
            "-- Drops every object of the build, dependents first. Grants go with their objects.\n",
        );
        // Each api's objects, in plan order; scanning the whole plan per api was quadratic.
        let mut by_api: Vec<Vec<(&crate::plan::Object, &str)>> =
            vec![Vec::new(); self.project.apis.len()];
        for (object, name) in plan.objects.iter().zip(names) {
            by_api[object.api].push((object, name));
        }
        for (api, objects) in self.project.apis.iter().zip(&by_api) {
            let _ = write!(out, "\n-- api {}\n", api.name);
            for (object, name) in objects.iter().rev() {
                let _ = match object.target {
                    Target::NetworkRule => writeln!(out, "DROP NETWORK RULE IF EXISTS {name};"),
                    // By kind: an untyped DROP INTEGRATION would drop whatever integration
                    // of any kind holds the name.
                    Target::SecurityIntegration => {
                        writeln!(out, "DROP SECURITY INTEGRATION IF EXISTS {name};")
                    }
                    Target::Integration => {
                        writeln!(out, "DROP EXTERNAL ACCESS INTEGRATION IF EXISTS {name};")
                    }
                    Target::Secret(_) => writeln!(out, "DROP SECRET IF EXISTS {name};"),
                    Target::Action(index) => {
                        writeln!(
                            out,
                            "DROP {} IF EXISTS {name};",
                            api.actions[index].kind.sql()
                        )
                    }
                    Target::ApiGrant(_) | Target::ActionGrant(..) => Ok(()),
                };
            }
        }
        if self.project.apis.is_empty() {
            out.push_str("\n-- Nothing to drop.\n");
        }
        out
    }

    fn examples(&self) -> String {
        let mut out = String::from(HEADER);
        out.push_str("-- The calls from `example` blocks, with named arguments.\n");
        let mut any = false;
        for api in &self.project.apis {
            for action in &api.actions {
                for example in &action.examples {
                    any = true;
                    let args: Vec<String> = action
                        .params
                        .iter()
                        .filter_map(|param| {
                            example
                                .args
                                .iter()
                                .find(|(name, _)| name.node == param.name.node)
                                .map(|(_, value)| {
                                    format!(
                                        "{} => {}",
                                        param.name,
                                        sql_value(&value.node, &param.data_type)
                                    )
                                })
                        })
                        .collect();
                    let call = format!("{}({})", Self::action_name(api, action), args.join(", "));
                    let _ = write!(out, "\n-- {}.{}\n", api.name, action.name);
                    match action.kind {
                        ActionKind::Procedure => {
                            let _ = writeln!(out, "CALL {call};");
                        }
                        ActionKind::Function => {
                            let _ = writeln!(out, "SELECT {call};");
                        }
                    }
                }
            }
        }
        if !any {
            out.push_str("\n-- No `example` blocks.\n");
        }
        out
    }
}

/// A literal as a SQL value of `data_type` (`check` has made sure it fits): VARIANT scalars
/// through `TO_VARIANT`, BINARY hex through `TO_BINARY`, as a parameter default or a `CALL`
/// argument accepts them.
fn sql_value(value: &Literal, data_type: &DataType) -> String {
    let scalar = match value {
        Literal::Null => return "NULL".into(),
        Literal::String(text) => snowflake::string(text),
        Literal::Number(text) => text.clone(),
        Literal::Bool(true) => "TRUE".into(),
        Literal::Bool(false) => "FALSE".into(),
    };
    match data_type.family {
        TypeFamily::Semi => format!("TO_VARIANT({scalar})"),
        TypeFamily::Binary => format!("TO_BINARY({scalar}, 'HEX')"),
        _ => scalar,
    }
}

/// The Python expression of a request's host and port, when a parameter is in it.
fn host_check_expr(request: &Request) -> String {
    python::template(&request.url.authority, |name| {
        format!("_text({})", python::arg(name))
    })
}

/// A part of a generated URL expression.
enum UrlPart {
    /// Literal text.
    Text(String),
    /// A Python expression.
    Code(String),
}

/// Joins URL parts with `+`, merging adjacent literal text into one Python literal.
fn join_url(parts: Vec<UrlPart>) -> String {
    let mut merged: Vec<UrlPart> = Vec::new();
    for part in parts {
        match (merged.last_mut(), part) {
            (Some(UrlPart::Text(last)), UrlPart::Text(text)) => last.push_str(&text),
            (_, part) => merged.push(part),
        }
    }
    merged
        .into_iter()
        .map(|part| match part {
            UrlPart::Text(text) => python::string_literal(&text),
            UrlPart::Code(code) => code,
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoFiles;

    impl crate::lower::Loader for NoFiles {
        fn load(&self, _spec: &str, path: &str) -> Result<(String, String), String> {
            Err(format!("no file {path}"))
        }
    }

    #[test]
    fn a_failing_template_is_an_internal_error_not_a_panic() {
        let text = "api echo {\n  egress = [\"echo.example.com\"]\n  auth none\n}\n";
        let mut sources = Sources::default();
        let file = sources.add("echo.eax", text);
        let tree = crate::parse::parse(file, text).expect("parses");
        let config = Config::default();
        let (project, diagnostics) =
            crate::lower::lower(&[(file, tree)], &mut sources, &config, &NoFiles);
        assert!(diagnostics.is_empty());
        let plan = crate::plan::plan(&project);
        let mut output = Output::default();
        assert!(render_with(
            environment().unwrap(),
            &project,
            &plan,
            &sources,
            &config,
            &mut output
        )
        .is_ok());

        // The network rule template now names a variable nobody passes.
        let mut env = new_environment().unwrap();
        env.add_template("network_rule.sql", "{{ no_such_variable }}")
            .unwrap();
        let error = render_with(
            &env,
            &project,
            &plan,
            &sources,
            &config,
            &mut Output::default(),
        )
        .unwrap_err();
        assert_eq!(error.code, Code::Internal);
        assert!(error
            .message
            .starts_with("bug in eaxc: template `network_rule.sql` failed"));
        assert_eq!(sources.slice(error.span()), "echo");
    }

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
