//! Escaping round trips: every string literal, identifier and body eaxc writes decodes back to
//! the original under Snowflake's rules, and every Python literal under `ast.literal_eval`,
//! for adversarial strings and proptest-generated ones (arbitrary Unicode mixed with quotes,
//! backslashes, `$`, newlines and NUL).

use std::process::Command;

use eaxc::render::{python, snowflake};
use proptest::prelude::*;
use proptest::strategy::ValueTree as _;
use proptest::test_runner::TestRunner;

use crate::common::{compile_specs, decode_sql_string, files};

const ADVERSARIAL: &[&str] = &[
    "",
    "'",
    "''",
    "\\",
    "\\'",
    "it's",
    "C:\\new\\table",
    "$$",
    "a$$b",
    "ends with $",
    "$",
    "\"",
    "\"\"",
    "line\nbreak\r\n\ttab",
    "\u{0}nul",
    "\\d+\\.\\d*",
    "é ü 中文 🙂",
    "\u{2028}\u{2029}\u{feff}",
    "<% ctx.env.X %>",
    "{param} {{literal}}",
    "%s %d %%",
    "'; DROP TABLE x; --",
    "\"); import os #",
    "\\u0041\\x41\\101",
    "R&D &name &{name} a && b &_x & 1",
    "{# comment #} {% if x %} {{ y }} <% z %>",
    "&",
    "{",
    "<",
    "%",
    "&&&{{{%%>>{#<%&a",
];

/// Characters that need escaping somewhere, or look like escapes, or are otherwise odd.
const TRICKY: &[char] = &[
    'a', 'Z', '0', ' ', '\'', '"', '\\', '$', '\n', '\r', '\t', '\u{0}', '\u{7f}', '\u{85}', 'é',
    '🙂', '{', '}', '%', '<', '>', ';', '-', '#', '\u{2028}', '\u{2029}', '\u{feff}', 'u', 'x',
    'n', '0', '7', '&', 'b', '_',
];

/// Strings mixing the tricky characters with arbitrary Unicode scalar values (controls, NUL,
/// astral planes included). proptest shrinks a failure to a minimal string.
fn text() -> impl Strategy<Value = String> {
    let c = prop_oneof![3 => proptest::sample::select(TRICKY), 1 => any::<char>()];
    proptest::collection::vec(c, 0..40).prop_map(|chars| chars.into_iter().collect())
}

/// Cases per property: cheap pure functions, so many; the whole file stays well under a
/// second in a debug build.
const CASES: u32 = 2_000;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: CASES,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn decode_ident(quoted: &str) -> String {
    let inner = quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .expect("quoted");
    assert!(
        !inner.replace("\"\"", "").contains('"'),
        "lone quote in {quoted}"
    );
    inner.replace("\"\"", "\"")
}

/// Where the first sequence starts that the Snowflake CLI's templating acts on (written here
/// independently of `eaxc::templating`, from the client's sources: string.Template with `&`,
/// whose identifiers are ASCII; Jinja's `{{`, `{%`, `{#`; the `<% %>` delimiters).
fn client_would_expand(text: &str) -> Option<usize> {
    const PAIRS: [&str; 7] = ["&&", "&{", "{{", "{%", "{#", "<%", "%>"];
    let bytes = text.as_bytes();
    (0..bytes.len()).find(|&i| {
        PAIRS
            .iter()
            .any(|pair| bytes[i..].starts_with(pair.as_bytes()))
            || (bytes[i] == b'&'
                && bytes
                    .get(i + 1)
                    .is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_'))
    })
}

fn check_sql_string(text: &str) {
    let literal = snowflake::string(text);
    let (decoded, rest) = decode_sql_string(&literal);
    assert_eq!(decoded, text, "{literal}");
    assert!(rest.is_empty(), "{literal} closes early");
    assert!(
        !literal.chars().any(char::is_control),
        "literal stays on one line, without raw control characters: {literal:?}"
    );
    assert!(
        client_would_expand(&literal).is_none(),
        "the Snowflake CLI would expand {literal}"
    );
}

fn check_ident(text: &str) {
    assert_eq!(decode_ident(&snowflake::ident(text)), text);
}

fn check_body(text: &str) {
    let body = snowflake::body(text);
    let decoded = if let Some(inner) = body.strip_prefix("$$") {
        let inner = inner.strip_suffix("$$").expect("closing $$");
        assert!(!inner.contains("$$") && !inner.ends_with('$'), "{body}");
        inner.to_string()
    } else {
        let (decoded, rest) = decode_sql_string(&body);
        assert!(rest.is_empty(), "{body} closes early");
        decoded
    };
    assert_eq!(decoded, text, "{body}");
    assert!(
        client_would_expand(&body).is_none(),
        "the Snowflake CLI would expand {body}"
    );
}

#[test]
fn adversarial_strings_round_trip() {
    for text in ADVERSARIAL {
        check_sql_string(text);
        check_ident(text);
        check_body(text);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn sql_string_literals_round_trip(text in text()) {
        check_sql_string(&text);
    }

    #[test]
    fn identifiers_round_trip(text in text()) {
        check_ident(&text);
    }

    #[test]
    fn bodies_round_trip(text in text()) {
        check_body(&text);
    }

    /// The `$$` fallback: bodies built around dollar signs always take the quoted form and
    /// still round-trip.
    #[test]
    fn dollar_bodies_round_trip(text in text(), dollars in 1_usize..4) {
        check_body(&format!("{text}{}", "$".repeat(dollars)));
        check_body(&format!("$${text}"));
    }
}

/// Python literals are decoded by `ast.literal_eval` in one python3 run: the strategy draws a
/// batch of [`CASES`] strings (plus the adversarial ones) from a deterministic runner.
#[test]
fn python_literals_round_trip_under_literal_eval() {
    let mut runner = TestRunner::deterministic();
    let strategy = text();
    let mut corpus: Vec<String> = ADVERSARIAL.iter().map(|s| (*s).to_string()).collect();
    corpus.extend((0..CASES).map(|_| strategy.new_tree(&mut runner).expect("a value").current()));
    let literals: Vec<String> = corpus
        .iter()
        .map(|text| python::string_literal(text))
        .collect();
    for literal in &literals {
        assert!(
            !literal.contains("$$"),
            "generated Python never holds `$$`: {literal}"
        );
        assert!(!literal.contains('\n'), "one line: {literal}");
        assert!(
            client_would_expand(literal).is_none(),
            "the Snowflake CLI would expand {literal}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("literals.py");
    std::fs::write(&source, literals.join("\n") + "\n").unwrap();
    let script = "import ast, json, sys\n\
                  lines = open(sys.argv[1], encoding='utf-8').read().split('\\n')[:-1]\n\
                  out = [ast.literal_eval(line) for line in lines]\n\
                  sys.stdout.write(json.dumps(out))\n";
    let output = Command::new("python3")
        .args(["-c", script, source.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let decoded: Vec<String> = serde_json::from_slice(&output.stdout).expect("json list");
    for (index, (decoded, text)) in decoded.iter().zip(&corpus).enumerate() {
        assert_eq!(decoded, text, "literal {index}: {}", literals[index]);
    }
    assert_eq!(decoded.len(), corpus.len());
}

/// Writes `text` as an `.eax` string literal.
fn eax_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn comments_survive_the_whole_pipeline() {
    for (index, text) in ADVERSARIAL
        .iter()
        .enumerate()
        .filter(|(_, t)| !t.is_empty())
    {
        if text.contains('\0') {
            let spec = format!(
                "api nul {{ comment = {} egress = [\"a.example.com\"] auth none }}",
                eax_string(text)
            );
            let compilation = compile_specs(vec![("nul.eax".into(), spec)], None);
            assert_eq!(
                compilation.diagnostics[0].code,
                eaxc::diagnostic::Code::BadEscape,
                "NUL is refused"
            );
            continue;
        }
        let spec = format!(
            "api roundtrip {{\n  comment = {}\n  egress = [\"api.example.com\"]\n  auth none\n}}\n",
            eax_string(text)
        );
        let compilation = compile_specs(vec![(format!("case{index}.eax"), spec)], None);
        let output = compilation
            .output
            .unwrap_or_else(|| panic!("case {index} compiles"));
        let sql = &output.files["010_network_rules.sql"];
        let start = sql.find("COMMENT = ").expect("a comment") + "COMMENT = ".len();
        let (decoded, rest) = decode_sql_string(&sql[start..]);
        assert_eq!(decoded, format!("{text} (eaxc: egress of api roundtrip)"));
        assert!(
            rest.starts_with(';'),
            "the literal ends where the statement does"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..config() })]

    /// Generated comments go through the whole pipeline (the `.eax` lexer, lowering and the
    /// SQL renderer) and come back unchanged.
    #[test]
    fn generated_comments_survive_the_whole_pipeline(text in text()) {
        prop_assume!(!text.contains('\0') && !text.is_empty());
        let spec = format!(
            "api roundtrip {{\n  comment = {}\n  egress = [\"api.example.com\"]\n  auth none\n}}\n",
            eax_string(&text)
        );
        let compilation = compile_specs(vec![("case.eax".into(), spec)], None);
        let output = compilation.output.expect("compiles");
        let sql = &output.files["010_network_rules.sql"];
        let start = sql.find("COMMENT = ").expect("a comment") + "COMMENT = ".len();
        let (decoded, rest) = decode_sql_string(&sql[start..]);
        prop_assert_eq!(decoded, format!("{text} (eaxc: egress of api roundtrip)"));
        prop_assert!(rest.starts_with(';'));
    }
}

/// VARIANT and BINARY defaults and example arguments are expressions Snowflake accepts for those
/// types, escaped like any other literal.
#[test]
fn semi_structured_and_binary_values_are_written_as_conversions() {
    let spec = r#"api values {
  egress = ["api.example.com"]
  auth none
  procedure send(
    payload variant = "R&D",
    count variant = 42,
    flag variant = true,
    digest binary = "48656c6c6f",
    meta object = null,
  ) returns variant {
    request POST "https://api.example.com/send" {
      json = { payload = payload, count = count, flag = flag, digest = digest, meta = meta }
    }
    example {
      payload = "{}"
      digest  = "00FF"
    }
  }
}
"#;
    let compilation = compile_specs(vec![("values.eax".into(), spec.into())], None);
    assert!(
        compilation.diagnostics.is_empty(),
        "{:?}",
        compilation.diagnostics
    );
    let output = compilation.output.expect("compiles");
    let procedures = &output.files["050_procedures.sql"];
    for param in [
        r"payload VARIANT DEFAULT TO_VARIANT('R\x26D')",
        "count VARIANT DEFAULT TO_VARIANT(42)",
        "flag VARIANT DEFAULT TO_VARIANT(TRUE)",
        "digest BINARY DEFAULT TO_BINARY('48656c6c6f', 'HEX')",
        "meta OBJECT DEFAULT NULL",
    ] {
        assert!(procedures.contains(param), "{param} in\n{procedures}");
    }
    let examples = &output.files["examples.sql"];
    assert!(
        examples.contains("(payload => TO_VARIANT('{}'), digest => TO_BINARY('00FF', 'HEX'))"),
        "{examples}"
    );
}

/// The spec directories whose whole output is checked below: the examples, the handler test
/// specs and the adversarial specs that put template syntax everywhere a spec can.
const SPEC_DIRS: [&str; 3] = ["specs/ok", "tests/handler_specs", "tests/snowcli_specs"];

/// Removes eaxc's own secret templates (`'<% ctx.env.NAME | ... %>'`), the one template syntax
/// it writes on purpose.
fn without_secret_templates(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("'<% ctx.env.") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("%>'").expect("a closed template") + start + 3;
        out.push('?');
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// No file `snow sql` would read holds anything its templating acts on, apart from the secret
/// templates; a generated handler holds none either. (.ci/snowcli/check.py runs the real client
/// over the same output.)
#[test]
fn no_sql_file_and_no_generated_handler_holds_template_syntax() {
    let mut checked = 0;
    for dir in SPEC_DIRS {
        let compilation = compile_specs(files(dir, "eax"), None);
        assert!(
            compilation
                .diagnostics
                .iter()
                .all(|d| d.severity != eaxc::diagnostic::Severity::Error),
            "{dir} compiles"
        );
        let output = compilation.output.expect("compiles");
        let hand_written: Vec<&String> = compilation
            .sources
            .iter()
            .filter(|file| file.name.ends_with(".py"))
            .map(|file| &file.text)
            .collect();
        for (path, text) in &output.files {
            let generated_handler = path.starts_with("handlers/") && !hand_written.contains(&text);
            if !(path.ends_with(".sql") || generated_handler) {
                continue;
            }
            let text = without_secret_templates(text);
            if let Some(at) = client_would_expand(&text) {
                let line = text[..at].matches('\n').count() + 1;
                panic!(
                    "{dir}: {path}:{line} holds template syntax: {:?}",
                    &text[at..(at + 40).min(text.len())]
                );
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "checked {checked} files");
}

/// A hand-written handler that holds template syntax gets a single-quoted body, which
/// Snowflake decodes back to the file byte for byte; one without gets `$$`.
#[test]
fn hand_written_bodies_decode_to_their_files() {
    let compilation = compile_specs(files("tests/snowcli_specs", "eax"), None);
    let output = compilation.output.expect("compiles");
    let sql = &output.files["050_procedures.sql"];
    let mut single_quoted = 0;
    let mut dollar_quoted = 0;
    for file in compilation
        .sources
        .iter()
        .filter(|file| file.name.ends_with(".py"))
    {
        // Each body follows `AS ` at the end of its statement's header.
        let decoded: Vec<String> = sql
            .match_indices("\nAS ")
            .map(|(at, _)| {
                let body = &sql[at + 4..];
                if let Some(inner) = body.strip_prefix("$$") {
                    inner[..inner.find("$$").expect("closing $$")].to_string()
                } else {
                    decode_sql_string(body).0
                }
            })
            .collect();
        assert!(
            decoded.contains(&file.text),
            "{} is not the decoded body of any procedure",
            file.name
        );
        if client_would_expand(&file.text).is_some() || file.text.contains("$$") {
            single_quoted += 1;
        } else {
            dollar_quoted += 1;
        }
    }
    assert!(
        single_quoted >= 1 && dollar_quoted >= 1,
        "{single_quoted} single-quoted, {dollar_quoted} $$ bodies"
    );
}
