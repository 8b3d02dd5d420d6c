//! Hand-written handlers: size, the `main` signature Snowflake calls, and the `_snowflake`
//! secret reads against the secrets attached.

use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{Action, ActionKind, Api, SecretBody};
use crate::source::{Sources, Span};

/// Snowflake's limit on a procedure or function definition.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The `_snowflake` accessors a handler may call, with the secret body kinds they fit.
const ACCESSORS: &[&str] = &[
    "get_generic_secret_string",
    "get_username_password",
    "get_oauth_access_token",
    "get_cloud_provider_token",
];

pub(super) fn check_handler(
    api: &Api,
    action: &Action,
    handler: &crate::model::HandlerFile,
    sources: &Sources,
    out: &mut Vec<Diagnostic>,
) {
    let text = &sources.get(handler.file).text;
    let file = handler.file;
    if text.len() > MAX_BODY_BYTES {
        out.push(
            Diagnostic::new(
                Code::HandlerTooLarge,
                handler.span,
                format!("`{}` has {} bytes", handler.path, text.len()),
            )
            .label("too large to embed")
            .help("Snowflake limits a procedure or function definition to 1 MB; move code into a package listed in `packages` and keep the handler small"),
        );
    }
    let expected = action.params.len() + usize::from(action.kind == ActionKind::Procedure);
    match find_main(text) {
        None => out.push(
            Diagnostic::new(
                Code::HandlerEntry,
                handler.span,
                format!("`{}` defines no top-level `def main(...)`", handler.path),
            )
            .label("handler file")
            .help(format!(
                "define `def main({}):`; Snowflake calls it (HANDLER = 'main')",
                expected_signature(action)
            )),
        ),
        Some((offset, arity)) => {
            let fits = match arity {
                Arity::Exact(count) => count == expected,
                Arity::Range(min, max) => min <= expected && expected <= max,
                Arity::AtLeast(min) => min <= expected,
            };
            if !fits {
                out.push(
                    Diagnostic::new(
                        Code::HandlerEntry,
                        Span::new(file, offset, offset + "def main".len()),
                        format!("`main` does not take the {expected} argument(s) Snowflake passes"),
                    )
                    .label("entry function")
                    .help(format!(
                        "define `def main({}):`",
                        expected_signature(action)
                    )),
                );
            }
        }
    }
    let attached: Vec<&crate::model::Secret> =
        action.secrets.iter().map(|i| &api.secrets[*i]).collect();
    let mut read: Vec<&str> = Vec::new();
    for (offset, accessor, alias, len) in secret_calls(text) {
        let span = Span::new(file, offset, offset + len);
        match attached.iter().find(|secret| secret.alias == alias) {
            None => {
                let names: Vec<&str> = attached.iter().map(|s| s.alias.as_str()).collect();
                let hint = did_you_mean(&alias, names.iter().copied());
                out.push(
                    Diagnostic::new(
                        Code::HandlerSecret,
                        span,
                        format!("the handler reads secret alias `{alias}`, which is not attached"),
                    )
                    .label("unknown alias")
                    .help(if hint.is_empty() {
                        format!(
                            "the attached aliases are {}",
                            if names.is_empty() {
                                "none".to_string()
                            } else {
                                names.join(", ")
                            }
                        )
                    } else {
                        hint
                    }),
                );
            }
            Some(secret) if secret.body.accessor() != accessor => {
                // It is read (wrongly): W0319 would only repeat the problem.
                read.push(secret.alias.as_str());
                out.push(
                    Diagnostic::new(
                        Code::HandlerSecret,
                        span,
                        format!(
                            "`{alias}` is read with `{accessor}`, but it holds a {} secret",
                            secret_type(&secret.body)
                        ),
                    )
                    .label("wrong accessor")
                    .help(format!(
                        "read it with `_snowflake.{}(\"{alias}\")`",
                        secret.body.accessor()
                    )),
                );
            }
            Some(secret) => read.push(secret.alias.as_str()),
        }
    }
    for secret in attached {
        if !read.contains(&secret.alias.as_str()) {
            out.push(
                Diagnostic::new(
                    Code::UnusedSecret,
                    handler.span,
                    format!(
                        "`{}` is attached to `{}` but the handler never reads it",
                        secret.alias, action.name
                    ),
                )
                .label("handler")
                .help("least privilege: list only what this handler reads in `secrets = [...]`, or remove the secret from the api if nothing needs it"),
            );
        }
    }
}

fn secret_type(body: &SecretBody) -> &'static str {
    match body {
        SecretBody::Password { .. } => "PASSWORD",
        SecretBody::GenericString { .. } => "GENERIC_STRING",
        SecretBody::OAuthClientCredentials { .. } | SecretBody::OAuthAuthorizationCode { .. } => {
            "OAUTH2"
        }
    }
}

fn expected_signature(action: &Action) -> String {
    let mut names: Vec<&str> = Vec::new();
    if action.kind == ActionKind::Procedure {
        names.push("session");
    }
    names.extend(action.params.iter().map(|p| p.name.node.as_str()));
    names.join(", ")
}

/// How many positional arguments a Python function takes.
#[derive(Debug, PartialEq)]
enum Arity {
    Exact(usize),
    Range(usize, usize),
    AtLeast(usize),
}

/// Finds `def main(...)` at the start of a line; returns its offset and arity.
fn find_main(text: &str) -> Option<(usize, Arity)> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let rest = line.strip_prefix("def main").map(str::trim_start);
        if let Some(rest) = rest.and_then(|r| r.strip_prefix('(')) {
            let start = offset + line.len() - rest.len();
            let args = &text[start..];
            let mut depth = 0usize;
            let mut end = args.len();
            for (i, c) in args.char_indices() {
                match c {
                    '(' | '[' | '{' => depth += 1,
                    ')' | ']' | '}' if depth == 0 => {
                        end = i;
                        break;
                    }
                    ')' | ']' | '}' => depth -= 1,
                    _ => {}
                }
            }
            return Some((offset, arity(&args[..end])));
        }
        offset += line.len();
    }
    None
}

fn arity(args: &str) -> Arity {
    let mut depth = 0usize;
    let mut parts = Vec::new();
    let mut current = String::new();
    for c in args.chars() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    parts.push(current);
    let parts: Vec<String> = parts
        .into_iter()
        .map(|p| p.split('#').next().unwrap_or_default().trim().to_string())
        .filter(|p| !p.is_empty() && p != "/")
        .collect();
    let mut required = 0;
    let mut optional = 0;
    for part in &parts {
        if part.starts_with("**") {
            continue;
        }
        if part == "*" {
            break;
        }
        if part.starts_with('*') {
            return Arity::AtLeast(required);
        }
        if part.contains('=') {
            optional += 1;
        } else {
            required += 1;
        }
    }
    if optional == 0 {
        Arity::Exact(required)
    } else {
        Arity::Range(required, required + optional)
    }
}

/// Every `get_*("alias")` call with a literal alias: offset, accessor, alias, length.
fn secret_calls(text: &str) -> Vec<(usize, &'static str, String, usize)> {
    let mut calls = Vec::new();
    for accessor in ACCESSORS {
        let mut from = 0;
        while let Some(found) = text[from..].find(accessor) {
            let start = from + found;
            from = start + accessor.len();
            let rest = text[from..].trim_start();
            let Some(rest) = rest.strip_prefix('(') else {
                continue;
            };
            let rest = rest.trim_start();
            let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
                continue;
            };
            let body = &rest[1..];
            let Some(close) = body.find(quote) else {
                continue;
            };
            let alias = body[..close].to_string();
            let end = text.len() - body.len() + close + 1;
            calls.push((start, *accessor, alias, end - start));
        }
    }
    calls.sort_by_key(|call| call.0);
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn main_arity_is_read() {
        assert_eq!(
            find_main("import x\ndef main(session, a, b):\n  pass\n")
                .unwrap()
                .1,
            Arity::Exact(3)
        );
        assert_eq!(
            find_main("def main(session, a=(1, 2)):\n").unwrap().1,
            Arity::Range(1, 2)
        );
        assert_eq!(
            find_main("def main(*args):\n").unwrap().1,
            Arity::AtLeast(0)
        );
        assert!(find_main("    def main(x):\n").is_none());
    }

    #[test]
    fn secret_calls_are_found() {
        let calls = secret_calls("a = _snowflake.get_generic_secret_string( 'pat_name')\nb = _snowflake.get_username_password(\"c\")");
        let aliases: Vec<&str> = calls.iter().map(|c| c.2.as_str()).collect();
        assert_eq!(aliases, ["pat_name", "c"]);
    }
}
