# The module's guards come from a module-level __getattr__ (PEP 562), not
# from its namespace: the publisher must still ask for them (as hasattr does).

def __getattr__(name):
    if name == "__auth__":
        return {"spam": "eggs"}
    if name == "__auth_realm__":
        return "Lazy realm"
    raise AttributeError(name)


def hello(req):
    return "hello lazy"
