//! Fuzzes the whole front end: `eaxc::compile` on arbitrary spec text and, optionally, an
//! `eaxc.yaml` text, then renders every diagnostic as `check` would (human and JSON).
//!
//! Input layout: byte 0xFF (never part of UTF-8) separates parts. Part 0 is `fuzz.eax`, part 1
//! (if present) is `eaxc.yaml`, further parts are more specs. Parts are decoded lossily so that
//! almost every input reaches the parser.

#![no_main]

use eaxc::diagnostic::{render_json, Report};
use eaxc::lower::Loader;
use eaxc::{compile, Input};
use libfuzzer_sys::fuzz_target;

/// A handler small enough for every size check, with a `main` taking any arguments and
/// reading one secret of each kind of accessor.
const HANDLER: &str = "import _snowflake\n\n\ndef main(*args):\n    \
    key = _snowflake.get_generic_secret_string(\"api_key\")\n    return [key, args]\n";

/// Returns [`HANDLER`] for every `file()` path except those naming a missing file.
struct MemoryLoader;

impl Loader for MemoryLoader {
    fn load(&self, spec: &str, path: &str) -> Result<(String, String), String> {
        if path.contains("missing") {
            return Err("No such file or directory".into());
        }
        let _ = spec;
        Ok((path.to_string(), HANDLER.to_string()))
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.split(|byte| *byte == 0xFF);
    let spec = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
    let config = parts.next().map(|text| {
        (
            "eaxc.yaml".to_string(),
            String::from_utf8_lossy(text).into_owned(),
        )
    });
    let mut specs = vec![("fuzz.eax".to_string(), spec)];
    for (index, text) in parts.enumerate() {
        specs.push((
            format!("more{index}.eax"),
            String::from_utf8_lossy(text).into_owned(),
        ));
    }
    let compilation = compile(&Input { specs, config }, &MemoryLoader);
    let _ = render_json(&compilation.diagnostics, &compilation.sources);
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor());
    for diagnostic in &compilation.diagnostics {
        let mut text = String::new();
        let _ = handler.render_report(&mut text, &Report::new(diagnostic, &compilation.sources));
    }
    // Errors and output exclude each other.
    assert_eq!(compilation.has_errors(), compilation.output.is_none());
});
