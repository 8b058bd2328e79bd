# __auth__ and __access__ as constants
__auth__ = 1          # any user with any password
__access__ = 1

def hello(req):
    return "hello " + str(req.headers_in.get("Authorization") is not None)

class Closed:
    __auth__ = 0      # nobody
    def hello(self, req):
        return "never"

class Public:
    __access__ = 0    # nobody, even without credentials
    def hello(self, req):
        return "never"

closed = Closed()
public = Public()
