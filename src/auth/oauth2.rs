//! `auth oauth2 { grant, token_endpoint, client_id, client_secret, ... }`: an API_AUTHENTICATION
//! security integration plus an OAUTH2 secret; Snowflake mints the access token and the handler
//! reads it with `_snowflake.get_oauth_access_token`.

use super::{Apply, AuthMethod, AuthSecret, ClientAuth, OAuthGrant, OAuthIntegration};
use crate::diagnostic::{Code, Diagnostic};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};
use crate::render::python::string_literal;
use crate::source::{Span, Spanned};

#[derive(Debug)]
struct OAuth2 {
    integration: OAuthIntegration,
    secret_scopes: Vec<String>,
    refresh_token: Option<SecretValue>,
    expiry: Option<Spanned<String>>,
}

const ATTRIBUTES: &[&str] = &[
    "grant",
    "token_endpoint",
    "authorization_endpoint",
    "client_id",
    "client_secret",
    "client_auth",
    "scopes",
    "secret_scopes",
    "refresh_token",
    "refresh_token_expiry",
    "access_token_validity",
    "refresh_token_validity",
];

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let grant = attrs.required_enum(
        lx,
        "grant",
        &[
            ("client_credentials", OAuthGrant::ClientCredentials),
            ("authorization_code", OAuthGrant::AuthorizationCode),
        ],
    );
    let token_endpoint = attrs.required_string(lx, "token_endpoint");
    let authorization_endpoint = attrs.string(lx, "authorization_endpoint");
    let client_id = attrs.required_secret_value(lx, "client_id", false);
    let client_secret = attrs.required_secret_value(lx, "client_secret", true);
    let client_auth = attrs
        .enumeration(
            lx,
            "client_auth",
            &[("basic", ClientAuth::Basic), ("post", ClientAuth::Post)],
        )
        .unwrap_or(ClientAuth::Basic);
    let scopes = attrs.string_list(lx, "scopes").unwrap_or_default();
    let secret_scopes_span = attrs.span_of("secret_scopes");
    let secret_scopes = attrs.string_list(lx, "secret_scopes");
    let access_token_validity = attrs.integer(lx, "access_token_validity");
    let refresh_token_validity = attrs.integer(lx, "refresh_token_validity");
    let refresh_token = attrs.secret_value(lx, "refresh_token", true);
    let expiry = attrs.string(lx, "refresh_token_expiry");
    let span = attrs.span();
    attrs.finish(lx, ATTRIBUTES);
    let grant = grant?;
    if grant == OAuthGrant::AuthorizationCode && refresh_token.is_none() {
        lx.report(
            Diagnostic::new(
                Code::MissingAttribute,
                span,
                "`grant = authorization_code` needs `refresh_token`",
            )
            .label("no refresh token")
            .help("add `refresh_token = env(\"NAME\")` and `refresh_token_expiry = \"YYYY-MM-DD HH:MI:SS\"`"),
        );
        return None;
    }
    if grant == OAuthGrant::AuthorizationCode && expiry.is_none() {
        lx.report(
            Diagnostic::new(
                Code::MissingAttribute,
                span,
                "`grant = authorization_code` needs `refresh_token_expiry`",
            )
            .label("no expiry")
            .help("add `refresh_token_expiry = \"YYYY-MM-DD HH:MI:SS\"`, when the refresh token expires"),
        );
        return None;
    }
    // Attributes of the other grant are mistakes, not options: say so instead of ignoring them.
    let unused: Vec<(&str, Span)> = match grant {
        OAuthGrant::ClientCredentials => [
            ("refresh_token", refresh_token.as_ref().map(|t| t.span)),
            ("refresh_token_expiry", expiry.as_ref().map(|e| e.span)),
        ]
        .into_iter()
        .filter_map(|(name, span)| Some((name, span?)))
        .collect(),
        OAuthGrant::AuthorizationCode => secret_scopes_span
            .map(|span| vec![("secret_scopes", span)])
            .unwrap_or_default(),
    };
    for (name, span) in unused {
        let grant_word = match grant {
            OAuthGrant::ClientCredentials => "client_credentials",
            OAuthGrant::AuthorizationCode => "authorization_code",
        };
        lx.report(
            Diagnostic::new(
                Code::UnknownAttribute,
                span,
                format!("`{name}` is not used with `grant = {grant_word}`"),
            )
            .label("ignored by this grant")
            .help(format!("remove `{name}`, or change the grant")),
        );
    }

    let secret_scopes = secret_scopes.unwrap_or_else(|| scopes.clone());
    Some(Box::new(OAuth2 {
        integration: OAuthIntegration {
            grant,
            token_endpoint: token_endpoint?,
            authorization_endpoint,
            client_id: client_id?.node,
            client_secret: client_secret?.node,
            client_auth,
            scopes,
            access_token_validity,
            refresh_token_validity,
        },
        secret_scopes,
        refresh_token: refresh_token.map(|value| value.node),
        expiry,
    }))
}

impl AuthMethod for OAuth2 {
    fn kind(&self) -> &'static str {
        "oauth2"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        let body = match (&self.refresh_token, &self.expiry) {
            (Some(refresh_token), Some(expiry)) => SecretBody::OAuthAuthorizationCode {
                refresh_token: refresh_token.clone(),
                expiry: expiry.clone(),
            },
            _ => SecretBody::OAuthClientCredentials {
                scopes: self.secret_scopes.clone(),
            },
        };
        vec![AuthSecret {
            suffix: None,
            alias: "oauth_token",
            body,
        }]
    }

    fn integration(&self) -> Option<&OAuthIntegration> {
        Some(&self.integration)
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        Ok(Apply {
            imports: Vec::new(),
            lines: vec![
                format!(
                    "token = _secret(secrets, {alias}, _snowflake.get_oauth_access_token({alias}))",
                    alias = string_literal("oauth_token")
                ),
                super::set_header("Authorization", "Bearer "),
            ],
        })
    }
}
