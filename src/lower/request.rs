//! A generated request: its method and URL, and the values it sends (`json`, `query`,
//! `headers`) resolved by `ExprResolver` into expressions over parameters and secrets.
//! Header names and values are checked here, also for the auth kinds that send a header.

use super::template::{lower_url, template, unknown_parameter};
use super::{join_help, list, misplaced, Attrs, Lowerer};
use crate::ast::{self, Item, Value};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{Expr, Literal, Param, Piece, Request, Secret, SecretBody};
use crate::source::Spanned;

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

/// The HTTP methods a generated request may use.
const METHODS: &[&str] = &["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

/// A `request METHOD "url" { ... }` block. Adds the aliases of the secrets it references to
/// `used_aliases`.
pub(super) fn lower_request(
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

/// Resolves the values of a request against the action's parameters and the api's secrets,
/// recording the secrets used. Problems are reported; `ok` says whether there were none.
struct ExprResolver<'p> {
    params: &'p [Param],
    secrets: &'p [Secret],
    /// The aliases of the secrets referenced so far, each once.
    used_aliases: &'p mut Vec<String>,
    ok: bool,
}

impl ExprResolver<'_> {
    /// The entries of `query` or `headers` (named by `name`), which must be an object.
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

    /// A value: literals as they are, strings as templates, bare words as parameters,
    /// `secret.NAME.field` as a secret read. `env()` and `file()` are reported.
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

    /// `secret.NAME.field`: the api must have the secret, and the secret the field.
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

    /// Records a problem (already reported); the placeholder is never used.
    fn fail(&mut self) -> Expr {
        self.ok = false;
        Expr::Literal(Literal::Null)
    }
}
