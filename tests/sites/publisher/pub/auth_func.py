# __auth__ / __access__ / __auth_realm__ defined inside published functions
def sensitive(req):

   def __auth__(req, user, password):
      if user == 'spam' and password == 'eggs':
         # let them in
         return 1
      else:
         # no access
         return 0

   # something involving sensitive information
   return 'sensitive information'

def realm_const(req):
    __auth_realm__ = "Function realm"
    __auth__ = 0
    return "never"

def open_const(req):
    __auth__ = 1
    return "open to any user"

def access_func(req):
    def __access__(req, user):
        return user == "eggs"
    return "access ok"

def access_const(req):
    __access__ = 0
    return "never"

def access_list(req):
    __access__ = ["eggs"]
    return "listed"

def auth_dict(req):
    __auth__ = {"eggs": "spam"}
    return "dict ok"

def unreadable(req):
    __auth__ = make_checker()      # not a literal: refused (500), not silently open
    return "never"

def make_checker():
    return lambda req, user, passwd: True

class Page:
    __auth_realm__ = "Page realm"
    def __auth__(self, req, user, passwd):
        return user == "page" and passwd == "pw"
    def view(self, req):
        return "page view"
    def guarded(self, req):
        def __access__(req, user):
            return False
        return "never"

page = Page()
