//! Mutation testing of the front end: tokens of the valid specs are deleted, duplicated,
//! swapped and replaced at random (seeded, so failures reproduce), and every mutant must
//! compile to a result — clean or with diagnostics — without panicking. A sample also goes
//! through the binary, which must exit 0 or 1.

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::common::{compile_specs, files, root, Eaxc};

/// Splits a spec into tokens: whitespace runs, strings, names/numbers, single characters.
pub(crate) fn tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let c = text[start..].chars().next().expect("not at the end");
        let mut end = start + c.len_utf8();
        if c.is_whitespace() {
            while end < text.len() && bytes[end].is_ascii_whitespace() {
                end += 1;
            }
        } else if c == '"' {
            while end < text.len() && bytes[end] != b'"' && bytes[end] != b'\n' {
                end += if bytes[end] == b'\\' { 2 } else { 1 };
            }
            end = (end + 1).min(text.len());
        } else if c.is_alphanumeric() || c == '_' {
            while end < text.len() && (bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_') {
                end += 1;
            }
        }
        while !text.is_char_boundary(end) {
            end += 1;
        }
        out.push(&text[start..end]);
        start = end;
    }
    out
}

/// Tokens that are not whitespace, for the mutations to pick from.
fn meaningful(tokens: &[&str]) -> Vec<usize> {
    (0..tokens.len())
        .filter(|i| !tokens[*i].trim().is_empty())
        .collect()
}

const EXTRA: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ",",
    "=",
    ".",
    "\"",
    "#",
    "api",
    "auth",
    "secret",
    "procedure",
    "function",
    "request",
    "grant",
    "example",
    "names",
    "env",
    "file",
    "in",
    "returns",
    "null",
    "true",
    "-1",
    "99999999999999999999",
    "\"\\u{110000}\"",
    "\"{x}\"",
    "\"$$\"",
    "é",
    "\u{0}",
];

pub(crate) fn mutate(rng: &mut fastrand::Rng, tokens: &[&str]) -> String {
    let mut out: Vec<&str> = tokens.to_vec();
    let picks = meaningful(tokens);
    for _ in 0..rng.usize(1..=3) {
        if out.is_empty() {
            break;
        }
        let index = picks[rng.usize(..picks.len())].min(out.len() - 1);
        match rng.u8(0..5) {
            0 => {
                out.remove(index);
            }
            1 => out.insert(index, out[index]),
            2 => {
                let other = picks[rng.usize(..picks.len())].min(out.len() - 1);
                out.swap(index, other);
            }
            3 => out[index] = EXTRA[rng.usize(..EXTRA.len())],
            _ => out.insert(index, EXTRA[rng.usize(..EXTRA.len())]),
        }
    }
    out.concat()
}

const MUTANTS_PER_SPEC: usize = 1500;

#[test]
fn mutated_specs_never_panic() {
    let mut rng = fastrand::Rng::with_seed(0x00ea_c0de);
    let mut tried = 0;
    let mut clean = 0;
    for (name, text) in files("specs/ok", "eax") {
        let spec_tokens = tokens(&text);
        assert_eq!(
            spec_tokens.concat(),
            text,
            "tokenising {name} loses nothing"
        );
        for case in 0..MUTANTS_PER_SPEC {
            let mutant = mutate(&mut rng, &spec_tokens);
            let result = catch_unwind(AssertUnwindSafe(|| {
                let compilation = compile_specs(vec![(name.clone(), mutant.clone())], None);
                let _ = eaxc::diagnostic::render_plain(
                    &compilation.diagnostics,
                    &compilation.sources,
                    80,
                );
                let _ =
                    eaxc::diagnostic::render_json(&compilation.diagnostics, &compilation.sources);
                assert_eq!(compilation.has_errors(), compilation.output.is_none());
                !compilation.has_errors()
            }));
            match result {
                Ok(true) => clean += 1,
                Ok(false) => {}
                Err(_) => panic!("{name} mutant {case} panicked:\n{mutant}"),
            }
            tried += 1;
        }
    }
    assert!(tried >= 10_000, "tried {tried} mutants");
    assert!(clean < tried, "mutations must break some specs");
    eprintln!("mutation: {tried} mutants, {clean} still compile");
}

#[test]
fn mutated_specs_exit_0_or_1_from_the_binary() {
    let mut rng = fastrand::Rng::with_seed(7);
    let dir = tempfile::tempdir().unwrap();
    let specs = files("specs/ok", "eax");
    for case in 0..40 {
        let (name, text) = &specs[case % specs.len()];
        let mutant = mutate(&mut rng, &tokens(text));
        let path = dir.path().join(format!("mutant_{case}.eax"));
        std::fs::write(&path, &mutant).unwrap();
        let output = Eaxc::new(&root())
            .args(["check", path.to_str().unwrap()])
            .run();
        let code = output.status.code();
        assert!(
            matches!(code, Some(0 | 1)),
            "{name} mutant {case}: exit {code:?}\n{mutant}"
        );
    }
}
