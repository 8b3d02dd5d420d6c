//! Benchmark: generates a corpus of specs mixing every auth kind and action kind, then times
//! each stage in-process and the whole `eaxc build` process.
//!
//! Run with `cargo run --release --example bench -- [N_APIS ...]` (default: 100 1000 10000).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use eaxc::lower::Loader;
use eaxc::source::Sources;

const HANDLER: &str = "import _snowflake\n\n\ndef main(session, resource_name):\n    name = _snowflake.get_generic_secret_string(\"pat_name\")\n    value = _snowflake.get_generic_secret_string(\"pat_value\")\n    return f\"{name}:{len(value)}:{resource_name}\"\n";

/// One api of the corpus; the auth kind and the shape rotate with `index`.
fn api(index: usize) -> String {
    let name = format!("bench_api_{index:05}");
    let host = format!("api{index}.bench.example.com");
    let upper = name.to_uppercase();
    let auth = match index % 8 {
        0 => "auth none".to_string(),
        1 => format!("auth bearer {{ token = env(\"{upper}_TOKEN\") }}"),
        2 => format!("auth basic {{\n    username = \"svc\"\n    password = env(\"{upper}_PASSWORD\")\n  }}"),
        3 => format!("auth api_key {{\n    header = \"X-API-Key\"\n    value  = env(\"{upper}_KEY\")\n  }}"),
        4 => format!("auth snowflake_pat {{ token = env(\"{upper}_PAT\") }}"),
        5 => format!(
            "auth oauth2 {{\n    grant          = client_credentials\n    token_endpoint = \"https://login.bench.example.com/token\"\n    client_id      = env(\"{upper}_ID\")\n    client_secret  = env(\"{upper}_SECRET\")\n    scopes         = [\"read\", \"write\"]\n  }}"
        ),
        6 => format!(
            "auth oauth2 {{\n    grant                  = authorization_code\n    authorization_endpoint = \"https://login.bench.example.com/auth\"\n    token_endpoint         = \"https://login.bench.example.com/token\"\n    client_id              = env(\"{upper}_ID\")\n    client_secret          = env(\"{upper}_SECRET\")\n    refresh_token          = env(\"{upper}_REFRESH\")\n    refresh_token_expiry   = \"2030-01-01 00:00:00\"\n  }}"
        ),
        _ => format!("auth pat {{\n    name  = \"bench\"\n    token = env(\"{upper}_PAT\")\n  }}"),
    };
    let actions = if index % 8 == 7 {
        "  procedure refresh(resource_name varchar) returns varchar {\n    packages = [\"tableauserverclient\"]\n    handler  = file(\"handlers/pat.py\")\n  }\n".to_string()
    } else {
        format!(
            "  procedure create_item(\n    item_id varchar,\n    kind varchar in [\"a\", \"b\"],\n    region varchar = \"{host}\",\n  ) returns variant {{\n    comment = \"Create item {{item_id}} of api {index}\"\n    request POST \"https://{{region}}/v1/items/{{item_id}}\" {{\n      json = {{ id = item_id, kind = kind, label = \"item-{{item_id}}\", nested = {{ flag = true, n = 3 }} }}\n      headers = {{ Accept = \"application/json\" }}\n    }}\n    grant usage to role BENCH_ROLE\n    example {{\n      item_id = \"x1\"\n      kind    = \"a\"\n    }}\n  }}\n\n  function lookup(q varchar, limit number = 10) returns variant {{\n    request GET \"https://{host}/v1/search\" {{\n      query = {{ q = q, limit = limit }}\n    }}\n  }}\n"
        )
    };
    format!(
        "api {name} {{\n  comment = \"Benchmark api {index}\"\n  egress  = [\"{host}\", \"*.bench{index}.example.org\"]\n  {auth}\n\n{actions}}}\n"
    )
}

/// `n` apis spread over files of 50 apis each.
fn corpus(n: usize) -> Vec<(String, String)> {
    (0..n)
        .collect::<Vec<_>>()
        .chunks(50)
        .enumerate()
        .map(|(file, indexes)| {
            let text: String = indexes.iter().map(|i| api(*i) + "\n").collect();
            (format!("specs/bench_{file:04}.eax"), text)
        })
        .collect()
}

struct MemoryLoader;

impl Loader for MemoryLoader {
    fn load(&self, _spec: &str, path: &str) -> Result<(String, String), String> {
        Ok((format!("specs/{path}"), HANDLER.to_string()))
    }
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// The best of `runs` timings of `f`.
fn best<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let value = f();
        best = best.min(start.elapsed());
        last = Some(value);
    }
    (best, last.expect("at least one run"))
}

/// Peak resident memory of a finished child process, from `/usr/bin/time -f %M` (KiB).
fn process_run(binary: &Path, dir: &Path) -> (Duration, Option<u64>) {
    let time = Path::new("/usr/bin/time");
    let out = dir.join("generated");
    let start = Instant::now();
    let output = if time.exists() {
        Command::new(time)
            .args(["-f", "%M"])
            .arg(binary)
            .args(["build", "specs", "--out"])
            .arg(&out)
            .current_dir(dir)
            .output()
    } else {
        Command::new(binary)
            .args(["build", "specs", "--out"])
            .arg(&out)
            .current_dir(dir)
            .output()
    }
    .expect("eaxc runs");
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let peak = String::from_utf8_lossy(&output.stderr)
        .lines()
        .last()
        .and_then(|line| line.trim().parse::<u64>().ok());
    (elapsed, peak)
}

/// Writes a corpus of `n` apis into `dir/specs` (for profiling the binary by hand).
fn write_corpus(n: usize, dir: &Path) {
    std::fs::create_dir_all(dir.join("specs/handlers")).expect("corpus dir");
    for (name, text) in corpus(n) {
        std::fs::write(dir.join(name), text).expect("write spec");
    }
    std::fs::write(dir.join("specs/handlers/pat.py"), HANDLER).expect("write handler");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n, dir] = args.as_slice() {
        if flag == "--write-corpus" {
            write_corpus(n.parse().expect("a number of apis"), Path::new(dir));
            return;
        }
    }
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|arg| arg.parse().expect("sizes are numbers"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![100, 1000, 10_000]
    } else {
        sizes
    };
    let binary = std::env::current_exe()
        .expect("own path")
        .parent()
        .and_then(Path::parent)
        .expect("target/release/examples")
        .join("eaxc");
    assert!(
        binary.exists(),
        "build the binary first: cargo build --release"
    );
    println!("| APIs | spec bytes | parse | lower | check | plan | render | compile | process | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for n in sizes {
        let specs = corpus(n);
        let bytes: usize = specs.iter().map(|(_, text)| text.len()).sum();
        let runs = if n >= 10_000 { 3 } else { 10 };
        let config = eaxc::config::Config::default();

        let (parse, _) = best(runs, || {
            let mut apis = 0;
            for (index, (_, text)) in specs.iter().enumerate() {
                let file = eaxc::source::FileId(u32::try_from(index).expect("few files"));
                apis += eaxc::parse::parse(file, text).expect("parses").apis.len();
            }
            apis
        });
        let mut sources = Sources::default();
        let trees: Vec<_> = specs
            .iter()
            .map(|(name, text)| {
                let id = sources.add(name.clone(), text.clone());
                (id, eaxc::parse::parse(id, text).expect("parses"))
            })
            .collect();
        let (lower, (project, diagnostics)) = best(runs, || {
            let mut sources = sources.clone();
            eaxc::lower::lower(&trees, &mut sources, &config, &MemoryLoader)
        });
        assert!(diagnostics.is_empty(), "{}", diagnostics[0].message);
        let mut full_sources = sources.clone();
        let _ = eaxc::lower::lower(&trees, &mut full_sources, &config, &MemoryLoader);
        let (check, problems) = best(runs, || eaxc::check::check(&project, &full_sources));
        assert!(problems.is_empty(), "{}", problems[0].message);
        let (plan_time, plan) = best(runs, || eaxc::plan::plan(&project));
        let (render, output) = best(runs, || {
            eaxc::render::render(&project, &plan, &full_sources, &config)
        });
        let input = eaxc::Input {
            specs: specs.clone(),
            config: None,
        };
        let (compile, _) = best(runs, || eaxc::compile(&input, &MemoryLoader));

        let dir = tempfile_dir(n);
        write_corpus(n, &dir);
        let mut process = Duration::MAX;
        let mut peak = None;
        for _ in 0..runs {
            let (elapsed, memory) = process_run(&binary, &dir);
            if elapsed < process {
                process = elapsed;
                peak = memory;
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
        println!(
            "| {n} | {bytes} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {} |",
            millis(parse),
            millis(lower),
            millis(check),
            millis(plan_time),
            millis(render),
            millis(compile),
            millis(process),
            peak.map_or_else(|| "n/a".to_string(), |kib| format!("{:.1} MiB", kib as f64 / 1024.0)),
        );
        assert!(output.files.len() > 10);
    }
}

fn tempfile_dir(n: usize) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("eaxc-bench-{}-{n}", std::process::id()))
}
