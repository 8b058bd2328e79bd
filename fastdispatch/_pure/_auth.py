"""Basic credentials (pure-Python twin of src/_auth.pyx).

This module is the readable specification of ``fastdispatch._auth``; the
compiled module gives the same results.

``parse_basic(value)``        "Basic dXNlcjpwdw==" -> ("user", "pw"), or None
``basic_challenge(realm)``    'Basic realm="..."' for WWW-Authenticate
"""

# RFC 4648 section 4, "base64" (not the URL-safe alphabet).
_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE = {byte: index for index, byte in enumerate(_ALPHABET)}

_OWS = " \t"


def _b64decode_strict(token):
    """Decode RFC 4648 base64 strictly, or return None.

    The length is a multiple of 4; every character is in the alphabet except
    "=" padding, which only ends the last quantum, one "=" after 3 data
    characters or two after 2. (Non-zero pad bits are accepted, as
    base64.b64decode(validate=True) and Apache do.)
    """
    try:
        data = token.encode("ascii")
    except UnicodeEncodeError:
        return None
    if len(data) % 4:
        return None
    padding = len(data) - len(data.rstrip(b"="))
    if padding > 2:
        return None
    out = bytearray()
    for start in range(0, len(data), 4):
        quantum = data[start:start + 4]
        if start + 4 == len(data) and padding:
            quantum = quantum[:4 - padding]
        bits = 0
        for byte in quantum:
            value = _VALUE.get(byte)
            if value is None:          # outside the alphabet, or "=" inside
                return None
            bits = (bits << 6) | value
        if len(quantum) == 4:
            out += bits.to_bytes(3, "big")
        elif len(quantum) == 3:        # 18 bits: 2 bytes and 2 pad bits
            out += (bits >> 2).to_bytes(2, "big")
        else:                          # 12 bits: 1 byte and 4 pad bits
            out.append(bits >> 4)
    return bytes(out)


def parse_basic(value):
    """(user, password) from an Authorization header value, or None.

    The value is ``Basic`` (any case), a SP, any more SP/HTAB, then the
    base64 token; OWS around the whole value is ignored. The decoded bytes
    are split at the first ":" and decoded as latin-1 (mod_python on
    Python 3). None for: no header, another scheme, bad base64, no colon.
    An empty user or password ("Og==" is ":") is returned as "".
    """
    if value is None:
        return None
    value = value.strip(_OWS)
    # the scheme ends at the first SP, as Apache's ap_getword(' ') splits it
    # ("Basic<HTAB>token" is no Basic credential); SP/HTAB may follow
    scheme_end = value.find(" ")
    if scheme_end < 0:
        return None                 # no space after the scheme
    scheme = value[:scheme_end]
    if not (scheme.isascii() and scheme.lower() == "basic"):
        return None
    token = value[scheme_end:].lstrip(_OWS)
    decoded = _b64decode_strict(token)
    if decoded is None:
        return None
    user, colon, password = decoded.partition(b":")
    if not colon:
        return None
    return user.decode("latin-1"), password.decode("latin-1")


def basic_challenge(realm):
    """The WWW-Authenticate value asking for Basic credentials in ``realm``.

    The realm is a quoted-string (RFC 9110 5.6.4): "\\" and '"' are escaped
    with a backslash. A control character other than HTAB (CR, LF, NUL, DEL,
    ...) cannot be sent in a header -> ValueError.
    """
    for char in realm:
        if (char < " " and char != "\t") or char == "\x7f":
            raise ValueError("control character in realm: %r" % realm)
    escaped = realm.replace("\\", "\\\\").replace('"', '\\"')
    return 'Basic realm="%s"' % escaped
