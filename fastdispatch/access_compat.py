"""Apache 2.4's mod_access_compat: ``Order``, ``Allow from``, ``Deny from``
and ``Satisfy``, the Apache 2.2 access rules that mod_python sites still
carry (Debian's Apache 2.4 loads the module by default).

The rules of a request are those of the most specific section that has
any of the four directives: the module has no merge of its own, so such a
section replaces what the sections above it said, and a section without
them inherits the rules whole. Within a section, Allow and Deny lines add
up.

* ``Order Deny,Allow`` (the default): allowed unless a Deny matches, and
  then again if an Allow matches;
* ``Order Allow,Deny``: denied unless an Allow matches, and then again if
  a Deny matches;
* ``Order Mutual-failure``: allowed when an Allow matches and no Deny.

What ``from`` takes: ``all``; an IP address, a partial one (``10.1``), a
network (``10.1.0.0/16``, ``10.1.0.0/255.255.0.0``); ``env=NAME`` and
``env=!NAME`` (the request's subprocess_env, which nothing fills before
this check here, as no SetEnvIf runs); otherwise a host name or a domain,
matched against the client's double-reverse DNS name.

``Satisfy Any``: a client these rules allow needs no user (Require is not
looked at); one they deny must authenticate. ``Satisfy All`` (the
default): both must pass.
"""
import ipaddress

DENY_THEN_ALLOW = "deny,allow"
ALLOW_THEN_DENY = "allow,deny"
MUTUAL_FAILURE = "mutual-failure"
ORDERS = (DENY_THEN_ALLOW, ALLOW_THEN_DENY, MUTUAL_FAILURE)
KEYS = frozenset(("order", "allow", "deny", "satisfy"))


class AccessRules:
    """One section's Order/Allow/Deny/Satisfy."""
    __slots__ = ("order", "allows", "denys", "satisfy_any")

    def __init__(self):
        self.order = DENY_THEN_ALLOW
        self.allows = []
        self.denys = []
        self.satisfy_any = False


def check_order(args):
    """An error message for a bad ``Order`` line, or None."""
    if args[0].lower() not in ORDERS:
        return "unknown order"
    return None


def check_from(args):
    """An error message for a bad ``Allow``/``Deny`` line, or None."""
    if args[0].lower() != "from":
        return "allow and deny must be followed by 'from'"
    if len(args) < 2:
        return "Allow/Deny from needs at least one host, network or all"
    for where in args[1:]:
        try:
            _matcher(where)
        except ValueError as exc:
            return str(exc)
    return None


def check_satisfy(args):
    if args[0].lower() not in ("any", "all"):
        return "Satisfy either 'any' or 'all'."
    return None


def section_rules(directives):
    """The AccessRules of one section's directives (already checked), or
    None when it has none of them."""
    rules = None
    for d in directives:
        if d.key not in KEYS:
            continue
        if rules is None:
            rules = AccessRules()
        if d.key == "order":
            rules.order = d.args[0].lower()
        elif d.key == "satisfy":
            rules.satisfy_any = d.args[0].lower() == "any"
        else:
            target = rules.allows if d.key == "allow" else rules.denys
            target.extend(_matcher(where) for where in d.args[1:])
    return rules


def _matcher(where):
    """("all",) | ("env", name, present) | ("ip", network) | ("host", name),
    read as Apache's allow_cmd reads the word."""
    low = where.lower()
    if low == "all":
        return ("all",)
    if low.startswith("env="):
        name = where[4:]
        if name.startswith("!"):
            return ("env", name[1:], False)
        return ("env", name, True)
    if "/" in where:
        addr, _, mask = where.partition("/")
        try:
            # (a prefix length or a netmask: 10.1.0.0/16, 10.1.0.0/255.255.0.0)
            return ("ip", ipaddress.ip_network("%s/%s" % (addr, mask), strict=False))
        except ValueError:
            raise ValueError("An IP address was expected: %s" % where) from None
    network = _partial_ip(where)
    if network is not None:
        return ("ip", network)
    return ("host", low)


def _partial_ip(where):
    """A whole IPv4/IPv6 address, or one to four leading IPv4 octets (as
    APR's apr_ipsubnet_create reads "10.1"), as a network; None for a name."""
    try:
        return ipaddress.ip_network(where)
    except ValueError:
        pass
    parts = where.rstrip(".").split(".")
    if 1 <= len(parts) <= 3 and all(p.isdigit() and int(p) < 256 for p in parts):
        octets = [int(p) for p in parts] + [0] * (4 - len(parts))
        return ipaddress.ip_network("%d.%d.%d.%d/%d" % (*octets, 8 * len(parts)))
    return None


def allowed(rules, remote_ip, env, remote_host):
    """Whether ``rules`` let the client in. ``env``: the request's
    subprocess_env (a mapping); ``remote_host``: a callable giving the
    client's double-reverse DNS name or None, asked only if a host rule is
    reached."""
    client = _client_address(remote_ip)
    host = []

    def matches(matchers):
        for m in matchers:
            kind = m[0]
            if kind == "all":
                return True
            if kind == "ip":
                if client is not None and client in m[1]:
                    return True
            elif kind == "env":
                if (m[1] in env) == m[2]:
                    return True
            else:
                if not host:
                    host.append(remote_host())
                if host[0] and _in_domain(m[1], host[0]):
                    return True
        return False

    order = rules.order
    if order == ALLOW_THEN_DENY:
        return matches(rules.allows) and not matches(rules.denys)
    if order == DENY_THEN_ALLOW:
        return not matches(rules.denys) or matches(rules.allows)
    return matches(rules.allows) and not matches(rules.denys)


def _client_address(ip):
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _in_domain(domain, name):
    """Apache's in_domain: ``name`` is ``domain`` or ends with it at a dot
    (``allow from good.com`` lets in www.good.com, not nogood.com)."""
    name = name.lower()
    if not name.endswith(domain):
        return False
    if len(name) == len(domain):
        return True
    return domain.startswith(".") or name[-len(domain) - 1] == "."
