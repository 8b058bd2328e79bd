def index(req):
    return "page.py index"

def fail(req):
    raise ValueError("boom")
