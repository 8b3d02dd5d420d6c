#!/usr/bin/env python3
"""Independent validators ("oracle") for the output of `eaxc build`.

Usage (with the venv made by .ci/oracle/setup.sh):
    target/oracle-venv/bin/python .ci/oracle/check.py DIR [DIR ...] [-v]

For every DIR/*.sql: split into statements with our own Snowflake-aware lexer, cross-check the
boundaries against the Snowflake connector's splitter, classify each statement by its leading
keywords and hand it to the third-party parser(s) that really understand that kind (routing table
below, measured in /work/shared/reference/validators.md). For every DIR/handlers/*.py and every
inline Python body: compile(), ruff (syntax + pyflakes at the body's RUNTIME_VERSION), a check of
the HANDLER signature, and a check that the handler file is embedded byte-identically.

Exit status: 0 when everything passed, 1 when anything was rejected, 2 on a usage/environment error.
The last line is always `N passed, M failed`. See docs/validation.md.
"""

from __future__ import annotations

import argparse
import ast
import io
import json
import logging
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

warnings.filterwarnings("ignore")
logging.disable(logging.CRITICAL)

REQUIRED = "required"
ADVISORY = "advisory"
SURROGATE = "surrogate"

# sqlfluff top-level statement segment expected for each routed kind: a parse through some
# other grammar branch would not be the check we think it is.
SQLFLUFF_SEGMENT = {
    "CREATE NETWORK RULE": "create_statement",
    "CREATE SECRET": "create_secret_statement",
    "CREATE PROCEDURE": "create_procedure_statement",
    "CREATE FUNCTION": "create_function_statement",
    "GRANT": "access_statement",
    "CALL": "call_segment",
    "SELECT": "select_statement",
    "DROP PROCEDURE": "drop_procedure_statement",
    "DROP FUNCTION": "drop_function_statement",
    "DROP INTEGRATION": "drop_object_statement",
    "DROP SECURITY INTEGRATION": "drop_object_statement",
    "DROP EXTERNAL ACCESS INTEGRATION": "drop_object_statement",  # surrogate, parsed as DROP INTEGRATION
    "DROP SECRET": "drop_object_statement",
    "DROP NETWORK RULE": "drop_object_statement",  # surrogate, parsed as DROP SECRET
}
# Statements no parser knows, and the statement of the same shape each is parsed as instead.
SURROGATES = {
    "DROP NETWORK RULE": "DROP SECRET",
    "DROP EXTERNAL ACCESS INTEGRATION": "DROP INTEGRATION",
}
# GRANT object types for which sqlglot 30.30.0 builds a real exp.Grant on valid input (measured);
# for the others (e.g. SECRET) it falls back to an opaque exp.Command and is not used.
SQLGLOT_GRANT_OBJECTS = {"INTEGRATION", "PROCEDURE", "FUNCTION", "DATABASE", "SCHEMA"}
# titan-core 0.11.1 rejects these valid API_AUTHENTICATION properties (validators.md §4.4); it checks
# a copy of the statement without them, and the summary says how many values went unchecked.
TITAN_SI_DROPPED_PROPS = {
    "OAUTH_AUTHORIZATION_ENDPOINT": r"\x01S\d+\x01",  # value must be one string literal
    "OAUTH_REFRESH_TOKEN_VALIDITY": r"\d+",  # value must be an integer
}
RUFF_SELECT = "E9,F"


# --------------------------------------------------------------------------------------------------
# Lexer and splitter
# --------------------------------------------------------------------------------------------------


class LexError(Exception):
    def __init__(self, message: str, offset: int):
        super().__init__(message)
        self.offset = offset


@dataclass
class Tok:
    kind: str  # code | semi | sq | dq | dollar | comment
    text: str
    start: int


def lex(text: str) -> tuple[list[Tok], LexError | None]:
    """Snowflake-aware tokens: '..' ('' and \\x escapes), ".." ("" escape), $$..$$, -- and /* */.

    Returns the tokens read so far and the first lexical error (unterminated anything, or a `//`
    comment, which Snowflake accepts but the connector's splitter does not)."""
    toks: list[Tok] = []
    i, n = 0, len(text)
    code_start = 0

    def flush(upto: int) -> None:
        if upto > code_start:
            toks.append(Tok("code", text[code_start:upto], code_start))

    while i < n:
        c = text[i]
        if c == "'":
            j = i + 1
            while j < n:
                if text[j] == "\\":
                    j += 2
                    continue
                if text[j] == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                flush(i)
                return toks, LexError("unterminated string literal '...", i)
            flush(i)
            toks.append(Tok("sq", text[i : j + 1], i))
            i = code_start = j + 1
        elif c == '"':
            j = i + 1
            while j < n:
                if text[j] == '"':
                    if j + 1 < n and text[j + 1] == '"':
                        j += 2
                        continue
                    break
                j += 1
            if j >= n:
                flush(i)
                return toks, LexError('unterminated quoted identifier "...', i)
            flush(i)
            toks.append(Tok("dq", text[i : j + 1], i))
            i = code_start = j + 1
        elif c == "$" and text.startswith("$$", i) and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_$")):
            j = text.find("$$", i + 2)
            if j < 0:
                flush(i)
                return toks, LexError("unterminated $$ literal", i)
            flush(i)
            toks.append(Tok("dollar", text[i : j + 2], i))
            i = code_start = j + 2
        elif text.startswith("--", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            flush(i)
            toks.append(Tok("comment", text[i:j], i))
            i = code_start = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                flush(i)
                return toks, LexError("unterminated /* comment", i)
            flush(i)
            toks.append(Tok("comment", text[i : j + 2], i))
            i = code_start = j + 2
        elif text.startswith("//", i):
            flush(i)
            return toks, LexError(
                "`//` comment outside a literal: Snowflake reads it as a comment, the connector's splitter does not", i
            )
        elif c == ";":
            flush(i)
            toks.append(Tok("semi", ";", i))
            i = code_start = i + 1
        else:
            i += 1
    flush(n)
    return toks, None


@dataclass
class Stmt:
    path: Path
    line: int  # 1-based line of the first significant character
    start: int
    end: int
    text: str  # from the first significant character through the terminating ';'
    toks: list[Tok]
    kind: str = ""
    label: str = ""  # kind plus detail, e.g. "CREATE SECRET (OAUTH2)"
    masked: str = ""  # literals -> \x01S<i>\x01 / \x01I<i>\x01 / \x01D<i>\x01, comments -> ' '
    lits: list[Tok] = field(default_factory=list)
    detail: str = ""  # GRANT: the object type after ON
    verdicts: list[tuple[str, str, bool, str]] = field(default_factory=list)  # (parser, mode, ok, msg)


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def split(path: Path, text: str) -> tuple[list[Stmt], list[tuple[int, str]]]:
    toks, err = lex(text)
    stmts: list[Stmt] = []
    errors: list[tuple[int, str]] = []
    cur: list[Tok] = []

    def significant(t: Tok) -> bool:
        return t.kind not in ("comment", "semi") and not (t.kind == "code" and not t.text.strip())

    for t in toks:
        if t.kind == "semi":
            sig = [x for x in cur if significant(x)]
            if not sig:
                errors.append((line_of(text, t.start), "empty statement (a lone ';')"))
            else:
                first = sig[0]
                start = first.start + (len(first.text) - len(first.text.lstrip()) if first.kind == "code" else 0)
                body = [x for x in cur if x.start + len(x.text) > start]
                if body and body[0].start < start:  # drop the leading whitespace of the first code token
                    body[0] = Tok(body[0].kind, body[0].text[start - body[0].start :], start)
                stmts.append(
                    Stmt(path, line_of(text, start), start, t.start + 1, text[start : t.start + 1], body + [t])
                )
            cur = []
        else:
            cur.append(t)
    if err is not None:
        errors.append((line_of(text, err.offset), str(err)))
    elif any(significant(x) for x in cur):
        first = next(x for x in cur if significant(x))
        errors.append((line_of(text, first.start), "statement not terminated by ';' at end of file"))
    return stmts, errors


def connector_crosscheck(text: str, stmts: list[Stmt]) -> str | None:
    """The Snowflake connector (execute_string / snow sql -f) must see the same statements."""
    try:
        from snowflake.connector.util_text import split_statements
    except Exception as exc:  # pragma: no cover - environment problem
        return f"cannot import snowflake.connector.util_text: {exc}"
    theirs = []
    for chunk, _is_put_get in split_statements(io.StringIO(text), remove_comments=True):
        chunk = chunk.strip()
        if chunk and chunk != ";":
            theirs.append(chunk)
    ours = [strip_comments(s).strip() for s in stmts]
    if len(theirs) != len(ours):
        return f"the connector's splitter sees {len(theirs)} statement(s), ours {len(ours)}"
    for k, (a, b) in enumerate(zip(ours, theirs)):
        if " ".join(a.split()) != " ".join(b.split()):
            return f"statement {k + 1} differs between our splitter and the connector's (line {stmts[k].line})"
    return None


def strip_comments(s: Stmt) -> str:
    return "".join(" " if t.kind == "comment" else t.text for t in s.toks if t.start >= s.start)


# --------------------------------------------------------------------------------------------------
# Classification
# --------------------------------------------------------------------------------------------------

WORD = re.compile(r"\x01[SID]\d+\x01|[A-Za-z_][A-Za-z0-9_$]*|\d+|\S")


def mask(s: Stmt) -> None:
    parts = []
    for t in s.toks:
        if t.start < s.start:
            continue
        if t.kind in ("sq", "dq", "dollar"):
            tag = {"sq": "S", "dq": "I", "dollar": "D"}[t.kind]
            parts.append(f"\x01{tag}{len(s.lits)}\x01")
            s.lits.append(t)
        elif t.kind == "comment":
            parts.append(" ")
        else:
            parts.append(t.text)
    s.masked = "".join(parts)


def prop_word(masked: str, name: str) -> str | None:
    m = re.search(rf"(?<![A-Za-z0-9_$]){name}\s*=\s*([A-Za-z_][A-Za-z0-9_]*)", masked, re.IGNORECASE)
    return m.group(1).upper() if m else None


def classify(s: Stmt) -> None:
    mask(s)
    w = [x.upper() for x in WORD.findall(s.masked)]
    kind = "OTHER: " + " ".join(w[:3])
    label = None
    if w[:1] == ["CREATE"]:
        i = 1
        if w[1:3] in (["OR", "REPLACE"], ["OR", "ALTER"]):
            i = 3
        while i < len(w) and w[i] in ("SECURE", "TEMP", "TEMPORARY", "TRANSIENT", "LOCAL", "GLOBAL"):
            i += 1
        rest = w[i : i + 3]
        if rest[:2] == ["NETWORK", "RULE"]:
            kind = "CREATE NETWORK RULE"
        elif rest[:2] == ["SECURITY", "INTEGRATION"]:
            kind = "CREATE SECURITY INTEGRATION"
            label = f"{kind} ({prop_word(s.masked, 'TYPE') or '?'})"
        elif rest[:1] == ["SECRET"]:
            kind = "CREATE SECRET"
            label = f"{kind} ({prop_word(s.masked, 'TYPE') or '?'})"
        elif rest == ["EXTERNAL", "ACCESS", "INTEGRATION"]:
            kind = "CREATE EXTERNAL ACCESS INTEGRATION"
        elif rest[:1] in (["PROCEDURE"], ["FUNCTION"]):
            kind = "CREATE " + rest[0]
        else:
            kind = "OTHER: CREATE " + " ".join(rest[:2])
    elif w[:1] == ["GRANT"]:
        kind = "GRANT"
        obj = "?"
        if "ON" in w:
            j = w.index("ON") + 1
            obj = " ".join(w[j : j + 2]) if w[j : j + 2] in (["NETWORK", "RULE"], ["EXTERNAL", "ACCESS"]) else w[j]
        label = f"GRANT ... ON {obj}"
        s.detail = obj
    elif w[:1] in (["CALL"], ["SELECT"]):
        kind = w[0]
    elif w[:1] == ["DROP"]:
        rest = w[1:3]
        if rest == ["NETWORK", "RULE"]:
            kind = "DROP NETWORK RULE"
        elif rest[:1] in (["PROCEDURE"], ["FUNCTION"], ["INTEGRATION"], ["SECRET"]):
            kind = "DROP " + rest[0]
        elif rest == ["SECURITY", "INTEGRATION"]:
            kind = "DROP SECURITY INTEGRATION"
        elif rest == ["EXTERNAL", "ACCESS"]:
            kind = "DROP EXTERNAL ACCESS INTEGRATION"
        else:
            kind = "OTHER: DROP " + " ".join(rest)
    s.kind = kind
    s.label = label or kind


# --------------------------------------------------------------------------------------------------
# Validators
# --------------------------------------------------------------------------------------------------


def one_line(msg: str, limit: int = 400) -> str:
    msg = re.sub(r"\x1b\[[0-9;]*m", "", str(msg))  # sqlglot highlights the error position with ANSI codes
    msg = re.sub(r"\s*\(at char \d+\), \(line:\d+, col:\d+\)", "", msg)  # pyparsing noise (titan)
    msg = " ".join(msg.split())
    return msg if len(msg) <= limit else msg[: limit - 3] + "..."


class Sqlfluff:
    name = "sqlfluff"

    def __init__(self) -> None:
        from sqlfluff.core import FluffConfig, Linter

        # Per-statement parsing, and the large-file traps of validators.md §4.1 switched off anyway.
        cfg = FluffConfig(
            overrides={
                "dialect": "snowflake",
                "large_file_skip_byte_limit": 0,
                "large_file_skip_char_limit": 0,
                "max_parse_nodes": 0,
                "rust_parser_max_iterations": 100_000_000,
            }
        )
        self.linter = Linter(config=cfg)

    def check(self, sql: str, expect: str | None, line0: int) -> tuple[bool, str]:
        try:
            parsed = self.linter.parse_string(sql)
        except BaseException as exc:  # sqlfluffrs panics surface as BaseException
            return False, f"sqlfluff crashed: {type(exc).__name__}: {one_line(exc)}"
        msgs = []
        for v in parsed.violations:
            code = v.rule_code() if hasattr(v, "rule_code") else type(v).__name__
            desc = re.sub(r"^Line (\d+), ", lambda m: f"line {line0 + int(m.group(1)) - 1}, ", v.desc())
            msgs.append(f"{code}: {desc}")
        if msgs:
            return False, one_line("; ".join(msgs))
        tree = parsed.tree
        if tree is None:
            return False, "no parse tree"
        if any(True for _ in tree.recursive_crawl("unparsable")):
            return False, "unparsable section in the tree"
        stmts = [seg for seg in tree.recursive_crawl("statement")]
        if len(stmts) != 1:
            return False, f"expected one statement, sqlfluff found {len(stmts)}"
        got = stmts[0].segments[0].type if stmts[0].segments else "?"
        if expect and got != expect:
            return False, f"parsed as {got}, expected {expect}"
        return True, got


class Sqlglot:
    name = "sqlglot"

    def __init__(self) -> None:
        import sqlglot
        from sqlglot import exp
        from sqlglot.errors import ErrorLevel

        self.sqlglot, self.exp, self.level = sqlglot, exp, ErrorLevel.RAISE

    def check(self, sql: str, node: str, kind: str | None) -> tuple[bool, str]:
        try:
            trees = [t for t in self.sqlglot.parse(sql, read="snowflake", error_level=self.level) if t is not None]
        except Exception as exc:
            return False, f"{type(exc).__name__}: {one_line(exc)}"
        if len(trees) != 1:
            return False, f"expected one statement, sqlglot built {len(trees)} trees"
        tree = trees[0]
        cls = getattr(self.exp, node)
        if not isinstance(tree, cls):
            what = "opaque exp.Command (not understood)" if isinstance(tree, self.exp.Command) else type(tree).__name__
            return False, f"built {what}, expected exp.{node}"
        got = str(tree.args.get("kind") or "").upper()
        if kind and got != kind:
            return False, f"built exp.{node}[{got}], expected exp.{node}[{kind}]"
        return True, f"exp.{node}[{got}]"


class Titan:
    """titan-core resource classes, with the pyparsing ignore-list growth undone after every call."""

    name = "titan"

    def __init__(self) -> None:
        import pyparsing as pp
        import titan.parse
        import titan.parse_primitives
        from titan.resources import (
            APIAuthenticationSecurityIntegration,
            ExternalAccessIntegration,
            GenericSecret,
            NetworkRule,
            PasswordSecret,
        )

        self.classes = {
            "NetworkRule": NetworkRule,
            "APIAuthenticationSecurityIntegration": APIAuthenticationSecurityIntegration,
            "ExternalAccessIntegration": ExternalAccessIntegration,
            "GenericSecret": GenericSecret,
            "PasswordSecret": PasswordSecret,
        }
        # titan.parse._parse_props() calls .ignore() on shared grammar objects on every call, so each
        # call is slower than the last (validators.md §4.4). Snapshot every reachable element's
        # ignore list once and truncate back to it after each call.
        seen: set[int] = set()
        elements: list = []

        def walk(el) -> None:
            if not isinstance(el, pp.ParserElement) or id(el) in seen:
                return
            seen.add(id(el))
            elements.append(el)
            for sub in getattr(el, "exprs", None) or []:
                walk(sub)
            walk(getattr(el, "expr", None))
            for sub in getattr(el, "ignoreExprs", None) or []:
                walk(sub)

        for cls in self.classes.values():
            for prop in cls.props.props.values():
                walk(prop.parser)
            walk(cls.props.start_token)
        for mod in (titan.parse, titan.parse_primitives):
            for value in vars(mod).values():
                walk(value)
        self.snapshot = [(el, len(el.ignoreExprs)) for el in elements]

    def _restore(self) -> None:
        for el, n in self.snapshot:
            if len(el.ignoreExprs) > n:
                del el.ignoreExprs[n:]

    def check(self, sql: str, cls_name: str) -> tuple[bool, str]:
        try:
            obj = self.classes[cls_name].from_sql(sql)
        except Exception as exc:
            chain, cur = [], exc
            while cur is not None and len(chain) < 4:
                chain.append(f"{type(cur).__name__}: {cur}")
                cur = cur.__cause__ or cur.__context__
            return False, one_line(" <- ".join(reversed(chain)))
        finally:
            self._restore()
        return True, type(obj).__name__


def normalize_for_titan(s: Stmt, drop_props: dict[str, str] | None = None) -> tuple[str, list[str]]:
    """Comment-free text with escaped quotes neutralised inside '...' literals (titan's QuotedString
    knows neither '' nor \\'; both are checked lexically by our splitter and by sqlfluff/sqlglot).
    Optionally removes `PROP = value` pairs titan wrongly rejects; returns the removed pairs."""
    masked = s.masked
    dropped: list[str] = []
    for prop, value_re in (drop_props or {}).items():
        pat = re.compile(rf"(?<![A-Za-z0-9_$]){prop}\s*=\s*({value_re})", re.IGNORECASE)
        dropped += [prop] * len(pat.findall(masked))
        masked = pat.sub(" ", masked)

    def lit(m: re.Match) -> str:
        tok = s.lits[int(m.group(1))]
        if tok.kind != "sq":
            return tok.text
        inner = tok.text[1:-1].replace("''", "_").replace("\\\\", "__").replace("\\'", "_")
        return "'" + inner.replace("\n", " ") + "'"

    return re.sub(r"\x01[SID](\d+)\x01", lit, masked), dropped


# --------------------------------------------------------------------------------------------------
# Python bodies and handler files
# --------------------------------------------------------------------------------------------------


def decode_sq(body: str) -> str:
    """Value of a Snowflake '...' literal (snowflake.md §8.4): '' and backslash escapes."""
    simple = {"'": "'", '"': '"', "\\": "\\", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
    out, i, n = [], 0, len(body)
    while i < n:
        c = body[i]
        if c == "'" and body.startswith("''", i):
            out.append("'")
            i += 2
        elif c == "\\" and i + 1 < n:
            d = body[i + 1]
            if re.match(r"[0-7]{3}", body[i + 1 : i + 4]):
                out.append(chr(int(body[i + 1 : i + 4], 8)))
                i += 4
            elif d == "0":
                out.append("\0")
                i += 2
            elif d == "x" and re.match(r"[0-9A-Fa-f]{2}", body[i + 2 : i + 4]):
                out.append(chr(int(body[i + 2 : i + 4], 16)))
                i += 4
            elif d == "u" and re.match(r"[0-9A-Fa-f]{4}", body[i + 2 : i + 6]):
                out.append(chr(int(body[i + 2 : i + 6], 16)))
                i += 6
            else:
                out.append(simple.get(d, d))
                i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


@dataclass
class Routine:
    stmt: Stmt
    kind: str  # PROCEDURE | FUNCTION
    name: str  # unqualified, unquoted
    language: str
    runtime: str | None
    handler: str | None
    n_args: int | None
    body: str | None
    body_line: int


def routine_info(s: Stmt) -> Routine:
    m = s.masked
    kind = "PROCEDURE" if s.kind == "CREATE PROCEDURE" else "FUNCTION"
    head = re.search(
        rf"\b{kind}\s+(?:IF\s+NOT\s+EXISTS\s+)?((?:\x01I\d+\x01|[A-Za-z_][\w$]*)(?:\s*\.\s*(?:\x01I\d+\x01|[A-Za-z_][\w$]*))*)",
        m,
        re.IGNORECASE,
    )
    name = "?"
    n_args = None
    if head:
        last = re.split(r"\s*\.\s*", head.group(1))[-1]
        im = re.fullmatch(r"\x01I(\d+)\x01", last)
        name = s.lits[int(im.group(1))].text[1:-1].replace('""', '"') if im else last.upper()
        rest = m[head.end() :].lstrip()
        if rest.startswith("("):
            depth, parts, cur = 0, [], ""
            for ch in rest:
                if ch == "(":
                    depth += 1
                    if depth == 1:
                        continue
                elif ch == ")":
                    depth -= 1
                    if depth == 0:
                        parts.append(cur)
                        break
                if depth == 1 and ch == ",":
                    parts.append(cur)
                    cur = ""
                else:
                    cur += ch
            n_args = len([p for p in parts if p.strip()])

    def lit_prop(prop: str) -> str | None:
        pm = re.search(rf"(?<![A-Za-z0-9_$]){prop}\s*=\s*\x01S(\d+)\x01", m, re.IGNORECASE)
        return decode_sq(s.lits[int(pm.group(1))].text[1:-1]) if pm else None

    lang = re.search(r"\bLANGUAGE\s+([A-Za-z_]+)", m, re.IGNORECASE)
    body_m = re.search(r"\bAS\s*\x01([SD])(\d+)\x01\s*;\s*$", m, re.IGNORECASE)
    body, body_line = None, s.line
    if body_m:
        tok = s.lits[int(body_m.group(2))]
        body = tok.text[2:-2] if tok.kind == "dollar" else decode_sq(tok.text[1:-1])
        body_line = line_of_stmt(s, tok.start + (2 if tok.kind == "dollar" else 1))
    return Routine(
        s,
        kind,
        name,
        (lang.group(1).upper() if lang else "?"),
        lit_prop("RUNTIME_VERSION"),
        lit_prop("HANDLER"),
        n_args,
        body,
        body_line,
    )


_FILE_TEXT: dict[Path, str] = {}


def line_of_stmt(s: Stmt, offset: int) -> int:
    return line_of(_FILE_TEXT[s.path], offset)


@dataclass
class PyItem:
    path: Path  # file reported in messages
    label: str
    source: str
    runtime: str | None  # "3.11"
    routine: Routine | None
    line0: int = 1  # line of the source's first line in `path`
    problems: list[tuple[int | None, str]] = field(default_factory=list)  # (line in `path`, message)
    checks: list[str] = field(default_factory=list)
    ruff_path: Path | None = None


def contract(item: PyItem, tree: ast.Module) -> None:
    r = item.routine
    if r is None:
        item.checks.append("contract skipped (no embedding CREATE)")
        return
    if r.handler is None:
        item.problems.append((None, f"contract: {r.kind} {r.name} has no HANDLER = '...'"))
        return
    if "." in r.handler:
        item.checks.append(f"contract skipped (HANDLER '{r.handler}' names a module member)")
        return
    defs = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    node = defs.get(r.handler)
    if node is None:
        item.problems.append((None, f"contract: HANDLER '{r.handler}' is not a top-level def/class in the body"))
        return
    if isinstance(node, ast.ClassDef) or r.n_args is None:
        item.checks.append("contract: handler found")
        return
    want = r.n_args + (1 if r.kind == "PROCEDURE" else 0)
    a = node.args
    pos = a.posonlyargs + a.args
    required = len(pos) - len(a.defaults)
    required_kwonly = [k.arg for k, d in zip(a.kwonlyargs, a.kw_defaults) if d is None]
    ok = (required <= want <= len(pos) or (a.vararg is not None and required <= want)) and not required_kwonly
    who = f"{r.n_args} SQL argument(s)" + (" + the Snowpark session" if r.kind == "PROCEDURE" else "")
    if not ok:
        item.problems.append(
            (
                item.line0 + node.lineno - 1,
                (
                    f"contract: {r.kind} passes {want} positional argument(s) ({who}) but "
                    f"def {r.handler}() takes {required}..{len(pos)}{' + *args' if a.vararg else ''}"
                    f"{' and requires keyword-only ' + ', '.join(required_kwonly) if required_kwonly else ''}"
                ),
            )
        )
    else:
        item.checks.append("contract")


def check_python(items: list[PyItem], tmp: Path, interp: tuple[int, int]) -> None:
    groups: dict[str, list[PyItem]] = defaultdict(list)
    for k, item in enumerate(items):
        rt = item.runtime
        m = re.fullmatch(r"3\.(\d+)", rt or "")
        if not m:
            item.problems.append((None, f"RUNTIME_VERSION {rt!r} is not 3.X; checked as {interp[0]}.{interp[1]}"))
            minor = interp[1]
        else:
            minor = int(m.group(1))
        # compile() under this interpreter only proves something when it is at least as new as the
        # runtime (a 3.12 body may use syntax 3.11 lacks); ruff --target-version covers the rest.
        if minor <= interp[1]:
            try:
                tree = compile(item.source, str(item.path), "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)
                compile(tree, str(item.path), "exec", dont_inherit=True)
                item.checks.append("compile")
                contract(item, tree)
            except (SyntaxError, ValueError) as exc:
                line = getattr(exc, "lineno", None)
                item.problems.append(
                    (
                        item.line0 + line - 1 if line else None,
                        f"compile: {type(exc).__name__}: {getattr(exc, 'msg', exc)}",
                    )
                )
        else:
            item.checks.append(f"compile skipped (runtime 3.{minor} > interpreter {interp[0]}.{interp[1]}; ruff only)")
            try:
                contract(item, ast.parse(item.source))
            except SyntaxError:
                item.checks.append("contract skipped (body needs a newer parser; ruff decides)")
        # Always a copy in a fresh temp dir: ruff's default excludes (build/, dist/, venv/, ...) can
        # never skip it, whatever directory the output lives in.
        item.ruff_path = tmp / f"item_{k}.py"
        item.ruff_path.write_bytes(item.source.encode("utf-8", errors="surrogateescape"))
        groups[f"py3{minor}"].append(item)

    ruff = find_ruff()
    for target, group in sorted(groups.items()):
        by_path = {str(it.ruff_path.resolve()): it for it in group}
        canary = tmp / f"canary_{target}.py"  # must be reported, or ruff is not checking anything
        canary.write_text("oracle_canary_undefined_name\n", encoding="utf-8")
        canary_key = str(canary.resolve())
        cmd = [
            ruff,
            "check",
            "--isolated",
            "--no-cache",
            "--select",
            RUFF_SELECT,
            "--target-version",
            target,
            "--output-format",
            "json",
            canary_key,
            *by_path,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            results = json.loads(proc.stdout or "[]")
        except json.JSONDecodeError:
            results = None
        if proc.returncode not in (0, 1) or results is None:
            for it in group:
                it.problems.append((None, f"ruff failed to run (rc={proc.returncode}): {one_line(proc.stderr)}"))
            continue
        if not any(str(Path(r["filename"]).resolve()) == canary_key and r.get("code") == "F821" for r in results):
            for it in group:
                it.problems.append((None, f"ruff self-test failed: F821 not reported on the canary ({target})"))
            continue
        for r in results:
            it = by_path.get(str(Path(r["filename"]).resolve()))
            if it is None:
                continue
            row = (r.get("location") or {}).get("row") or 1
            code = r.get("code") or "syntax-error"
            it.problems.append((it.line0 + row - 1, f"ruff {code} ({target}): {one_line(r['message'], 200)}"))
        for it in group:
            it.checks.append(f"ruff {target}")


def versions() -> str:
    from importlib.metadata import version

    try:
        from sqlfluff.core.parser import rust_parser

        engine = "rust parser" if getattr(rust_parser, "_HAS_RUST_PARSER", False) else "python parser"
    except Exception:
        engine = "python parser"
    return (
        f"sqlfluff {version('sqlfluff')} ({engine}), sqlglot {version('sqlglot')}, "
        f"titan-core {version('titan-core')}, ruff {version('ruff')}, python {sys.version.split()[0]}"
    )


def find_ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except Exception:
        path = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
        if not path:
            raise SystemExit("ruff not found: run .ci/oracle/setup.sh")
        return path


# --------------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------------


class SelfTestError(Exception):
    pass


class Oracle:
    def __init__(self, verbose: bool) -> None:
        self.verbose = verbose
        self.fluff = Sqlfluff()
        self.glot = Sqlglot()
        self.titan = Titan()
        self.self_test()
        self.counts: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])  # (label, parser, mode)
        self.notes: dict[str, int] = defaultdict(int)
        self.failures: list[str] = []
        self.warnings: list[str] = []
        self.passed = 0
        self.failed = 0

    def self_test(self) -> None:
        """Each parser must accept a known-good and reject a known-bad statement, so that a broken
        install or configuration (e.g. a file-size skip) cannot turn into a silent pass."""
        good_nr = "CREATE NETWORK RULE a.b.c TYPE = HOST_PORT MODE = EGRESS VALUE_LIST = ('x.com');"
        bad_nr = good_nr.replace("EGRESS", "EGRES")
        results = {
            "sqlfluff accepts a network rule": self.fluff.check(good_nr, "create_statement", 1)[0],
            "sqlfluff rejects MODE = EGRES": not self.fluff.check(bad_nr, "create_statement", 1)[0],
            "sqlglot accepts DROP INTEGRATION": self.glot.check("DROP INTEGRATION IF EXISTS x;", "Drop", "INTEGRATION")[
                0
            ],
            "sqlglot rejects DROP INTEGRATION x(": not self.glot.check("DROP INTEGRATION x(;", "Drop", "INTEGRATION")[
                0
            ],
            "titan accepts a network rule": self.titan.check(good_nr, "NetworkRule")[0],
            "titan rejects MODE = EGRES": not self.titan.check(bad_nr, "NetworkRule")[0],
        }
        broken = [name for name, ok in results.items() if not ok]
        if broken:
            raise SelfTestError("validator self-test failed: " + "; ".join(broken))

    def record(self, s: Stmt, parser: str, mode: str, ok: bool, msg: str) -> None:
        s.verdicts.append((parser, mode, ok, msg))
        c = self.counts[(s.label, parser, mode)]
        c[0 if ok else 1] += 1
        where = f"{s.path}:{s.line}: [{s.label}]"
        if not ok and mode == ADVISORY:
            self.warnings.append(f"{where} {parser} (advisory, not a failure): {msg}")
        elif not ok:
            tag = f"{parser} on the {SURROGATES[s.kind]} stand-in" if mode == SURROGATE else parser
            self.failures.append(f"{where} {tag}: {msg}")

    def check_stmt(self, s: Stmt) -> None:
        k, sql = s.kind, s.text
        if k == "CREATE NETWORK RULE":
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            typ = prop_word(s.masked, "TYPE")
            mode = ADVISORY if typ == "PRIVATE_HOST_PORT" else REQUIRED
            if mode == ADVISORY:
                self.notes["titan advisory only for TYPE = PRIVATE_HOST_PORT (titan's enum lacks it)"] += 1
            text, _ = normalize_for_titan(s)
            self.record(s, "titan", mode, *self.titan.check(text, "NetworkRule"))
        elif k == "CREATE SECURITY INTEGRATION":
            if prop_word(s.masked, "TYPE") == "API_AUTHENTICATION":
                text, dropped = normalize_for_titan(s, TITAN_SI_DROPPED_PROPS)
                for prop in dropped:
                    self.notes[f"{prop} value not checked by any parser (titan checks a copy without it)"] += 1
                self.record(s, "titan", REQUIRED, *self.titan.check(text, "APIAuthenticationSecurityIntegration"))
            else:
                self.notes["security integration of another TYPE: sqlfluff only"] += 1
                self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, None, s.line))
        elif k == "CREATE SECRET":
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            typ = prop_word(s.masked, "TYPE")
            cls = {"GENERIC_STRING": "GenericSecret", "PASSWORD": "PasswordSecret"}.get(typ or "")
            if cls:
                self.record(s, "titan", ADVISORY, *self.titan.check(normalize_for_titan(s)[0], cls))
        elif k == "CREATE EXTERNAL ACCESS INTEGRATION":
            self.record(s, "titan", REQUIRED, *self.titan.check(normalize_for_titan(s)[0], "ExternalAccessIntegration"))
        elif k in ("CREATE PROCEDURE", "CREATE FUNCTION"):
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            self.record(s, "sqlglot", REQUIRED, *self.glot.check(sql, "Create", k.split()[1]))
        elif k == "GRANT":
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            obj = s.detail or "?"
            if obj in SQLGLOT_GRANT_OBJECTS:
                self.record(s, "sqlglot", REQUIRED, *self.glot.check(sql, "Grant", obj))
            else:
                self.notes[f"GRANT ... ON {obj}: sqlglot not used (it only builds an opaque Command)"] += 1
        elif k in ("CALL", "SELECT", "DROP SECRET"):
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
        elif k in ("DROP PROCEDURE", "DROP FUNCTION", "DROP INTEGRATION"):
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            self.record(s, "sqlglot", REQUIRED, *self.glot.check(sql, "Drop", k.split()[1]))
        elif k == "DROP SECURITY INTEGRATION":
            # sqlglot 30.30.0 only builds an opaque Command for it.
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, SQLFLUFF_SEGMENT[k], s.line))
            self.notes["DROP SECURITY INTEGRATION: sqlglot not used (it only builds an opaque Command)"] += 1
        elif k in SURROGATES:
            # No parser knows DROP NETWORK RULE or DROP EXTERNAL ACCESS INTEGRATION (Snowflake
            # documents both); a statement of the same shape, DROP <kind> [IF EXISTS] <name>,
            # stands in: DROP SECRET for the rule, the untyped DROP INTEGRATION for the other.
            prefix = r"^DROP\s+" + r"\s+".join(k.split()[1:]) + r"\b"
            stand_in = re.sub(prefix, SURROGATES[k], sql, count=1, flags=re.IGNORECASE)
            self.record(s, "sqlfluff", SURROGATE, *self.fluff.check(stand_in, SQLFLUFF_SEGMENT[k], s.line))
            if SURROGATES[k] == "DROP INTEGRATION":
                self.record(s, "sqlglot", SURROGATE, *self.glot.check(stand_in, "Drop", "INTEGRATION"))
        else:
            self.notes[f"unrouted statement kind ({k}): sqlfluff required"] += 1
            self.record(s, "sqlfluff", REQUIRED, *self.fluff.check(sql, None, s.line))
        ok = all(v[2] for v in s.verdicts if v[1] != ADVISORY)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        if self.verbose:
            marks = ", ".join(
                f"{p}{'' if m == REQUIRED else '(' + m + ')'}={'ok' if o else 'REJECTED'}" for p, m, o, _ in s.verdicts
            )
            print(f"  {s.path.name}:{s.line}: {s.label}: {marks}")

    def file_error(self, path: Path, line: int | None, msg: str) -> None:
        self.failures.append(f"{path}:{line or 1}: [file] {msg}")
        self.failed += 1

    def run(self, dirs: list[Path]) -> int:
        t0 = time.monotonic()
        print("oracle: " + versions())
        interp = sys.version_info[:2]
        py_items: list[PyItem] = []
        self.deploy_notes: list[str] = []
        n_sql_files = 0
        for d in dirs:
            if not d.is_dir():
                self.file_error(d, None, "not a directory")
                continue
            sql_files = sorted(d.glob("*.sql"))
            if not sql_files:
                self.file_error(d, None, "no *.sql files")
            stage_stmts: list[str] = []
            per_file: dict[str, list[Stmt]] = {}
            for path in sql_files:
                n_sql_files += 1
                text = path.read_text(encoding="utf-8")
                _FILE_TEXT[path] = text
                stmts, errors = split(path, text)
                for line, msg in errors:
                    self.file_error(path, line, f"splitter: {msg}")
                if not errors:
                    problem = connector_crosscheck(text, stmts)
                    if problem:
                        self.file_error(path, None, f"splitter cross-check: {problem}")
                for s in stmts:
                    classify(s)
                per_file[path.name] = stmts
                if re.match(r"\d{3}_", path.name):
                    stage_stmts += [s.text for s in stmts]
            for name, stmts in per_file.items():
                if name == "deploy.sql" and stage_stmts and [s.text for s in stmts] == stage_stmts:
                    self.deploy_notes.append(
                        f"{d}/deploy.sql: {len(stmts)} statements, byte-identical to the stage files in order"
                        " (not parsed twice)"
                    )
                    continue
                if name == "deploy.sql" and stage_stmts:
                    self.deploy_notes.append(f"{d}/deploy.sql differs from the stage files: parsed on its own")
                for s in stmts:
                    self.check_stmt(s)
            py_items += self.python_items(d, per_file)
        with tempfile.TemporaryDirectory(prefix="eaxc-oracle-") as tmp:
            check_python(py_items, Path(tmp), interp)
        for it in py_items:
            if it.problems:
                self.failed += 1
                for line, msg in it.problems:
                    self.failures.append(f"{it.path}:{line or it.line0}: [python {it.label}] {msg}")
            else:
                self.passed += 1
        self.report(py_items, time.monotonic() - t0, n_sql_files)
        return 1 if self.failed or not (self.passed) else 0

    def python_items(self, d: Path, per_file: dict[str, list[Stmt]]) -> list[PyItem]:
        routines = [
            routine_info(s)
            for stmts in per_file.values()
            for s in stmts
            if s.kind in ("CREATE PROCEDURE", "CREATE FUNCTION") and s.path.name != "deploy.sql"
        ]
        items: list[PyItem] = []
        covered: set[int] = set()
        for r in routines:
            if r.language != "PYTHON":
                self.notes[f"{r.kind} with LANGUAGE {r.language}: body not checked"] += 1
                covered.add(id(r))
            elif r.body is None:
                self.failures.append(f"{r.stmt.path}:{r.stmt.line}: [python] no inline body found after AS")
                self.failed += 1
                covered.add(id(r))
        for f in sorted((d / "handlers").glob("*.py")):
            src = f.read_bytes().decode("utf-8", errors="surrogateescape")
            same = [r for r in routines if r.body == src]
            stem = f.stem.upper()
            named = [r for r in routines if r.name.upper() == stem or r.name.upper().endswith("__" + stem)]
            item = PyItem(f, "handler file", src, None, None)
            if same:
                r = same[0]
                for x in same:
                    covered.add(id(x))
                item.checks.append(f"embedded byte-identically in {r.stmt.path.name}:{r.stmt.line}")
            elif named:
                r = named[0]
                item.problems.append(
                    (
                        None,
                        (
                            f"embed: differs from the body of {r.kind} {r.name} at {r.stmt.path.name}:{r.stmt.line}"
                            " (the handler file must be byte-identical to the body it deploys)"
                        ),
                    )
                )
            else:
                r = None
                item.problems.append((None, "embed: no CREATE PROCEDURE/FUNCTION in this directory embeds this file"))
            if r is not None:
                item.routine, item.runtime = r, r.runtime
            else:
                item.runtime = f"{sys.version_info[0]}.{sys.version_info[1]}"
            items.append(item)
        for r in routines:
            if id(r) not in covered and r.body is not None:
                items.append(PyItem(r.stmt.path, f"body of {r.kind} {r.name}", r.body, r.runtime, r, r.body_line))
        return items

    def report(self, py_items: list[PyItem], elapsed: float, n_sql_files: int) -> None:
        out = print
        if self.failures:
            out(f"\nFAILURES ({len(self.failures)})")
            for f in self.failures:
                out(f"  {f}")
        if self.warnings:
            out(f"\nADVISORY WARNINGS ({len(self.warnings)}, not failures)")
            for w in self.warnings:
                out(f"  {w}")
        cols = [
            ("sqlfluff", REQUIRED),
            ("sqlglot", REQUIRED),
            ("titan", REQUIRED),
            ("sqlfluff", SURROGATE),
            ("sqlglot", SURROGATE),
            ("titan", ADVISORY),
        ]
        heads = ["sqlfluff", "sqlglot", "titan", "sqlfluff(surrogate)", "sqlglot(surrogate)", "titan(advisory)"]
        labels = sorted({k[0] for k in self.counts}, key=kind_order)
        width = max([len(label) for label in labels] + [20])
        out("\nSTATEMENTS CHECKED PER PARSER (accepted/checked; '-' = not routed to that parser)")
        out("  " + "kind".ljust(width) + "  " + "  ".join(h.rjust(len(h)) for h in heads))
        for label in labels:
            cells = []
            for (p, m), h in zip(cols, heads):
                c = self.counts.get((label, p, m))
                cells.append((f"{c[0]}/{c[0] + c[1]}" if c else "-").rjust(len(h)))
            out("  " + label.ljust(width) + "  " + "  ".join(cells))
        totals = []
        for (p, m), h in zip(cols, heads):
            ok = sum(v[0] for k, v in self.counts.items() if k[1:] == (p, m))
            n = sum(v[0] + v[1] for k, v in self.counts.items() if k[1:] == (p, m))
            totals.append(f"{ok}/{n}".rjust(len(h)))
        out("  " + "total".ljust(width) + "  " + "  ".join(totals))
        out("\nSURROGATE / PARTIAL / UNCHECKED")
        sur = 0
        for kind, stand_in in SURROGATES.items():
            n = sum(v[0] + v[1] for k, v in self.counts.items() if k[0] == kind and k[1:] == ("sqlfluff", SURROGATE))
            sur += n
            if n:
                out(f"  {n} x {kind}: no parser knows it; parsed as {stand_in} (same shape)")
        for note, n in sorted(self.notes.items()):
            out(f"  {n} x {note}")
        for note in getattr(self, "deploy_notes", []):
            out(f"  {note}")
        if not sur and not self.notes and not getattr(self, "deploy_notes", []):
            out("  none")
        out(
            f"\nPYTHON ({len(py_items)} item(s): handler files, plus inline bodies that have no identical handler file)"
        )
        for it in py_items:
            state = "ok" if not it.problems else "FAILED"
            rt = it.runtime or "?"
            what = str(it.path) if it.label == "handler file" else f"{it.path}:{it.line0} ({it.label})"
            out(f"  {state:6} {what}  runtime {rt}: {'; '.join(it.checks) or '-'}")
        out(f"\n{n_sql_files} SQL file(s) in {elapsed:.1f}s")
        out(f"{self.passed} passed, {self.failed} failed")


ORDER = [
    "CREATE NETWORK RULE",
    "CREATE SECURITY",
    "CREATE SECRET",
    "CREATE EXTERNAL",
    "CREATE PROCEDURE",
    "CREATE FUNCTION",
    "GRANT",
    "CALL",
    "SELECT",
    "DROP PROCEDURE",
    "DROP FUNCTION",
    "DROP INTEGRATION",
    "DROP SECURITY INTEGRATION",
    "DROP EXTERNAL ACCESS INTEGRATION",
    "DROP SECRET",
    "DROP NETWORK RULE",
]


def kind_order(label: str) -> tuple[int, str]:
    for i, prefix in enumerate(ORDER):
        if label.startswith(prefix):
            return (i, label)
    return (len(ORDER), label)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dirs", nargs="+", type=Path, help="output directories of `eaxc build`")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every statement's verdicts")
    args = ap.parse_args(argv)
    try:
        oracle = Oracle(args.verbose)
    except ImportError as exc:
        print(
            f"oracle: missing validator ({exc}); run `bash .ci/oracle/setup.sh` and use target/oracle-venv/bin/python",
            file=sys.stderr,
        )
        return 2
    except SelfTestError as exc:
        print(f"oracle: {exc}", file=sys.stderr)
        return 2
    return oracle.run(args.dirs)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
