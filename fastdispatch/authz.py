"""Require, as Apache 2.4's mod_authz_core decides it.

The Require lines of a section are an implicit <RequireAny>: one line that
grants is enough. A line that needs no user (``all``, ``ip``, ``local``)
decides before authentication; authentication runs only when no such line
grants and some line names users (``valid-user``, ``user``). When nothing
grants and no line needs a user, the answer is 403 without a password
prompt (``Require all denied``).
"""
import functools
import ipaddress

PROVIDERS = ("all", "valid-user", "user", "ip", "local")

GRANTED = "granted"
DENIED = "denied"
NEEDS_USER = "needs-user"


def check_line(args):
    """An error text for a Require line fastdispatch cannot decide, or None.
    A provider it does not know is refused at startup rather than ignored:
    an ignored Require would open what it was written to close."""
    kind = args[0].lower()
    if kind not in PROVIDERS:
        return "unknown or unsupported authorization provider %r (supported: %s)" % (
            args[0], ", ".join(PROVIDERS))
    if kind == "all" and (len(args) != 2 or args[1].lower() not in ("granted", "denied")):
        return "'Require all' takes 'granted' or 'denied'"
    if kind in ("user", "ip") and len(args) < 2:
        return "'Require %s' needs at least one argument" % kind
    if kind == "ip":
        for a in args[1:]:
            if ip_network(a) is None:
                return "%r is not an IP address or network" % a
    return None


@functools.lru_cache(maxsize=256)
def ip_network(text):
    """A ``Require ip`` argument as a network: an address, a CIDR network,
    an address/netmask, or a partial IPv4 address ("10.1" is 10.1.0.0/16)."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        pass
    parts = text.rstrip(".").split(".")
    if 0 < len(parts) < 4 and all(p.isdigit() and int(p) < 256 for p in parts):
        return ipaddress.ip_network(".".join(parts + ["0"] * (4 - len(parts)))
                                    + "/%d" % (8 * len(parts)))
    return None


def _address(text):
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        return None
    mapped = getattr(addr, "ipv4_mapped", None)
    return mapped or addr


def verdict_without_user(requires, remote_ip, local_ip):
    """GRANTED, DENIED or NEEDS_USER for a request no one has authenticated."""
    needs_user = False
    for line in requires:
        kind = line[0].lower()
        if kind == "all":
            if line[1].lower() == "granted":
                return GRANTED
        elif kind in ("valid-user", "user"):
            needs_user = True
        elif kind == "ip":
            addr = _address(remote_ip)
            if addr is not None:
                for a in line[1:]:
                    net = ip_network(a)      # (parsed once: the cache above)
                    if net.version == addr.version and addr in net:
                        return GRANTED
        elif kind == "local":
            addr = _address(remote_ip)
            if addr is not None and (addr.is_loopback or remote_ip == local_ip):
                return GRANTED
    return NEEDS_USER if needs_user else DENIED


def fixed_verdict(requires):
    """verdict_without_user when it is the same for every client (no ``ip``
    or ``local`` line that could grant), else None: worked out once per
    merged configuration instead of per request."""
    if any(line[0].lower() in ("ip", "local") for line in requires):
        return None
    return verdict_without_user(requires, "", "")


def met_by_user(user, requires):
    """Whether an authenticated ``user`` meets one of the Require lines."""
    if user is None:
        return False
    for line in requires:
        kind = line[0].lower()
        if kind == "valid-user" or (kind == "user" and user in line[1:]):
            return True
    return False
