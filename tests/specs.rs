//! Spec-driven tests: every `specs/ok` spec compiles and each output file is snapshotted;
//! every `specs/err` spec fails with the code its file name starts with, and its rendered
//! diagnostics are snapshotted.

use crate::common::{compile_specs, files, root, snapshots};

#[test]
fn ok_specs_compile_and_match_their_snapshots() {
    let specs = files("specs/ok", "eax");
    assert!(specs.len() >= 6, "the six DESIGN examples live in specs/ok");
    for (name, text) in specs {
        let compilation = compile_specs(vec![(name.clone(), text)], None);
        let rendered =
            eaxc::diagnostic::render_plain(&compilation.diagnostics, &compilation.sources, 100);
        assert!(
            compilation.diagnostics.is_empty(),
            "{name} has diagnostics:\n{rendered}"
        );
        let output = compilation.output.expect("no errors, so output exists");
        let stem = name
            .trim_start_matches("specs/ok/")
            .trim_end_matches(".eax")
            .to_string();
        snapshots(None).bind(|| {
            for (path, content) in &output.files {
                let snapshot = format!("ok__{stem}__{}", path.replace('/', "__"));
                insta::assert_snapshot!(snapshot, content);
            }
        });
    }
}

#[test]
fn output_does_not_depend_on_spec_order() {
    let specs = files("specs/ok", "eax");
    let forward = compile_specs(specs.clone(), None).output.expect("compiles");
    let mut reversed = specs;
    reversed.reverse();
    let backward = compile_specs(reversed, None).output.expect("compiles");
    assert_eq!(forward, backward);
}

#[test]
fn all_ok_specs_compile_together() {
    let compilation = compile_specs(files("specs/ok", "eax"), None);
    assert!(!compilation.has_errors());
    let output = compilation.output.expect("compiles");
    for stage in [
        "010_network_rules.sql",
        "020_security_integrations.sql",
        "030_secrets.sql",
        "040_external_access_integrations.sql",
        "050_procedures.sql",
        "060_grants.sql",
        "deploy.sql",
        "teardown.sql",
        "examples.sql",
        "manifest.yaml",
    ] {
        assert!(output.files.contains_key(stage), "missing {stage}");
    }
    let handlers = output
        .files
        .keys()
        .filter(|path| path.starts_with("handlers/"))
        .count();
    assert_eq!(handlers, 7, "one handler per action");
}

#[test]
fn err_specs_fail_with_the_code_they_are_named_after() {
    let specs = files("specs/err", "eax");
    assert!(!specs.is_empty());
    for (name, text) in specs {
        let stem = name
            .trim_start_matches("specs/err/")
            .trim_end_matches(".eax")
            .to_string();
        let config = std::fs::read_to_string(root().join(format!("specs/err/{stem}.yaml"))).ok();
        let compilation = compile_specs(vec![(name.clone(), text)], config);
        let expected = stem.split('_').next().unwrap().to_uppercase();
        let codes: Vec<&str> = compilation
            .diagnostics
            .iter()
            .map(|d| d.code.as_str())
            .collect();
        assert!(
            codes.contains(&expected.as_str()),
            "{name}: expected {expected}, got {codes:?}"
        );
        if expected.starts_with('E') {
            assert!(compilation.has_errors(), "{name} must fail");
            assert!(compilation.output.is_none(), "{name}: no output on errors");
        } else {
            assert!(
                !compilation.has_errors(),
                "{name} must only warn, got {codes:?}"
            );
        }
        let rendered =
            eaxc::diagnostic::render_plain(&compilation.diagnostics, &compilation.sources, 80);
        snapshots(None).bind(|| insta::assert_snapshot!(format!("err__{stem}"), rendered));
    }
}

#[test]
fn bodies_are_stored_byte_identical_to_the_handler_files() {
    let output = compile_specs(files("specs/ok", "eax"), None)
        .output
        .expect("compiles");
    let sql = &output.files["050_procedures.sql"];
    let mut checked = 0;
    for (path, handler) in output
        .files
        .iter()
        .filter(|(path, _)| path.starts_with("handlers/"))
    {
        let first_line = handler.lines().next().expect("handlers are not empty");
        let start = sql
            .find(&format!("AS $${first_line}"))
            .or_else(|| {
                sql.find(&format!(
                    "AS '{}",
                    first_line.replace('\\', "\\\\").replace('\'', "''")
                ))
            })
            .unwrap_or_else(|| panic!("no body for {path}"));
        let literal = &sql[start + 3..];
        let stored = if let Some(rest) = literal.strip_prefix("$$") {
            rest[..rest.find("$$").expect("closing $$")].to_string()
        } else {
            let (text, rest) = crate::common::decode_sql_string(literal);
            assert!(rest.starts_with(';'), "{path}: the body ends the statement");
            text
        };
        assert_eq!(&stored, handler, "{path}");
        checked += 1;
    }
    assert_eq!(checked, 7);
    assert!(
        sql.contains("AS '# Extract ticket ids"),
        "the $$ handler uses a quoted body"
    );
}

#[test]
fn secrets_narrow_a_hand_written_handler_to_what_it_reads() {
    let spec = |narrow: bool| {
        let (a, b) = if narrow {
            ("secrets = [\"warehouse\"]", "secrets = []")
        } else {
            ("", "")
        };
        format!(
            r#"api two_handlers {{
  egress = ["api.example.com"]
  auth none
  secret warehouse password {{
    username = "SVC"
    password = env("WAREHOUSE_PASSWORD")
  }}
  procedure reads() returns variant {{
    handler = file("handlers/reads_password.py")
    {a}
  }}
  procedure ignores() returns variant {{
    handler = file("handlers/no_secrets.py")
    {b}
  }}
}}
"#
        )
    };
    let name = "specs/err/two_handlers.eax".to_string();
    let wide = compile_specs(vec![(name.clone(), spec(false))], None);
    let codes: Vec<&str> = wide.diagnostics.iter().map(|d| d.code.as_str()).collect();
    assert_eq!(
        codes,
        ["W0319"],
        "without `secrets`, every secret is attached"
    );

    let narrow = compile_specs(vec![(name, spec(true))], None);
    assert!(narrow.diagnostics.is_empty(), "{:?}", narrow.diagnostics);
    let sql = &narrow.output.expect("compiles").files["050_procedures.sql"];
    let statement = |action: &str| {
        let start = sql
            .find(&format!("API__TWO_HANDLERS__{action}\"("))
            .unwrap();
        &sql[start..start + sql[start..].find("AS $$").unwrap()]
    };
    assert!(statement("READS").contains("SECRETS = ('warehouse' = "));
    assert!(
        !statement("IGNORES").contains("SECRETS"),
        "{}",
        statement("IGNORES")
    );
}
