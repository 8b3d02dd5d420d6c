//! Egress entries (`host`, `host:port`, `*.domain`, `0.0.0.0`) and the request hosts they
//! must cover: the rules of Snowflake's HOST_PORT network rules, checked offline.

use std::collections::BTreeMap;

use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Action, Api, Literal, Piece, TypeFamily};
use crate::source::{Span, Spanned};

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

pub(super) fn check_egress(api: &Api, out: &mut Vec<Diagnostic>) {
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

pub(super) fn check_request_hosts(
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
}
