"""mod_alias's Redirect family, as Apache 2.4 reads and applies it.

``Redirect [status] URL-path URL``, ``RedirectMatch [status] regex URL``,
``RedirectPermanent URL-path URL`` and ``RedirectTemp URL-path URL``. The
status is ``permanent`` (301), ``temp`` (302, the default), ``seeother``
(303), ``gone`` (410) or a number; a 3xx needs a URL, any other status must
not have one. Outside a section a line is checked at translate time, before
any Alias, in config order; inside a ``<Directory>``, ``<Location>`` or
``<Files>`` it is checked at the fixup stage, the most specific section's
lines first. Inside a section a line without a URL-path (``Redirect
[status] URL``, ``Redirect gone``) redirects every request of the section
(Apache 2.4's expression form; a ``<Location>``'s already at translate
time); its URL is taken literally (``%{...}`` variables are refused).

What a matching line gives, as mod_alias computes it:

* ``Redirect``: the URL + the rest of the request's (decoded) path after
  the URL-path, escaped as ap_os_escape_path; the URL-path matches on
  segment boundaries, any run of slashes matching any other.
* ``RedirectMatch``: the URL with ``$0``..``$9`` replaced by the groups
  (``\\x`` is a literal x), then re-read as a URI: the path escaped, a
  default port dropped, a password shown as ``XXXXXXXX``, the query and
  fragment kept as they are.
* A URL starting with "/" is made absolute with the request's host; one that
  is no URL at all is a 500. The request's query is appended (``?args``)
  unless the URL has a "?" of its own.
"""
import re

from fastdispatch.config import pcre
from fastdispatch.errors import ConfigError

REDIRECT_DIRECTIVES = ("redirect", "redirectmatch", "redirectpermanent", "redirecttemp")

_STATUS_WORDS = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}
_DEFAULT_STATUS = {"redirect": 302, "redirectmatch": 302, "redirectpermanent": 301,
                   "redirecttemp": 302}


class RedirectRule:
    """One Redirect line: ``status``; ``prefix`` (a URL-path), ``regex`` (a
    compiled RedirectMatch pattern) or neither (the section-wide form);
    ``url`` (None for a status that is no redirect)."""
    __slots__ = ("status", "prefix", "regex", "url", "filename", "lineno")

    def __init__(self, status, prefix, regex, url, filename="<python>", lineno=0):
        self.status = status
        self.prefix = prefix
        self.regex = regex
        self.url = url
        self.filename = filename
        self.lineno = lineno

    @property
    def section_wide(self):
        return self.prefix is None and self.regex is None

    def __repr__(self):
        return "<RedirectRule %d %r %r>" % (self.status, self.prefix or
                                            (self.regex and self.regex.pattern), self.url)


def is_url(u):
    """Apache's ap_is_url: a scheme (letters, digits, + - .) and a colon."""
    i = u.find(":")
    if i <= 0:
        return False
    return all(c.isascii() and (c.isalnum() or c in "+-.") for c in u[:i])


def is_redirect(status):
    return 300 <= status <= 399


def parse_redirect(name, args, filename, lineno, in_section):
    """A Redirect* line -> RedirectRule, or ConfigError with Apache's words.
    ``in_section``: inside a <Directory>/<Location>/<Files> (Apache's
    cmd->path), where the forms without a URL-path are allowed."""
    key = name.lower()
    n = len(args)
    if key in ("redirectpermanent", "redirecttemp"):
        if n != 2:
            raise ConfigError("%s takes two arguments, a document to be redirected, then "
                              "the destination URL" % name, filename, lineno)
    elif key == "redirectmatch":
        if n not in (2, 3):
            raise ConfigError("RedirectMatch takes two or three arguments, an optional "
                              "status, then a regular expression and destination URL",
                              filename, lineno)
    elif not 1 <= n <= 3:
        raise ConfigError("%s takes one, two or three arguments, an optional status, then "
                          "document to be redirected and destination URL" % name,
                          filename, lineno)
    arg1 = args[0]
    arg2 = args[1] if n > 1 else None
    arg3 = args[2] if n > 2 else None
    status = _DEFAULT_STATUS[key]
    grok = True
    word = arg1.lower()
    if key in ("redirectpermanent", "redirecttemp"):
        grok = False        # (the first of two arguments is the URL-path)
    elif word in _STATUS_WORDS:
        status = _STATUS_WORDS[word]
    elif arg1[:1].isdigit():
        m = re.match(r"[0-9]+", arg1)     # atoi
        status = int(m.group(0))
    else:
        grok = False
    if arg3 is not None and not grok:
        raise ConfigError("Redirect: invalid first argument (of three)", filename, lineno)
    if in_section and key != "redirectpermanent" and key != "redirecttemp":
        # Apache 2.4's forms without a URL-path: the whole section
        expr = None
        if grok and arg2 is not None and arg3 is None and status != 410:
            expr = arg2
        elif grok and arg2 is None and status == 410:
            return RedirectRule(status, None, None, None, filename, lineno)
        elif not grok and arg2 is None:
            expr = arg1
        if expr is not None:
            if "%{" in expr:
                raise ConfigError("Cannot parse redirect expression '%s': %%{...} variables "
                                  "are not supported by fastdispatch" % expr, filename, lineno)
            # a $N refers to no regular expression here: it is empty
            expr = re.sub(r"\$[0-9]", "", expr)
            return RedirectRule(status, None, None, expr, filename, lineno)
    fake, url = arg2, arg3
    if arg3 is None and not grok:
        fake, url = arg1, arg2
    regex = None
    if key == "redirectmatch" and fake is not None:
        try:
            regex = pcre.compile(fake)      # Apache's regexes are PCRE
        except re.error:
            raise ConfigError("Regular expression could not be compiled.",
                              filename, lineno) from None
    if is_redirect(status):
        if not url:
            raise ConfigError("URL to redirect to is missing", filename, lineno)
        if regex is None and not is_url(url) and not url.startswith("/"):
            raise ConfigError("Redirect to non-URL", filename, lineno)
    elif url is not None:
        raise ConfigError("Redirect URL not valid for this status", filename, lineno)
    if fake is None:
        # ("Redirect gone" outside a section names no URL-path: Apache
        # accepts the line; refused here)
        raise ConfigError("%s %s needs a URL-path outside a <Directory> or <Location>"
                          % (name, arg1), filename, lineno)
    return RedirectRule(status, None if regex is not None else fake, regex, url,
                        filename, lineno)


# ------------------------------------------------------------------ matching

def alias_matches(uri, fake):
    """mod_alias's alias_matches: the number of characters of ``uri`` that
    the URL-path ``fake`` matches (any run of "/" in it matches any
    non-empty run in the URI; the match ends at a segment boundary), or 0."""
    i = j = 0
    n, m = len(uri), len(fake)
    while j < m:
        if fake[j] == "/":
            if i >= n or uri[i] != "/":
                return 0
            while j < m and fake[j] == "/":
                j += 1
            while i < n and uri[i] == "/":
                i += 1
        else:
            if i >= n or uri[i] != fake[j]:
                return 0
            i += 1
            j += 1
    if m and fake[-1] != "/" and i < n and uri[i] != "/":
        return 0
    return i


# ap_os_escape_path: what stays as it is (letters, digits and these)
_PATH_SAFE = frozenset(b"$-_.+!*'(),:;@&=/~")


def escape_path(path):
    """Apache's ap_os_escape_path(partial): UTF-8 bytes, %xx in lower case
    for all but letters, digits and $-_.+!*'(),:;@&=/~."""
    out = []
    for b in path.encode("utf-8", "surrogateescape"):
        if (48 <= b <= 57 or 65 <= b <= 90 or 97 <= b <= 122) or b in _PATH_SAFE:
            out.append(chr(b))
        else:
            out.append("%%%02x" % b)
    return "".join(out)


_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "gopher": 70, "nntp": 119,
                  "snews": 563, "wais": 210, "prospero": 191, "imap": 143, "pop": 110,
                  "sip": 5060, "rtsp": 554, "ldap": 389, "tip": 3372, "acap": 674,
                  "telnet": 23, "z39.50r": 210, "z39.50s": 210, "nfs": 2049}
_SCHEME = re.compile(r"([A-Za-z0-9+.-]+):")


def _reparse(url):
    """apr_uri_parse + apr_uri_unparse(OMITQUERY) + ap_escape_uri, then the
    query and fragment as they were: how mod_alias cleans a RedirectMatch
    (and section-wide Redirect) result."""
    rest, hash_, fragment = url.partition("#")
    rest, qmark, query = rest.partition("?")
    scheme = host = None
    site = ""
    m = _SCHEME.match(rest)
    if rest.startswith("//"):
        hostinfo, slash, path = rest[2:].partition("/")
        path = slash + path
    elif m and not rest.startswith("/"):
        scheme = m.group(1)
        after = rest[m.end():]
        if after.startswith("//"):
            hostinfo, slash, path = after[2:].partition("/")
            path = slash + path
        else:
            hostinfo, path = None, after
    else:
        hostinfo, path = None, rest
    if hostinfo is not None:
        userinfo, at, hostport = hostinfo.rpartition("@")
        if at:
            user, colon, _password = userinfo.partition(":")
            site = user + (":XXXXXXXX" if colon else "") + "@"
        port_str = None
        if hostport.startswith("["):
            host, _, tail = hostport[1:].partition("]")
            if tail.startswith(":"):
                port_str = tail[1:]
        else:
            host, colon, port_str = hostport.partition(":")
            if not colon:
                port_str = None
        default = port_str is None or not port_str
        if not default:
            try:
                port = int(port_str)
            except ValueError:
                port = -1
            default = port == 0 or port == _DEFAULT_PORTS.get((scheme or "").lower())
        bracket = ":" in host
        site = "//" + site + ("[%s]" % host if bracket else host) + \
            ("" if default else ":" + port_str)
    out = (scheme + ":" if scheme else "") + site + path
    out = escape_path(out)
    if qmark:
        out += "?" + query
    if hash_:
        out += "#" + fragment
    return out


def _pregsub(template, m):
    """ap_pregsub: $0..$9 are the groups (empty when not set), \\x is x."""
    out = []
    i, n = 0, len(template)
    ngroups = m.re.groups
    while i < n:
        c = template[i]
        i += 1
        if c == "$" and i < n and template[i].isdigit() and template[i].isascii():
            no = int(template[i])
            i += 1
            if no <= ngroups:
                out.append(m.group(no) or "")
            continue
        if c == "\\" and i < n:
            c = template[i]
            i += 1
        out.append(c)
    return "".join(out)


def find(rules, uri):
    """The first rule of ``rules`` that matches ``uri``: (rule, target) where
    target is the URL as mod_alias builds it ("" for a rule without a
    URL), or None. The URL-path rule also gives mod_alias's context
    (CONTEXT_PREFIX) but the request ends here, so that is not kept."""
    for rule in rules:
        if rule.regex is not None:
            m = rule.regex.search(uri)
            if m is None:
                continue
            if rule.url is None:
                return rule, ""
            return rule, _reparse(_pregsub(rule.url, m))
        if rule.prefix is None:
            return rule, "" if rule.url is None else _reparse(rule.url)
        n = alias_matches(uri, rule.prefix)
        if n > 0:
            if rule.url is None:
                return rule, ""
            return rule, rule.url + escape_path(uri[n:])
    return None


def location(target, args, construct_url):
    """The Location header for a redirect to ``target`` (None: no valid
    target, a 500): made absolute, with the request's query when the
    target has none."""
    if target.startswith("/"):
        target = construct_url(target)
    if not is_url(target):
        return None
    if args is not None and "?" not in target:
        target += "?" + args
    return target
