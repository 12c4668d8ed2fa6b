"""Carrying out a verdict on the message bytes: the headers the gateway adds.

Only headers are prepended; every other byte of the message is passed on as
received (8-bit bodies, long lines, CRLF line ends).
"""

from __future__ import annotations

import re
import time
from typing import Any
from dataclasses import dataclass
from email.utils import formatdate

from gateway.pipeline import Envelope, Verdict

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LOGGED_ID_LENGTH = 200
_UNSAFE = re.compile(r"[^\x21-\x7e\u00a0-\U0010ffff]|[<>]")


@dataclass(frozen=True, slots=True)
class Trace:
    """Facts for the Received: header."""

    queue_id: str
    hostname: str
    protocol: str  # SMTP, ESMTP or UTF8SMTP (RFC 3848, RFC 6531)


_clock: list[Any] = [-1, ""]


def _date() -> str:
    """RFC 5322 date of now, formatted once per second."""
    now = int(time.time())
    if _clock[0] != now:
        _clock[:] = [now, formatdate(now, usegmt=True)]
    return str(_clock[1])


def _token(text: str) -> str:
    """Make client-supplied text safe inside a header: printable, no spaces."""
    return _UNSAFE.sub("?", text)[:255] or "unknown"


def received_header(envelope: Envelope, trace: Trace) -> bytes:
    """Return our ``Received:`` header line (RFC 5321 §4.4), CRLF-terminated."""
    helo = _token(envelope.helo)
    one = len(envelope.rcpt_tos) == 1
    recipient = f"\r\n\tfor <{_token(envelope.rcpt_tos[0])}>" if one else ""
    line = (f"Received: from {helo} ([{envelope.peer_ip}])\r\n"
            f"\tby {trace.hostname} (dlp-gateway) with {trace.protocol} id {trace.queue_id}"
            f"{recipient};\r\n\t{_date()}\r\n")
    return line.encode("utf-8", "surrogateescape")


def verdict_header(verdict: Verdict) -> bytes:
    return f"X-DLP-Verdict: {verdict.action.value}; profile={verdict.profile}\r\n".encode("ascii")


def outgoing(content: bytes, envelope: Envelope, verdict: Verdict, trace: Trace) -> bytes:
    """Return the message to relay: our headers, then the original bytes."""
    return received_header(envelope, trace) + verdict_header(verdict) + content


def message_id(content: bytes) -> str | None:
    """Return the Message-ID header of a raw message, for logs."""
    end = _HEADER_END.search(content)
    head = content[: end.start()] if end else content[:65536]
    match = _MESSAGE_ID.search(head)
    if match is None:
        return None
    return match.group(1)[:_LOGGED_ID_LENGTH].decode("ascii", "replace")
