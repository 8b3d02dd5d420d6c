//! The output directory of `eaxc build`: obsolete files go, the user's files stay, a failed
//! build leaves it byte-identical, `--check` compares without writing, concurrent builds
//! never interleave.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use sha2::{Digest as _, Sha256};

use crate::common::Eaxc;

const TWO_ACTIONS: &str = r#"api svc {
  egress = ["api.example.com"]
  auth none
  procedure create_item(id varchar) returns variant {
    request POST "https://api.example.com/items/{id}"
  }
  function lookup(q varchar) returns variant {
    request GET "https://api.example.com/search" {
      query = { q = q }
    }
  }
}
"#;

const ONE_ACTION: &str = r#"api svc {
  egress = ["api.example.com"]
  auth none
  procedure create_item(id varchar) returns variant {
    request POST "https://api.example.com/items/{id}"
  }
}
"#;

const BROKEN: &str = r#"api svc {
  egress = ["api.example.com"]
  auth none
  procedure create_item(id varchar) returns variant {
    request POST "https://elsewhere.example.com/items/{id}"
  }
}
"#;

/// A scratch project: `specs/svc.eax` and the output directory `out/`.
struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn new(spec: &str) -> Self {
        let project = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        std::fs::create_dir_all(project.dir.path().join("specs")).unwrap();
        project.spec(spec);
        project
    }

    fn spec(&self, text: &str) {
        std::fs::write(self.dir.path().join("specs/svc.eax"), text).unwrap();
    }

    fn out(&self) -> PathBuf {
        self.dir.path().join("out")
    }

    fn eaxc(&self, args: &[&str]) -> Output {
        self.eaxc_env(args, &[])
    }

    fn eaxc_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        env.iter()
            .fold(
                Eaxc::new(self.dir.path()).args(args),
                |command, (name, value)| command.env(name, value),
            )
            .run()
    }

    fn build(&self) -> Output {
        self.eaxc(&["build", "specs", "--out", "out"])
    }

    /// Every entry beside the output directory other than the project's own.
    fn siblings(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name != "specs" && name != "out" && name != ".out.eaxc-lock")
            .collect();
        names.sort();
        names
    }
}

fn text(output: &Output) -> String {
    format!(
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Relative path → SHA-256 of every file under `dir` (directories end in `/`).
fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap() {
            let entry = entry.unwrap();
            let relative = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if entry.file_type().unwrap().is_dir() {
                out.insert(format!("{relative}/"), String::new());
                stack.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                out.insert(relative, format!("{:x}", Sha256::digest(&bytes)));
            }
        }
    }
    out
}

fn user_files(out: &Path) {
    std::fs::create_dir_all(out.join("handlers")).unwrap();
    std::fs::write(out.join("notes.md"), "# my notes\n").unwrap();
    std::fs::write(out.join("handlers/mine.py"), "def main():\n    pass\n").unwrap();
}

#[test]
fn a_dropped_action_goes_and_the_users_files_stay() {
    let project = Project::new(TWO_ACTIONS);
    let first = project.build();
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let out = project.out();
    user_files(&out);
    assert!(out.join("handlers/svc__lookup.py").is_file());
    let before = snapshot(&out);

    project.spec(ONE_ACTION);
    let second = project.build();
    assert_eq!(second.status.code(), Some(0), "{}", text(&second));
    let after = snapshot(&out);
    assert!(!out.join("handlers/svc__lookup.py").exists());
    assert!(out.join("handlers/svc__create_item.py").is_file());
    let procedures = std::fs::read_to_string(out.join("050_procedures.sql")).unwrap();
    assert!(!procedures.contains("LOOKUP"), "{procedures}");
    for user in ["notes.md", "handlers/mine.py"] {
        assert_eq!(before[user], after[user], "{user} is untouched");
    }
    let manifest = std::fs::read_to_string(out.join("manifest.yaml")).unwrap();
    assert!(!manifest.contains("svc__lookup"), "{manifest}");
    assert_eq!(project.siblings(), Vec::<String>::new());
}

#[test]
fn an_emptied_handlers_directory_goes_unless_it_holds_the_users_files() {
    let only_sql = "api svc {\n  egress = [\"api.example.com\"]\n  auth none\n}\n";
    let project = Project::new(ONE_ACTION);
    assert_eq!(project.build().status.code(), Some(0));
    project.spec(only_sql);
    let output = project.build();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(!project.out().join("handlers").exists(), "eaxc made it");

    let project = Project::new(ONE_ACTION);
    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    project.spec(only_sql);
    assert_eq!(project.build().status.code(), Some(0));
    let handlers: Vec<_> = std::fs::read_dir(project.out().join("handlers"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(handlers, ["mine.py"]);
}

/// The inode of every file under `out`, by relative path.
#[cfg(unix)]
fn inodes(out: &Path) -> BTreeMap<String, u64> {
    use std::os::unix::fs::MetadataExt as _;
    snapshot(out)
        .into_keys()
        .filter(|path| !path.ends_with('/'))
        .map(|path| {
            let inode = std::fs::metadata(out.join(&path)).unwrap().ino();
            (path, inode)
        })
        .collect()
}

#[cfg(unix)]
#[test]
fn unchanged_files_are_kept_and_changed_ones_replaced() {
    let project = Project::new(TWO_ACTIONS);
    assert_eq!(project.build().status.code(), Some(0));
    let first = inodes(&project.out());
    assert_eq!(project.build().status.code(), Some(0));
    assert_eq!(inodes(&project.out()), first, "a rebuild keeps every file");

    project.spec(ONE_ACTION);
    assert_eq!(project.build().status.code(), Some(0));
    let second = inodes(&project.out());
    // Written whole (a handler) and streamed in pieces (a stage script): kept when unchanged.
    for kept in ["handlers/svc__create_item.py", "010_network_rules.sql"] {
        assert_eq!(second[kept], first[kept], "{kept}");
    }
    for replaced in ["050_procedures.sql", "deploy.sql", "manifest.yaml"] {
        assert_ne!(second[replaced], first[replaced], "{replaced}");
    }
    assert!(!second.contains_key("handlers/svc__lookup.py"));
}

#[test]
fn a_build_with_errors_leaves_the_output_byte_identical() {
    let project = Project::new(TWO_ACTIONS);
    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    let before = snapshot(&project.out());
    project.spec(BROKEN);
    let output = project.build();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert_eq!(snapshot(&project.out()), before);
    assert_eq!(project.siblings(), Vec::<String>::new());
}

#[test]
fn a_write_failure_midway_leaves_the_output_byte_identical() {
    let project = Project::new(TWO_ACTIONS);
    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    let before = snapshot(&project.out());
    project.spec(ONE_ACTION);
    for fail in ["write:0", "write:5", "swap"] {
        let output = project.eaxc_env(
            &["build", "specs", "--out", "out"],
            &[("EAXC_TEST_FAIL", fail)],
        );
        assert_eq!(output.status.code(), Some(2), "{fail}: {}", text(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("injected"),
            "{fail}: {}",
            text(&output)
        );
        assert_eq!(snapshot(&project.out()), before, "{fail}");
        assert_eq!(project.siblings(), Vec::<String>::new(), "{fail}");
    }
    // The same failure into a directory that does not exist yet leaves nothing behind.
    let fresh = Project::new(ONE_ACTION);
    let output = fresh.eaxc_env(
        &["build", "specs", "--out", "out"],
        &[("EAXC_TEST_FAIL", "write:3")],
    );
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(!fresh.out().exists());
    assert_eq!(fresh.siblings(), Vec::<String>::new());
}

#[test]
fn an_interrupted_swap_is_repaired_by_the_next_build() {
    let project = Project::new(TWO_ACTIONS);
    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    // A build that died between its two renames: the old tree is aside, `out` is missing,
    // and a half-written new tree is lying around.
    let aside = project.dir.path().join(".out.eaxc-old-99999");
    std::fs::rename(project.out(), &aside).unwrap();
    std::fs::create_dir(project.dir.path().join(".out.eaxc-tmp-99998")).unwrap();
    project.spec(ONE_ACTION);
    let output = project.build();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(
        project.out().join("notes.md").is_file(),
        "{}",
        text(&output)
    );
    assert!(project.out().join("handlers/mine.py").is_file());
    assert!(!project.out().join("handlers/svc__lookup.py").exists());
    assert_eq!(project.siblings(), Vec::<String>::new());
}

#[test]
fn check_lists_stale_missing_and_obsolete_files_and_writes_nothing() {
    let project = Project::new(TWO_ACTIONS);
    let check = || project.eaxc(&["build", "--check", "specs", "--out", "out"]);

    // Nothing built yet: everything is missing, and nothing is created.
    let output = check();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("missing  deploy.sql"));
    assert!(!project.out().exists());
    assert_eq!(project.siblings(), Vec::<String>::new());
    assert!(!project.dir.path().join(".out.eaxc-lock").exists());

    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    let output = check();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(output.stdout.is_empty(), "{}", text(&output));

    let out = project.out();
    std::fs::write(out.join("030_secrets.sql"), "-- edited\n").unwrap();
    std::fs::remove_file(out.join("teardown.sql")).unwrap();
    project.spec(ONE_ACTION);
    let before = snapshot(&out);
    let output = check();
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.contains(&"stale    030_secrets.sql"), "{stdout}");
    assert!(lines.contains(&"missing  teardown.sql"), "{stdout}");
    assert!(
        lines.contains(&"obsolete handlers/svc__lookup.py"),
        "{stdout}"
    );
    assert!(lines.contains(&"stale    manifest.yaml"), "{stdout}");
    assert!(!stdout.contains("notes.md") && !stdout.contains("mine.py"));
    let mut sorted = lines.clone();
    sorted.sort_by_key(|line| &line[9..]);
    assert_eq!(lines, sorted, "sorted by path");
    assert_eq!(snapshot(&out), before, "--check writes nothing");
    assert_eq!(project.siblings(), Vec::<String>::new());

    let json = project.eaxc(&[
        "build", "--check", "--format", "json", "specs", "--out", "out",
    ]);
    assert_eq!(json.status.code(), Some(1));
    let document: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(document["check"]["up_to_date"], false);
    assert!(document["check"]["files"]
        .as_array()
        .unwrap()
        .contains(&serde_json::json!({"status": "missing", "path": "teardown.sql"})));

    assert_eq!(project.build().status.code(), Some(0));
    assert_eq!(check().status.code(), Some(0));
}

#[test]
fn a_directory_eaxc_did_not_write_is_never_clobbered() {
    let project = Project::new(ONE_ACTION);
    let out = project.out();
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("deploy.sql"), "-- mine\n").unwrap();
    let output = project.build();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("refusing to overwrite") && stderr.contains("deploy.sql"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("deploy.sql")).unwrap(),
        "-- mine\n"
    );
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    let check = project.eaxc(&["build", "--check", "specs", "--out", "out"]);
    assert!(String::from_utf8_lossy(&check.stdout).contains("conflict deploy.sql"));

    // Nor the project directory itself.
    let output = project.eaxc(&["build", "specs", "--out", "."]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot be the output directory"));
    assert!(!project.dir.path().join("deploy.sql").exists());

    // An empty directory, or one with only unrelated files, is fine.
    std::fs::remove_file(out.join("deploy.sql")).unwrap();
    std::fs::write(out.join("README.txt"), "mine").unwrap();
    let output = project.build();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert_eq!(
        std::fs::read_to_string(out.join("README.txt")).unwrap(),
        "mine"
    );
}

#[test]
fn concurrent_builds_never_interleave() {
    // Two spec sets and one output directory, all in one scratch directory.
    let shared = tempfile::tempdir().unwrap();
    let run = |specs: &str, out: &Path| {
        Eaxc::new(shared.path())
            .args([
                "build".as_ref(),
                specs.as_ref(),
                "--out".as_ref(),
                out.as_os_str(),
            ])
            .run()
    };
    for (name, text) in [("a", TWO_ACTIONS), ("b", ONE_ACTION)] {
        std::fs::create_dir_all(shared.path().join(name)).unwrap();
        std::fs::write(shared.path().join(name).join("svc.eax"), text).unwrap();
    }
    let references: Vec<BTreeMap<String, String>> = ["a", "b"]
        .iter()
        .map(|specs| {
            let reference = tempfile::tempdir().unwrap();
            let out = reference.path().join("out");
            assert_eq!(run(specs, &out).status.code(), Some(0));
            snapshot(&out)
        })
        .collect();
    assert_ne!(references[0], references[1]);

    let out = shared.path().join("out");
    let start = Instant::now();
    let mut waited = false;
    for round in 0..3 {
        let results: Vec<Output> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|index| {
                    let out = &out;
                    let run = &run;
                    scope.spawn(move || run(if index % 2 == 0 { "a" } else { "b" }, out))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        for output in &results {
            assert_eq!(
                output.status.code(),
                Some(0),
                "round {round}: {}",
                text(output)
            );
            let stderr = String::from_utf8_lossy(&output.stderr);
            assert!(stderr.matches("waiting for lock").count() <= 1, "{stderr}");
            waited |= stderr.contains("waiting for lock on");
        }
        let got = snapshot(&out);
        assert!(
            references.contains(&got),
            "round {round}: the output is not one whole build: {got:#?}"
        );
        let mut beside: Vec<String> = std::fs::read_dir(shared.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        beside.sort();
        assert_eq!(beside, [".out.eaxc-lock", "a", "b", "out"], "round {round}");
        assert!(start.elapsed() < Duration::from_secs(60), "bounded time");
    }
    // With 24 builds racing for one lock, some must have waited (and said so).
    assert!(waited, "no build ever waited for the lock");
}

#[test]
fn a_manifest_in_another_yaml_style_is_still_read() {
    let project = Project::new(TWO_ACTIONS);
    assert_eq!(project.build().status.code(), Some(0));
    user_files(&project.out());
    // The same list, as flow style with quoted paths (as a YAML tool might rewrite it).
    std::fs::write(
        project.out().join("manifest.yaml"),
        "files: [{path: \"handlers/svc__lookup.py\"}, {path: 'handlers/svc__create_item.py'}, \
         {path: deploy.sql}]\n",
    )
    .unwrap();
    project.spec(ONE_ACTION);
    let output = project.build();
    assert_eq!(
        output.status.code(),
        Some(2),
        "050_procedures.sql is not listed: {}",
        text(&output)
    );
    std::fs::write(
        project.out().join("manifest.yaml"),
        "files:\n- {path: \"handlers/svc__lookup.py\"}\n- path: 'handlers/svc__create_item.py'\n",
    )
    .unwrap();
    for file in std::fs::read_dir(project.out()).unwrap() {
        let path = file.unwrap().path();
        if path.extension().is_some_and(|ext| ext == "sql") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let output = project.build();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(!project.out().join("handlers/svc__lookup.py").exists());
    assert!(project.out().join("handlers/mine.py").exists());
    assert!(project.out().join("notes.md").exists());
}
