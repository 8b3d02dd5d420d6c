//! `auth api_key { header | query, value }`: a key from a GENERIC_STRING secret, sent in a
//! header or as a query parameter.

use super::{read_generic, set_header, Apply, AuthMethod, AuthSecret};
use crate::diagnostic::{Code, Diagnostic};
use crate::lower::{Attrs, Lowerer};
use crate::model::{SecretBody, SecretValue};
use crate::render::python::string_literal;

#[derive(Debug)]
enum Placement {
    Header(String),
    Query(String),
}

#[derive(Debug)]
struct ApiKey {
    placement: Placement,
    value: SecretValue,
}

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    let value = attrs.required_secret_value(lx, "value", true);
    let header = attrs.string(lx, "header");
    let query = attrs.string(lx, "query");
    attrs.finish(lx, &["header", "query", "value"]);
    let placement = match (header, query) {
        (Some(header), None) => {
            crate::lower::check_header(lx, &header, None);
            Placement::Header(header.node)
        }
        (None, Some(query)) => Placement::Query(query.node),
        (Some(_), Some(query)) => {
            lx.report(
                Diagnostic::new(
                    Code::Duplicate,
                    query.span,
                    "`api_key` has both `header` and `query`",
                )
                .label("second placement")
                .help("send the key either in a header or as a query parameter, not both"),
            );
            return None;
        }
        (None, None) => {
            lx.report(
                Diagnostic::new(
                    Code::MissingAttribute,
                    attrs.span(),
                    "`auth api_key` needs `header` or `query`",
                )
                .label("says where the key goes")
                .help("add `header = \"X-API-Key\"` or `query = \"api_key\"`"),
            );
            return None;
        }
    };
    Some(Box::new(ApiKey {
        placement,
        value: value?.node,
    }))
}

impl AuthMethod for ApiKey {
    fn kind(&self) -> &'static str {
        "api_key"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        vec![AuthSecret {
            suffix: None,
            alias: "api_key",
            body: SecretBody::GenericString {
                value: self.value.clone(),
            },
        }]
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        let set = match &self.placement {
            Placement::Header(header) => set_header(header, ""),
            Placement::Query(name) => format!("params.append(({}, token))", string_literal(name)),
        };
        Ok(Apply {
            imports: Vec::new(),
            lines: vec![read_generic("api_key"), set],
        })
    }
}
