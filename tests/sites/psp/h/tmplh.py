from mod_python import apache, psp


def handler(req):
    mode = req.args or "file"
    if mode == "file":
        template = psp.PSP(req, filename="template.html")
        template.run({"what": "world"})
    elif mode == "vars":
        template = psp.PSP(req, filename="template.html", vars={"what": "init"})
        template.run()
    elif mode == "override":
        template = psp.PSP(req, filename="template.html", vars={"what": "init"})
        template.run({"what": "run"})
    elif mode == "string":
        template = psp.PSP(req, string="Hello <%= what %>!")
        template.run({"what": "string"})
    elif mode == "both":
        psp.PSP(req, filename="template.html", string="x")
    elif mode == "str":
        req.write(str(psp.PSP(req, filename="template.html", vars={"what": "str"})))
    elif mode == "code":
        psp.PSP(req, filename="template.html").display_code()
    elif mode == "parse":
        req.content_type = "text/plain"
        req.write(psp.parse("template.html", req.filename.rsplit("/", 1)[0] + "/"))
    elif mode == "parsestring":
        req.content_type = "text/plain"
        req.write(psp.parsestring("a<%= b %>c"))
    elif mode == "missing":
        psp.PSP(req, filename="nothere.html")
    return apache.OK
