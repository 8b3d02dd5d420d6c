//! Escaping round trips: every string literal, identifier and body eaxc writes decodes back to
//! the original under Snowflake's rules, and every Python literal under `ast.literal_eval`,
//! for random and adversarial strings.

use std::process::Command;

use eaxc::render::{python, snowflake};

use crate::common::{compile_specs, decode_sql_string};

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
];

/// Random strings over an alphabet rich in characters that need escaping.
fn random_strings(count: usize) -> Vec<String> {
    const ALPHABET: &[char] = &[
        'a', 'Z', '0', ' ', '\'', '"', '\\', '$', '\n', '\r', '\t', '\u{0}', '\u{7f}', 'é', '🙂',
        '{', '}', '%', '<', '>', ';', '-', '#', '\u{2028}', 'u', 'x', 'n',
    ];
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    (0..count)
        .map(|_| {
            (0..rng.usize(0..24))
                .map(|_| ALPHABET[rng.usize(..ALPHABET.len())])
                .collect()
        })
        .collect()
}

fn corpus() -> Vec<String> {
    let mut all: Vec<String> = ADVERSARIAL.iter().map(|s| (*s).to_string()).collect();
    all.extend(random_strings(3000));
    all
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

#[test]
fn sql_string_literals_round_trip() {
    for text in corpus() {
        let literal = snowflake::string(&text);
        let (decoded, rest) = decode_sql_string(&literal);
        assert_eq!(decoded, text, "{literal}");
        assert!(rest.is_empty(), "{literal} closes early");
        assert!(
            !literal.contains('\n') && !literal.contains('\r'),
            "literal stays on one line"
        );
    }
}

#[test]
fn identifiers_round_trip() {
    for text in corpus() {
        assert_eq!(decode_ident(&snowflake::ident(&text)), text);
    }
}

#[test]
fn bodies_round_trip() {
    for text in corpus() {
        let body = snowflake::body(&text);
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
    }
}

#[test]
fn python_literals_round_trip_under_literal_eval() {
    let corpus = corpus();
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
    assert_eq!(decoded, corpus);
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
