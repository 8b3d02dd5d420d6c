//! Project settings from `eaxc.yaml`: defaults for database, schema, runtime, object naming,
//! the output directory and how secret values are written. Parsing is pure; the CLI finds
//! and reads the file.

use serde::{Deserialize, Serialize};

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// The settings of one project.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Database of schema-level objects.
    pub database: String,
    /// Schema of schema-level objects.
    pub schema: String,
    /// Python runtime of procedures and functions.
    pub runtime: String,
    /// Output directory of `build`, relative to `eaxc.yaml`.
    pub out: String,
    /// Object name patterns.
    pub naming: Naming,
    /// How a sensitive value read from the environment is written; `{name}` is replaced by the
    /// variable name. The default is the Snowflake CLI template syntax.
    pub secret_template: String,
}

/// Name patterns. `{api}`, `{action}` and `{secret}` are replaced, then the name is upper-cased.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Naming {
    /// The network rule.
    pub network_rule: String,
    /// The API_AUTHENTICATION security integration.
    pub security_integration: String,
    /// The api's main secret.
    pub secret: String,
    /// Further secrets of an api.
    pub extra_secret: String,
    /// The external access integration.
    pub integration: String,
    /// Procedures and functions.
    pub action: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            database: "EXTERNAL_ACCESS".into(),
            schema: "INTEGRATIONS".into(),
            runtime: "3.11".into(),
            out: "generated".into(),
            naming: Naming::default(),
            secret_template: "<% ctx.env.{name} %>".into(),
        }
    }
}

impl Default for Naming {
    fn default() -> Self {
        Naming {
            network_rule: "EGRESS__{api}".into(),
            security_integration: "OAUTH__{api}".into(),
            secret: "CREDS__{api}".into(),
            extra_secret: "CREDS__{api}__{secret}".into(),
            integration: "EAI__{api}".into(),
            action: "API__{api}__{action}".into(),
        }
    }
}

impl Naming {
    /// Fills a pattern and upper-cases the result.
    #[must_use]
    pub fn fill(pattern: &str, api: &str, action: &str, secret: &str) -> String {
        pattern
            .replace("{api}", api)
            .replace("{action}", action)
            .replace("{secret}", secret)
            .to_uppercase()
    }
}

impl Config {
    /// Parses `eaxc.yaml`; an empty file gives the defaults.
    pub fn parse(file: FileId, text: &str) -> Result<Config, Diagnostic> {
        if text.trim().is_empty() {
            return Ok(Config::default());
        }
        let config: Config = serde_norway::from_str(text).map_err(|error| {
            let offset = error.location().map_or(0, |location| location.index());
            let end = text[offset..]
                .find(['\n', ':'])
                .map_or(text.len(), |i| offset + i.max(1));
            let message = error.to_string();
            let message = message.split(" at line").next().unwrap_or(&message).to_string();
            Diagnostic::new(Code::BadConfig, Span::new(file, offset, end), format!("invalid eaxc.yaml: {message}"))
                .label("here")
                .help("the keys are database, schema, runtime, out, naming and secret_template; see docs/language.md")
        })?;
        if !config.secret_template.contains("{name}") {
            return Err(Diagnostic::new(
                Code::BadConfig,
                Span::new(file, 0, 0),
                "`secret_template` must contain `{name}`",
            )
            .help("for the Snowflake CLI write `secret_template: \"<% ctx.env.{name} %>\"`"));
        }
        if let Some(bad) = config
            .secret_template
            .chars()
            .find(|c| matches!(c, '\'' | '\\') || c.is_control())
        {
            return Err(Diagnostic::new(
                Code::BadConfig,
                Span::new(file, 0, 0),
                format!("`secret_template` cannot contain {bad:?}"),
            )
            .help("the template is written inside a SQL string literal as it is, so a quote, a backslash or a line break would end or change it"));
        }
        Ok(config)
    }
}
