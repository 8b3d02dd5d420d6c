//! Procedures and functions: parameter names, defaults, `in` lists, examples, runtimes, return
//! types and the request of a generated handler.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{
    Action, ActionBody, ActionKind, Api, DataType, Literal, OnError, Param, Request, TypeFamily,
};
use crate::source::Sources;

use super::egress::check_request_hosts;
use super::handler::check_handler;

/// Python runtime versions Snowflake documents for procedures and functions (its runtime
/// support policy lists 3.8 to 3.13; 3.8 is decommissioned, 3.9 deprecated and being removed).
pub const RUNTIMES: &[&str] = &["3.10", "3.11", "3.12", "3.13"];

/// Python keywords (a parameter becomes a Python argument of `main`).
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Snowflake reserved keywords that cannot be unquoted argument names.
const SQL_RESERVED: &[&str] = &[
    "ACCOUNT",
    "ALL",
    "ALTER",
    "AND",
    "ANY",
    "AS",
    "BETWEEN",
    "BY",
    "CASE",
    "CAST",
    "CHECK",
    "COLUMN",
    "CONNECT",
    "CONNECTION",
    "CONSTRAINT",
    "CREATE",
    "CROSS",
    "CURRENT",
    "CURRENT_DATE",
    "CURRENT_TIME",
    "CURRENT_TIMESTAMP",
    "CURRENT_USER",
    "DATABASE",
    "DELETE",
    "DISTINCT",
    "DROP",
    "ELSE",
    "EXISTS",
    "FALSE",
    "FOLLOWING",
    "FOR",
    "FROM",
    "FULL",
    "GRANT",
    "GROUP",
    "GSCLUSTER",
    "HAVING",
    "ILIKE",
    "IN",
    "INCREMENT",
    "INNER",
    "INSERT",
    "INTERSECT",
    "INTO",
    "IS",
    "ISSUE",
    "JOIN",
    "LATERAL",
    "LEFT",
    "LIKE",
    "LOCALTIME",
    "LOCALTIMESTAMP",
    "MINUS",
    "NATURAL",
    "NOT",
    "NULL",
    "OF",
    "ON",
    "OR",
    "ORDER",
    "ORGANIZATION",
    "QUALIFY",
    "REGEXP",
    "REVOKE",
    "RIGHT",
    "RLIKE",
    "ROW",
    "ROWS",
    "SAMPLE",
    "SCHEMA",
    "SELECT",
    "SET",
    "SOME",
    "START",
    "TABLE",
    "TABLESAMPLE",
    "THEN",
    "TO",
    "TRIGGER",
    "TRUE",
    "TRY_CAST",
    "UNION",
    "UNIQUE",
    "UPDATE",
    "USING",
    "VALUES",
    "VIEW",
    "WHEN",
    "WHENEVER",
    "WHERE",
    "WINDOW",
    "WITH",
];

fn check_param_name(action: &Action, param: &Param, out: &mut Vec<Diagnostic>) {
    let name = param.name.node.as_str();
    let problem = if PYTHON_KEYWORDS.contains(&name) {
        Some(format!("`{name}` is a Python keyword"))
    } else if SQL_RESERVED.contains(&name.to_uppercase().as_str()) {
        Some(format!("`{name}` is a reserved word in Snowflake"))
    } else if name.starts_with('_') {
        Some(format!(
            "`{name}` starts with `_`, which eaxc keeps for generated code"
        ))
    } else if action.kind == ActionKind::Procedure && name == "session" {
        Some(
            "`session` is the name of the Snowpark session every procedure handler receives"
                .to_string(),
        )
    } else {
        None
    };
    if let Some(message) = problem {
        out.push(
            Diagnostic::new(Code::BadParameterName, param.name.span, message)
                .label("cannot be a parameter name")
                .help(format!(
                    "rename the parameter, e.g. `{}_value`; parameter names appear unquoted in SQL (named CALL arguments) and as Python arguments",
                    name.trim_start_matches('_')
                )),
        );
    }
}

/// Why `literal` cannot stand for a value of `data_type` in the generated SQL, if it cannot:
/// the help of the diagnostic.
fn literal_misfit(literal: &Literal, data_type: &DataType) -> Option<String> {
    match (literal, data_type.family) {
        (Literal::Null, _)
        | (Literal::String(_), TypeFamily::Text | TypeFamily::Time)
        | (Literal::Number(_), TypeFamily::Number)
        | (Literal::Bool(_), TypeFamily::Boolean) => None,
        (Literal::String(text), TypeFamily::Binary) => {
            let hex = text.len() % 2 == 0 && text.bytes().all(|b| b.is_ascii_hexdigit());
            (!hex).then(|| {
                "a BINARY value is written in hexadecimal, two digits per byte: `\"48656C6C6F\"`".into()
            })
        }
        // A scalar is a VARIANT holding it (`TO_VARIANT(...)`); eaxc has no literal for an
        // OBJECT or an ARRAY value.
        (Literal::String(_) | Literal::Number(_) | Literal::Bool(_), TypeFamily::Semi) => {
            (data_type.name != "VARIANT").then(|| {
                format!(
                    "an {} parameter takes only `null` here; declare it `variant` to give a string, number or boolean",
                    data_type.name
                )
            })
        }
        _ => Some("write a value of the parameter's type".into()),
    }
}

pub(super) fn check_action(
    api: &Api,
    action: &Action,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    check_params(action, out);
    check_runtime(action, out);
    check_examples(action, out);
    match &action.body {
        ActionBody::Request(request) => {
            check_generated(api, action, request, out);
            check_request_hosts(api, action, request, out);
        }
        ActionBody::Handler(handler) => check_handler(api, action, handler, sources, out),
    }
}

/// Names, order, defaults and `in` lists of the parameters.
fn check_params(action: &Action, out: &mut Vec<Diagnostic>) {
    let mut first_optional: Option<&Param> = None;
    for param in &action.params {
        check_param_name(action, param, out);
        match (&param.default, first_optional) {
            (Some(_), None) => first_optional = Some(param),
            (None, Some(optional)) => out.push(
                Diagnostic::new(
                    Code::BadDefault,
                    param.name.span,
                    format!("required parameter `{}` follows optional parameter `{}`", param.name, optional.name),
                )
                .label("required")
                .with_label(optional.name.span, "optional")
                .help("Snowflake needs parameters with defaults last; move it before the optional ones or give it a default"),
            ),
            _ => {}
        }
        for value in param.default.iter().chain(&param.allowed) {
            if let Some(help) = literal_misfit(value, &param.data_type) {
                out.push(
                    Diagnostic::new(
                        Code::BadDefault,
                        value.span,
                        format!(
                            "this value does not fit `{}` of type {}",
                            param.name,
                            param.data_type.sql()
                        ),
                    )
                    .label("wrong type")
                    .help(help),
                );
            }
        }
        if let Some(default) = &param.default {
            if !param.allowed.is_empty()
                && default.node != Literal::Null
                && !param.allowed.contains(default)
            {
                out.push(
                    Diagnostic::new(
                        Code::BadDefault,
                        default.span,
                        format!(
                            "the default of `{}` is not one of its allowed values",
                            param.name
                        ),
                    )
                    .label("not in the `in` list")
                    .help("make the default one of the values in `in [...]`"),
                );
            }
        }
    }
}

fn check_runtime(action: &Action, out: &mut Vec<Diagnostic>) {
    if !RUNTIMES.contains(&action.runtime.as_str()) {
        out.push(
            Diagnostic::new(
                Code::BadRuntime,
                action.runtime.span,
                format!(
                    "Python runtime `{}` is not one eaxc generates for",
                    action.runtime
                ),
            )
            .label("unsupported runtime")
            .help(format!(
                "{}the runtimes are {}; Snowflake still runs 3.9 but has deprecated it, so eaxc does not emit it",
                did_you_mean(&action.runtime, RUNTIMES.iter().copied()).replace('?', "? "),
                RUNTIMES.join(", ")
            )),
        );
    }
}

/// Every example names parameters of the action, gives the required ones, and fits their types.
fn check_examples(action: &Action, out: &mut Vec<Diagnostic>) {
    for example in &action.examples {
        for (name, value) in &example.args {
            match action.params.iter().find(|p| p.name.node == name.node) {
                None => out.push(
                    Diagnostic::new(
                        Code::BadExample,
                        name.span,
                        format!("`{name}` is not a parameter of `{}`", action.name),
                    )
                    .label("unknown parameter")
                    .help({
                        let names: Vec<&str> =
                            action.params.iter().map(|p| p.name.node.as_str()).collect();
                        let hint = did_you_mean(name, names.iter().copied());
                        if hint.is_empty() {
                            format!("the parameters are {}", names.join(", "))
                        } else {
                            hint
                        }
                    }),
                ),
                Some(param) => {
                    if let Some(help) = literal_misfit(value, &param.data_type) {
                        out.push(
                            Diagnostic::new(
                                Code::BadExample,
                                value.span,
                                format!(
                                    "this value does not fit `{name}` of type {}",
                                    param.data_type.sql()
                                ),
                            )
                            .label("wrong type")
                            .help(help),
                        );
                    }
                }
            }
        }
        for param in action.params.iter().filter(|p| p.default.is_none()) {
            if !example
                .args
                .iter()
                .any(|(name, _)| name.node == param.name.node)
            {
                out.push(
                    Diagnostic::new(
                        Code::BadExample,
                        example.span,
                        format!(
                            "the example does not give required parameter `{}`",
                            param.name
                        ),
                    )
                    .label("incomplete example")
                    .help(format!("add `{} = ...` to the example", param.name)),
                );
            }
        }
    }
}

/// What a generated handler can do: authenticate with the api's auth kind, return the type.
fn check_generated(api: &Api, action: &Action, request: &Request, out: &mut Vec<Diagnostic>) {
    if let Err(why) = api.auth.apply() {
        out.push(
            Diagnostic::new(
                Code::AuthNeedsHandler,
                request.span.sub(0, "request".len()),
                format!(
                    "a generated request cannot authenticate with `auth {}`",
                    api.auth.kind()
                ),
            )
            .label("generated handler")
            .with_label(api.auth.span, "auth kind")
            .help(why),
        );
    }
    let family = action.returns.family;
    if !matches!(family, TypeFamily::Semi | TypeFamily::Text) {
        out.push(
            Diagnostic::new(
                Code::BadReturnType,
                action.returns.span,
                format!("a generated handler cannot return {}", action.returns.sql()),
            )
            .label("unsupported")
            .help("return `variant` (the parsed JSON answer) or `varchar` (the answer's text)"),
        );
    } else if action.on_error == OnError::Return && family != TypeFamily::Semi {
        out.push(
            Diagnostic::new(
                Code::BadReturnType,
                action.returns.span,
                "`on_error = return` needs a `variant` return type",
            )
            .label("cannot hold a structured error")
            .help("return `variant`, or let errors raise"),
        );
    }
}
