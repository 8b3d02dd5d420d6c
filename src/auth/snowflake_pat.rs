//! `auth snowflake_pat { token }`: a Snowflake programmatic access token, sent as
//! `Authorization: Snowflake Token="<pat>"` (Snowpark Container Services public endpoints).

use super::{read_generic, Apply, AuthMethod, AuthSecret};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};
use crate::render::python::string_literal;

#[derive(Debug)]
struct SnowflakePat {
    token: SecretValue,
}

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let token = attrs.required_secret_value(lx, "token", true);
    attrs.finish(lx, &["token"]);
    Some(Box::new(SnowflakePat { token: token?.node }))
}

impl AuthMethod for SnowflakePat {
    fn kind(&self) -> &'static str {
        "snowflake_pat"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        vec![AuthSecret {
            suffix: None,
            alias: "token",
            body: SecretBody::GenericString {
                value: self.token.clone(),
            },
        }]
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        Ok(Apply {
            imports: Vec::new(),
            lines: vec![
                read_generic("token"),
                format!(
                    "headers[{}] = {} + token + {}",
                    string_literal("Authorization"),
                    string_literal("Snowflake Token=\""),
                    string_literal("\"")
                ),
            ],
        })
    }
}
