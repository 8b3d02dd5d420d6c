//! Repository invariants: module docs, no leftover debugging, every code has a negative spec.

use crate::common::root;

fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn every_module_starts_with_a_doc_comment() {
    let mut paths = Vec::new();
    rust_files(&root().join("src"), &mut paths);
    rust_files(&root().join("tests"), &mut paths);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("//!"),
            "{} must start with a `//!` comment",
            path.display()
        );
    }
}

#[test]
fn no_debugging_leftovers() {
    let mut paths = Vec::new();
    rust_files(&root().join("src"), &mut paths);
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in ["dbg!(", "todo!(", "unimplemented!(", "FIXME", "XXX"] {
            assert!(
                !text.contains(needle),
                "{} contains {needle}",
                path.display()
            );
        }
    }
}

#[test]
fn every_code_has_a_negative_spec() {
    let specs: Vec<String> = std::fs::read_dir(root().join("specs/err"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for code in eaxc::diagnostic::Code::ALL {
        if *code == eaxc::diagnostic::Code::Internal {
            continue;
        }
        let prefix = format!("{}_", code.as_str().to_lowercase());
        assert!(
            specs
                .iter()
                .any(|spec| spec.starts_with(&prefix) && spec.ends_with(".eax")),
            "no specs/err/{prefix}*.eax for {code}"
        );
    }
}

/// Every environment variable eaxc reads is named in the README's "Environment variables"
/// section: no hidden switches. A read whose name is not a literal must be one of the reads the
/// README describes without naming them (the variables a spec's `env("NAME")` names).
#[test]
fn every_environment_variable_read_is_documented() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Environment variables\n")
        .nth(1)
        .expect("README.md has an `## Environment variables` section");
    let section = section.split("\n## ").next().unwrap_or(section);
    // Reads by a computed name, file by file.
    const COMPUTED: &[(&str, &str)] = &[("src/cli/resolve.rs", "std::env::var(name)")];
    let mut paths = Vec::new();
    rust_files(&root().join("src"), &mut paths);
    let mut literal_reads = 0;
    for path in paths {
        let text = std::fs::read_to_string(&path).unwrap();
        let relative = path
            .strip_prefix(root())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        for call in ["env::var(", "env::var_os(", "env::vars(", "env::vars_os("] {
            for (at, _) in text.match_indices(call) {
                let rest = &text[at + call.len()..];
                if let Some(name) = rest.strip_prefix('"').and_then(|r| r.split('"').next()) {
                    literal_reads += 1;
                    assert!(
                        section.contains(&format!("`{name}`")),
                        "{relative} reads {name}, which the README's Environment variables section does not name"
                    );
                } else {
                    let line = text[..at].rsplit('\n').next().unwrap_or("").to_string()
                        + call
                        + &rest[..rest.find('\n').unwrap_or(rest.len())];
                    assert!(
                        COMPUTED
                            .iter()
                            .any(|(file, read)| *file == relative && line.contains(read)),
                        "{relative} reads an environment variable by a computed name: {}",
                        line.trim()
                    );
                }
            }
        }
    }
    assert!(
        literal_reads >= 2,
        "the scan found the known reads (NO_COLOR, EAXC_TEST_FAIL)"
    );
}
