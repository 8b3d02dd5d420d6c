//! `auth bearer { token, prefix }`: `Authorization: <prefix> <token>` from a GENERIC_STRING
//! secret. `prefix` defaults to `Bearer`; an empty prefix sends the token alone.

use super::{read_generic, set_header, Apply, AuthMethod, AuthSecret};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};

#[derive(Debug)]
struct Bearer {
    token: SecretValue,
    prefix: String,
}

const ATTRIBUTES: &[&str] = &["token", "prefix"];

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let token = attrs.required_secret_value(lx, "token", true);
    let prefix = attrs
        .string(lx, "prefix")
        .map_or_else(|| "Bearer".to_string(), |p| p.node);
    attrs.finish(lx, ATTRIBUTES);
    Some(Box::new(Bearer {
        token: token?.node,
        prefix,
    }))
}

impl AuthMethod for Bearer {
    fn kind(&self) -> &'static str {
        "bearer"
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
        let prefix = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{} ", self.prefix)
        };
        Ok(Apply {
            imports: Vec::new(),
            lines: vec![read_generic("token"), set_header("Authorization", &prefix)],
        })
    }
}
