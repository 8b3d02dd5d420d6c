//! The SQL written without templates: the grants of `060_grants.sql` (each granting usage on
//! the database and schema the first time a role needs it), `teardown.sql` and
//! `examples.sql`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use super::{snowflake, sql_value, Renderer, HEADER};
use crate::model::{Action, ActionKind, Api};
use crate::plan::{Object, Plan, Target};

impl Renderer<'_> {
    /// Usage on the api's database and schema for `role`, unless `granted` says an earlier
    /// grant gave it already.
    fn container_grants(
        api: &Api,
        role: &str,
        out: &mut String,
        granted: &mut BTreeSet<(String, String, String)>,
    ) {
        let key = (role.to_string(), api.database.clone(), api.schema.clone());
        if granted.insert(key) {
            let role = snowflake::ident(role);
            let _ = writeln!(
                out,
                "GRANT USAGE ON DATABASE {} TO ROLE {role};",
                snowflake::ident(&api.database)
            );
            let _ = writeln!(
                out,
                "GRANT USAGE ON SCHEMA {}.{} TO ROLE {role};",
                snowflake::ident(&api.database),
                snowflake::ident(&api.schema)
            );
        }
    }

    /// An api's grant to `role`: its integration and every secret of the api.
    pub(super) fn api_grant(
        &self,
        api: &Api,
        role: &str,
        granted: &mut BTreeSet<(String, String, String)>,
    ) -> String {
        let mut out = String::new();
        Self::container_grants(api, role, &mut out, granted);
        let quoted_role = snowflake::ident(role);
        let _ = writeln!(
            out,
            "GRANT USAGE ON INTEGRATION {} TO ROLE {quoted_role};",
            snowflake::ident(&api.names.integration)
        );
        for secret in &api.secrets {
            let _ = writeln!(
                out,
                "GRANT READ ON SECRET {} TO ROLE {quoted_role};",
                Self::qualified(api, &secret.object)
            );
        }
        out
    }

    /// An action's grant to `role`: usage on its procedure or function.
    pub(super) fn action_grant(
        &self,
        api: &Api,
        action: &Action,
        role: &str,
        granted: &mut BTreeSet<(String, String, String)>,
    ) -> String {
        let mut out = String::new();
        Self::container_grants(api, role, &mut out, granted);
        let _ = writeln!(
            out,
            "GRANT USAGE ON {} {}({}) TO ROLE {};",
            action.kind.sql(),
            Self::action_name(api, action),
            Self::signature(action),
            snowflake::ident(role)
        );
        out
    }

    /// `teardown.sql`. `names` are the objects' names, in plan order.
    pub(super) fn teardown(&self, plan: &Plan, names: &[String]) -> String {
        let mut out = String::from(HEADER);
        out.push_str(
            "-- Drops every object of the build, dependents first. Grants go with their objects.\n",
        );
        // Each api's objects, in plan order; scanning the whole plan per api was quadratic.
        let mut by_api: Vec<Vec<(&Object, &str)>> = vec![Vec::new(); self.project.apis.len()];
        for (object, name) in plan.objects.iter().zip(names) {
            by_api[object.api].push((object, name));
        }
        for (api, objects) in self.project.apis.iter().zip(&by_api) {
            let _ = write!(out, "\n-- api {}\n", api.name);
            for (object, name) in objects.iter().rev() {
                let _ = match object.target {
                    Target::NetworkRule => writeln!(out, "DROP NETWORK RULE IF EXISTS {name};"),
                    // By kind: an untyped DROP INTEGRATION would drop whatever integration
                    // of any kind holds the name.
                    Target::SecurityIntegration => {
                        writeln!(out, "DROP SECURITY INTEGRATION IF EXISTS {name};")
                    }
                    Target::Integration => {
                        writeln!(out, "DROP EXTERNAL ACCESS INTEGRATION IF EXISTS {name};")
                    }
                    Target::Secret(_) => writeln!(out, "DROP SECRET IF EXISTS {name};"),
                    Target::Action(index) => {
                        writeln!(
                            out,
                            "DROP {} IF EXISTS {name};",
                            api.actions[index].kind.sql()
                        )
                    }
                    Target::ApiGrant(_) | Target::ActionGrant(..) => Ok(()),
                };
            }
        }
        if self.project.apis.is_empty() {
            out.push_str("\n-- Nothing to drop.\n");
        }
        out
    }

    /// `examples.sql`: a `CALL` or `SELECT` for each `example` block, with named arguments.
    pub(super) fn examples(&self) -> String {
        let mut out = String::from(HEADER);
        out.push_str("-- The calls from `example` blocks, with named arguments.\n");
        let mut any = false;
        for api in &self.project.apis {
            for action in &api.actions {
                for example in &action.examples {
                    any = true;
                    let args: Vec<String> = action
                        .params
                        .iter()
                        .filter_map(|param| {
                            example
                                .args
                                .iter()
                                .find(|(name, _)| name.node == param.name.node)
                                .map(|(_, value)| {
                                    format!(
                                        "{} => {}",
                                        param.name,
                                        sql_value(&value.node, &param.data_type)
                                    )
                                })
                        })
                        .collect();
                    let call = format!("{}({})", Self::action_name(api, action), args.join(", "));
                    let _ = write!(out, "\n-- {}.{}\n", api.name, action.name);
                    match action.kind {
                        ActionKind::Procedure => {
                            let _ = writeln!(out, "CALL {call};");
                        }
                        ActionKind::Function => {
                            let _ = writeln!(out, "SELECT {call};");
                        }
                    }
                }
            }
        }
        if !any {
            out.push_str("\n-- No `example` blocks.\n");
        }
        out
    }
}
