//! The formatter's tokens: a spec split the way the grammar splits it. Each token carries the
//! `#` comments written before it; a comment records whether a line break or a blank line
//! came before it, a token whether a blank line did, and the whitespace itself is dropped.
//! Token and comment texts are slices of the spec.

/// What a token is; `Eof` ends every token stream and carries the comments at the end of
/// the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Kind {
    Name,
    Number,
    Str,
    Punct,
    Eof,
}

/// A comment, and how it stood relative to what came before it.
#[derive(Debug)]
pub(super) struct Comment<'a> {
    pub(super) text: &'a str,
    /// A line break separates it from the previous token or comment.
    pub(super) newline_before: bool,
    /// A blank line separates it from the previous token or comment.
    pub(super) blank_before: bool,
}

/// A token with the comments written before it (after the previous token).
#[derive(Debug)]
pub(super) struct Token<'a> {
    pub(super) kind: Kind,
    pub(super) text: &'a str,
    /// Byte offset of the token in the text.
    pub(super) start: usize,
    pub(super) comments: Vec<Comment<'a>>,
    /// A blank line separates it from the previous token or comment.
    pub(super) blank_before: bool,
}

/// Splits a spec into tokens the way the grammar does; the error is the offset of a character
/// no token starts with.
pub(super) fn lex(text: &str) -> Result<Vec<Token<'_>>, usize> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut comments = Vec::new();
    let mut breaks = 0usize;
    let mut at = 0;
    loop {
        let Some(c) = text[at..].chars().next() else {
            tokens.push(Token {
                kind: Kind::Eof,
                text: "",
                start: text.len(),
                comments,
                blank_before: breaks >= 2,
            });
            return Ok(tokens);
        };
        let start = at;
        let kind = match c {
            ' ' | '\t' | '\u{FEFF}' => {
                at += c.len_utf8();
                continue;
            }
            '\n' => {
                breaks += 1;
                at += 1;
                continue;
            }
            '\r' => {
                breaks += 1;
                at += if bytes.get(at + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                continue;
            }
            '#' => {
                let end = text[at..]
                    .find(['\n', '\r'])
                    .map_or(text.len(), |offset| at + offset);
                comments.push(Comment {
                    text: text[at..end].trim_end_matches([' ', '\t', '\u{FEFF}']),
                    newline_before: breaks > 0 || (tokens.is_empty() && comments.is_empty()),
                    blank_before: breaks >= 2,
                });
                breaks = 0;
                at = end;
                continue;
            }
            '"' => {
                at += 1;
                loop {
                    match bytes.get(at) {
                        Some(b'"') => break,
                        Some(b'\\') => at += 2,
                        Some(b'\n') | None => return Err(start),
                        Some(_) => at += 1,
                    }
                }
                at += 1;
                Kind::Str
            }
            c if c == '_' || c.is_ascii_alphabetic() => {
                at += 1;
                while bytes
                    .get(at)
                    .is_some_and(|b| *b == b'_' || b.is_ascii_alphanumeric())
                {
                    at += 1;
                }
                Kind::Name
            }
            c if c == '-' || c.is_ascii_digit() => {
                at += 1;
                let digits = |at: &mut usize| {
                    while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                        *at += 1;
                    }
                };
                digits(&mut at);
                if bytes.get(at) == Some(&b'.') && bytes.get(at + 1).is_some_and(u8::is_ascii_digit)
                {
                    at += 1;
                    digits(&mut at);
                }
                Kind::Number
            }
            '{' | '}' | '(' | ')' | '[' | ']' | ',' | '=' | '.' => {
                at += 1;
                Kind::Punct
            }
            _ => return Err(start),
        };
        tokens.push(Token {
            kind,
            text: &text[start..at],
            start,
            comments: std::mem::take(&mut comments),
            blank_before: breaks >= 2,
        });
        breaks = 0;
    }
}
