"""Appending a confidentiality statement to every body a reader will see.

text/plain parts get the statement after their text, text/html parts inside
``<body>`` before ``</body>`` (escaped), each in its own charset and
transfer encoding; both alternatives of multipart/alternative are done.
A part that already carries the statement (a reply chain) is left alone.

A signed message (S/MIME multipart/signed or application/pkcs7-mime, at any
depth, or an inline PGP signature) is never modified, since that would break
the signature: it is wrapped instead, byte for byte, as the second part of a
multipart/mixed whose first part is the statement. The recipient sees the
statement and can still verify the signature. A message with no text body
at all (only a PDF, say) is wrapped the same way, so the statement is never
missing. Attached messages (message/rfc822) are passed on untouched.

>>> out = append(b"Subject: hi\\r\\n\\r\\nHello\\r\\n", "Keep this private.")
>>> out.decode().endswith("Hello\\r\\n\\r\\nKeep this private.\\r\\n")
True
"""

from __future__ import annotations

import base64
import html
import quopri
import re
import secrets
from collections.abc import Iterator
from email import message_from_bytes
from email.generator import BytesGenerator
from email.message import Message
from email.policy import compat32
from io import BytesIO

from gateway import message as read
from gateway.message import SIGNED_TYPES

CITRUS = ("This message may contain confidential or proprietary information and is intended for the "
          "person/entity to which it was originally addressed. Any use by others is strictly prohibited.")

_POLICY = compat32.clone(linesep="\r\n")
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_SPACES = re.compile(r"\s+")


def append(content: bytes, statement: str) -> bytes:
    """The message with ``statement`` appended to each visible text body."""
    message = read.parse(content)
    return append_to(message.head, message, statement)


def append_to(head: bytes, message: read.Message, statement: str) -> bytes:
    """``head`` (``message``'s header block, perhaps edited) and ``message``'s body,
    with ``statement`` appended to each visible text body."""
    fast = _plain(head, message, statement)
    if fast is not None:
        return fast
    content = head + message.body
    parsed = message_from_bytes(content, policy=_POLICY)
    parts = list(_visible(parsed))
    if message.signed or any(p.get_content_type() in SIGNED_TYPES for p in parts):
        return wrap(content, statement)
    bodies = [p for p in parts if _is_body(p)]
    if not bodies:  # nothing a reader sees as text (only a PDF, say): the statement comes first
        return wrap(content, statement)
    changed = False
    for part in bodies:
        changed |= _append_to_part(part, statement)
    if not changed:
        return content
    out = BytesIO()
    BytesGenerator(out, mangle_from_=False, policy=_POLICY).flatten(parsed)
    return out.getvalue()


def _plain(head: bytes, message: read.Message, statement: str) -> bytes | None:
    """The common case without parsing the message: one text/plain body in 7bit
    or 8bit, the statement added after it and every other byte unchanged.
    None when the message is anything else."""
    if message.signed:
        return None
    encoding = (message.transfer_encoding or "7bit").strip().lower()
    if encoding not in ("7bit", "8bit") or (message.disposition or "").strip().lower().startswith("attachment"):
        return None
    probe = Message()
    probe["Content-Type"] = message.content_type or "text/plain"
    if probe.get_content_type() != "text/plain":
        return None
    charset = probe.get_content_charset() or "us-ascii"
    if charset.startswith(("utf-16", "utf-32", "utf16", "utf32")):
        return None
    body = message.body
    if not body.startswith((b"\r\n", b"\n")):
        return None   # no blank line after the header block: leave it to the parser
    try:
        text = body.decode(charset)
        added = statement.encode(charset)
    except (LookupError, UnicodeError):
        return None
    if encoding == "7bit" and not added.isascii():
        return None
    if _present(text, statement):
        return head + body
    newline = b"\r\n" if b"\r\n" in head or body.startswith(b"\r\n") else b"\n"
    return head + body.rstrip(b"\r\n") + newline * 2 + added + newline


def _visible(part: Message) -> Iterator[Message]:
    """The leaf parts and signed entities of the message itself, not of attached
    messages (a forwarded message is passed on as it is)."""
    kind = part.get_content_type()
    if kind in SIGNED_TYPES:
        yield part
    elif part.get_content_maintype() == "message":
        return
    elif part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _visible(sub)
    else:
        yield part


def _is_body(part: Message) -> bool:
    if part.get_content_type() not in ("text/plain", "text/html"):
        return False
    return (part.get("Content-Disposition") or "").split(";")[0].strip().lower() != "attachment"


def _present(text: str, statement: str) -> bool:
    last = statement.split()[-1] if statement.split() else ""
    if last not in text and html.escape(last) not in text:   # the usual answer, without normalising
        return False
    return _SPACES.sub(" ", statement) in _SPACES.sub(" ", html.unescape(text))


def _append_to_part(part: Message, statement: str) -> bool:
    charset = part.get_content_charset() or "us-ascii"
    raw = part.get_payload(decode=True)
    if not isinstance(raw, bytes):
        return False
    try:
        text = raw.decode(charset)
    except (LookupError, UnicodeDecodeError):
        charset, text = "utf-8", raw.decode("utf-8", "replace")
        part.set_param("charset", charset)
    if _present(text, statement):
        return False
    if part.get_content_type() == "text/html":
        block = f"<p>{html.escape(statement)}</p>"
        ends = list(_BODY_END.finditer(text))
        text = text[:ends[-1].start()] + block + text[ends[-1].start():] if ends else text + block
    else:
        newline = "\r\n" if "\r\n" in text or not text else "\n"
        text = text.rstrip("\r\n") + newline * 2 + statement + newline
    set_encoded(part, text.encode(charset, "xmlcharrefreplace" if "html" in part.get_content_type()
                                  else "replace"))
    return True


def set_encoded(part: Message, data: bytes) -> None:
    """Store ``data`` in the part's own transfer encoding."""
    encoding = (part.get("Content-Transfer-Encoding") or "7bit").strip().lower()
    if encoding == "base64":
        payload = base64.encodebytes(data).decode("ascii")
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(data).decode("ascii")
    else:
        if encoding == "7bit" and not data.isascii():
            del part["Content-Transfer-Encoding"]
            part["Content-Transfer-Encoding"] = "8bit"
        payload = data.decode("ascii", "surrogateescape")
    part.set_payload(payload)


def wrap(content: bytes, statement: str) -> bytes:
    """A multipart/mixed holding the statement, then the original body byte for byte."""
    end = _HEADER_END.search(content)
    head, body = (content[:end.start()], content[end.end():]) if end else (content, b"")
    lines = re.split(rb"\r?\n(?![ \t])", head)
    content_headers = [ln for ln in lines if ln.lower().startswith((b"content-", b"mime-version"))]
    other_headers = [ln for ln in lines if ln not in content_headers and ln]
    inner = [ln for ln in content_headers if not ln.lower().startswith(b"mime-version")]
    if not inner:
        inner = [b"Content-Type: text/plain; charset=us-ascii"]
    boundary = ("dlp-" + secrets.token_hex(12)).encode()
    crlf = b"\r\n"
    return crlf.join([
        *other_headers, b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="' + boundary + b'"', b"",
        b"--" + boundary, b"Content-Type: text/plain; charset=utf-8", b"Content-Transfer-Encoding: 8bit", b"",
        statement.encode("utf-8"), b"--" + boundary, *inner, b"", body.rstrip(b"\r\n"),
        b"--" + boundary + b"--", b""])
