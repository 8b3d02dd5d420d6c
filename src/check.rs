//! Stage 3, check: semantic rules over the [`Project`] → diagnostics. Everything Snowflake
//! would reject at deploy time, or a handler would fail on at run time, that can be known
//! offline: egress hosts, request hosts, auth settings, parameters, examples, runtimes,
//! hand-written handlers and object names.

use std::collections::BTreeMap;

use crate::auth::{OAuthGrant, OAuthIntegration};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{
    Action, ActionBody, ActionKind, Api, DataType, Literal, OnError, Param, Piece, Project,
    SecretBody, SecretValue, TypeFamily,
};
use crate::source::{Sources, Span, Spanned};
use crate::templating;

/// Python runtime versions Snowflake documents for procedures and functions (its runtime
/// support policy lists 3.8 to 3.13; 3.8 is decommissioned, 3.9 deprecated and being removed).
pub const RUNTIMES: &[&str] = &["3.10", "3.11", "3.12", "3.13"];

/// Runs every rule and returns the problems found (unsorted).
#[must_use]
pub fn check(project: &Project, sources: &Sources) -> Vec<Diagnostic> {
    // Apis are checked independently, in parallel; `par::map` keeps their order.
    let per_api = crate::par::map(&project.apis, |api| {
        let mut out = Vec::new();
        check_egress(api, &mut out);
        check_auth(api, &mut out);
        for action in &api.actions {
            check_action(api, action, sources, &mut out);
        }
        out
    });
    let mut out: Vec<Diagnostic> = per_api.into_iter().flatten().collect();
    check_names(project, &mut out);
    out
}

/// One parsed egress entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPort {
    /// The host, lower case, possibly with one `*`.
    pub host: String,
    /// The port; `None` means 443, `Some(0)` every port.
    pub port: Option<u16>,
}

impl HostPort {
    /// Whether this entry lets a handler reach `host` on `port`.
    #[must_use]
    pub fn allows(&self, host: &str, port: u16) -> bool {
        let port_ok = match self.port {
            None => port == 443,
            Some(0) => true,
            Some(p) => p == port,
        };
        port_ok && host_matches(&self.host, &host.to_lowercase())
    }
}

/// Whether `host` matches `pattern`, where one `*` stands for letters, digits and `-` within a
/// single label.
#[must_use]
pub fn host_matches(pattern: &str, host: &str) -> bool {
    if pattern == "0.0.0.0" {
        return true;
    }
    match pattern.split_once('*') {
        None => pattern == host,
        Some((prefix, suffix)) => {
            host.len() >= prefix.len() + suffix.len()
                && host.starts_with(prefix)
                && host.ends_with(suffix)
                && host[prefix.len()..host.len() - suffix.len()]
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-')
        }
    }
}

/// Parses an egress entry, or says what is wrong with it.
pub fn parse_host_port(entry: &str) -> Result<HostPort, (Code, String, String)> {
    if entry.contains("://") {
        return Err((
            Code::BadEgressHost,
            format!("egress entry `{entry}` has a scheme"),
            "write only the host, e.g. `api.example.com` or `api.example.com:8443`".into(),
        ));
    }
    if let Some(bad) = entry
        .chars()
        .find(|c| matches!(c, '/' | '?' | '#' | '@') || c.is_whitespace())
    {
        return Err((
            Code::BadEgressHost,
            format!("egress entry `{entry}` contains `{bad}`"),
            "write only the host: no path, query, user info or spaces".into(),
        ));
    }
    let (host, port) = match entry.rsplit_once(':') {
        Some((host, port)) => {
            let parsed = if !port.is_empty()
                && port.len() <= 5
                && port.chars().all(|c| c.is_ascii_digit())
            {
                port.parse::<u32>().ok().filter(|p| *p <= 65535)
            } else {
                None
            };
            match parsed {
                Some(p) => (host, Some(u16::try_from(p).expect("checked range"))),
                None => {
                    return Err((
                        Code::BadEgressPort,
                        format!("`{port}` is not a port"),
                        "a port is 1 to 65535, or 0 for every port; list several ports as separate entries".into(),
                    ))
                }
            }
        }
        None => (entry, None),
    };
    if host == "0.0.0.0" {
        if !matches!(port, None | Some(80 | 443)) {
            return Err((
                Code::BadEgressPort,
                format!(
                    "`0.0.0.0` only works with port 80 or 443, not {}",
                    port.unwrap_or(0)
                ),
                "write `0.0.0.0`, `0.0.0.0:443` or `0.0.0.0:80`".into(),
            ));
        }
        return Ok(HostPort {
            host: host.into(),
            port,
        });
    }
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || labels.iter().any(|label| label.is_empty()) {
        return Err((
            Code::BadEgressHost,
            format!("`{host}` is not a domain name"),
            "write a full domain such as `api.example.com`".into(),
        ));
    }
    if let Some(bad) = host
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '.' || *c == '*'))
    {
        return Err((
            Code::BadEgressHost,
            format!("`{host}` contains `{bad}`"),
            "a host name has letters, digits, `-` and `.` (and at most one `*`)".into(),
        ));
    }
    let stars = host.matches('*').count();
    if stars > 1 {
        return Err((
            Code::BadWildcard,
            format!("`{host}` has {stars} wildcards"),
            "Snowflake allows one `*`, within the first label".into(),
        ));
    }
    if stars == 1 {
        if !labels[0].contains('*') {
            return Err((
                Code::BadWildcard,
                format!("the wildcard in `{host}` is not in the first label"),
                "put the `*` in the first label, e.g. `*.example.com`; it matches within one label only".into(),
            ));
        }
        if labels.len() < 3 {
            return Err((
                Code::BadWildcard,
                format!("`{host}` puts a wildcard at the second level"),
                "Snowflake rejects `*.com`; name the domain, e.g. `*.example.com`".into(),
            ));
        }
    }
    Ok(HostPort {
        host: host.into(),
        port,
    })
}

/// The egress entries of an api that parse.
#[must_use]
pub fn egress_entries(api: &Api) -> Vec<HostPort> {
    api.egress
        .iter()
        .filter_map(|entry| parse_host_port(entry).ok())
        .collect()
}

fn check_egress(api: &Api, out: &mut Vec<Diagnostic>) {
    if api.egress.is_empty() && api.egress_span != api.name.span {
        out.push(
            Diagnostic::new(
                Code::EmptyEgress,
                api.egress_span,
                format!("api `{}` allows no host", api.name),
            )
            .label("empty list")
            .help("list the hosts its handlers call: `egress = [\"api.example.com\"]`"),
        );
    }
    let mut seen: BTreeMap<&str, Span> = BTreeMap::new();
    for entry in &api.egress {
        match parse_host_port(entry) {
            Err((code, message, help)) => out.push(Diagnostic::new(code, entry.span, message).label("invalid").help(help)),
            Ok(host_port) if host_port.host == "0.0.0.0" => out.push(
                Diagnostic::new(Code::AllowAllHosts, entry.span, format!("`{}` lets handlers reach every host", entry.node))
                    .label("allows everything")
                    .help("list the hosts the API uses instead, so a leaked handler cannot reach anywhere"),
            ),
            Ok(_) => {}
        }
        let normalized = entry.node.strip_suffix(":443").unwrap_or(&entry.node);
        if let Some(first) = seen.get(normalized) {
            out.push(
                Diagnostic::new(
                    Code::Duplicate,
                    entry.span,
                    format!("egress entry `{}` is listed twice", entry.node),
                )
                .label("listed again")
                .with_label(*first, "first listed here")
                .help("remove one of them (a host without a port means port 443)"),
            );
        } else {
            seen.insert(normalized, entry.span);
        }
    }
}

fn check_auth(api: &Api, out: &mut Vec<Diagnostic>) {
    if let Some(integration) = api.auth.integration() {
        check_oauth(api, integration, out);
    }
    for secret in &api.secrets {
        if let SecretBody::Password { username, password } = &secret.body {
            for (field, value) in [("username", username), ("password", password)] {
                if let SecretValue::Literal(text) = value {
                    if text.contains(':') {
                        out.push(
                            Diagnostic::new(
                                Code::ColonInCredential,
                                secret.span,
                                format!("the {field} of `{}` contains `:`", secret.alias),
                            )
                            .label("PASSWORD secret")
                            .help("Snowflake does not support `:` in the username or password of a secret used for external access; use another credential"),
                        );
                    }
                }
            }
        }
    }
}

fn check_oauth(api: &Api, integration: &OAuthIntegration, out: &mut Vec<Diagnostic>) {
    let mut endpoints = vec![("token_endpoint", &integration.token_endpoint)];
    if let Some(endpoint) = &integration.authorization_endpoint {
        endpoints.push(("authorization_endpoint", endpoint));
    }
    for (name, endpoint) in endpoints {
        let ok = endpoint
            .strip_prefix("https://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !ok {
            out.push(
                Diagnostic::new(
                    Code::EndpointNotHttps,
                    endpoint.span,
                    format!("`{name}` must be an https URL"),
                )
                .label("not https")
                .help("write the endpoint as `https://host/path`: client secrets and tokens must not cross the network in clear text"),
            );
        }
    }
    if integration.grant == OAuthGrant::AuthorizationCode {
        for secret in &api.secrets {
            if let SecretBody::OAuthAuthorizationCode { expiry, .. } = &secret.body {
                if !valid_expiry(expiry) {
                    out.push(
                        Diagnostic::new(
                            Code::BadExpiry,
                            expiry.span,
                            format!("`{}` is not a refresh token expiry Snowflake accepts", expiry.node),
                        )
                        .label("unsupported format")
                        .help("write `YYYY-MM-DD`, `YYYY-MM-DD HH:MI` or `YYYY-MM-DD HH:MI:SS`, optionally followed by a time zone"),
                    );
                }
            }
        }
    }
    for secret in &api.secrets {
        if let SecretBody::OAuthClientCredentials { scopes } = &secret.body {
            for scope in scopes {
                // An integration without scopes allows none: OAUTH_ALLOWED_SCOPES defaults to ().
                if !integration.scopes.contains(scope) {
                    out.push(
                        Diagnostic::new(
                            Code::ScopeNotAllowed,
                            api.auth.span,
                            format!("secret scope `{scope}` is not in the integration's `scopes`"),
                        )
                        .label("in this auth block")
                        .help("`secret_scopes` must be a subset of `scopes`; add it to `scopes` or remove it"),
                    );
                }
            }
        }
    }
}

/// `YYYY-MM-DD[ HH:MI[:SS]][ TZ]`.
fn valid_expiry(text: &str) -> bool {
    let mut parts = text.splitn(3, ' ');
    let date = parts.next().unwrap_or_default();
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    let fields: Vec<&str> = date.split('-').collect();
    let date_ok = fields.len() == 3
        && digits(fields[0], 4)
        && digits(fields[1], 2)
        && digits(fields[2], 2)
        && (1..=12).contains(&fields[1].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&fields[2].parse::<u32>().unwrap_or(0));
    if !date_ok {
        return false;
    }
    let Some(time) = parts.next() else {
        return true;
    };
    let fields: Vec<&str> = time.split(':').collect();
    let time_ok = (fields.len() == 2 || fields.len() == 3)
        && fields.iter().all(|f| digits(f, 2))
        && fields[0].parse::<u32>().unwrap_or(99) < 24
        && fields[1..]
            .iter()
            .all(|f| f.parse::<u32>().unwrap_or(99) < 60);
    time_ok && parts.next().is_none_or(|zone| !zone.trim().is_empty())
}

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

fn check_action(api: &Api, action: &Action, sources: &Sources, out: &mut Vec<Diagnostic>) {
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
    match &action.body {
        ActionBody::Request(request) => {
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
            check_request_hosts(api, action, request, out);
        }
        ActionBody::Handler(handler) => check_handler(api, action, handler, sources, out),
    }
}

fn check_request_hosts(
    api: &Api,
    action: &Action,
    request: &crate::model::Request,
    out: &mut Vec<Diagnostic>,
) {
    let entries = egress_entries(api);
    let default_port: u16 = if request.url.scheme == "http" {
        80
    } else {
        443
    };
    let covered = |authority: &str| -> bool {
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) => (host, port.parse::<u16>().unwrap_or(0)),
            None => (authority, default_port),
        };
        entries.iter().any(|entry| entry.allows(host, port))
    };
    if let Some(authority) = request.url.literal_authority() {
        // Say which port is meant: an entry without one allows only 443.
        let authority = if authority.contains(':') || default_port == 443 {
            authority
        } else {
            format!("{authority}:{default_port}")
        };
        if !covered(&authority) {
            out.push(
                Diagnostic::new(
                    Code::HostNotAllowed,
                    request.url.span,
                    format!(
                        "`{authority}` is not covered by the egress of api `{}`",
                        api.name
                    ),
                )
                .label("request host")
                .with_label(api.egress_span, "egress")
                .help(format!(
                    "add `{authority}` to `egress`, or call a host that is listed"
                )),
            );
        }
        return;
    }
    let text_before = |param: &Spanned<String>| -> String {
        request
            .url
            .authority
            .iter()
            .map(|piece| match piece {
                Piece::Text(text) => text.clone(),
                Piece::Param(p) if p.node == param.node => "{}".to_string(),
                Piece::Param(_) => String::new(),
            })
            .collect()
    };
    for host_param in request.url.host_params() {
        let Some(param) = action
            .params
            .iter()
            .find(|p| p.name.node == host_param.node)
        else {
            continue;
        };
        if param.data_type.family != TypeFamily::Text {
            out.push(
                Diagnostic::new(
                    Code::HostNotAllowed,
                    param.data_type.span,
                    format!("host parameter `{}` must be a string", param.name),
                )
                .label("not varchar")
                .help("declare it `varchar`"),
            );
        }
        let shape = text_before(host_param);
        for value in param.default.iter().chain(&param.allowed) {
            if let Literal::String(text) = &value.node {
                let authority = shape.replace("{}", text);
                if !covered(&authority) {
                    out.push(
                        Diagnostic::new(
                            Code::HostNotAllowed,
                            value.span,
                            format!(
                                "`{authority}` is not covered by the egress of api `{}`",
                                api.name
                            ),
                        )
                        .label("host value")
                        .with_label(api.egress_span, "egress")
                        .help(format!(
                            "add `{authority}` to `egress`, or change the value"
                        )),
                    );
                }
            }
        }
    }
}

/// Snowflake's limit on a procedure or function definition.
const MAX_BODY_BYTES: usize = 1 << 20;

/// The `_snowflake` accessors a handler may call, with the secret body kinds they fit.
const ACCESSORS: &[&str] = &[
    "get_generic_secret_string",
    "get_username_password",
    "get_oauth_access_token",
    "get_cloud_provider_token",
];

fn check_handler(
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

/// Snowflake's limit on identifier length.
const MAX_NAME: usize = 255;

fn check_names(project: &Project, out: &mut Vec<Diagnostic>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_matches_within_one_label() {
        assert!(host_matches("*.example.com", "api.example.com"));
        assert!(!host_matches("*.example.com", "a.b.example.com"));
        assert!(host_matches(
            "snowflake-*.google.com",
            "snowflake-eu.google.com"
        ));
    }

    #[test]
    fn egress_entries_are_validated() {
        assert!(parse_host_port("api.example.com").is_ok());
        assert_eq!(
            parse_host_port("api.example.com:8443").unwrap().port,
            Some(8443)
        );
        assert_eq!(
            parse_host_port("https://api.example.com").unwrap_err().0,
            Code::BadEgressHost
        );
        assert_eq!(
            parse_host_port("api.example.com/v1").unwrap_err().0,
            Code::BadEgressHost
        );
        assert_eq!(
            parse_host_port("api.example.com:70000").unwrap_err().0,
            Code::BadEgressPort
        );
        assert_eq!(parse_host_port("*.com").unwrap_err().0, Code::BadWildcard);
        assert_eq!(
            parse_host_port("*.*.example.com").unwrap_err().0,
            Code::BadWildcard
        );
        assert_eq!(
            parse_host_port("api.*.example.com").unwrap_err().0,
            Code::BadWildcard
        );
        assert_eq!(
            parse_host_port("0.0.0.0:8080").unwrap_err().0,
            Code::BadEgressPort
        );
        assert!(parse_host_port("0.0.0.0:80").is_ok());
    }

    #[test]
    fn default_port_is_443() {
        let entry = parse_host_port("api.example.com").unwrap();
        assert!(entry.allows("api.example.com", 443));
        assert!(!entry.allows("api.example.com", 80));
        assert!(parse_host_port("api.example.com:0")
            .unwrap()
            .allows("api.example.com", 8080));
    }

    #[test]
    fn expiry_formats() {
        for ok in [
            "2027-01-01",
            "2027-01-01 00:00",
            "2027-01-01 00:00:00",
            "2027-01-01 00:00 UTC",
        ] {
            assert!(valid_expiry(ok), "{ok}");
        }
        for bad in [
            "2027-1-01",
            "2027-13-01",
            "2027-01-01 24:00",
            "tomorrow",
            "2027-01-01T00:00:00",
        ] {
            assert!(!valid_expiry(bad), "{bad}");
        }
    }

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
