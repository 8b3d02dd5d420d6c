#!/usr/bin/env python3
"""Behaviour tests of the Python handlers eaxc generates.

Usage: python3 tests/python/handler_tests.py OUT/handlers

OUT is the output directory of `eaxc build` over specs/ok and tests/handler_specs (tests/handlers.rs
compiles them into a temporary directory and runs this program). The program needs only the
standard library and `requests`.

How a handler is exercised without Snowflake and without the Internet:
- `tests/python/stubs` comes first on sys.path, so `import _snowflake` gets the stand-in. It holds
  exactly the secrets that 050_procedures.sql attaches to the procedure (`SECRETS = (...)`), with
  the types 030_secrets.sql gives them; reading anything else raises.
- Each test loads a fresh copy of the handler module and mounts on its `_session` an adapter that
  records every request as the handler made it (original URL, headers, body, timeout) and then
  sends it to one mock HTTP server on 127.0.0.1. The URL the handler computed is not changed.
- The module's `time` is replaced, so retries record their delays instead of sleeping.
- socket.connect and socket.getaddrinfo are guarded: nothing but 127.0.0.1 can be reached.

Every test checks afterwards that each request had a timeout and that only attached secrets were
read. The program prints one line per test and a closing `N passed, M failed`; it exits non-zero
when a test fails.
"""

import base64
import collections
import datetime
import decimal
import email.utils
import faulthandler
import gzip
import http.server
import importlib.util
import itertools
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import traceback
import urllib.parse

# No __pycache__ next to the stubs in the repository, nor next to the handlers.
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stubs"))

import _snowflake  # noqa: E402  (the stand-in from stubs/)
import requests  # noqa: E402
import requests.adapters  # noqa: E402
import tableauserverclient as tsc  # noqa: E402  (the stand-in from stubs/)

# The whole run must end well within this many seconds.
RUN_LIMIT_SECONDS = 50
# No mock answer is delayed longer than this.
MAX_REPLY_DELAY = 2.0

# A path parameter with a slash, a space and a non-ASCII letter, and its encoding.
AWKWARD = "a/b c é"
AWKWARD_ENCODED = "a%2Fb%20c%20%C3%A9"

# Values of the secrets, by alias; tests assert they reach the right header or field.
SECRET_VALUES = {
    "token": "tok-Abc123",
    "oauth_token": "oauth-Xyz789",
    "credentials": ("svc_snowflake", "pässwörd:42"),
    "api_key": "key-Q1w2e3",
    "snowflake_system_account": ("IMMUTA_SYSTEM", "sys-Pw0rd"),
    "signing_key": "sign-K3y",
    "pat_name": "my-pat-token",
    "pat_value": "pat-S3cret",
}


# --------------------------------------------------------------------------------------------
# Assertions


class Failure(AssertionError):
    pass


def expect(condition, message):
    if not condition:
        raise Failure(message)


def eq(actual, expected, what):
    if actual != expected:
        raise Failure(f"{what}:\n    expected {expected!r}\n    actual   {actual!r}")


def raises(exc_type, fn, *args):
    """Calls fn(*args), which must raise exc_type; returns the exception."""
    try:
        result = fn(*args)
    except exc_type as error:
        return error
    raise Failure(f"expected {exc_type.__name__}, but the call returned {result!r}")


# --------------------------------------------------------------------------------------------
# The generated SQL: which procedure each handler is, and which secrets it gets


class Action:
    """One CREATE PROCEDURE/FUNCTION of 050_procedures.sql."""

    def __init__(self, kind, secrets, body):
        self.kind = kind  # "procedure" or "function"
        self.secrets = secrets  # alias -> secret TYPE
        self.body = body


def parse_sql(out_dir):
    """Returns the actions of 050_procedures.sql, each with its secrets' types from 030."""
    with open(os.path.join(out_dir, "030_secrets.sql"), encoding="utf-8") as f:
        secrets_sql = f.read()
    types = {}
    for match in re.finditer(r"CREATE (?:OR REPLACE )?SECRET (?:IF NOT EXISTS )?(\S+)\s+TYPE = (\w+)", secrets_sql):
        types[match.group(1)] = match.group(2).upper()
    with open(os.path.join(out_dir, "050_procedures.sql"), encoding="utf-8") as f:
        sql = f.read()
    actions = []
    starts = list(re.finditer(r"^CREATE (?:OR REPLACE )?(?:SECURE )?(PROCEDURE|FUNCTION) ", sql, re.M))
    for index, start in enumerate(starts):
        end = starts[index + 1].start() if index + 1 < len(starts) else len(sql)
        chunk = sql[start.start():end]
        secrets = {}
        clause = re.search(r"^\s*SECRETS = \((.*)\)\s*$", chunk, re.M)
        if clause:
            for alias, name in re.findall(r"'([^']+)'\s*=\s*((?:\"[^\"]*\"\.?)+)", clause.group(1)):
                if name not in types:
                    raise Failure(f"SECRETS names {name}, which 030_secrets.sql does not create")
                secrets[alias] = types[name]
        dollar = re.search(r"\bAS \$\$(.*?)\$\$;", chunk, re.S)
        quoted = re.search(r"\bAS '((?:[^'\\]|\\.|'')*)';", chunk, re.S)
        if dollar:
            body = dollar.group(1)
        elif quoted:
            body = unquote_sql(quoted.group(1))
        else:
            raise Failure(f"no `AS $$...$$;` or `AS '...';` body in:\n{chunk[:300]}")
        actions.append(Action(start.group(1).lower(), secrets, body))
    return actions


_SQL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f"}


def unquote_sql(text):
    """The value of a single-quoted Snowflake string constant (without its quotes): `\\xhh`,
    `\\uhhhh` and octal escapes are decoded, any other escaped character stands for itself."""
    out = []
    index = 0
    while index < len(text):
        c = text[index]
        escape = re.match(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|[0-7]{1,3})", text[index:])
        if escape:
            code = escape.group(1)
            out.append(chr(int(code[1:], 16) if code[0] in "xu" else int(code, 8)))
            index += len(escape.group(0))
        elif c == "\\" and index + 1 < len(text):
            nxt = text[index + 1]
            out.append(_SQL_ESCAPES.get(nxt, nxt))
            index += 2
        elif c == "'" and text.startswith("''", index):
            out.append("'")
            index += 2
        else:
            out.append(c)
            index += 1
    return "".join(out)


def map_handlers(handlers_dir, actions):
    """handler file stem -> Action, matching each handler file to the body it is embedded in."""
    found = {}
    for name in sorted(os.listdir(handlers_dir)):
        if not name.endswith(".py"):
            continue
        with open(os.path.join(handlers_dir, name), encoding="utf-8") as f:
            text = f.read()
        matches = [action for action in actions if action.body == text]
        if len(matches) != 1:
            raise Failure(f"handlers/{name} is the body of {len(matches)} procedures in 050_procedures.sql, not 1")
        found[name[:-3]] = matches[0]
    return found


# --------------------------------------------------------------------------------------------
# Only 127.0.0.1 may be reached

VIOLATIONS = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _loopback(host):
    return host in ("127.0.0.1", "localhost")


def _guard_address(address):
    if isinstance(address, tuple) and not _loopback(address[0]):
        VIOLATIONS.append(address)
        raise OSError(f"handler tests: refusing to connect to {address!r}; only 127.0.0.1 is allowed")


def _guarded_connect(self, address):
    _guard_address(address)
    return _real_connect(self, address)


def _guarded_connect_ex(self, address):
    _guard_address(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host, *args, **kwargs):
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if host is not None and not _loopback(host):
        VIOLATIONS.append(host)
        raise socket.gaierror(f"handler tests: refusing to resolve {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


def install_network_guard():
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.getaddrinfo = _guarded_getaddrinfo


# --------------------------------------------------------------------------------------------
# The mock server


class Reply:
    """What the mock server answers to one request."""

    def __init__(self, status=200, body=b"", headers=(), delay=0.0, truncate=False, trickle=0.0, length=None, raw=None):
        self.status = status
        self.body = body.encode("utf-8") if isinstance(body, str) else body
        self.headers = list(headers)
        self.delay = min(delay, MAX_REPLY_DELAY)
        # Announce more bytes than are sent, then close: the connection drops mid-answer.
        self.truncate = truncate
        # Seconds between the bytes of the body (it trickles in); the trickle stops after
        # MAX_REPLY_DELAY seconds or when the client hangs up.
        self.trickle = trickle
        # The Content-Length to announce (text), or False for none: the body ends when the
        # connection closes.
        self.length = length
        # Bytes written instead of a well-formed answer.
        self.raw = raw


def json_reply(value, status=200, headers=()):
    return Reply(status, json.dumps(value), [("Content-Type", "application/json"), *headers])


def text_reply(text, status=200, headers=()):
    return Reply(status, text, [("Content-Type", "text/plain; charset=utf-8"), *headers])


class Received:
    """One request as the mock server saw it on the wire."""

    def __init__(self, method, target, headers, body):
        self.method = method
        self.target = target  # path?query
        self.headers = headers  # list of (name, value)
        self.body = body

    def header(self, name):
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        expect(len(values) <= 1, f"header {name} sent {len(values)} times")
        return values[0] if values else None

    def json(self):
        return json.loads(self.body.decode("utf-8"))


class MockServer:
    def __init__(self):
        self.lock = threading.Lock()
        self.script = collections.deque()
        self.received = []
        mock = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def handle_any(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with mock.lock:
                    mock.received.append(Received(self.command, self.path, list(self.headers.items()), body))
                    reply = mock.script.popleft() if mock.script else json_reply({"ok": True})
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    if reply.raw is not None:
                        self.wfile.write(reply.raw)
                        return
                    self.send_response(reply.status)
                    for name, value in reply.headers:
                        self.send_header(name, value)
                    has_body = reply.status not in (204, 304) and not 100 <= reply.status < 200
                    if has_body and reply.length is None:
                        self.send_header("Content-Length", str(len(reply.body) + (100 if reply.truncate else 0)))
                    elif has_body and reply.length is not False:
                        self.send_header("Content-Length", reply.length)
                    self.end_headers()
                    if has_body and self.command != "HEAD":
                        if reply.trickle:
                            stop = time.monotonic() + MAX_REPLY_DELAY
                            for byte in reply.body:
                                if time.monotonic() > stop:
                                    break
                                self.wfile.write(bytes([byte]))
                                self.wfile.flush()
                                time.sleep(reply.trickle)
                        else:
                            self.wfile.write(reply.body)
                except OSError:
                    pass  # the client gave up (read timeout)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = handle_any

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.block_on_close = False
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def reset(self):
        with self.lock:
            self.script.clear()
            del self.received[:]

    def answer(self, *replies):
        with self.lock:
            self.script.extend(replies)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


SERVER = None


def closed_port():
    """A loopback port nothing listens on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------------------------
# Loading and calling handlers


class Sent:
    """One request as the handler made it, before it was redirected to the mock server."""

    def __init__(self, method, url, headers, body, timeout):
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout

    @property
    def netloc(self):
        return urllib.parse.urlsplit(self.url).netloc

    @property
    def target(self):
        parts = urllib.parse.urlsplit(self.url)
        return parts.path + ("?" + parts.query if parts.query else "")


class LoopbackAdapter(requests.adapters.HTTPAdapter):
    """Records each request, then sends it to the mock server without changing what the
    handler computed: the URL is restored on the request and the response afterwards."""

    def __init__(self, port, log):
        super().__init__(max_retries=0)
        self.port = port
        self.log = log

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        original = request.url
        parts = urllib.parse.urlsplit(original)
        self.log.append(Sent(request.method, original, dict(request.headers), request.body, timeout))
        request.url = urllib.parse.urlunsplit(("http", f"127.0.0.1:{self.port}", parts.path or "/", parts.query, ""))
        request.headers["X-Original-Host"] = parts.netloc
        try:
            # proxies={}: an HTTPS_PROXY in the environment must not divert the test traffic.
            response = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies={})
        finally:
            request.url = original
            del request.headers["X-Original-Host"]
        response.url = original
        return response


class FakeTime:
    """Replaces a handler's `time` module: sleeps are recorded, not slept."""

    def __init__(self):
        self.sleeps = []

    def sleep(self, seconds):
        self.sleeps.append(seconds)

    def __getattr__(self, name):
        return getattr(time, name)


class NoSession:
    """The Snowpark session a procedure receives; generated handlers must not touch it."""

    def __getattr__(self, name):
        raise Failure(f"the handler used session.{name}")


ACTIONS = {}  # handler stem -> Action
HANDLERS_DIR = None
LOADED = []  # handlers loaded by the running test, checked after it
_counter = itertools.count()


class Handler:
    def __init__(self, stem, port=None):
        expect(stem in ACTIONS, f"no handler {stem}.py was generated")
        self.stem = stem
        self.action = ACTIONS[stem]
        self.path = os.path.join(HANDLERS_DIR, stem + ".py")
        with open(self.path, encoding="utf-8") as f:
            self.text = f.read()
        spec = importlib.util.spec_from_file_location(f"eaxc_handler_{stem}_{next(_counter)}", self.path)
        self.module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self.module)
        self.sent = []
        self.reads = []
        self.clock = FakeTime()
        if hasattr(self.module, "_session"):
            adapter = LoopbackAdapter(port or SERVER.port, self.sent)
            self.module._session.mount("https://", adapter)
            self.module._session.mount("http://", adapter)
        if hasattr(self.module, "time"):
            self.module.time = self.clock
        self.secrets = {alias: (kind, SECRET_VALUES.get(alias, f"value-of-{alias}")) for alias, kind in self.action.secrets.items()}
        LOADED.append(self)

    @property
    def sleeps(self):
        return self.clock.sleeps

    def call(self, *args):
        """Calls main() as Snowflake would: procedures get a session first, functions do not."""
        _snowflake.configure(self.secrets)
        try:
            if self.action.kind == "procedure":
                return self.module.main(NoSession(), *args)
            return self.module.main(*args)
        finally:
            self.reads.extend(_snowflake.reads)

    def fails(self, exc_type, *args):
        return raises(exc_type, self.call, *args)

    def aliases_read(self):
        return {alias for _, alias in self.reads}

    def exchange(self, index=0):
        """The index-th request: as the handler sent it and as the server received it."""
        expect(len(self.sent) > index, f"only {len(self.sent)} request(s) were sent")
        expect(len(SERVER.received) > index, f"only {len(SERVER.received)} request(s) reached the server")
        sent, received = self.sent[index], SERVER.received[index]
        eq(received.method, sent.method, "method on the wire")
        eq(received.target, sent.target, "path and query on the wire")
        eq(received.header("X-Original-Host"), sent.netloc, "original host")
        return sent, received

    def only_exchange(self):
        eq(len(self.sent), 1, "requests sent")
        eq(len(SERVER.received), 1, "requests received")
        return self.exchange(0)

    def nothing_sent(self):
        eq(len(self.sent), 0, "requests sent")
        eq(len(SERVER.received), 0, "requests received")

    def verify(self):
        """Checks that hold for every test."""
        for sent in self.sent:
            expect(sent.timeout is not None, f"{self.stem}: {sent.method} {sent.url} was sent without a timeout")
            if hasattr(self.module, "TIMEOUT_SECONDS"):
                limit = self.module.TIMEOUT_SECONDS
                expect(0 < sent.timeout <= limit, f"{self.stem}: timeout of {sent.method} {sent.url} is {sent.timeout}, not within the deadline of {limit} s")
        extra = self.aliases_read() - set(self.action.secrets)
        expect(not extra, f"{self.stem} read secret aliases {sorted(extra)} that its SECRETS clause does not attach")


def basic(username, password):
    return "Basic " + base64.b64encode(f"{username}:{password}".encode("utf-8")).decode("ascii")


# --------------------------------------------------------------------------------------------
# Test registry and runner

TESTS = []
REQUEST_TESTED = set()  # handler stems with a request test


def case(category, covers=None):
    def register(fn):
        TESTS.append((category, fn.__name__, fn))
        if covers:
            REQUEST_TESTED.add(covers)
        return fn

    return register


def run():
    passed = failed = 0
    for category, name, fn in TESTS:
        SERVER.reset()
        del LOADED[:]
        del VIOLATIONS[:]
        started = time.monotonic()
        try:
            fn()
            for handler in LOADED:
                handler.verify()
            expect(not VIOLATIONS, f"tried to reach {VIOLATIONS} (only 127.0.0.1 is allowed)")
        except Exception as error:  # noqa: BLE001 - report every failure the same way
            failed += 1
            print(f"FAIL  {category}: {name}")
            detail = str(error) if isinstance(error, Failure) else traceback.format_exc()
            if isinstance(error, Failure):
                where = traceback.extract_tb(error.__traceback__)
                frames = [frame for frame in where if frame.filename == __file__ and frame.name == name]
                if frames:
                    detail += f"\n    (at line {frames[-1].lineno})"
            print("      " + detail.rstrip().replace("\n", "\n      "))
        else:
            passed += 1
            print(f"ok    {category}: {name} ({time.monotonic() - started:.2f}s)")
    return passed, failed


# --------------------------------------------------------------------------------------------
# Wiring: every handler is embedded, tested, and gets the secrets its auth needs


@case("wiring")
def every_handler_is_embedded_in_the_sql():
    names = sorted(n for n in os.listdir(HANDLERS_DIR) if n.endswith(".py"))
    expect(names, "no handlers were generated")
    eq(sorted(stem + ".py" for stem in ACTIONS), names, "handlers matched to 050_procedures.sql")
    for stem, action in ACTIONS.items():
        with open(os.path.join(HANDLERS_DIR, stem + ".py"), encoding="utf-8") as f:
            first = f.readline()
        header = re.match(r"# Generated by eaxc from \S+: api (\w+), (procedure|function) (\w+)\.$", first.rstrip("\n"))
        if header:
            eq(f"{header.group(1)}__{header.group(3)}", stem, f"header of {stem}.py")
            eq(header.group(2), action.kind, f"header of {stem}.py against its CREATE statement")


@case("wiring")
def every_generated_handler_has_a_request_test():
    generated = {stem for stem in ACTIONS if is_generated(stem)}
    missing = sorted(generated - REQUEST_TESTED)
    expect(not missing, f"no behaviour test for handlers {missing}; add one to tests/python/handler_tests.py")


def is_generated(stem):
    with open(os.path.join(HANDLERS_DIR, stem + ".py"), encoding="utf-8") as f:
        return f.readline().startswith("# Generated by eaxc")


ATTACHED = {
    "matillion_dpc__trigger_pipeline": {"oauth_token": "OAUTH2"},
    "google_sheets__read_range": {"oauth_token": "OAUTH2"},
    "immuta__register_snowflake_connection": {"token": "GENERIC_STRING", "snowflake_system_account": "PASSWORD"},
    "echo_service__echo": {"token": "GENERIC_STRING"},
    "weather__current_conditions": {"credentials": "PASSWORD"},
    "tableau__refresh_resource": {"pat_name": "GENERIC_STRING", "pat_value": "GENERIC_STRING"},
    "hs_public__search": {},
    "hs_tickets__open_ticket": {"token": "GENERIC_STRING", "signing_key": "GENERIC_STRING"},
    "hs_tickets__close_ticket": {"token": "GENERIC_STRING"},
    "hs_inventory__set_stock": {"api_key": "GENERIC_STRING"},
    "hs_geo__geocode": {"api_key": "GENERIC_STRING"},
    "ticket_search__ticket_ids": {"api_key": "GENERIC_STRING"},
}


@case("wiring")
def secrets_clauses_attach_exactly_what_each_handler_needs():
    for stem, expected in ATTACHED.items():
        expect(stem in ACTIONS, f"{stem}.py was not generated")
        eq(ACTIONS[stem].secrets, expected, f"SECRETS of {stem} (alias -> TYPE)")


@case("wiring")
def a_handler_without_secrets_does_not_import_snowflake():
    handler = Handler("hs_public__search")
    expect(not hasattr(handler.module, "_snowflake"), "hs_public__search imports _snowflake but has no secrets")


@case("wiring")
def spec_timeout_and_retries_reach_the_handler():
    for stem, expected in [
        ("hs_public__search", (5, 2)),  # timeout = 5, retries = 2
        ("hs_tickets__open_ticket", (5, 2)),
        ("echo_service__echo", (30, 3)),  # the defaults
    ]:
        module = Handler(stem).module
        eq((module.TIMEOUT_SECONDS, module.MAX_RETRIES), expected, f"{stem}: (TIMEOUT_SECONDS, MAX_RETRIES)")


# --------------------------------------------------------------------------------------------
# Requests: method, URL, query, headers, body and auth of every generated handler


@case("request", covers="matillion_dpc__trigger_pipeline")
def matillion_oauth2_client_credentials():
    handler = Handler("matillion_dpc__trigger_pipeline")
    SERVER.answer(json_reply({"pipelineExecutionId": "exec-1"}))
    result = handler.call(AWKWARD, "Demo Pipeline", "API Demo Project-my-environment", "eu1.api.matillion.com")
    eq(result, {"pipelineExecutionId": "exec-1"}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "POST", "method")
    eq(sent.url, f"https://eu1.api.matillion.com/v1/projects/{AWKWARD_ENCODED}/pipeline-executions", "URL")
    eq(received.header("Authorization"), "Bearer oauth-Xyz789", "Authorization")
    eq(received.header("Content-Type"), "application/json", "Content-Type")
    eq(received.json(), {"pipelineName": "Demo Pipeline", "environmentName": "API Demo Project-my-environment"}, "body")
    eq(handler.reads, [("get_oauth_access_token", "oauth_token")], "secret reads")


@case("request", covers="google_sheets__read_range")
def google_sheets_oauth2_authorization_code():
    handler = Handler("google_sheets__read_range")
    SERVER.answer(json_reply({"values": [["1", "2"]]}))
    result = handler.call(AWKWARD, "Sheet1!A1:B2")
    eq(result, {"values": [["1", "2"]]}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "GET", "method")
    eq(sent.url, f"https://sheets.googleapis.com/v4/spreadsheets/{AWKWARD_ENCODED}/values/Sheet1%21A1%3AB2", "URL")
    eq(received.header("Authorization"), "Bearer oauth-Xyz789", "Authorization")
    eq(received.body, b"", "body")
    eq(received.header("Content-Type"), None, "Content-Type")
    eq(handler.aliases_read(), {"oauth_token"}, "aliases read")


@case("request", covers="immuta__register_snowflake_connection")
def immuta_bearer_without_prefix_and_password_secret_in_body():
    handler = Handler("immuta__register_snowflake_connection")
    SERVER.answer(json_reply({"id": 7}, status=201))
    result = handler.call("conn-é", "acct.snowflakecomputing.com", "WH", "IMMUTA_ROLE")
    eq(result, {"id": 7}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "POST", "method")
    eq(sent.url, "https://immuta.example.com/data/connection", "URL")
    eq(received.header("Authorization"), "tok-Abc123", "Authorization (prefix = \"\")")
    eq(received.json(), {
        "connectionKey": "conn-é",
        "connection": {
            "technology": "Snowflake",
            "hostname": "acct.snowflakecomputing.com",
            "port": 443,
            "warehouse": "WH",
            "role": "IMMUTA_ROLE",
            "authenticationType": "userPassword",
            "username": "IMMUTA_SYSTEM",
            "password": "sys-Pw0rd",
        },
        "settings": {"isActive": False},
        "options": {"forceRecursiveCrawl": True},
    }, "body")
    eq(handler.aliases_read(), {"token", "snowflake_system_account"}, "aliases read")


@case("request", covers="echo_service__echo")
def echo_service_snowflake_pat():
    handler = Handler("echo_service__echo")
    SERVER.answer(json_reply({"data": [[0, "hello é"]]}))
    result = handler.call("hello é")
    eq(result, {"data": [[0, "hello é"]]}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "POST", "method")
    eq(sent.url, "https://abcd-myorg-myaccount.snowflakecomputing.app/echo", "URL")
    eq(received.header("Authorization"), 'Snowflake Token="tok-Abc123"', "Authorization")
    eq(received.json(), {"data": [[0, "hello é"]]}, "body")
    eq(handler.aliases_read(), {"token"}, "aliases read")


@case("request", covers="weather__current_conditions")
def weather_basic_auth_function_with_query():
    handler = Handler("weather__current_conditions")
    SERVER.answer(json_reply({"temp": 21}))
    eq(handler.call("São Paulo", "imperial"), {"temp": 21}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "GET", "method")
    eq(sent.url, "https://api.weather.example.com/v1/current?q=S%C3%A3o+Paulo&units=imperial", "URL")
    eq(urllib.parse.parse_qsl(urllib.parse.urlsplit(sent.url).query), [("q", "São Paulo"), ("units", "imperial")], "query")
    eq(received.header("Authorization"), basic("svc_snowflake", "pässwörd:42"), "Authorization")
    eq(received.header("Accept"), "application/json", "Accept")
    eq(handler.aliases_read(), {"credentials"}, "aliases read")


@case("request")
def weather_query_drops_null_values():
    handler = Handler("weather__current_conditions")
    handler.call("Oslo", None)
    sent, _ = handler.only_exchange()
    eq(sent.url, "https://api.weather.example.com/v1/current?q=Oslo", "URL")


@case("request", covers="hs_public__search")
def public_auth_none_wildcard_host_function():
    handler = Handler("hs_public__search")
    SERVER.answer(json_reply([{"hit": 1}]))
    result = handler.call("acme-eu", AWKWARD, "csv", 2, True, None)
    eq(result, [{"hit": 1}], "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "GET", "method")
    eq(sent.url, f"https://acme-eu.example.org/v2/search/{AWKWARD_ENCODED}?fmt=csv&page=2&exact=true&source=snowflake", "URL")
    eq(received.header("Authorization"), None, "Authorization (auth none)")
    eq(received.header("Accept"), "application/json", "Accept")
    eq(handler.reads, [], "secret reads")


@case("request")
def public_numbers_and_booleans_as_text():
    handler = Handler("hs_public__search")
    handler.call("acme", "x", "json", decimal.Decimal("10"), False, "nb")
    sent, _ = handler.only_exchange()
    eq(sent.url, "https://acme.example.org/v2/search/x?fmt=json&page=10&exact=false&lang=nb&source=snowflake", "URL")


@case("request", covers="hs_tickets__open_ticket")
def tickets_bearer_default_prefix_and_template_body():
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(json_reply({"id": "T-1"}, status=201))
    result = handler.call("Disk full é", "high", decimal.Decimal("3"), True)
    eq(result, {"id": "T-1"}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "POST", "method")
    eq(sent.url, "https://tickets.example.net/api/tickets", "URL")
    eq(received.header("Authorization"), "Bearer tok-Abc123", "Authorization")
    eq(received.header("X-Signing-Key"), "sign-K3y", "X-Signing-Key (secret.signing_key.value)")
    eq(received.header("X-Request-Source"), "snowflake", "X-Request-Source")
    eq(received.header("Content-Type"), "application/json", "Content-Type")
    eq(received.json(), {
        "summary": "Ticket: Disk full é",
        "priority": "high",
        "count": 3,
        "urgent": True,
        "tags": ["snowflake", "Disk full é"],
        "meta": {"source": "eaxc", "ratio": 0.5, "parent": None},
    }, "body")
    eq(handler.aliases_read(), {"token", "signing_key"}, "aliases read")


@case("request")
def tickets_json_body_converts_decimals():
    handler = Handler("hs_tickets__open_ticket")
    handler.call("t", "low", decimal.Decimal("2.50"), False)
    _, received = handler.only_exchange()
    eq(received.json()["count"], 2.5, "count from Decimal('2.50')")


@case("request", covers="hs_tickets__close_ticket")
def tickets_delete_reads_only_its_own_secret():
    handler = Handler("hs_tickets__close_ticket")
    SERVER.answer(text_reply("closed"))
    eq(handler.call("T/1 é"), "closed", "result (varchar)")
    sent, received = handler.only_exchange()
    eq(sent.method, "DELETE", "method")
    eq(sent.url, "https://tickets.example.net/api/tickets/T%2F1%20%C3%A9", "URL")
    eq(received.header("Authorization"), "Bearer tok-Abc123", "Authorization")
    eq(received.body, b"", "body")
    eq(handler.aliases_read(), {"token"}, "aliases read (signing_key belongs to open_ticket)")


@case("request", covers="hs_inventory__set_stock")
def inventory_api_key_header_put_with_port():
    handler = Handler("hs_inventory__set_stock")
    SERVER.answer(json_reply({"stock": 5}))
    eq(handler.call("SKU 1/é", 5, "req-1"), '{"stock": 5}', "result (varchar keeps the text)")
    sent, received = handler.only_exchange()
    eq(sent.method, "PUT", "method")
    eq(sent.url, "https://inventory.example.com:8443/items/SKU%201%2F%C3%A9/stock", "URL")
    eq(received.header("X-API-Key"), "key-Q1w2e3", "X-API-Key")
    eq(received.header("X-Request-Id"), "req-1", "X-Request-Id")
    eq(received.header("Authorization"), None, "Authorization")
    eq(received.json(), {"quantity": 5}, "body")
    eq(handler.aliases_read(), {"api_key"}, "aliases read")


@case("request")
def inventory_header_from_null_parameter_is_left_out():
    handler = Handler("hs_inventory__set_stock")
    handler.call("sku", 1, None)
    _, received = handler.only_exchange()
    eq(received.header("X-Request-Id"), None, "X-Request-Id")


@case("request", covers="hs_geo__geocode")
def geo_api_key_in_query():
    handler = Handler("hs_geo__geocode")
    SERVER.answer(json_reply({"lat": 51.5}))
    eq(handler.call("10 Downing St, London", 5), {"lat": 51.5}, "result")
    sent, received = handler.only_exchange()
    eq(sent.method, "GET", "method")
    eq(sent.url, "https://geo.example.com/v1/geocode?address=10+Downing+St%2C+London&limit=5&api_key=key-Q1w2e3", "URL")
    eq(received.header("Authorization"), None, "Authorization")
    expect("key-Q1w2e3" not in repr(received.headers), "the api key is sent in a header too")
    eq(handler.aliases_read(), {"api_key"}, "aliases read")


@case("request", covers="tableau__refresh_resource")
def tableau_hand_written_handler_signs_in_with_pat():
    tsc.reset(
        workbooks=[tsc.Item("wb-0", "Sales", "Other"), tsc.Item("wb-1", "Sales", "Finance")],
        datasources=[tsc.Item("ds-1", "Orders", "Finance")],
    )
    handler = Handler("tableau__refresh_resource")
    result = handler.call("workbook", "Sales", "Finance", "site1", "prod-useast-a.online.tableau.com")
    eq(result, "refresh job job-wb-1 queued for workbook 'Sales'", "result")
    eq(tsc.calls, [
        ("server", "https://prod-useast-a.online.tableau.com", True),
        ("sign_in", "https://prod-useast-a.online.tableau.com", "my-pat-token", "pat-S3cret", "site1"),
        ("refresh", "workbook", "wb-1"),
        ("sign_out",),
    ], "Tableau calls")
    eq(handler.aliases_read(), {"pat_name", "pat_value"}, "aliases read")
    tsc.reset(datasources=[tsc.Item("ds-1", "Orders", "Finance")])
    eq(handler.call("datasource", "Orders", "Finance", "site1", "prod-useast-a.online.tableau.com"), "refresh job job-ds-1 queued for datasource 'Orders'", "datasource result")


@case("request", covers="ticket_search__ticket_ids")
def ticket_search_hand_written_single_quoted_body():
    # Its body is embedded as a single-quoted literal (it contains `$$`); the wiring tests have
    # checked that the literal decodes to the file byte for byte.
    handler = Handler("ticket_search__ticket_ids")
    SERVER.answer(text_reply("found"), text_reply("price $$ hidden"))
    eq(handler.call("see TCK-1234, TCK-99 and TCK-56789", 5), ["TCK-1234"], "result")
    eq(len(handler.sent), 2, "requests")
    for index, ticket in enumerate(["TCK-1234", "TCK-56789"]):
        sent, _ = handler.exchange(index)
        eq(sent.url, f"https://search.helpdesk.example.net:8443/tickets?id={ticket}&api_key=key-Q1w2e3", "URL")
    eq(handler.aliases_read(), {"api_key"}, "aliases read")


# --------------------------------------------------------------------------------------------
# Validation: refused before any secret is read or any request is sent


def refused(handler, args, *words):
    error = handler.fails(ValueError, *args)
    for word in words:
        expect(word in str(error), f"message {str(error)!r} does not mention {word!r}")
    handler.nothing_sent()
    eq(handler.reads, [], "secret reads before refusing")
    return error


@case("validation")
def host_outside_egress_is_refused():
    for host in [
        "evil.example.com",
        "eu1.api.matillion.com.evil.example.com",
        "eu1.api.matillion.com:8443",
        "eu1.api.matillion.com@evil.example.com",
        "evil.example.com/eu1.api.matillion.com",
        "evil.example.com#eu1.api.matillion.com",
        "evil.example.com?eu1.api.matillion.com",
        "eu1.api.matillion.com\n",
        "éu1.api.matillion.com",
    ]:
        SERVER.reset()
        handler = Handler("matillion_dpc__trigger_pipeline")
        refused(handler, ("p", "n", "e", host), "`connection_string`", "egress")


@case("validation")
def hosts_in_egress_are_accepted():
    for host, expected in [
        ("us1.api.matillion.com", "us1.api.matillion.com"),
        ("US1.API.Matillion.com", "us1.api.matillion.com"),
        ("eu1.api.matillion.com:443", "eu1.api.matillion.com"),
    ]:
        SERVER.reset()
        handler = Handler("matillion_dpc__trigger_pipeline")
        handler.call("p", "n", "e", host)
        sent, _ = handler.only_exchange()
        parts = urllib.parse.urlsplit(sent.url)
        eq((parts.hostname, parts.port or 443), (expected, 443), f"host and port for {host!r}")
        eq(parts.path, "/v1/projects/p/pipeline-executions", f"path for {host!r}")


@case("validation")
def wildcard_host_parameter_stays_within_one_label():
    for tenant in ["a.b", "evil.example.com#", "evil.example.com/", "acme:8443", "ac me", "x@evil.example.com"]:
        SERVER.reset()
        handler = Handler("hs_public__search")
        refused(handler, (tenant, "t", "json", 1, False, None), "`tenant`")


@case("validation")
def value_outside_in_list_is_refused():
    refused(Handler("hs_public__search"), ("acme", "t", "xml", 1, False, None), "`fmt`", "'xml'")
    refused(Handler("hs_tickets__open_ticket"), ("title", "urgent", 1, False), "`priority`", "'urgent'")


@case("validation")
def missing_required_parameter_is_refused():
    refused(Handler("matillion_dpc__trigger_pipeline"), (None, "n", "e", "eu1.api.matillion.com"), "`project_id`", "required")
    refused(Handler("weather__current_conditions"), (None, "metric"), "`city`", "required")
    refused(Handler("google_sheets__read_range"), ("sheet", ""), "`cell_range`", "required")
    refused(Handler("hs_public__search"), (None, "t", "json", 1, False, None), "`tenant`")
    refused(Handler("hs_tickets__open_ticket"), (None, "low", 1, False), "`title`")


@case("validation")
def header_value_with_line_break_is_refused():
    handler = Handler("hs_inventory__set_stock")
    handler.fails(ValueError, "sku", 1, "req-1\r\nX-Injected: yes")
    handler.nothing_sent()


@case("validation")
def dot_segments_stay_in_their_path_segment():
    # `_path` encodes `/`, so a value cannot add segments; `.` and `..` must not remove one
    # either (requests removes dot segments, so `/items/../stock` becomes `/stock`).
    for value in ["..", "."]:
        SERVER.reset()
        handler = Handler("hs_inventory__set_stock")
        try:
            handler.call(value, 1, None)
        except ValueError as error:
            expect("`sku`" in str(error), f"message {str(error)!r} does not name `sku`")
            handler.nothing_sent()
            continue
        sent, _ = handler.only_exchange()
        segments = remove_dot_segments(urllib.parse.urlsplit(sent.url).path).split("/")
        expect(len(segments) == 4 and segments[1] == "items" and segments[3] == "stock",
               f"sku={value!r} was sent to {sent.url}, outside /items/{{sku}}/stock")


def remove_dot_segments(path):
    """The path a server sees after resolving `.` and `..` (RFC 3986, 5.2.4)."""
    out = []
    for segment in path.split("/")[1:]:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    return "/" + "/".join(out) + ("/" if path.endswith(("/.", "/..")) else "")


# --------------------------------------------------------------------------------------------
# Trouble: retries, errors, timeouts, odd answers


@case("trouble")
def status_429_retries_honour_retry_after_within_the_deadline():
    # 429 may be retried for any method, POST included: the server did not act on it.
    handler = Handler("echo_service__echo")
    SERVER.answer(
        text_reply("slow down", 429, [("Retry-After", "7")]),
        text_reply("slow down", 429, [("Retry-After", "3")]),
        text_reply("slow down", 429, [("Retry-After", "soon")]),
        text_reply("slow down", 429, [("Retry-After", "1")]),
    )
    error = handler.fails(handler.module.ApiError, "hi")
    eq(error.status, 429, "ApiError.status")
    expect("429" in str(error), f"message {str(error)!r} lacks the status")
    eq(len(handler.sent), handler.module.MAX_RETRIES + 1, "attempts")
    eq(len(SERVER.received), 4, "requests received")
    eq(handler.sleeps, [7.0, 3.0, 4.0], "delays (Retry-After 7 and 3, unparseable -> backoff)")
    for index in range(4):
        _, received = handler.exchange(index)
        eq(received.json(), {"data": [[0, "hi"]]}, f"body of attempt {index + 1}")


@case("trouble")
def retry_after_beyond_the_deadline_stops_at_once():
    # Before: a Retry-After of a day was slept through in 30 s pieces.
    for wait in ["86400", "31"]:
        SERVER.reset()
        handler = Handler("google_sheets__read_range")
        SERVER.answer(text_reply("come back tomorrow", 429, [("Retry-After", wait)]))
        error = handler.fails(handler.module.ApiError, "s", "A1")
        eq(error.status, 429, f"ApiError.status (Retry-After {wait})")
        eq(handler.sleeps, [], f"delays (Retry-After {wait}, timeout 30)")
        handler.only_exchange()


@case("trouble")
def retry_after_in_other_digits_falls_back_to_backoff():
    # Before: `Retry-After: ²` passed str.isdigit() and float() raised a raw ValueError.
    handler = Handler("google_sheets__read_range")
    SERVER.answer(text_reply("busy", 503, [("Retry-After", "²")]), json_reply({"values": []}))
    eq(handler.call("s", "A1"), {"values": []}, "result")
    eq(handler.sleeps, [1.0], "delays")


@case("trouble")
def status_503_with_retry_after_then_success():
    handler = Handler("google_sheets__read_range")
    SERVER.answer(text_reply("maintenance", 503, [("Retry-After", "2")]), json_reply({"values": [["1"]]}))
    eq(handler.call("s", "A1"), {"values": [["1"]]}, "result after a retry")
    eq(handler.sleeps, [2.0], "delays")
    eq(len(SERVER.received), 2, "requests received")


@case("trouble")
def retry_after_as_http_date():
    handler = Handler("google_sheets__read_range")
    when = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=20)
    past = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=20)
    SERVER.answer(
        text_reply("busy", 503, [("Retry-After", email.utils.format_datetime(when, usegmt=True))]),
        text_reply("busy", 503, [("Retry-After", email.utils.format_datetime(past, usegmt=True))]),
        json_reply({"values": []}),
    )
    eq(handler.call("s", "A1"), {"values": []}, "result")
    eq(len(handler.sleeps), 2, "retries")
    expect(17.0 < handler.sleeps[0] <= 20.0, f"delay {handler.sleeps[0]} for a date 20 s ahead")
    eq(handler.sleeps[1], 0.0, "delay for a date in the past")


@case("trouble")
def server_errors_back_off_exponentially_then_raise():
    handler = Handler("weather__current_conditions")
    SERVER.answer(text_reply("e", 500), text_reply("e", 502), text_reply("e", 504), text_reply("boom", 500))
    error = handler.fails(handler.module.ApiError, "Oslo", "metric")
    eq(error.status, 500, "ApiError.status")
    eq(handler.sleeps, [1.0, 2.0, 4.0], "delays")
    eq(len(SERVER.received), 4, "requests received")


@case("trouble")
def post_that_may_have_arrived_is_not_sent_again():
    # Before: one trigger_pipeline call started the same pipeline 4 times.
    args = ("p1", "n", "e", "eu1.api.matillion.com")
    for what, reply in [
        ("HTTP 500", text_reply("e", 500)),
        ("HTTP 502", text_reply("e", 502)),
        ("HTTP 504", text_reply("e", 504)),
        ("an answer cut off", Reply(200, '{"pipelineExecutionId": ', [("Content-Type", "application/json")], truncate=True)),
        ("no answer in time", Reply(200, "{}", delay=1.0)),
    ]:
        SERVER.reset()
        handler = Handler("matillion_dpc__trigger_pipeline")
        handler.module.TIMEOUT_SECONDS = 0.5
        SERVER.answer(*[reply] * 4)
        handler.fails(handler.module.ApiError, *args)
        eq(len(SERVER.received), 1, f"POSTs received after {what}")
        eq(handler.sleeps, [], f"delays after {what}")


@case("trouble")
def post_declared_idempotent_is_retried():
    handler = Handler("hs_values__put_record")
    SERVER.answer(text_reply("e", 502), Reply(200, "{}", [("Content-Type", "application/json")], truncate=True), json_reply({"ok": 1}))
    eq(handler.call(*VALUES_ARGS), {"ok": 1}, "result")
    eq(len(SERVER.received), 3, "POSTs received (idempotent = true)")
    eq(SERVER.received[0].body, SERVER.received[2].body, "the retry sends the same body")


@case("trouble")
def post_is_retried_after_429_and_refused_connections():
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(text_reply("later", 429), json_reply({"id": 3}))
    eq(handler.call("t", "low", 1, False), {"id": 3}, "result after a 429")
    eq(len(SERVER.received), 2, "POSTs received")
    handler = Handler("hs_tickets__open_ticket", port=closed_port())
    result = handler.call("t", "low", 1, False)
    eq(len(handler.sent), 3, "attempts to connect (retries = 2)")
    expect("cannot connect" in result["error"], f"error {result['error']!r}")


@case("trouble")
def status_404_is_not_retried():
    handler = Handler("matillion_dpc__trigger_pipeline")
    SERVER.answer(text_reply("Project   not found\n\tcheck the id", 404))
    error = handler.fails(handler.module.ApiError, "p1", "n", "e", "eu1.api.matillion.com")
    eq(error.status, 404, "ApiError.status")
    expect("404" in str(error), f"message {str(error)!r} lacks the status")
    expect("Project not found check the id" in str(error), f"message {str(error)!r} lacks the body excerpt")
    handler.only_exchange()
    eq(handler.sleeps, [], "delays")


@case("trouble")
def long_error_body_is_cut_and_secrets_stay_out_of_messages():
    handler = Handler("hs_geo__geocode")
    SERVER.answer(text_reply("x" * 1000, 400))
    error = handler.fails(handler.module.ApiError, "somewhere", None)
    eq(error.status, 400, "ApiError.status")
    expect("x" * 300 + "..." in str(error), "excerpt is not the first 300 characters plus ...")
    expect("x" * 301 not in str(error), "excerpt is longer than 300 characters")
    expect("key-Q1w2e3" not in str(error), f"the api key is in the message: {str(error)!r}")
    handler.only_exchange()


@case("trouble")
def error_excerpt_masks_a_secret_the_api_echoes():
    handler = Handler("hs_tickets__close_ticket")
    SERVER.answer(text_reply("invalid token tok-Abc123 for T-1", 401))
    error = handler.fails(handler.module.ApiError, "T-1")
    expect("tok-Abc123" not in str(error), f"the token is in the message: {str(error)!r}")
    expect("invalid token *** for T-1" in str(error), f"message {str(error)!r}")
    handler = Handler("weather__current_conditions")
    pair = base64.b64encode("svc_snowflake:pässwörd:42".encode("utf-8")).decode("ascii")
    SERVER.answer(text_reply(f"bad credentials {pair} / pässwörd:42", 403))
    error = handler.fails(handler.module.ApiError, "Oslo", "metric")
    expect(pair not in str(error) and "pässwörd" not in str(error), f"a credential is in the message: {str(error)!r}")


@case("trouble")
def secret_with_surrounding_whitespace_is_refused_by_alias():
    # Before: requests' InvalidHeader quoted the whole value ('Bearer s3cr3t-TOKEN\n').
    for value in ["s3cr3t-TOKEN\n", " s3cr3t-TOKEN", "s3cr3t\r\nX-Injected: 1", ""]:
        SERVER.reset()
        handler = Handler("hs_tickets__close_ticket")
        handler.secrets["token"] = ("GENERIC_STRING", value)
        error = handler.fails(handler.module.ApiError, "T-1")
        expect("`token`" in str(error), f"message {str(error)!r} does not name the secret")
        expect(not value.strip() or value.strip() not in str(error), f"the value is in the message: {str(error)!r}")
        handler.nothing_sent()
    handler = Handler("hs_tickets__open_ticket")
    handler.secrets["signing_key"] = ("GENERIC_STRING", "sign-K3y\n")
    result = handler.call("t", "low", 1, False)
    eq((result.get("ok"), result.get("status")), (False, None), "on_error = return")
    expect("`signing_key`" in result["error"] and "sign-K3y" not in result["error"], f"error {result['error']!r}")
    handler.nothing_sent()


@case("trouble")
def connection_refused_is_retried_then_raised():
    handler = Handler("hs_inventory__set_stock", port=closed_port())
    error = handler.fails(handler.module.ApiError, "sku", 1, None)
    eq(error.status, None, "ApiError.status")
    expect("cannot connect" in str(error), f"message {str(error)!r} does not say what failed")
    expect("4 attempt(s)" in str(error), f"message {str(error)!r} does not count attempts")
    expect("key-Q1w2e3" not in str(error), "the api key is in the message")
    eq(len(handler.sent), 4, "attempts")
    eq(handler.sleeps, [1.0, 2.0, 4.0], "delays")


@case("trouble")
def connection_refused_with_query_key_keeps_key_out_of_message():
    handler = Handler("hs_geo__geocode", port=closed_port())
    error = handler.fails(handler.module.ApiError, "somewhere", 1)
    expect("key-Q1w2e3" not in str(error), f"the api key is in the message: {str(error)!r}")
    expect(error.__cause__ is None and error.__suppress_context__, "the requests exception (which quotes the URL) is chained")


@case("trouble")
def read_timeout_is_retried_within_one_deadline():
    handler = Handler("hs_public__search")
    handler.module.TIMEOUT_SECONDS = 0.6
    SERVER.answer(*[Reply(200, "{}", delay=0.25) for _ in range(3)])
    result = handler.call("acme", "t", "json", 1, False, None)
    eq(result, {}, "result")
    handler = Handler("hs_public__search")
    handler.module.TIMEOUT_SECONDS = 0.3
    SERVER.reset()
    SERVER.answer(*[Reply(200, "{}", delay=1.0) for _ in range(3)])
    started = time.monotonic()
    error = handler.fails(handler.module.ApiError, "acme", "t", "json", 1, False, None)
    elapsed = time.monotonic() - started
    eq(error.status, None, "ApiError.status")
    expect("timed out" in str(error), f"message {str(error)!r} does not name the timeout")
    expect(elapsed < 0.6, f"a 0.3 s deadline took {elapsed:.2f} s")


@case("trouble")
def trickling_answer_is_bounded_by_the_deadline():
    # Before: one byte every 0.6 s kept a `timeout = 1` attempt alive for 4.8 s, since the
    # timeout bounded each socket read, not the call.
    handler = Handler("hs_public__search")
    handler.module.TIMEOUT_SECONDS = 1.0
    SERVER.answer(*[Reply(200, '{"results": []}' + " " * 40, [("Content-Type", "application/json")], trickle=0.2)] * 3)
    started = time.monotonic()
    error = handler.fails(handler.module.ApiError, "acme", "t", "json", 1, False, None)
    elapsed = time.monotonic() - started
    expect("timed out" in str(error), f"message {str(error)!r}")
    expect(elapsed < 1.5, f"a 1 s deadline took {elapsed:.2f} s against a trickling answer")


@case("trouble")
def non_json_answer_of_variant_returns_text():
    handler = Handler("echo_service__echo")
    SERVER.answer(text_reply("pong, not JSON"))
    eq(handler.call("ping"), "pong, not JSON", "result")


@case("trouble")
def answer_that_claims_json_but_is_not_is_an_error():
    # Before: a proxy's HTML page (or a cut-off body) under a JSON content type was returned.
    handler = Handler("echo_service__echo")
    SERVER.answer(Reply(200, "<html>proxy login</html>", [("Content-Type", "application/json; charset=utf-8")]))
    error = handler.fails(handler.module.ApiError, "ping")
    expect("invalid JSON" in str(error) and "proxy login" in str(error), f"message {str(error)!r}")
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(Reply(201, "{oops", [("Content-Type", "application/problem+json")]))
    result = handler.call("t", "low", 1, False)
    eq((result.get("ok"), result.get("status")), (False, 201), "on_error = return")


@case("trouble")
def answer_over_16_mib_is_refused():
    handler = Handler("google_sheets__read_range")
    SERVER.answer(Reply(200, "{}", [("Content-Type", "application/json")], length=str(17 * 1024 * 1024)))
    error = handler.fails(handler.module.ApiError, "s", "A1")
    expect("bytes" in str(error) and error.status == 200, f"message {str(error)!r}")
    handler = Handler("google_sheets__read_range")
    SERVER.answer(Reply(200, b"[" + b"0," * (8 * 1024 * 1024 + 10) + b"0]", [("Content-Type", "application/json")], length=False))
    error = handler.fails(handler.module.ApiError, "s", "A1")
    expect("longer than" in str(error), f"message {str(error)!r}")


@case("trouble")
def compressed_answers_are_read_and_invalid_ones_reported():
    handler = Handler("google_sheets__read_range")
    packed = gzip.compress(json.dumps({"values": [["é"]]}).encode("utf-8"))
    SERVER.answer(Reply(200, packed, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")]))
    eq(handler.call("s", "A1"), {"values": [["é"]]}, "gzip answer")
    _, received = handler.only_exchange()
    eq(received.header("Accept-Encoding"), "gzip, deflate", "Accept-Encoding")
    # Before: invalid gzip escaped as a raw requests ContentDecodingError.
    for encoding, body in [("gzip", b"not gzip at all"), ("br", b"\x1b\x00")]:
        SERVER.reset()
        handler = Handler("google_sheets__read_range")
        SERVER.answer(Reply(200, body, [("Content-Type", "application/json"), ("Content-Encoding", encoding)]))
        handler.fails(handler.module.ApiError, "s", "A1")
        handler.only_exchange()


@case("trouble")
def malformed_answers_become_api_errors():
    for raw in [b"NOT HTTP AT ALL\r\n\r\n", b"HTTP/1.1 abc OK\r\n\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n{}", b""]:
        SERVER.reset()
        handler = Handler("google_sheets__read_range")
        SERVER.answer(*[Reply(raw=raw)] * 4)
        try:
            handler.call("s", "A1")
        except handler.module.ApiError:
            pass
        except Exception as error:  # noqa: BLE001
            raise Failure(f"answer {raw!r} escaped as {type(error).__module__}.{type(error).__name__}: {error}")


@case("trouble")
def empty_204_returns_none():
    handler = Handler("google_sheets__read_range")
    SERVER.answer(Reply(204))
    eq(handler.call("s", "A1"), None, "result of variant")
    handler = Handler("hs_tickets__close_ticket")
    SERVER.answer(Reply(204))
    eq(handler.call("T-1"), "", "result of varchar")


@case("trouble")
def cookies_are_not_kept_between_calls():
    # Before: the module-level Session sent one caller's cookie with the next call.
    handler = Handler("hs_tickets__close_ticket")
    SERVER.answer(Reply(200, "closed", [("Set-Cookie", "session=caller-one; Path=/")]), text_reply("closed"))
    handler.call("T-1")
    handler.call("T-2")
    eq(len(SERVER.received), 2, "requests")
    eq(SERVER.received[1].header("Cookie"), None, "Cookie of the second call")
    eq(len(handler.module._session.cookies), 0, "cookies kept by the session")


@case("trouble")
def debug_logging_does_not_record_secrets():
    # Before: urllib3 logged the request line, api key in the query string included, at DEBUG;
    # Snowflake stores library log records in the event table.
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record.getMessage())

    root = logging.getLogger()
    keep = Keep(level=logging.DEBUG)
    old_level = root.level
    root.addHandler(keep)
    root.setLevel(logging.DEBUG)
    try:
        handler = Handler("hs_geo__geocode")
        handler.call("somewhere", 2)
        handler.only_exchange()
    finally:
        root.removeHandler(keep)
        root.setLevel(old_level)
    leaked = [record for record in records if "key-Q1w2e3" in record]
    expect(not leaked, f"log records hold the api key: {leaked}")


@case("trouble")
def values_are_sent_as_text_the_api_can_read():
    # Before: ARRAY/OBJECT/BINARY went out as Python repr (`['a', 'b']`, `b'\\x00'`).
    handler = Handler("hs_values__put_record")
    handler.call(*VALUES_ARGS)
    sent, received = handler.only_exchange()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(sent.url).query)
    eq(
        {key: values[0] for key, values in query.items()},
        {"tags": '["a","b \\u00e9"]', "meta": '{"k":1,"nested":[true,null]}', "blob": "00ff10", "flag": "true", "day": "2026-01-02"},
        "query values",
    )
    eq(received.header("X-Tags"), '["a","b \\u00e9"]', "header from an ARRAY")
    eq(received.header("X-Note"), "day 2026-01-02 of r/1", "header template")
    expect(b'"amount":12345678901234567890.0123456789' in received.body, f"Decimal digits in {received.body!r}")
    eq(received.json()["meta"], {"k": 1, "nested": [True, None]}, "OBJECT in the body")


@case("trouble")
def bad_arguments_are_refused_by_name_before_sending():
    # Before: NaN went out as invalid JSON; a non-Latin-1 header value, a CR/LF in one and a
    # port in other digits escaped as raw exceptions.
    base = list(VALUES_ARGS)
    for index, value, word in [
        (7, float("nan"), "`ratio`"),
        (7, float("inf"), "`ratio`"),
        (6, decimal.Decimal("NaN"), "`amount`"),
        (2, {"k": float("nan")}, "`meta`"),
        (1, ["a", float("-inf")], "`tags`"),
        (0, "日本", "`record_id`"),
        (0, "r\r\nX-Injected: 1", "`record_id`"),
    ]:
        SERVER.reset()
        args = list(base)
        args[index] = value
        refused(Handler("hs_values__put_record"), tuple(args), word)
    for tenant in ["acme:８４４３", "acme:²"]:
        SERVER.reset()
        refused(Handler("hs_public__search"), (tenant, "t", "json", 1, False, None), "`tenant`")


@case("trouble")
def handler_without_retries_sends_once():
    handler = Handler("hs_values__ping")
    SERVER.answer(text_reply("e", 503))
    handler.fails(handler.module.ApiError)
    handler.only_exchange()
    expect(not hasattr(handler.module, "_retry_delay"), "a handler with retries = 0 carries _retry_delay")


@case("trouble")
def on_error_return_gives_a_dict_for_http_errors():
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(json_reply({"error": "no such queue"}, 404))
    result = handler.call("t", "low", 1, False)
    expect(isinstance(result, dict), f"result {result!r} is not a dict")
    eq((result.get("ok"), result.get("status")), (False, 404), "ok and status")
    expect("404" in result["error"] and "no such queue" in result["error"], f"error {result['error']!r}")
    handler.only_exchange()


@case("trouble")
def on_error_return_after_retries():
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(*[text_reply("later", 429) for _ in range(3)])
    result = handler.call("t", "low", 1, False)
    eq((result.get("ok"), result.get("status")), (False, 429), "ok and status")
    eq(len(SERVER.received), 3, "requests (retries = 2)")
    eq(handler.sleeps, [1.0, 2.0], "delays")


@case("trouble")
def on_error_return_when_unreachable():
    handler = Handler("hs_tickets__open_ticket", port=closed_port())
    result = handler.call("t", "low", 1, False)
    eq((result.get("ok"), result.get("status")), (False, None), "ok and status")
    expect("cannot connect" in result["error"], f"error {result['error']!r}")
    eq(len(handler.sent), 3, "attempts")


@case("trouble")
def on_error_return_still_refuses_bad_parameters():
    refused(Handler("hs_tickets__open_ticket"), ("t", "urgent", 1, False), "`priority`")


@case("trouble")
def answer_cut_off_mid_body_raises_api_error():
    # A connection dropped in the middle of the answer must surface as ApiError (and so as a
    # dict under on_error = return), never as success: with urllib3 1.26, requests returned the
    # cut-off body ('{"id": ') as the result.
    handler = Handler("echo_service__echo")
    SERVER.answer(*[Reply(200, '{"data": [[0, ', [("Content-Type", "application/json")], truncate=True) for _ in range(4)])
    try:
        handler.call("hi")
    except handler.module.ApiError as error:
        eq(error.status, None, "ApiError.status")
        expect("cut off" in str(error), f"message {str(error)!r}")
    except Exception as error:  # noqa: BLE001
        raise Failure(f"a truncated answer escaped as {type(error).__module__}.{type(error).__name__}: {error}")
    else:
        raise Failure("a truncated answer was accepted")


@case("trouble")
def answer_cut_off_mid_body_under_on_error_return():
    handler = Handler("hs_tickets__open_ticket")
    SERVER.answer(*[Reply(200, '{"id": ', [("Content-Type", "application/json")], truncate=True) for _ in range(3)])
    try:
        result = handler.call("t", "low", 1, False)
    except Exception as error:  # noqa: BLE001
        raise Failure(f"on_error = return, but {type(error).__module__}.{type(error).__name__} was raised: {error}")
    expect(isinstance(result, dict) and result.get("ok") is False, f"result {result!r}")


@case("trouble")
def redirect_to_another_host_is_not_followed():
    # A 3xx answer must not make the handler call a host it did not check against EGRESS:
    # requests follows redirects by default, keeps custom auth headers such as X-API-Key, and
    # re-sends the body (with secrets in it) on 307/308.
    for stem, args in [
        ("hs_inventory__set_stock", ("sku", 1, None)),
        ("immuta__register_snowflake_connection", ("k", "h", "w", "r")),
    ]:
        SERVER.reset()
        handler = Handler(stem)
        SERVER.answer(Reply(307, "", [("Location", "https://attacker.example.net/collect")]), json_reply({"stolen": True}))
        try:
            handler.call(*args)
        except Exception:  # noqa: BLE001 - refusing the redirect by raising is fine
            pass
        first = handler.sent[0].netloc
        for sent in handler.sent[1:]:
            expect(sent.netloc == first, f"{stem} followed a redirect to {sent.url}, sending headers "
                   f"{sorted(sent.headers)} and body {sent.body!r}")


# The arguments of hs_values.put_record: record_id, tags, meta, blob, flag, day, amount, ratio.
VALUES_ARGS = (
    "r/1",
    ["a", "b é"],
    {"k": 1, "nested": [True, None]},
    b"\x00\xff\x10",
    True,
    datetime.date(2026, 1, 2),
    decimal.Decimal("12345678901234567890.0123456789"),
    None,
)


@case("request", covers="hs_values__put_record")
def values_put_record_posts_to_its_path():
    handler = Handler("hs_values__put_record")
    SERVER.answer(json_reply({"stored": True}))
    eq(handler.call(*VALUES_ARGS), {"stored": True}, "result")
    sent, _ = handler.only_exchange()
    eq(sent.method, "POST", "method")
    eq(urllib.parse.urlsplit(sent.url).path, "/records/r%2F1", "path")


@case("request", covers="hs_values__ping")
def values_ping_is_a_function_without_arguments():
    handler = Handler("hs_values__ping")
    SERVER.answer(text_reply("pong"))
    eq(handler.call(), "pong", "result")
    sent, _ = handler.only_exchange()
    eq(sent.url, "https://values.example.com/ping", "URL")


@case("wiring")
def every_helper_a_generated_handler_defines_it_uses():
    for stem in ACTIONS:
        if not is_generated(stem):
            continue
        with open(os.path.join(HANDLERS_DIR, stem + ".py"), encoding="utf-8") as f:
            text = f.read()
        for name in re.findall(r"^(?:def|class) (_\w+)", text, re.M):
            uses = len(re.findall(rf"\b{name}\b", text)) - 1
            expect(uses > 0, f"{stem}.py defines {name} but never uses it")


# --------------------------------------------------------------------------------------------


def main(argv):
    global SERVER, HANDLERS_DIR
    if len(argv) != 2 or not os.path.isdir(argv[1]):
        print(f"usage: {argv[0]} OUT/handlers", file=sys.stderr)
        return 2
    faulthandler.dump_traceback_later(RUN_LIMIT_SECONDS, exit=True)
    started = time.monotonic()
    HANDLERS_DIR = os.path.abspath(argv[1])
    try:
        ACTIONS.update(map_handlers(HANDLERS_DIR, parse_sql(os.path.dirname(HANDLERS_DIR))))
    except (Failure, OSError) as error:
        print(f"FAIL  cannot read the generated SQL: {error}")
        print("0 passed, 1 failed")
        return 1
    install_network_guard()
    SERVER = MockServer()
    try:
        passed, failed = run()
    finally:
        SERVER.close()
    print(f"({time.monotonic() - started:.1f}s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
