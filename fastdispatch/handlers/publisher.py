"""The publisher handler: ``PythonHandler mod_python.publisher``.

A URL names a module file and an object in it: ``/dir/hello.py/say`` imports
``/dir/hello.py`` and publishes ``say``: a callable is called with the form
fields whose names it accepts (and ``req`` when it takes it), anything else
is rendered as its string; the result is the response body. See
handlers.rst, "Publisher Handler", and docs/publisher.md for what
fastdispatch refuses to publish and why.

The steps, each a function as in mod_python (``process_auth``,
``resolve_object``, ``publish_object``):

1. which file and which object path (``_locate``): ``req.filename`` without
   its extension, ``index.py`` when that file does not exist, and
   ``req.path_info`` with ``/`` or ``.`` between names; ``index`` when the
   path is empty;
2. import the file (reloaded when it changes, as any handler module);
3. traverse, checking ``__auth__`` / ``__access__`` / ``__auth_realm__`` on
   the module and on every object reached (inside a function's body too);
4. call or render, guessing the content type when the callable set none.
"""
import ast
import inspect
import os
import re
import textwrap
import time
import types
import weakref

from fastdispatch import _speedups, apache, loader, util

ALLOWED_METHODS = ("GET", "POST", "HEAD")
# req.allow_methods(ALLOWED_METHODS), as one mask (HEAD has no number of
# its own: Apache counts it as GET)
_ALLOWED_BITS = sum(1 << apache.METHODS.index(m) for m in ALLOWED_METHODS
                    if m in apache.METHODS)

# -------------------------------------------------------------- the handler


def handler(req):
    req.allowed |= _ALLOWED_BITS
    if req.method not in ALLOWED_METHODS:
        raise apache.SERVER_RETURN(apache.HTTP_METHOD_NOT_ALLOWED)
    filename, func_path = _locate(req)
    req.filename = filename
    dc = req._dir_config
    module = loader.import_file(filename, autoreload=dc.autoreload if dc else True,
                                log=bool(dc and dc.debug))
    realm, user, passwd = process_auth(req, module)
    obj = resolve_object(req, module, func_path, realm, user, passwd)
    published = publish_object(req, obj)
    if not published and not req._buffered and not req.bytes_sent and req.next is None \
            and dc is not None and dc.debug:
        req.log_error("mod_python.publisher: nothing to publish.")
    return apache.OK


_located = {}              # (filename, path_info, dir config) -> (expires, answer)
_LOCATED_MAX = 4096


def _locate(req):
    """(module file, dotted object path) for the request, as mod_python:
    the file named by ``req.filename`` with its handler extension dropped,
    else ``index.py`` beside it with the name moved onto the object path.

    An answer is kept for loader.RELOAD_CHECK_INTERVAL, the time a module
    file is trusted without a look at it (a new index.py or module file is
    seen as late as an edited one)."""
    if not req.filename:
        raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    key = (req.filename, req.path_info, req._dir_config)
    now = time.monotonic()
    hit = _located.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    answer = _find_module(req)
    if len(_located) >= _LOCATED_MAX:
        _located.clear()
    _located[key] = (now + loader.RELOAD_CHECK_INTERVAL, answer)
    return answer


def _find_module(req):
    directory, module_name = os.path.split(req.filename)
    if not module_name:
        module_name = "index"        # a directory: its filename ends with "/"
    for suffix in _suffixes(req):
        if module_name.endswith(suffix) and len(module_name) > len(suffix):
            module_name = module_name[:-len(suffix)]
            break
    func_path = ""
    if req.path_info:
        # (Apache merges the slashes: "a//b" is "a/b"; a trailing one goes)
        func_path = "/".join(part for part in req.path_info.split("/") if part)
    filename = os.path.join(directory, module_name + ".py")
    if not os.path.isfile(filename):
        func_path = module_name + "/" + func_path if func_path else module_name
        filename = os.path.join(directory, "index.py")
        if not os.path.isfile(filename):
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)
    return os.path.abspath(filename), (func_path or "index").replace("/", ".")


def _suffixes(req):
    """".py", the extensions mapped to mod_python by AddHandler, and those
    of the handler line (``PythonHandler mod_python.publisher | .ext``)."""
    out = [".py"]
    dc = req._dir_config
    if dc is not None:
        out.extend(ext for ext, h in dc.add_handler.items()
                   if h in ("mod_python", "python-program") and ext not in out)
        for entry in dc.handlers.get("handler", ()):
            out.extend(ext for ext in entry.exts or () if ext not in out)
    return out


# -------------------------------------------------------------- authentication

_MISSING = object()


def process_auth(req, object, realm="unknown", user=None, passwd=None):
    """Apply ``object``'s ``__auth__`` and ``__access__`` (401 / 403 when
    they refuse); returns (realm, user, passwd) for the next step.

    They are attributes (of the module, an instance, a class, a function),
    or, for a function or method, names bound in its own body."""
    if type(object) is types.ModuleType and "__getattr__" not in object.__dict__:
        # the module's own names: a lookup a module fails builds an
        # AttributeError with its message, three per request here
        names = object.__dict__
        realm = names.get("__auth_realm__", realm)
        auth = names.get("__auth__", _MISSING)
        access = names.get("__access__", _MISSING)
    else:
        realm = getattr(object, "__auth_realm__", realm)
        auth = getattr(object, "__auth__", _MISSING)
        access = getattr(object, "__access__", _MISSING)
    found_auth = auth is not _MISSING
    found_access = access is not _MISSING
    func = object if isinstance(object, types.FunctionType) else \
        object.__func__ if isinstance(object, types.MethodType) else None
    if isinstance(func, types.FunctionType):
        guards = function_guards(func)
        if "__auth_realm__" in guards:
            realm = guards["__auth_realm__"]
        if "__auth__" in guards:
            found_auth, auth = True, guards["__auth__"]
        if "__access__" in guards:
            found_access, access = True, guards["__access__"]

    if (found_auth or found_access) and not user:
        user, passwd = _credentials(req)

    if found_auth:
        if not user:
            req.err_headers_out["WWW-Authenticate"] = 'Basic realm="%s"' % realm
            raise apache.SERVER_RETURN(apache.HTTP_UNAUTHORIZED)
        if callable(auth):
            ok = auth(req, user, passwd)
        elif isinstance(auth, dict):
            ok = user in auth and auth[user] == passwd
        else:
            ok = auth
        if not ok:
            # (mod_python writes this one with spaces around "=")
            req.err_headers_out["WWW-Authenticate"] = 'Basic realm = "%s"' % realm
            raise apache.SERVER_RETURN(apache.HTTP_UNAUTHORIZED)

    if found_access:
        if callable(access):
            ok = access(req, user)
        elif isinstance(access, (list, tuple, set, frozenset)):
            ok = user in access
        else:
            ok = access
        if not ok:
            raise apache.SERVER_RETURN(apache.HTTP_FORBIDDEN)

    return realm, user, passwd


def _credentials(req):
    """(user, password) from ``Authorization: Basic``, or (None, None) when
    there is none; 400 when the header cannot be decoded (as mod_python)."""
    value = req.headers_in.get("Authorization")
    if value is None:
        return None, None
    creds = _speedups.auth.parse_basic(value)   # the same strict decoder as req
    if creds is None:
        raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST)
    try:
        # parse_basic gives the bytes as latin-1; the publisher reads UTF-8
        return tuple(part.encode("latin-1").decode("utf-8") for part in creds)
    except UnicodeError:
        raise apache.SERVER_RETURN(apache.HTTP_BAD_REQUEST) from None


_GUARDS = ("__auth__", "__access__", "__auth_realm__")
_guard_cache = weakref.WeakKeyDictionary()


class GuardError(Exception):
    """A function binds ``__auth__``/``__access__`` in a way that cannot be
    read without running it; the publisher refuses to publish it (500)."""


def function_guards(func):
    """The ``__auth__``, ``__access__`` and ``__auth_realm__`` a function
    defines in its own body, as a dict (cached per function).

    ``def __auth__(...)`` inside the function gives that function (with the
    enclosing module's globals); ``__auth__ = <literal>`` gives the literal
    (a constant, a dict, a list...). Any other way of binding them is a
    GuardError: failing closed beats silently publishing unprotected.
    """
    try:
        return _guard_cache[func]
    except KeyError:
        pass
    code = func.__code__
    nargs = code.co_argcount + code.co_kwonlyargcount + \
        bool(code.co_flags & inspect.CO_VARARGS) + bool(code.co_flags & inspect.CO_VARKEYWORDS)
    local = set(code.co_varnames[nargs:]) | set(code.co_cellvars)
    wanted = [n for n in _GUARDS if n in local]
    guards = _read_guards(func, wanted) if wanted else {}
    _guard_cache[func] = guards
    return guards


def _read_guards(func, wanted):
    try:
        source = textwrap.dedent(inspect.getsource(func))
        tree = ast.parse(source)
    except (OSError, TypeError, SyntaxError) as exc:
        raise GuardError("cannot read the source of %s to find %s: %s"
                         % (func.__qualname__, ", ".join(wanted), exc)) from None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise GuardError("cannot find the body of %s" % func.__qualname__)
    guards = {}
    for stmt in node.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name in wanted:
            guards[stmt.name] = _nested_function(func, stmt)
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 \
                and isinstance(stmt.targets[0], ast.Name) and stmt.targets[0].id in wanted:
            name = stmt.targets[0].id
            try:
                guards[name] = ast.literal_eval(stmt.value)
            except ValueError:
                raise GuardError("%s in %s is not a literal or a nested def"
                                 % (name, func.__qualname__)) from None
    missing = [n for n in wanted if n not in guards]
    if missing:
        raise GuardError("%s in %s is bound in a way the publisher cannot read "
                         "(use a nested def or a literal)"
                         % (", ".join(missing), func.__qualname__))
    return guards


def _nested_function(func, node):
    """The function a nested ``def`` would make, built from its code object
    with the module's globals (and its literal defaults)."""
    name = node.name
    if node.decorator_list:
        raise GuardError("%s in %s is decorated" % (name, func.__qualname__))
    try:
        defaults = tuple(ast.literal_eval(d) for d in node.args.defaults) or None
        kwdefaults = {a.arg: ast.literal_eval(d) for a, d in
                      zip(node.args.kwonlyargs, node.args.kw_defaults) if d is not None}
    except ValueError:
        raise GuardError("%s in %s has defaults that are not literals"
                         % (name, func.__qualname__)) from None
    for const in func.__code__.co_consts:
        if isinstance(const, types.CodeType) and const.co_name == name:
            if const.co_freevars:
                raise GuardError("%s in %s uses variables of the enclosing function"
                                 % (name, func.__qualname__))
            guard = types.FunctionType(const, func.__globals__, name, defaults)
            guard.__kwdefaults__ = kwdefaults or None
            return guard
    raise GuardError("cannot find the code of %s in %s" % (name, func.__qualname__))


# -------------------------------------------------------------- traversal

# Callables implemented in C: never published, never traversed.
_BUILTIN_TYPES = (types.BuiltinFunctionType, types.BuiltinMethodType,
                  types.WrapperDescriptorType, types.MethodWrapperType,
                  types.MethodDescriptorType, types.ClassMethodDescriptorType,
                  types.GetSetDescriptorType, types.MemberDescriptorType)


def refusal(obj, module_name):
    """Why ``obj``, reached from the published module named ``module_name``,
    must not be published, or None. Only what the module itself defines is
    reachable: modules, builtins, and functions, classes and callables
    defined elsewhere (imported) are not."""
    if isinstance(obj, types.ModuleType):
        return "it is a module"
    if isinstance(obj, _BUILTIN_TYPES):
        return "it is a builtin"
    if isinstance(obj, type):
        if obj.__module__ == module_name:
            return None
        return "it is a class imported from elsewhere"
    if isinstance(obj, types.FunctionType):
        if obj.__module__ == module_name:
            return None
        return "it is a function imported from elsewhere"
    if isinstance(obj, types.MethodType):
        func = obj.__func__
        if isinstance(func, types.FunctionType) and func.__module__ == module_name:
            return None
        return "it is a method not defined in the published module"
    if callable(obj):
        call = getattr(type(obj), "__call__", None)
        if isinstance(call, types.FunctionType) and call.__module__ == module_name:
            return None
        return "it is a callable not defined in the published module"
    return None


def traversable(obj, module):
    """May the path go on past ``obj``? The module itself, and instances of
    classes the module defines; not classes, functions, methods, nor
    values of other types (str, dict, imported objects)."""
    if obj is module:
        return True
    if isinstance(obj, (type, types.FunctionType, types.MethodType, types.ModuleType)):
        return False
    return type(obj).__module__ == module.__name__


def resolve_object(req, obj, object_str, realm=None, user=None, passwd=None):
    """Walk ``object_str`` ("a.b.c") from the module ``obj``; 404 for what
    does not exist or may not be reached; auth checked at every step."""
    module = obj
    for part in object_str.split("."):
        if not part:
            # a dot at either end or two in a row: mod_python's part[0]
            # fails on the empty name (500, the traceback under PythonDebug)
            raise IndexError("string index out of range")
        if part[0] == "_":
            _refuse(req, part, "it starts with an underscore")
        if not traversable(obj, module):
            _refuse(req, part, "%s is not a traversable object" % _describe(obj))
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND) from None
        why = refusal(obj, module.__name__)
        if why:
            _refuse(req, part, why)
        realm, user, passwd = process_auth(req, obj, realm, user, passwd)
    return obj


def _refuse(req, part, why):
    req.log_error("mod_python.publisher: cannot publish %s in %s because %s"
                  % (part, req.unparsed_uri, why), apache.APLOG_WARNING)
    raise apache.SERVER_RETURN(apache.HTTP_NOT_FOUND)


def _describe(obj):
    return "a %s" % type(obj).__name__


# -------------------------------------------------------------- publishing

_re_html = re.compile(r"</HTML\s*>\s*$", re.I)
_re_html_bytes = re.compile(rb"</HTML\s*>\s*$", re.I)


def publish_object(req, obj):
    """Call ``obj`` with the form data if it is a callable (and publish
    what it returns), else write its string (or its bytes) to the client.
    Returns False when there was nothing to publish (None)."""
    return _publish(req, obj, None)


def _publish(req, obj, form):
    while callable(obj) and not isinstance(obj, type):
        if form is None:
            form = req.form = util.FieldStorage(req, keep_blank_values=1)
        result = call_with_form(obj, form, {"req": req})
        if callable(result) and refusal(result, _defining_module(obj)) is not None:
            # a callable handed back is called in turn (as mod_python does)
            # only when it is the published module's own
            result = str(result)
        obj = result
    if obj is None:
        return False
    if obj.__class__ is str:
        result = obj
        is_html = _re_html.search(result, max(0, len(result) - 100))
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        result = bytes(obj)
        is_html = _re_html_bytes.search(result, max(0, len(result) - 100))
    else:
        result = str(obj)
        is_html = _re_html.search(result, max(0, len(result) - 100))
    if not req._content_type_set:
        # (a type any Python code assigned stays: the callable's, or a
        # fixup's or an earlier handler's)
        req.content_type = "text/html" if is_html else "text/plain"
    req.write(result, 0)
    return True


def _defining_module(obj):
    """The name of the module whose code ``obj`` (a callable) runs."""
    func = obj.__func__ if isinstance(obj, types.MethodType) else obj
    if not isinstance(func, types.FunctionType):
        func = getattr(type(obj), "__call__", None)
    return getattr(func, "__module__", None)


# -------------------------------------------------------------- argument matching

class CallSpec:
    """What a callable accepts by keyword: ``names`` (a frozenset) and
    ``varkw`` (it takes ``**kwargs``)."""
    __slots__ = ("names", "varkw", "__weakref__")

    def __init__(self, names, varkw):
        self.names = names
        self.varkw = varkw


_KEYWORD_KINDS = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
# function -> CallSpec, one table for functions called as they are and one
# for functions called bound (methods, __call__), whose first argument is
# given by the binding
_specs = {False: weakref.WeakKeyDictionary(), True: weakref.WeakKeyDictionary()}


def call_spec(obj):
    """The CallSpec of ``obj``, computed once per function (or class) and
    cached while it lives; None for a callable that cannot be inspected."""
    if isinstance(obj, types.FunctionType):
        func, bound = obj, False
    elif isinstance(obj, types.MethodType) and isinstance(obj.__func__, types.FunctionType):
        func, bound = obj.__func__, True
    elif isinstance(obj, type):
        func, bound = obj, False
    else:
        call = getattr(type(obj), "__call__", None)
        if isinstance(call, types.FunctionType):
            func, bound = call, True
        else:
            return _make_spec(obj, False)     # rare (builtins, partials): not cached
    cache = _specs[bound]
    spec = cache.get(func)
    if spec is None:
        spec = _make_spec(func, bound)
        if spec is not None:
            cache[func] = spec
    return spec


def _make_spec(func, bound):
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None
    if bound and params and params[0].kind in (inspect.Parameter.POSITIONAL_ONLY,
                                               inspect.Parameter.POSITIONAL_OR_KEYWORD):
        params = params[1:]
    names = frozenset(p.name for p in params if p.kind in _KEYWORD_KINDS)
    varkw = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in params)
    return CallSpec(names, varkw)


def call_with_form(obj, form, extra):
    """Call ``obj`` with the fields of ``form`` it accepts by name (a list
    of values for a repeated field; the Field itself for an upload) and the
    ``extra`` keyword arguments (``req``) it accepts. A form field never
    takes the place of an ``extra`` argument."""
    spec = call_spec(obj)
    if spec is None:
        return obj()
    names, varkw = spec.names, spec.varkw
    args = {}
    for name, value in extra.items():
        if varkw or name in names:
            args[name] = value
    collected = {}
    for field in form.list:
        name = field.name
        if isinstance(name, str) and (varkw or name in names) and name not in extra:
            collected.setdefault(name, []).append(field if field.filename else field.value)
    for name, values in collected.items():
        args[name] = values[0] if len(values) == 1 else values
    return obj(**args)
