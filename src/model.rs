//! The model: the resolved, typed form of all specs, produced by `lower` and read by `check`,
//! `plan` and `render`. Names of Snowflake objects are resolved here (unquoted; quoting happens
//! only when rendering); every node keeps the span it came from for diagnostics.

use crate::auth::AuthMethod;
use crate::source::{FileId, Span, Spanned};

/// Every api of every spec, sorted by api name (so output does not depend on file order).
#[derive(Debug, Default)]
pub struct Project {
    /// The apis.
    pub apis: Vec<Api>,
}

/// One `api` block.
#[derive(Debug)]
pub struct Api {
    /// The api's name as written.
    pub name: Spanned<String>,
    /// The spec it was written in.
    pub file: FileId,
    /// `comment = "..."`.
    pub comment: Option<String>,
    /// The egress entries, lower-cased, in source order.
    pub egress: Vec<Spanned<String>>,
    /// The span of the `egress` value (or of the api name when it is missing).
    pub egress_span: Span,
    /// How the api authenticates.
    pub auth: Spanned<Box<dyn AuthMethod>>,
    /// Every secret: those the auth kind needs first, then the declared ones.
    pub secrets: Vec<Secret>,
    /// The procedures and functions.
    pub actions: Vec<Action>,
    /// Api-level grants: USAGE on the integration and READ on its secrets.
    pub grants: Vec<Spanned<String>>,
    /// The database of its schema-level objects.
    pub database: String,
    /// The schema of its schema-level objects.
    pub schema: String,
    /// `ENABLED` of the integrations.
    pub enabled: bool,
    /// Resolved object names.
    pub names: ApiNames,
}

/// The names of an api's objects (unquoted, without database and schema).
#[derive(Clone, Debug)]
pub struct ApiNames {
    /// The network rule.
    pub network_rule: Spanned<String>,
    /// The API_AUTHENTICATION security integration (used only by OAuth kinds).
    pub security_integration: Spanned<String>,
    /// The external access integration.
    pub integration: Spanned<String>,
}

/// A secret object.
#[derive(Clone, Debug)]
pub struct Secret {
    /// The object name (unqualified).
    pub object: Spanned<String>,
    /// The alias handlers read it through (`SECRETS = ('alias' = ...)`).
    pub alias: String,
    /// What it holds.
    pub body: SecretBody,
    /// Where it was declared (the `auth` block for auth secrets).
    pub span: Span,
    /// Whether it comes from the `auth` block rather than a `secret` block.
    pub from_auth: bool,
}

/// A value that may be sensitive: a literal, or the name of an environment variable read at
/// deploy time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretValue {
    /// Written in the spec (a warning for sensitive fields).
    Literal(String),
    /// `env("NAME")`.
    Env(String),
}

/// What a secret holds, by Snowflake secret TYPE.
#[derive(Clone, Debug)]
pub enum SecretBody {
    /// `TYPE = PASSWORD`.
    Password {
        /// `USERNAME`.
        username: SecretValue,
        /// `PASSWORD`.
        password: SecretValue,
    },
    /// `TYPE = GENERIC_STRING`.
    GenericString {
        /// `SECRET_STRING`.
        value: SecretValue,
    },
    /// `TYPE = OAUTH2` for the client-credentials flow.
    OAuthClientCredentials {
        /// `OAUTH_SCOPES`.
        scopes: Vec<String>,
    },
    /// `TYPE = OAUTH2` for the authorization-code flow.
    OAuthAuthorizationCode {
        /// `OAUTH_REFRESH_TOKEN`.
        refresh_token: SecretValue,
        /// `OAUTH_REFRESH_TOKEN_EXPIRY_TIME`.
        expiry: Spanned<String>,
    },
}

impl SecretBody {
    /// The `_snowflake` function that reads a secret of this type.
    #[must_use]
    pub fn accessor(&self) -> &'static str {
        match self {
            SecretBody::Password { .. } => "get_username_password",
            SecretBody::GenericString { .. } => "get_generic_secret_string",
            SecretBody::OAuthClientCredentials { .. }
            | SecretBody::OAuthAuthorizationCode { .. } => "get_oauth_access_token",
        }
    }

    /// Whether the secret refers to the api's security integration.
    #[must_use]
    pub fn is_oauth(&self) -> bool {
        matches!(
            self,
            SecretBody::OAuthClientCredentials { .. } | SecretBody::OAuthAuthorizationCode { .. }
        )
    }
}

/// Procedure or function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ActionKind {
    /// A stored procedure (`CALL`); its handler takes the session first.
    Procedure,
    /// A scalar UDF (`SELECT`).
    Function,
}

impl ActionKind {
    /// `PROCEDURE` or `FUNCTION`.
    #[must_use]
    pub fn sql(self) -> &'static str {
        match self {
            ActionKind::Procedure => "PROCEDURE",
            ActionKind::Function => "FUNCTION",
        }
    }

    /// `procedure` or `function`.
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            ActionKind::Procedure => "procedure",
            ActionKind::Function => "function",
        }
    }
}

/// `execute_as`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExecuteAs {
    /// `EXECUTE AS OWNER` (the default).
    Owner,
    /// `EXECUTE AS CALLER`.
    Caller,
    /// `EXECUTE AS RESTRICTED CALLER`.
    RestrictedCaller,
}

/// `on_error`: what a generated handler does with a non-2xx answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Raise an exception (the default).
    Raise,
    /// Return `{"ok": false, "status": ..., "error": ...}`.
    Return,
}

/// A procedure or function.
#[derive(Clone, Debug)]
pub struct Action {
    /// Procedure or function.
    pub kind: ActionKind,
    /// The action's name as written.
    pub name: Spanned<String>,
    /// The object name (unqualified).
    pub object: Spanned<String>,
    /// Parameters in order.
    pub params: Vec<Param>,
    /// The return type.
    pub returns: DataType,
    /// `comment`.
    pub comment: Option<String>,
    /// Packages besides the ones eaxc adds.
    pub packages: Vec<String>,
    /// The Python runtime version.
    pub runtime: Spanned<String>,
    /// `execute_as` (procedures only).
    pub execute_as: ExecuteAs,
    /// `secure`.
    pub secure: bool,
    /// Seconds a generated request may take.
    pub timeout: u32,
    /// How often a generated request is retried.
    pub retries: u32,
    /// `idempotent = true`: the request may be sent twice, so a generated handler retries it
    /// even after it may have reached the server (always so for GET, HEAD, PUT, DELETE and
    /// OPTIONS).
    pub idempotent: bool,
    /// What a generated handler does with errors.
    pub on_error: OnError,
    /// The handler.
    pub body: ActionBody,
    /// Indexes into the api's secrets of those attached to this action.
    pub secrets: Vec<usize>,
    /// Roles granted USAGE.
    pub grants: Vec<Spanned<String>>,
    /// `example` blocks.
    pub examples: Vec<Example>,
    /// The whole block.
    pub span: Span,
}

/// A parameter.
#[derive(Clone, Debug)]
pub struct Param {
    /// The name as written.
    pub name: Spanned<String>,
    /// Its type.
    pub data_type: DataType,
    /// `in [...]`.
    pub allowed: Vec<Spanned<Literal>>,
    /// `= value`.
    pub default: Option<Spanned<Literal>>,
    /// The whole parameter.
    pub span: Span,
}

/// A literal value.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// A string.
    String(String),
    /// A number as written.
    Number(String),
    /// A boolean.
    Bool(bool),
    /// `null`.
    Null,
}

/// A Snowflake data type.
#[derive(Clone, Debug)]
pub struct DataType {
    /// The canonical upper-case name (`VARCHAR`, `NUMBER`).
    pub name: String,
    /// Arguments (`38`, `2`).
    pub args: Vec<String>,
    /// Which family the type is in.
    pub family: TypeFamily,
    /// Where it was written.
    pub span: Span,
}

impl DataType {
    /// The SQL spelling, e.g. `NUMBER(38, 2)`.
    #[must_use]
    pub fn sql(&self) -> String {
        if self.args.is_empty() {
            self.name.clone()
        } else {
            format!("{}({})", self.name, self.args.join(", "))
        }
    }
}

/// What a type's values look like in Python and JSON.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeFamily {
    /// VARCHAR and friends.
    Text,
    /// NUMBER, INT, FLOAT and friends.
    Number,
    /// BOOLEAN.
    Boolean,
    /// VARIANT, OBJECT, ARRAY.
    Semi,
    /// DATE, TIME, TIMESTAMP_*.
    Time,
    /// BINARY.
    Binary,
}

/// An `example` block.
#[derive(Clone, Debug)]
pub struct Example {
    /// Named arguments in source order.
    pub args: Vec<(Spanned<String>, Spanned<Literal>)>,
    /// The block.
    pub span: Span,
}

/// Where the handler comes from.
#[derive(Clone, Debug)]
pub enum ActionBody {
    /// Generated from a `request` block.
    Request(Box<Request>),
    /// A hand-written file embedded verbatim.
    Handler(HandlerFile),
}

/// A hand-written handler.
#[derive(Clone, Debug)]
pub struct HandlerFile {
    /// The path as written in the spec.
    pub path: String,
    /// The file in the source set (diagnostics point into it).
    pub file: FileId,
    /// The `file("...")` span.
    pub span: Span,
}

/// A `request` block.
#[derive(Clone, Debug)]
pub struct Request {
    /// The HTTP method, upper case.
    pub method: String,
    /// The URL template.
    pub url: Url,
    /// `query = { ... }` in order.
    pub query: Vec<(String, Expr)>,
    /// `headers = { ... }` in order.
    pub headers: Vec<(String, Expr)>,
    /// `json = ...`.
    pub json: Option<Expr>,
    /// The block.
    pub span: Span,
}

/// A URL template split into its parts.
#[derive(Clone, Debug)]
pub struct Url {
    /// `https` or `http`.
    pub scheme: String,
    /// The host and port.
    pub authority: Vec<Piece>,
    /// The path (starting with `/`, or empty).
    pub path: Vec<Piece>,
    /// The query string after `?` (without the `?`), if any.
    pub query: Vec<Piece>,
    /// The string literal.
    pub span: Span,
}

impl Url {
    /// The names of the parameters in the authority (host parameters).
    pub fn host_params(&self) -> impl Iterator<Item = &Spanned<String>> {
        self.authority.iter().filter_map(|piece| match piece {
            Piece::Param(name) => Some(name),
            Piece::Text(_) => None,
        })
    }

    /// The authority when it holds no parameter.
    #[must_use]
    pub fn literal_authority(&self) -> Option<String> {
        let mut out = String::new();
        for piece in &self.authority {
            match piece {
                Piece::Text(text) => out.push_str(text),
                Piece::Param(_) => return None,
            }
        }
        Some(out)
    }
}

/// A piece of a template string.
#[derive(Clone, Debug, PartialEq)]
pub enum Piece {
    /// Literal text.
    Text(String),
    /// `{param}`.
    Param(Spanned<String>),
}

/// A value computed inside a generated handler.
#[derive(Clone, Debug)]
pub enum Expr {
    /// A constant.
    Literal(Literal),
    /// A parameter's value.
    Param(Spanned<String>),
    /// A string with `{param}` placeholders.
    Template(Vec<Piece>),
    /// `secret.NAME.field`, read through the alias.
    Secret {
        /// The alias.
        alias: String,
        /// The `_snowflake` accessor.
        accessor: &'static str,
        /// `username`, `password`, or `value` for generic strings.
        field: String,
    },
    /// A list.
    List(Vec<Expr>),
    /// An object with keys in source order.
    Object(Vec<(String, Expr)>),
}
