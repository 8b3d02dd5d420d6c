import _snowflake


def main(page):
    key = _snowflake.get_generic_secret_string("extra")
    return "https://hand.snowcli.example.com/items?page=" + str(int(page)) + "&limit=100&key=" + key
