//! The view model of a generated handler (`templates/handler.py.j2`), for an action with a
//! `request`: the checks on its arguments (required, allowed values, a host against egress),
//! the URL, the Python of its query, headers and JSON body, and which helpers and imports that
//! code needs, so that a handler holds nothing it does not use.

use minijinja::{context, Value};

use super::{python, Renderer};
use crate::diagnostic::Diagnostic;
use crate::model::{Action, ActionKind, Api, OnError, Piece, Request, TypeFamily};
use crate::templating;

impl Renderer<'_> {
    /// The handler file of `action`, which sends `request`.
    pub(super) fn handler(
        &self,
        api: &Api,
        action: &Action,
        request: &Request,
    ) -> Result<String, Diagnostic> {
        let apply = api.auth.apply().unwrap_or_default();
        let host_check = host_check(request);
        let url = url(request, host_check.is_some());
        let code = RequestCode::new(request);
        let helpers = Helpers::new(action, request, &code);
        let imports = imports(action, &helpers, &apply.imports);
        // Whether a request that may have reached the server may be sent again.
        let idempotent_method = matches!(
            request.method.as_str(),
            "GET" | "HEAD" | "PUT" | "DELETE" | "OPTIONS"
        );
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
                uses_secrets => !action.secrets.is_empty(),
                egress => egress,
                timeout => action.timeout,
                retries => action.retries,
                retry_sent => idempotent_method || action.idempotent,
                idempotent_attribute => action.idempotent && !idempotent_method,
                signature => signature(action).join(", "),
                args => action.params.iter().map(|param| param.name.node.clone()).collect::<Vec<_>>(),
                required => required(action, request),
                allowed => allowed(action),
                host_check => host_check,
                url => url,
                query => code.query,
                headers => code.headers,
                json => code.json,
                uses_header_params => helpers.uses_header_params,
                uses_named => helpers.uses_named,
                uses_text => helpers.uses_text,
                uses_json => helpers.uses_json,
                text_json => helpers.text_json,
                text_binary => helpers.text_binary,
                text_time => helpers.text_time,
                method => request.method.clone(),
                uses_path => helpers.uses_path,
                uses_query_template => helpers.uses_query_template,
                on_error_return => action.on_error == OnError::Return,
                returns_json => helpers.returns_json,
                auth_lines => apply.lines,
            },
        )
    }
}

/// The handler function's parameters: the Snowpark session first for a procedure, then the
/// action's parameters.
fn signature(action: &Action) -> Vec<&str> {
    let mut signature: Vec<&str> = Vec::new();
    if action.kind == ActionKind::Procedure {
        signature.push("session");
    }
    signature.extend(action.params.iter().map(|param| param.name.node.as_str()));
    signature
}

/// The parameters the handler refuses null, in parameter order: those without a default, and
/// those in the host or the path, which cannot be empty either.
fn required(action: &Action, request: &Request) -> Vec<String> {
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
    action
        .params
        .iter()
        .map(|param| param.name.node.clone())
        .filter(|name| required.contains(name))
        .collect()
}

/// Each parameter with `allowed` values, and those values as a Python tuple.
fn allowed(action: &Action) -> Vec<(String, String)> {
    action
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
        .collect()
}

/// When a parameter is in the request's host: the check of the host and port the arguments
/// make against egress (the parameters' names, the expression, the port when none is given).
fn host_check(request: &Request) -> Option<Value> {
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
    (!host_names.is_empty()).then(|| {
        context! {
            names => host_names.join(", "),
            expr => host_check_expr(request),
            port => default_port,
        }
    })
}

/// The Python expression of a request's host and port, when a parameter is in it.
fn host_check_expr(request: &Request) -> String {
    python::template(&request.url.authority, |name| {
        format!("_text({})", python::arg(name))
    })
}

/// The request's URL as a Python expression: literal text and code, adjacent literals
/// merged. With `host_checked`, the host and port are the `authority` the check made.
fn url(request: &Request, host_checked: bool) -> String {
    let mut url_parts: Vec<UrlPart> = vec![UrlPart::Text(format!("{}://", request.url.scheme))];
    let path_param = |name: &str| UrlPart::Code(python::checked("_path", name));
    let query_param = |name: &str| UrlPart::Code(python::checked("_quote", name));
    let pieces = |pieces: &[Piece], parts: &mut Vec<UrlPart>, param: &dyn Fn(&str) -> UrlPart| {
        for piece in pieces {
            parts.push(match piece {
                Piece::Text(text) => UrlPart::Text(text.clone()),
                Piece::Param(name) => param(name),
            });
        }
    };
    if host_checked {
        url_parts.push(UrlPart::Code("authority".into()));
    } else {
        pieces(&request.url.authority, &mut url_parts, &path_param);
    }
    pieces(&request.url.path, &mut url_parts, &path_param);
    if !request.url.query.is_empty() {
        url_parts.push(UrlPart::Text("?".into()));
        pieces(&request.url.query, &mut url_parts, &query_param);
    }
    join_url(url_parts)
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

/// The Python of a request's query parameters and headers (name and expression) and of its
/// JSON body. Every parameter in them goes through a helper that names it when its value
/// cannot be sent.
struct RequestCode {
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    json: Option<String>,
}

impl RequestCode {
    /// The code of `request`'s query, headers and body.
    fn new(request: &Request) -> Self {
        let query = request
            .query
            .iter()
            .map(|(key, value)| {
                (
                    key.clone(),
                    python::expr_with(value, 8, &named, &named_piece),
                )
            })
            .collect();
        let headers = request
            .headers
            .iter()
            .map(|(key, value)| {
                let code = python::expr_with(value, 8, &header_param, &header_piece);
                (key.clone(), code)
            })
            .collect();
        let json = request
            .json
            .as_ref()
            .map(|json| python::expr_with(json, 4, &json_param, &named_piece));
        RequestCode {
            query,
            headers,
            json,
        }
    }
}

/// A parameter turned into text by name, so that a value without a text form (NaN inside an
/// ARRAY) is refused naming it.
fn named(name: &str) -> String {
    python::checked("_named", name)
}

/// [`named`] inside a template, where null is empty text.
fn named_piece(name: &str) -> String {
    format!("({} or \"\")", named(name))
}

/// A parameter in a header, checked by name: HTTP cannot carry every character.
fn header_param(name: &str) -> String {
    python::checked("_header", name)
}

/// [`header_param`] inside a template, where null is empty text.
fn header_piece(name: &str) -> String {
    format!("({} or \"\")", header_param(name))
}

/// A parameter in a JSON body, encoded on its own so that NaN is refused by name.
fn json_param(name: &str) -> String {
    python::checked("_arg", name)
}

/// Which helper functions the handler defines (and so which imports it needs): each only
/// when the code of the URL, query, headers or body calls it.
struct Helpers {
    /// `_path`: a parameter in the URL's path.
    uses_path: bool,
    /// `_quote`: a parameter in the URL's query string.
    uses_query_template: bool,
    /// `_header`: a parameter in a header.
    uses_header_params: bool,
    /// `_named`: a parameter turned into text under its name.
    uses_named: bool,
    /// `_text`: any parameter turned into text.
    uses_text: bool,
    /// `_text` turns semi-structured values (dicts and lists) into JSON text.
    text_json: bool,
    /// `_text` turns binary values into hex.
    text_binary: bool,
    /// `_text` turns dates and times into ISO 8601.
    text_time: bool,
    /// `_arg` and `_json`: a JSON body, or semi-structured values as text.
    uses_json: bool,
    /// The action returns a semi-structured value: the response is decoded as JSON.
    returns_json: bool,
}

impl Helpers {
    /// The helpers the handler of `action` needs, given the code of its request.
    fn new(action: &Action, request: &Request, code: &RequestCode) -> Self {
        let has_param =
            |pieces: &[Piece]| pieces.iter().any(|piece| matches!(piece, Piece::Param(_)));
        let uses_path = has_param(&request.url.path);
        let uses_query_template = has_param(&request.url.query);
        let uses_header_params = code
            .headers
            .iter()
            .any(|(_, code)| code.contains("_header("));
        let uses_named = uses_header_params
            || uses_path
            || uses_query_template
            || code.query.iter().any(|(_, code)| code.contains("_named("))
            || code
                .json
                .as_deref()
                .is_some_and(|code| code.contains("_named("));
        let uses_text = !code.query.is_empty()
            || !code.headers.is_empty()
            || uses_named
            // A parameter in the host goes through `_text` (see `host_check_expr`).
            || request.url.host_params().next().is_some();
        let has_family = |family: TypeFamily| {
            action
                .params
                .iter()
                .any(|param| param.data_type.family == family)
        };
        let text_json = uses_text && has_family(TypeFamily::Semi);
        Helpers {
            uses_path,
            uses_query_template,
            uses_header_params,
            uses_named,
            uses_text,
            text_json,
            text_binary: uses_text && has_family(TypeFamily::Binary),
            text_time: uses_text && has_family(TypeFamily::Time),
            uses_json: code.json.is_some() || text_json,
            returns_json: action.returns.family == TypeFamily::Semi,
        }
    }
}

/// The modules the handler imports, sorted: those every handler needs, those of retries and
/// of the helpers it defines, and `auth`'s (the api's auth kind).
fn imports(action: &Action, helpers: &Helpers, auth: &[&'static str]) -> Vec<&'static str> {
    let mut imports: Vec<&str> = vec!["http.client", "http.cookiejar", "logging", "time", "zlib"];
    if action.retries > 0 {
        imports.extend(["datetime", "email.utils"]);
    }
    if helpers.uses_json {
        imports.extend(["datetime", "decimal", "json", "math"]);
    }
    if helpers.returns_json {
        imports.push("json");
    }
    if helpers.text_time {
        imports.push("datetime");
    }
    if helpers.uses_path || helpers.uses_query_template {
        imports.push("urllib.parse");
    }
    imports.extend(auth.iter().copied());
    imports.sort_unstable();
    imports.dedup();
    imports
}
