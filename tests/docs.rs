//! Every ```eax block in the README and the language reference compiles without a diagnostic,
//! so the documentation cannot drift from the compiler.

use crate::common::{compile_specs, root};

/// The fenced blocks tagged `eax` in a Markdown file, with their line numbers.
fn eax_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```eax" => current = Some((index + 1, String::new())),
            None => {}
            Some(_) if line.trim_start() == "```" => blocks.push(current.take().expect("open block")),
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
    assert!(blocks.len() >= minimum, "{path} has {} ```eax blocks", blocks.len());
    for (line, block) in blocks {
        let name = format!("{path}:{line}.eax");
        let compilation = compile_specs(vec![(name.clone(), block)], None);
        let rendered = eaxc::diagnostic::render_plain(&compilation.diagnostics, &compilation.sources, 100);
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
