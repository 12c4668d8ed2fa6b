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

_LINE_END = re.compile(rb"\r\n|\r|\n")  # one alternative per position: linear


def crlf(data: bytes) -> bytes:
    """Return ``data`` with each bare CR, bare LF or CRLF written as CRLF."""
    pairs = data.count(b"\r\n")
    if pairs == data.count(b"\r") == data.count(b"\n"):
        return data
    return _LINE_END.sub(b"\r\n", data)


def has_bare_ends(data: bytes) -> bool:
    """Return whether ``data`` has a CR or an LF that is not part of a CRLF.

    >>> has_bare_ends(b"a\\r\\nb\\r\\n"), has_bare_ends(b"a\\rb")
    (False, True)
    """
    pairs = data.count(b"\r\n")
    return not pairs == data.count(b"\r") == data.count(b"\n")
