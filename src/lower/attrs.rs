//! [`Attrs`]: the attributes of one block, taken by name and type (string, secret value, enum,
//! list, number, boolean). Reports duplicate, missing, mistyped and, at the end, unknown ones.

use super::{join_help, list, Lowerer};
use crate::ast::{self, Item, Value};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::SecretValue;
use crate::source::{Span, Spanned};

/// The attributes of one block, consumed by name; whatever is left is unknown.
pub struct Attrs<'a> {
    attrs: Vec<(&'a ast::Attribute, bool)>,
    span: Span,
    block: String,
}

impl<'a> Attrs<'a> {
    /// Collects the attributes among `items`, reporting duplicates. `block` names the block in
    /// messages (`auth oauth2`); `span` is its keyword.
    pub(super) fn new(
        lx: &mut Lowerer<'_>,
        items: &'a [Item],
        span: Span,
        block: impl Into<String>,
    ) -> Self {
        let mut attrs: Vec<(&'a ast::Attribute, bool)> = Vec::new();
        for item in items {
            if let Item::Attribute(attribute) = item {
                if let Some((first, _)) = attrs
                    .iter()
                    .find(|(a, _)| a.name.node == attribute.name.node)
                {
                    lx.report(
                        Diagnostic::new(
                            Code::Duplicate,
                            attribute.name.span,
                            format!("attribute `{}` is set twice", attribute.name.node),
                        )
                        .label("set again here")
                        .with_label(first.name.span, "first set here")
                        .help("remove one of them"),
                    );
                    continue;
                }
                attrs.push((attribute, false));
            }
        }
        Attrs {
            attrs,
            span,
            block: block.into(),
        }
    }

    /// The block's keyword span.
    pub(crate) fn span(&self) -> Span {
        self.span
    }

    /// The span of an attribute's value, if it is set.
    pub(crate) fn span_of(&self, name: &str) -> Option<Span> {
        self.attrs
            .iter()
            .find(|(attribute, _)| attribute.name.node == name)
            .map(|(attribute, _)| attribute.value.span())
    }

    /// Takes the raw value of an attribute.
    pub(crate) fn take(&mut self, name: &str) -> Option<&'a Value> {
        self.attrs
            .iter_mut()
            .find(|(attribute, _)| attribute.name.node == name)
            .map(|(attribute, used)| {
                *used = true;
                &attribute.value
            })
    }

    /// Reports that the block lacks `name`; `example` is a value to suggest.
    fn missing(&self, lx: &mut Lowerer<'_>, name: &str, example: &str) {
        lx.report(
            Diagnostic::new(
                Code::MissingAttribute,
                self.span,
                format!("`{}` is missing `{name}`", self.block),
            )
            .label(format!("needs `{name}`"))
            .help(format!("add `{name} = {example}`")),
        );
    }

    /// Reports that `value`, given for `name`, is not `expected` ("a string").
    pub(super) fn wrong_type(lx: &mut Lowerer<'_>, name: &str, value: &Value, expected: &str) {
        lx.report(
            Diagnostic::new(
                Code::WrongType,
                value.span(),
                format!("`{name}` must be {expected}, found {}", value.kind()),
            )
            .label(format!("expected {expected}"))
            .help(
                if matches!(value, Value::Word(_)) && expected.contains("string") {
                    "strings are written in double quotes".to_string()
                } else {
                    format!("write `{name}` as {expected}")
                },
            ),
        );
    }

    /// A string attribute.
    pub(crate) fn string(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<Spanned<String>> {
        match self.take(name)? {
            Value::String(string) => Some(Spanned::new(string.value.clone(), string.span)),
            other => {
                Self::wrong_type(lx, name, other, "a string");
                None
            }
        }
    }

    /// A string attribute that must be present.
    pub(crate) fn required_string(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
    ) -> Option<Spanned<String>> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, "\"...\"");
        }
        self.string(lx, name)
    }

    /// A possibly sensitive value: a string or `env("NAME")`. A sensitive literal is a warning.
    pub(crate) fn secret_value(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        sensitive: bool,
    ) -> Option<Spanned<SecretValue>> {
        match self.take(name)? {
            Value::String(string) => {
                if sensitive {
                    lx.report(
                        Diagnostic::new(
                            Code::SensitiveLiteral,
                            string.span,
                            format!("`{name}` is written in the spec"),
                        )
                        .label("this value ends up in the generated SQL and in git")
                        .help(format!(
                            "read it at deploy time instead: `{name} = env(\"VARIABLE\")`"
                        )),
                    );
                }
                Some(Spanned::new(
                    SecretValue::Literal(string.value.clone()),
                    string.span,
                ))
            }
            Value::Env(variable, span) => {
                let valid = !variable.value.is_empty()
                    && variable
                        .value
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !variable.value.starts_with(|c: char| c.is_ascii_digit());
                if !valid {
                    lx.report(
                        Diagnostic::new(
                            Code::WrongType,
                            variable.span,
                            format!("`{}` is not an environment variable name", variable.value),
                        )
                        .label("letters, digits and `_` only")
                        .help("name the variable like `MY_API_TOKEN`"),
                    );
                    return None;
                }
                Some(Spanned::new(
                    SecretValue::Env(variable.value.clone()),
                    *span,
                ))
            }
            other => {
                Self::wrong_type(lx, name, other, "a string or env(\"NAME\")");
                None
            }
        }
    }

    /// A possibly sensitive value that must be present.
    pub(crate) fn required_secret_value(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        sensitive: bool,
    ) -> Option<Spanned<SecretValue>> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, "env(\"NAME\")");
            return None;
        }
        self.secret_value(lx, name, sensitive)
    }

    /// A bare-word enum attribute.
    pub(crate) fn enumeration<T: Copy>(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let value = self.take(name)?;
        let (word, span) = match value {
            Value::Word(word) => (word.node.as_str(), word.span),
            Value::String(string) => (string.value.as_str(), string.span),
            other => {
                Self::wrong_type(lx, name, other, "a bare word");
                return None;
            }
        };
        if let Some((_, option)) = options.iter().find(|(option, _)| *option == word) {
            return Some(*option);
        }
        let names: Vec<&str> = options.iter().map(|(option, _)| *option).collect();
        lx.report(
            Diagnostic::new(
                Code::UnknownEnumValue,
                span,
                format!("`{word}` is not a value of `{name}`"),
            )
            .label("unknown value")
            .help(join_help(
                &did_you_mean(word, names.iter().copied()),
                &format!("`{name}` is one of {}", list(&names)),
            )),
        );
        None
    }

    /// An enum attribute that must be present.
    pub(crate) fn required_enum<T: Copy>(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        let present = self.attrs.iter().any(|(a, _)| a.name.node == name);
        if !present {
            self.missing(lx, name, options[0].0);
            return None;
        }
        self.enumeration(lx, name, options)
    }

    /// A list of strings.
    pub(crate) fn string_list(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<Vec<String>> {
        self.spanned_string_list(lx, name)
            .map(|items| items.into_iter().map(|item| item.node).collect())
    }

    /// A list of strings with their spans, and the span of the list.
    pub(super) fn spanned_string_list(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
    ) -> Option<Vec<Spanned<String>>> {
        let value = self.take(name)?;
        let Value::List(items, _) = value else {
            Self::wrong_type(lx, name, value, "a list of strings");
            return None;
        };
        let mut out = Vec::new();
        for item in items {
            match item {
                Value::String(string) => out.push(Spanned::new(string.value.clone(), string.span)),
                other => Self::wrong_type(lx, name, other, "a list of strings"),
            }
        }
        Some(out)
    }

    /// A non-negative integer.
    pub(crate) fn integer(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<u64> {
        let value = self.take(name)?;
        if let Value::Number(number) = value {
            if let Ok(parsed) = number.node.parse::<u64>() {
                return Some(parsed);
            }
        }
        Self::wrong_type(lx, name, value, "a whole number");
        None
    }

    /// A whole number within `min..=max`; out-of-range values are reported.
    pub(crate) fn ranged(
        &mut self,
        lx: &mut Lowerer<'_>,
        name: &str,
        min: u32,
        max: u32,
        unit: &str,
    ) -> Option<u32> {
        let span = self.span_of(name)?;
        // Negative numbers are whole numbers too: out of range, not of the wrong type.
        let value = match self.take(name)? {
            Value::Number(number) if number.node.parse::<i128>().is_ok() => {
                number.node.parse::<i128>().unwrap_or_default()
            }
            value => {
                Self::wrong_type(lx, name, value, "a whole number");
                return None;
            }
        };
        match u32::try_from(value) {
            Ok(value) if (min..=max).contains(&value) => Some(value),
            _ => {
                lx.report(
                    Diagnostic::new(
                        Code::OutOfRange,
                        span,
                        format!("`{name}` must be between {min} and {max}"),
                    )
                    .label(format!("{value} {unit}"))
                    .help(format!("set `{name}` to a value from {min} to {max}")),
                );
                None
            }
        }
    }

    /// A boolean.
    pub(crate) fn boolean(&mut self, lx: &mut Lowerer<'_>, name: &str) -> Option<bool> {
        match self.take(name)? {
            Value::Bool(boolean) => Some(boolean.node),
            other => {
                Self::wrong_type(lx, name, other, "true or false");
                None
            }
        }
    }

    /// Reports every attribute nobody took, with a suggestion from `known`.
    pub(crate) fn finish(&mut self, lx: &mut Lowerer<'_>, known: &[&str]) {
        for (attribute, used) in &self.attrs {
            if *used {
                continue;
            }
            let name = &attribute.name.node;
            let help = if known.is_empty() {
                format!("`{}` takes no attributes", self.block)
            } else {
                join_help(
                    &did_you_mean(name, known.iter().copied()),
                    &format!("`{}` accepts {}", self.block, list(known)),
                )
            };
            lx.report(
                Diagnostic::new(
                    Code::UnknownAttribute,
                    attribute.name.span,
                    format!("unknown attribute `{name}` in `{}`", self.block),
                )
                .label("not known here")
                .help(help),
            );
        }
        for (_, used) in &mut self.attrs {
            *used = true;
        }
    }
}
