from mod_python import apache


class CallMe:
    """Named last in 'PythonHandler clsh::CallMe': mod_python calls the
    class, and the instance it gets back is not a result (500)."""

    def __init__(self, req):
        self.req = req

    def __call__(self, req):
        req.write("callable instance")
        return apache.OK
