//! `auth pat { name, token }`: a personal access token pair (Tableau style). Signing in with a
//! PAT is an exchange specific to each API, so only a hand-written handler can use it; the
//! handler reads the aliases `pat_name` and `pat_value`.

use super::{Apply, AuthMethod, AuthSecret};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};

#[derive(Debug)]
struct Pat {
    name: SecretValue,
    token: SecretValue,
}

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let name = attrs.required_secret_value(lx, "name", false);
    let token = attrs.required_secret_value(lx, "token", true);
    attrs.finish(lx, &["name", "token"]);
    Some(Box::new(Pat {
        name: name?.node,
        token: token?.node,
    }))
}

impl AuthMethod for Pat {
    fn kind(&self) -> &'static str {
        "pat"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        vec![
            AuthSecret {
                suffix: None,
                alias: "pat_value",
                body: SecretBody::GenericString {
                    value: self.token.clone(),
                },
            },
            AuthSecret {
                suffix: Some("PAT_NAME"),
                alias: "pat_name",
                body: SecretBody::GenericString {
                    value: self.name.clone(),
                },
            },
        ]
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        Err("a PAT is exchanged for a session token in an API-specific sign-in; write the handler with `handler = file(\"...\")` and read the aliases `pat_name` and `pat_value`")
    }
}
