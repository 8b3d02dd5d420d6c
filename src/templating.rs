//! The Snowflake CLI's templating, and how eaxc's output stays inert under it.
//!
//! `snow sql` passes every statement through template engines before it sends anything, string
//! literals and `$$` bodies included (reference/snowflake.md §12):
//!
//! - LEGACY (on by default): `string.Template` with `&` as the delimiter, so `&name` and
//!   `&{name}` are variables and `&&` becomes `&`;
//! - STANDARD (on by default): Jinja with `<% %>` as variable delimiters, whose comment tags
//!   `{# #}` stay active;
//! - JINJA (`--enable-templating ALL`): plain Jinja, `{{ }}`, `{% %}` and `{# #}`.
//!
//! Every one of those sequences starts with one of four characters followed by a character from
//! a short list. eaxc writes the first character of each such pair as the escape `\xhh`, which
//! Snowflake string constants and Python string literals both decode, so a value arrives as
//! written and the client sees nothing to expand. In comments, which decode nothing, the escape
//! stays visible. The only template syntax eaxc writes on purpose is a secret template, such as
//! `<% ctx.env.NAME %>`.

/// Whether `c`, followed by `next`, begins a sequence that the client's templating acts on:
/// `&` before `&`, `{`, `_` or an ASCII letter (`string.Template`'s identifiers are ASCII);
/// `{` before `{`, `%` or `#`; `<%`; `%>`.
#[must_use]
pub fn starts_template(c: char, next: Option<char>) -> bool {
    match (c, next) {
        ('&', Some(next)) => matches!(next, '&' | '{' | '_') || next.is_ascii_alphabetic(),
        ('{', Some('{' | '%' | '#')) | ('<', Some('%')) | ('%', Some('>')) => true,
        _ => false,
    }
}

/// Whether `text` holds a sequence that the client's templating acts on.
#[must_use]
pub fn has_template(text: &str) -> bool {
    first_template(text).is_some()
}

/// The byte offset of the first sequence in `text` that the client's templating acts on.
#[must_use]
pub fn first_template(text: &str) -> Option<usize> {
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if matches!(c, '&' | '{' | '<' | '%') && starts_template(c, chars.peek().map(|&(_, c)| c)) {
            return Some(index);
        }
    }
    None
}

/// Appends `text` with the first character of every template sequence written as `\xhh`: for
/// comments, whose text is only read by people.
pub fn push_inert(out: &mut String, text: &str) {
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if starts_template(c, chars.peek().copied()) {
            push_hex_escape(out, c);
        } else {
            out.push(c);
        }
    }
}

/// `text` as by [`push_inert`].
#[must_use]
pub fn inert(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_inert(&mut out, text);
    out
}

/// Appends `\xhh` for an ASCII character.
pub(crate) fn push_hex_escape(out: &mut String, c: char) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let code = u32::from(c);
    debug_assert!(code < 0x80, "only ASCII characters start a template");
    out.push_str("\\x");
    out.push(char::from(HEX[(code >> 4) as usize & 15]));
    out.push(char::from(HEX[code as usize & 15]));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_every_sequence_the_client_expands() {
        for text in [
            "&x", "&X", "&_", "&{", "&&", "{{", "{%", "{#", "<%", "%>", "R&D",
        ] {
            assert!(has_template(text), "{text}");
        }
        for text in [
            "& x", "&1", "&", "a&", "&é", "{", "{x}", "#}", "%}", "}}", "<", "% >", "",
        ] {
            assert!(!has_template(text), "{text}");
        }
        assert_eq!(first_template("ab<%"), Some(2));
    }

    #[test]
    fn inert_text_escapes_the_first_character_of_each_sequence() {
        assert_eq!(inert("R&D and A & B"), r"R\x26D and A & B");
        assert_eq!(inert("a && b"), r"a \x26& b");
        assert_eq!(
            inert("{# <% x %> {{ y }}"),
            r"\x7b# \x3c% x \x25> \x7b{ y }}"
        );
        assert!(!has_template(&inert("&&&{{{%%>>{#<%&a")));
    }
}
