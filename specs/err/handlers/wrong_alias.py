import _snowflake


def main(session):
    token = _snowflake.get_generic_secret_string("tokn")
    return len(token)
