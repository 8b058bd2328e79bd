"""HTTP dates read as Apache reads them (APR's ``apr_date_parse_http``).

Apache compares If-Modified-Since, If-Unmodified-Since and If-Range dates
with this parser, and a date it cannot read is as if the header were
absent. It is stricter than ``email.utils``: the month is ``Jan`` (capital,
then lower case), the time is followed by a space (a zone, ignored: the
time is GMT), and only three layouts are read, after the weekday (which is
skipped up to its space, whatever it says):

* RFC 1123: ``06 Nov 1994 08:49:37 GMT`` (or a one-digit day ``6 Nov ...``);
* RFC 850: ``06-Nov-94 08:49:37 GMT`` (a two-digit year: 70-99 are 19xx);
* asctime: ``Nov  6 08:49:37 1994`` (the day padded with a space).
"""
import calendar
import re

_MONTHS = {m: i for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1)}

# APR's masks: '#' a digit, '@' an upper-case letter, '$' a lower-case one,
# '~' a space or a digit; what follows the mask is not looked at
_RFC1123 = re.compile(r"(\d\d) ([A-Z][a-z][a-z]) (\d\d)(\d\d) (\d\d):(\d\d):(\d\d) ")
_RFC1123_1 = re.compile(r"(\d) ([A-Z][a-z][a-z]) (\d\d)(\d\d) (\d\d):(\d\d):(\d\d) ")
_RFC850 = re.compile(r"(\d\d)-([A-Z][a-z][a-z])-()(\d\d) (\d\d):(\d\d):(\d\d) ")
_ASCTIME = re.compile(r"([A-Z][a-z][a-z]) ([ \d]\d) (\d\d):(\d\d):(\d\d) (\d\d)(\d\d)")

_MONTH_DAYS = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def parse_http_date(value):
    """Seconds since the epoch for an HTTP date, or None where Apache's
    parser refuses it (then the header counts as not sent)."""
    if not value:
        return None
    value = value.lstrip(" \t\r\n\v\f")
    space = value.find(" ")
    if not value or space < 0:
        return None
    date = value[space + 1:]
    m = _RFC1123.match(date) or _RFC1123_1.match(date)
    if m is not None:
        day, month, century, year, hh, mm, ss = m.groups()
        if int(century) < 19:
            return None
        year = int(century) * 100 + int(year)
    else:
        m = _RFC850.match(date)
        if m is not None:
            day, month, _, year, hh, mm, ss = m.groups()
            year = int(year)
            year += 1900 if year >= 70 else 2000
        else:
            m = _ASCTIME.match(date)
            if m is None:
                return None
            month, day, hh, mm, ss, century, year = m.groups()
            if int(century) < 19:
                return None
            year = int(century) * 100 + int(year)
    day, hh, mm, ss = int(day), int(hh), int(mm), int(ss)
    month = _MONTHS.get(month)
    if month is None or not 0 < day <= _MONTH_DAYS[month] or hh > 23 or mm > 59 or ss > 61:
        return None
    if month == 2 and day == 29 and not calendar.isleap(year):
        return None
    return calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0))
