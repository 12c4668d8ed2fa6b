"""The delivery edits: what a delivered (or released) message looks like.

The gateway adds its Received: and X-DLP-Verdict: headers; it removes the
declared purpose (the subject tag, the X-DLP-Purpose header) and records a
business-purpose exception as ``X-DLP-Exception: CODE; ref=<audit seq>``; a
disclaimer verdict appends the profile's statement. Every other byte of the
message is passed on as received (8-bit bodies, long lines, CRLF line ends).
Every edit works from the one reading of the header block (gateway.message):
the fields removed and the subject rewritten in one pass over it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from email.utils import formatdate
from typing import Any

from gateway import disclaimer, headers
from gateway.message import Message, parse
from gateway.policy import purpose
from gateway.verdict import Action, Envelope, Verdict

_ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_RAW_TAG = re.compile(rb"[ \t]*\[purpose:[ \t]*[A-Za-z0-9-]+[ \t]*\]", re.IGNORECASE)
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
    monitor = f"; monitor={verdict.monitored.value}" if verdict.monitored is not None else ""
    return f"X-DLP-Verdict: {verdict.action.value}; profile={verdict.profile}{monitor}\r\n".encode("ascii")


def outgoing(body: bytes, envelope: Envelope, verdict: Verdict, trace: Trace,
             exception_ref: int | None = None) -> bytes:
    """Return the message to relay: our headers (and the audited exception's), then the body."""
    return trace_headers(envelope, verdict, trace, exception_ref) + body


def trace_headers(envelope: Envelope, verdict: Verdict, trace: Trace, exception_ref: int | None = None) -> bytes:
    """Our header lines that go before a delivered body (``outgoing``), CRLF-terminated:
    the relay writes them and the body without joining them."""
    exception = exception_header(verdict, exception_ref) if exception_ref is not None else b""
    return b"".join((received_header(envelope, trace), verdict_header(verdict), exception))


def without_purpose(content: bytes) -> bytes:
    """The message without the declared purpose: no X-DLP-Purpose header, no
    subject tag, and no X-DLP-Exception a sender wrote (only ours may say so)."""
    message = parse(content)
    head = _head(message, ("x-dlp-purpose", "x-dlp-exception"))
    return content if head is None else _joined(head, message)


def _joined(head: bytes, message: Message) -> bytes:
    """``head`` and ``message``'s body in one copy (no slice of the body first)."""
    return b"".join((head, memoryview(message.raw)[message.head_end:]))


def _head(message: Message, drop: tuple[str, ...]) -> bytes | None:
    """The header block without the fields in ``drop`` and without the subject's
    purpose tag; None when that is the header block as received."""
    raw = message.raw_value("subject")   # unfolded
    tag = _RAW_TAG.search(raw) if raw is not None else None
    lines: dict[str, bytes] = {}
    if raw is not None and tag is not None and not any(
            word.start() <= tag.start() < word.end() for word in _ENCODED_WORD.finditer(raw)):
        # the usual case: the subject's own bytes (8-bit too), less the tag
        lines["subject"] = b"Subject: " + (raw[:tag.start()] + raw[tag.end():]).strip()
    elif raw is not None and b"=?" in raw and raw.isascii():   # the tag is encoded: decode, strip, encode
        decoded = message.subject or ""
        stripped = purpose.strip_tag(decoded)
        if stripped != decoded.strip():
            lines["subject"] = headers.encoded_line("Subject", stripped)
    if not lines and not any(name in drop for name, _, _ in message.fields):
        return None
    return headers.rebuilt(message.head, message.fields, drop, lines)


def exception_header(verdict: Verdict, ref: int) -> bytes:
    return f"X-DLP-Exception: {verdict.purpose}; ref={ref}\r\n".encode("ascii")


def deliverable(message: Message, verdict: Verdict) -> bytes:
    """The message as it is delivered (before our trace headers and the exception's):
    a redact verdict's masked message, without the declared purpose, with a
    disclaimer verdict's statement."""
    message = verdict.redacted if verdict.action is Action.REDACT and verdict.redacted is not None else message
    strip = verdict.declared is not None or message.dlp
    statement = verdict.statement if verdict.action is Action.DISCLAIMER else None
    return _edited(message, ("x-dlp-purpose", "x-dlp-exception") if strip else (), statement)


def released(content: bytes, statement: str | None) -> bytes:
    """A held message as a release delivers it: the same edits as delivery, and
    no X-DLP-* field at all (one the sender wrote may predate the edge's removal)."""
    message = parse(content)
    if b"x-dlp-" in message.head.lower():   # a field, or a lone CR before one inside another field
        message = parse(headers.without_dlp(content))
    return _edited(message, ("x-dlp-purpose", "x-dlp-exception"), statement)


def _edited(message: Message, drop: tuple[str, ...], statement: str | None) -> bytes:
    """The message with its edits; the received bytes themselves when there are
    none (no copy: a large message is often delivered as it came)."""
    head = _head(message, drop) if drop else None
    if statement:
        return disclaimer.append_to(message.head if head is None else head, message, statement)
    return message.raw if head is None else _joined(head, message)
