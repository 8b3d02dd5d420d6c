//! `auth basic { username, password }`: HTTP basic auth from a PASSWORD secret.

use super::{Apply, AuthMethod, AuthSecret};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};
use crate::render::python::string_literal;

#[derive(Debug)]
struct Basic {
    username: SecretValue,
    password: SecretValue,
}

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let username = attrs.required_secret_value(lx, "username", false);
    let password = attrs.required_secret_value(lx, "password", true);
    attrs.finish(lx, &["username", "password"]);
    Some(Box::new(Basic {
        username: username?.node,
        password: password?.node,
    }))
}

impl AuthMethod for Basic {
    fn kind(&self) -> &'static str {
        "basic"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        vec![AuthSecret {
            suffix: None,
            alias: "credentials",
            body: SecretBody::Password {
                username: self.username.clone(),
                password: self.password.clone(),
            },
        }]
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        Ok(Apply {
            imports: vec!["base64"],
            lines: vec![
                format!(
                    "credentials = _snowflake.get_username_password({})",
                    string_literal("credentials")
                ),
                format!(
                    "pair = _secret(secrets, {}, credentials.username) + \":\" + _secret(secrets, {}, credentials.password)",
                    string_literal("credentials.username"),
                    string_literal("credentials.password")
                ),
                "token = base64.b64encode(pair.encode(\"utf-8\")).decode(\"ascii\")".to_string(),
                "secrets.append(token)".to_string(),
                super::set_header("Authorization", "Basic "),
            ],
        })
    }
}
