"""Stand-in for `tableauserverclient`, for the behaviour test of the hand-written Tableau handler.

It never touches the network. `ITEMS` holds the workbooks and data sources the fake server
lists; `calls` records sign-in, sign-out and refresh calls in order. `reset()` restores both.
"""

calls = []
ITEMS = {"workbook": [], "datasource": []}


class Item:
    """A workbook or data source as the server lists it."""

    def __init__(self, id, name, project_name):
        self.id = id
        self.name = name
        self.project_name = project_name


class JobItem:
    def __init__(self, id):
        self.id = id


def reset(workbooks=(), datasources=()):
    del calls[:]
    ITEMS["workbook"] = list(workbooks)
    ITEMS["datasource"] = list(datasources)


class PersonalAccessTokenAuth:
    def __init__(self, token_name, personal_access_token, site_id=None):
        self.token_name = token_name
        self.personal_access_token = personal_access_token
        self.site_id = site_id


class _SignedIn:
    def __init__(self, server):
        self._server = server

    def __enter__(self):
        return self._server

    def __exit__(self, *exc):
        calls.append(("sign_out",))
        return False


class _Auth:
    def __init__(self, server):
        self._server = server

    def sign_in(self, auth):
        calls.append(("sign_in", self._server.server_address, auth.token_name, auth.personal_access_token, auth.site_id))
        return _SignedIn(self._server)


class _Endpoint:
    def __init__(self, kind):
        self.kind = kind

    def refresh(self, item_id):
        calls.append(("refresh", self.kind, item_id))
        return JobItem(f"job-{item_id}")


class Server:
    def __init__(self, server_address, use_server_version=False):
        calls.append(("server", server_address, use_server_version))
        self.server_address = server_address
        self.auth = _Auth(self)
        self.workbooks = _Endpoint("workbook")
        self.datasources = _Endpoint("datasource")


def Pager(endpoint):
    return iter(list(ITEMS[endpoint.kind]))
