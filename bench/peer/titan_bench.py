"""Peer benchmark: titan-core builds and renders the objects of the eaxc benchmark corpus.

For each corpus size it creates, in-process and with titan's own resource classes, the objects
`eaxc build` creates for the corpus of `examples/bench.rs` (same rotation of auth kinds and
actions): a network rule per api, an API authentication security integration for the OAuth
kinds, the secrets of each auth kind, an external access integration, a Python procedure and
function per api with the handler body eaxc generated (read from a build of the corpus, so both
tools carry the same bytes), and the grants. Then it renders every CREATE / GRANT statement
with `create_sql()` and prints one JSON object per size: object count, statement bytes and the
best of N wall times.

Usage: titan_bench.py HANDLERS_DIR RUNS N [N ...]
HANDLERS_DIR holds `handlers/*.py` from `eaxc build` of the largest corpus.
"""

import json
import sys
import time
from pathlib import Path

from titan.resources import (
    APIAuthenticationSecurityIntegration,
    ExternalAccessIntegration,
    GenericSecret,
    Grant,
    NetworkRule,
    OAuthSecret,
    PasswordSecret,
    PythonStoredProcedure,
    PythonUDF,
)

DB, SCHEMA, ROLE = "EXTERNAL_ACCESS", "INTEGRATIONS", "BENCH_ROLE"
PAT_HANDLER = (
    "import _snowflake\n\n\ndef main(session, resource_name):\n"
    '    name = _snowflake.get_generic_secret_string("pat_name")\n'
    '    value = _snowflake.get_generic_secret_string("pat_value")\n'
    '    return f"{name}:{len(value)}:{resource_name}"\n'
)


def env(name):
    return "<% ctx.env." + name + " %>"


def api_objects(index, handlers):
    """Every object eaxc creates for api `index` of the corpus, as titan resources."""
    name = f"bench_api_{index:05}"
    upper = name.upper()
    host = f"api{index}.bench.example.com"
    comment = f"Benchmark api {index}"
    scoped = {"database": DB, "schema": SCHEMA}
    objects = [
        NetworkRule(
            name=f"EGRESS__{upper}",
            type="HOST_PORT",
            mode="EGRESS",
            value_list=[host, f"*.bench{index}.example.org"],
            comment=f"{comment} (eaxc: egress of api {name})",
            **scoped,
        )
    ]
    kind = index % 8
    secrets = []
    integrations = []
    secret_comment = f"{comment} (eaxc: secret of api {name})"
    if kind in (1, 3, 4):
        variable = {1: "TOKEN", 3: "KEY", 4: "PAT"}[kind]
        secrets.append(
            GenericSecret(
                name=f"CREDS__{upper}",
                secret_string=env(f"{upper}_{variable}"),
                comment=secret_comment,
                **scoped,
            )
        )
    elif kind == 2:
        secrets.append(
            PasswordSecret(
                name=f"CREDS__{upper}",
                username="svc",
                password=env(f"{upper}_PASSWORD"),
                comment=secret_comment,
                **scoped,
            )
        )
    elif kind in (5, 6):
        integration = APIAuthenticationSecurityIntegration(
            name=f"OAUTH__{upper}",
            oauth_token_endpoint="https://login.bench.example.com/token",
            oauth_client_auth_method="CLIENT_SECRET_BASIC",
            oauth_client_id=env(f"{upper}_ID"),
            oauth_client_secret=env(f"{upper}_SECRET"),
            oauth_grant="CLIENT_CREDENTIALS" if kind == 5 else "AUTHORIZATION_CODE",
            oauth_allowed_scopes=["read", "write"] if kind == 5 else None,
            enabled=True,
            comment=f"{comment} (eaxc: OAuth of api {name})",
        )
        objects.append(integration)
        integrations.append(integration.name)
        if kind == 5:
            secret = OAuthSecret(
                name=f"CREDS__{upper}",
                api_authentication=str(integration.name),
                oauth_scopes=["read", "write"],
                comment=secret_comment,
                **scoped,
            )
        else:
            secret = OAuthSecret(
                name=f"CREDS__{upper}",
                api_authentication=str(integration.name),
                oauth_refresh_token=env(f"{upper}_REFRESH"),
                oauth_refresh_token_expiry_time="2030-01-01 00:00:00",
                comment=secret_comment,
                **scoped,
            )
        secrets.append(secret)
    elif kind == 7:
        secrets.append(
            GenericSecret(name=f"CREDS__{upper}", secret_string=env(f"{upper}_PAT"), comment=secret_comment, **scoped)
        )
        secrets.append(
            GenericSecret(name=f"CREDS__{upper}__PAT_NAME", secret_string="bench", comment=secret_comment, **scoped)
        )
    objects.extend(secrets)
    eai = ExternalAccessIntegration(
        name=f"EAI__{upper}",
        allowed_network_rules=[objects[0]],
        allowed_api_authentication_integrations=[str(i) for i in integrations] or None,
        allowed_authentication_secrets=[str(s.fqn) for s in secrets] or None,
        enabled=True,
        comment=f"{comment} (eaxc: external access of api {name})",
    )
    objects.append(eai)
    eais = [str(eai.name)]
    secret_map = {f"s{i}": str(s.fqn) for i, s in enumerate(secrets)} or None
    if kind == 7:
        procedure = PythonStoredProcedure(
            name=f"API__{upper}__REFRESH",
            args=[{"name": "resource_name", "data_type": "VARCHAR"}],
            returns="VARCHAR",
            runtime_version="3.11",
            packages=["snowflake-snowpark-python", "tableauserverclient"],
            handler="main",
            as_=PAT_HANDLER,
            copy_grants=True,
            execute_as="OWNER",
            external_access_integrations=eais,
            **scoped,
        )
        objects.append(procedure)
        return objects
    procedure = PythonStoredProcedure(
        name=f"API__{upper}__CREATE_ITEM",
        args=[
            {"name": "item_id", "data_type": "VARCHAR"},
            {"name": "kind", "data_type": "VARCHAR"},
            {"name": "region", "data_type": "VARCHAR", "default": f"'{host}'"},
        ],
        returns="VARIANT",
        runtime_version="3.11",
        packages=["snowflake-snowpark-python", "requests"],
        handler="main",
        as_=handlers[f"{name}__create_item"],
        comment=f"Create item {{item_id}} of api {index}",
        copy_grants=True,
        execute_as="OWNER",
        external_access_integrations=eais,
        **scoped,
    )
    function = PythonUDF(
        name=f"API__{upper}__LOOKUP",
        args=[{"name": "q", "data_type": "VARCHAR"}, {"name": "limit", "data_type": "NUMBER", "default": "10"}],
        returns="VARIANT",
        runtime_version="3.11",
        packages=["requests"],
        handler="main",
        as_=handlers[f"{name}__lookup"],
        copy_grants=True,
        external_access_integrations=eais,
        secrets=secret_map,
        **scoped,
    )
    objects.extend([procedure, function])
    objects.append(Grant(priv="USAGE", on_procedure=str(procedure.fqn), to=ROLE))
    return objects


def build(n, handlers):
    """Creates every object of an n-api corpus and renders its SQL; returns (objects, bytes)."""
    objects = [Grant(priv="USAGE", on_database=DB, to=ROLE), Grant(priv="USAGE", on_schema=f"{DB}.{SCHEMA}", to=ROLE)]
    for index in range(n):
        objects.extend(api_objects(index, handlers))
    statements = [obj.create_sql() for obj in objects]
    return len(objects), sum(len(s) for s in statements)


def main():
    handlers_dir, runs, sizes = Path(sys.argv[1]), int(sys.argv[2]), [int(a) for a in sys.argv[3:]]
    handlers = {p.stem: p.read_text() for p in (handlers_dir / "handlers").glob("*.py")}
    for n in sizes:
        best = float("inf")
        for _ in range(runs if n < 10_000 else 1):
            start = time.perf_counter()
            count, size = build(n, handlers)
            best = min(best, time.perf_counter() - start)
        print(json.dumps({"apis": n, "objects": count, "sql_bytes": size, "titan_ms": round(best * 1000, 3)}), flush=True)


if __name__ == "__main__":
    main()
