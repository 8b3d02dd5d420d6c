//! Benchmark: generates a corpus of specs mixing every auth kind and action kind, then times
//! each stage in-process (best of several runs), and the whole `eaxc check` and `eaxc build`
//! processes on the corpus written to disk (median of several runs, with peak memory). `check`
//! does everything `build` does except writing files, so the difference is the writer's share.
//!
//! `cargo build --release && cargo run --release --example bench -- [--json] [N_APIS ...]`
//! (default sizes: 100 1000 10000). `--json` prints one JSON object per size instead of a
//! table (used by `bench/peer/run.sh`). `--write-corpus N DIR` only writes a corpus.
//! `--parse N [RUNS]` only times the parse stage (best of 30 runs), for quick comparisons.

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

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// What one process run cost.
struct Run {
    wall: Duration,
    /// User + system CPU seconds (10 ms resolution), from `/usr/bin/time`.
    cpu: Option<f64>,
    /// Peak resident memory in KiB, from `/usr/bin/time`.
    peak: Option<u64>,
}

/// One run of `eaxc ARGS` in `dir`, under `/usr/bin/time` when it is installed.
fn process_run(binary: &Path, dir: &Path, args: &[&str]) -> Run {
    let time = Path::new("/usr/bin/time");
    let mut command = if time.exists() {
        let mut command = Command::new(time);
        command.args(["-f", "%M %U %S"]).arg(binary);
        command
    } else {
        Command::new(binary)
    };
    command.args(args).current_dir(dir);
    let start = Instant::now();
    let output = command.output().expect("eaxc runs");
    let elapsed = start.elapsed();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    let fields: Vec<f64> = stderr
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|field| field.parse().ok())
        .collect();
    match fields.as_slice() {
        [peak, user, system] if time.exists() => Run {
            wall: elapsed,
            cpu: Some(user + system),
            peak: Some(*peak as u64),
        },
        _ => Run {
            wall: elapsed,
            cpu: None,
            peak: None,
        },
    }
}

/// Medians of `runs` runs of `eaxc ARGS`; `{run}` in an argument becomes the run number (so
/// that every build writes a fresh directory).
struct Process {
    wall_ms: f64,
    cpu_ms: Option<f64>,
    peak_mib: Option<f64>,
}

fn process(binary: &Path, dir: &Path, args: &[&str], runs: usize) -> Process {
    let mut walls = Vec::new();
    let mut cpus = Vec::new();
    let mut peak: Option<u64> = None;
    for run in 0..runs {
        let args: Vec<String> = args
            .iter()
            .map(|arg| arg.replace("{run}", &run.to_string()))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let result = process_run(binary, dir, &args);
        walls.push(millis(result.wall));
        cpus.extend(result.cpu.map(|seconds| seconds * 1000.0));
        peak = peak.max(result.peak);
    }
    Process {
        wall_ms: median(walls),
        cpu_ms: (!cpus.is_empty()).then(|| median(cpus)),
        peak_mib: peak.map(|kib| kib as f64 / 1024.0),
    }
}

/// Writes a corpus of `n` apis into `dir/specs`.
fn write_corpus(n: usize, dir: &Path) {
    std::fs::create_dir_all(dir.join("specs/handlers")).expect("corpus dir");
    for (name, text) in corpus(n) {
        std::fs::write(dir.join(name), text).expect("write spec");
    }
    std::fs::write(dir.join("specs/handlers/pat.py"), HANDLER).expect("write handler");
}

/// Every measurement for one corpus size.
struct Row {
    apis: usize,
    spec_bytes: usize,
    objects: usize,
    output_files: usize,
    output_bytes: usize,
    parse: f64,
    lower: f64,
    check: f64,
    plan: f64,
    render: f64,
    compile: f64,
    streamed: f64,
    check_process: Process,
    build_process: Process,
    rebuild_process: Process,
    /// Median wall time of `cp -r` of the build's output, or `None` without `cp`.
    copy: Option<f64>,
}

/// The best of `runs` timings of parsing every spec of `specs`.
fn parse_time(specs: &[(String, String)], runs: usize) -> Duration {
    let (parse, _) = best(runs, || {
        let mut apis = 0;
        for (index, (_, text)) in specs.iter().enumerate() {
            let file = eaxc::source::FileId(u32::try_from(index).expect("few files"));
            apis += eaxc::parse::parse(file, text).expect("parses").apis.len();
        }
        apis
    });
    parse
}

/// The time this thread has run on a CPU (Linux only), which unlike wall time leaves out time
/// spent waiting for a CPU on a busy machine.
fn on_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = stat.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

fn measure(n: usize, binary: &Path) -> Row {
    let specs = corpus(n);
    let spec_bytes: usize = specs.iter().map(|(_, text)| text.len()).sum();
    let runs = if n >= 10_000 { 3 } else { 10 };
    let config = eaxc::config::Config::default();

    let parse = parse_time(&specs, runs);
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
        eaxc::render::render(&project, &plan, &full_sources, &config).expect("renders")
    });
    let input = eaxc::Input {
        specs: specs.clone(),
        config: None,
    };
    let (compile, compilation) = best(runs, || eaxc::compile(&input, &MemoryLoader));
    assert_eq!(
        compilation.output.as_ref(),
        Some(&output),
        "compile and the stages agree"
    );
    // What `eaxc check` does: every stage, every file rendered and hashed, streamed into a
    // sink that keeps nothing.
    let (streamed, ()) = best(runs, || {
        let compilation = eaxc::analyse(&input, &MemoryLoader);
        compilation
            .render_to(&mut eaxc::render::Discard)
            .expect("renders");
    });

    let dir = bench_dir().join(format!("eaxc-bench-{}-{n}", std::process::id()));
    write_corpus(n, &dir);
    let process_runs = if n >= 10_000 { 3 } else { 11 };
    let check_process = process(binary, &dir, &["check", "specs"], process_runs);
    let build_process = process(
        binary,
        &dir,
        &["build", "specs", "--out", "generated-{run}"],
        process_runs,
    );
    // A build over an up-to-date output directory (the usual pre-commit case): unchanged
    // files are linked, not written.
    let again = ["build", "specs", "--out", "generated-again"];
    let _ = process_run(binary, &dir, &again);
    let rebuild_process = process(binary, &dir, &again, process_runs);
    // The floor under `build` on this file system: copying its output with `cp -r`, into
    // fresh directories like the builds (recently deleted files make ext4 slower to create
    // new ones, so nothing is deleted between runs).
    let copy = copy_time(&dir, process_runs);
    let _ = std::fs::remove_dir_all(&dir);
    Row {
        apis: n,
        spec_bytes,
        objects: plan.objects.len(),
        output_files: output.files.len(),
        output_bytes: output.files.values().map(String::len).sum(),
        parse: millis(parse),
        lower: millis(lower),
        check: millis(check),
        plan: millis(plan_time),
        render: millis(render),
        compile: millis(compile),
        streamed: millis(streamed),
        check_process,
        build_process,
        rebuild_process,
        copy,
    }
}

/// Median wall time of `cp -r generated-again copy-N`, `runs` times, in `dir`.
fn copy_time(dir: &Path, runs: usize) -> Option<f64> {
    let mut walls = Vec::new();
    for run in 0..runs {
        let start = Instant::now();
        let status = Command::new("cp")
            .args(["-r", "generated-again", &format!("copy-{run}")])
            .current_dir(dir)
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        walls.push(millis(start.elapsed()));
    }
    Some(median(walls))
}

/// Where corpora are written and built: `$EAXC_BENCH_DIR`, else the system temp directory.
fn bench_dir() -> std::path::PathBuf {
    std::env::var_os("EAXC_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into)
}

fn optional(value: Option<f64>) -> String {
    value.map_or_else(|| "null".to_string(), |value| format!("{value:.1}"))
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, n, dir] = args.as_slice() {
        if flag == "--write-corpus" {
            write_corpus(n.parse().expect("a number of apis"), Path::new(dir));
            return;
        }
    }
    if let [flag, n, rest @ ..] = args.as_slice() {
        if flag == "--parse" && rest.len() <= 1 {
            let specs = corpus(n.parse().expect("a number of apis"));
            let runs = rest
                .first()
                .map_or(30, |runs| runs.parse().expect("a number of runs"));
            let samples: Vec<(Option<Duration>, Duration)> = (0..runs)
                .map(|_| {
                    let start = on_cpu();
                    let wall = parse_time(&specs, 1);
                    (on_cpu().zip(start).map(|(end, start)| end - start), wall)
                })
                .collect();
            let wall = samples.iter().map(|(_, wall)| *wall).min().expect("runs");
            let cpu: Option<Vec<Duration>> = samples.iter().map(|(cpu, _)| *cpu).collect();
            let cpu = cpu.and_then(|cpu| cpu.into_iter().min());
            let cpu = cpu.map_or_else(|| "n/a".into(), |cpu| format!("{:.2} ms", millis(cpu)));
            println!("parse: {:.2} ms (on CPU: {cpu})", millis(wall));
            return;
        }
    }
    let json = args.iter().any(|arg| arg == "--json");
    args.retain(|arg| arg != "--json");
    let sizes: Vec<usize> = args
        .iter()
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
    if !json {
        println!("| APIs | objects | output | parse | lower | check | plan | render | compile in memory / streamed | `eaxc check` wall / CPU | `eaxc build` wall / CPU | rebuild, unchanged | `cp -r` of the output | writing (build - check, CPU) | peak RSS (build) |");
        println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    }
    for n in sizes {
        let row = measure(n, &binary);
        let (check, build, rebuild) =
            (&row.check_process, &row.build_process, &row.rebuild_process);
        let writing = build.cpu_ms.zip(check.cpu_ms).map(|(b, c)| b - c);
        if json {
            println!(
                "{{\"apis\": {}, \"spec_bytes\": {}, \"objects\": {}, \"output_files\": {}, \"output_bytes\": {}, \"parse_ms\": {:.3}, \"lower_ms\": {:.3}, \"check_ms\": {:.3}, \"plan_ms\": {:.3}, \"render_ms\": {:.3}, \"compile_ms\": {:.3}, \"streamed_ms\": {:.3}, \"check_process_ms\": {:.3}, \"check_process_cpu_ms\": {}, \"build_process_ms\": {:.3}, \"build_process_cpu_ms\": {}, \"rebuild_process_ms\": {:.3}, \"copy_ms\": {}, \"writing_cpu_ms\": {}, \"peak_rss_mib\": {}}}",
                row.apis, row.spec_bytes, row.objects, row.output_files, row.output_bytes,
                row.parse, row.lower, row.check, row.plan, row.render, row.compile, row.streamed,
                check.wall_ms, optional(check.cpu_ms), build.wall_ms, optional(build.cpu_ms),
                rebuild.wall_ms, optional(row.copy), optional(writing), optional(build.peak_mib),
            );
        } else {
            println!(
                "| {} | {} | {} files, {:.1} MB | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} / {:.1} ms | {:.1} / {} ms | {:.1} / {} ms | {:.1} ms | {} ms | {} ms | {} MiB |",
                row.apis,
                row.objects,
                row.output_files,
                row.output_bytes as f64 / 1e6,
                row.parse,
                row.lower,
                row.check,
                row.plan,
                row.render,
                row.compile,
                row.streamed,
                check.wall_ms,
                optional(check.cpu_ms),
                build.wall_ms,
                optional(build.cpu_ms),
                rebuild.wall_ms,
                optional(row.copy),
                optional(writing),
                optional(build.peak_mib),
            );
        }
    }
}
