//! Stage 4, plan: [`Project`] → [`Plan`], every object to create in deploy order with what it
//! depends on. Objects are ordered by stage (the numbered script they land in), then by api
//! name, then by declaration order, so the order never depends on the order of input files.
//! Dependencies only point to earlier stages, so the order is a topological one by construction.

use std::collections::HashMap;

use serde::Serialize;

use crate::model::{ActionKind, Project};

/// The numbered scripts, in deploy order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum Stage {
    /// `010_network_rules.sql`
    NetworkRules,
    /// `020_security_integrations.sql`
    SecurityIntegrations,
    /// `030_secrets.sql`
    Secrets,
    /// `040_external_access_integrations.sql`
    Integrations,
    /// `050_procedures.sql`
    Procedures,
    /// `060_grants.sql`
    Grants,
}

impl Stage {
    /// Every stage in order.
    pub const ALL: [Stage; 6] = [
        Stage::NetworkRules,
        Stage::SecurityIntegrations,
        Stage::Secrets,
        Stage::Integrations,
        Stage::Procedures,
        Stage::Grants,
    ];

    /// The script this stage is written to.
    #[must_use]
    pub fn file(self) -> &'static str {
        match self {
            Stage::NetworkRules => "010_network_rules.sql",
            Stage::SecurityIntegrations => "020_security_integrations.sql",
            Stage::Secrets => "030_secrets.sql",
            Stage::Integrations => "040_external_access_integrations.sql",
            Stage::Procedures => "050_procedures.sql",
            Stage::Grants => "060_grants.sql",
        }
    }

    /// What the script holds, and what the role running it needs.
    #[must_use]
    pub fn title(self) -> &'static str {
        match self {
            Stage::NetworkRules => "network rules (needs CREATE NETWORK RULE on the schema)",
            Stage::SecurityIntegrations => "API authentication security integrations (needs CREATE INTEGRATION on the account)",
            Stage::Secrets => "secrets (needs CREATE SECRET on the schema)",
            Stage::Integrations => "external access integrations (needs CREATE INTEGRATION on the account and USAGE on the secrets)",
            Stage::Procedures => "procedures and functions (needs CREATE PROCEDURE/FUNCTION, USAGE on the integrations, READ on the secrets)",
            Stage::Grants => "grants (needs OWNERSHIP or MANAGE GRANTS)",
        }
    }
}

/// What an object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The api's network rule.
    NetworkRule,
    /// The api's OAuth security integration.
    SecurityIntegration,
    /// A secret (index into the api's secrets).
    Secret(usize),
    /// The api's external access integration.
    Integration,
    /// A procedure or function (index into the api's actions).
    Action(usize),
    /// USAGE on the integration and READ on the secrets for a role (index into api grants).
    ApiGrant(usize),
    /// USAGE on an action for a role (action index, grant index).
    ActionGrant(usize, usize),
}

/// One object to create.
#[derive(Clone, Debug, Serialize)]
pub struct Object {
    /// Index of the api in the project.
    pub api: usize,
    /// What it is.
    pub target: Target,
    /// The script it lands in.
    pub stage: Stage,
    /// Indexes (into [`Plan::objects`]) of the objects it needs.
    pub depends_on: Vec<usize>,
}

impl Object {
    /// The kind as written in `manifest.yaml`.
    #[must_use]
    pub fn kind(&self, project: &Project) -> &'static str {
        match self.target {
            Target::NetworkRule => "network_rule",
            Target::SecurityIntegration => "security_integration",
            Target::Secret(_) => "secret",
            Target::Integration => "external_access_integration",
            Target::Action(action) => match project.apis[self.api].actions[action].kind {
                ActionKind::Procedure => "procedure",
                ActionKind::Function => "function",
            },
            Target::ApiGrant(_) | Target::ActionGrant(..) => "grant",
        }
    }
}

/// Every object in deploy order.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Plan {
    /// The objects.
    pub objects: Vec<Object>,
}

/// Orders the objects of a checked project.
#[must_use]
pub fn plan(project: &Project) -> Plan {
    let mut objects: Vec<Object> = Vec::new();
    // Where each (api, target) landed, so that dependencies are found without a scan of every
    // earlier object. Only looked up, never iterated, so the hash order cannot reach output.
    let mut positions: HashMap<(usize, Target), usize> = HashMap::new();
    let find = |positions: &HashMap<(usize, Target), usize>, api: usize, target: Target| {
        positions.get(&(api, target)).copied()
    };
    for stage in Stage::ALL {
        for (api_index, api) in project.apis.iter().enumerate() {
            let push = |objects: &mut Vec<Object>,
                        positions: &mut HashMap<(usize, Target), usize>,
                        target: Target,
                        depends_on: Vec<Option<usize>>| {
                positions.insert((api_index, target), objects.len());
                objects.push(Object {
                    api: api_index,
                    target,
                    stage,
                    depends_on: depends_on.into_iter().flatten().collect(),
                });
            };
            match stage {
                Stage::NetworkRules => {
                    push(&mut objects, &mut positions, Target::NetworkRule, vec![])
                }
                Stage::SecurityIntegrations => {
                    if api.auth.integration().is_some() {
                        push(
                            &mut objects,
                            &mut positions,
                            Target::SecurityIntegration,
                            vec![],
                        );
                    }
                }
                Stage::Secrets => {
                    for (index, secret) in api.secrets.iter().enumerate() {
                        let depends = if secret.body.is_oauth() {
                            vec![find(&positions, api_index, Target::SecurityIntegration)]
                        } else {
                            vec![]
                        };
                        push(&mut objects, &mut positions, Target::Secret(index), depends);
                    }
                }
                Stage::Integrations => {
                    let mut depends = vec![
                        find(&positions, api_index, Target::NetworkRule),
                        find(&positions, api_index, Target::SecurityIntegration),
                    ];
                    depends.extend(
                        (0..api.secrets.len())
                            .map(|i| find(&positions, api_index, Target::Secret(i))),
                    );
                    push(&mut objects, &mut positions, Target::Integration, depends);
                }
                Stage::Procedures => {
                    for (index, action) in api.actions.iter().enumerate() {
                        let mut depends = vec![find(&positions, api_index, Target::Integration)];
                        depends.extend(
                            action
                                .secrets
                                .iter()
                                .map(|i| find(&positions, api_index, Target::Secret(*i))),
                        );
                        push(&mut objects, &mut positions, Target::Action(index), depends);
                    }
                }
                Stage::Grants => {
                    for index in 0..api.grants.len() {
                        let mut depends = vec![find(&positions, api_index, Target::Integration)];
                        depends.extend(
                            (0..api.secrets.len())
                                .map(|i| find(&positions, api_index, Target::Secret(i))),
                        );
                        push(
                            &mut objects,
                            &mut positions,
                            Target::ApiGrant(index),
                            depends,
                        );
                    }
                    for (action_index, action) in api.actions.iter().enumerate() {
                        for grant in 0..action.grants.len() {
                            let depends =
                                vec![find(&positions, api_index, Target::Action(action_index))];
                            push(
                                &mut objects,
                                &mut positions,
                                Target::ActionGrant(action_index, grant),
                                depends,
                            );
                        }
                    }
                }
            }
        }
    }
    Plan { objects }
}
