//! An api: its attributes and `egress`, the `names`, `auth` (through [`crate::auth::KINDS`]),
//! `secret` and `grant` blocks, and its actions, each lowered by `action.rs`.

use super::action::lower_action;
use super::{join_help, list, misplaced, Attrs, Lowerer};
use crate::ast::{self, Item, Value};
use crate::auth::{self, AuthMethod};
use crate::config::{Config, Naming};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{Action, Api, ApiNames, Secret, SecretBody};
use crate::source::{FileId, Span, Spanned};

/// Lowers one api. Without a usable `auth` block there is no api (its actions depend on it);
/// otherwise the api keeps every action and grant that could be lowered.
pub(super) fn lower_api(lx: &mut Lowerer<'_>, file: FileId, api: &ast::Api) -> Option<Api> {
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
    let (egress, egress_span) = lower_egress(lx, api, egress_value);

    let (auth_block, names_block) = blocks(lx, api);
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
    let (actions, grants) = actions_and_grants(lx, api, &secrets, auth.node.as_ref());

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

/// The `egress` hosts (lower case) and the span of the list. Without a usable list the span is
/// the api name's, so that `check` does not also call the list empty.
fn lower_egress(
    lx: &mut Lowerer<'_>,
    api: &ast::Api,
    value: Option<&Value>,
) -> (Vec<Spanned<String>>, Span) {
    match value {
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
            (Vec::new(), api.name.span)
        }
        None => {
            lx.report(
                Diagnostic::new(
                    Code::MissingAttribute,
                    api.name.span,
                    format!("api `{}` has no `egress`", api.name.node),
                )
                .label("needs `egress`")
                .help("list the hosts its handlers call: `egress = [\"api.example.com\"]`"),
            );
            (Vec::new(), api.name.span)
        }
    }
}

/// The api's `auth` and `names` blocks (the first of each). Reports a second one, and a
/// `request` or `example` that belongs inside an action.
fn blocks<'a>(
    lx: &mut Lowerer<'_>,
    api: &'a ast::Api,
) -> (Option<&'a ast::Auth>, Option<&'a ast::Block>) {
    let api_name = api.name.node.as_str();
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
    (auth_block, names_block)
}

/// The api's actions and granted roles, in the order written. An action named twice is
/// reported and the second dropped.
fn actions_and_grants(
    lx: &mut Lowerer<'_>,
    api: &ast::Api,
    secrets: &[Secret],
    auth: &dyn AuthMethod,
) -> (Vec<Action>, Vec<Spanned<String>>) {
    let api_name = api.name.node.as_str();
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
                if let Some(action) = lower_action(lx, api_name, action, secrets, auth) {
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
    (actions, grants)
}

/// The object names of an api: the configured patterns, overridden by its `names` block.
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

/// The auth block through its kind's `lower` in [`auth::KINDS`]; an unknown kind is reported.
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

/// The secrets the auth kind needs, named by the configured `secret` and `extra_secret`
/// patterns and marked `from_auth`.
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

/// A `secret NAME password|generic_string { ... }` block. An alias already taken (by the auth
/// kind or an earlier secret) is reported and the secret dropped.
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

/// The role of `grant usage to role NAME`: a bare word upper-cased, a quoted name as written.
pub(super) fn lower_grant(lx: &mut Lowerer<'_>, grant: &ast::Grant) -> Option<Spanned<String>> {
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
