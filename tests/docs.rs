//! Every ```eax block in the README and the language reference compiles without a diagnostic,
//! so the documentation cannot drift from the compiler.

use crate::common::{compile_specs, root};

/// The fenced blocks tagged `eax` in a Markdown file, with their line numbers.
pub(crate) fn eax_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```eax" => current = Some((index + 1, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => {
                blocks.push(current.take().expect("open block"))
            }
            Some((_, block)) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "an ```eax block is never closed");
    blocks
}

fn check_file(path: &str, minimum: usize) {
    let text = std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let blocks = eax_blocks(&text);
    assert!(
        blocks.len() >= minimum,
        "{path} has {} ```eax blocks",
        blocks.len()
    );
    for (line, block) in blocks {
        let name = format!("{path}:{line}.eax");
        let compilation = compile_specs(vec![(name.clone(), block)], None);
        let rendered =
            eaxc::diagnostic::render_plain(&compilation.diagnostics, &compilation.sources, 100);
        assert!(compilation.diagnostics.is_empty(), "{name}:\n{rendered}");
    }
}

#[test]
fn readme_examples_compile() {
    check_file("README.md", 1);
}

#[test]
fn language_reference_examples_compile() {
    check_file("docs/language.md", 10);
}

/// The first fenced block after `heading`: its tag and its text.
fn block_after<'a>(text: &'a str, heading: &str) -> Option<(&'a str, String)> {
    let start = text.find(heading)? + heading.len();
    let rest = &text[start..];
    let open = rest.find("```")?;
    let after_fence = &rest[open + 3..];
    let tag_end = after_fence.find('\n')?;
    let tag = after_fence[..tag_end].trim();
    let body = &after_fence[tag_end + 1..];
    let close = body.find("\n```")?;
    Some((tag, body[..=close].to_string()))
}

#[test]
fn every_code_is_explained_with_examples_that_hold() {
    use eaxc::diagnostic::Code;
    let mut checked = 0;
    for code in Code::ALL {
        let text = code.explanation();
        let heading = format!("# {}: {}", code.as_str(), code.title());
        assert!(
            text.starts_with(&heading),
            "docs/codes/{code}.md must start with `{heading}`"
        );
        if *code == Code::Internal {
            continue;
        }
        for section in [
            "## What it checks",
            "## Why it matters in Snowflake",
            "## Wrong",
            "## Right",
        ] {
            assert!(
                text.contains(section),
                "docs/codes/{code}.md lacks `{section}`"
            );
        }
        let (wrong_tag, wrong) = block_after(text, "## Wrong").expect("a wrong example");
        if wrong_tag == "eax" {
            let compilation = compile_specs(vec![(format!("docs/codes/{code}.md"), wrong)], None);
            let codes: Vec<Code> = compilation.diagnostics.iter().map(|d| d.code).collect();
            assert!(
                codes.contains(code),
                "the wrong example of {code} gives {codes:?}"
            );
            checked += 1;
        }
        let (right_tag, right) = block_after(text, "## Right").expect("a right example");
        if right_tag == "eax" {
            let compilation = compile_specs(vec![(format!("docs/codes/{code}.md"), right)], None);
            let rendered =
                eaxc::diagnostic::render_plain(&compilation.diagnostics, &compilation.sources, 100);
            assert!(
                compilation.diagnostics.is_empty(),
                "the right example of {code}:\n{rendered}"
            );
            checked += 1;
        }
    }
    assert!(checked >= 60, "only {checked} examples checked");
}

/// The auth kinds the compiler knows (as its E0203 help lists them, from `auth::KINDS`) are the
/// kinds docs/codes/E0203.md lists and docs/language.md gives a section each.
#[test]
fn docs_name_every_auth_kind() {
    let spec = "api kinds {\n  egress = [\"api.example.com\"]\n  auth no_such_kind\n}\n";
    let compilation = compile_specs(vec![("kinds.eax".into(), spec.into())], None);
    let help = compilation
        .diagnostics
        .iter()
        .find(|d| d.code == eaxc::diagnostic::Code::UnknownAuthKind)
        .and_then(|d| d.help.clone())
        .expect("an E0203 with help");
    let listed = help
        .split("the kinds are ")
        .nth(1)
        .expect("the list of kinds");
    let kinds: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
    assert!(kinds.len() >= 7, "kinds from {help:?}");
    let codes = std::fs::read_to_string(root().join("docs/codes/E0203.md")).unwrap();
    let language = std::fs::read_to_string(root().join("docs/language.md")).unwrap();
    for kind in kinds {
        assert!(
            codes.contains(&format!("`{kind}`")),
            "docs/codes/E0203.md does not list `{kind}`"
        );
        assert!(
            language
                .lines()
                .any(|line| line.starts_with("### 4.") && line.contains(&format!("`{kind}`"))),
            "docs/language.md has no section `### 4.x` for `{kind}`"
        );
    }
}
