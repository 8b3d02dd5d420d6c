def main(session):
    return "forgot the item_id argument"
