"""Line endings as the recipient will see them: every CR, LF and CRLF becomes CRLF.

A line may end in CRLF only (RFC 5322 2.1, RFC 5321 2.3.8), but senders
write bare CR or bare LF too, and the two ends of a relay disagree on them:
a MIME parser that splits lines on LF reads a bare-CR message as one long
header with no body, while the next hop turns each lone CR into a line break
and shows the recipient an ordinary message. The gateway therefore normalises
once, at the SMTP edge, and scans and delivers the same bytes; ``scan`` does
the same, so both see what a mail client shows.

>>> crlf(b"Subject: hi\\rTo: b@x.example\\r\\rSSN\\n")
b'Subject: hi\\r\\nTo: b@x.example\\r\\n\\r\\nSSN\\r\\n'
>>> data = b"ok\\r\\n"
>>> crlf(data) is data
True
"""

from __future__ import annotations

import re
import threading

_LINE_END = re.compile(rb"\r\n|\r|\n")  # one alternative per position: linear


def crlf(data: bytes) -> bytes:
    """Return ``data`` with each bare CR, bare LF or CRLF written as CRLF."""
    if not has_bare_ends(data):
        return data
    if b"\r" not in data:  # LF line ends only (a file saved on Unix): one C pass
        return data.replace(b"\n", b"\r\n")
    return _LINE_END.sub(b"\r\n", data)


try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan wheels exist for Linux x86-64/arm64
    hyperscan = None  # type: ignore[assignment]

if hyperscan is not None:
    # A CR before anything but LF, an LF after anything but CR: one pass, the
    # first one ends it (the ends of the data are looked at apart).
    _BARE = hyperscan.Database()
    _BARE.compile(expressions=[rb"\r[^\n]|[^\r]\n"], ids=[0], flags=[hyperscan.HS_FLAG_SINGLEMATCH])
    _BARE_CR = hyperscan.Database()
    _BARE_CR.compile(expressions=[rb"\r[^\n]"], ids=[0], flags=[hyperscan.HS_FLAG_SINGLEMATCH])
_LOCAL = threading.local()  # a scratch space serves one thread at a time


def _any(database: hyperscan.Database, name: str, data: bytes) -> bool:
    scratch = getattr(_LOCAL, name, None)
    if scratch is None:
        scratch = hyperscan.Scratch(database)
        setattr(_LOCAL, name, scratch)
    found: list[int] = []
    database.scan(data, scratch=scratch, match_event_handler=lambda _id, _from, _to, _flags, _ctx: found.append(1))
    return bool(found)


def has_bare_ends(data: bytes) -> bool:
    """Return whether ``data`` has a CR or an LF that is not part of a CRLF.

    >>> has_bare_ends(b"a\\r\\nb\\r\\n"), has_bare_ends(b"a\\rb"), has_bare_ends(b"\\na"), has_bare_ends(b"a\\r")
    (False, True, True, True)
    """
    if hyperscan is None:  # pragma: no cover - as above
        pairs = data.count(b"\r\n")
        return not pairs == data.count(b"\r") == data.count(b"\n")
    return data.startswith(b"\n") or data.endswith(b"\r") or _any(_BARE, "bare", data)


def has_bare_cr(data: bytes) -> bool:
    """Return whether ``data`` has a CR that is not followed by an LF.

    >>> has_bare_cr(b"a\\r\\nb\\n"), has_bare_cr(b"a\\rb"), has_bare_cr(b"a\\r")
    (False, True, True)
    """
    if hyperscan is None:  # pragma: no cover - as above
        return data.count(b"\r") != data.count(b"\r\n")
    return data.endswith(b"\r") or _any(_BARE_CR, "bare_cr", data)
