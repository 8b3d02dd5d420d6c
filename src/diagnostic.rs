//! Diagnostics: the one type every stage reports problems with, the table of stable codes,
//! and the bridge to miette for rendering.

use std::fmt;

use crate::source::{Sources, Span};

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Output is still produced; `--deny-warnings` makes it fail.
    Warning,
    /// Nothing is written.
    Error,
}

macro_rules! codes {
    ($($(#[$doc:meta])* $variant:ident = $code:literal, $severity:ident, $title:literal;)*) => {
        /// Every stable diagnostic code. Codes are grouped by stage (E01 parse, E02 lower,
        /// E03 check, E04 plan, E05 configuration, E09 internal) and never reused.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $($(#[$doc])* $variant,)*
        }

        impl Code {
            /// Every code, in table order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as written in diagnostics, e.g. `E0101`.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self { $(Code::$variant => $code,)* }
            }

            /// The severity problems with this code have.
            #[must_use]
            pub fn severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$severity,)* }
            }

            /// A short title for the rule.
            #[must_use]
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title,)* }
            }

            /// The explanation printed by `eaxc explain`: what the rule checks, why it matters
            /// in Snowflake, a wrong and a right example. It is `docs/codes/CODE.md`, the one
            /// place each code is documented.
            #[must_use]
            pub fn explanation(self) -> &'static str {
                match self {
                    $(Code::$variant => include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/codes/", $code, ".md")),)*
                }
            }

            /// The code written as `code` (case-insensitive), if there is one.
            #[must_use]
            pub fn parse(code: &str) -> Option<Code> {
                Code::ALL.iter().copied().find(|c| c.as_str().eq_ignore_ascii_case(code.trim()))
            }
        }
    };
}

codes! {
    /// The text does not follow the grammar.
    Syntax = "E0101", Error, "syntax error";
    /// A string literal holds an escape sequence the language does not know.
    BadEscape = "E0102", Error, "invalid escape in string";
    /// Brackets (blocks, lists, objects, parameter lists) nest deeper than eaxc follows.
    TooDeep = "E0103", Error, "brackets nested too deeply";
    /// An attribute name is not known in this block.
    UnknownAttribute = "E0201", Error, "unknown attribute";
    /// A block is written where it cannot appear.
    MisplacedItem = "E0202", Error, "item not allowed here";
    /// `auth KIND` names a kind eaxc does not know.
    UnknownAuthKind = "E0203", Error, "unknown auth kind";
    /// A bare word is not one of the values an attribute accepts.
    UnknownEnumValue = "E0204", Error, "unknown value";
    /// A required attribute or block is missing.
    MissingAttribute = "E0205", Error, "missing required attribute";
    /// A value has the wrong type for its attribute.
    WrongType = "E0206", Error, "wrong value type";
    /// The same name is defined twice.
    Duplicate = "E0207", Error, "duplicate definition";
    /// `secret NAME TYPE` names a type eaxc does not know.
    UnknownSecretType = "E0208", Error, "unknown secret type";
    /// A parameter or return type is not a Snowflake type eaxc supports.
    UnknownDataType = "E0209", Error, "unknown data type";
    /// `request METHOD` names an HTTP method eaxc does not know.
    UnknownMethod = "E0210", Error, "unknown HTTP method";
    /// A bare word in a request does not name a parameter.
    UnknownParameter = "E0211", Error, "unknown parameter";
    /// `secret.NAME.field` names a secret or field that does not exist.
    UnknownSecret = "E0212", Error, "unknown secret";
    /// A `file("...")` path cannot be read.
    FileNotFound = "E0213", Error, "file cannot be read";
    /// A `{...}` placeholder in a template is malformed.
    BadTemplate = "E0214", Error, "malformed template";
    /// An action needs exactly one of `request` and `handler`.
    ActionBody = "E0215", Error, "action needs one request or one handler";
    /// An egress entry is not `host`, `host:port` or a wildcard host.
    BadEgressHost = "E0301", Error, "invalid egress host";
    /// An egress port is outside 0 to 65535.
    BadEgressPort = "E0302", Error, "invalid egress port";
    /// An egress wildcard is misplaced.
    BadWildcard = "E0303", Error, "invalid egress wildcard";
    /// `0.0.0.0` lets handlers reach every host.
    AllowAllHosts = "W0304", Warning, "egress allows every host";
    /// The egress list is empty.
    EmptyEgress = "E0306", Error, "empty egress list";
    /// A request goes to a host that no egress entry allows.
    HostNotAllowed = "E0307", Error, "request host not covered by egress";
    /// An OAuth endpoint is not an `https://` URL.
    EndpointNotHttps = "E0309", Error, "endpoint must be https";
    /// A refresh-token expiry is not in a format Snowflake accepts.
    BadExpiry = "E0311", Error, "invalid refresh token expiry";
    /// A username or password for a PASSWORD secret contains `:`.
    ColonInCredential = "E0312", Error, "colon in credential";
    /// A sensitive value is written literally in the spec.
    SensitiveLiteral = "W0313", Warning, "sensitive value written in the spec";
    /// A parameter's default is invalid or comes before a required parameter.
    BadDefault = "E0314", Error, "invalid parameter default";
    /// An `example` block does not fit the action's parameters.
    BadExample = "E0315", Error, "invalid example";
    /// A Python runtime version Snowflake does not offer.
    BadRuntime = "E0316", Error, "unsupported runtime version";
    /// A hand-written handler lacks `main` or takes the wrong number of arguments.
    HandlerEntry = "E0317", Error, "handler entry function";
    /// A hand-written handler reads a secret alias that is not attached, or with the wrong accessor.
    HandlerSecret = "E0318", Error, "handler reads an unattached secret";
    /// A secret is attached to an action whose hand-written handler never reads it.
    UnusedSecret = "W0319", Warning, "attached secret never read";
    /// A generated object name is longer than Snowflake allows.
    NameTooLong = "E0320", Error, "name too long";
    /// Two objects get the same name.
    NameClash = "E0321", Error, "object name used twice";
    /// A parameter name cannot be used in SQL or Python.
    BadParameterName = "E0322", Error, "parameter name not allowed";
    /// The auth kind cannot be applied by a generated handler.
    AuthNeedsHandler = "E0323", Error, "auth kind needs a hand-written handler";
    /// A return type a generated handler cannot produce.
    BadReturnType = "E0324", Error, "unsupported return type";
    /// OAuth scopes of the secret are not within the integration's scopes.
    ScopeNotAllowed = "E0310", Error, "scope not allowed";
    /// A handler is larger than Snowflake accepts for a procedure or function body.
    HandlerTooLarge = "E0326", Error, "handler too large";
    /// A header name is not an HTTP token, or a header value contains a line break.
    BadHeader = "E0327", Error, "invalid header";
    /// A GET or HEAD request has a JSON body.
    BodyIgnored = "W0328", Warning, "request body on GET or HEAD";
    /// A number or list is outside the range eaxc accepts.
    OutOfRange = "E0329", Error, "value out of range";
    /// A function declares more parameters than Snowflake allows.
    TooManyParameters = "E0330", Error, "too many parameters";
    /// A name holds text that the Snowflake CLI's templating would rewrite.
    NameRewritten = "E0331", Error, "name the Snowflake CLI would rewrite";
    /// `eaxc.yaml` is not valid.
    BadConfig = "E0501", Error, "invalid configuration";
    /// A bug in eaxc.
    Internal = "E0901", Error, "internal error";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A labelled span.
#[derive(Clone, Debug)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What is there (may be empty).
    pub message: String,
}

/// One problem found in the user's input.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    /// The stable code.
    pub code: Code,
    /// Error or warning (from the code).
    pub severity: Severity,
    /// What is wrong, naming the offending text.
    pub message: String,
    /// The primary label first, then secondary ones.
    pub labels: Vec<Label>,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with a primary label.
    pub fn new(code: Code, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            message: message.into(),
            labels: vec![Label {
                span,
                message: String::new(),
            }],
            help: None,
        }
    }

    /// Sets the primary label's text.
    #[must_use]
    pub fn label(mut self, message: impl Into<String>) -> Self {
        self.labels[0].message = message.into();
        self
    }

    /// Adds a secondary label.
    #[must_use]
    pub fn with_label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    /// Sets the help text.
    #[must_use]
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The primary span.
    #[must_use]
    pub fn span(&self) -> Span {
        self.labels[0].span
    }

    /// Whether this is an error (not a warning).
    #[must_use]
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Sorts diagnostics into file and position order, the order they are reported in.
pub fn sort(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by_key(|d| (d.span().file, d.span().start, d.span().end, d.code));
}

/// The "did you mean" candidate closest to `word`, if any is close enough.
#[must_use]
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| *distance <= (candidate.len() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Appends " did you mean `x`?" to a help text when a suggestion exists.
#[must_use]
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    match suggest(word, candidates) {
        Some(candidate) => format!("did you mean `{candidate}`?"),
        None => String::new(),
    }
}

/// A diagnostic bound to its source text, ready for miette to render.
#[derive(Debug)]
pub struct Report {
    diagnostic: Diagnostic,
    source: miette::NamedSource<String>,
}

impl Report {
    /// Binds a diagnostic to the file its primary span is in.
    #[must_use]
    pub fn new(diagnostic: &Diagnostic, sources: &Sources) -> Self {
        let file = sources.get(diagnostic.span().file);
        Report {
            diagnostic: diagnostic.clone(),
            source: miette::NamedSource::new(&file.name, file.text.clone()),
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.diagnostic.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.diagnostic.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|help| Box::new(help) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.source)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        let primary = self.diagnostic.span().file;
        Some(Box::new(
            self.diagnostic
                .labels
                .iter()
                .filter(move |label| label.span.file == primary)
                .enumerate()
                .map(|(index, label)| {
                    let text = (!label.message.is_empty()).then(|| label.message.clone());
                    if index == 0 {
                        miette::LabeledSpan::new_primary_with_span(text, label.span)
                    } else {
                        miette::LabeledSpan::new_with_span(text, label.span)
                    }
                }),
        ))
    }
}

/// One labelled span, located, for machine-readable output.
#[derive(Debug, serde::Serialize)]
struct JsonLabel {
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start: u32,
    end: u32,
    message: String,
}

/// One diagnostic for machine-readable output.
#[derive(Debug, serde::Serialize)]
struct JsonDiagnostic {
    code: &'static str,
    severity: Severity,
    message: String,
    file: String,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    start: u32,
    end: u32,
    help: Option<String>,
    labels: Vec<JsonLabel>,
}

/// Diagnostics as JSON: `{"diagnostics": [...], "errors": N, "warnings": N}`. Lines and
/// columns are 1-based (columns count characters); `start` and `end` are byte offsets.
#[must_use]
pub fn render_json(diagnostics: &[Diagnostic], sources: &Sources) -> String {
    let locate = |label: &Label| {
        let (line, column) = sources.line_col(label.span.file, label.span.start);
        let (end_line, end_column) = sources.line_col(label.span.file, label.span.end);
        JsonLabel {
            file: sources.get(label.span.file).name.clone(),
            line,
            column,
            end_line,
            end_column,
            start: label.span.start,
            end: label.span.end,
            message: label.message.clone(),
        }
    };
    let items: Vec<JsonDiagnostic> = diagnostics
        .iter()
        .map(|diagnostic| {
            let primary = locate(&diagnostic.labels[0]);
            JsonDiagnostic {
                code: diagnostic.code.as_str(),
                severity: diagnostic.severity,
                message: diagnostic.message.clone(),
                file: primary.file.clone(),
                line: primary.line,
                column: primary.column,
                end_line: primary.end_line,
                end_column: primary.end_column,
                start: primary.start,
                end: primary.end,
                help: diagnostic.help.clone(),
                labels: diagnostic.labels.iter().map(locate).collect(),
            }
        })
        .collect();
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    let value = serde_json::json!({
        "diagnostics": items,
        "errors": errors,
        "warnings": diagnostics.len() - errors,
    });
    serde_json::to_string_pretty(&value).expect("diagnostics serialise") + "\n"
}

/// Renders diagnostics as text without colour at a fixed width (for tests and pipes).
#[must_use]
pub fn render_plain(diagnostics: &[Diagnostic], sources: &Sources, width: usize) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(width)
            .with_links(false);
    let mut out = String::new();
    for diagnostic in diagnostics {
        render_graphical(diagnostic, sources, &handler, &mut out);
        out.push('\n');
    }
    out
}

/// Columns beyond which a diagnostic is narrated rather than drawn: miette's graphical
/// renderer pads up to a label's column and panics past 65,535 (a long generated line).
const MAX_DRAWN_COLUMN: usize = 10_000;

/// Renders one diagnostic with `handler`, or as narrated text when one of its labels lies
/// further along its line than [`MAX_DRAWN_COLUMN`] bytes; the message alone if rendering
/// fails.
pub fn render_graphical(
    diagnostic: &Diagnostic,
    sources: &Sources,
    handler: &miette::GraphicalReportHandler,
    out: &mut String,
) {
    // Bytes since the line's start, found backwards: a line number is not needed, and
    // counting lines from the top of the file for every label would be quadratic.
    let far = diagnostic.labels.iter().any(|label| {
        let text = sources.get(label.span.file).text.as_bytes();
        [label.span.start, label.span.end].iter().any(|offset| {
            let offset = (*offset as usize).min(text.len());
            let line_start = text[..offset]
                .iter()
                .rposition(|byte| *byte == b'\n')
                .map_or(0, |newline| newline + 1);
            offset - line_start > MAX_DRAWN_COLUMN
        })
    });
    let report = Report::new(diagnostic, sources);
    let rendered = if far {
        miette::NarratableReportHandler::new().render_report(out, &report)
    } else {
        handler.render_report(out, &report)
    };
    if rendered.is_err() {
        out.push_str(&diagnostic.message);
    }
}
