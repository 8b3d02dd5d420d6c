//! Stage 2, lower: [`ast::File`]s → [`model::Project`]. Resolves which items may appear where,
//! attribute types, enum values, parameter and secret references, `{param}` templates,
//! `file()` handlers (through the [`Loader`]) and object names. Collects every problem.

use std::collections::BTreeMap;

use crate::ast::{self, Item, Value};
use crate::auth::{self, AuthMethod};
use crate::config::{Config, Naming};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{
    Action, ActionBody, ActionKind, Api, ApiNames, DataType, Example, ExecuteAs, Expr, HandlerFile,
    Literal, OnError, Param, Piece, Project, Request, Secret, SecretBody, SecretValue, TypeFamily,
    Url,
};
use crate::source::{FileId, Sources, Span, Spanned};

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

/// The attributes of one block, consumed by name; whatever is left is unknown.
pub struct Attrs<'a> {
    attrs: Vec<(&'a ast::Attribute, bool)>,
    span: Span,
    block: String,
}

impl<'a> Attrs<'a> {
    /// Collects the attributes among `items`, reporting duplicates. `block` names the block in
    /// messages (`auth oauth2`); `span` is its keyword.
    fn new(lx: &mut Lowerer<'_>, items: &'a [Item], span: Span, block: impl Into<String>) -> Self {
        let mut attrs: Vec<(&'a ast::Attribute, bool)> = Vec::new();
        for item in items {
            if let Item::Attribute(attribute) = item {
                if let Some((first, _)) = attrs
                    .iter()
                    .find(|(a, _)| a.name.node == attribute.name.node)
                {
                    lx.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            attribute.name.span,
                            format!("attribute `{}` is set twice", attribute.name.node),
                        )
                        .label("set again here")
                        .with_label(first.name.span, "first set here")
                        .help("remove one of them"),
                    );
                    continue;
                }
                attrs.push((attribute, false));
            }
        }
        Attrs {
            attrs,
            span,
            block: block.into(),
        }
    }

    /// The block's keyword span.
    pub(crate) fn span(&self) -> Span {
        self.span
    }

    /// The span of an attribute's value, if it is set.
    pub(crate) fn span_of(&self, name: &str) -> Option<Span> {
        self.attrs
            .iter()
            .find(|(attribute, _)| attribute.name.node == name)
            .map(|(attribute, _)| attribute.value.span())
    }

    /// Takes the raw value of an attribute.
    pub(crate) fn take(&mut self, name: &str) -> Option<&'a Value> {
        self.attrs
            .iter_mut()
            .find(|(attribute, _)| attribute.name.node == name)
            .map(|(attribute, used)| {
                *used = true;
                &attribute.value
            })
    }

    fn missing(&self, lx: &mut Lowerer<'_>, name: &str, example: &str) {
        lx.report(
            Diagnostic::new(
                Code::MissingAttribute,
                self.span,
                format!("`{}` is missing `{name}`", self.block),
            )
            .label(format!("needs `{name}`"))
            .help(format!("add `{name} = {example}`")),
        );
    }

    fn wrong_type(lx: &mut Lowerer<'_>, name: &str, value: &Value, expected: &str) {
        lx.report(
            Diagnostic::new(
                Code::WrongType,
                value.span(),
                format!("`{name}` must be {expected}, found {}", value.kind()),
            )
            .label(format!("expected {expected}"))
            .help(
                if matches!(value, Value::Word(_)) && expected.contains("string") {
                    "strings are written in double quotes".to_string()
                } else {
                    format!("write `{name}` as {expected}")
                },
            ),
        );
    }

    /// A string attribute.
    pub(crate) fn string(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<Spanned<String>> {
        match self.take(name)? {
            Value::String(string) => Some(Spanned::new(string.value.clone(), string.span)),
            other => {
                Self::wrong_type(lx, name, other, "a string");
                None
            }
        }
    }

    /// A string attribute that must be present.
    pub(crate) fn required_string(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
    ) -> Option<Spanned<String>> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, "\"...\"");
        }
        self.string(lx, name)
    }

    /// A possibly sensitive value: a string or `env("NAME")`. A sensitive literal is a warning.
    pub(crate) fn secret_value(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        sensitive: bool,
    ) -> Option<Spanned<SecretValue>> {
        match self.take(name)? {
            Value::String(string) => {
                if sensitive {
                    lx.report(
                        Diagnostic::new(
                            Code::SensitiveLiteral,
                            string.span,
                            format!("`{name}` is written in the spec"),
                        )
                        .label("this value ends up in the generated SQL and in git")
                        .help(format!(
                            "read it at deploy time instead: `{name} = env(\"VARIABLE\")`"
                        )),
                    );
                }
                Some(Spanned::new(
                    SecretValue::Literal(string.value.clone()),
                    string.span,
                ))
            }
            Value::Env(variable, span) => {
                let valid = !variable.value.is_empty()
                    && variable
                        .value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !variable.value.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    lx.report(
                        Diagnostic::new(
                            Code::WrongType,
                            variable.span,
                            format!("`{}` is not an environment variable name", variable.value),
                        )
                        .label("letters, digits and `_` only")
                        .help("name the variable like `MY_API_TOKEN`"),
                    );
                    return None;
                }
                Some(Spanned::new(
                    SecretValue::Env(variable.value.clone()),
                    *span,
                ))
            }
            other => {
                Self::wrong_type(lx, name, other, "a string or env(\"NAME\")");
                None
            }
        }
    }

    /// A possibly sensitive value that must be present.
    pub(crate) fn required_secret_value(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        sensitive: bool,
    ) -> Option<Spanned<SecretValue>> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, "env(\"NAME\")");
            return None;
        }
        self.secret_value(lx, name, sensitive)
    }

    /// A bare-word enum attribute.
    pub(crate) fn enumeration<T: Copy>(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let value = self.take(name)?;
        let (word, span) = match value {
            Value::Word(word) => (word.node.as_str(), word.span),
            Value::String(string) => (string.value.as_str(), string.span),
            other => {
                Self::wrong_type(lx, name, other, "a bare word");
                return None;
            }
        };
        if let Some((_, option)) = options.iter().find(|(option, _)| *option == word) {
            return Some(*option);
        }
        let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        lx.report(
            Diagnostic::new(
                Code::UnknownEnumValue,
                span,
                format!("`{word}` is not a value of `{name}`"),
            )
            .label("unknown value")
            .help(join_help(
                &did_you_mean(word, names.iter().copied()),
                &format!("`{name}` is one of {}", list(&names)),
            )),
        );
        None
    }

    /// An enum attribute that must be present.
    pub(crate) fn required_enum<T: Copy>(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, options[0].0);
            return None;
        }
        self.enumeration(lx, name, options)
    }

    /// A list of strings.
    pub(crate) fn string_list(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<Vec<String>> {
        self.spanned_string_list(lx, name)
            .map(|items| items.into_iter().map(|item| item.node).collect())
    }

    /// A list of strings with their spans, and the span of the list.
    fn spanned_string_list(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
    ) -> Option<Vec<Spanned<String>>> {
        let value = self.take(name)?;
        let Value::List(items, _) = value else {
            Self::wrong_type(lx, name, value, "a list of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::String(string) => out.push(Spanned::new(string.value.clone(), string.span)),
                other => Self::wrong_type(lx, name, other, "a list of strings"),
            }
        }
        Some(out)
    }

    /// A non-negative integer.
    pub(crate) fn integer(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<u64> {
        let value = self.take(name)?;
        if let Value::Number(number) = value {
            if let Ok(parsed) = number.node.parse::<u64>() {
                return Some(parsed);
            }
        }
        Self::wrong_type(lx, name, value, "a whole number");
        None
    }

    /// A whole number within `min..=max`; out-of-range values are reported.
    pub(crate) fn ranged(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        min: u32,
        max: u32,
        unit: &str,
    ) -> Option<u32> {
        let span = self.span_of(name)?;
        // Negative numbers are whole numbers too: out of range, not of the wrong type.
        let value = match self.take(name)? {
            Value::Number(number) if number.node.parse::<i128>().is_ok() => {
                number.node.parse::<i128>().unwrap_or_default()
            }
            value => {
                Self::wrong_type(lx, name, value, "a whole number");
                return None;
            }
        };
        match u32::try_from(value) {
            Ok(value) if (min..=max).contains(&value) => Some(value),
            _ => {
                lx.report(
                    Diagnostic::new(
                        Code::OutOfRange,
                        span,
                        format!("`{name}` must be between {min} and {max}"),
                    )
                    .label(format!("{value} {unit}"))
                    .help(format!("set `{name}` to a value from {min} to {max}")),
                );
                None
            }
        }
    }

    /// A boolean.
    pub(crate) fn boolean(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(boolean) => Some(boolean.node),
            other => {
                Self::wrong_type(lx, name, other, "true or false");
                None
            }
        }
    }

    /// Reports every attribute nobody took, with a suggestion from `known`.
    pub(crate) fn finish(&mut self, lx: &mut Lowerer<'_>, known: &[&str]) {
        for (attribute, used) in &self.attrs {
            if *used {
                continue;
            }
            let name = &attribute.name.node;
            let help = if known.is_empty() {
                format!("`{}` takes no attributes", self.block)
            } else {
                join_help(
                    &did_you_mean(name, known.iter().copied()),
                    &format!("`{}` accepts {}", self.block, list(known)),
                )
            };
            lx.report(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    attribute.name.span,
                    format!("unknown attribute `{name}` in `{}`", self.block),
                )
                .label("not known here")
                .help(help),
            );
        }
        for (_, used) in &mut self.attrs {
            *used = true;
        }
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

fn lower_api(lx: &mut Lowerer<'_>, file: FileId, api: &ast::Api) -> Option<Api> {
    let api_name = api.name.node.as_str();
    let mut attrs = Attrs::new(lx, &api.items, api.name.span, format!("api {api_name}"));
    let comment = attrs.string(lx, "comment").map(|c| c.node);
    let database = attrs
        .string(lx, "database")
        .map_or_else(|| lx.config.database.clone(), |d| d.node);
    let schema = attrs
        .string(lx, "schema")
        .map_or_else(|| lx.config.schema.clone(), |s| s.node);
    let enabled = attrs.boolean(lx, "enabled").unwrap_or(true);
    let egress_value = attrs.take("egress");
    attrs.finish(lx, &["comment", "egress", "database", "schema", "enabled"]);

    let (egress, egress_span) = match egress_value {
        Some(Value::List(items, span)) => {
            let mut hosts = Vec::new();
            for item in items {
                match item {
                    Value::String(string) => {
                        hosts.push(Spanned::new(string.value.to_lowercase(), string.span))
                    }
                    other => Attrs::wrong_type(lx, "egress", other, "a list of strings"),
                }
            }
            (hosts, *span)
        }
        Some(other) => {
            Attrs::wrong_type(lx, "egress", other, "a list of strings");
            // The api name's span marks "no usable list", so `check` does not also call it empty.
            (Vec::new(), api.name.span)
        }
        None => {
            lx.report(
                Diagnostic::new(
                    Code::MissingAttribute,
                    api.name.span,
                    format!("api `{api_name}` has no `egress`"),
                )
                .label("needs `egress`")
                .help("list the hosts its handlers call: `egress = [\"api.example.com\"]`"),
            );
            (Vec::new(), api.name.span)
        }
    };

    let mut auth_block: Option<&ast::Auth> = None;
    let mut names_block: Option<&ast::Block> = None;
    for item in &api.items {
        match item {
            Item::Auth(auth) => {
                if let Some(first) = auth_block {
                    lx.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            auth.keyword,
                            format!("api `{api_name}` has two `auth` blocks"),
                        )
                        .label("second auth block")
                        .with_label(first.keyword, "first auth block")
                        .help("an api authenticates one way; keep one `auth` block"),
                    );
                } else {
                    auth_block = Some(auth);
                }
            }
            Item::Names(block) => {
                if names_block.is_some() {
                    misplaced(lx, item, "twice in one api", "merge the two `names` blocks");
                } else {
                    names_block = Some(block);
                }
            }
            Item::Request(_) | Item::Example(_) => misplaced(
                lx,
                item,
                "directly inside an api",
                "put it inside a `procedure` or `function` block",
            ),
            Item::Attribute(_) | Item::Secret(_) | Item::Action(_) | Item::Grant(_) => {}
        }
    }

    let names = lower_names(lx, api_name, names_block);
    let Some(auth_block) = auth_block else {
        lx.report(
            Diagnostic::new(Code::MissingAttribute, api.name.span, format!("api `{api_name}` has no `auth` block"))
                .label("needs `auth`")
                .help("add `auth none` for a public API, or one of `oauth2`, `pat`, `bearer`, `snowflake_pat`, `basic`, `api_key`"),
        );
        return None;
    };
    let auth = lower_auth(lx, auth_block)?;

    let mut secrets = auth_secrets(lx.config, api_name, auth.node.as_ref(), auth.span);
    for item in &api.items {
        if let Item::Secret(secret) = item {
            if let Some(secret) = lower_secret(lx, api_name, secret, &secrets) {
                secrets.push(secret);
            }
        }
    }

    let mut actions: Vec<Action> = Vec::new();
    let mut grants = Vec::new();
    for item in &api.items {
        match item {
            Item::Action(action) => {
                if let Some(first) = actions.iter().find(|a| a.name.node == action.name.node) {
                    lx.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            action.name.span,
                            format!(
                                "`{}` is defined twice in api `{api_name}`",
                                action.name.node
                            ),
                        )
                        .label("second definition")
                        .with_label(first.name.span, "first defined here")
                        .help("rename one of them"),
                    );
                    continue;
                }
                if let Some(action) =
                    lower_action(lx, api_name, action, &secrets, auth.node.as_ref())
                {
                    actions.push(action);
                }
            }
            Item::Grant(grant) => {
                if let Some(role) = lower_grant(lx, grant) {
                    grants.push(role);
                }
            }
            _ => {}
        }
    }

    Some(Api {
        name: api.name.clone(),
        file,
        comment,
        egress,
        egress_span,
        auth,
        secrets,
        actions,
        grants,
        database,
        schema,
        enabled,
        names,
    })
}

fn lower_names(lx: &mut Lowerer<'_>, api: &str, block: Option<&ast::Block>) -> ApiNames {
    let naming = &lx.config.naming;
    let default =
        |pattern: &str, span: Span| Spanned::new(Naming::fill(pattern, api, "", ""), span);
    let span = block.map_or(Span::default(), |block| block.keyword);
    let mut names = ApiNames {
        network_rule: default(&naming.network_rule, span),
        security_integration: default(&naming.security_integration, span),
        integration: default(&naming.integration, span),
    };
    if let Some(block) = block {
        for item in &block.items {
            if !matches!(item, Item::Attribute(_)) {
                misplaced(
                    lx,
                    item,
                    "inside `names`",
                    "`names` holds only `kind = \"NAME\"` attributes",
                );
            }
        }
        let mut attrs = Attrs::new(lx, &block.items, block.keyword, "names");
        if let Some(name) = attrs.string(lx, "network_rule") {
            names.network_rule = name;
        }
        if let Some(name) = attrs.string(lx, "security_integration") {
            names.security_integration = name;
        }
        if let Some(name) = attrs.string(lx, "integration") {
            names.integration = name;
        }
        attrs.finish(lx, &["network_rule", "security_integration", "integration"]);
    }
    names
}

fn lower_auth(lx: &mut Lowerer<'_>, auth: &ast::Auth) -> Option<Spanned<Box<dyn AuthMethod>>> {
    let kind = auth.kind.node.as_str();
    let Some((_, lower_kind)) = auth::KINDS.iter().find(|(name, _)| *name == kind) else {
        let names: Vec<&str> = auth::KINDS.iter().map(|(name, _)| *name).collect();
        lx.report(
            Diagnostic::new(
                Code::UnknownAuthKind,
                auth.kind.span,
                format!("unknown auth kind `{kind}`"),
            )
            .label("not an auth kind")
            .help(join_help(
                &did_you_mean(kind, names.iter().copied()),
                &format!("the kinds are {}", list(&names)),
            )),
        );
        return None;
    };
    for item in &auth.items {
        if !matches!(item, Item::Attribute(_)) {
            misplaced(lx, item, "inside `auth`", "`auth` holds only attributes");
        }
    }
    let mut attrs = Attrs::new(lx, &auth.items, auth.kind.span, format!("auth {kind}"));
    let method = lower_kind(&mut attrs, lx)?;
    Some(Spanned::new(method, auth.kind.span))
}

fn auth_secrets(config: &Config, api: &str, auth: &dyn AuthMethod, span: Span) -> Vec<Secret> {
    auth.secrets()
        .into_iter()
        .map(|secret| {
            let object = match secret.suffix {
                None => Naming::fill(&config.naming.secret, api, "", ""),
                Some(suffix) => Naming::fill(&config.naming.extra_secret, api, "", suffix),
            };
            Secret {
                object: Spanned::new(object, span),
                alias: secret.alias.to_string(),
                body: secret.body,
                span,
                from_auth: true,
            }
        })
        .collect()
}

fn lower_secret(
    lx: &mut Lowerer<'_>,
    api: &str,
    secret: &ast::Secret,
    existing: &[Secret],
) -> Option<Secret> {
    let name = &secret.name.node;
    if let Some(first) = existing.iter().find(|s| s.alias == *name) {
        let what = if first.from_auth {
            format!("the `auth` block already uses the alias `{name}`")
        } else {
            format!("secret `{name}` is defined twice")
        };
        lx.report(
            Diagnostic::new(Code::Duplicate, secret.name.span, what)
                .label("second definition")
                .with_label(first.span, "first defined here")
                .help("give the secret another name"),
        );
        return None;
    }
    for item in &secret.items {
        if !matches!(item, Item::Attribute(_)) {
            misplaced(
                lx,
                item,
                "inside `secret`",
                "`secret` holds only attributes",
            );
        }
    }
    let kind = secret.kind.node.as_str();
    let mut attrs = Attrs::new(
        lx,
        &secret.items,
        secret.kind.span,
        format!("secret {name} {kind}"),
    );
    let body = match kind {
        "password" => {
            let username = attrs.required_secret_value(lx, "username", false);
            let password = attrs.required_secret_value(lx, "password", true);
            attrs.finish(lx, &["username", "password"]);
            SecretBody::Password {
                username: username?.node,
                password: password?.node,
            }
        }
        "generic_string" => {
            let value = attrs.required_secret_value(lx, "value", true);
            attrs.finish(lx, &["value"]);
            SecretBody::GenericString { value: value?.node }
        }
        other => {
            let kinds = ["password", "generic_string"];
            lx.report(
                Diagnostic::new(
                    Code::UnknownSecretType,
                    secret.kind.span,
                    format!("unknown secret type `{other}`"),
                )
                .label("not a secret type")
                .help(join_help(
                    &did_you_mean(other, kinds),
                    "the types are `password` and `generic_string`",
                )),
            );
            return None;
        }
    };
    Some(Secret {
        object: Spanned::new(
            Naming::fill(&lx.config.naming.extra_secret, api, "", name),
            secret.name.span,
        ),
        alias: name.clone(),
        body,
        span: secret.name.span,
        from_auth: false,
    })
}

fn lower_grant(lx: &mut Lowerer<'_>, grant: &ast::Grant) -> Option<Spanned<String>> {
    if grant.privilege.node != "usage" {
        lx.report(
            Diagnostic::new(
                Code::UnknownEnumValue,
                grant.privilege.span,
                format!("eaxc grants `usage`, not `{}`", grant.privilege.node),
            )
            .label("unknown privilege")
            .help("write `grant usage to role NAME`"),
        );
        return None;
    }
    Some(match &grant.role {
        ast::Role::Word(word) => Spanned::new(word.node.to_uppercase(), word.span),
        ast::Role::Quoted(string) => Spanned::new(string.value.clone(), string.span),
    })
}

/// Snowflake's limit on the arguments of a scalar UDF.
const MAX_FUNCTION_PARAMS: usize = 500;

const ACTION_ATTRIBUTES: &[&str] = &[
    "comment",
    "packages",
    "handler",
    "runtime",
    "execute_as",
    "secure",
    "timeout",
    "retries",
    "idempotent",
    "on_error",
    "secrets",
];

fn lower_action(
    lx: &mut Lowerer<'_>,
    api: &str,
    action: &ast::Action,
    secrets: &[Secret],
    auth: &dyn AuthMethod,
) -> Option<Action> {
    let kind = if action.keyword.node == "procedure" {
        ActionKind::Procedure
    } else {
        ActionKind::Function
    };
    let name = &action.name.node;
    let mut ok = true;
    let mut params: Vec<Param> = Vec::new();
    for param in &action.params {
        if let Some(first) = params.iter().find(|p| p.name.node == param.name.node) {
            lx.report(
                Diagnostic::new(
                    Code::Duplicate,
                    param.name.span,
                    format!("parameter `{}` is declared twice", param.name.node),
                )
                .label("second declaration")
                .with_label(first.name.span, "first declared here")
                .help("rename one of them"),
            );
            ok = false;
            continue;
        }
        let errors_before = lx.diagnostics.len();
        match lower_param(lx, param) {
            Some(param) => params.push(param),
            None => ok = false,
        }
        if lx.diagnostics[errors_before..]
            .iter()
            .any(Diagnostic::is_error)
        {
            ok = false;
        }
    }
    let returns = lower_type(lx, &action.returns);
    if kind == ActionKind::Function && action.params.len() > MAX_FUNCTION_PARAMS {
        lx.report(
            Diagnostic::new(
                Code::TooManyParameters,
                action.name.span,
                format!("`{name}` has {} parameters", action.params.len()),
            )
            .label(format!("more than {MAX_FUNCTION_PARAMS}"))
            .help(
                "Snowflake scalar functions take at most 500 arguments; pass an `object` instead",
            ),
        );
        ok = false;
    }

    let mut attrs = Attrs::new(
        lx,
        &action.items,
        action.name.span,
        format!("{} {name}", kind.word()),
    );
    let comment = attrs.string(lx, "comment").map(|c| c.node);
    let packages = attrs.string_list(lx, "packages").unwrap_or_default();
    let runtime = attrs
        .string(lx, "runtime")
        .unwrap_or_else(|| Spanned::new(lx.config.runtime.clone(), action.name.span));
    let execute_as = if kind == ActionKind::Procedure {
        attrs.enumeration(
            lx,
            "execute_as",
            &[
                ("owner", ExecuteAs::Owner),
                ("caller", ExecuteAs::Caller),
                ("restricted_caller", ExecuteAs::RestrictedCaller),
            ],
        )
    } else {
        None
    }
    .unwrap_or(ExecuteAs::Owner);
    let secure = attrs.boolean(lx, "secure").unwrap_or(false);
    let timeout = attrs.ranged(lx, "timeout", 1, 600, "seconds").unwrap_or(30);
    let retries = attrs.ranged(lx, "retries", 0, 10, "retries").unwrap_or(3);
    let idempotent = attrs.boolean(lx, "idempotent");
    let on_error = attrs
        .enumeration(
            lx,
            "on_error",
            &[("raise", OnError::Raise), ("return", OnError::Return)],
        )
        .unwrap_or(OnError::Raise);
    let handler = attrs.take("handler");
    let chosen_secrets = attrs.spanned_string_list(lx, "secrets");
    if let (None, Some(chosen)) = (&handler, &chosen_secrets) {
        let span = chosen
            .first()
            .map_or(action.name.span, |secret| secret.span);
        lx.report(
            Diagnostic::new(
                Code::UnknownAttribute,
                span,
                "`secrets` only applies to hand-written handlers",
            )
            .label("a generated handler attaches the secrets it reads")
            .help("remove `secrets`; the request's auth and `secret.NAME` references decide"),
        );
    }
    if handler.is_some() {
        for generated_only in ["timeout", "retries", "idempotent", "on_error"] {
            if let Some(span) = attrs.span_of(generated_only) {
                lx.report(
                    Diagnostic::new(
                        Code::UnknownAttribute,
                        span,
                        format!("`{generated_only}` only applies to generated handlers"),
                    )
                    .label("a hand-written handler ignores it")
                    .help(format!(
                        "remove `{generated_only}`, or handle it in the handler file"
                    )),
                );
            }
        }
    }
    if kind == ActionKind::Function {
        if let Some(value) = attrs.take("execute_as") {
            lx.report(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    value.span(),
                    "a function has no `execute_as`",
                )
                .label("only procedures run as owner or caller")
                .help("remove `execute_as`, or make this a `procedure`"),
            );
        }
    }
    let known: Vec<&str> = ACTION_ATTRIBUTES
        .iter()
        .copied()
        .filter(|attribute| kind == ActionKind::Procedure || *attribute != "execute_as")
        .collect();
    attrs.finish(lx, &known);

    let mut requests = Vec::new();
    let mut grants = Vec::new();
    let mut examples = Vec::new();
    for item in &action.items {
        match item {
            Item::Request(request) => requests.push(request),
            Item::Grant(grant) => {
                if let Some(role) = lower_grant(lx, grant) {
                    grants.push(role);
                }
            }
            Item::Example(block) => {
                if let Some(example) = lower_example(lx, block) {
                    examples.push(example);
                }
            }
            Item::Attribute(_) => {}
            other => misplaced(
                lx,
                other,
                &format!("inside a {}", kind.word()),
                "a procedure or function holds attributes, one `request`, `grant`s and `example`s",
            ),
        }
    }

    let mut used_aliases = Vec::new();
    let body = match (handler, requests.as_slice()) {
        (Some(handler), []) => ActionBody::Handler(lower_handler(lx, handler)?),
        (None, [request]) => ActionBody::Request(Box::new(lower_request(
            lx,
            request,
            &params,
            secrets,
            &mut used_aliases,
        )?)),
        (Some(handler), [request, ..]) => {
            lx.report(
                Diagnostic::new(
                    Code::ActionBody,
                    request.keyword,
                    format!("`{name}` has both a `request` and a `handler`"),
                )
                .label("generated handler")
                .with_label(handler.span(), "hand-written handler")
                .help("keep `request` to generate the handler, or `handler` to write it yourself"),
            );
            return None;
        }
        (None, [_, second, ..]) => {
            lx.report(
                Diagnostic::new(Code::ActionBody, second.keyword, format!("`{name}` has more than one `request`"))
                    .label("second request")
                    .help("a generated handler sends one request; write a hand-written `handler` for more"),
            );
            return None;
        }
        (None, []) => {
            lx.report(
                Diagnostic::new(
                    Code::ActionBody,
                    action.name.span,
                    format!("`{name}` has neither a `request` nor a `handler`"),
                )
                .label("nothing to run")
                .help(
                    "add `request METHOD \"https://...\"` or `handler = file(\"handlers/x.py\")`",
                ),
            );
            return None;
        }
    };

    // A generated handler gets the secrets its auth kind applies plus those it references; a
    // hand-written one gets every secret of the api (unused ones are reported by `check`).
    // `secrets = [...]` narrows a hand-written handler to the secrets it reads.
    let attached: Vec<usize> = match &body {
        ActionBody::Handler(_) => match &chosen_secrets {
            None => (0..secrets.len()).collect(),
            Some(chosen) => {
                let mut attached = Vec::new();
                for alias in chosen {
                    match secrets.iter().position(|s| s.alias == alias.node) {
                        Some(index) if !attached.contains(&index) => attached.push(index),
                        Some(_) => {}
                        None => {
                            let names: Vec<&str> =
                                secrets.iter().map(|s| s.alias.as_str()).collect();
                            lx.report(
                                Diagnostic::new(
                                    Code::UnknownSecret,
                                    alias.span,
                                    format!("no secret named `{}`", alias.node),
                                )
                                .label("unknown secret")
                                .help(join_help(
                                    &did_you_mean(&alias.node, names.iter().copied()),
                                    &format!("the secrets of this api are {}", list(&names)),
                                )),
                            );
                            ok = false;
                        }
                    }
                }
                attached.sort_unstable();
                attached
            }
        },
        ActionBody::Request(_) => secrets
            .iter()
            .enumerate()
            .filter(|(_, secret)| {
                (secret.from_auth && auth.apply().is_ok()) || used_aliases.contains(&secret.alias)
            })
            .map(|(index, _)| index)
            .collect(),
    };

    if !ok {
        return None;
    }
    Some(Action {
        kind,
        name: action.name.clone(),
        object: Spanned::new(
            Naming::fill(&lx.config.naming.action, api, name, ""),
            action.name.span,
        ),
        params,
        returns: returns?,
        comment,
        packages,
        runtime,
        execute_as,
        secure,
        timeout,
        retries,
        idempotent: idempotent.unwrap_or(false),
        on_error,
        body,
        secrets: attached,
        grants,
        examples,
        span: action.span,
    })
}

fn lower_param(lx: &mut Lowerer<'_>, param: &ast::Param) -> Option<Param> {
    let data_type = lower_type(lx, &param.data_type);
    let allowed = match &param.allowed {
        None => Vec::new(),
        Some(Value::List(items, span)) => {
            if items.is_empty() {
                lx.report(
                    Diagnostic::new(
                        Code::OutOfRange,
                        *span,
                        format!("`{}` allows no value at all", param.name.node),
                    )
                    .label("empty list")
                    .help("list the values the parameter accepts, or remove `in []`"),
                );
            }
            items
                .iter()
                .filter_map(|item| literal(lx, item, "`in`"))
                .collect()
        }
        Some(other) => {
            Attrs::wrong_type(lx, "in", other, "a list of values");
            Vec::new()
        }
    };
    let default = match &param.default {
        None => None,
        Some(value) => Some(literal(lx, value, "a default")?),
    };
    // An unknown type was reported; keep the parameter (as VARIANT) so that references to it
    // do not cascade into "unknown parameter" errors. The caller drops the action.
    let data_type = data_type.unwrap_or(DataType {
        name: "VARIANT".into(),
        args: Vec::new(),
        family: TypeFamily::Semi,
        span: param.data_type.span,
    });
    Some(Param {
        name: param.name.clone(),
        data_type,
        allowed,
        default,
        span: param.span,
    })
}

/// A literal value (string, number, boolean, null); anything else is reported.
fn literal(lx: &mut Lowerer<'_>, value: &Value, place: &str) -> Option<Spanned<Literal>> {
    let literal = match value {
        Value::String(string) => Literal::String(string.value.clone()),
        Value::Number(number) => Literal::Number(number.node.clone()),
        Value::Bool(boolean) => Literal::Bool(boolean.node),
        Value::Null(_) => Literal::Null,
        other => {
            lx.report(
                Diagnostic::new(
                    Code::WrongType,
                    other.span(),
                    format!("{place} must be a literal, found {}", other.kind()),
                )
                .label("not a literal")
                .help("write a string, number, true, false or null"),
            );
            return None;
        }
    };
    Some(Spanned::new(literal, value.span()))
}

/// Snowflake types eaxc accepts: the name as written (lower case), the family, and how many
/// arguments the type may take.
const TYPES: &[(&str, TypeFamily, usize)] = &[
    ("varchar", TypeFamily::Text, 1),
    ("string", TypeFamily::Text, 1),
    ("text", TypeFamily::Text, 1),
    ("char", TypeFamily::Text, 1),
    ("number", TypeFamily::Number, 2),
    ("numeric", TypeFamily::Number, 2),
    ("decimal", TypeFamily::Number, 2),
    ("int", TypeFamily::Number, 0),
    ("integer", TypeFamily::Number, 0),
    ("bigint", TypeFamily::Number, 0),
    ("smallint", TypeFamily::Number, 0),
    ("float", TypeFamily::Number, 0),
    ("double", TypeFamily::Number, 0),
    ("real", TypeFamily::Number, 0),
    ("boolean", TypeFamily::Boolean, 0),
    ("variant", TypeFamily::Semi, 0),
    ("object", TypeFamily::Semi, 0),
    ("array", TypeFamily::Semi, 0),
    ("date", TypeFamily::Time, 0),
    ("time", TypeFamily::Time, 1),
    ("timestamp", TypeFamily::Time, 1),
    ("timestamp_ntz", TypeFamily::Time, 1),
    ("timestamp_ltz", TypeFamily::Time, 1),
    ("timestamp_tz", TypeFamily::Time, 1),
    ("binary", TypeFamily::Binary, 1),
];

fn lower_type(lx: &mut Lowerer<'_>, data_type: &ast::DataType) -> Option<DataType> {
    let written = data_type.name.node.to_lowercase();
    let Some((name, family, max_args)) = TYPES.iter().find(|(name, _, _)| *name == written) else {
        lx.report(
            Diagnostic::new(
                Code::UnknownDataType,
                data_type.name.span,
                format!("unknown data type `{}`", data_type.name.node),
            )
            .label("not a supported Snowflake type")
            .help(join_help(
                &did_you_mean(&written, TYPES.iter().map(|(name, _, _)| *name)),
                "use a Snowflake type such as `varchar`, `number`, `boolean` or `variant`",
            )),
        );
        return None;
    };
    if data_type.args.len() > *max_args {
        lx.report(
            Diagnostic::new(
                Code::UnknownDataType,
                data_type.span,
                format!("`{name}` takes at most {max_args} argument(s)"),
            )
            .label("too many arguments")
            .help(format!(
                "write `{name}` without arguments or with at most {max_args}"
            )),
        );
        return None;
    }
    // Lengths, precisions and scales are whole numbers in Snowflake's ranges.
    // <https://docs.snowflake.com/en/sql-reference/intro-summary-data-types>
    let limits: &[(u64, u64)] = match family {
        TypeFamily::Text | TypeFamily::Binary => &[(1, 134_217_728)],
        TypeFamily::Number => &[(1, 38), (0, 37)],
        _ => &[(0, 9)],
    };
    for (arg, (min, max)) in data_type.args.iter().zip(limits) {
        let value = arg
            .node
            .parse::<u64>()
            .ok()
            .filter(|v| (*min..=*max).contains(v));
        if value.is_none() {
            lx.report(
                Diagnostic::new(
                    Code::OutOfRange,
                    arg.span,
                    format!("`{}` is not a valid argument of `{name}`", arg.node),
                )
                .label(format!("expected a whole number from {min} to {max}"))
                .help(format!(
                    "write `{name}` with a whole number from {min} to {max}, or without arguments"
                )),
            );
            return None;
        }
    }
    if let [precision, scale] = data_type.args.as_slice() {
        if scale.node.parse::<u64>().unwrap_or(0) > precision.node.parse::<u64>().unwrap_or(0) {
            lx.report(
                Diagnostic::new(
                    Code::OutOfRange,
                    scale.span,
                    "the scale is larger than the precision",
                )
                .label("scale")
                .with_label(precision.span, "precision")
                .help("the scale (digits after the point) must not exceed the precision"),
            );
            return None;
        }
    }
    Some(DataType {
        name: name.to_uppercase(),
        args: data_type.args.iter().map(|arg| arg.node.clone()).collect(),
        family: *family,
        span: data_type.span,
    })
}

fn lower_example(lx: &mut Lowerer<'_>, block: &ast::Block) -> Option<Example> {
    let mut args: Vec<(Spanned<String>, Spanned<Literal>)> = Vec::new();
    for item in &block.items {
        let Item::Attribute(attribute) = item else {
            misplaced(
                lx,
                item,
                "inside `example`",
                "`example` holds only `parameter = value` lines",
            );
            continue;
        };
        if let Some((first, _)) = args
            .iter()
            .find(|(name, _)| name.node == attribute.name.node)
        {
            lx.report(
                Diagnostic::new(
                    Code::Duplicate,
                    attribute.name.span,
                    format!("`{}` is given twice", attribute.name.node),
                )
                .label("given again here")
                .with_label(first.span, "first given here")
                .help("remove one of them"),
            );
            continue;
        }
        if let Some(value) = literal(lx, &attribute.value, "an example value") {
            args.push((attribute.name.clone(), value));
        }
    }
    Some(Example {
        args,
        span: block.span,
    })
}

fn lower_handler(lx: &mut Lowerer<'_>, value: &Value) -> Option<HandlerFile> {
    let Value::File(path, span) = value else {
        Attrs::wrong_type(lx, "handler", value, "file(\"path\")");
        return None;
    };
    let spec = lx.sources.get(span.file).name.clone();
    match lx.loader.load(&spec, &path.value) {
        Ok((name, text)) => Some(HandlerFile {
            path: path.value.clone(),
            file: lx.sources.add(name, text),
            span: *span,
        }),
        Err(reason) => {
            lx.report(
                Diagnostic::new(
                    Code::FileNotFound,
                    path.span,
                    format!("cannot read `{}`: {reason}", path.value),
                )
                .label("this file")
                .help("the path is relative to the spec's directory"),
            );
            None
        }
    }
}

/// Reports keys given twice in one object (ignoring case when `fold_case`).
fn duplicate_keys(lx: &mut Lowerer<'_>, entries: &[(Spanned<String>, Value)], fold_case: bool) {
    let normal = |key: &str| {
        if fold_case {
            key.to_ascii_lowercase()
        } else {
            key.to_string()
        }
    };
    for (index, (key, _)) in entries.iter().enumerate() {
        if let Some((first, _)) = entries[..index]
            .iter()
            .find(|(k, _)| normal(&k.node) == normal(&key.node))
        {
            lx.report(
                Diagnostic::new(
                    Code::Duplicate,
                    key.span,
                    format!("`{}` is given twice", key.node),
                )
                .label("given again here")
                .with_label(first.span, "first given here")
                .help("remove one of them; only one value can be sent"),
            );
        }
    }
}

/// Reports a header name that is not an HTTP token (RFC 9110 §5.6.2) or a literal value with a
/// line break, which would let a spec inject headers.
pub(crate) fn check_header(lx: &mut Lowerer<'_>, key: &Spanned<String>, value: Option<&Value>) {
    let token = !key.node.is_empty()
        && key
            .node
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c));
    if !token {
        lx.report(
            Diagnostic::new(
                Code::BadHeader,
                key.span,
                format!("`{}` is not a valid header name", key.node),
            )
            .label("not an HTTP token")
            .help("header names use letters, digits and `-` (e.g. `X-API-Key`); no spaces or `:`"),
        );
    }
    if let Some(Value::String(string)) = value {
        if string.value.contains(['\r', '\n']) {
            lx.report(
                Diagnostic::new(
                    Code::BadHeader,
                    string.span,
                    format!("the value of header `{}` contains a line break", key.node),
                )
                .label("line break")
                .help("remove the line break; a header value is one line"),
            );
        }
    }
}

const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

fn lower_request(
    lx: &mut Lowerer<'_>,
    request: &ast::Request,
    params: &[Param],
    secrets: &[Secret],
    used_aliases: &mut Vec<String>,
) -> Option<Request> {
    let method = request.method.node.to_uppercase();
    let method_ok = METHODS.contains(&method.as_str());
    if !method_ok {
        lx.report(
            Diagnostic::new(
                Code::UnknownMethod,
                request.method.span,
                format!("unknown HTTP method `{}`", request.method.node),
            )
            .label("not a method")
            .help(join_help(
                &did_you_mean(&method, METHODS.iter().copied()),
                &format!("the methods are {}", list(METHODS)),
            )),
        );
    }
    let url = lower_url(lx, &request.url, params);
    let mut attrs = Attrs::new(lx, &request.items, request.keyword, "request");
    let mut resolver = ExprResolver {
        params,
        secrets,
        used_aliases,
        ok: true,
    };
    let json = attrs.take("json").map(|value| {
        if method == "GET" || method == "HEAD" {
            lx.report(
                Diagnostic::new(
                    Code::BodyIgnored,
                    value.span(),
                    format!("a {method} request with a JSON body"),
                )
                .label("many servers and proxies drop this body")
                .help("send the values as `query = { ... }`, or use POST"),
            );
        }
        resolver.expr(lx, value)
    });
    let query = attrs
        .take("query")
        .map(|value| resolver.entries(lx, "query", value));
    let headers = attrs
        .take("headers")
        .map(|value| resolver.entries(lx, "headers", value));
    attrs.finish(lx, &["json", "query", "headers"]);
    for item in &request.items {
        if !matches!(item, Item::Attribute(_)) {
            misplaced(
                lx,
                item,
                "inside `request`",
                "`request` holds `json`, `query` and `headers`",
            );
        }
    }
    if !resolver.ok || !method_ok {
        return None;
    }
    Some(Request {
        method,
        url: url?,
        query: query.unwrap_or_default(),
        headers: headers.unwrap_or_default(),
        json,
        span: request.span,
    })
}

/// Splits `text` at `{param}` placeholders; `{{` and `}}` stand for literal braces.
fn template(lx: &mut Lowerer<'_>, string: &ast::StringLit, params: &[Param]) -> Option<Vec<Piece>> {
    let text = &string.value;
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut ok = true;
    let mut index = 0;
    let bytes = text.as_bytes();
    while index < text.len() {
        let rest = &text[index..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push_str(&rest[..1]);
            index += 2;
        } else if bytes[index] == b'{' {
            let Some(close) = rest.find('}') else {
                lx.report(
                    Diagnostic::new(
                        Code::BadTemplate,
                        string.span_of(index, 1),
                        "`{` is never closed",
                    )
                    .label("opened here")
                    .help("write `{name}` to insert a parameter, or `{{` for a literal brace"),
                );
                return None;
            };
            let name = &rest[1..close];
            let span = string.span_of(index, close + 1);
            if let Some(param) = params.iter().find(|param| param.name.node == name) {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Param(Spanned::new(param.name.node.clone(), span)));
            } else {
                ok = false;
                unknown_parameter(lx, name, span, params);
            }
            index += close + 1;
        } else if bytes[index] == b'}' {
            lx.report(
                Diagnostic::new(
                    Code::BadTemplate,
                    string.span_of(index, 1),
                    "`}` without a matching `{`",
                )
                .label("unmatched")
                .help("write `}}` for a literal closing brace"),
            );
            return None;
        } else {
            let c = rest.chars().next().expect("non-empty");
            literal.push(c);
            index += c.len_utf8();
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    ok.then_some(pieces)
}

fn unknown_parameter(lx: &mut Lowerer<'_>, name: &str, span: Span, params: &[Param]) {
    let names: Vec<&str> = params
        .iter()
        .map(|param| param.name.node.as_str())
        .collect();
    let help = if names.is_empty() {
        "this action declares no parameters".to_string()
    } else {
        join_help(
            &did_you_mean(name, names.iter().copied()),
            &format!("the parameters are {}", list(&names)),
        )
    };
    lx.report(
        Diagnostic::new(
            Code::UnknownParameter,
            span,
            format!("`{name}` is not a parameter"),
        )
        .label("unknown parameter")
        .help(help),
    );
}

fn lower_url(lx: &mut Lowerer<'_>, string: &ast::StringLit, params: &[Param]) -> Option<Url> {
    let pieces = template(lx, string, params)?;
    // Split the pieces at the first `://`, then the first `/` or `?`, then the first `?`.
    let Some(Piece::Text(first)) = pieces.first() else {
        return bad_url(lx, string);
    };
    let Some((scheme, after)) = first.split_once("://") else {
        return bad_url(lx, string);
    };
    let scheme = scheme.to_lowercase();
    if scheme != "https" && scheme != "http" {
        return bad_url(lx, string);
    }
    let mut rest = Vec::new();
    if !after.is_empty() {
        rest.push(Piece::Text(after.to_string()));
    }
    rest.extend(pieces[1..].iter().cloned());
    let (authority, rest) = split_pieces(rest, &['/', '?']);
    let (path, query) = split_pieces(rest, &['?']);
    let query = match query.first() {
        Some(Piece::Text(text)) if text.starts_with('?') => {
            let mut query = query.clone();
            query[0] = Piece::Text(text[1..].to_string());
            query.retain(|piece| piece != &Piece::Text(String::new()));
            query
        }
        _ => query,
    };
    if authority.is_empty() {
        return bad_url(lx, string);
    }
    if let [Piece::Text(literal)] = authority.as_slice() {
        let port = literal.rsplit_once(':').map(|(_, port)| port);
        let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
        if literal.contains('@') || !port_ok || literal.starts_with(':') {
            lx.report(
                Diagnostic::new(
                    Code::BadTemplate,
                    string.span,
                    format!("`{literal}` is not a valid host with an optional port"),
                )
                .label("bad host or port")
                .help("write `https://host/path` or `https://host:PORT/path` with PORT from 1 to 65535, without user information"),
            );
            return None;
        }
    }
    Some(Url {
        scheme,
        authority,
        path,
        query,
        span: string.span,
    })
}

fn bad_url(lx: &mut Lowerer<'_>, string: &ast::StringLit) -> Option<Url> {
    lx.report(
        Diagnostic::new(Code::BadTemplate, string.span, format!("`{}` is not an http(s) URL", string.value))
            .label("expected `https://host/path`")
            .help("write the full URL starting with `https://`; `{param}` may stand for the host or parts of the path"),
    );
    None
}

/// Splits pieces before the first literal character in `stops`; the stop stays in the second half.
fn split_pieces(pieces: Vec<Piece>, stops: &[char]) -> (Vec<Piece>, Vec<Piece>) {
    let mut before = Vec::new();
    let mut iter = pieces.into_iter();
    for piece in iter.by_ref() {
        match piece {
            Piece::Text(text) => {
                if let Some(at) = text.find(stops) {
                    if at > 0 {
                        before.push(Piece::Text(text[..at].to_string()));
                    }
                    let mut after = vec![Piece::Text(text[at..].to_string())];
                    after.extend(iter);
                    return (before, after);
                }
                before.push(Piece::Text(text));
            }
            param => before.push(param),
        }
    }
    (before, Vec::new())
}

struct ExprResolver<'p> {
    params: &'p [Param],
    secrets: &'p [Secret],
    used_aliases: &'p mut Vec<String>,
    ok: bool,
}

impl ExprResolver<'_> {
    fn entries(&mut self, lx: &mut Lowerer<'_>, name: &str, value: &Value) -> Vec<(String, Expr)> {
        let Value::Object(entries, _) = value else {
            Attrs::wrong_type(lx, name, value, "an object `{ key = value }`");
            self.ok = false;
            return Vec::new();
        };
        if name == "headers" {
            for (key, value) in entries {
                check_header(lx, key, Some(value));
            }
        }
        // Header names are case-insensitive (RFC 9110 §5.1).
        duplicate_keys(lx, entries, name == "headers");
        entries
            .iter()
            .map(|(key, value)| (key.node.clone(), self.expr(lx, value)))
            .collect()
    }

    fn expr(&mut self, lx: &mut Lowerer<'_>, value: &Value) -> Expr {
        match value {
            Value::String(string) => match template(lx, string, self.params) {
                Some(pieces) if pieces.iter().any(|piece| matches!(piece, Piece::Param(_))) => {
                    Expr::Template(pieces)
                }
                Some(pieces) => Expr::Literal(Literal::String(
                    pieces
                        .into_iter()
                        .map(|piece| match piece {
                            Piece::Text(text) => text,
                            Piece::Param(_) => unreachable!("no parameters"),
                        })
                        .collect(),
                )),
                None => self.fail(),
            },
            Value::Number(number) => Expr::Literal(Literal::Number(number.node.clone())),
            Value::Bool(boolean) => Expr::Literal(Literal::Bool(boolean.node)),
            Value::Null(_) => Expr::Literal(Literal::Null),
            Value::Word(word) => {
                if self.params.iter().any(|param| param.name.node == word.node) {
                    Expr::Param(word.clone())
                } else {
                    unknown_parameter(lx, &word.node, word.span, self.params);
                    self.fail()
                }
            }
            Value::SecretRef { secret, field, .. } => self.secret(lx, secret, field),
            Value::List(items, _) => {
                Expr::List(items.iter().map(|item| self.expr(lx, item)).collect())
            }
            Value::Object(entries, _) => {
                duplicate_keys(lx, entries, false);
                Expr::Object(
                    entries
                        .iter()
                        .map(|(key, value)| (key.node.clone(), self.expr(lx, value)))
                        .collect(),
                )
            }
            Value::Env(_, span) | Value::File(_, span) => {
                lx.report(
                    Diagnostic::new(
                        Code::WrongType,
                        *span,
                        format!("{} cannot be used inside a request", value.kind()),
                    )
                    .label("not allowed here")
                    .help("declare a `secret` in the api and read it with `secret.NAME.field`"),
                );
                self.fail()
            }
        }
    }

    fn secret(
        &mut self,
        lx: &mut Lowerer<'_>,
        secret: &Spanned<String>,
        field: &Spanned<String>,
    ) -> Expr {
        let Some(found) = self.secrets.iter().find(|s| s.alias == secret.node) else {
            let names: Vec<&str> = self.secrets.iter().map(|s| s.alias.as_str()).collect();
            lx.report(
                Diagnostic::new(Code::UnknownSecret, secret.span, format!("no secret named `{}`", secret.node))
                    .label("unknown secret")
                    .help(if names.is_empty() {
                        "declare it in the api: `secret NAME password { username = ..., password = env(\"...\") }`".to_string()
                    } else {
                        join_help(&did_you_mean(&secret.node, names.iter().copied()), &format!("the secrets are {}", list(&names)))
                    }),
            );
            return self.fail();
        };
        let fields: &[&str] = match found.body {
            SecretBody::Password { .. } => &["username", "password"],
            SecretBody::GenericString { .. } => &["value"],
            SecretBody::OAuthClientCredentials { .. }
            | SecretBody::OAuthAuthorizationCode { .. } => &["access_token"],
        };
        if !fields.contains(&field.node.as_str()) {
            lx.report(
                Diagnostic::new(
                    Code::UnknownSecret,
                    field.span,
                    format!("secret `{}` has no field `{}`", secret.node, field.node),
                )
                .label("unknown field")
                .help(join_help(
                    &did_you_mean(&field.node, fields.iter().copied()),
                    &format!("its fields are {}", list(fields)),
                )),
            );
            return self.fail();
        }
        if !self.used_aliases.contains(&found.alias) {
            self.used_aliases.push(found.alias.clone());
        }
        Expr::Secret {
            alias: found.alias.clone(),
            accessor: found.body.accessor(),
            field: field.node.clone(),
        }
    }

    fn fail(&mut self) -> Expr {
        self.ok = false;
        Expr::Literal(Literal::Null)
    }
}
