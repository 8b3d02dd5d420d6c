//! The `eaxc` binary: exit codes, what `build` writes, and that nothing is written on errors.

use std::process::Output;

use crate::common::{eaxc, root, Eaxc};

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_passes_on_the_examples() {
    let output = eaxc(&["check", "specs/ok"], &root());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(output.stdout.is_empty());
}

#[test]
fn check_fails_with_exit_1_and_a_located_diagnostic() {
    let output = eaxc(&["check", "specs/err/e0307_host_not_allowed.eax"], &root());
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(text.contains("E0307"), "{text}");
    assert!(
        text.contains("specs/err/e0307_host_not_allowed.eax:5:17"),
        "{text}"
    );
}

#[test]
fn unreadable_path_exits_2_naming_it() {
    let output = eaxc(&["check", "no/such/spec.eax"], &root());
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("no/such/spec.eax"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn usage_error_exits_2() {
    let output = eaxc(&["build", "--no-such-flag"], &root());
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn warnings_fail_only_with_deny_warnings() {
    let spec = "specs/err/w0313_sensitive_literal.eax";
    assert_eq!(eaxc(&["check", spec], &root()).status.code(), Some(0));
    assert_eq!(
        eaxc(&["check", "--deny-warnings", spec], &root())
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn build_writes_every_file_and_is_repeatable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    let out_arg = out.to_str().unwrap();
    let first = eaxc(&["build", "specs/ok", "--out", out_arg], &root());
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "010_network_rules.sql",
            "020_security_integrations.sql",
            "030_secrets.sql",
            "040_external_access_integrations.sql",
            "050_procedures.sql",
            "060_grants.sql",
            "deploy.sql",
            "examples.sql",
            "handlers",
            "manifest.yaml",
            "teardown.sql",
        ]
    );
    let before = std::fs::read_to_string(out.join("050_procedures.sql")).unwrap();
    let handler =
        std::fs::read_to_string(out.join("handlers/tableau__refresh_resource.py")).unwrap();
    assert_eq!(
        handler,
        std::fs::read_to_string(root().join("specs/ok/handlers/tableau_refresh.py")).unwrap(),
        "hand-written handlers are written exactly as embedded"
    );
    let second = eaxc(&["build", "specs/ok", "--out", out_arg], &root());
    assert_eq!(second.status.code(), Some(0));
    assert_eq!(
        before,
        std::fs::read_to_string(out.join("050_procedures.sql")).unwrap()
    );
}

#[test]
fn build_with_errors_leaves_the_output_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let output = eaxc(
        &[
            "build",
            "specs/err/e0301_bad_egress_host.eax",
            "--out",
            out.to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(output.status.code(), Some(1));
    let names: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
    assert_eq!(names.len(), 1, "only the user's own file is there");
    assert_eq!(
        std::fs::read_to_string(out.join("keep.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn secret_values_never_reach_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("generated");
    let canary = "canary-7f3a9c-value";
    let mut command =
        Eaxc::new(&root()).args(["build", "specs/ok", "--out", out.to_str().unwrap()]);
    for variable in [
        "MATILLION_CLIENT_ID",
        "MATILLION_CLIENT_SECRET",
        "TABLEAU_PAT",
        "IMMUTA_API_KEY",
        "IMMUTA_SYSTEM_PASSWORD",
        "SPCS_PAT",
        "WEATHER_PASSWORD",
        "GOOGLE_CLIENT_ID",
        "GOOGLE_CLIENT_SECRET",
        "GOOGLE_REFRESH_TOKEN",
    ] {
        command = command.env(variable, canary);
    }
    let output = command.run();
    assert_eq!(output.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&output.stdout).contains(canary));
    assert!(!stderr(&output).contains(canary));
    let mut stack = vec![out];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            let text = std::fs::read_to_string(&path).unwrap();
            assert!(!text.contains(canary), "{} leaks a secret", path.display());
        }
    }
}

#[test]
fn eaxc_yaml_is_found_by_walking_up_and_sets_names() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path();
    std::fs::write(
        project.join("eaxc.yaml"),
        "database: ANALYTICS\nschema: EGRESS\nout: build/sql\nnaming:\n  integration: \"{api}_ACCESS\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.join("specs")).unwrap();
    std::fs::copy(
        root().join("specs/ok/weather.eax"),
        project.join("specs/weather.eax"),
    )
    .unwrap();
    let output = eaxc(&["build", "specs"], project);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sql =
        std::fs::read_to_string(project.join("build/sql/040_external_access_integrations.sql"))
            .unwrap();
    assert!(
        sql.contains(r#"CREATE OR REPLACE EXTERNAL ACCESS INTEGRATION "WEATHER_ACCESS""#),
        "{sql}"
    );
    assert!(
        sql.contains(r#""ANALYTICS"."EGRESS"."EGRESS__WEATHER""#),
        "{sql}"
    );
    let handler =
        std::fs::read_to_string(project.join("build/sql/handlers/weather__current_conditions.py"))
            .unwrap();
    assert!(
        handler.contains("from specs/weather.eax"),
        "names are relative to eaxc.yaml"
    );
}

#[test]
fn a_bare_file_name_still_finds_eaxc_yaml_above() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("eaxc.yaml"), "database: FROM_CONFIG\n").unwrap();
    let specs = dir.path().join("specs");
    std::fs::create_dir_all(&specs).unwrap();
    std::fs::copy(
        root().join("specs/ok/weather.eax"),
        specs.join("weather.eax"),
    )
    .unwrap();
    let output = eaxc(&["build", "weather.eax"], &specs);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let sql = std::fs::read_to_string(dir.path().join("generated/010_network_rules.sql")).unwrap();
    assert!(sql.contains("\"FROM_CONFIG\""), "{sql}");
}

#[test]
fn a_spec_outside_the_project_finds_its_handler() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("handlers")).unwrap();
    std::fs::copy(
        root().join("specs/ok/tableau.eax"),
        dir.path().join("tableau.eax"),
    )
    .unwrap();
    std::fs::copy(
        root().join("specs/ok/handlers/tableau_refresh.py"),
        dir.path().join("handlers/tableau_refresh.py"),
    )
    .unwrap();
    let spec = dir.path().join("tableau.eax");
    let output = eaxc(&["check", spec.to_str().unwrap()], &root());
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}

/// Inputs that once crashed eaxc (found by comparing parsers on generated text): each must end
/// in an ordinary diagnostic and exit 1, from `check`, `fmt --check` and `build`, in the
/// output formats that draw source lines.
#[test]
fn pathological_specs_are_diagnosed_not_crashed() {
    let cases = [
        // 10,000 nested lists: the parse tree builder recursed once per level.
        (
            "lists",
            format!(
                "api a {{\n  egress = [\"a.example.com\"]\n  auth none\n  comment = {}{}\n}}\n",
                "[".repeat(10_000),
                "]".repeat(10_000)
            ),
        ),
        // 100,000 unclosed objects on one line: the error lies past column 65,535, where the
        // graphical renderer panicked.
        (
            "objects",
            format!("api a {{\n  x = {}\n}}\n", "{ a = ".repeat(100_000)),
        ),
        // A request body 3,000 lists deep: `fmt` overflowed its stack.
        (
            "body",
            format!(
                "api a {{\n  egress = [\"a.example.com\"]\n  auth none\n  procedure send() returns variant {{\n    request POST \"https://a.example.com/v1\" {{\n      json = {{ data = {}1{} }}\n    }}\n  }}\n}}\n",
                "[".repeat(3_000),
                "]".repeat(3_000)
            ),
        ),
        // A syntax error at column 70,000.
        (
            "column",
            format!("api a {{\n  x = {}@\n}}\n", " ".repeat(70_000)),
        ),
    ];
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in cases {
        let spec = format!("{name}.eax");
        std::fs::write(dir.path().join(&spec), text).unwrap();
        for args in [
            vec!["check", spec.as_str()],
            vec!["check", "--format", "json", spec.as_str()],
            vec!["fmt", "--check", spec.as_str()],
            vec!["build", spec.as_str(), "--out", "out"],
        ] {
            let output = eaxc(&args, dir.path());
            let stderr = stderr(&output);
            assert_eq!(output.status.code(), Some(1), "{name} {args:?}: {stderr}");
            assert!(!stderr.contains("panicked"), "{name} {args:?}: {stderr}");
            assert!(
                stderr.contains("E01") || String::from_utf8_lossy(&output.stdout).contains("E01"),
                "{name} {args:?}: {stderr}"
            );
        }
        assert!(!dir.path().join("out").exists(), "{name}: nothing written");
    }
}
