def main(name):
    return "Hello, " + name
