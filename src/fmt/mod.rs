//! The canonical layout of a spec: what `eaxc fmt` writes. Pure text to text, no I/O.
//!
//! The spec is first parsed with [`crate::parse::parse`], so a file with a syntax or escape
//! error is refused with the same diagnostics `check` gives. The formatter then works on its
//! own token stream, in which every `#` comment is kept together with the blank lines around
//! it, and reprints the tokens:
//!
//! - two spaces of indentation per level; `=` aligned within a run of consecutive one-line
//!   attributes (or object entries, or parameter names) that no blank line, block or
//!   multi-line entry interrupts;
//! - a list, object or parameter list stays on one line when it holds no comment and fits in
//!   [`WIDTH`] columns; otherwise it gets one entry per line, with a trailing comma in lists
//!   and parameter lists and none in objects;
//! - `api`, `procedure` and `function` bodies always take one item per line; other blocks
//!   (`auth`, `secret`, `request`, `example`, `names`) stay on one line when they hold a single
//!   one-line attribute, no comment, and fit;
//! - one blank line between `api` blocks and around every multi-line item of an `api`;
//!   elsewhere a blank line is kept where the spec has one (runs of them become one), never
//!   after `{` or before `}`;
//! - a comment stays where it was: at the end of the line of the token before it, or on a line
//!   of its own before the token after it. Trailing whitespace of a comment is dropped.
//!
//! Strings, numbers and names are copied byte for byte, so formatting never changes what a
//! spec compiles to. The layout depends only on the tokens, the comments and where the spec
//! has blank lines; reformatting formatted text changes nothing.
//!
//! One step per file: `lex.rs` splits the text into tokens that carry the comments and blank
//! lines, `tree.rs` parses the tokens into a tree of token indices, and `print.rs` lays the tree
//! out. This file holds the entry point and the guard that re-parses the output and compares it
//! with the input.

mod lex;
mod print;
mod tree;

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};
use lex::{lex, Token};

/// The column limit the layout aims for. Tokens are never split, so a long string can still
/// run past it.
pub const WIDTH: usize = 100;

/// Formats one spec. Returns the canonical text, or the parse diagnostics when the spec does
/// not parse (the text must then be left as it is).
pub fn format(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    crate::parse::parse(file, text)?;
    let internal = |at: usize, what: &str| {
        vec![Diagnostic::new(
            Code::Internal,
            Span::new(file, at, at),
            format!("eaxc fmt cannot lay out this spec: {what}"),
        )
        .label("here")
        .help("this is a bug in eaxc; the file was left unchanged")]
    };
    let tokens = lex(text).map_err(|at| internal(at, "unexpected character"))?;
    let tree = tree::parse(&tokens).map_err(|at| {
        internal(
            tokens.get(at).map_or(text.len(), |t| t.start),
            "unexpected token",
        )
    })?;
    let out = print::print(&tokens, &tree);
    // A guard against a layout bug: the output must parse and hold the same tokens (commas
    // aside, which the layout adds and drops) and the same comments.
    let same = crate::parse::parse(file, &out).is_ok()
        && lex(&out).is_ok_and(|again| significant(&again) == significant(&tokens));
    if same {
        Ok(out)
    } else {
        Err(internal(0, "the formatted text would differ in meaning"))
    }
}

/// Every comment of a spec, in order, without trailing whitespace; `None` when the text does
/// not tokenise. Used by tests to check that formatting keeps every comment.
#[must_use]
pub fn comments(text: &str) -> Option<Vec<String>> {
    let tokens = lex(text).ok()?;
    Some(
        tokens
            .iter()
            .flat_map(|token| token.comments.iter().map(|c| c.text.to_string()))
            .collect(),
    )
}

/// The tokens and comments that carry meaning, for the guard in [`format`].
fn significant<'a>(tokens: &[Token<'a>]) -> Vec<&'a str> {
    let mut out = Vec::new();
    for token in tokens {
        out.extend(token.comments.iter().map(|c| c.text));
        if token.text != "," {
            out.push(token.text);
        }
    }
    out
}
