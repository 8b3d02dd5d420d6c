//! Every subcommand through the binary, snapshotted with insta-cmd: help texts, exit codes,
//! stdout and stderr. Colour is off and temporary paths are filtered, so the snapshots are
//! the same on every machine.

use std::path::Path;
use std::process::Command;

use insta_cmd::assert_cmd_snapshot;

use crate::common::{root, snapshots, Eaxc};

/// The binary, run from `dir`, for `insta_cmd`.
fn eaxc(dir: &Path) -> Command {
    Eaxc::new(dir).command()
}

macro_rules! snapshot {
    ($name:literal, $temp:expr, $command:expr) => {
        snapshots($temp).bind(|| assert_cmd_snapshot!(concat!("cmd__", $name), $command))
    };
}

#[test]
fn help_of_every_subcommand() {
    let root = root();
    snapshot!("help", None, eaxc(&root).arg("--help"));
    for sub in [
        "build",
        "check",
        "explain",
        "fmt",
        "plan",
        "init",
        "completions",
    ] {
        snapshots(None).bind(|| {
            assert_cmd_snapshot!(
                format!("cmd__help_{sub}"),
                eaxc(&root).args([sub, "--help"])
            );
        });
    }
}

#[test]
fn usage_errors_exit_2() {
    let root = root();
    snapshot!("no_subcommand", None, eaxc(&root));
    snapshot!("unknown_subcommand", None, eaxc(&root).arg("deploy"));
    snapshot!(
        "check_missing_path",
        None,
        eaxc(&root).args(["check", "no/such/dir"])
    );
    snapshot!(
        "explain_unknown",
        None,
        eaxc(&root).args(["explain", "E0308x"])
    );
    snapshot!(
        "completions_unknown_shell",
        None,
        eaxc(&root).args(["completions", "tcsh"])
    );
}

#[test]
fn check_clean_and_with_problems() {
    let root = root();
    snapshot!("check_ok", None, eaxc(&root).args(["check", "specs/ok"]));
    snapshot!(
        "check_error",
        None,
        eaxc(&root).args(["check", "specs/err/e0307_host_not_allowed.eax"])
    );
    snapshot!(
        "check_error_json",
        None,
        eaxc(&root).args([
            "check",
            "--format",
            "json",
            "specs/err/e0307_host_not_allowed.eax"
        ])
    );
}

#[test]
fn explain_lists_and_explains() {
    let root = root();
    snapshot!("explain_list", None, eaxc(&root).arg("explain"));
    snapshot!(
        "explain_e0307",
        None,
        eaxc(&root).args(["explain", "e0307"])
    );
}

#[test]
fn plan_in_every_format() {
    let root = root();
    let spec = "specs/ok/matillion_dpc.eax";
    snapshot!("plan_text", None, eaxc(&root).args(["plan", spec]));
    snapshot!(
        "plan_yaml",
        None,
        eaxc(&root).args(["plan", "--format", "yaml", spec])
    );
    snapshot!(
        "plan_json",
        None,
        eaxc(&root).args(["plan", "--format", "json", spec])
    );
    snapshot!(
        "plan_error",
        None,
        eaxc(&root).args(["plan", "specs/err/e0307_host_not_allowed.eax"])
    );
}

#[test]
fn build_reports_what_it_wrote() {
    // Relative paths inside a temporary directory keep the recorded arguments stable.
    let temp = tempfile::tempdir().unwrap();
    let spec = root().join("specs/ok/matillion_dpc.eax");
    std::fs::copy(spec, temp.path().join("matillion_dpc.eax")).unwrap();
    snapshot!(
        "build_matillion",
        Some(temp.path()),
        eaxc(temp.path()).args(["build", "matillion_dpc.eax", "--out", "out"])
    );
    assert!(temp.path().join("out/manifest.yaml").is_file());
    snapshot!(
        "build_check_up_to_date",
        Some(temp.path()),
        eaxc(temp.path()).args(["build", "--check", "matillion_dpc.eax", "--out", "out"])
    );
    std::fs::write(temp.path().join("out/030_secrets.sql"), "-- edited\n").unwrap();
    std::fs::remove_file(temp.path().join("out/examples.sql")).unwrap();
    snapshot!(
        "build_check_stale",
        Some(temp.path()),
        eaxc(temp.path()).args(["build", "--check", "matillion_dpc.eax", "--out", "out"])
    );
}

#[test]
fn init_scaffolds_a_project_that_builds_and_never_overwrites() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    snapshot!("init", Some(dir), eaxc(dir).arg("init"));
    let mut written: Vec<String> = walk(dir);
    written.sort();
    assert_eq!(
        written,
        [".pre-commit-config.yaml", "eaxc.yaml", "specs/weather.eax"]
    );
    let before: Vec<Vec<u8>> = written
        .iter()
        .map(|path| std::fs::read(dir.join(path)).unwrap())
        .collect();
    snapshot!("init_again", Some(dir), eaxc(dir).arg("init"));
    for (path, bytes) in written.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(dir.join(path)).unwrap(),
            bytes,
            "{path} changed"
        );
    }
    // The scaffold is clean, without warnings, and builds where eaxc.yaml says.
    snapshot!(
        "init_then_check",
        Some(dir),
        eaxc(dir).args(["check", "--deny-warnings"])
    );
    snapshot!("init_then_build", Some(dir), eaxc(dir).arg("build"));
    // ... and is already in the canonical layout, so the pre-commit fmt hook passes at once.
    let fmt = eaxc(dir).args(["fmt", "--check"]).output().unwrap();
    assert_eq!(
        fmt.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&fmt.stdout)
    );
    assert!(dir.join("generated/deploy.sql").is_file());
    assert!(dir.join("generated/handlers/weather__current.py").is_file());
}

#[test]
fn init_keeps_an_existing_pre_commit_config_and_prints_the_hooks() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    std::fs::write(dir.join(".pre-commit-config.yaml"), "repos: []\n").unwrap();
    snapshot!("init_existing_pre_commit", Some(dir), eaxc(dir).arg("init"));
    assert_eq!(
        std::fs::read_to_string(dir.join(".pre-commit-config.yaml")).unwrap(),
        "repos: []\n"
    );
}

#[test]
fn completions_for_every_shell_name_every_subcommand() {
    let root = root();
    for shell in ["bash", "zsh", "fish"] {
        let output = eaxc(&root).args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for sub in [
            "build",
            "check",
            "explain",
            "fmt",
            "plan",
            "init",
            "completions",
        ] {
            assert!(script.contains(sub), "{shell} completions lack {sub}");
        }
        assert!(
            script.contains("deny-warnings"),
            "{shell} completions lack flags"
        );
    }
    // fish is the shortest script: snapshot it so that changes to the CLI are reviewed.
    snapshot!(
        "completions_fish",
        None,
        eaxc(&root).args(["completions", "fish"])
    );
}

/// Files under `dir`, relative, with `/`.
fn walk(dir: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let relative = path.strip_prefix(dir).unwrap();
                files.push(relative.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    files
}
