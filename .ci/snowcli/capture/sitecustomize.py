"""Run the real `snow sql` offline: record what it would send instead of sending it.

`.ci/snowcli/check.py` puts this directory on PYTHONPATH and sets EAXC_SNOWCLI_CAPTURE to a file
name; Python imports `sitecustomize` at start-up, before `snow` runs. Without the variable this
module does nothing.

Everything of `snow sql` runs as released (option parsing, reading the files or stdin, comment
removal, statement splitting, every templating mode, `!` commands, error reporting) except the
last step: `SqlManager._execute_compiled_statements`, which would send each compiled statement to
Snowflake, writes it to the capture file as one JSON line instead:

    {"event": "execute", "statement": "...", "execute_async": false, "command": null}

Two more kinds of line help check.py say which file a failure comes from (they only observe;
they change nothing):

    {"event": "file", "path": "..."}                       a file starts being read (`-f`)
    {"event": "parse", "source": "..."}                    templating of one statement starts
    {"event": "parsed", "type": "QUERY", "error": null, "statement": "..."}
                                                            one statement after templating

Nothing may reach the network: every way to open a connection (the connector, sockets, name
resolution) records {"event": "network", ...} and raises, so check.py fails loudly even if the
caller swallowed the exception.
"""

import json
import os
import sys

_CAPTURE = os.environ.get("EAXC_SNOWCLI_CAPTURE")


def _log(event, **fields):
    with open(_CAPTURE, "a", encoding="utf-8") as out:
        out.write(json.dumps({"event": event, **fields}, ensure_ascii=False) + "\n")


def _refuse(what):
    def refuse(*args, **kwargs):
        _log("network", what=what, args=repr(args)[:300])
        raise RuntimeError(f"eaxc snowcli capture: {what} attempted; this run must stay offline")

    return refuse


def _install():
    # The network guard first, so that nothing imported below can connect either.
    import socket

    socket.socket.connect = _refuse("socket.connect")
    socket.socket.connect_ex = _refuse("socket.connect_ex")
    socket.create_connection = _refuse("socket.create_connection")
    socket.getaddrinfo = _refuse("socket.getaddrinfo")
    socket.gethostbyname = _refuse("socket.gethostbyname")

    import snowflake.connector
    import snowflake.connector.connection

    snowflake.connector.connect = _refuse("snowflake.connector.connect")
    snowflake.connector.Connect = _refuse("snowflake.connector.Connect")
    snowflake.connector.connection.SnowflakeConnection.__init__ = _refuse("SnowflakeConnection()")
    snowflake.connector.connection.SnowflakeConnection.connect = _refuse(
        "SnowflakeConnection.connect"
    )

    from snowflake.cli._plugins.sql import manager

    def capture_execution(self, compiled_statements, cursor_class):
        # The released method is a generator that sends each statement; this one records them
        # all and yields no cursor, so `snow` prints no result and exits 0.
        for stmt in compiled_statements:
            _log(
                "execute",
                statement=stmt.statement,
                execute_async=bool(stmt.execute_async),
                command=None if stmt.command is None else repr(stmt.command),
            )
        return iter(())

    manager.SqlManager._execute_compiled_statements = capture_execution

    # Observers: which file is being read, and each statement as templating left it.
    # `manager` imported both functions by name, so its own references are the ones to wrap.
    original_files_reader = manager.files_reader
    original_compile_statements = manager.compile_statements

    def files_reader(paths, *args, **kwargs):
        for path in paths:
            _log("file", path=str(path.path if hasattr(path, "path") else path))
            yield from original_files_reader([path], *args, **kwargs)

    def observed(source):
        for parsed in source:
            text = parsed.statement.read()
            parsed.statement.seek(0)
            _log(
                "parsed",
                type=getattr(parsed.statement_type, "name", None),
                error=parsed.error,
                statement=text,
            )
            yield parsed

    def compile_statements(source):
        return original_compile_statements(observed(source))

    manager.files_reader = files_reader
    manager.compile_statements = compile_statements

    # statement_reader calls its own module-level parse_statement: wrap that name. A template
    # error that is not an UndefinedError escapes from it and aborts the run; the last "parse"
    # line then names the statement.
    from snowflake.cli._plugins.sql import statement_reader

    original_parse_statement = statement_reader.parse_statement

    def parse_statement(source, *args, **kwargs):
        _log("parse", source=source)
        return original_parse_statement(source, *args, **kwargs)

    statement_reader.parse_statement = parse_statement


if _CAPTURE:
    try:
        _install()
    except Exception as error:  # a broken patch must not let `snow` run for real
        print(f"eaxc snowcli capture: could not install the patch: {error!r}", file=sys.stderr)
        os._exit(97)
