//! The `CREATE` statement of each object kind that stands alone — network rule, security
//! integration, secret, external access integration, procedure or function — from its view
//! model and template, and [`Renderer::standalone`], which renders and hashes any of them.
//! Grants, which depend on the grants before them, are in `scripts.rs`.

use std::fmt::Write as _;

use minijinja::context;

use super::{handler_path, internal, snowflake, sql_value, Renderer};
use crate::auth::{ClientAuth, OAuthGrant};
use crate::diagnostic::Diagnostic;
use crate::model::{Action, ActionBody, ActionKind, Api, ExecuteAs, SecretBody, SecretValue};
use crate::plan::{Object, Target};

/// One standalone object, rendered and hashed: its statement, and its handler file (path,
/// text, hash) when it has one.
pub(super) struct Rendered {
    pub(super) statement: String,
    pub(super) hash: String,
    pub(super) handler: Option<(String, String, String)>,
}

impl Renderer<'_> {
    /// Renders and hashes one object that stands alone (all but grants, which depend on what
    /// earlier grants granted): its statement, its handler file when it has one, and hashes.
    pub(super) fn standalone(&self, object: &Object) -> Result<Option<Rendered>, Diagnostic> {
        let api = &self.project.apis[object.api];
        let (statement, handler) = match object.target {
            Target::NetworkRule => (self.network_rule(api)?, None),
            Target::SecurityIntegration => (self.security_integration(api)?, None),
            Target::Secret(index) => (self.secret(api, index)?, None),
            Target::Integration => (self.integration(api)?, None),
            Target::Action(index) => {
                let action = &api.actions[index];
                let (sql, handler) = self.action(api, action)?;
                let hash = self.hash(&handler);
                (sql, Some((handler_path(api, action), handler, hash)))
            }
            Target::ApiGrant(_) | Target::ActionGrant(..) => return Ok(None),
        };
        let hash = self.hash(&statement);
        Ok(Some(Rendered {
            statement,
            hash,
            handler,
        }))
    }

    /// A secret's value as SQL: a string literal, or the Snowflake CLI template that reads
    /// the environment variable at deploy time (`secret_template` of `eaxc.yaml`).
    fn secret_value(&self, value: &SecretValue) -> String {
        match value {
            SecretValue::Literal(text) => snowflake::string(text),
            SecretValue::Env(variable) => {
                snowflake::template(&self.config.secret_template.replace("{name}", variable))
            }
        }
    }

    /// An object's `COMMENT`: the api's own comment, if any, and what the object is for.
    fn comment(api: &Api, what: &str) -> String {
        match &api.comment {
            Some(comment) => format!("{comment} (eaxc: {what} of api {})", api.name),
            None => format!("eaxc: {what} of api {}", api.name),
        }
    }

    /// The network rule of the api's egress hosts.
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

    /// The OAuth security integration of an api whose auth needs one.
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

    /// The api's secret at `index`, with the clauses of its type.
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

    /// The external access integration: the network rule, the security integration if
    /// any, and every secret of the api.
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

    /// The action's `CREATE PROCEDURE` or `CREATE FUNCTION` and its handler: the file it was
    /// given, or the one generated from its request.
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
}
