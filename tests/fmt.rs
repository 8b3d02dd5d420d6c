//! `eaxc fmt`: the formatted text compiles to exactly what the original compiles to, keeps
//! every comment in order, and formatting it again changes nothing. Checked on every spec and
//! documentation example of the repository, on a deliberately messy spec (snapshot), on seeded
//! mutants, and on random re-layouts of the specs (proptest); plus the command line.

use std::sync::LazyLock;

use eaxc::diagnostic::Code;
use eaxc::fmt::format;
use eaxc::source::FileId;
use proptest::prelude::*;

use crate::common::{compile_specs, eaxc, files, root, snapshots};

/// Every spec text of the repository that parses: the spec directories and every ```eax block
/// of the documentation. Specs with semantic errors are included: their diagnostics must not
/// change either.
static CORPUS: LazyLock<Vec<(String, String)>> = LazyLock::new(|| {
    let mut corpus = Vec::new();
    for dir in ["specs/ok", "specs/err", "specs/fmt", "tests/handler_specs"] {
        corpus.extend(files(dir, "eax"));
    }
    let mut docs = vec!["README.md".to_string(), "docs/language.md".to_string()];
    docs.extend(files("docs/codes", "md").into_iter().map(|(name, _)| name));
    for doc in docs {
        let text = std::fs::read_to_string(root().join(&doc)).expect("readable doc");
        for (line, block) in crate::docs::eax_blocks(&text) {
            corpus.push((format!("{doc}:{line}.eax"), block));
        }
    }
    corpus
        .into_iter()
        .filter(|(_, text)| eaxc::parse::parse(FileId(0), text).is_ok())
        .collect()
});

fn fmt(text: &str) -> String {
    format(FileId(0), text).unwrap_or_else(|errors| {
        panic!(
            "fmt refused a spec that parses: {:?}\n{text}",
            errors[0].message
        )
    })
}

/// Panics unless `formatted` compiles to the same files and the same diagnostics as `original`.
fn assert_same_build(name: &str, original: &str, formatted: &str) {
    let before = compile_specs(vec![(name.to_string(), original.to_string())], None);
    let after = compile_specs(vec![(name.to_string(), formatted.to_string())], None);
    let problems = |c: &eaxc::Compilation| -> Vec<(Code, String)> {
        c.diagnostics
            .iter()
            .map(|d| (d.code, d.message.clone()))
            .collect()
    };
    assert_eq!(
        problems(&before),
        problems(&after),
        "{name}: diagnostics changed\n{formatted}"
    );
    assert!(
        before.output == after.output,
        "{name}: the output changed\n--- original\n{original}\n--- formatted\n{formatted}"
    );
}

/// Panics unless formatting `text` is idempotent, keeps its comments and its build.
fn assert_formats_well(name: &str, text: &str) -> String {
    let once = fmt(text);
    let twice = fmt(&once);
    assert_eq!(once, twice, "{name}: formatting is not idempotent");
    assert_eq!(
        eaxc::fmt::comments(text),
        eaxc::fmt::comments(&once),
        "{name}: comments were lost or moved out of order\n{once}"
    );
    assert_same_build(name, text, &once);
    once
}

#[test]
fn every_spec_and_example_formats_idempotently_to_the_same_build() {
    let mut with_comments = 0;
    for (name, text) in CORPUS.iter() {
        assert_formats_well(name, text);
        if text.contains('#') {
            with_comments += 1;
        }
    }
    assert!(CORPUS.len() >= 150, "only {} specs", CORPUS.len());
    assert!(
        with_comments >= 10,
        "only {with_comments} specs with comments"
    );
    eprintln!("fmt: {} specs, {with_comments} with comments", CORPUS.len());
}

#[test]
fn the_design_examples_are_canonical_except_for_blank_lines() {
    // google_sheets and weather have no blank line around their multi-line `auth` and action
    // blocks, which the layout puts around every multi-line item of an api.
    let mut changed = Vec::new();
    for (name, text) in files("specs/ok", "eax") {
        if fmt(&text) != text {
            changed.push(name);
        }
    }
    assert_eq!(
        changed,
        ["specs/ok/google_sheets.eax", "specs/ok/weather.eax"]
    );
}

#[test]
fn a_messy_spec_gets_the_canonical_layout() {
    let text = std::fs::read_to_string(root().join("specs/fmt/messy.eax")).unwrap();
    let formatted = assert_formats_well("specs/fmt/messy.eax", &text);
    snapshots(None).bind(|| insta::assert_snapshot!("fmt__messy", formatted));
}

#[test]
fn layout_rules() {
    // A list that fits stays on one line; one that does not gets one entry per line and a
    // trailing comma; `=` aligns within a run that a blank line ends; in an api, a blank line
    // surrounds every multi-line item.
    let hosts: Vec<String> = (0..8).map(|i| format!("\"host{i}.example.com\"")).collect();
    let text = format!(
        "api a {{\nlong_name = 1\nb = [1,2]\n\nc = [{}] d = 2 }}",
        hosts.join(",")
    );
    let expected = format!(
        "api a {{\n  long_name = 1\n  b         = [1, 2]\n\n  c = [\n{}  ]\n\n  d = 2\n}}\n",
        hosts
            .iter()
            .map(|h| format!("    {h},\n"))
            .collect::<String>()
    );
    assert_eq!(fmt(&text), expected);
    // Trailing comments stay trailing, own-line comments stay on their line; blank lines
    // collapse to one and disappear after `{` and before `}`.
    let text = "api a {\n\n  x = 1 # after x\n\n\n  # before y\n  y = 2\n\n}\n";
    assert_eq!(
        fmt(text),
        "api a {\n  x = 1  # after x\n\n  # before y\n  y = 2\n}\n"
    );
    // The column limit counts: a 100-column line stays, a 101-column one breaks.
    let fits = format!("api a {{\n  egress = [\"{}\"]\n}}\n", "h".repeat(85));
    assert_eq!(fits.lines().nth(1).unwrap().len(), 100);
    assert_eq!(fmt(&fits), fits);
    let over = format!("api a {{\n  egress = [\"{}\"]\n}}\n", "h".repeat(86));
    assert!(fmt(&over).contains("egress = [\n"), "{}", fmt(&over));
}

#[test]
fn a_spec_that_does_not_parse_is_refused_with_its_diagnostics() {
    for (text, code) in [
        ("api a { comment = }", Code::Syntax),
        ("api a { comment = \"\\d\" }", Code::BadEscape),
    ] {
        let errors = format(FileId(0), text).unwrap_err();
        assert_eq!(errors[0].code, code, "{text}");
    }
}

#[test]
fn mutants_never_panic_and_format_idempotently() {
    use crate::mutation::{mutate, tokens};
    let mut rng = fastrand::Rng::with_seed(0x0f0f_e0a1);
    let (mut tried, mut formatted) = (0, 0);
    for (name, text) in files("specs/ok", "eax") {
        let spec_tokens = tokens(&text);
        for case in 0..300 {
            let mutant = mutate(&mut rng, &spec_tokens);
            let result = std::panic::catch_unwind(|| format(FileId(0), &mutant));
            let Ok(result) = result else {
                panic!("{name} mutant {case} panicked:\n{mutant}")
            };
            tried += 1;
            if let Ok(once) = result {
                formatted += 1;
                let twice = format(FileId(0), &once).expect("formatted text formats");
                assert_eq!(once, twice, "{name} mutant {case}:\n{mutant}");
                assert_eq!(eaxc::fmt::comments(&mutant), eaxc::fmt::comments(&once));
            }
        }
    }
    assert!(
        formatted > 100 && formatted < tried,
        "{formatted} of {tried}"
    );
}

// ---------------------------------------------------------------------------------------------
// Property tests: the specs of the corpus, laid out at random.

/// A significant piece of a spec: a token or a comment.
struct Piece<'a> {
    text: &'a str,
    comment: bool,
}

/// Splits a spec into pieces and the whitespace before each (and after the last).
fn pieces(text: &str) -> (Vec<Piece<'_>>, Vec<&str>) {
    let is_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n' | '\u{FEFF}');
    let (mut pieces, mut gaps) = (Vec::new(), Vec::new());
    let mut at = 0;
    loop {
        let start = at;
        while let Some(c) = text[at..].chars().next().filter(|c| is_space(*c)) {
            at += c.len_utf8();
        }
        gaps.push(&text[start..at]);
        let Some(c) = text[at..].chars().next() else {
            return (pieces, gaps);
        };
        let start = at;
        if c == '#' {
            at = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
        } else if c == '"' {
            let bytes = text.as_bytes();
            at += 1;
            while bytes[at] != b'"' {
                at += if bytes[at] == b'\\' { 2 } else { 1 };
            }
            at += 1;
        } else if "{}()[],=".contains(c) {
            at += 1;
        } else {
            while let Some(c) = text[at..]
                .chars()
                .next()
                .filter(|c| !is_space(*c) && !"{}()[],=#\"".contains(*c))
            {
                at += c.len_utf8();
            }
        }
        pieces.push(Piece {
            text: &text[start..at],
            comment: c == '#',
        });
    }
}

fn line_breaks(gap: &str) -> usize {
    gap.replace("\r\n", "\n").matches(['\n', '\r']).count()
}

/// Rewrites the whitespace between pieces from `choices`, keeping only what the layout may
/// depend on: whether a comment starts its line and where blank lines are. With `comments`,
/// also writes a comment into some gaps.
fn relayout(text: &str, choices: &[u8], comments: bool) -> String {
    const SPACES: &[&str] = &[" ", "  ", "\t", " \t "];
    const BREAKS: &[&str] = &[" ", "\n", "\t", "  \n    ", "\r\n  ", "\n\t"];
    let (pieces, gaps) = pieces(text);
    let mut choice = choices.iter().cycle().copied();
    let mut pick =
        |options: &[&'static str]| options[usize::from(choice.next().unwrap_or(0)) % options.len()];
    let mut out = String::new();
    for (index, piece) in pieces.iter().enumerate() {
        let gap = gaps[index];
        let breaks = line_breaks(gap);
        let after_comment = index > 0 && pieces[index - 1].comment;
        let space = pick(SPACES);
        let new_gap = if index == 0 {
            pick(BREAKS).to_string()
        } else if breaks >= 2 {
            format!("{space}\n{}\n{}", pick(SPACES), pick(SPACES))
        } else if after_comment || (piece.comment && breaks == 1) {
            format!("{space}\n{}", pick(SPACES))
        } else if piece.comment {
            space.to_string()
        } else {
            pick(BREAKS).to_string()
        };
        out.push_str(&new_gap);
        if comments && index > 0 && pick(&["", "", "", "c"]) == "c" {
            // A comment of its own: trailing when the gap so far has no line break.
            out.push_str(&format!("# note {index}\n{}", pick(SPACES)));
        }
        out.push_str(piece.text);
    }
    out.push('\n');
    out
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// The layout depends only on the tokens, the comments and where blank lines are: any
    /// other change of whitespace formats to the same text.
    #[test]
    fn relayout_formats_to_the_same_text(
        spec in 0..CORPUS.len(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let (name, text) = &CORPUS[spec];
        let moved = relayout(text, &choices, false);
        prop_assert_eq!(fmt(&moved), fmt(text), "{} relaid out:\n{}", name, moved);
    }

    /// Comments written between any two tokens survive, in order, without changing the build;
    /// the result is a fixed point.
    #[test]
    fn comments_anywhere_survive_formatting(
        spec in 0..CORPUS.len(),
        choices in prop::collection::vec(any::<u8>(), 1..64),
    ) {
        let (name, text) = &CORPUS[spec];
        let commented = relayout(text, &choices, true);
        assert_formats_well(name, &commented);
    }
}

// ---------------------------------------------------------------------------------------------
// The command line.

const MESSY: &str = "api a { egress=[\"a.example.com\"]   auth none # no auth\n}\n";

#[test]
fn fmt_check_prints_a_diff_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.eax");
    std::fs::write(&path, MESSY).unwrap();
    let output = eaxc(&["fmt", "--check", "x.eax"], dir.path());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stdout.starts_with("--- a/x.eax\n+++ b/x.eax\n@@"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n+  egress = [\"a.example.com\"]\n"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 file(s) would be reformatted"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), MESSY);
}

#[test]
fn fmt_rewrites_only_what_changes_and_then_passes_check() {
    let dir = tempfile::tempdir().unwrap();
    let messy = dir.path().join("messy.eax");
    let tidy = dir.path().join("tidy.eax");
    std::fs::write(&messy, MESSY).unwrap();
    let canonical = fmt("api b { egress = [\"b.example.com\"] auth none }");
    std::fs::write(&tidy, &canonical).unwrap();
    let before = std::fs::metadata(&tidy).unwrap().modified().unwrap();
    // No path: the project directory, like `check`.
    let output = eaxc(&["fmt"], dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("formatted 1 file(s)"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&messy).unwrap(), fmt(MESSY));
    assert_eq!(std::fs::read_to_string(&tidy).unwrap(), canonical);
    assert_eq!(
        std::fs::metadata(&tidy).unwrap().modified().unwrap(),
        before
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .filter(|name| name.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let check = eaxc(&["fmt", "--check"], dir.path());
    assert_eq!(check.status.code(), Some(0));
    assert!(check.stdout.is_empty());
}

#[test]
fn fmt_leaves_a_spec_with_a_syntax_error_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.eax");
    let text = "api a {\n  egress = [\"a.example.com\"\n}\n";
    std::fs::write(&path, text).unwrap();
    for args in [
        &["fmt", "broken.eax"][..],
        &["fmt", "--check", "broken.eax"],
    ] {
        let output = eaxc(args, dir.path());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("E0101"), "{stderr}");
        assert!(stderr.contains("broken.eax:2:12"), "{stderr}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
