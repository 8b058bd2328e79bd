if __name__ == "__main__":
    print("Content-Type: text/plain\n")
    print("run as __main__")
else:
    print("Content-Type: text/plain\n")
    print("imported as %s" % __name__)
