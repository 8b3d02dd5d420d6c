//! Object names: length, clashes within Snowflake's namespaces, and text the Snowflake CLI's
//! templating would rewrite.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Api, Project};
use crate::source::{Span, Spanned};
use crate::templating;

/// Snowflake's limit on identifier length.
const MAX_NAME: usize = 255;

pub(super) fn check_names(project: &Project, out: &mut Vec<Diagnostic>) {
    // Integrations (external access and security) share one account-level namespace; schema
    // objects clash within their kind, database and schema.
    let mut seen: BTreeMap<(String, String), Span> = BTreeMap::new();
    let mut claim = |kind: &str, name: String, span: Span, out: &mut Vec<Diagnostic>| {
        if let Some(first) = seen.get(&(kind.to_string(), name.clone())) {
            out.push(
                Diagnostic::new(
                    Code::NameClash,
                    span,
                    format!("two objects are both named `{name}`"),
                )
                .label("second object")
                .with_label(*first, "first object")
                .help("rename an api or action, or set explicit names in a `names { }` block"),
            );
        } else {
            seen.insert((kind.to_string(), name), span);
        }
    };
    for api in &project.apis {
        let qualified = |name: &str| format!("{}.{}.{}", api.database, api.schema, name);
        let mut names: Vec<&Spanned<String>> =
            vec![&api.names.network_rule, &api.names.integration];
        claim(
            "network rule",
            qualified(&api.names.network_rule),
            span_or(&api.names.network_rule, api),
            out,
        );
        claim(
            "integration",
            api.names.integration.node.clone(),
            span_or(&api.names.integration, api),
            out,
        );
        if api.auth.integration().is_some() {
            names.push(&api.names.security_integration);
            claim(
                "integration",
                api.names.security_integration.node.clone(),
                span_or(&api.names.security_integration, api),
                out,
            );
        }
        for secret in &api.secrets {
            names.push(&secret.object);
            claim("secret", qualified(&secret.object), secret.span, out);
        }
        for action in &api.actions {
            names.push(&action.object);
            claim(
                action.kind.word(),
                qualified(&action.object),
                action.name.span,
                out,
            );
        }
        let containers = [
            Spanned::new(api.database.clone(), api.name.span),
            Spanned::new(api.schema.clone(), api.name.span),
        ];
        let roles = api
            .grants
            .iter()
            .chain(api.actions.iter().flat_map(|action| &action.grants));
        for name in names.iter().copied().chain(&containers).chain(roles) {
            // Identifiers are written in double quotes, which have no escapes.
            if let Some(at) = templating::first_template(name) {
                let sequence: String = name[at..].chars().take(2).collect();
                out.push(
                    Diagnostic::new(
                        Code::NameRewritten,
                        span_or(name, api),
                        format!("`snow sql` would rewrite `{sequence}` in the name `{}`", name.node),
                    )
                    .label("names an object")
                    .help("a quoted identifier has no escapes, so the Snowflake CLI's templating would expand it; rename it without `&` before a letter, `_`, `{` or `&`, and without `{{`, `{%`, `{#`, `<%` or `%>`"),
                );
            }
        }
        for name in names.into_iter().chain(&containers) {
            if name.chars().count() > MAX_NAME {
                out.push(
                    Diagnostic::new(
                        Code::NameTooLong,
                        span_or(name, api),
                        format!(
                            "`{}…` is longer than 255 characters",
                            name.chars().take(40).collect::<String>()
                        ),
                    )
                    .label("names an object")
                    .help("Snowflake identifiers are at most 255 characters; shorten the api or action name, or set a `names { }` block"),
                );
            }
        }
    }
}

/// A name's span, or the api name's when the name is a default.
fn span_or(name: &Spanned<String>, api: &Api) -> Span {
    if name.span == Span::default() {
        api.name.span
    } else {
        name.span
    }
}
