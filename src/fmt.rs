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

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span};

/// The column limit the layout aims for. Tokens are never split, so a long string can still
/// run past it.
pub const WIDTH: usize = 100;

/// Spaces per indentation level.
const INDENT: usize = 2;

/// Indentation added to the line that follows a comment written inside an item (between
/// `env(` and its string, say), where no line break would otherwise be.
const CONTINUATION: usize = 4;

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
    let tree = Parser {
        tokens: &tokens,
        at: 0,
    }
    .file()
    .map_err(|at| {
        internal(
            tokens.get(at).map_or(text.len(), |t| t.start),
            "unexpected token",
        )
    })?;
    let out = Printer { tokens: &tokens }.file(&tree);
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

// ---------------------------------------------------------------------------------------------
// Tokens

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Name,
    Number,
    Str,
    Punct,
    Eof,
}

/// A comment, and how it stood relative to what came before it.
#[derive(Debug)]
struct Comment<'a> {
    text: &'a str,
    /// A line break separates it from the previous token or comment.
    newline_before: bool,
    /// A blank line separates it from the previous token or comment.
    blank_before: bool,
}

/// A token with the comments written before it (after the previous token).
#[derive(Debug)]
struct Token<'a> {
    kind: Kind,
    text: &'a str,
    start: usize,
    comments: Vec<Comment<'a>>,
    /// A blank line separates it from the previous token or comment.
    blank_before: bool,
}

/// Splits a spec into tokens the way the grammar does; the error is the offset of a character
/// no token starts with.
fn lex(text: &str) -> Result<Vec<Token<'_>>, usize> {
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

// ---------------------------------------------------------------------------------------------
// The tree: token indices, so that every comment can be found from the token it precedes.

struct File {
    apis: Vec<Block>,
    eof: usize,
}

enum Item {
    Attr(Attr),
    Block(Block),
}

impl Item {
    fn first(&self) -> usize {
        match self {
            Item::Attr(attr) => attr.key,
            Item::Block(block) => block.keyword,
        }
    }
}

/// `key = value`: an attribute of a block or an entry of an object.
struct Attr {
    key: usize,
    eq: usize,
    value: Value,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    /// `api`: one item per line, blank lines around multi-line items.
    Api,
    /// Actions: one item per line.
    Open,
    /// `auth`, `secret`, `request`, `example`, `names`: one line when short.
    Leaf,
    /// `grant`: no body.
    Bare,
}

struct Block {
    kind: BlockKind,
    keyword: usize,
    /// Tokens after the keyword, up to the parameter list (actions) or the body.
    head: Vec<usize>,
    /// `(params) returns TYPE` of an action.
    signature: Option<Signature>,
    body: Option<Body>,
}

struct Signature {
    open: usize,
    params: Vec<(Param, Option<usize>)>,
    close: usize,
    returns: usize,
    data_type: DataType,
}

struct Body {
    open: usize,
    items: Vec<Item>,
    close: usize,
}

struct Param {
    name: usize,
    data_type: DataType,
    allowed: Option<(usize, Value)>,
    default: Option<(usize, Value)>,
}

impl Param {
    fn last(&self) -> usize {
        match (&self.default, &self.allowed) {
            (Some((_, value)), _) | (None, Some((_, value))) => value.last(),
            (None, None) => self.data_type.last(),
        }
    }
}

struct DataType {
    name: usize,
    /// `(` number (`,` number)* `)`: every token, in order.
    args: Vec<usize>,
}

impl DataType {
    fn last(&self) -> usize {
        self.args.last().copied().unwrap_or(self.name)
    }
}

enum Value {
    /// A string, number, boolean, null or bare word.
    Token(usize),
    /// `env("...")` or `file("...")`: keyword, `(`, string, `)`.
    Call([usize; 4]),
    /// `secret.NAME.field`: five tokens written together.
    SecretRef(usize),
    List {
        open: usize,
        items: Vec<(Value, Option<usize>)>,
        close: usize,
    },
    Object {
        open: usize,
        entries: Vec<(Attr, Option<usize>)>,
        close: usize,
    },
}

impl Value {
    fn first(&self) -> usize {
        match self {
            Value::Token(at) | Value::SecretRef(at) => *at,
            Value::Call(tokens) => tokens[0],
            Value::List { open, .. } | Value::Object { open, .. } => *open,
        }
    }

    fn last(&self) -> usize {
        match self {
            Value::Token(at) => *at,
            Value::SecretRef(at) => at + 4,
            Value::Call(tokens) => tokens[3],
            Value::List { close, .. } | Value::Object { close, .. } => *close,
        }
    }

    /// Whether the value can be spread over several lines.
    fn breakable(&self) -> bool {
        match self {
            Value::List { items, .. } => !items.is_empty(),
            Value::Object { entries, .. } => !entries.is_empty(),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing: the grammar of `grammar/eax.pest`, on text that grammar has already accepted. The
// error is the index of a token the parser did not expect.

struct Parser<'t, 'a> {
    tokens: &'t [Token<'a>],
    at: usize,
}

type Parsed<T> = Result<T, usize>;

impl Parser<'_, '_> {
    fn kind(&self, offset: usize) -> Kind {
        self.tokens
            .get(self.at + offset)
            .map_or(Kind::Eof, |t| t.kind)
    }

    fn text(&self, offset: usize) -> &str {
        self.tokens.get(self.at + offset).map_or("", |t| t.text)
    }

    fn is(&self, offset: usize, text: &str) -> bool {
        self.kind(offset) != Kind::Str && self.text(offset) == text
    }

    fn take(&mut self, kind: Kind) -> Parsed<usize> {
        if self.kind(0) == kind {
            self.at += 1;
            Ok(self.at - 1)
        } else {
            Err(self.at)
        }
    }

    /// The items before `close`, each with the comma after it, if any. With
    /// `comma_between` an item without a comma is the last (parameter lists and lists);
    /// without it, entries may also stand on their own lines (objects).
    fn items<T>(
        &mut self,
        close: &str,
        comma_between: bool,
        item: impl Fn(&mut Self) -> Parsed<T>,
    ) -> Parsed<Vec<(T, Option<usize>)>> {
        let mut items = Vec::new();
        while !self.is(0, close) {
            let parsed = item(self)?;
            let comma = self.punct(",").ok();
            let last = comma_between && comma.is_none();
            items.push((parsed, comma));
            if last {
                break;
            }
        }
        Ok(items)
    }

    fn punct(&mut self, text: &str) -> Parsed<usize> {
        if self.kind(0) == Kind::Punct && self.text(0) == text {
            self.at += 1;
            Ok(self.at - 1)
        } else {
            Err(self.at)
        }
    }

    fn file(&mut self) -> Parsed<File> {
        let mut apis = Vec::new();
        while self.kind(0) != Kind::Eof {
            if !self.is(0, "api") {
                return Err(self.at);
            }
            let keyword = self.take(Kind::Name)?;
            let name = self.take(Kind::Name)?;
            let body = self.body()?;
            apis.push(Block {
                kind: BlockKind::Api,
                keyword,
                head: vec![name],
                signature: None,
                body: Some(body),
            });
        }
        Ok(File { apis, eof: self.at })
    }

    fn body(&mut self) -> Parsed<Body> {
        let open = self.punct("{")?;
        let mut items = Vec::new();
        while !(self.kind(0) == Kind::Punct && self.text(0) == "}") {
            items.push(self.item()?);
        }
        let close = self.punct("}")?;
        Ok(Body { open, items, close })
    }

    fn item(&mut self) -> Parsed<Item> {
        if self.kind(0) != Kind::Name {
            return Err(self.at);
        }
        let name_follows = self.kind(1) == Kind::Name;
        let brace_follows = self.kind(1) == Kind::Punct && self.text(1) == "{";
        let block = |kind, keyword, head, signature, body| {
            Item::Block(Block {
                kind,
                keyword,
                head,
                signature,
                body,
            })
        };
        match self.text(0) {
            "auth" | "request" if name_follows => {
                let keyword = self.take(Kind::Name)?;
                let mut head = vec![self.take(Kind::Name)?];
                if self.tokens[keyword].text == "request" {
                    head.push(self.take(Kind::Str)?);
                }
                let body = if self.is(0, "{") {
                    Some(self.body()?)
                } else {
                    None
                };
                Ok(block(BlockKind::Leaf, keyword, head, None, body))
            }
            "secret" if name_follows && self.kind(2) == Kind::Name => {
                let keyword = self.take(Kind::Name)?;
                let head = vec![self.take(Kind::Name)?, self.take(Kind::Name)?];
                let body = self.body()?;
                Ok(block(BlockKind::Leaf, keyword, head, None, Some(body)))
            }
            "procedure" | "function" if name_follows => {
                let keyword = self.take(Kind::Name)?;
                let head = vec![self.take(Kind::Name)?];
                let open = self.punct("(")?;
                let params = self.items(")", true, Self::param)?;
                let close = self.punct(")")?;
                if !self.is(0, "returns") {
                    return Err(self.at);
                }
                let returns = self.take(Kind::Name)?;
                let data_type = self.data_type()?;
                let body = self.body()?;
                let signature = Signature {
                    open,
                    params,
                    close,
                    returns,
                    data_type,
                };
                Ok(block(
                    BlockKind::Open,
                    keyword,
                    head,
                    Some(signature),
                    Some(body),
                ))
            }
            "grant" if name_follows => {
                let keyword = self.take(Kind::Name)?;
                let mut head = vec![self.take(Kind::Name)?];
                for word in ["to", "role"] {
                    if !self.is(0, word) {
                        return Err(self.at);
                    }
                    head.push(self.take(Kind::Name)?);
                }
                match self.kind(0) {
                    Kind::Name | Kind::Str => head.push(self.at),
                    _ => return Err(self.at),
                }
                self.at += 1;
                Ok(block(BlockKind::Bare, keyword, head, None, None))
            }
            "example" | "names" if brace_follows => {
                let keyword = self.take(Kind::Name)?;
                let body = self.body()?;
                Ok(block(
                    BlockKind::Leaf,
                    keyword,
                    Vec::new(),
                    None,
                    Some(body),
                ))
            }
            _ => Ok(Item::Attr(self.attr()?)),
        }
    }

    fn attr(&mut self) -> Parsed<Attr> {
        let key = match self.kind(0) {
            Kind::Name | Kind::Str => self.at,
            _ => return Err(self.at),
        };
        self.at += 1;
        let eq = self.punct("=")?;
        let value = self.value()?;
        Ok(Attr { key, eq, value })
    }

    fn param(&mut self) -> Parsed<Param> {
        let name = self.take(Kind::Name)?;
        let data_type = self.data_type()?;
        let allowed = if self.is(0, "in") {
            let keyword = self.take(Kind::Name)?;
            if !self.is(0, "[") {
                return Err(self.at);
            }
            Some((keyword, self.value()?))
        } else {
            None
        };
        let default = if self.is(0, "=") {
            let eq = self.punct("=")?;
            Some((eq, self.value()?))
        } else {
            None
        };
        Ok(Param {
            name,
            data_type,
            allowed,
            default,
        })
    }

    fn data_type(&mut self) -> Parsed<DataType> {
        let name = self.take(Kind::Name)?;
        let mut args = Vec::new();
        if self.is(0, "(") {
            args.push(self.punct("(")?);
            loop {
                args.push(self.take(Kind::Number)?);
                if self.is(0, ",") {
                    args.push(self.punct(",")?);
                } else {
                    break;
                }
            }
            args.push(self.punct(")")?);
        }
        Ok(DataType { name, args })
    }

    fn value(&mut self) -> Parsed<Value> {
        match self.kind(0) {
            Kind::Str | Kind::Number => {
                self.at += 1;
                Ok(Value::Token(self.at - 1))
            }
            Kind::Name => {
                let call = matches!(self.text(0), "env" | "file")
                    && self.is(1, "(")
                    && self.kind(2) == Kind::Str
                    && self.is(3, ")");
                let reference = self.text(0) == "secret"
                    && self.is(1, ".")
                    && self.kind(2) == Kind::Name
                    && self.is(3, ".")
                    && self.kind(4) == Kind::Name;
                let at = self.at;
                if call {
                    self.at += 4;
                    Ok(Value::Call([at, at + 1, at + 2, at + 3]))
                } else if reference {
                    self.at += 5;
                    Ok(Value::SecretRef(at))
                } else {
                    self.at += 1;
                    Ok(Value::Token(at))
                }
            }
            Kind::Punct if self.text(0) == "[" => {
                let open = self.punct("[")?;
                let items = self.items("]", true, Self::value)?;
                let close = self.punct("]")?;
                Ok(Value::List { open, items, close })
            }
            Kind::Punct if self.text(0) == "{" => {
                let open = self.punct("{")?;
                let entries = self.items("}", false, Self::attr)?;
                let close = self.punct("}")?;
                Ok(Value::Object {
                    open,
                    entries,
                    close,
                })
            }
            _ => Err(self.at),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Printing. Every function returns the text of one construct, laid out as if it started at a
// given column on a line indented by `indent`; lines after the first carry their own
// indentation.

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
