//! Stage 3, check: semantic rules over the [`Project`] → diagnostics. Everything Snowflake
//! would reject at deploy time, or a handler would fail on at run time, that can be known
//! offline: egress hosts, request hosts, auth settings, parameters, examples, runtimes,
//! hand-written handlers and object names.

mod action;
mod auth;
mod egress;
mod handler;
mod names;

pub use action::RUNTIMES;
pub use egress::{egress_entries, host_matches, parse_host_port, HostPort};

use crate::diagnostic::Diagnostic;
use crate::model::Project;
use crate::source::Sources;
use action::check_action;
use auth::check_auth;
use egress::check_egress;
use names::check_names;

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
