# Refresh a Tableau workbook or data source extract, signing in with a personal access token.
# Embedded by eaxc into the procedure tableau.refresh_resource; the PAT pair is attached as the
# secrets `pat_name` and `pat_value` by `auth pat` in tableau.eax.
import _snowflake
import tableauserverclient as tsc


def _find(items, name, project_name):
    for item in items:
        if item.name == name and item.project_name == project_name:
            return item
    raise ValueError(f"no {name!r} in project {project_name!r}")


def main(session, resource_type, resource_name, project_name, site_id, connection_string):
    auth = tsc.PersonalAccessTokenAuth(
        _snowflake.get_generic_secret_string("pat_name"),
        _snowflake.get_generic_secret_string("pat_value"),
        site_id=site_id,
    )
    server = tsc.Server(f"https://{connection_string}", use_server_version=True)
    with server.auth.sign_in(auth):
        if resource_type == "workbook":
            workbook = _find(tsc.Pager(server.workbooks), resource_name, project_name)
            job = server.workbooks.refresh(workbook.id)
        else:
            datasource = _find(tsc.Pager(server.datasources), resource_name, project_name)
            job = server.datasources.refresh(datasource.id)
    return f"refresh job {job.id} queued for {resource_type} {resource_name!r}"
