//! `manifest.yaml` without a general YAML emitter. The manifest is a fixed shape of mappings,
//! lists and one-line strings, so it is written directly; every string is written exactly as
//! `serde_norway` writes it (checked against it by the tests below). A string outside the
//! cases handled here makes [`manifest`] return `None`, and the caller falls back to
//! `serde_norway` for the whole file.

use std::collections::HashMap;

use super::{Manifest, ManifestFile, ManifestObject};

/// The manifest as YAML, byte-identical to `serde_norway::to_string`, or `None` when a string
/// needs a form this writer does not produce.
#[cfg(test)]
pub(super) fn manifest(manifest: &Manifest) -> Option<String> {
    let mut out = String::new();
    write(manifest, &mut |piece| out.push_str(piece))?;
    Some(out)
}

/// Writes the manifest as YAML into `flush` in pieces of about 64 KB (a 10,000-api manifest
/// is 21 MB, never held whole); stops with `None` when a string needs a form this writer does
/// not produce, part of the manifest then written.
pub(super) fn write(manifest: &Manifest, flush: &mut dyn FnMut(&str)) -> Option<()> {
    const PIECE: usize = 1 << 16;
    let mut out = String::with_capacity(PIECE + 4096);
    let mut words = HashMap::new();
    let mut scalar = |out: &mut String, text: &str| write_scalar(out, text, &mut words);
    let mut flush_full = |out: &mut String| {
        if out.len() >= PIECE {
            flush(out);
            out.clear();
        }
    };
    out.push_str("generator: ");
    scalar(&mut out, &manifest.generator)?;
    out.push_str("\nsources:");
    list(&mut out, &manifest.sources, |out, source| {
        out.push_str("- ");
        scalar(out, source)
    })?;
    out.push_str("objects:");
    list(
        &mut out,
        &manifest.objects,
        |out, object: &ManifestObject| {
            flush_full(out);
            out.push_str("- kind: ");
            scalar(out, object.kind)?;
            out.push_str("\n  name: ");
            scalar(out, object.name)?;
            out.push_str("\n  api: ");
            scalar(out, object.api)?;
            out.push_str("\n  file: ");
            scalar(out, object.file)?;
            out.push_str("\n  depends_on:");
            list(out, &object.depends_on, |out, name| {
                out.push_str("  - ");
                scalar(out, name)
            })?;
            out.push_str("  sha256: ");
            scalar(out, &object.sha256)
        },
    )?;
    out.push_str("files:");
    list(&mut out, &manifest.files, |out, file: &ManifestFile| {
        flush_full(out);
        out.push_str("- path: ");
        scalar(out, &file.path)?;
        out.push_str("\n  sha256: ");
        scalar(out, &file.sha256)
    })?;
    flush(&out);
    Some(())
}

/// A block list after its key: ` []` when empty, else one item per line.
fn list<T>(
    out: &mut String,
    items: &[T],
    mut item: impl FnMut(&mut String, &T) -> Option<()>,
) -> Option<()> {
    if items.is_empty() {
        out.push_str(" []\n");
        return Some(());
    }
    out.push('\n');
    for value in items {
        item(out, value)?;
        out.push('\n');
    }
    Some(())
}

/// Writes `text` as a YAML scalar in block context, as `serde_norway` (libyaml) would.
fn write_scalar(out: &mut String, text: &str, words: &mut HashMap<String, String>) -> Option<()> {
    let bytes = text.as_bytes();
    let (&first, &last) = (bytes.first()?, bytes.last()?);
    // One line of printable ASCII without surrounding spaces: libyaml writes it plain when no
    // indicator forbids it, else single-quoted.
    if !bytes.iter().all(|b| (0x20..0x7f).contains(b)) || first == b' ' || last == b' ' {
        return None;
    }
    if first == b'"' {
        // An indicator first: single-quoted. A string starting with `"` is never a number,
        // boolean or null, so serde keeps libyaml's choice.
        super::push_doubling_quotes(out, text, '\'');
        return Some(());
    }
    let block_indicator =
        last == b':' || bytes.windows(2).any(|pair| pair == b": " || pair == b" #");
    if block_indicator {
        return None;
    }
    if first.is_ascii_alphabetic() {
        if bytes.iter().all(u8::is_ascii_alphabetic) && bytes.len() <= 8 {
            // A short word may be a keyword serde quotes (`true`, `null`, `inf`, ...): ask it.
            if let Some(written) = words.get(text) {
                out.push_str(written);
            } else {
                let written = serde_norway::to_string(text).ok()?;
                let written = written.strip_suffix('\n')?.to_string();
                if written.contains('\n') {
                    return None;
                }
                out.push_str(&written);
                words.insert(text.to_string(), written);
            }
        } else {
            // A letter first and not a short word: never a number, boolean or null.
            out.push_str(text);
        }
        return Some(());
    }
    // A digit first and a letter no number has (`050_procedures.sql`): plain.
    if first.is_ascii_digit()
        && bytes
            .iter()
            .any(|b| b.is_ascii_alphabetic() && !b"abcdefinotxyABCDEFINOTXY".contains(b))
    {
        out.push_str(text);
        return Some(());
    }
    // A SHA-256 digest: plain, unless it could read as a number (no letter of `acdf` in it).
    if bytes.len() == 64
        && bytes.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        && bytes.iter().any(|b| matches!(b, b'a' | b'c' | b'd' | b'f'))
    {
        out.push_str(text);
        return Some(());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A manifest with `strings` as object names and dependencies, the rest fixed.
    fn sample(strings: &[String]) -> Manifest<'_> {
        let object = |i: usize| ManifestObject {
            kind: ["secret", "network_rule", "grant", "function"][i % 4],
            name: &strings[i],
            api: "bench_api_00001",
            file: "050_procedures.sql",
            depends_on: (0..i % 3)
                .map(|j| strings[(i + j) % strings.len()].as_str())
                .collect(),
            sha256: super::super::sha256(&strings[i]),
        };
        Manifest {
            generator: "eaxc 0.1.0".into(),
            sources: vec!["specs/a.eax".into()],
            objects: (0..strings.len()).map(object).collect(),
            files: vec![ManifestFile {
                path: "handlers/a__b.py".into(),
                sha256: super::super::sha256("x"),
            }],
        }
    }

    #[test]
    fn matches_serde_norway_or_declines() {
        let fixed = [
            r#""DB"."S"."N""#,
            r#""DB"."S"."IT'S""#,
            r#"USAGE ON PROCEDURE "D"."S"."P"(VARCHAR, NUMBER) TO ROLE "R""#,
            "specs/a.eax",
            "handlers/api__act.py",
            "true",
            "null",
            "inf",
            "Yes",
            "no",
            "off",
            "api",
            "bench_api_00001",
            "a: b",
            "a #b",
            "ends:",
            " lead",
            "trail ",
            "multi\nline",
            "é",
            "",
            "123",
            "0x1f",
            "1e5",
            "-x",
            "? q",
            "[x]",
            "{x}",
            "*x",
            "&x",
            "!x",
            "%x",
            "@x",
            "`x",
            "'x",
            "|x",
            ">x",
            "#x",
            "~",
            ".inf",
            "---",
            "050_procedures.sql",
            "1_000",
            "0o17",
            "0b1",
            "1.5e3",
            "12:30",
            "2030-01-01 00:00:00",
        ];
        let mut strings: Vec<String> = fixed.iter().map(|s| (*s).to_string()).collect();
        // Random strings over an alphabet of YAML's special characters.
        let alphabet: Vec<char> = "aeZxo019_.+ -:#'\"[]{},?*&!|>%@`~\\/\té".chars().collect();
        let mut rng = fastrand::Rng::with_seed(7);
        for _ in 0..3000 {
            let len = rng.usize(0..8);
            strings.push(
                (0..len)
                    .map(|_| alphabet[rng.usize(..alphabet.len())])
                    .collect(),
            );
        }
        let mut fast = 0;
        for text in &strings {
            let one = sample(std::slice::from_ref(text));
            let expected = serde_norway::to_string(&one).unwrap();
            if let Some(written) = manifest(&one) {
                assert_eq!(written, expected, "for {text:?}");
                fast += 1;
            }
        }
        assert!(fast > 300, "only {fast} strings took the direct path");
        let all = sample(&strings[..40]);
        assert!(
            manifest(&all).is_none(),
            "some of the fixed strings need serde_norway"
        );
        let plain: Vec<String> = fixed[..13].iter().map(|s| (*s).to_string()).collect();
        let many = sample(&plain);
        assert_eq!(
            manifest(&many),
            Some(serde_norway::to_string(&many).unwrap())
        );
        // Large enough to be written in several pieces.
        let large: Vec<String> = (0..3000).map(|i| plain[i % plain.len()].clone()).collect();
        let large = sample(&large);
        let mut pieces = 0;
        write(&large, &mut |_| pieces += 1).unwrap();
        assert!(pieces > 3, "{pieces} pieces");
        assert_eq!(
            manifest(&large),
            Some(serde_norway::to_string(&large).unwrap())
        );
    }
}
