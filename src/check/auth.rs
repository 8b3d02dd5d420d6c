//! Auth settings: what every kind needs of its secrets, and the OAuth security integration's
//! endpoints, scopes and refresh-token expiry.

use crate::auth::{OAuthGrant, OAuthIntegration};
use crate::diagnostic::{Code, Diagnostic};
use crate::model::{Api, SecretBody, SecretValue};

pub(super) fn check_auth(api: &Api, out: &mut Vec<Diagnostic>) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
