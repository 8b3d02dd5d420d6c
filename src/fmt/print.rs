//! The printer: lays out the tree of [`tree`](mod@super::tree) as canonical text, taking
//! every comment and blank line from the tokens of [`lex`](mod@super::lex).
//!
//! Every function returns the text of one construct, laid out as if it started at a given
//! column on a line indented by `indent`; lines after the first carry their own indentation.

use super::lex::{Comment, Token};
use super::tree::{Attr, Block, BlockKind, Body, DataType, File, Item, Param, Signature, Value};
use super::WIDTH;

/// Spaces per indentation level.
const INDENT: usize = 2;

/// Indentation added to the line that follows a comment written inside an item (between
/// `env(` and its string, say), where no line break would otherwise be.
const CONTINUATION: usize = 4;

/// Lays out a whole spec: its `api` blocks, separated by blank lines, and the comments after
/// the last one.
pub(super) fn print(tokens: &[Token<'_>], file: &File) -> String {
    Printer { tokens }.file(file)
}

/// Text being built, with the column its first line starts at.
struct Out {
    text: String,
    start: usize,
    /// Only indentation is on the current line so far (after a comment inside an item).
    fresh: bool,
}

impl Out {
    fn new(start: usize) -> Self {
        Out {
            text: String::new(),
            start,
            fresh: false,
        }
    }

    fn col(&self) -> usize {
        match self.text.rfind('\n') {
            Some(at) => width(&self.text[at + 1..]),
            None => self.start + width(&self.text),
        }
    }

    fn push(&mut self, text: &str) {
        self.text.push_str(text);
        self.fresh = false;
    }
}

fn width(text: &str) -> usize {
    text.chars().count()
}

fn spaces(count: usize) -> String {
    " ".repeat(count)
}

/// One item, entry or element of a sequence: its first token, and the comma after it.
#[derive(Clone, Copy)]
struct Unit {
    first: usize,
    comma: Option<usize>,
}

/// What a sequence needs to be laid out one unit per line.
struct Seq<'u> {
    units: &'u [Unit],
    /// The token that ends the sequence (`}`, `]`, `)` or the end of the file).
    close: usize,
    /// Whether an opening token precedes the first unit on the same line.
    open: bool,
    /// Whether a comma follows every unit.
    commas: bool,
    /// Indentation of the units.
    indent: usize,
    /// Indentation of the closing token.
    close_indent: usize,
}

/// How one unit of an aligned sequence may be written on one line: the width of its key, the
/// width of the rest of the line, and whether it could be broken instead.
struct Flat {
    key: usize,
    rest: usize,
    breakable: bool,
}

/// Where one unit goes: padded to a run's key width, or broken over several lines.
#[derive(Clone, Copy)]
struct Place {
    pad: Option<usize>,
    force_break: bool,
}

/// The printer's only state: the tokens, whose texts and comments the tree points to.
struct Printer<'t, 'a> {
    tokens: &'t [Token<'a>],
}

impl Printer<'_, '_> {
    fn text(&self, at: usize) -> &str {
        self.tokens[at].text
    }

    /// Whether any comment is written inside `first..=last` (before `first` does not count).
    fn comments_inside(&self, first: usize, last: usize) -> bool {
        self.tokens[first + 1..=last]
            .iter()
            .any(|token| !token.comments.is_empty())
    }

    /// Writes the separator before token `at`, or the comments written before it, each ending
    /// its line, so that the token starts the next one.
    fn gap(&self, out: &mut Out, at: usize, separator: &str, indent: usize) {
        let comments = &self.tokens[at].comments;
        if comments.is_empty() {
            out.push(separator);
            return;
        }
        for comment in comments {
            if !out.fresh {
                out.push("  ");
            }
            out.push(comment.text);
            out.push("\n");
            out.push(&spaces(indent + CONTINUATION));
            out.fresh = true;
        }
    }

    fn token(&self, out: &mut Out, at: usize, separator: &str, indent: usize) {
        self.gap(out, at, separator, indent);
        out.push(self.text(at));
    }

    /// The comments between unit `k - 1` and unit `k` (or the closing token), and whether a
    /// blank line comes right before unit `k`.
    fn boundary(&self, seq: &Seq<'_>, k: usize) -> (Vec<&Comment<'_>>, bool) {
        let mut comments = Vec::new();
        if let Some(comma) = k.checked_sub(1).and_then(|before| seq.units[before].comma) {
            comments.extend(self.tokens[comma].comments.iter());
        }
        let next = seq.units.get(k).map_or(seq.close, |unit| unit.first);
        comments.extend(self.tokens[next].comments.iter());
        (
            comments,
            k < seq.units.len() && self.tokens[next].blank_before,
        )
    }

    /// Whether a blank line will separate unit `k - 1` from unit `k`.
    fn blank_between(&self, seq: &Seq<'_>, k: usize, forced: &dyn Fn(usize) -> bool) -> bool {
        let (comments, blank) = self.boundary(seq, k);
        blank || forced(k) || comments.iter().any(|c| c.blank_before)
    }

    /// Lays out a sequence one unit per line: `texts[k]` is unit `k`, already laid out at
    /// `seq.indent`. Starts right after the opening token and ends with the closing one.
    fn seq(&self, seq: &Seq<'_>, texts: &[String], forced: &dyn Fn(usize) -> bool) -> String {
        let mut out = String::new();
        let mut started = seq.open;
        let mut first_line = true;
        let newline = |out: &mut String, started: bool, blank: bool, indent: usize| {
            if started {
                out.push('\n');
                if blank {
                    out.push('\n');
                }
            }
            out.push_str(&spaces(indent));
        };
        let count = seq.units.len();
        for k in 0..=count {
            let (comments, blank_next) = self.boundary(seq, k);
            let mut rest = &comments[..];
            if let Some(first) = comments.first() {
                if !first.newline_before && started {
                    out.push_str("  ");
                    out.push_str(first.text);
                    rest = &comments[1..];
                }
            }
            let mut force = k > 0 && k < count && forced(k);
            for comment in rest {
                let blank = !first_line && (comment.blank_before || force);
                force = false;
                newline(&mut out, started, blank, seq.indent);
                out.push_str(comment.text);
                started = true;
                first_line = false;
            }
            if let Some(text) = texts.get(k) {
                let blank = !first_line && (blank_next || force);
                newline(&mut out, started, blank, seq.indent);
                out.push_str(text);
                if seq.commas {
                    out.push(',');
                }
                started = true;
                first_line = false;
            }
        }
        if seq.open {
            newline(&mut out, true, false, seq.close_indent);
            out.push_str(self.text(seq.close));
        } else if started {
            out.push('\n');
        }
        out
    }

    /// Decides which units of a sequence go on one line with their keys padded to a common
    /// width. `flat[k]` is `None` for units that cannot be one line or are not aligned.
    fn align(&self, seq: &Seq<'_>, flat: &[Option<Flat>], suffix: usize) -> Vec<Place> {
        let mut single: Vec<bool> = flat.iter().map(Option::is_some).collect();
        let mut places = vec![
            Place {
                pad: None,
                force_break: false,
            };
            flat.len()
        ];
        let blank: Vec<bool> = (0..flat.len())
            .map(|k| k > 0 && self.blank_between(seq, k, &|_| false))
            .collect();
        loop {
            let mut changed = false;
            let mut start = 0;
            while start < flat.len() {
                if !single[start] {
                    start += 1;
                    continue;
                }
                let mut end = start + 1;
                while end < flat.len() && single[end] && !blank[end] {
                    end += 1;
                }
                let pad = (start..end)
                    .filter_map(|k| flat[k].as_ref().map(|f| f.key))
                    .max()
                    .unwrap_or(0);
                for k in start..end {
                    let Some(unit) = &flat[k] else { continue };
                    places[k].pad = Some(pad);
                    if unit.breakable && seq.indent + pad + unit.rest + suffix > WIDTH {
                        single[k] = false;
                        places[k] = Place {
                            pad: None,
                            force_break: true,
                        };
                        changed = true;
                    }
                }
                start = end;
            }
            if !changed {
                return places;
            }
        }
    }

    fn file(&self, file: &File) -> String {
        let units: Vec<Unit> = file
            .apis
            .iter()
            .map(|api| Unit {
                first: api.keyword,
                comma: None,
            })
            .collect();
        let texts: Vec<String> = file.apis.iter().map(|api| self.block(api, 0)).collect();
        let seq = Seq {
            units: &units,
            close: file.eof,
            open: false,
            commas: false,
            indent: 0,
            close_indent: 0,
        };
        self.seq(&seq, &texts, &|_| true)
    }

    fn block(&self, block: &Block, indent: usize) -> String {
        let mut out = Out::new(indent);
        out.push(self.text(block.keyword));
        for &at in &block.head {
            self.token(&mut out, at, " ", indent);
        }
        if let Some(signature) = &block.signature {
            self.signature(&mut out, signature, indent);
        }
        if let Some(body) = &block.body {
            self.gap(&mut out, body.open, " ", indent);
            let text = self.body(body, block.kind, out.col(), indent);
            out.push(&text);
        }
        out.text
    }

    fn signature(&self, out: &mut Out, signature: &Signature, indent: usize) {
        self.gap(out, signature.open, "", indent);
        let flat = if self.comments_inside(signature.open, signature.close) {
            None
        } else {
            let params: Vec<String> = signature
                .params
                .iter()
                .map(|(param, _)| self.flat_param(param, 0))
                .collect();
            Some(format!("({})", params.join(", ")))
        };
        let after = width(" returns ") + width(&self.flat_type(&signature.data_type)) + 2;
        match flat {
            Some(flat) if out.col() + width(&flat) + after <= WIDTH => out.push(&flat),
            _ => {
                out.push("(");
                let units: Vec<Unit> = signature
                    .params
                    .iter()
                    .map(|(param, comma)| Unit {
                        first: param.name,
                        comma: *comma,
                    })
                    .collect();
                let seq = Seq {
                    units: &units,
                    close: signature.close,
                    open: true,
                    commas: true,
                    indent: indent + INDENT,
                    close_indent: indent,
                };
                let flat: Vec<Option<Flat>> = signature
                    .params
                    .iter()
                    .map(|(param, _)| {
                        if self.comments_inside(param.name, param.last()) {
                            return None;
                        }
                        let key = width(self.text(param.name));
                        Some(Flat {
                            key,
                            rest: width(&self.flat_param(param, key)) - key,
                            breakable: param.allowed.as_ref().is_some_and(|(_, v)| v.breakable())
                                || param.default.as_ref().is_some_and(|(_, v)| v.breakable()),
                        })
                    })
                    .collect();
                let places = self.align(&seq, &flat, 1);
                let texts: Vec<String> = signature
                    .params
                    .iter()
                    .zip(&places)
                    .map(|((param, _), place)| self.param(param, seq.indent, *place))
                    .collect();
                out.push(&self.seq(&seq, &texts, &|_| false));
            }
        }
        self.token(out, signature.returns, " ", indent);
        self.gap(out, signature.data_type.name, " ", indent);
        self.data_type(out, &signature.data_type, indent);
    }

    fn flat_type(&self, data_type: &DataType) -> String {
        let mut text = self.text(data_type.name).to_string();
        for &at in &data_type.args {
            text.push_str(self.text(at));
            if self.text(at) == "," {
                text.push(' ');
            }
        }
        text
    }

    fn data_type(&self, out: &mut Out, data_type: &DataType, indent: usize) {
        out.push(self.text(data_type.name));
        let mut after_comma = false;
        for &at in &data_type.args {
            self.token(out, at, if after_comma { " " } else { "" }, indent);
            after_comma = self.text(at) == ",";
        }
    }

    /// A parameter on one line, its name padded to `pad`.
    fn flat_param(&self, param: &Param, pad: usize) -> String {
        let name = self.text(param.name);
        let mut text = format!(
            "{name}{} {}",
            spaces(pad.saturating_sub(width(name))),
            self.flat_type(&param.data_type)
        );
        if let Some((_, list)) = &param.allowed {
            text.push_str(" in ");
            text.push_str(&self.flat_value(list));
        }
        if let Some((_, value)) = &param.default {
            text.push_str(" = ");
            text.push_str(&self.flat_value(value));
        }
        text
    }

    fn param(&self, param: &Param, indent: usize, place: Place) -> String {
        if let Some(pad) = place.pad {
            return self.flat_param(param, pad);
        }
        let mut out = Out::new(indent);
        out.push(self.text(param.name));
        self.gap(&mut out, param.data_type.name, " ", indent);
        self.data_type(&mut out, &param.data_type, indent);
        let mut force = place.force_break;
        if let Some((keyword, list)) = &param.allowed {
            self.token(&mut out, *keyword, " ", indent);
            self.gap(&mut out, list.first(), " ", indent);
            let suffix = param
                .default
                .as_ref()
                .map_or(0, |(_, value)| 3 + width(&self.flat_value(value)))
                + 1;
            let text = self.value(list, out.col(), indent, suffix, force && list.breakable());
            force &= !list.breakable();
            out.push(&text);
        }
        if let Some((eq, value)) = &param.default {
            self.token(&mut out, *eq, " ", indent);
            self.gap(&mut out, value.first(), " ", indent);
            let text = self.value(value, out.col(), indent, 1, force);
            out.push(&text);
        }
        out.text
    }

    fn body(&self, body: &Body, kind: BlockKind, col: usize, indent: usize) -> String {
        let empty = body.items.is_empty();
        if empty && !self.comments_inside(body.open, body.close) {
            return "{}".into();
        }
        if let (BlockKind::Leaf, [Item::Attr(attr)]) = (kind, body.items.as_slice()) {
            if !self.comments_inside(body.open, body.close) {
                let line = format!("{{ {} }}", self.flat_attr(attr, 0));
                if col + width(&line) <= WIDTH {
                    return line;
                }
            }
        }
        let inner = indent + INDENT;
        let units: Vec<Unit> = body
            .items
            .iter()
            .map(|item| Unit {
                first: item.first(),
                comma: None,
            })
            .collect();
        let seq = Seq {
            units: &units,
            close: body.close,
            open: true,
            commas: false,
            indent: inner,
            close_indent: indent,
        };
        let flat: Vec<Option<Flat>> = body
            .items
            .iter()
            .map(|item| match item {
                Item::Attr(attr) => self.attr_flat(attr),
                Item::Block(_) => None,
            })
            .collect();
        let places = self.align(&seq, &flat, 0);
        let texts: Vec<String> = body
            .items
            .iter()
            .zip(&places)
            .map(|(item, place)| match item {
                Item::Attr(attr) => self.attr(attr, inner, *place),
                Item::Block(block) => self.block(block, inner),
            })
            .collect();
        let api = kind == BlockKind::Api;
        let forced = |k: usize| api && (texts[k - 1].contains('\n') || texts[k].contains('\n'));
        format!("{{{}", self.seq(&seq, &texts, &forced))
    }

    fn attr_flat(&self, attr: &Attr) -> Option<Flat> {
        if self.comments_inside(attr.key, attr.value.last()) {
            return None;
        }
        Some(Flat {
            key: width(self.text(attr.key)),
            rest: 3 + width(&self.flat_value(&attr.value)),
            breakable: attr.value.breakable(),
        })
    }

    /// `key = value` on one line, the key padded to `pad`; only without comments inside.
    fn flat_attr(&self, attr: &Attr, pad: usize) -> String {
        let key = self.text(attr.key);
        format!(
            "{key}{} = {}",
            spaces(pad.saturating_sub(width(key))),
            self.flat_value(&attr.value)
        )
    }

    fn attr(&self, attr: &Attr, indent: usize, place: Place) -> String {
        if let Some(pad) = place.pad {
            return self.flat_attr(attr, pad);
        }
        let mut out = Out::new(indent);
        out.push(self.text(attr.key));
        self.token(&mut out, attr.eq, " ", indent);
        self.gap(&mut out, attr.value.first(), " ", indent);
        let text = self.value(&attr.value, out.col(), indent, 0, place.force_break);
        out.push(&text);
        out.text
    }

    /// A value on one line; only for values without comments inside.
    fn flat_value(&self, value: &Value) -> String {
        match value {
            Value::Token(at) => self.text(*at).to_string(),
            Value::Call(tokens) => format!("{}({})", self.text(tokens[0]), self.text(tokens[2])),
            Value::SecretRef(at) => (*at..at + 5).map(|i| self.text(i)).collect(),
            Value::List { items, .. } if items.is_empty() => "[]".into(),
            Value::List { items, .. } => {
                let items: Vec<String> = items.iter().map(|(v, _)| self.flat_value(v)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Object { entries, .. } if entries.is_empty() => "{}".into(),
            Value::Object { entries, .. } => {
                let entries: Vec<String> =
                    entries.iter().map(|(a, _)| self.flat_attr(a, 0)).collect();
                format!("{{ {} }}", entries.join(", "))
            }
        }
    }

    /// A value starting at column `col`, followed on its last line by `suffix` columns.
    fn value(
        &self,
        value: &Value,
        col: usize,
        indent: usize,
        suffix: usize,
        force: bool,
    ) -> String {
        let comments = self.comments_inside(value.first(), value.last());
        let forced = force && value.breakable();
        if !comments && !forced {
            let flat = self.flat_value(value);
            if !value.breakable() || col + width(&flat) + suffix <= WIDTH {
                return flat;
            }
        }
        let inner = indent + INDENT;
        match value {
            Value::Token(at) => self.text(*at).to_string(),
            Value::Call(tokens) => {
                let mut out = Out::new(col);
                out.push(self.text(tokens[0]));
                self.token(&mut out, tokens[1], "", indent);
                self.token(&mut out, tokens[2], "", indent);
                self.token(&mut out, tokens[3], "", indent);
                out.text
            }
            Value::SecretRef(_) => self.flat_value(value),
            Value::List { items, close, .. } => {
                let units: Vec<Unit> = items
                    .iter()
                    .map(|(value, comma)| Unit {
                        first: value.first(),
                        comma: *comma,
                    })
                    .collect();
                let seq = Seq {
                    units: &units,
                    close: *close,
                    open: true,
                    commas: true,
                    indent: inner,
                    close_indent: indent,
                };
                let texts: Vec<String> = items
                    .iter()
                    .map(|(value, _)| self.value(value, inner, inner, 1, false))
                    .collect();
                format!("[{}", self.seq(&seq, &texts, &|_| false))
            }
            Value::Object { entries, close, .. } => {
                let units: Vec<Unit> = entries
                    .iter()
                    .map(|(attr, comma)| Unit {
                        first: attr.key,
                        comma: *comma,
                    })
                    .collect();
                let seq = Seq {
                    units: &units,
                    close: *close,
                    open: true,
                    commas: false,
                    indent: inner,
                    close_indent: indent,
                };
                let flat: Vec<Option<Flat>> = entries
                    .iter()
                    .map(|(attr, _)| self.attr_flat(attr))
                    .collect();
                let places = self.align(&seq, &flat, 0);
                let texts: Vec<String> = entries
                    .iter()
                    .zip(&places)
                    .map(|((attr, _), place)| self.attr(attr, inner, *place))
                    .collect();
                format!("{{{}", self.seq(&seq, &texts, &|_| false))
            }
        }
    }
}
