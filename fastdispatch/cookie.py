"""fastdispatch's ``mod_python.Cookie``: Netscape-style cookies, signed and
marshalled cookies, and the add_cookie/get_cookies/get_cookie helpers.

A Cookie is one cookie (a stdlib "Morsel"). Its string form is what
mod_python 3.5 sends: ``name=value`` and then the attributes that are set,
in a fixed order, under their Python names (``max_age=60``, ``httponly``),
with nothing quoted. Parsing keeps values as sent (quotes included) and,
contrary to the documentation, makes a cookie of every ``name=value`` pair,
attributes such as ``expires`` included.

mod_python's own SignedCookie and MarshalCookie fail under Python 3 (str
given to hmac, base64.encodestring); here they work as documented and as
they did under Python 2: the value is prefixed with the HMAC-MD5 (keyed
with the secret, over name then value) of its UTF-8 bytes.
"""
import base64
import hmac
import marshal
import re
import time

EXPIRES_FORMAT = "%a, %d-%b-%Y %H:%M:%S GMT"   # the Netscape spec's date

# the attributes a cookie may have, in the order its string lists them
_VALID_ATTRS = ("version", "path", "domain", "secure", "comment", "expires", "max_age",
                "samesite", "commentURL", "discard", "port", "httponly")
_FLAGS = ("secure", "discard", "httponly")     # written bare, whatever their value
# mod_python's cookies have __slots__: only these can be set, on subclasses too
_SETTABLE = frozenset(_VALID_ATTRS + ("name", "value", "_value", "_expires", "__data__"))


class CookieError(Exception):
    pass


class Cookie:
    """One cookie: ``Cookie(name, value, path="/", expires=time.time() + 300)``."""

    DOWNGRADE = 0    # what SignedCookie.parse does with a badly signed cookie
    IGNORE = 1
    EXCEPTION = 3

    _valid_attr = _VALID_ATTRS

    def __init__(self, name, value, **kw):
        self.name, self.value = name, value
        for key, attr_value in kw.items():
            # lower-cased as in mod_python, which is why commentURL= is refused
            setattr(self, key.lower(), attr_value)
        self.__data__ = {}   # free for subclasses: their own attributes are refused

    def __setattr__(self, name, value):
        if name not in _SETTABLE:
            raise AttributeError("'%s' object has no attribute '%s'" % (type(self).__name__, name))
        object.__setattr__(self, name, value)

    @property
    def expires(self):
        return self._expires

    @expires.setter
    def expires(self, value):
        """A string must already be a Netscape date (kept as given); anything
        else is seconds since the epoch (None, as time.gmtime takes it, is now)."""
        if isinstance(value, str):
            try:
                time.strptime(value, EXPIRES_FORMAT)
            except ValueError:
                raise ValueError("Invalid expires time: %s" % value)
        else:
            value = time.strftime(EXPIRES_FORMAT, time.gmtime(value))
        self._expires = value

    @classmethod
    def parse(cls, s, **kw):
        """A Cookie header's value -> {name: cls instance}. ``names=[...]``
        keeps only those names."""
        return _parse_cookie(s, cls, **kw)

    def _render(self, value):
        parts = ["%s=%s" % (self.name, value)]
        for attr in _VALID_ATTRS:
            if hasattr(self, attr):
                parts.append(attr if attr in _FLAGS else "%s=%s" % (attr, getattr(self, attr)))
        return "; ".join(parts)

    def __str__(self):
        return self._render(self.value)

    def __repr__(self):
        return "<%s: %s>" % (type(self).__name__, self)


def _bytes(x):
    return x if isinstance(x, bytes) else str(x).encode("utf-8")


def _signature(secret, name, value):
    mac = hmac.new(_bytes(secret), _bytes(name), "md5")
    mac.update(_bytes(value))
    return mac.hexdigest()


class SignedCookie(Cookie):
    """A cookie whose value goes out prefixed with its 32-digit signature.
    Not encrypted: the value itself stays readable."""

    @classmethod
    def parse(cls, s, secret, mismatch=Cookie.DOWNGRADE, **kw):
        """As Cookie.parse, and each cookie's signature is checked and
        removed; one that fails is handled as ``mismatch`` says."""
        return _verified(_parse_cookie(s, cls, **kw), lambda c: c.unsign(secret), mismatch)

    def __init__(self, name, value, secret=None, **kw):
        Cookie.__init__(self, name, value, **kw)
        self.__data__["secret"] = secret

    def hexdigest(self, s):
        secret = self.__data__["secret"]
        if not secret:
            raise CookieError("Cannot sign without a secret")
        return _signature(secret, self.name, s)

    def __str__(self):
        return self._render("%s%s" % (self.hexdigest(self.value), self.value))

    def unsign(self, secret):
        sig, value = self.value[:32], self.value[32:]
        # an empty secret would verify whatever anyone signed with an empty key
        if not secret or not hmac.compare_digest(
                _bytes(sig), _signature(secret, self.name, value).encode("ascii")):
            raise CookieError("Incorrectly Signed Cookie: %s=%s" % (self.name, self.value))
        self.value = value
        self.__data__["secret"] = secret


class MarshalCookie(SignedCookie):
    """A signed cookie whose value is any marshallable object. The signature
    is checked before anything is unmarshalled."""

    @classmethod
    def parse(cls, s, secret, mismatch=Cookie.DOWNGRADE, **kw):
        return _verified(_parse_cookie(s, cls, **kw), lambda c: c.unmarshal(secret), mismatch)

    def __str__(self):
        data = base64.b64encode(marshal.dumps(self.value)).decode("ascii")  # one line
        return self._render(self.hexdigest(data) + data)

    def unmarshal(self, secret):
        self.unsign(secret)
        try:
            # lenient like Python 2's decodestring: stray characters are skipped
            data = base64.decodebytes(self.value.encode("ascii"))
        except ValueError:   # binascii.Error, UnicodeEncodeError
            raise CookieError("Cannot base64 Decode Cookie: %s=%s" % (self.name, self.value))
        try:
            self.value = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            raise CookieError("Cannot Unmarshal Cookie: %s=%s" % (self.name, self.value))


def _verified(cookies, check, mismatch):
    for name, cookie in list(cookies.items()):
        try:
            check(cookie)
        except CookieError:
            if mismatch == Cookie.EXCEPTION:
                raise
            if mismatch == Cookie.IGNORE:
                del cookies[name]
            else:
                # a plain Cookie with the value as it now is (a MarshalCookie
                # that failed after its signature was checked has lost it)
                cookies[name] = Cookie(cookie.name, cookie.value)
    return cookies


# One "name=value" of a header, read as mod_python reads it: commas and
# spaces before the name are skipped, spaces around "=" too, and the value is
# a double-quoted string (quotes kept) or all up to the next ";" (trailing
# spaces kept).
_PAIR = re.compile(r'[, ]*(?P<key>[^; =]+) *(?:= *)?(?P<val>"(?:[^\\"]|\\.)*"|[^;]*)\s*;?')


def _parse_cookie(s, cls, names=None):
    cookies = {}
    for m in _PAIR.finditer(s):
        key = m.group("key")
        # "$Version", "$Path", ...: RFC 2965 attributes, not cookies
        if not key.startswith("$") and (names is None or key in names):
            cookies[key] = cls(key, m.group("val"))   # a repeated name: the last wins
    return cookies


def add_cookie(req, cookie, value="", **kw):
    """Send a cookie: a Cookie, or one made from a name, value and attributes
    (which are ignored when a Cookie is given). In headers_out, as mod_python
    does, so an error response does not carry it."""
    if not isinstance(cookie, Cookie):
        cookie = Cookie(cookie, value, **kw)
    # a shared cache must not hand one client's cookie to another; added
    # before the cookie is rendered, as mod_python does, so it stays if that fails
    if "Set-Cookie" not in req.headers_out:
        req.headers_out.add("Cache-Control", 'no-cache="set-cookie"')
    req.headers_out.add("Set-Cookie", str(cookie))


def get_cookies(req, Class=Cookie, **kw):
    """The request's cookies, parsed by ``Class.parse(header, **kw)``
    (``secret=`` for the signed classes)."""
    if "cookie" not in req.headers_in:
        return {}
    cookies = req.headers_in["cookie"]
    if isinstance(cookies, list):   # several entries in a handler-built table
        cookies = "; ".join(cookies)
    return Class.parse(cookies, **kw)


def get_cookie(req, name, Class=Cookie, **kw):
    """The request's cookie ``name``, or None."""
    return get_cookies(req, Class, names=[name], **kw).get(name)
