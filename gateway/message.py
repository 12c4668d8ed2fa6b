"""One message as the gateway read it: its bytes, and what every stage needs from
its header block, read once.

The SMTP edge builds a Message from what it received (``received``): line ends
made CRLF, any ``X-DLP-*`` field of the sender's but the declared purpose
removed (gateway.headers), then the header block is split and its fields
located in one pass. The pipeline reads the subject and the declared purpose
from it, the actions the Message-ID, the delivery edits (gateway.edits) the
field offsets and content headers; nobody splits the header block again.

>>> m = parse(b"Message-ID: <1@x>\\r\\nSubject: =?utf-8?q?r=C3=A9sum=C3=A9?= [purpose:collections]\\r\\n\\r\\nhi\\r\\n")
>>> m.message_id, m.subject, m.purpose, m.signed, m.body
('<1@x>', 'résumé [purpose:collections]', None, False, b'\\r\\nhi\\r\\n')
>>> received(b"X-DLP-Verdict: deliver\\nX-DLP-Purpose: legal\\nSubject: hi\\n\\nbody\\n").raw
b'X-DLP-Purpose: legal\\r\\nSubject: hi\\r\\n\\r\\nbody\\r\\n'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message as _EmailMessage

from detectors.extract.lines import crlf
from gateway import headers

SIGNED_TYPES = ("multipart/signed", "application/pkcs7-mime", "application/x-pkcs7-mime")
PGP_SIGNED = b"-----BEGIN PGP SIGNED MESSAGE-----"
_MESSAGE_ID = b"message-id:"
_LOGGED_ID_LENGTH = 200
# The fields read here, first occurrence each.
_READ = ("message-id", "subject", headers.PURPOSE, "content-type", "content-transfer-encoding",
         "content-disposition")

Field = tuple[str, int, int]   # lower-cased name, start, end: offsets into the header block


@dataclass(frozen=True, slots=True)
class Message:
    """A message's bytes and what its header block says, read once."""

    raw: bytes = field(repr=False)
    head_end: int                        # raw[:head_end]: the header block, with its last line end
    fields: tuple[Field, ...] = field(repr=False)
    message_id: str | None               # as written (unmasked: the retry key's), at most 200 characters
    subject: str | None                  # decoded (RFC 2047)
    purpose: str | None                  # the X-DLP-Purpose field, decoded
    content_type: str | None             # the top-level content fields, decoded (for the disclaimer)
    transfer_encoding: str | None
    disposition: str | None
    signed: bool                         # S/MIME at the top, or an inline PGP signature anywhere
    dlp: bool                            # some X-DLP-* field is present

    @property
    def head(self) -> bytes:
        return self.raw[:self.head_end]

    @property
    def body(self) -> bytes:
        """Everything after the header block (from the blank line's line end on)."""
        return self.raw[self.head_end:]

    @property
    def size(self) -> int:
        return len(self.raw)

    def raw_value(self, name: str) -> bytes | None:
        """The first ``name`` field's raw value, unfolded."""
        for field_name, start, end in self.fields:
            if field_name == name:
                return headers.unfold(self.raw[start:end].split(b":", 1)[1])
        return None

    def with_raw(self, raw: bytes) -> Message:
        """The same message with other bytes after the same header block (a redacted body);
        read anew when the header block differs."""
        if raw[:self.head_end] != self.head:
            return parse(raw)
        return Message(raw, self.head_end, self.fields, self.message_id, self.subject, self.purpose,
                       self.content_type, self.transfer_encoding, self.disposition,
                       self.signed or PGP_SIGNED in raw, self.dlp)


def received(data: bytes) -> Message:
    """A message as the gateway takes it from a sender: CRLF line ends, no ``X-DLP-*``
    field but the declared purpose (which the pipeline reads and delivery removes)."""
    content = crlf(data)
    message = parse(content)
    if message.dlp and any(name.startswith("x-dlp-") and name != headers.PURPOSE
                           for name, _, _ in message.fields):
        message = parse(headers.from_sender(content))   # forged fields: rare, read once more
    return message


def parse(content: bytes) -> Message:
    """Read ``content``'s header block once."""
    head = content[:headers.head_end(content)]   # not the body: it may be megabytes
    found = tuple(headers.fields(head))
    first: dict[str, tuple[int, int]] = {}
    dlp = False
    for name, start, end in found:
        if name in _READ and name not in first:
            first[name] = (start, end)
        dlp = dlp or name.startswith("x-dlp-")

    def value(name: str) -> str | None:
        span = first.get(name)
        return None if span is None else headers.decoded(headers.unfold(head[span[0]:span[1]].split(b":", 1)[1]))

    kind = value("content-type")
    return Message(content, len(head), found, _message_id(head, first.get("message-id")), value("subject"),
                   value(headers.PURPOSE), kind, value("content-transfer-encoding"),
                   value("content-disposition"), _signed(content, kind), dlp)


def _message_id(head: bytes, span: tuple[int, int] | None) -> str | None:
    """The first line of the Message-ID field, trimmed and cut to 200 characters."""
    if span is None or head[span[0]:span[0] + len(_MESSAGE_ID)].lower() != _MESSAGE_ID:
        return None
    line = head[span[0] + len(_MESSAGE_ID):span[1]].split(b"\n", 1)[0]
    return line.rstrip(b"\r").strip(b" \t")[:_LOGGED_ID_LENGTH].decode("ascii", "replace")


def _signed(content: bytes, kind: str | None) -> bool:
    if PGP_SIGNED in content:
        return True
    lowered = (kind or "").lower()
    if "signed" not in lowered and "pkcs7" not in lowered:
        return False
    probe = _EmailMessage()
    probe["Content-Type"] = lowered
    return probe.get_content_type() in SIGNED_TYPES
