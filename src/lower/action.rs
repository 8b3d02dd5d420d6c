//! A procedure or function: its parameters and return type, its attributes, the items inside
//! it (`request`, `grant`, `example`), its body (a generated request or a hand-written handler
//! file) and the secrets attached to it.

use super::api::lower_grant;
use super::request::lower_request;
use super::types::{literal, lower_param, lower_type};
use super::{join_help, list, misplaced, Attrs, Lowerer};
use crate::ast::{self, Item, Value};
use crate::auth::AuthMethod;
use crate::config::Naming;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{
    Action, ActionBody, ActionKind, Example, ExecuteAs, HandlerFile, Literal, OnError, Param,
    Secret,
};
use crate::source::{Span, Spanned};

/// Snowflake's limit on the arguments of a scalar UDF.
const MAX_FUNCTION_PARAMS: usize = 500;

/// The attributes a procedure accepts; a function accepts them all but `execute_as`.
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

/// Lowers one action of api `api`. Every problem is reported before the action is dropped, so
/// that one run shows them all.
pub(super) fn lower_action(
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
    let (params, mut ok) = lower_params(lx, action);
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
    let settings = settings(lx, action, kind);
    let members = members(lx, action, kind);

    let mut used_aliases = Vec::new();
    let body = lower_body(
        lx,
        action,
        settings.handler,
        &members.requests,
        &params,
        secrets,
        &mut used_aliases,
    )?;
    let attached = attached_secrets(
        lx,
        &body,
        settings.chosen_secrets.as_deref(),
        secrets,
        auth,
        &used_aliases,
    );

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
        comment: settings.comment,
        packages: settings.packages,
        runtime: settings.runtime,
        execute_as: settings.execute_as,
        secure: settings.secure,
        timeout: settings.timeout,
        retries: settings.retries,
        idempotent: settings.idempotent,
        on_error: settings.on_error,
        body,
        secrets: attached?,
        grants: members.grants,
        examples: members.examples,
        span: action.span,
    })
}

/// The parameters, and whether every one was lowered without an error. A parameter declared
/// twice is reported and the second dropped.
fn lower_params(lx: &mut Lowerer<'_>, action: &ast::Action) -> (Vec<Param>, bool) {
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
    (params, ok)
}

/// An action's attributes with their defaults, plus the two that choose its body: `handler`
/// (unresolved) and `secrets`.
struct Settings<'a> {
    comment: Option<String>,
    packages: Vec<String>,
    runtime: Spanned<String>,
    execute_as: ExecuteAs,
    secure: bool,
    timeout: u32,
    retries: u32,
    idempotent: bool,
    on_error: OnError,
    handler: Option<&'a Value>,
    chosen_secrets: Option<Vec<Spanned<String>>>,
}

/// Reads the action's attributes. Reports those that do not apply to its kind or its body,
/// then every unknown one.
fn settings<'a>(lx: &mut Lowerer<'_>, action: &'a ast::Action, kind: ActionKind) -> Settings<'a> {
    let mut attrs = Attrs::new(
        lx,
        &action.items,
        action.name.span,
        format!("{} {}", kind.word(), action.name.node),
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
    let idempotent = attrs.boolean(lx, "idempotent").unwrap_or(false);
    let on_error = attrs
        .enumeration(
            lx,
            "on_error",
            &[("raise", OnError::Raise), ("return", OnError::Return)],
        )
        .unwrap_or(OnError::Raise);
    let handler = attrs.take("handler");
    let chosen_secrets = attrs.spanned_string_list(lx, "secrets");
    misapplied(
        lx,
        &attrs,
        action.name.span,
        handler.is_some(),
        chosen_secrets.as_deref(),
    );
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
    Settings {
        comment,
        packages,
        runtime,
        execute_as,
        secure,
        timeout,
        retries,
        idempotent,
        on_error,
        handler,
        chosen_secrets,
    }
}

/// Reports attributes set for the other kind of handler: `secrets` without a hand-written
/// handler, and the settings of a generated one (`timeout`, `retries`, ...) with one.
fn misapplied(
    lx: &mut Lowerer<'_>,
    attrs: &Attrs<'_>,
    name_span: Span,
    handwritten: bool,
    chosen_secrets: Option<&[Spanned<String>]>,
) {
    if let (false, Some(chosen)) = (handwritten, chosen_secrets) {
        let span = chosen.first().map_or(name_span, |secret| secret.span);
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
    if handwritten {
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
}

/// The blocks inside an action, in the order written: requests still to lower (the body
/// decides whether one is wanted), granted roles and examples.
struct Members<'a> {
    requests: Vec<&'a ast::Request>,
    grants: Vec<Spanned<String>>,
    examples: Vec<Example>,
}

/// Sorts the action's blocks, lowering grants and examples and reporting anything else.
fn members<'a>(lx: &mut Lowerer<'_>, action: &'a ast::Action, kind: ActionKind) -> Members<'a> {
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
    Members {
        requests,
        grants,
        examples,
    }
}

/// The body: exactly one `request` (a generated handler) or a `handler` file. Anything else
/// is reported. A generated request adds the secrets it references to `used_aliases`.
fn lower_body(
    lx: &mut Lowerer<'_>,
    action: &ast::Action,
    handler: Option<&Value>,
    requests: &[&ast::Request],
    params: &[Param],
    secrets: &[Secret],
    used_aliases: &mut Vec<String>,
) -> Option<ActionBody> {
    let name = &action.name.node;
    Some(match (handler, requests) {
        (Some(handler), []) => ActionBody::Handler(lower_handler(lx, handler)?),
        (None, [request]) => ActionBody::Request(Box::new(lower_request(
            lx,
            request,
            params,
            secrets,
            used_aliases,
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
    })
}

/// The indices (into the api's `secrets`) of the secrets attached to the action, or `None` when
/// `secrets = [...]` names one the api does not have (each such name is reported).
///
/// A generated handler gets the secrets its auth kind applies plus those it references; a
/// hand-written one gets every secret of the api (unused ones are reported by `check`).
/// `secrets = [...]` narrows a hand-written handler to the secrets it reads.
fn attached_secrets(
    lx: &mut Lowerer<'_>,
    body: &ActionBody,
    chosen: Option<&[Spanned<String>]>,
    secrets: &[Secret],
    auth: &dyn AuthMethod,
    used_aliases: &[String],
) -> Option<Vec<usize>> {
    match body {
        ActionBody::Handler(_) => match chosen {
            None => Some((0..secrets.len()).collect()),
            Some(chosen) => {
                let mut ok = true;
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
                ok.then_some(attached)
            }
        },
        ActionBody::Request(_) => Some(
            secrets
                .iter()
                .enumerate()
                .filter(|(_, secret)| {
                    (secret.from_auth && auth.apply().is_ok())
                        || used_aliases.contains(&secret.alias)
                })
                .map(|(index, _)| index)
                .collect(),
        ),
    }
}

/// An `example { param = value ... }` block: literal arguments, each parameter given once.
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

/// `handler = file("...")`: reads the file through the [`Loader`](super::Loader) and adds it to
/// the sources.
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
