from mod_python import apache

class Greeter:
    def __init__(self, req):
        self.prefix = "instance made with req for " + req.uri

    def greet(self, req):
        req.content_type = "text/plain"
        req.write(self.prefix)
        return apache.OK

    def __call__(self, req):
        req.content_type = "text/plain"
        req.write("called " + self.prefix)
        return apache.OK
