//! The syntax tree: what the user wrote, with a span on every node. Produced by `parse`,
//! consumed by `lower`. Nothing here is resolved or validated beyond the grammar.

use crate::source::{Span, Spanned};

/// A name as written (`matillion_dpc`, `varchar`, `POST`).
pub type Name = Spanned<String>;

/// One spec file.
#[derive(Clone, Debug)]
pub struct File {
    /// The `api` blocks in source order.
    pub apis: Vec<Api>,
}

/// `api NAME { items }`
#[derive(Clone, Debug)]
pub struct Api {
    /// The api's name.
    pub name: Name,
    /// Its items.
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// An item of a block.
#[derive(Clone, Debug)]
pub enum Item {
    /// `name = value`
    Attribute(Attribute),
    /// `auth KIND { ... }`
    Auth(Auth),
    /// `secret NAME TYPE { ... }`
    Secret(Secret),
    /// `procedure NAME(...) returns TYPE { ... }` or `function ...`
    Action(Action),
    /// `request METHOD "url" { ... }`
    Request(Request),
    /// `grant usage to role R`
    Grant(Grant),
    /// `example { ... }`
    Example(Block),
    /// `names { ... }`
    Names(Block),
}

impl Item {
    /// The span of the keyword (or attribute name) that starts the item.
    #[must_use]
    pub fn head_span(&self) -> Span {
        match self {
            Item::Attribute(attribute) => attribute.name.span,
            Item::Auth(auth) => auth.keyword,
            Item::Secret(secret) => secret.keyword,
            Item::Action(action) => action.keyword.span,
            Item::Request(request) => request.keyword,
            Item::Grant(grant) => grant.keyword,
            Item::Example(block) | Item::Names(block) => block.keyword,
        }
    }

    /// What the item is called in messages (`auth block`, attribute `comment`).
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Item::Attribute(attribute) => format!("attribute `{}`", attribute.name.node),
            Item::Auth(_) => "an `auth` block".into(),
            Item::Secret(_) => "a `secret` block".into(),
            Item::Action(action) => format!("a `{}` block", action.keyword.node),
            Item::Request(_) => "a `request` block".into(),
            Item::Grant(_) => "a `grant`".into(),
            Item::Example(_) => "an `example` block".into(),
            Item::Names(_) => "a `names` block".into(),
        }
    }
}

/// `name = value`
#[derive(Clone, Debug)]
pub struct Attribute {
    /// The attribute name.
    pub name: Name,
    /// Its value.
    pub value: Value,
}

/// A `{ items }` body with the keyword that introduced it.
#[derive(Clone, Debug)]
pub struct Block {
    /// The keyword's span.
    pub keyword: Span,
    /// The items inside.
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// `auth KIND { attributes }`
#[derive(Clone, Debug)]
pub struct Auth {
    /// The `auth` keyword.
    pub keyword: Span,
    /// The kind (`oauth2`, `pat`, ...).
    pub kind: Name,
    /// The attributes (empty for `auth none`).
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// `secret NAME TYPE { attributes }`
#[derive(Clone, Debug)]
pub struct Secret {
    /// The `secret` keyword.
    pub keyword: Span,
    /// The secret's name (also its alias in handlers).
    pub name: Name,
    /// `password` or `generic_string`.
    pub kind: Name,
    /// The attributes.
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// `procedure NAME(params) returns TYPE { items }`
#[derive(Clone, Debug)]
pub struct Action {
    /// `procedure` or `function`.
    pub keyword: Name,
    /// The action's name.
    pub name: Name,
    /// The parameters.
    pub params: Vec<Param>,
    /// The return type.
    pub returns: DataType,
    /// The items inside.
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// `name TYPE [in [...]] [= default]`
#[derive(Clone, Debug)]
pub struct Param {
    /// The parameter name.
    pub name: Name,
    /// Its type.
    pub data_type: DataType,
    /// `in [...]`, the values it accepts.
    pub allowed: Option<Value>,
    /// `= value`, which makes it optional.
    pub default: Option<Value>,
    /// The whole parameter.
    pub span: Span,
}

/// `varchar`, `number(38, 2)`
#[derive(Clone, Debug)]
pub struct DataType {
    /// The type name.
    pub name: Name,
    /// The arguments in parentheses.
    pub args: Vec<Spanned<String>>,
    /// The whole type.
    pub span: Span,
}

/// `request METHOD "url" { items }`
#[derive(Clone, Debug)]
pub struct Request {
    /// The `request` keyword.
    pub keyword: Span,
    /// The HTTP method as written.
    pub method: Name,
    /// The URL template.
    pub url: StringLit,
    /// The items inside (`json`, `query`, `headers`).
    pub items: Vec<Item>,
    /// The whole block.
    pub span: Span,
}

/// `grant PRIVILEGE to role ROLE`
#[derive(Clone, Debug)]
pub struct Grant {
    /// The `grant` keyword.
    pub keyword: Span,
    /// The privilege (`usage`).
    pub privilege: Name,
    /// The role.
    pub role: Role,
    /// The whole grant.
    pub span: Span,
}

/// A role as written.
#[derive(Clone, Debug)]
pub enum Role {
    /// A bare word: upper-cased like an unquoted Snowflake identifier.
    Word(Name),
    /// A string: used exactly.
    Quoted(StringLit),
}

/// A string literal, decoded, with the span of its content (without the quotes).
#[derive(Clone, Debug)]
pub struct StringLit {
    /// The decoded text.
    pub value: String,
    /// The span of the whole literal including quotes.
    pub span: Span,
    /// Whether the literal is free of escapes, so that byte offsets in `value` map onto the
    /// source one to one (used to point into `{param}` placeholders).
    pub verbatim: bool,
}

impl StringLit {
    /// The span of `len` bytes at `offset` of the decoded value, or the whole literal when the
    /// source contains escapes.
    #[must_use]
    pub fn span_of(&self, offset: usize, len: usize) -> Span {
        if self.verbatim {
            self.span.sub(offset + 1, len)
        } else {
            self.span
        }
    }
}

/// A value.
#[derive(Clone, Debug)]
pub enum Value {
    /// `"text"`
    String(StringLit),
    /// `443`, `2.5`
    Number(Spanned<String>),
    /// `true`, `false`
    Bool(Spanned<bool>),
    /// `null`
    Null(Span),
    /// A bare word.
    Word(Name),
    /// `env("NAME")`
    Env(StringLit, Span),
    /// `file("path")`
    File(StringLit, Span),
    /// `secret.NAME.field`
    SecretRef {
        /// The secret.
        secret: Name,
        /// The field.
        field: Name,
        /// The whole reference.
        span: Span,
    },
    /// `[a, b]`
    List(Vec<Value>, Span),
    /// `{ key = value }`
    Object(Vec<(Name, Value)>, Span),
}

impl Value {
    /// The whole value's span.
    #[must_use]
    pub fn span(&self) -> Span {
        match self {
            Value::String(string) => string.span,
            Value::Number(number) => number.span,
            Value::Bool(boolean) => boolean.span,
            Value::Word(word) => word.span,
            Value::Null(span)
            | Value::Env(_, span)
            | Value::File(_, span)
            | Value::SecretRef { span, .. }
            | Value::List(_, span)
            | Value::Object(_, span) => *span,
        }
    }

    /// What kind of value this is, for messages.
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            Value::Null(_) => "null",
            Value::Word(_) => "a bare word",
            Value::Env(..) => "env(...)",
            Value::File(..) => "file(...)",
            Value::SecretRef { .. } => "a secret reference",
            Value::List(..) => "a list",
            Value::Object(..) => "an object",
        }
    }
}
