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
