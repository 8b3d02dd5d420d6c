# A hand-written handler full of text that the Snowflake CLI's templating acts on:
# `&word`, `&{x}`, `a && b`, `{# not a Jinja comment`, `<% not a template %>`, `{{ x }}`, `{% if %}`.
# Non-ASCII text: é 日本 😀. A price in dollars: $$ (two dollar signs).
import re

import _snowflake
import requests

DIGITS = re.compile(r"\d+")
QUOTES = 'it\'s "quoted" \\ backslash'
QUERY = "?page=1&limit=100"
URL = "https://hand.snowcli.example.com/items" + QUERY
MARKER = "{#"
TEMPLATE = "<% ctx.env.HOME %>"
DOLLARS = "$$"


def main(session, pattern, limit):
    flags = int(limit)
    token = _snowflake.get_generic_secret_string("pat_value")
    name = _snowflake.get_generic_secret_string("pat_name")
    extra = _snowflake.get_generic_secret_string("extra")
    a = flags & 1
    b = bool(flags)
    both = a and b  # in SQL-ish text: a && b
    label = f"{{literal}} {flags} &{{x}}"
    matches = re.findall(pattern or DIGITS.pattern, URL)
    answer = requests.get(
        URL,
        headers={"Authorization": "Bearer " + token, "X-Name": name, "X-Extra": extra},
        timeout=10,
    )
    return {
        "both": both,
        "label": label,
        "matches": matches,
        "marker": MARKER,
        "template": TEMPLATE,
        "dollars": DOLLARS,
        "quotes": QUOTES,
        "status": answer.status_code,
    }
# The file ends with a dollar sign and no newline: $