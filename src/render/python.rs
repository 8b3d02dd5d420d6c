//! Python literals and expressions for generated handlers. The only place Python text is
//! escaped; every value from a spec reaches a handler through these functions.

use std::fmt::Write as _;

use crate::model::{Expr, Literal, Piece};
use crate::templating;

/// A double-quoted Python string literal that `ast.literal_eval` decodes back to `text`.
/// Control characters, line separators, `$` (so that a generated body never contains `$$`) and
/// the first character of anything the Snowflake CLI would expand (`&name`, `{#`, `<%`, ...:
/// [`templating`]) are written as escapes.
#[must_use]
pub fn string_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' => out.push_str("\\x24"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if templating::starts_template(c, chars.peek().copied()) => {
                templating::push_hex_escape(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A number as a Python literal (leading zeros, which Python rejects, are dropped).
#[must_use]
pub fn number(text: &str) -> String {
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text),
    };
    let (whole, fraction) = match digits.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (digits, None),
    };
    let whole = whole.trim_start_matches('0');
    let whole = if whole.is_empty() { "0" } else { whole };
    match fraction {
        Some(fraction) => format!("{sign}{whole}.{fraction}"),
        None => format!("{sign}{whole}"),
    }
}

/// A literal as Python.
#[must_use]
pub fn literal(value: &Literal) -> String {
    match value {
        Literal::String(text) => string_literal(text),
        Literal::Number(text) => number(text),
        Literal::Bool(true) => "True".into(),
        Literal::Bool(false) => "False".into(),
        Literal::Null => "None".into(),
    }
}

/// The value of a parameter inside `_call(args)`.
#[must_use]
pub fn arg(name: &str) -> String {
    format!("args[{}]", string_literal(name))
}

/// A call of a handler helper that checks a parameter under its name:
/// `helper("name", args["name"])`.
#[must_use]
pub fn checked(helper: &str, name: &str) -> String {
    format!("{helper}({}, {})", string_literal(name), arg(name))
}

/// Concatenates template pieces; each parameter goes through `wrap` (e.g. `_text`).
#[must_use]
pub fn template(pieces: &[Piece], wrap: impl Fn(&str) -> String) -> String {
    if pieces.is_empty() {
        return string_literal("");
    }
    pieces
        .iter()
        .map(|piece| match piece {
            Piece::Text(text) => string_literal(text),
            Piece::Param(name) => wrap(&name.node),
        })
        .collect::<Vec<_>>()
        .join(" + ")
}

/// An expression building a request value, indented for a block at `indent` spaces.
#[must_use]
pub fn expr(value: &Expr, indent: usize) -> String {
    expr_with(value, indent, &arg, &|name| format!("_text({})", arg(name)))
}

/// [`expr`] with the code for a parameter standing alone (`param`) and for one inside a
/// template (`piece`), so that a header or a JSON body can check each parameter by name.
#[must_use]
pub fn expr_with(
    value: &Expr,
    indent: usize,
    param: &dyn Fn(&str) -> String,
    piece: &dyn Fn(&str) -> String,
) -> String {
    match value {
        Expr::Literal(value) => literal(value),
        Expr::Param(name) => param(name),
        Expr::Template(pieces) => template(pieces, piece),
        Expr::Secret {
            alias,
            accessor,
            field,
        } => {
            // Every secret value goes through `_secret`, which refuses one that could not be
            // sent as it is and remembers it, so that error messages can mask it.
            let call = format!("_snowflake.{accessor}({})", string_literal(alias));
            let (name, value) = match field.as_str() {
                "username" | "password" => (format!("{alias}.{field}"), format!("{call}.{field}")),
                _ => (alias.clone(), call),
            };
            format!("_secret(secrets, {}, {value})", string_literal(&name))
        }
        Expr::List(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|item| expr_with(item, indent + 4, param, piece))
                .collect();
            let inline = format!("[{}]", parts.join(", "));
            if inline.len() <= 60 && !inline.contains('\n') {
                inline
            } else {
                block('[', ']', &parts, indent)
            }
        }
        Expr::Object(entries) => {
            let parts: Vec<String> = entries
                .iter()
                .map(|(key, value)| {
                    format!(
                        "{}: {}",
                        string_literal(key),
                        expr_with(value, indent + 4, param, piece)
                    )
                })
                .collect();
            if parts.is_empty() {
                "{}".into()
            } else {
                block('{', '}', &parts, indent)
            }
        }
    }
}

fn block(open: char, close: char, parts: &[String], indent: usize) -> String {
    let pad = " ".repeat(indent + 4);
    let mut out = String::new();
    out.push(open);
    out.push('\n');
    for part in parts {
        out.push_str(&pad);
        out.push_str(part);
        out.push_str(",\n");
    }
    out.push_str(&" ".repeat(indent));
    out.push(close);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_literals_escape_what_python_needs() {
        assert_eq!(string_literal("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(string_literal("$$"), r#""\x24\x24""#);
        assert_eq!(string_literal("é"), "\"é\"");
    }

    #[test]
    fn numbers_lose_leading_zeros() {
        assert_eq!(number("007"), "7");
        assert_eq!(number("-00.50"), "-0.50");
        assert_eq!(number("0"), "0");
    }
}
