//! Auth kinds. Each kind is one module that lowers its `auth KIND { ... }` block into an
//! [`AuthMethod`]: the secrets it needs, the security integration it needs (if any), and how a
//! generated handler sends the credentials. Adding a kind means adding a module and one line in
//! [`KINDS`]; nothing else in the compiler matches on auth kinds.

use std::fmt;

use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};
use crate::source::Spanned;

mod api_key;
mod basic;
mod bearer;
mod none;
mod oauth2;
mod pat;
mod snowflake_pat;

/// How one auth kind behaves.
pub trait AuthMethod: fmt::Debug + Send + Sync {
    /// The kind as written after `auth`.
    fn kind(&self) -> &'static str;

    /// The secrets this kind needs, in a fixed order.
    fn secrets(&self) -> Vec<AuthSecret>;

    /// The API_AUTHENTICATION security integration this kind needs, if any.
    fn integration(&self) -> Option<&OAuthIntegration> {
        None
    }

    /// How a generated handler authenticates, or why it cannot (then only a hand-written
    /// handler may use this kind).
    fn apply(&self) -> Result<Apply, &'static str>;
}

/// A secret an auth kind needs.
#[derive(Clone, Debug)]
pub struct AuthSecret {
    /// `None` for the api's main secret (`CREDS__API`), else the suffix (`PAT_NAME`).
    pub suffix: Option<&'static str>,
    /// The alias handlers read it through.
    pub alias: &'static str,
    /// What it holds.
    pub body: SecretBody,
}

/// Python that authenticates a request in a generated handler: the body of
/// `_authenticate(headers, params)`, which may set headers and query parameters.
#[derive(Clone, Debug, Default)]
pub struct Apply {
    /// Modules to import (`base64`).
    pub imports: Vec<&'static str>,
    /// Statements, one per line, without indentation.
    pub lines: Vec<String>,
}

/// `OAUTH_CLIENT_AUTH_METHOD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientAuth {
    /// `CLIENT_SECRET_BASIC` (Snowflake's default).
    Basic,
    /// `CLIENT_SECRET_POST`.
    Post,
}

/// `OAUTH_GRANT`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthGrant {
    /// `'CLIENT_CREDENTIALS'`.
    ClientCredentials,
    /// `'AUTHORIZATION_CODE'`.
    AuthorizationCode,
}

/// The fields of a `TYPE = API_AUTHENTICATION AUTH_TYPE = OAUTH2` security integration.
#[derive(Clone, Debug)]
pub struct OAuthIntegration {
    /// The grant.
    pub grant: OAuthGrant,
    /// `OAUTH_TOKEN_ENDPOINT`.
    pub token_endpoint: Spanned<String>,
    /// `OAUTH_AUTHORIZATION_ENDPOINT`.
    pub authorization_endpoint: Option<Spanned<String>>,
    /// `OAUTH_CLIENT_ID`.
    pub client_id: SecretValue,
    /// `OAUTH_CLIENT_SECRET`.
    pub client_secret: SecretValue,
    /// `OAUTH_CLIENT_AUTH_METHOD`.
    pub client_auth: ClientAuth,
    /// `OAUTH_ALLOWED_SCOPES`.
    pub scopes: Vec<String>,
    /// `OAUTH_ACCESS_TOKEN_VALIDITY`.
    pub access_token_validity: Option<u64>,
    /// `OAUTH_REFRESH_TOKEN_VALIDITY`.
    pub refresh_token_validity: Option<u64>,
}

/// Lowers the attributes of one auth kind.
pub(crate) type LowerFn = fn(&mut Attrs<'_>, &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>>;

/// Every auth kind: its name after `auth`, and how to lower it.
pub(crate) const KINDS: &[(&str, LowerFn)] = &[
    ("api_key", api_key::lower),
    ("basic", basic::lower),
    ("bearer", bearer::lower),
    ("none", none::lower),
    ("oauth2", oauth2::lower),
    ("pat", pat::lower),
    ("snowflake_pat", snowflake_pat::lower),
];

/// A Python line that reads a generic-string secret into `token`, through the handler's
/// `_secret` check.
fn read_generic(alias: &str) -> String {
    let alias = crate::render::python::string_literal(alias);
    format!("token = _secret(secrets, {alias}, _snowflake.get_generic_secret_string({alias}))")
}

/// A Python line that sets a header to `prefix + token` (or `token` alone).
fn set_header(header: &str, prefix: &str) -> String {
    let header = crate::render::python::string_literal(header);
    if prefix.is_empty() {
        format!("headers[{header}] = token")
    } else {
        format!(
            "headers[{header}] = {} + token",
            crate::render::python::string_literal(prefix)
        )
    }
}
