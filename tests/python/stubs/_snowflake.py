"""Stand-in for Snowflake's `_snowflake` module, for the behaviour tests of generated handlers.

Inside Snowflake a handler can read only the secrets attached to its procedure or function by
the `SECRETS = ('alias' = secret, ...)` clause, and each secret only through the accessor that
fits its type. This stand-in does the same: a test calls `configure()` with the attached
secrets (alias -> (TYPE, value)); reading any other alias, or reading a secret through the
wrong accessor, raises `SecretError`. Every read is recorded in `reads` as (accessor, alias).
"""

# (accessor, alias) of every read since the last `configure()`, in order.
reads = []

_secrets = {}

# The secret TYPE each accessor reads (as written in CREATE SECRET ... TYPE = ...).
_ACCESSOR_TYPES = {
    "get_generic_secret_string": "GENERIC_STRING",
    "get_username_password": "PASSWORD",
    "get_oauth_access_token": "OAUTH2",
    "get_cloud_provider_token": "CLOUD_PROVIDER_TOKEN",
}


class SecretError(Exception):
    """The alias is not attached, or the secret has another type."""


class UsernamePassword:
    """What `get_username_password` returns."""

    def __init__(self, username, password):
        self.username = username
        self.password = password


class CloudProviderToken:
    """What `get_cloud_provider_token` returns."""

    def __init__(self, access_key_id, secret_access_key, token):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.token = token


def configure(secrets):
    """Attaches `secrets` (alias -> (TYPE, value)) and forgets earlier reads.

    The value is a string for GENERIC_STRING and OAUTH2 (the access token), a
    (username, password) pair for PASSWORD, and an (id, key, token) triple for
    CLOUD_PROVIDER_TOKEN.
    """
    _secrets.clear()
    _secrets.update(secrets)
    del reads[:]


def aliases_read():
    """The aliases read since the last `configure()`."""
    return {alias for _, alias in reads}


def _read(accessor, alias):
    reads.append((accessor, alias))
    if alias not in _secrets:
        attached = ", ".join(sorted(_secrets)) or "none"
        raise SecretError(f"{accessor}: secret alias {alias!r} is not attached (attached: {attached})")
    kind, value = _secrets[alias]
    if kind != _ACCESSOR_TYPES[accessor]:
        raise SecretError(f"{accessor}: secret {alias!r} has TYPE = {kind}")
    return value


def get_generic_secret_string(alias):
    return _read("get_generic_secret_string", alias)


def get_username_password(alias):
    username, password = _read("get_username_password", alias)
    return UsernamePassword(username, password)


def get_oauth_access_token(alias):
    return _read("get_oauth_access_token", alias)


def get_cloud_provider_token(alias):
    return CloudProviderToken(*_read("get_cloud_provider_token", alias))
