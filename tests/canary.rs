//! Secret canaries: every `env("NAME")` of the bundled specs is set to a unique value, every
//! command runs through the binary on a copy of the specs, and no value may show up in any
//! file written or in any output — except on the stdout of `eaxc resolve`, exactly where the
//! secret statements hold it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use eaxc::render::snowflake;

use crate::common::{root, Eaxc};

/// Spec directories checked, each compiled on its own (copied with its handlers).
const SPEC_DIRS: &[&str] = &["specs/ok", "tests/handler_specs"];

/// Every command that must never print or write a value, run in the copied spec directory;
/// `{out}` is replaced by an output directory inside the same temporary directory.
const COMMANDS: &[&[&str]] = &[
    &["build", ".", "--out", "{out}"],
    &["check", "."],
    &["check", ".", "--format", "json"],
    &["check", ".", "--deny-warnings", "--color", "always"],
    &["explain"],
    &["explain", "W0313"],
    &["build", ".", "--check", "--out", "{out}"],
    &["plan", "."],
    &["plan", ".", "--format", "yaml"],
    &["plan", ".", "--format", "json"],
    &["fmt", "--check", "."],
    &["fmt", "."],
];

fn eaxc(args: &[String], dir: &Path, env: &BTreeMap<String, String>) -> Output {
    env.iter()
        .fold(Eaxc::new(dir).args(args), |command, (name, value)| {
            command.env(name, value)
        })
        .run()
}

/// Every `env("NAME")` in the spec texts of `dir`.
fn env_names(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    for path in walk(dir) {
        if path.extension().is_none_or(|e| e != "eax") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for (start, _) in text.match_indices("env(\"") {
            let rest = &text[start + 5..];
            let name = &rest[..rest.find('"').expect("closed env name")];
            names.push(name.to_string());
        }
    }
    names.sort();
    names.dedup();
    names
}

/// Every file under `dir`, recursively.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(from: &Path, to: &Path) {
    for path in walk(from) {
        let target = to.join(path.strip_prefix(from).unwrap());
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::copy(&path, &target).unwrap();
    }
}

/// Canary values: unique per variable and per run, escaping-neutral.
fn canaries(names: &[String]) -> BTreeMap<String, String> {
    let mut rng = fastrand::Rng::new();
    names
        .iter()
        .map(|name| (name.clone(), format!("CANARY-{name}-{:016x}", rng.u64(..))))
        .collect()
}

fn assert_no_canary(what: &str, bytes: &[u8], canaries: &BTreeMap<String, String>) {
    let text = String::from_utf8_lossy(bytes);
    for (name, value) in canaries {
        assert!(
            !text.contains(value.as_str()),
            "the value of {name} leaked into {what}"
        );
    }
}

fn fill(row: &[&str], out: &Path) -> Vec<String> {
    row.iter()
        .map(|arg| arg.replace("{out}", out.to_str().unwrap()))
        .collect()
}

/// Runs every command over one spec directory; returns how many ran.
fn run_all(spec_dir: &str) -> usize {
    let temp = tempfile::tempdir().unwrap();
    let project = temp.path().join("project");
    let out = temp.path().join("out");
    copy_dir(&root().join(spec_dir), &project);
    let names = env_names(&project);
    assert!(
        !names.is_empty(),
        "{spec_dir} reads no environment variable"
    );
    let canaries = canaries(&names);

    let mut ran = 0;
    for row in COMMANDS {
        let args = fill(row, &out);
        let output = eaxc(&args, &project, &canaries);
        let what = format!("`eaxc {}` on {spec_dir}", args.join(" "));
        assert!(
            matches!(output.status.code(), Some(0 | 1)),
            "{what} exited {:?}: {}",
            output.status.code(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_no_canary(&format!("the stdout of {what}"), &output.stdout, &canaries);
        assert_no_canary(&format!("the stderr of {what}"), &output.stderr, &canaries);
        ran += 1;
    }

    // `resolve` prints the values on stdout (checked in resolve.rs), nowhere else.
    let resolve = eaxc(&["resolve".into(), ".".into()], &project, &canaries);
    assert_eq!(
        resolve.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&resolve.stderr)
    );
    assert_no_canary("the stderr of `eaxc resolve`", &resolve.stderr, &canaries);
    let resolved = String::from_utf8(resolve.stdout).unwrap();

    // Nothing written anywhere holds a value, and the build did write placeholders.
    let written = walk(temp.path());
    assert!(
        written.iter().any(|path| path.starts_with(&out)),
        "build wrote nothing"
    );
    let mut placeholders = 0;
    for path in &written {
        let bytes = std::fs::read(path).unwrap();
        assert_no_canary(&path.display().to_string(), &bytes, &canaries);
        let text = String::from_utf8_lossy(&bytes);
        placeholders += names
            .iter()
            .filter(|name| text.contains(&format!("<% ctx.env.{name} |")))
            .count();
    }
    assert!(
        placeholders > 0,
        "the build wrote no `<% ctx.env.NAME ... %>`"
    );

    // resolve's stdout is the security integration and secret stages with each placeholder
    // literal replaced by the escaped value, and nothing else.
    let mut expected = ["020_security_integrations.sql", "030_secrets.sql"]
        .map(|file| std::fs::read_to_string(out.join(file)).unwrap())
        .join("\n");
    for (name, value) in &canaries {
        expected = expected.replace(
            &snowflake::template(&format!("<% ctx.env.{name} %>")),
            &snowflake::string(value),
        );
    }
    assert_eq!(resolved, expected, "resolve on {spec_dir}");
    assert!(
        canaries
            .values()
            .any(|value| resolved.contains(value.as_str())),
        "resolve printed no value for {spec_dir}"
    );
    ran + 1
}

#[test]
fn no_command_leaks_an_environment_value() {
    let ran: usize = SPEC_DIRS.iter().map(|dir| run_all(dir)).sum();
    assert!(ran >= SPEC_DIRS.len() * (COMMANDS.len() + 1));
}
