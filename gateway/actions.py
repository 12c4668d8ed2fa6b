"""Carrying out a verdict on the message bytes: what the delivered message looks like.

The gateway adds its Received: and X-DLP-Verdict: headers; it removes the
declared purpose (the subject tag, the X-DLP-Purpose header) and records a
business-purpose exception as ``X-DLP-Exception: CODE; ref=<audit seq>``; a
disclaimer verdict appends the profile's statement. Every other byte of the
message is passed on as received (8-bit bodies, long lines, CRLF line ends).
"""

from __future__ import annotations

import re
import time
from typing import Any
from dataclasses import dataclass
from email.utils import formatdate

from gateway import disclaimer, headers
from gateway.pipeline import Action, Envelope, Verdict
from gateway.policy import purpose

_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(.*?)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LOGGED_ID_LENGTH = 200
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


def outgoing(content: bytes, envelope: Envelope, verdict: Verdict, trace: Trace) -> bytes:
    """Return the message to relay: our headers, then the original bytes."""
    return received_header(envelope, trace) + verdict_header(verdict) + content


def without_purpose(content: bytes) -> bytes:
    """The message without the declared purpose: no X-DLP-Purpose header, no
    subject tag, and no X-DLP-Exception a sender wrote (only ours may say so)."""
    content = headers.remove(content, "x-dlp-purpose")
    raw = headers.raw_value(content, "subject")   # unfolded
    tag = _RAW_TAG.search(raw) if raw is not None else None
    if raw is not None and tag is not None and not any(
            word.start() <= tag.start() < word.end() for word in _ENCODED_WORD.finditer(raw)):
        # the usual case: the subject's own bytes (8-bit too), less the tag
        cut = raw[:tag.start()] + raw[tag.end():]
        content = headers.replace_raw(content, "subject", b"Subject: " + cut.strip())
    elif raw is not None and b"=?" in raw and raw.isascii():   # the tag is encoded: decode, strip, encode
        decoded = headers.value(content, "subject") or ""
        stripped = purpose.strip_tag(decoded)
        if stripped != decoded.strip():
            content = headers.replace(content, "subject", stripped, "Subject")
    return headers.remove(content, "x-dlp-exception")


def exception_header(verdict: Verdict, ref: int) -> bytes:
    return f"X-DLP-Exception: {verdict.purpose}; ref={ref}\r\n".encode("ascii")


def deliverable(content: bytes, verdict: Verdict, exception_ref: int | None = None) -> bytes:
    """The message as it is delivered (before our trace headers)."""
    if verdict.declared is not None or b"x-dlp-" in headers.split(content)[0].lower():
        content = without_purpose(content)
    if verdict.action is Action.DISCLAIMER and verdict.statement:
        content = disclaimer.append(content, verdict.statement)
    if exception_ref is not None:
        content = exception_header(verdict, exception_ref) + content
    return content


def message_id(content: bytes) -> str | None:
    """Return the Message-ID header of a raw message, for logs."""
    end = _HEADER_END.search(content)
    head = content[: end.start()] if end else content[:65536]
    match = _MESSAGE_ID.search(head)
    if match is None:
        return None
    return match.group(1)[:_LOGGED_ID_LENGTH].decode("ascii", "replace")
