//! The formatter's tree, built from the tokens of [`lex`](mod@super::lex). It holds token
//! indices, not text, so that every comment can be found from the token it precedes.
//!
//! The parser follows the grammar of `grammar/eax.pest`, on text that grammar has already
//! accepted; its error is the index of a token it did not expect.

use super::lex::{Kind, Token};

/// A whole spec: its `api` blocks and the end-of-file token, which holds the comments after
/// the last one.
pub(super) struct File {
    pub(super) apis: Vec<Block>,
    pub(super) eof: usize,
}

/// One entry of a block body: an attribute or a nested block.
pub(super) enum Item {
    Attr(Attr),
    Block(Block),
}

impl Item {
    /// Its first token, which carries the comments written before the item.
    pub(super) fn first(&self) -> usize {
        match self {
            Item::Attr(attr) => attr.key,
            Item::Block(block) => block.keyword,
        }
    }
}

/// `key = value`: an attribute of a block or an entry of an object.
pub(super) struct Attr {
    pub(super) key: usize,
    pub(super) eq: usize,
    pub(super) value: Value,
}

/// How a block's body is laid out.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum BlockKind {
    /// `api`: one item per line, blank lines around multi-line items.
    Api,
    /// Actions: one item per line.
    Open,
    /// `auth`, `secret`, `request`, `example`, `names`: one line when short.
    Leaf,
    /// `grant`: no body.
    Bare,
}

/// A keyword, the tokens of its head, and for actions a signature, for most kinds a body.
pub(super) struct Block {
    pub(super) kind: BlockKind,
    pub(super) keyword: usize,
    /// Tokens after the keyword, up to the parameter list (actions) or the body.
    pub(super) head: Vec<usize>,
    /// `(params) returns TYPE` of an action.
    pub(super) signature: Option<Signature>,
    pub(super) body: Option<Body>,
}

/// `(params) returns TYPE`; each parameter with the comma after it, if any.
pub(super) struct Signature {
    pub(super) open: usize,
    pub(super) params: Vec<(Param, Option<usize>)>,
    pub(super) close: usize,
    pub(super) returns: usize,
    pub(super) data_type: DataType,
}

/// `{` items `}`; a body holds no commas.
pub(super) struct Body {
    pub(super) open: usize,
    pub(super) items: Vec<Item>,
    pub(super) close: usize,
}

/// `name TYPE [in [...]] [= value]`: the `in` and `=` tokens with what follows them.
pub(super) struct Param {
    pub(super) name: usize,
    pub(super) data_type: DataType,
    pub(super) allowed: Option<(usize, Value)>,
    pub(super) default: Option<(usize, Value)>,
}

impl Param {
    /// Its last token: of the default, else of the allowed list, else of the type.
    pub(super) fn last(&self) -> usize {
        match (&self.default, &self.allowed) {
            (Some((_, value)), _) | (None, Some((_, value))) => value.last(),
            (None, None) => self.data_type.last(),
        }
    }
}

/// A type name with its optional arguments: `varchar`, `number(38, 2)`.
pub(super) struct DataType {
    pub(super) name: usize,
    /// `(` number (`,` number)* `)`: every token, in order.
    pub(super) args: Vec<usize>,
}

impl DataType {
    pub(super) fn last(&self) -> usize {
        self.args.last().copied().unwrap_or(self.name)
    }
}

/// The value of an attribute, a list element or a parameter's default; lists and objects
/// keep the comma after each element, if any.
pub(super) enum Value {
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
    /// Its first token, which carries the comments written before the value.
    pub(super) fn first(&self) -> usize {
        match self {
            Value::Token(at) | Value::SecretRef(at) => *at,
            Value::Call(tokens) => tokens[0],
            Value::List { open, .. } | Value::Object { open, .. } => *open,
        }
    }

    pub(super) fn last(&self) -> usize {
        match self {
            Value::Token(at) => *at,
            Value::SecretRef(at) => at + 4,
            Value::Call(tokens) => tokens[3],
            Value::List { close, .. } | Value::Object { close, .. } => *close,
        }
    }

    /// Whether the value can be spread over several lines.
    pub(super) fn breakable(&self) -> bool {
        match self {
            Value::List { items, .. } => !items.is_empty(),
            Value::Object { entries, .. } => !entries.is_empty(),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing

/// Parses the tokens of a whole spec; the error is the index of the first token the parser
/// did not expect.
pub(super) fn parse(tokens: &[Token<'_>]) -> Result<File, usize> {
    Parser { tokens, at: 0 }.file()
}

/// A cursor over the tokens; `at` is the index of the next one.
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
