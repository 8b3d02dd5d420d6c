def main(session):
    return "never reads the token"
