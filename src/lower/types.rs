//! Parameters, literal values (defaults, `in [...]`, examples) and the Snowflake data types
//! eaxc accepts, with the ranges of their arguments.

use super::{join_help, Attrs, Lowerer};
use crate::ast::{self, Value};
use crate::diagnostic::{did_you_mean, Code, Diagnostic};
use crate::model::{DataType, Literal, Param, TypeFamily};
use crate::source::Spanned;

/// A parameter: its type, the values it allows and its default. `None` only when the default
/// is not a literal; other problems are reported and the parameter kept.
pub(super) fn lower_param(lx: &mut Lowerer<'_>, param: &ast::Param) -> Option<Param> {
    let data_type = lower_type(lx, &param.data_type);
    let allowed = match &param.allowed {
        None => Vec::new(),
        Some(Value::List(items, span)) => {
            if items.is_empty() {
                lx.report(
                    Diagnostic::new(
                        Code::OutOfRange,
                        *span,
                        format!("`{}` allows no value at all", param.name.node),
                    )
                    .label("empty list")
                    .help("list the values the parameter accepts, or remove `in []`"),
                );
            }
            items
                .iter()
                .filter_map(|item| literal(lx, item, "`in`"))
                .collect()
        }
        Some(other) => {
            Attrs::wrong_type(lx, "in", other, "a list of values");
            Vec::new()
        }
    };
    let default = match &param.default {
        None => None,
        Some(value) => Some(literal(lx, value, "a default")?),
    };
    // An unknown type was reported; keep the parameter (as VARIANT) so that references to it
    // do not cascade into "unknown parameter" errors. The caller drops the action.
    let data_type = data_type.unwrap_or(DataType {
        name: "VARIANT".into(),
        args: Vec::new(),
        family: TypeFamily::Semi,
        span: param.data_type.span,
    });
    Some(Param {
        name: param.name.clone(),
        data_type,
        allowed,
        default,
        span: param.span,
    })
}

/// A literal value (string, number, boolean, null); anything else is reported.
pub(super) fn literal(
    lx: &mut Lowerer<'_>,
    value: &Value,
    place: &str,
) -> Option<Spanned<Literal>> {
    let literal = match value {
        Value::String(string) => Literal::String(string.value.clone()),
        Value::Number(number) => Literal::Number(number.node.clone()),
        Value::Bool(boolean) => Literal::Bool(boolean.node),
        Value::Null(_) => Literal::Null,
        other => {
            lx.report(
                Diagnostic::new(
                    Code::WrongType,
                    other.span(),
                    format!("{place} must be a literal, found {}", other.kind()),
                )
                .label("not a literal")
                .help("write a string, number, true, false or null"),
            );
            return None;
        }
    };
    Some(Spanned::new(literal, value.span()))
}

/// Snowflake types eaxc accepts: the name as written (lower case), the family, and how many
/// arguments the type may take.
const TYPES: &[(&str, TypeFamily, usize)] = &[
    ("varchar", TypeFamily::Text, 1),
    ("string", TypeFamily::Text, 1),
    ("text", TypeFamily::Text, 1),
    ("char", TypeFamily::Text, 1),
    ("number", TypeFamily::Number, 2),
    ("numeric", TypeFamily::Number, 2),
    ("decimal", TypeFamily::Number, 2),
    ("int", TypeFamily::Number, 0),
    ("integer", TypeFamily::Number, 0),
    ("bigint", TypeFamily::Number, 0),
    ("smallint", TypeFamily::Number, 0),
    ("float", TypeFamily::Number, 0),
    ("double", TypeFamily::Number, 0),
    ("real", TypeFamily::Number, 0),
    ("boolean", TypeFamily::Boolean, 0),
    ("variant", TypeFamily::Semi, 0),
    ("object", TypeFamily::Semi, 0),
    ("array", TypeFamily::Semi, 0),
    ("date", TypeFamily::Time, 0),
    ("time", TypeFamily::Time, 1),
    ("timestamp", TypeFamily::Time, 1),
    ("timestamp_ntz", TypeFamily::Time, 1),
    ("timestamp_ltz", TypeFamily::Time, 1),
    ("timestamp_tz", TypeFamily::Time, 1),
    ("binary", TypeFamily::Binary, 1),
];

/// A data type: a known name, at most as many arguments as it takes, each in range.
pub(super) fn lower_type(lx: &mut Lowerer<'_>, data_type: &ast::DataType) -> Option<DataType> {
    let written = data_type.name.node.to_lowercase();
    let Some((name, family, max_args)) = TYPES.iter().find(|(name, _, _)| *name == written) else {
        lx.report(
            Diagnostic::new(
                Code::UnknownDataType,
                data_type.name.span,
                format!("unknown data type `{}`", data_type.name.node),
            )
            .label("not a supported Snowflake type")
            .help(join_help(
                &did_you_mean(&written, TYPES.iter().map(|(name, _, _)| *name)),
                "use a Snowflake type such as `varchar`, `number`, `boolean` or `variant`",
            )),
        );
        return None;
    };
    if data_type.args.len() > *max_args {
        lx.report(
            Diagnostic::new(
                Code::UnknownDataType,
                data_type.span,
                format!("`{name}` takes at most {max_args} argument(s)"),
            )
            .label("too many arguments")
            .help(format!(
                "write `{name}` without arguments or with at most {max_args}"
            )),
        );
        return None;
    }
    // Lengths, precisions and scales are whole numbers in Snowflake's ranges.
    // <https://docs.snowflake.com/en/sql-reference/intro-summary-data-types>
    let limits: &[(u64, u64)] = match family {
        TypeFamily::Text | TypeFamily::Binary => &[(1, 134_217_728)],
        TypeFamily::Number => &[(1, 38), (0, 37)],
        _ => &[(0, 9)],
    };
    for (arg, (min, max)) in data_type.args.iter().zip(limits) {
        let value = arg
            .node
            .parse::<u64>()
            .ok()
            .filter(|v| (*min..=*max).contains(v));
        if value.is_none() {
            lx.report(
                Diagnostic::new(
                    Code::OutOfRange,
                    arg.span,
                    format!("`{}` is not a valid argument of `{name}`", arg.node),
                )
                .label(format!("expected a whole number from {min} to {max}"))
                .help(format!(
                    "write `{name}` with a whole number from {min} to {max}, or without arguments"
                )),
            );
            return None;
        }
    }
    if let [precision, scale] = data_type.args.as_slice() {
        if scale.node.parse::<u64>().unwrap_or(0) > precision.node.parse::<u64>().unwrap_or(0) {
            lx.report(
                Diagnostic::new(
                    Code::OutOfRange,
                    scale.span,
                    "the scale is larger than the precision",
                )
                .label("scale")
                .with_label(precision.span, "precision")
                .help("the scale (digits after the point) must not exceed the precision"),
            );
            return None;
        }
    }
    Some(DataType {
        name: name.to_uppercase(),
        args: data_type.args.iter().map(|arg| arg.node.clone()).collect(),
        family: *family,
        span: data_type.span,
    })
}
