def index(req):
    return "<html>0123456789</html>"
