//! Stage 1, parse: source text → [`ast::File`]. The grammar is `grammar/eax.pest`; this module
//! turns pest's pairs into the typed syntax tree and pest's errors into diagnostics.

use pest::iterators::Pair;
use pest::Parser as _;

use crate::ast::{
    Action, Api, Attribute, Auth, Block, DataType, File, Grant, Item, Name, Param, Request, Role,
    Secret, StringLit, Value,
};
use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Span, Spanned};

mod grammar {
    #![allow(missing_docs, unreachable_pub)]
    #[derive(pest_derive::Parser)]
    #[grammar = "../grammar/eax.pest"]
    pub(super) struct EaxParser;
}

use grammar::{EaxParser, Rule};

/// Parses one spec. Returns the tree, or the first syntax error (pest stops at the first one)
/// together with any escape errors found.
pub fn parse(file: FileId, text: &str) -> Result<File, Vec<Diagnostic>> {
    if let Some(at) = too_deep(text) {
        let span = Span::new(file, at, at + 1);
        return Err(vec![Diagnostic::new(
            Code::TooDeep,
            span,
            format!("brackets are nested more than {MAX_DEPTH} deep here"),
        )
        .label("this one opens too deep")
        .help("flatten the value; no spec needs this depth")]);
    }
    let pairs = EaxParser::parse(Rule::file, text)
        .map_err(|error| vec![syntax_error(file, text, &error)])?;
    let mut builder = Builder {
        file,
        errors: Vec::new(),
    };
    let mut apis = Vec::new();
    let file_pair = pairs
        .into_iter()
        .next()
        .expect("the file rule always produces a pair");
    for pair in file_pair.into_inner() {
        if pair.as_rule() == Rule::api {
            apis.push(builder.api(pair));
        }
    }
    if builder.errors.is_empty() {
        Ok(File { apis })
    } else {
        Err(builder.errors)
    }
}

/// Brackets (`{`, `[`, `(`, blocks included) nested deeper than this are refused (E0103)
/// before pest runs: the parser and every later stage recurse once per level, and how deep
/// they can go depends on the thread's stack; a spec has no use for such depth.
pub const MAX_DEPTH: usize = 64;

/// The offset of the first bracket opened inside [`MAX_DEPTH`] others, outside strings and
/// comments (lexed as the grammar does: `"..."` with `\` escaping any character and ending at
/// a newline, `#` to the end of the line).
fn too_deep(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'"' => {
                at += 1;
                while at < bytes.len() && bytes[at] != b'"' && bytes[at] != b'\n' {
                    at += if bytes[at] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                while at < bytes.len() && bytes[at] != b'\n' && bytes[at] != b'\r' {
                    at += 1;
                }
            }
            b'{' | b'[' | b'(' => {
                if depth >= MAX_DEPTH {
                    return Some(at);
                }
                depth += 1;
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        at += 1;
    }
    None
}

fn syntax_error(file: FileId, text: &str, error: &pest::error::Error<Rule>) -> Diagnostic {
    let (start, end) = match error.location {
        pest::error::InputLocation::Pos(pos) => (pos, pos),
        pest::error::InputLocation::Span((start, end)) => (start, end),
    };
    // Point at the offending token (or character), not at an empty position.
    let end = if end > start {
        end
    } else {
        text[start..]
            .char_indices()
            .take_while(|(_, c)| c.is_alphanumeric() || *c == '_')
            .last()
            .map_or_else(
                || start + text[start..].chars().next().map_or(0, char::len_utf8),
                |(i, c)| start + i + c.len_utf8(),
            )
    };
    let found = if start >= text.len() {
        "end of file".to_string()
    } else {
        format!("`{}`", &text[start..end])
    };
    let expected = match &error.variant {
        pest::error::ErrorVariant::ParsingError { positives, .. } => {
            let mut names: Vec<&str> = positives
                .iter()
                .filter_map(|rule| describe(*rule))
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        }
        pest::error::ErrorVariant::CustomError { .. } => Vec::new(),
    };
    let expected_text = match expected.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    };
    Diagnostic::new(
        Code::Syntax,
        Span::new(file, start, end),
        format!("expected {expected_text}, found {found}"),
    )
    .label(format!("expected {expected_text}"))
    .help(syntax_help(&expected, &found))
}

fn syntax_help(expected: &[&str], found: &str) -> String {
    if expected.contains(&"`api`") {
        "a spec holds `api NAME { ... }` blocks; see docs/language.md".into()
    } else if found == "end of file" {
        "a block or list is not closed; check that every `{`, `(` and `[` has its partner".into()
    } else if expected.contains(&"a value") {
        "values are strings (\"...\"), numbers, true/false, null, bare words, lists [...], objects { ... }, env(\"NAME\"), file(\"path\") or secret.NAME.field".into()
    } else {
        "see docs/language.md for the syntax of each block".into()
    }
}

/// The name a rule has in "expected ..." messages; `None` hides it.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::api | Rule::kw_api => "`api`",
        Rule::kw_auth => "`auth`",
        Rule::kw_secret => "`secret`",
        Rule::kw_returns => "`returns`",
        Rule::kw_in => "`in`",
        Rule::kw_request => "`request`",
        Rule::kw_grant => "`grant`",
        Rule::kw_to => "`to`",
        Rule::kw_role => "`role`",
        Rule::kw_example => "`example`",
        Rule::kw_names => "`names`",
        Rule::kw_env | Rule::kw_file => "a value",
        Rule::EOI => "end of file",
        Rule::name | Rule::word => "a name",
        Rule::string | Rule::string_inner => "a string",
        Rule::number => "a number",
        Rule::attribute | Rule::item => "an attribute or block",
        Rule::auth => "`auth`",
        Rule::secret => "`secret`",
        Rule::action | Rule::action_kind => "`procedure` or `function`",
        Rule::request => "`request`",
        Rule::grant => "`grant`",
        Rule::example => "`example`",
        Rule::names => "`names`",
        Rule::body => "`{`",
        Rule::params => "`(`",
        Rule::param => "a parameter",
        Rule::returns => "`returns`",
        Rule::data_type => "a type",
        Rule::type_args => "`(`",
        Rule::allowed => "`in`",
        Rule::default => "`=`",
        Rule::boolean
        | Rule::null
        | Rule::env_call
        | Rule::file_call
        | Rule::secret_ref
        | Rule::list
        | Rule::object => "a value",
        Rule::entry => "a key",
        Rule::role => "a role name",
        _ => return None,
    })
}

struct Builder {
    file: FileId,
    errors: Vec<Diagnostic>,
}

impl Builder {
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let span = pair.as_span();
        Span::new(self.file, span.start(), span.end())
    }

    fn name(&self, pair: &Pair<'_, Rule>) -> Name {
        Spanned::new(pair.as_str().to_string(), self.span(pair))
    }

    fn api(&mut self, pair: Pair<'_, Rule>) -> Api {
        let span = self.span(&pair);
        let mut inner = pair.children();
        let name = self.name(&inner.next().expect("api name"));
        let items = inner.map(|item| self.item(item)).collect();
        Api { name, items, span }
    }

    fn items(&mut self, body: Option<Pair<'_, Rule>>) -> Vec<Item> {
        body.map(|body| body.children().map(|item| self.item(item)).collect())
            .unwrap_or_default()
    }

    fn keyword(&self, pair: &Pair<'_, Rule>, keyword: &str) -> Span {
        let start = pair.as_span().start();
        Span::new(self.file, start, start + keyword.len())
    }

    fn item(&mut self, pair: Pair<'_, Rule>) -> Item {
        let span = self.span(&pair);
        let rule = pair.as_rule();
        match rule {
            Rule::attribute => {
                let mut inner = pair.children();
                let name = self.name(&inner.next().expect("attribute name"));
                let value = self.value(inner.next().expect("attribute value"));
                Item::Attribute(Attribute { name, value })
            }
            Rule::auth => {
                let keyword = self.keyword(&pair, "auth");
                let mut inner = pair.children();
                let kind = self.name(&inner.next().expect("auth kind"));
                let items = self.items(inner.next());
                Item::Auth(Auth {
                    keyword,
                    kind,
                    items,
                    span,
                })
            }
            Rule::secret => {
                let keyword = self.keyword(&pair, "secret");
                let mut inner = pair.children();
                let name = self.name(&inner.next().expect("secret name"));
                let kind = self.name(&inner.next().expect("secret type"));
                let items = self.items(inner.next());
                Item::Secret(Secret {
                    keyword,
                    name,
                    kind,
                    items,
                    span,
                })
            }
            Rule::action => {
                let mut inner = pair.children();
                let keyword = self.name(&inner.next().expect("action kind"));
                let name = self.name(&inner.next().expect("action name"));
                let params = inner
                    .next()
                    .expect("params")
                    .children()
                    .map(|param| self.param(param))
                    .collect();
                let returns = self.data_type(
                    inner
                        .next()
                        .expect("returns")
                        .children()
                        .next()
                        .expect("return type"),
                );
                let items = self.items(inner.next());
                Item::Action(Action {
                    keyword,
                    name,
                    params,
                    returns,
                    items,
                    span,
                })
            }
            Rule::request => {
                let keyword = self.keyword(&pair, "request");
                let mut inner = pair.children();
                let method = self.name(&inner.next().expect("method"));
                let url = self.string(inner.next().expect("url"));
                let items = self.items(inner.next());
                Item::Request(Request {
                    keyword,
                    method,
                    url,
                    items,
                    span,
                })
            }
            Rule::grant => {
                let keyword = self.keyword(&pair, "grant");
                let mut inner = pair.children();
                let privilege = self.name(&inner.next().expect("privilege"));
                let role_pair = inner
                    .next()
                    .expect("role")
                    .children()
                    .next()
                    .expect("role value");
                let role = if role_pair.as_rule() == Rule::string {
                    Role::Quoted(self.string(role_pair))
                } else {
                    Role::Word(self.name(&role_pair))
                };
                Item::Grant(Grant {
                    keyword,
                    privilege,
                    role,
                    span,
                })
            }
            Rule::example | Rule::names => {
                let keyword = self.keyword(
                    &pair,
                    if rule == Rule::example {
                        "example"
                    } else {
                        "names"
                    },
                );
                let items = self.items(pair.children().next());
                let block = Block {
                    keyword,
                    items,
                    span,
                };
                if rule == Rule::example {
                    Item::Example(block)
                } else {
                    Item::Names(block)
                }
            }
            other => unreachable!("grammar produced {other:?} as an item"),
        }
    }

    fn param(&mut self, pair: Pair<'_, Rule>) -> Param {
        let span = self.span(&pair);
        let mut inner = pair.children();
        let name = self.name(&inner.next().expect("param name"));
        let data_type = self.data_type(inner.next().expect("param type"));
        let mut allowed = None;
        let mut default = None;
        for part in inner {
            let value = self.value(part.clone().children().next().expect("value"));
            if part.as_rule() == Rule::allowed {
                allowed = Some(value);
            } else {
                default = Some(value);
            }
        }
        Param {
            name,
            data_type,
            allowed,
            default,
            span,
        }
    }

    fn data_type(&mut self, pair: Pair<'_, Rule>) -> DataType {
        let span = self.span(&pair);
        let mut inner = pair.children();
        let name = self.name(&inner.next().expect("type name"));
        let args = inner
            .next()
            .map(|args| args.children().map(|arg| self.name(&arg)).collect())
            .unwrap_or_default();
        DataType { name, args, span }
    }

    fn string(&mut self, pair: Pair<'_, Rule>) -> StringLit {
        let span = self.span(&pair);
        // The text between the quotes (what `string_inner` matched), without walking to the
        // inner pair: both quotes are one byte.
        let text = pair.as_str();
        let raw = &text[1..text.len() - 1];
        let (value, verbatim) = self.unescape(raw, span);
        StringLit {
            value,
            span,
            verbatim,
        }
    }

    fn unescape(&mut self, raw: &str, span: Span) -> (String, bool) {
        if raw.contains('\0') {
            self.errors.push(
                Diagnostic::new(Code::BadEscape, span, "a string holds the NUL character")
                    .label("contains NUL")
                    .help("remove it; Snowflake string values cannot carry NUL reliably"),
            );
        }
        if !raw.contains('\\') {
            return (raw.to_string(), true);
        }
        let mut out = String::with_capacity(raw.len());
        let mut chars = raw.char_indices();
        while let Some((index, c)) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escape_span = span.sub(index + 1, 2);
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, 'r')) => out.push('\r'),
                Some((_, 'u')) => match unicode_escape(&raw[index + 2..]) {
                    Some((c, len)) => {
                        out.push(c);
                        for _ in 0..len {
                            chars.next();
                        }
                    }
                    None => self.errors.push(
                        Diagnostic::new(Code::BadEscape, escape_span, "invalid unicode escape")
                            .label("expected `\\u{HEX}`")
                            .help("write a code point as `\\u{1F600}` (1 to 6 hex digits)"),
                    ),
                },
                Some((_, other)) => self.errors.push(
                    Diagnostic::new(
                        Code::BadEscape,
                        escape_span,
                        format!("unknown escape `\\{other}`"),
                    )
                    .label("not an escape")
                    .help("the escapes are \\\" \\\\ \\n \\t \\r and \\u{HEX}; write a backslash as `\\\\`"),
                ),
                None => {}
            }
        }
        if out.contains('\0') && !raw.contains('\0') {
            self.errors.push(
                Diagnostic::new(Code::BadEscape, span, "a string holds the NUL character")
                    .label("contains `\\u{0}`")
                    .help("remove it; Snowflake string values cannot carry NUL reliably"),
            );
        }
        (out, false)
    }

    fn value(&mut self, pair: Pair<'_, Rule>) -> Value {
        let span = self.span(&pair);
        match pair.as_rule() {
            Rule::string => Value::String(self.string(pair)),
            Rule::number => Value::Number(self.name(&pair)),
            Rule::boolean => Value::Bool(Spanned::new(pair.as_str() == "true", span)),
            Rule::null => Value::Null(span),
            Rule::word => Value::Word(self.name(&pair)),
            Rule::env_call => {
                let string = self.string(pair.children().next().expect("env name"));
                Value::Env(string, span)
            }
            Rule::file_call => {
                let string = self.string(pair.children().next().expect("file path"));
                Value::File(string, span)
            }
            Rule::secret_ref => {
                let mut inner = pair.children();
                let secret = self.name(&inner.next().expect("secret"));
                let field = self.name(&inner.next().expect("field"));
                Value::SecretRef {
                    secret,
                    field,
                    span,
                }
            }
            Rule::list => Value::List(
                pair.children().map(|value| self.value(value)).collect(),
                span,
            ),
            Rule::object => {
                let entries = pair
                    .children()
                    .map(|entry| {
                        let mut inner = entry.children();
                        let key = inner.next().expect("key");
                        let key = if key.as_rule() == Rule::string {
                            let string = self.string(key);
                            Spanned::new(string.value, string.span)
                        } else {
                            self.name(&key)
                        };
                        let value = self.value(inner.next().expect("entry value"));
                        (key, value)
                    })
                    .collect();
                Value::Object(entries, span)
            }
            other => unreachable!("grammar produced {other:?} as a value"),
        }
    }
}

/// Child pairs with keyword tokens filtered out.
type ChildPairs<'i> =
    std::iter::Filter<pest::iterators::Pairs<'i, Rule>, fn(&Pair<'i, Rule>) -> bool>;

/// The children of a pair without keyword tokens.
trait Children<'i> {
    fn children(self) -> ChildPairs<'i>;
}

impl<'i> Children<'i> for Pair<'i, Rule> {
    fn children(self) -> ChildPairs<'i> {
        self.into_inner().filter(|pair| !is_keyword(pair.as_rule()))
    }
}

/// Keyword tokens carry no information for the tree; the builder skips them.
fn is_keyword(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::kw_api
            | Rule::kw_auth
            | Rule::kw_secret
            | Rule::kw_returns
            | Rule::kw_in
            | Rule::kw_request
            | Rule::kw_grant
            | Rule::kw_to
            | Rule::kw_role
            | Rule::kw_example
            | Rule::kw_names
            | Rule::kw_env
            | Rule::kw_file
    )
}

/// Decodes `{HEX}` after `\u`; returns the character and how many source chars it used.
fn unicode_escape(rest: &str) -> Option<(char, usize)> {
    let body = rest.strip_prefix('{')?;
    let close = body.find('}')?;
    let hex = &body[..close];
    if hex.is_empty() || hex.len() > 6 {
        return None;
    }
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, close + 2))
}

#[cfg(test)]
mod tests {
    #[test]
    fn nesting_is_counted_outside_strings_and_comments() {
        let nested = |n: usize| format!("{}{}", "[".repeat(n), "]".repeat(n));
        assert_eq!(too_deep(&nested(MAX_DEPTH)), None);
        assert_eq!(too_deep(&nested(MAX_DEPTH + 1)), Some(MAX_DEPTH));
        let brackets = "{[(".repeat(100);
        assert_eq!(too_deep(&format!("x = \"{brackets}\"")), None);
        assert_eq!(
            too_deep(&format!("x = \"\\\"{brackets}\"")),
            None,
            "escaped quote"
        );
        assert_eq!(too_deep(&format!("# {brackets}\nx = 1")), None);
        assert_eq!(too_deep(&format!("# {brackets}\r\n{}", nested(2))), None);
        // An unterminated string ends at the newline; what follows counts again.
        assert!(too_deep(&format!("x = \"{brackets}\n{}", nested(MAX_DEPTH + 1))).is_some());
    }

    use super::*;

    fn parse_ok(text: &str) -> File {
        parse(FileId(0), text).unwrap_or_else(|errors| panic!("{:?}", errors[0].message))
    }

    #[test]
    fn empty_file_has_no_apis() {
        assert!(parse_ok("# only a comment\n").apis.is_empty());
    }

    #[test]
    fn trailing_commas_are_accepted() {
        let file = parse_ok(
            "api a { procedure p(x varchar, y number = 1,) returns variant { l = [1, 2,] } }",
        );
        let Item::Action(action) = &file.apis[0].items[0] else {
            panic!("not an action")
        };
        assert_eq!(action.params.len(), 2);
    }

    #[test]
    fn escapes_are_decoded() {
        let file = parse_ok(r#"api a { comment = "q\"b\\n\n\u{e9}" }"#);
        let Item::Attribute(attribute) = &file.apis[0].items[0] else {
            panic!("not an attribute")
        };
        let Value::String(string) = &attribute.value else {
            panic!("not a string")
        };
        assert_eq!(string.value, "q\"b\\n\n\u{e9}");
        assert!(!string.verbatim);
    }

    #[test]
    fn unknown_escape_is_an_error() {
        let errors = parse(FileId(0), r#"api a { comment = "\d" }"#).unwrap_err();
        assert_eq!(errors[0].code, Code::BadEscape);
    }

    #[test]
    fn syntax_error_names_what_was_expected() {
        let errors = parse(FileId(0), "api a { comment = }").unwrap_err();
        assert_eq!(errors[0].code, Code::Syntax);
        assert!(
            errors[0].message.contains("a value"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[0].message.contains("found `}`"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn words_that_start_like_keywords_are_words() {
        let file = parse_ok("api a { x = trueish y = nullable z = envy }");
        for item in &file.apis[0].items {
            let Item::Attribute(attribute) = item else {
                panic!("not an attribute")
            };
            assert!(
                matches!(attribute.value, Value::Word(_)),
                "{:?}",
                attribute.value
            );
        }
    }
}
