//! `auth none`: a public API; no secret, no header.

use super::{Apply, AuthMethod, AuthSecret};
use crate::lower::{Attrs, Lowerer};

#[derive(Debug)]
struct NoAuth;

pub(super) fn lower(attrs: &mut Attrs<'_>, lx: &mut Lowerer<'_>) -> Option<Box<dyn AuthMethod>> {
    attrs.finish(lx, &[]);
    Some(Box::new(NoAuth))
}

impl AuthMethod for NoAuth {
    fn kind(&self) -> &'static str {
        "none"
    }

    fn secrets(&self) -> Vec<AuthSecret> {
        Vec::new()
    }

    fn apply(&self) -> Result<Apply, &'static str> {
        Ok(Apply::default())
    }
}
