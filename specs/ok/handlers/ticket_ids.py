# Extract ticket ids such as "TCK-1234" from free text, then look each one up.
# The price marker "$$" and the regex below would break a $$-quoted body.
import re

import _snowflake
import requests

PATTERN = re.compile(r"\bTCK-(\d{3,6})\b")
PRICE_MARKER = "$$"
_session = requests.Session()


def main(body_text, max_results):
    key = _snowflake.get_generic_secret_string("api_key")
    ids = [f"TCK-{number}" for number in PATTERN.findall(body_text or "")][: int(max_results)]
    found = []
    for ticket in ids:
        answer = _session.get(
            "https://search.helpdesk.example.net:8443/tickets",
            params={"id": ticket, "api_key": key},
            timeout=10,
        )
        if answer.ok and PRICE_MARKER not in answer.text:
            found.append(ticket)
    return found
