//! `{param}` templates in strings, and URLs: a template split into scheme, authority, path and
//! query, so that `check` can match the host against `egress`.

use super::{join_help, list, Lowerer};
use crate::ast;
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{Param, Piece, Url};
use crate::source::{Span, Spanned};

/// Splits `text` at `{param}` placeholders; `{{` and `}}` stand for literal braces.
pub(super) fn template(
    lx: &mut Lowerer<'_>,
    string: &ast::StringLit,
    params: &[Param],
) -> Option<Vec<Piece>> {
    let text = &string.value;
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut ok = true;
    let mut index = 0;
    let bytes = text.as_bytes();
    while index < text.len() {
        let rest = &text[index..];
        if rest.starts_with("{{") || rest.starts_with("}}") {
            literal.push_str(&rest[..1]);
            index += 2;
        } else if bytes[index] == b'{' {
            let Some(close) = rest.find('}') else {
                lx.report(
                    Diagnostic::new(
                        Code::BadTemplate,
                        string.span_of(index, 1),
                        "`{` is never closed",
                    )
                    .label("opened here")
                    .help("write `{name}` to insert a parameter, or `{{` for a literal brace"),
                );
                return None;
            };
            let name = &rest[1..close];
            let span = string.span_of(index, close + 1);
            if let Some(param) = params.iter().find(|param| param.name.node == name) {
                if !literal.is_empty() {
                    pieces.push(Piece::Text(std::mem::take(&mut literal)));
                }
                pieces.push(Piece::Param(Spanned::new(param.name.node.clone(), span)));
            } else {
                ok = false;
                unknown_parameter(lx, name, span, params);
            }
            index += close + 1;
        } else if bytes[index] == b'}' {
            lx.report(
                Diagnostic::new(
                    Code::BadTemplate,
                    string.span_of(index, 1),
                    "`}` without a matching `{`",
                )
                .label("unmatched")
                .help("write `}}` for a literal closing brace"),
            );
            return None;
        } else {
            let c = rest.chars().next().expect("non-empty");
            literal.push(c);
            index += c.len_utf8();
        }
    }
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    ok.then_some(pieces)
}

/// Reports `{name}` or a bare word `name` that no parameter is called, suggesting one that is.
pub(super) fn unknown_parameter(lx: &mut Lowerer<'_>, name: &str, span: Span, params: &[Param]) {
    let names: Vec<&str> = params
        .iter()
        .map(|param| param.name.node.as_str())
        .collect();
    let help = if names.is_empty() {
        "this action declares no parameters".to_string()
    } else {
        join_help(
            &did_you_mean(name, names.iter().copied()),
            &format!("the parameters are {}", list(&names)),
        )
    };
    lx.report(
        Diagnostic::new(
            Code::UnknownParameter,
            span,
            format!("`{name}` is not a parameter"),
        )
        .label("unknown parameter")
        .help(help),
    );
}

/// The request URL: `http(s)://`, a non-empty authority (a literal host must be a host with an
/// optional port from 1 to 65535, without user information), a path and a query.
pub(super) fn lower_url(
    lx: &mut Lowerer<'_>,
    string: &ast::StringLit,
    params: &[Param],
) -> Option<Url> {
    let pieces = template(lx, string, params)?;
    // Split the pieces at the first `://`, then the first `/` or `?`, then the first `?`.
    let Some(Piece::Text(first)) = pieces.first() else {
        return bad_url(lx, string);
    };
    let Some((scheme, after)) = first.split_once("://") else {
        return bad_url(lx, string);
    };
    let scheme = scheme.to_lowercase();
    if scheme != "https" && scheme != "http" {
        return bad_url(lx, string);
    }
    let mut rest = Vec::new();
    if !after.is_empty() {
        rest.push(Piece::Text(after.to_string()));
    }
    rest.extend(pieces[1..].iter().cloned());
    let (authority, rest) = split_pieces(rest, &['/', '?']);
    let (path, query) = split_pieces(rest, &['?']);
    let query = match query.first() {
        Some(Piece::Text(text)) if text.starts_with('?') => {
            let mut query = query.clone();
            query[0] = Piece::Text(text[1..].to_string());
            query.retain(|piece| piece != &Piece::Text(String::new()));
            query
        }
        _ => query,
    };
    if authority.is_empty() {
        return bad_url(lx, string);
    }
    if let [Piece::Text(literal)] = authority.as_slice() {
        let port = literal.rsplit_once(':').map(|(_, port)| port);
        let port_ok = port.is_none_or(|port| port.parse::<u16>().is_ok_and(|port| port > 0));
        if literal.contains('@') || !port_ok || literal.starts_with(':') {
            lx.report(
                Diagnostic::new(
                    Code::BadTemplate,
                    string.span,
                    format!("`{literal}` is not a valid host with an optional port"),
                )
                .label("bad host or port")
                .help("write `https://host/path` or `https://host:PORT/path` with PORT from 1 to 65535, without user information"),
            );
            return None;
        }
    }
    Some(Url {
        scheme,
        authority,
        path,
        query,
        span: string.span,
    })
}

/// Reports a URL that is not `http(s)://host...`.
fn bad_url(lx: &mut Lowerer<'_>, string: &ast::StringLit) -> Option<Url> {
    lx.report(
        Diagnostic::new(Code::BadTemplate, string.span, format!("`{}` is not an http(s) URL", string.value))
            .label("expected `https://host/path`")
            .help("write the full URL starting with `https://`; `{param}` may stand for the host or parts of the path"),
    );
    None
}

/// Splits pieces before the first literal character in `stops`; the stop stays in the second half.
fn split_pieces(pieces: Vec<Piece>, stops: &[char]) -> (Vec<Piece>, Vec<Piece>) {
    let mut before = Vec::new();
    let mut iter = pieces.into_iter();
    for piece in iter.by_ref() {
        match piece {
            Piece::Text(text) => {
                if let Some(at) = text.find(stops) {
                    if at > 0 {
                        before.push(Piece::Text(text[..at].to_string()));
                    }
                    let mut after = vec![Piece::Text(text[at..].to_string())];
                    after.extend(iter);
                    return (before, after);
                }
                before.push(Piece::Text(text));
            }
            param => before.push(param),
        }
    }
    (before, Vec::new())
}
