# handlers.rst, "Traversal", verbatim
def index(req):
   return "We are in index()"

def hello(req):
   return "We are in hello()"
