"""Run the real Snowflake CLI (`snow sql`) offline over eaxc's generated SQL.

Usage (with the venv of .ci/snowcli/setup.sh):

    target/snowcli-venv/bin/python .ci/snowcli/check.py [--all-modes] EAXC SPEC_DIR...

For every spec directory, with every `env("NAME")` set to an adversarial value:

1. `eaxc build DIR --out TMP`; then, for every `*.sql` file of the output and every templating
   mode of `snow sql` (MODES below), `snow sql -f FILE ...` runs for real, with only its last step
   replaced (capture/sitecustomize.py records each statement instead of sending it, and refuses
   any network access). One check per (file, mode): the statements snow would send must be
   exactly the statements of the file, as the connector's own `split_statements` cuts it, byte
   for byte — except eaxc's secret templates (`'<% ctx.env.NAME ... %>'`), which, in the modes
   that include STANDARD templating, must have become one string literal that decodes to exactly
   the value of NAME. (How eaxc escapes the value is not assumed, only what it decodes to.)
2. The stdin path: `eaxc resolve DIR | snow sql --stdin` must send exactly the statements of
   resolve's own output; and those must be the statements of 020_security_integrations.sql and
   030_secrets.sql with each template replaced by a literal that decodes to the variable's value.
3. Decoding (Snowflake's documented escapes, reference/snowflake.md §8.4, by the decoder below
   and, independently, by sqlglot's Snowflake tokenizer) of what snow sends in its default mode:
   (a) every literal that came from a secret template decodes to the variable's value;
   (b) the `AS` body of every CREATE PROCEDURE / FUNCTION decodes to exactly the bytes of its
       `handlers/<api>__<action>.py`, and a hand-written handler's file is byte for byte the
       user's source file;
   (c) for tests/snowcli_specs: COMMENT literals contain the spec's comments exactly, DEFAULT
       literals and example arguments decode to the spec's values (ADVERSARIAL_* tables), and the
       generated handlers parse and hold the spec's strings as Python string constants.

A check is one (file, mode) comparison, one stdin comparison or one decode assertion. The last
line is `snowcli: N passed, M failed`; the exit status is 1 if anything failed.
"""

from __future__ import annotations

import ast
import concurrent.futures
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from snowflake.connector.util_text import split_statements

# sqlglot's Snowflake tokenizer decodes `\xhh`, `\uhhhh`, octal `\ooo`, `\b \f \n \r \t \0`,
# `\'`, `\\`, `''` and drops the backslash of any other escape, as the Snowflake docs describe
# (checked on sqlglot 30.30.0), so it serves as a second, independent decoder of string literals.
from sqlglot.dialects.snowflake import Snowflake as SqlglotSnowflake
from sqlglot.tokens import TokenType as SqlglotTokenType

HERE = Path(__file__).resolve().parent
CAPTURE_DIR = HERE / "capture"
VENV_BIN = Path(sys.executable).parent

# ---------------------------------------------------------------------------------------------
# Inputs: adversarial environment values and the strings tests/snowcli_specs holds.
# ---------------------------------------------------------------------------------------------

# Each variable gets one of these; the names of tests/snowcli_specs get fixed ones (below), any
# other variable the next one in turn, by sorted name.
ADVERSARIAL_VALUES = [
    "pa'ss\\x",  # a quote and a backslash followed by a letter that an escape would eat
    "a&b&&c&{d}",  # LEGACY templating: &name, &&, &{name}
    "{# x",  # a Jinja comment that never ends
    "<% y %>",  # STANDARD templating
    "{{ z }}",  # JINJA templating
    "$$dollar$$",  # ends a $$ literal
    "trailing\\",  # a backslash that would escape the closing quote
    "é日本😀",  # non-ASCII, including a character outside the BMP
    "plain-value-123",
    "line1\nline2\ttab;--not a comment",  # control characters, a `;` and `--` in the value
]

FIXED_VALUES = {
    "SNOWCLI_BASIC_PASSWORD": "pa'ss\\x",
    "SNOWCLI_SIGNING_KEY": "a&b&&c&{d}",
    "SNOWCLI_SERVICE_USER": "{# x",
    "SNOWCLI_SERVICE_PASSWORD": "<% y %>",
    "SNOWCLI_OAUTH_CLIENT_ID": "{{ z }}",
    "SNOWCLI_OAUTH_CLIENT_SECRET": "$$dollar$$",
    "SNOWCLI_CODE_CLIENT_SECRET": "trailing\\",
    "SNOWCLI_CODE_REFRESH_TOKEN": "é日本😀",
    "SNOWCLI_BEARER_TOKEN": "plain-value-123",
    "SNOWCLI_API_KEY": "line1\nline2\ttab;--not a comment",
    "SNOWCLI_SPCS_PAT": "{# x <% y %> {{ z }} {% if %} &w '\\",
    "SNOWCLI_PAT_TOKEN": "R&D &{x} && %> $",
    "SNOWCLI_EXTRA_VALUE": "'';\\\\'",
}

# The text every dangerous spec string of tests/snowcli_specs means (eax escapes and, in request
# templates, `{{`/`}}` resolved). Keep in step with the .eax files.
DANGER = "R&D &word &{x} a && b {# c #} <% d %> {{ e }} {% if %} it's C:\\dir $$ é 日本 😀"
ADVERSARIAL_API_COMMENTS = {
    "SNOWCLI_BASIC": DANGER,
    "SNOWCLI_OAUTH": "OAuth &client {% raw %} {{ secret }} %> done",
    "SNOWCLI_HAND": "Hand-written &handlers {# #} <% %>",
}
ADVERSARIAL_ACTION_COMMENTS = {
    "SNOWCLI_BASIC__SEARCH": (
        "Search &word in R&D: &{x} && {# c #} <% d %> {{ e }} {% if %} it's \\ $$ é 日本 😀"
    ),
    "SNOWCLI_BASIC__LOOKUP": "{# unclosed comment tag, and a %> closing tag alone",
    "SNOWCLI_OAUTH__WHOAMI": "&whoami",
    "SNOWCLI_HAND__TEMPLATING": "Handler text with &word, {# and <% %>",
    "SNOWCLI_HAND__AMPERSAND": "Only &: ?page=1&limit=100",
}
# (action, parameter) -> the DEFAULT literal's value.
ADVERSARIAL_DEFAULTS = {
    ("SNOWCLI_BASIC__SEARCH", "mode"): "R&D",
    ("SNOWCLI_BASIC__SEARCH", "label"): "&{x} && {{ x }} {% if %} {# #} <% %> it's \\ $$ é日本😀",
    ("SNOWCLI_BASIC__SEARCH", "flag"): "trailing$",
    ("SNOWCLI_BASIC__LOOKUP", "code"): "<%= &x %>",
    ("SNOWCLI_HAND__TEMPLATING", "pattern"): "\\d+ &word {# x",
    ("SNOWCLI_SPCS__ECHO", "message"): "{{ x }}",
}
# action -> the string arguments of each of its examples, in order.
ADVERSARIAL_EXAMPLES = {
    "SNOWCLI_BASIC__SEARCH": [
        {
            "term": "R&D &word",
            "mode": "&word",
            "label": "{# x #} <% y %> {{ z }} {% if %} &{x} && it's \\ $$ é日本😀",
        },
        {"term": "a&&b&{c}", "flag": "$$"},
    ],
    "SNOWCLI_BASIC__LOOKUP": [{"code": "100% &amp; {{ 1 }}"}],
    "SNOWCLI_HAND__PLAIN": [{"name": "plain"}],
}
# Other string literals that must arrive as written (OAUTH scopes, endpoints, literal names).
ADVERSARIAL_LITERALS = [
    "read&write",
    "{{ scope }}",
    "https://oauth.snowcli.example.com/token?realm=R&D",
    "client&id",
    "pat&name {{ n }}",
]
# handler file -> Python string constants it must hold (a generated handler's URL pieces, `in`
# values, query and header names and values, JSON keys and values).
ADVERSARIAL_PYTHON_CONSTANTS = {
    "snowcli_basic__search.py": [
        "R&D",
        "&word",
        "{# x #}",
        "<% y %>",
        "{{ z }}",
        "{% if %}",
        "https://api.snowcli.example.com/v1/R&D/&word/",
        "/é日本?tag=a&&b&amp=&{x}",
        "q&x",
        "R&D &word &{x} a && b",
        "{# x #} <% y %> {{ z }} {% if %}",
        "X-R&D",
        "R&D &word &{x} a && b it's \\",
        "X-Tpl&x",
        "<% y %> {{ z }} {% if %} {# x",
        'R&D &word &{x} a && b {# c #} <% d %> {{ e }} {% if %} it\'s "q" C:\\dir $$ é 日本 😀',
        "&&",
        "{{#",
        "#}",
        "<%",
        "%>",
        " & ",
        "{#",
        "{{",
        "}}",
        "$$",
        "$",
    ],
    "snowcli_basic__lookup.py": ["https://api.snowcli.example.com/v1/codes/", "?x=1&y=2"],
    "snowcli_bearer__ping.py": ["Token&x "],
    "snowcli_key__ping.py": ["key&x"],
}

# ---------------------------------------------------------------------------------------------
# Templating modes of `snow sql`.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mode:
    name: str
    args: tuple
    standard: bool  # `<% %>` templates are filled in
    retain_comments: bool = False


def _templating(*names):
    args = []
    for name in names:
        args += ["--enable-templating", name]
    return tuple(args)


# The default (LEGACY + STANDARD), each engine alone, ALL (all three) and NONE, and
# `--retain-comments` (comments then go through templating too) with the modes where that
# differs. `--all-modes` adds the remaining combinations, which cover nothing the others do not
# (each engine is already run alone and together), at ~15 s a mode.
MODES = [
    Mode("default", (), True),
    Mode("STANDARD", _templating("STANDARD"), True),
    Mode("LEGACY", _templating("LEGACY"), False),
    Mode("NONE", _templating("NONE"), False),
    Mode("JINJA", _templating("JINJA"), False),
    Mode("ALL", _templating("ALL"), True),
    Mode("default --retain-comments", ("--retain-comments",), True, True),
    Mode(
        "STANDARD --retain-comments", _templating("STANDARD") + ("--retain-comments",), True, True
    ),
    Mode("LEGACY --retain-comments", _templating("LEGACY") + ("--retain-comments",), False, True),
]
MORE_MODES = [
    Mode("LEGACY+JINJA", _templating("LEGACY", "JINJA"), False),
    Mode("STANDARD+JINJA", _templating("STANDARD", "JINJA"), True),
    Mode("ALL --retain-comments", _templating("ALL") + ("--retain-comments",), True, True),
]
STDIN_MODES = [m for m in MODES if m.name in ("default", "ALL")]

# An eaxc secret template inside its string literal: `'<% ctx.env.NAME ... %>'`, where `...` may
# be a chain of Jinja filters.
TEMPLATE_RE = re.compile(r"'<%\s*ctx\.env\.([A-Za-z_][A-Za-z0-9_]*)\b.*?%>'")

# ---------------------------------------------------------------------------------------------
# Results.
# ---------------------------------------------------------------------------------------------


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, condition, what, detail=""):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL {what}")
            if detail:
                for line in detail.rstrip("\n").split("\n"):
                    print(f"     {line}")
        return condition

    def note(self, text):
        print(f"note {text}")


def excerpt(text, limit=160):
    text = repr(text)
    return text if len(text) <= limit else text[: limit - 4] + "...'"


def first_difference(expected, got, e0=0, s0=0):
    """Where `expected[e0:]` and `got[s0:]` first differ, by the position in `expected`."""
    k = 0
    while e0 + k < len(expected) and s0 + k < len(got) and expected[e0 + k] == got[s0 + k]:
        k += 1
    line = expected.count("\n", 0, e0 + k) + 1
    before = max(0, k - 30)
    return (
        f"first difference at character {e0 + k} (line {line} of the statement):\n"
        f"  expected ...{excerpt(expected[e0 + before : e0 + k + 50])}\n"
        f"  sent     ...{excerpt(got[s0 + before : s0 + k + 50])}"
    )


# ---------------------------------------------------------------------------------------------
# Snowflake string literals: a tokenizer and a decoder (reference/snowflake.md §8.4, §8.5).
# ---------------------------------------------------------------------------------------------

SIMPLE_ESCAPES = {
    "'": "'",
    '"': '"',
    "\\": "\\",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "0": "\0",
}
OCTAL = "01234567"
HEX = "0123456789abcdefABCDEF"


def scan_single_quoted(text, start):
    """The end (exclusive) of the single-quoted literal starting at text[start] == "'", or None if
    it is not closed. Inside, `''` is a quote and a backslash escapes the next character."""
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
        elif c == "'":
            if text.startswith("''", i):
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return None


def decode_single_quoted(literal):
    """The value of a single-quoted literal, quotes included in `literal`: `''` is `'`;
    `\\' \\" \\\\ \\b \\f \\n \\r \\t \\0`, octal `\\ooo`, `\\xhh`, `\\uhhhh`; any other `\\c` is `c`.
    (`\\x` or `\\u` without enough hex digits is taken as `x` or `u`, like any other escape;
    a `\\uhhhh` surrogate is kept as is, so a non-BMP character written that way shows up as a
    mismatch rather than being guessed.)"""
    assert literal[0] == "'" and literal[-1] == "'", literal
    body = literal[1:-1]
    out = []
    i = 0
    while i < len(body):
        c = body[i]
        if c == "'":
            assert body.startswith("''", i), f"lone quote inside {literal!r}"
            out.append("'")
            i += 2
        elif c == "\\" and i + 1 < len(body):
            d = body[i + 1]
            if len(body) >= i + 4 and all(ch in OCTAL for ch in body[i + 1 : i + 4]):
                out.append(chr(int(body[i + 1 : i + 4], 8)))
                i += 4
            elif d in SIMPLE_ESCAPES:
                out.append(SIMPLE_ESCAPES[d])
                i += 2
            elif d == "x" and len(body) >= i + 4 and all(ch in HEX for ch in body[i + 2 : i + 4]):
                out.append(chr(int(body[i + 2 : i + 4], 16)))
                i += 4
            elif d == "u" and len(body) >= i + 6 and all(ch in HEX for ch in body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            else:
                out.append(d)
                i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass
class Token:
    kind: str  # word, ident, string, dollar, number, op
    text: str  # the source text
    start: int
    value: str = ""  # decoded value (string, dollar, ident) or upper-cased word


def tokenize(sql):
    """Tokens of one Snowflake statement; comments and whitespace are skipped."""
    tokens = []
    i = 0
    n = len(sql)
    while i < n:
        c = sql[i]
        if c.isspace():
            i += 1
        elif sql.startswith("--", i) or sql.startswith("//", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise ValueError(f"unclosed /* comment at {i}")
            i = j + 2
        elif c == "'":
            end = scan_single_quoted(sql, i)
            if end is None:
                raise ValueError(f"unclosed string literal at {i}: {excerpt(sql[i : i + 60])}")
            text = sql[i:end]
            tokens.append(Token("string", text, i, decode_single_quoted(text)))
            i = end
        elif sql.startswith("$$", i):
            j = sql.find("$$", i + 2)
            if j < 0:
                raise ValueError(f"unclosed $$ literal at {i}")
            tokens.append(Token("dollar", sql[i : j + 2], i, sql[i + 2 : j]))
            i = j + 2
        elif c == '"':
            j = i + 1
            while True:
                j = sql.find('"', j)
                if j < 0:
                    raise ValueError(f"unclosed identifier at {i}")
                if sql.startswith('""', j):
                    j += 2
                    continue
                break
            text = sql[i : j + 1]
            tokens.append(Token("ident", text, i, text[1:-1].replace('""', '"')))
            i = j + 1
        elif c.isalpha() or c == "_":
            j = i
            while j < n and (sql[j].isalnum() or sql[j] in "_$"):
                j += 1
            tokens.append(Token("word", sql[i:j], i, sql[i:j].upper()))
            i = j
        elif c.isdigit():
            j = i
            while j < n and (sql[j].isdigit() or sql[j] == "."):
                j += 1
            tokens.append(Token("number", sql[i:j], i, sql[i:j]))
            i = j
        elif sql.startswith("=>", i):
            tokens.append(Token("op", "=>", i, "=>"))
            i += 2
        else:
            tokens.append(Token("op", c, i, c))
            i += 1
    return tokens


def sqlglot_strings(sql):
    """The decoded string literals of `sql`, in order, as sqlglot's Snowflake tokenizer reads
    them ($$ literals included)."""
    kinds = {SqlglotTokenType.STRING, SqlglotTokenType.RAW_STRING}
    try:
        tokens = SqlglotSnowflake().tokenize(sql)
        # sqlglot keeps the rest of a statement it calls a COMMAND (CALL, for one) as one raw
        # string; tokenize what follows the keyword instead, which is ordinary SQL.
        if tokens and tokens[0].token_type == SqlglotTokenType.COMMAND:
            tokens = SqlglotSnowflake().tokenize(sql[tokens[0].end + 1 :])
        return [t.text for t in tokens if t.token_type in kinds]
    except Exception as error:  # sqlglot refusing a statement is a finding, not a crash
        return f"sqlglot could not tokenize the statement: {error}"


class Decoded:
    """A statement with its string literals decoded by both decoders."""

    def __init__(self, sql):
        self.sql = sql
        self.error = None
        try:
            self.tokens = tokenize(sql)
        except ValueError as error:
            self.tokens = []
            self.error = f"check.py could not tokenize the statement: {error}"
        self.strings = [t for t in self.tokens if t.kind in ("string", "dollar")]
        other = sqlglot_strings(sql)
        self.sqlglot = {}
        if isinstance(other, str):
            self.error = self.error or other
        elif len(other) != len(self.strings):
            self.error = self.error or (
                f"check.py finds {len(self.strings)} string literals, sqlglot {len(other)}"
            )
        else:
            self.sqlglot = {t.start: value for t, value in zip(self.strings, other)}

    def check_value(self, token, expected):
        """None if both decoders give `expected` for this literal, else what went wrong."""
        if self.error:
            return self.error
        problems = []
        if token.value != expected:
            problems.append(f"decodes to {excerpt(token.value)}")
        other = self.sqlglot.get(token.start)
        if other != expected:
            problems.append(f"sqlglot decodes it to {excerpt(other)}")
        if problems:
            return (
                f"literal {excerpt(token.text)} "
                + "; ".join(problems)
                + f"; expected {excerpt(expected)}"
            )
        return None

    def words(self):
        return [t.value for t in self.tokens if t.kind == "word"]


# ---------------------------------------------------------------------------------------------
# The statements of a file, and matching what snow sent against them.
# ---------------------------------------------------------------------------------------------


def is_comment_only(statement):
    # snow skips a "statement" whose lines are all empty or `--` comments (statement_reader's
    # _is_empty_statement); split_statements yields such pieces when comments are kept.
    return all(
        not line.strip() or line.lstrip().startswith("--") for line in statement.splitlines()
    )


def file_statements(text, remove_comments):
    out = []
    for statement, _ in split_statements(io.StringIO(text), remove_comments=remove_comments):
        if statement and not is_comment_only(statement):
            out.append(statement)
    return out


def match_statement(expected, sent, env, fill_templates):
    """None if `sent` is `expected` exactly, apart from the secret templates (when
    `fill_templates`), each of which must be one literal decoding to the variable's value;
    otherwise a description of the first difference. Also returns the matched secret literals
    as (name, literal text)."""
    if not fill_templates:
        return (None, []) if sent == expected else (first_difference(expected, sent), [])
    pos_e = 0
    pos_s = 0
    secrets = []
    for template in TEMPLATE_RE.finditer(expected):
        segment = expected[pos_e : template.start()]
        if sent[pos_s : pos_s + len(segment)] != segment:
            return first_difference(expected, sent, pos_e, pos_s), secrets
        pos_s += len(segment)
        name = template.group(1)
        if name not in env:
            return f"template names {name}, which check.py did not set", secrets
        end = scan_single_quoted(sent, pos_s) if sent.startswith("'", pos_s) else None
        if end is None:
            return (
                (
                    f"the template of {name} did not become a string literal: "
                    f"{excerpt(sent[pos_s : pos_s + 80])}"
                ),
                secrets,
            )
        literal = sent[pos_s:end]
        value = decode_single_quoted(literal)
        if value != env[name]:
            return (
                (
                    f"the literal for {name} decodes to {excerpt(value)}, "
                    f"expected {excerpt(env[name])} (literal {excerpt(literal)})"
                ),
                secrets,
            )
        secrets.append((name, literal))
        pos_s = end
        pos_e = template.end()
    if sent[pos_s:] != expected[pos_e:]:
        return first_difference(expected, sent, pos_e, pos_s), secrets
    return None, secrets


def compare_lists(expected, sent, env, fill_templates):
    """None if the lists match statement by statement, else a description."""
    for index, (e, s) in enumerate(zip(expected, sent)):
        problem, _ = match_statement(e, s, env, fill_templates)
        if problem:
            return f"statement {index + 1} of {len(expected)}: {problem}"
    if len(expected) != len(sent):
        extra = sent[len(expected)] if len(sent) > len(expected) else expected[len(sent)]
        which = "sent one the file does not have" if len(sent) > len(expected) else "missing"
        return (
            f"the file has {len(expected)} statements, snow would send {len(sent)}; "
            f"statement {min(len(expected), len(sent)) + 1} is {which}: {excerpt(extra)}"
        )
    return None


# ---------------------------------------------------------------------------------------------
# Running snow.
# ---------------------------------------------------------------------------------------------


@dataclass
class Run:
    rc: int
    output: str  # stdout and stderr, for messages
    events: list


def run_snow(args, env, work, stdin_text=None):
    """`snow sql ARGS` with the capture patch; returns its exit status, output and events."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    # No version check against PyPI/Homebrew (the network guard would refuse it anyway).
    config = home / "config.toml"
    config.write_text("[cli]\nignore_new_version_warning = true\nair_gapped = true\n")
    config.chmod(0o600)
    capture = home / "capture.jsonl"
    run_env = dict(env)
    run_env.update(
        EAXC_SNOWCLI_CAPTURE=str(capture),
        SNOWFLAKE_HOME=str(home),
        PYTHONPATH=str(CAPTURE_DIR),
        PYTHONUTF8="1",  # read the UTF-8 scripts as UTF-8 whatever the locale
        PYTHONDONTWRITEBYTECODE="1",
        NO_COLOR="1",
        COLUMNS="200",
    )
    proc = subprocess.run(
        [str(VENV_BIN / "snow"), "sql", *args],
        check=False,
        input=stdin_text if stdin_text is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=run_env,
        cwd=home,  # no snowflake.yml around
        timeout=300,
    )
    events = []
    if capture.exists():
        for line in capture.read_text(encoding="utf-8").splitlines():
            events.append(json.loads(line))
    return Run(proc.returncode, (proc.stdout + "\n" + proc.stderr).strip(), events)


def snow_failure_text(run):
    """snow's own message, without the frame rich draws around it."""
    text = re.sub(r"[\u2500-\u257f]", " ", run.output)
    text = text.replace(
        "An unexpected exception occurred. Use --debug option to see the traceback. "
        "Exception message:",
        "",
    )
    lines = [" ".join(line.split()) for line in text.splitlines()]
    lines = [line for line in lines if line and line != "Error"]
    return " | ".join(lines[-4:]) or "(snow printed nothing)"


def network_events(run):
    return [e for e in run.events if e["event"] == "network"]


@dataclass
class FileOutcome:
    sent: list | None = None  # the statements snow would send for this file
    problem: str | None = None  # why snow would send nothing


def attribute(run, files):
    """Split the events of one run over several files into per-file outcomes. Files the run did
    not get to (or that were fine in a failed run) are left out: they need another run."""
    outcomes = {}
    by_file = {}
    current = None
    order = []
    for event in run.events:
        if event["event"] == "file":
            current = event["path"]
            order.append(current)
            by_file[current] = []
        elif event["event"] in ("parse", "parsed") and current is not None:
            by_file[current].append(event)
    executed = [e for e in run.events if e["event"] == "execute"]
    index = {str(f): f for f in files}

    if run.rc == 0:
        # Each executed statement is the next error-free QUERY statement that was not empty.
        queue = list(executed)
        for path in order:
            sent = []
            for event in by_file[path]:
                if event["event"] != "parsed" or event["error"]:
                    continue
                if not queue:
                    break
                head = queue[0]
                if event["type"] == "QUERY" and head["statement"] in (
                    event["statement"],
                    event["statement"].removesuffix(";>"),
                ):
                    sent.append(head["statement"])
                    if head["execute_async"] or head["command"]:
                        sent[-1] += (
                            f"  [sent as execute_async={head['execute_async']} command={head['command']}]"
                        )
                    queue.pop(0)
                elif event["type"] == "REPL_COMMAND" and head["command"]:
                    sent.append(f"[a snow command, not a statement: {head['command']}]")
                    queue.pop(0)
                elif event["type"] == "QUERY" and not is_comment_only(event["statement"]):
                    queue.insert(0, {"statement": None})  # a statement that was not sent
                    break
            outcomes[index[path]] = FileOutcome(sent=sent)
        if queue or len(outcomes) != len(files):
            # The capture does not add up; never guess which file sent what.
            return {
                f: FileOutcome(
                    problem="capture out of sync: the executed statements do not "
                    "follow the statements snow parsed"
                )
                for f in files
            }
        return outcomes

    # Failed run: blame the files with template errors, and the file snow was in when it stopped.
    failure = snow_failure_text(run)
    for path in order:
        errors = [e for e in by_file[path] if e["event"] == "parsed" and e["error"]]
        if errors:
            detail = "; ".join(
                f"{e['error']} in statement {excerpt(e['statement'], 100)}" for e in errors[:3]
            )
            more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
            outcomes[index[path]] = FileOutcome(problem=f"snow: {detail}{more}")
    last = run.events[-1] if run.events else None
    if order and last is not None and last["event"] in ("file", "parse"):
        path = order[-1]
        if last["event"] == "parse":
            where = f"while templating statement {excerpt(last['source'], 100)}"
        else:
            where = "while reading/templating the whole file"
        outcomes.setdefault(index[path], FileOutcome(problem=f"snow aborted {where}: {failure}"))
    if not outcomes:
        for f in files:
            outcomes[f] = FileOutcome(problem=f"snow sql failed (exit {run.rc}): {failure}")
    return outcomes


def run_files(files, mode, env, work):
    """Outcomes of `snow sql -f F1 -f F2 ... MODE` for each file, rerunning without the files
    that failed until one run succeeds (one failing file stops snow from sending anything)."""
    outcomes = {}
    remaining = list(files)
    notes = []
    while remaining:
        args = [a for f in remaining for a in ("-f", str(f))] + list(mode.args)
        run = run_snow(args, env, work)
        if network_events(run):
            for f in remaining:
                outcomes[f] = FileOutcome(
                    problem=f"network access attempted: {network_events(run)}"
                )
            break
        got = attribute(run, remaining)
        if run.rc == 0:
            if run.output:
                notes.append(f"snow printed ({mode.name}): {excerpt(run.output, 300)}")
            outcomes.update(got)
            break
        blamed = {f: o for f, o in got.items() if o.problem}
        outcomes.update(blamed)
        remaining = [f for f in remaining if f not in blamed]
    return outcomes, notes


# ---------------------------------------------------------------------------------------------
# Specs: env() names and hand-written handlers, read with a small .eax lexer.
# ---------------------------------------------------------------------------------------------

EAX_TOKEN_RE = re.compile(
    r'\s+|#[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?|.', re.DOTALL
)


def eax_tokens(text):
    out = []
    for m in EAX_TOKEN_RE.finditer(text):
        t = m.group()
        if t.isspace() or t.startswith("#"):
            continue
        if t.startswith('"'):
            out.append(("string", eax_string(t[1:-1])))
        else:
            out.append(("word" if re.match(r"[A-Za-z_]", t) else "op", t))
    return out


def eax_string(body):
    def escape(m):
        c = m.group(1)
        if c.startswith("u{"):
            return chr(int(c[2:-1], 16))
        return {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}[c]

    return re.sub(r"\\(u\{[0-9A-Fa-f]+\}|.)", escape, body)


def spec_files(spec_dir):
    # As eaxc reads a directory: every *.eax below it, skipping `.`-names, target, node_modules.
    for path in sorted(Path(spec_dir).rglob("*.eax")):
        parts = path.relative_to(spec_dir).parts
        if any(p.startswith(".") or p in ("target", "node_modules") for p in parts):
            continue
        yield path


def read_specs(spec_dir):
    """(env names, {(api, action): hand-written handler path})."""
    names = set()
    handlers = {}
    for path in spec_files(spec_dir):
        tokens = eax_tokens(path.read_text(encoding="utf-8"))
        api = action = None
        depth = 0
        for i, (kind, text) in enumerate(tokens):
            nxt = tokens[i + 1 : i + 6]
            if kind == "op" and text in "{[(":
                depth += 1
            elif kind == "op" and text in "}])":
                depth -= 1
            elif kind == "word" and text == "api" and depth == 0 and len(nxt) >= 2:
                api = nxt[0][1]
            elif (
                kind == "word"
                and text in ("procedure", "function")
                and len(nxt) >= 2
                and nxt[1] == ("op", "(")
            ):
                action = nxt[0][1]
            elif (
                kind == "word"
                and text == "env"
                and len(nxt) >= 3
                and nxt[0] == ("op", "(")
                and nxt[1][0] == "string"
            ):
                names.add(nxt[1][1])
            elif (
                kind == "word"
                and text == "handler"
                and len(nxt) >= 5
                and [t[1] for t in nxt[:3]] == ["=", "file", "("]
                and nxt[3][0] == "string"
            ):
                handlers[(api, action)] = path.parent / nxt[3][1]
    return names, handlers


def assign_values(names):
    env = {}
    others = sorted(n for n in names if n not in FIXED_VALUES)
    for i, name in enumerate(others):
        env[name] = ADVERSARIAL_VALUES[i % len(ADVERSARIAL_VALUES)]
    env.update({n: v for n, v in FIXED_VALUES.items() if n in names})
    return env


# ---------------------------------------------------------------------------------------------
# Decode checks.
# ---------------------------------------------------------------------------------------------

CREATE_RE = re.compile(
    r"^CREATE(?: OR REPLACE)?(?: SECURE)? (PROCEDURE|FUNCTION|NETWORK RULE|SECRET|SECURITY INTEGRATION|EXTERNAL ACCESS INTEGRATION)\b"
)


def created_object(decoded):
    """(kind, object name) of a CREATE statement, else None: the last identifier of the
    (possibly qualified) name that follows the object kind."""
    words = []
    for t in decoded.tokens:
        if t.kind != "word":
            break
        words.append(t.value)
    m = CREATE_RE.match(" ".join(words))
    if not m:
        return None
    name = None
    for t in decoded.tokens[len(words) :]:
        if t.kind == "ident":
            name = t.value
        elif t.kind == "op" and t.text == ".":
            continue
        else:
            break
    return m.group(1), name


def body_token(decoded):
    """The string literal after `AS` (not `EXECUTE AS ...`) of a CREATE PROCEDURE/FUNCTION."""
    toks = decoded.tokens
    for i, t in enumerate(toks[:-1]):
        if t.kind == "word" and t.value == "AS" and toks[i + 1].kind in ("string", "dollar"):
            return toks[i + 1]
    return None


def property_literal(decoded, key):
    """The string literal of `KEY = '...'`, else None."""
    toks = decoded.tokens
    for i in range(len(toks) - 2):
        if (
            toks[i].kind == "word"
            and toks[i].value == key
            and toks[i + 1].text == "="
            and toks[i + 2].kind == "string"
        ):
            return toks[i + 2]
    return None


def parameter_defaults(decoded):
    """{parameter: DEFAULT literal token} of the first parameter list."""
    toks = decoded.tokens
    try:
        open_at = next(i for i, t in enumerate(toks) if t.text == "(")
    except StopIteration:
        return {}
    out = {}
    depth = 0
    group = []
    for t in toks[open_at:]:
        if t.text == "(":
            depth += 1
            if depth == 1:
                continue
        elif t.text == ")":
            depth -= 1
            if depth == 0:
                break
        if depth == 1 and t.text == ",":
            group = []
            continue
        group.append(t)
        words = [g for g in group if g.kind == "word"]
        if (
            len(group) >= 2
            and group[-2].kind == "word"
            and group[-2].value == "DEFAULT"
            and t.kind == "string"
        ):
            out[words[0].text] = t
    return out


def call_arguments(decoded):
    """{name: literal token} of the `name => 'literal'` arguments of a CALL or SELECT."""
    toks = decoded.tokens
    out = {}
    for i in range(len(toks) - 2):
        if toks[i].kind == "word" and toks[i + 1].text == "=>" and toks[i + 2].kind == "string":
            out[toks[i].text] = toks[i + 2]
    return out


def python_constants(text):
    """Every str constant of a Python module (f-string pieces included)."""
    tree = ast.parse(text)
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


# ---------------------------------------------------------------------------------------------
# One spec directory.
# ---------------------------------------------------------------------------------------------


def check_dir(eaxc, spec_dir, work, results, pool):
    """A generator: the first next() builds and queues the snow runs, the second one waits for
    them and checks everything (so the runs of every directory share the workers)."""
    spec_dir = Path(spec_dir)
    label = spec_dir.as_posix()
    names, hand_written = read_specs(spec_dir)
    secret_env = assign_values(names)
    env = dict(os.environ)
    env.update(secret_env)
    adversarial = spec_dir.resolve().name == "snowcli_specs"

    out = work / f"out-{len(list(work.iterdir()))}"
    build = subprocess.run(
        [eaxc, "build", str(spec_dir), "--out", str(out)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
    )
    if not results.ok(build.returncode == 0, f"{label}: eaxc build", build.stdout + build.stderr):
        yield
        return
    sql_files = sorted(out.glob("*.sql"))
    if not results.ok(bool(sql_files), f"{label}: the build wrote *.sql files"):
        yield
        return
    texts = {f: f.read_text(encoding="utf-8") for f in sql_files}

    # Every -f run and both stdin runs, two or more at a time.
    futures = {pool.submit(run_files, sql_files, mode, env, work): mode for mode in MODES}
    resolve = subprocess.run(
        [eaxc, "resolve", str(spec_dir)],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )
    stdin_futures = {}
    if resolve.returncode == 0 and not file_statements(resolve.stdout, remove_comments=True):
        results.note(
            f"{label}: eaxc resolve printed no statement (no env() secrets); stdin runs skipped"
        )
    elif resolve.returncode == 0:
        for mode in STDIN_MODES:
            stdin_futures[
                pool.submit(run_snow, ["--stdin", *mode.args], env, work, resolve.stdout)
            ] = mode
    yield
    print(f"== {label}")

    default_sent = {}
    for future, mode in futures.items():
        outcomes, notes = future.result()
        for text in notes:
            results.note(f"{label}: {text}")
        for f in sql_files:
            what = f"{label}: snow sql -f {f.name} [{mode.name}]"
            outcome = outcomes.get(f)
            if outcome is None or outcome.problem:
                results.ok(False, what, outcome.problem if outcome else "no outcome recorded")
                continue
            expected = file_statements(texts[f], remove_comments=not mode.retain_comments)
            problem = compare_lists(expected, outcome.sent, secret_env, mode.standard)
            results.ok(problem is None, what, problem or "")
            if mode.name == "default" and problem is None:
                default_sent[f] = outcome.sent

    # The stdin path.
    if results.ok(resolve.returncode == 0, f"{label}: eaxc resolve", resolve.stderr):
        expected = file_statements(resolve.stdout, remove_comments=True)
        for future, mode in stdin_futures.items():
            run = future.result()
            what = f"{label}: eaxc resolve | snow sql --stdin [{mode.name}]"
            if network_events(run):
                results.ok(False, what, f"network access attempted: {network_events(run)}")
                continue
            if run.rc != 0:
                errors = [e for e in run.events if e["event"] == "parsed" and e["error"]]
                detail = "; ".join(
                    f"{e['error']} in {excerpt(e['statement'], 100)}" for e in errors[:3]
                )
                results.ok(
                    False, what, f"snow failed (exit {run.rc}): {detail or snow_failure_text(run)}"
                )
                continue
            sent = [e["statement"] for e in run.events if e["event"] == "execute"]
            problem = compare_lists(expected, sent, secret_env, False)
            results.ok(problem is None, what, problem or "")
        # resolve's output is the statements of 020_security_integrations.sql and
        # 030_secrets.sql, in that order, with each template a literal of the variable's value
        # (docs/secrets.md); comments aside.
        stages = [out / "020_security_integrations.sql", out / "030_secrets.sql"]
        problem = compare_lists(
            [
                s
                for f in stages
                if f in texts
                for s in file_statements(texts[f], remove_comments=True)
            ],
            file_statements(resolve.stdout, remove_comments=True),
            secret_env,
            True,
        )
        results.ok(
            problem is None,
            f"{label}: eaxc resolve = 020 + 030 with each template a literal of the value",
            problem or "",
        )
        for index, statement in enumerate(file_statements(resolve.stdout, remove_comments=True)):
            decoded = Decoded(statement)
            results.ok(
                decoded.error is None,
                f"{label}: eaxc resolve statement {index + 1}: literals tokenize and decode alike",
                decoded.error or "",
            )

    # Decode checks on what snow sends by default (or, where that failed, on the file itself).
    handler_dir = out / "handlers"
    handler_files = (
        {p.name: p for p in sorted(handler_dir.glob("*.py"))} if handler_dir.is_dir() else {}
    )
    bodies_seen = {}
    for f in sql_files:
        if f in default_sent:
            statements, source = default_sent[f], "sent"
        else:
            statements, source = (
                file_statements(texts[f], remove_comments=True),
                "file (default mode failed)",
            )
        expected_statements = file_statements(texts[f], remove_comments=True)
        examples_in_file = {}
        unchecked = []  # secrets whose literal snow did not send
        for index, statement in enumerate(statements):
            where = f"{label}: {f.name} statement {index + 1} ({source})"
            decoded = Decoded(statement)
            if decoded.error:
                results.ok(False, f"{where}: literals tokenize and decode alike", decoded.error)
                continue
            # (a) secret literals.
            if source == "sent" and index < len(expected_statements):
                problem, secrets = match_statement(
                    expected_statements[index], statement, secret_env, True
                )
                for name, literal in secrets:
                    token = next((t for t in decoded.strings if t.text == literal), None)
                    problem = (
                        decoded.check_value(token, secret_env[name])
                        if token
                        else f"check.py's tokenizer does not find the literal {excerpt(literal)}"
                    )
                    results.ok(
                        problem is None,
                        f"{where}: secret {name} decodes to its value",
                        problem or "",
                    )
            elif source != "sent":
                unchecked += [t.group(1) for t in TEMPLATE_RE.finditer(statement)]
            created = created_object(decoded)
            if created is None:
                pass
            elif created[0] in ("PROCEDURE", "FUNCTION"):
                # (b) the body is the handler file, byte for byte.
                name = created[1]
                token = body_token(decoded)
                stems = [
                    s
                    for s in handler_files
                    if name.upper().endswith("__" + s[:-3].upper())
                    or name.upper() == s[:-3].upper()
                ]
                what = f"{where}: the AS body of {name} is its handler file"
                if token is None or len(stems) != 1:
                    results.ok(
                        False,
                        what,
                        f"body literal found: {token is not None}; handler files matching: {stems}",
                    )
                    continue
                handler = handler_files[stems[0]]
                bodies_seen.setdefault(handler.name, 0)
                bodies_seen[handler.name] += 1
                text = handler.read_bytes().decode("utf-8")
                problem = decoded.check_value(token, text)
                if problem:
                    problem = (
                        f"{handler.name}: "
                        + first_difference(text, token.value)
                        + (f"\n(sqlglot agrees: {decoded.sqlglot.get(token.start) == token.value})")
                    )
                results.ok(problem is None, what, problem or "")
            if created and adversarial:
                check_adversarial_sql(where, created, decoded, results)
            if adversarial and decoded.words()[:1] in (["CALL"], ["SELECT"]):
                check_adversarial_call(where, decoded, results, examples_in_file)
            if adversarial:
                for token in decoded.strings:
                    if token.value in ADVERSARIAL_LITERALS:
                        literals_seen.add(token.value)

        if unchecked:
            results.ok(
                False,
                f"{label}: {f.name}: the literals of {len(unchecked)} secret(s) decode to their values",
                f"not checked ({', '.join(unchecked)}): snow sql sends nothing for this file in its default mode",
            )
        for action, count in examples_in_file.items():
            examples_seen[action] = max(examples_seen.get(action, 0), count)

    for name in handler_files:
        results.ok(
            name in bodies_seen, f"{label}: handlers/{name} is the body of a CREATE statement"
        )

    # (b) hand-written handlers are the user's files, byte for byte.
    for (api, action), source in sorted(hand_written.items()):
        name = f"{api}__{action}.py"
        what = f"{label}: handlers/{name} is {source.as_posix()} byte for byte"
        if name not in handler_files:
            results.ok(False, what, "no such handler file in the build")
            continue
        written, original = handler_files[name].read_bytes(), source.read_bytes()
        detail = (
            ""
            if written == original
            else first_difference(
                original.decode("utf-8", "replace"), written.decode("utf-8", "replace")
            )
        )
        results.ok(written == original, what, detail)

    # (c) generated handlers: they parse and hold the spec's strings.
    if adversarial:
        for name, constants in ADVERSARIAL_PYTHON_CONSTANTS.items():
            what = f"{label}: handlers/{name} parses and holds the spec's strings"
            if name not in handler_files:
                results.ok(False, what, "no such handler file")
                continue
            try:
                found = python_constants(handler_files[name].read_text(encoding="utf-8"))
            except SyntaxError as error:
                results.ok(False, what, f"does not parse: {error}")
                continue
            results.ok(True, f"{label}: handlers/{name} parses")
            for constant in constants:
                results.ok(
                    constant in found,
                    f"{label}: handlers/{name} has the string constant {excerpt(constant)}",
                    "not among its string constants",
                )


# Filled while checking tests/snowcli_specs (a spec's strings must each be found somewhere).
comments_seen = set()
defaults_seen = set()
examples_seen = {}
literals_seen = set()


def comment_problem(comment, decoded, text):
    """Why a COMMENT literal does not hold `text` by both decoders, or None when it does."""
    if comment is None:
        return "no COMMENT"
    if text in comment.value and text in (decoded.sqlglot.get(comment.start) or ""):
        return None
    return (
        f"COMMENT {excerpt(comment.text)} decodes to {excerpt(comment.value)}, "
        f"which does not contain {excerpt(text)}"
    )


def check_adversarial_sql(where, created, decoded, results):
    kind, name = created
    upper = name.upper()
    comment = property_literal(decoded, "COMMENT")
    # The api comment goes on the network rule, security integration, secrets and integration.
    for api, text in ADVERSARIAL_API_COMMENTS.items():
        owned = kind not in ("PROCEDURE", "FUNCTION") and re.search(rf"__{api}(__|$)", upper)
        if owned:
            problem = comment_problem(comment, decoded, text)
            results.ok(
                problem is None, f"{where}: COMMENT of {name} holds the api comment", problem or ""
            )
            comments_seen.add(api)
    for action, text in ADVERSARIAL_ACTION_COMMENTS.items():
        if kind in ("PROCEDURE", "FUNCTION") and upper.endswith("__" + action):
            problem = comment_problem(comment, decoded, text)
            results.ok(
                problem is None,
                f"{where}: COMMENT of {name} holds the action comment",
                problem or "",
            )
            comments_seen.add(action)
    if kind in ("PROCEDURE", "FUNCTION"):
        defaults = parameter_defaults(decoded)
        for (action, parameter), value in ADVERSARIAL_DEFAULTS.items():
            if upper.endswith("__" + action):
                token = defaults.get(parameter)
                problem = (
                    "no DEFAULT literal" if token is None else decoded.check_value(token, value)
                )
                results.ok(
                    problem is None,
                    f"{where}: DEFAULT of {parameter} is the spec's value",
                    problem or "",
                )
                defaults_seen.add((action, parameter))


def check_adversarial_call(where, decoded, results, seen):
    idents = [t.value for t in decoded.tokens if t.kind == "ident"]
    for action, examples in ADVERSARIAL_EXAMPLES.items():
        if idents and idents[-1].upper().endswith("__" + action):
            index = seen.get(action, 0)
            seen[action] = index + 1
            what = f"{where}: example {index + 1} of {action} passes the spec's values"
            if index >= len(examples):
                results.ok(False, what, "more example calls than the spec has")
                return
            arguments = call_arguments(decoded)
            problems = []
            for parameter, value in examples[index].items():
                token = arguments.get(parameter)
                problem = (
                    f"{parameter}: no literal argument"
                    if token is None
                    else decoded.check_value(token, value)
                )
                if problem:
                    problems.append(f"{parameter}: {problem}")
            results.ok(not problems, what, "\n".join(problems))


def main(argv):
    if "--all-modes" in argv:
        argv = [a for a in argv if a != "--all-modes"]
        MODES.extend(MORE_MODES)
    if len(argv) < 3:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    started = time.monotonic()
    eaxc = str(Path(argv[1]).resolve())
    results = Results()
    workers = max(2, os.cpu_count() or 2)
    with (
        tempfile.TemporaryDirectory(prefix="eaxc-snowcli-") as tmp,
        concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        work = Path(tmp)
        adversarial_seen = False
        checks = []
        for spec_dir in argv[2:]:
            if Path(spec_dir).resolve().name == "snowcli_specs":
                adversarial_seen = True
            checks.append(check_dir(eaxc, spec_dir, work, results, pool))
            next(checks[-1])  # build, queue the runs
        for check in checks:
            next(check, None)  # wait, check
        if adversarial_seen:
            # Every entry of the tables must have been found (a renamed object would otherwise
            # quietly skip its checks).
            for key in list(ADVERSARIAL_API_COMMENTS) + list(ADVERSARIAL_ACTION_COMMENTS):
                results.ok(
                    key in comments_seen,
                    f"snowcli_specs: a statement of {key} was found for its COMMENT",
                )
            for key in ADVERSARIAL_DEFAULTS:
                results.ok(
                    key in defaults_seen,
                    f"snowcli_specs: the CREATE statement with DEFAULT {key} was found",
                )
            for action, examples in ADVERSARIAL_EXAMPLES.items():
                results.ok(
                    examples_seen.get(action, 0) >= len(examples),
                    f"snowcli_specs: the {len(examples)} example call(s) of {action} were found",
                )
            for literal in ADVERSARIAL_LITERALS:
                results.ok(
                    literal in literals_seen,
                    f"snowcli_specs: a literal decoding to {excerpt(literal)} was found",
                )
    print(f"({time.monotonic() - started:.0f} s)")
    print(f"snowcli: {results.passed} passed, {results.failed} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
