import _snowflake


def main(session):
    creds = _snowflake.get_username_password("warehouse")
    return creds.username
