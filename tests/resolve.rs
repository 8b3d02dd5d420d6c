//! `eaxc resolve`: values from the environment land, correctly escaped, in the secret
//! statements on stdout; missing variables, errors and terminals print nothing.

use std::path::Path;
use std::process::{Command, Output};

use crate::common::{decode_sql_string, Eaxc};

const SPEC: &str = r#"api tricky {
  egress = ["api.example.com"]
  auth bearer { token = env("TRICKY_TOKEN") }
  secret account password {
    username = env("TRICKY_USER")
    password = env("TRICKY_PASSWORD")
  }
  procedure ping() returns variant {
    request POST "https://api.example.com/ping" {
      json = { user = secret.account.username, password = secret.account.password }
    }
  }
}
"#;

const NAMES: [&str; 3] = ["TRICKY_PASSWORD", "TRICKY_TOKEN", "TRICKY_USER"];

fn resolve(dir: &Path, env: &[(&str, &str)], extra: &[&str]) -> Output {
    let command = Eaxc::new(dir)
        .args(["resolve"])
        .args(extra)
        .args(["tricky.eax"]);
    let command = NAMES
        .iter()
        .fold(command, |command, name| command.env_remove(name));
    env.iter()
        .fold(command, |command, (name, value)| command.env(name, value))
        .run()
}

fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tricky.eax"), SPEC).unwrap();
    dir
}

/// The decoded value of the first `KEY = '...'` clause after `from`.
fn clause(sql: &str, key: &str, from: usize) -> (String, usize) {
    let at = from + sql[from..].find(&format!("{key} = '")).expect(key) + key.len() + 3;
    (decode_sql_string(&sql[at..]).0, at)
}

#[test]
fn values_with_quotes_and_backslashes_round_trip() {
    let dir = project();
    let token = "it's C:\\new\\table' \\' '' \\\\ $$ \n\t é 🙂 <% ctx.env.X %>";
    let user = "o'brien\\";
    let password = "p@ss:w'o\"rd\\";
    let output = resolve(
        dir.path(),
        &[
            ("TRICKY_TOKEN", token),
            ("TRICKY_USER", user),
            ("TRICKY_PASSWORD", password),
        ],
        &[],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    for value in [token, user, password] {
        assert!(!stderr.contains(value), "a value reached stderr");
    }
    let sql = String::from_utf8(output.stdout).unwrap();
    let (decoded_token, at) = clause(&sql, "SECRET_STRING", 0);
    assert_eq!(decoded_token, token);
    let (decoded_user, at) = clause(&sql, "USERNAME", at);
    assert_eq!(decoded_user, user);
    assert_eq!(clause(&sql, "PASSWORD", at).0, password);
    assert!(
        !sql.contains("ctx.env.TRICKY"),
        "every placeholder is filled"
    );
    assert_eq!(sql.matches("CREATE OR REPLACE SECRET").count(), 2);
    assert!(!sql.contains("NETWORK RULE") && !sql.contains("PROCEDURE"));
    assert!(
        std::fs::read_dir(dir.path()).unwrap().count() == 1,
        "resolve writes no file"
    );
}

#[test]
fn missing_variables_exit_1_naming_each_and_print_nothing() {
    let dir = project();
    let output = resolve(dir.path(), &[("TRICKY_USER", "present-value")], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("TRICKY_PASSWORD, TRICKY_TOKEN"),
        "every missing name: {stderr}"
    );
    assert!(!stderr.contains("TRICKY_USER") && !stderr.contains("present-value"));
}

#[test]
fn spec_errors_exit_1_and_print_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("tricky.eax"),
        SPEC.replace("api.example.com\"]", "http://x\"]"),
    )
    .unwrap();
    let output = resolve(dir.path(), &[("TRICKY_TOKEN", "v")], &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
}

#[test]
fn json_diagnostics_are_refused_as_they_would_mix_with_the_sql() {
    let dir = project();
    let output = resolve(dir.path(), &[("TRICKY_TOKEN", "v")], &["--format", "json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

#[test]
fn a_terminal_is_refused_without_force() {
    let dir = project();
    let binary = env!("CARGO_BIN_EXE_eaxc");
    let run = |force: &str| {
        Command::new("script")
            .args([
                "-qec",
                &format!("{binary} resolve {force} tricky.eax"),
                "/dev/null",
            ])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .envs(NAMES.map(|name| (name, "TERMINAL-VALUE")))
            .output()
            .expect("script runs")
    };
    let refused = run("");
    let text = String::from_utf8_lossy(&refused.stdout);
    assert_eq!(refused.status.code(), Some(2), "{text}");
    assert!(
        text.contains("--force") && !text.contains("TERMINAL-VALUE"),
        "{text}"
    );
    let forced = run("--force");
    assert_eq!(forced.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&forced.stdout).contains("'TERMINAL-VALUE'"));
}
