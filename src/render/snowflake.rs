//! Snowflake quoting and escaping: identifiers, string literals and procedure bodies. The only
//! place SQL text is escaped; templates reach it through filters.

use std::fmt::Write as _;

use crate::templating;

/// A double-quoted identifier with `"` doubled (case is kept).
/// <https://docs.snowflake.com/en/sql-reference/identifiers-syntax>
#[must_use]
pub fn ident(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    push_ident(&mut out, name);
    out
}

/// `"DB"."SCHEMA"."NAME"`.
#[must_use]
pub fn qualified(database: &str, schema: &str, name: &str) -> String {
    let mut out = String::with_capacity(database.len() + schema.len() + name.len() + 8);
    push_ident(&mut out, database);
    out.push('.');
    push_ident(&mut out, schema);
    out.push('.');
    push_ident(&mut out, name);
    out
}

/// Appends `name` quoted as by [`ident`], without allocating a string of its own.
fn push_ident(out: &mut String, name: &str) {
    super::push_doubling_quotes(out, name, '"');
}

/// A single-quoted string literal. Backslash escapes are active in Snowflake string constants,
/// so `\` is doubled first, then `'` is doubled; control characters are written as escapes so
/// that a literal stays on one line, and the first character of anything the Snowflake CLI would
/// expand (`&name`, `{#`, `<%`, ...: [`templating`]) as `\xhh`, which Snowflake decodes back.
/// <https://docs.snowflake.com/en/sql-reference/data-types-text#escape-sequences-in-single-quoted-string-constants>
#[must_use]
pub fn string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if templating::starts_template(c, chars.peek().copied()) => {
                templating::push_hex_escape(&mut out, c);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// A secret template filled in with a variable's name, as the string literal it stands for.
/// A Snowflake CLI template (`<% ... %>`, the default) gets a chain of Jinja filters that escapes
/// the value the client inserts, which it inserts raw: `\` and `'` are doubled and `{` is
/// written `\x7b` (so that `--enable-templating ALL` does not expand it either). The filters'
/// arguments are Jinja string escapes, so the text holds no quote or backslash that would end
/// the SQL literal early. Any other template is written as it is.
#[must_use]
pub fn template(filled: &str) -> String {
    let mut out = String::with_capacity(filled.len() + 96);
    out.push('\'');
    match filled
        .strip_suffix("%>")
        .filter(|_| filled.starts_with("<%"))
    {
        Some(expression) => {
            out.push_str(expression.trim_end());
            out.push_str(TEMPLATE_ESCAPES);
            out.push_str(" %>");
        }
        None => out.push_str(filled),
    }
    out.push('\'');
    out
}

/// The filters [`template`] adds: Jinja's `"\x5c"` is `\`, `"\x27"` is `'`, `"\x7b"` is `{`.
const TEMPLATE_ESCAPES: &str =
    r#" | replace("\x5c", "\x5c\x5c") | replace("\x27", "\x27\x27") | replace("\x7b", "\x5cx7b")"#;

/// The `AS ...` body of a procedure or function: `$$body$$` when that is unambiguous and holds
/// nothing the Snowflake CLI would expand, otherwise a single-quoted literal in which `\`, `'`
/// and the first character of each template sequence are escaped (newlines stay), so that the
/// body Snowflake stores is byte-identical to the file either way.
/// <https://docs.snowflake.com/en/sql-reference/data-types-text#dollar-quoted-string-constants>
#[must_use]
pub fn body(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    push_body(&mut out, text);
    out
}

/// Appends `text` as by [`body`].
pub fn push_body(out: &mut String, text: &str) {
    if !text.contains("$$") && !text.ends_with('$') && !templating::has_template(text) {
        out.push_str("$$");
        out.push_str(text);
        out.push_str("$$");
        return;
    }
    out.push('\'');
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("''"),
            c if templating::starts_template(c, chars.peek().copied()) => {
                templating::push_hex_escape(out, c);
            }
            c => out.push(c),
        }
    }
    out.push('\'');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_double_their_quotes() {
        assert_eq!(ident(r#"a"b"#), r#""a""b""#);
        assert_eq!(ident(r#""x""#), r#""""x""""#);
        assert_eq!(ident(""), r#""""#);
        assert_eq!(qualified("D", "S", "N"), r#""D"."S"."N""#);
    }

    #[test]
    fn strings_escape_backslash_then_quote() {
        assert_eq!(string(r"it's C:\x"), r"'it''s C:\\x'");
        assert_eq!(string("a\nb"), r"'a\nb'");
    }

    #[test]
    fn bodies_fall_back_to_single_quotes() {
        assert_eq!(body("x = 1\n"), "$$x = 1\n$$");
        assert_eq!(body("a = '$$'\n"), "'a = ''$$''\n'");
        assert_eq!(body("a = 1 # $"), "'a = 1 # $'");
        assert_eq!(body("r'\\d' # $$"), "'r''\\\\d'' # $$'");
    }
}
