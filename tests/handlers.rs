//! Behaviour tests of the generated Python handlers: compiles `specs/ok` and
//! `tests/handler_specs` together, writes the output to a temporary directory and runs
//! `tests/python/handler_tests.py` on it (python3 with `requests`; a mock server on 127.0.0.1
//! stands in for every API and `tests/python/stubs/_snowflake.py` for Snowflake's secrets).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eaxc::diagnostic::Severity;
use eaxc::{compile, Input};

use crate::common::{files, root, RepoLoader};

/// The spec directories compiled together (api names are unique across them).
const SPEC_DIRS: &[&str] = &["specs/ok", "tests/handler_specs"];

/// The script stops itself after 50 s; this is the last resort.
const PYTHON_LIMIT: Duration = Duration::from_secs(90);

/// Compiles every spec and writes the output under `out`.
fn build(out: &Path) {
    let input = Input {
        specs: SPEC_DIRS.iter().flat_map(|dir| files(dir, "eax")).collect(),
        config: None,
    };
    let compilation = compile(&input, &RepoLoader);
    let problems: Vec<String> = compilation
        .diagnostics
        .iter()
        .filter(|diagnostic| {
            let file = diagnostic
                .labels
                .first()
                .map(|label| compilation.sources.get(label.span.file).name.as_str())
                .unwrap_or_default();
            diagnostic.severity == Severity::Error || file.starts_with("tests/handler_specs/")
        })
        .map(|diagnostic| {
            let file = diagnostic
                .labels
                .first()
                .map(|label| compilation.sources.get(label.span.file).name.clone())
                .unwrap_or_default();
            format!("{file}: {}: {}", diagnostic.code, diagnostic.message)
        })
        .collect();
    assert!(
        problems.is_empty(),
        "the specs must compile (and tests/handler_specs without warnings):\n{}",
        problems.join("\n")
    );
    let output = compilation.output.expect("no errors, so there is output");
    for (path, content) in &output.files {
        let target = out.join(path);
        std::fs::create_dir_all(target.parent().expect("a file in a directory"))
            .expect("create output directory");
        std::fs::write(&target, content).expect("write output file");
    }
}

#[test]
fn generated_handlers_behave() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("out");
    build(&out);
    let handlers = out.join("handlers");
    assert!(handlers.is_dir(), "the build wrote no handlers/");

    // Output goes to files, not pipes, so that a chatty failure cannot block the child.
    let stdout_path = dir.path().join("stdout.txt");
    let stderr_path = dir.path().join("stderr.txt");
    let script = root().join("tests/python/handler_tests.py");
    let mut child = Command::new("python3")
        .arg(&script)
        .arg(&handlers)
        .current_dir(root())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONIOENCODING", "utf-8")
        .env_remove("PYTHONPATH")
        .stdin(Stdio::null())
        .stdout(File::create(&stdout_path).expect("stdout file"))
        .stderr(File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .unwrap_or_else(|error| panic!("cannot run python3 {}: {error}", script.display()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for python3") {
            break Some(status);
        }
        if started.elapsed() > PYTHON_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = std::fs::read_to_string(&stdout_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let report = format!("--- stdout\n{stdout}\n--- stderr\n{stderr}");
    match status {
        None => panic!("handler_tests.py ran longer than {PYTHON_LIMIT:?}\n{report}"),
        Some(status) => {
            assert!(
                status.success(),
                "handler_tests.py failed ({status})\n{report}"
            );
            let last = stdout.lines().last().unwrap_or_default();
            assert!(
                last.ends_with(" passed, 0 failed") && !last.starts_with("0 passed"),
                "unexpected closing line {last:?}\n{report}"
            );
        }
    }
}
