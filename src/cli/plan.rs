//! `eaxc plan`: the objects a build creates, in deploy order, with what each depends on and
//! the script it lands in. Read from the manifest the build would write, so the plan and the
//! output can never disagree.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;

use clap::ValueEnum;
use serde::{Deserialize, Serialize};

use super::project::compile_project;
use super::{report, Color, Fatal, Format, SpecArgs};

/// `eaxc plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Spec files or directories (searched for `*.eax`); default: the project directory.
    pub paths: Vec<PathBuf>,
    /// How to print the plan.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
    /// When to colour diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,
}

/// How the plan is printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    /// Grouped by script, for people.
    Text,
    /// A YAML list of objects.
    Yaml,
    /// A JSON list of objects.
    Json,
}

/// One object of the plan, as the manifest records it.
#[derive(Debug, Deserialize, Serialize)]
struct Object {
    kind: String,
    name: String,
    api: String,
    file: String,
    depends_on: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    objects: Vec<Object>,
}

#[derive(Serialize)]
struct Plan<'a> {
    objects: &'a [Object],
}

pub(crate) fn plan(args: &PlanArgs) -> Result<u8, Fatal> {
    let specs = SpecArgs {
        paths: args.paths.clone(),
        deny_warnings: false,
        color: args.color,
        format: Format::Human,
    };
    let (_, compilation) = compile_project(&specs)?;
    if report(&compilation, &specs) {
        return Ok(1);
    }
    let Some(output) = &compilation.output else {
        return Ok(1);
    };
    let manifest = output
        .files
        .get("manifest.yaml")
        .ok_or_else(|| Fatal("bug in eaxc: the build wrote no manifest.yaml".into()))?;
    let manifest: Manifest = serde_norway::from_str(manifest)
        .map_err(|error| Fatal(format!("bug in eaxc: unreadable manifest: {error}")))?;
    let text = match args.format {
        PlanFormat::Text => text(&manifest.objects),
        PlanFormat::Yaml => serde_norway::to_string(&Plan {
            objects: &manifest.objects,
        })
        .map_err(|error| Fatal(format!("cannot print the plan: {error}")))?,
        PlanFormat::Json => {
            let mut json = serde_json::to_string_pretty(&Plan {
                objects: &manifest.objects,
            })
            .map_err(|error| Fatal(format!("cannot print the plan: {error}")))?;
            json.push('\n');
            json
        }
    };
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    Ok(0)
}

/// Objects grouped by script, each followed by what it needs.
fn text(objects: &[Object]) -> String {
    let width = objects.iter().map(|o| o.kind.len()).max().unwrap_or(0);
    let mut by_file: BTreeMap<&str, Vec<&Object>> = BTreeMap::new();
    for object in objects {
        by_file.entry(&object.file).or_default().push(object);
    }
    let mut out = String::new();
    for (index, (file, objects)) in by_file.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(file);
        out.push('\n');
        for object in objects {
            out.push_str(&format!(
                "  {:width$}  {}  (api {})\n",
                object.kind, object.name, object.api
            ));
            for dependency in &object.depends_on {
                out.push_str(&format!("  {:width$}    needs {dependency}\n", ""));
            }
        }
    }
    let apis: std::collections::BTreeSet<&str> = objects.iter().map(|o| o.api.as_str()).collect();
    out.push_str(&format!(
        "\n{} object(s) from {} api(s)\n",
        objects.len(),
        apis.len()
    ));
    out
}
