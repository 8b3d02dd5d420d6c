//! The minijinja environment: every template under `templates/` with the quoting filters
//! they use, built once per process, and [`Renderer::template`], which renders one of them
//! and turns a failure into E0901.

use std::sync::OnceLock;

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

use super::{internal, python, snowflake, Renderer};
use crate::diagnostic::Diagnostic;
use crate::model::Api;

/// The template environment, built once per process: parsing the templates is the costly part
/// and nothing in it depends on the input.
pub(super) fn environment() -> Result<&'static Environment<'static>, String> {
    static ENVIRONMENT: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENVIRONMENT
        .get_or_init(|| new_environment().map_err(|error| format!("{error:#}")))
        .as_ref()
        .map_err(Clone::clone)
}

/// A new environment: strict about undefined variables, nothing escaped (the filters quote),
/// block tags trimmed so that templates can be laid out readably.
fn new_environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    for (name, source) in [
        (
            "network_rule.sql",
            include_str!("templates/network_rule.sql.j2"),
        ),
        (
            "security_integration.sql",
            include_str!("templates/security_integration.sql.j2"),
        ),
        ("secret.sql", include_str!("templates/secret.sql.j2")),
        (
            "integration.sql",
            include_str!("templates/integration.sql.j2"),
        ),
        ("action.sql", include_str!("templates/action.sql.j2")),
        ("handler.py", include_str!("templates/handler.py.j2")),
    ] {
        env.add_template(name, source)?;
    }
    env.add_filter("sf_string", |text: String| snowflake::string(&text));
    env.add_filter("sf_strings", |items: Vec<String>| {
        items
            .iter()
            .map(|item| snowflake::string(item))
            .collect::<Vec<_>>()
            .join(", ")
    });
    env.add_filter("py_string", |text: String| python::string_literal(&text));
    Ok(env)
}

impl Renderer<'_> {
    /// Renders template `name` for `api`. A failure is a bug in eaxc, reported as E0901 on the
    /// api's name so that the user knows which spec to attach to the report.
    pub(super) fn template(
        &self,
        api: &Api,
        name: &str,
        ctx: minijinja::Value,
    ) -> Result<String, Diagnostic> {
        self.env
            .get_template(name)
            .and_then(|template| template.render(ctx))
            .map_err(|error| internal(api, &format!("template `{name}` failed: {error:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::diagnostic::Code;
    use crate::render::{render_with, Output};
    use crate::source::Sources;

    struct NoFiles;

    impl crate::lower::Loader for NoFiles {
        fn load(&self, _spec: &str, path: &str) -> Result<(String, String), String> {
            Err(format!("no file {path}"))
        }
    }

    #[test]
    fn a_failing_template_is_an_internal_error_not_a_panic() {
        let text = "api echo {\n  egress = [\"echo.example.com\"]\n  auth none\n}\n";
        let mut sources = Sources::default();
        let file = sources.add("echo.eax", text);
        let tree = crate::parse::parse(file, text).expect("parses");
        let config = Config::default();
        let (project, diagnostics) =
            crate::lower::lower(&[(file, tree)], &mut sources, &config, &NoFiles);
        assert!(diagnostics.is_empty());
        let plan = crate::plan::plan(&project);
        let mut output = Output::default();
        assert!(render_with(
            environment().unwrap(),
            &project,
            &plan,
            &sources,
            &config,
            &mut output
        )
        .is_ok());

        // The network rule template now names a variable nobody passes.
        let mut env = new_environment().unwrap();
        env.add_template("network_rule.sql", "{{ no_such_variable }}")
            .unwrap();
        let error = render_with(
            &env,
            &project,
            &plan,
            &sources,
            &config,
            &mut Output::default(),
        )
        .unwrap_err();
        assert_eq!(error.code, Code::Internal);
        assert!(error
            .message
            .starts_with("bug in eaxc: template `network_rule.sql` failed"));
        assert_eq!(sources.slice(error.span()), "echo");
    }
}
