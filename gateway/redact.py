"""Redaction: the message with chosen values masked in every body a reader sees.

Each value of a chosen entity in a text/plain or text/html part (both sides
of a multipart/alternative, nested multiparts too) becomes its masked form
(``219-45-6789`` -> ``***-**-6789``). The part keeps its charset and transfer
encoding; every other byte of the message (headers, other parts, boundaries,
preamble and epilogue) stays as received, because parts are located as byte
spans by the parser extraction uses (detectors.extract.mime) and only the
spans of changed bodies are replaced. Values are found by the detector and
replaced by presidio-anonymizer, with our masking as a custom operator.

Left as received, so the caller decides what to do with what remains:

- a signed message (multipart/signed, application/pkcs7-mime) or signed
  part, whose signature would break, and a body holding an inline PGP
  signature;
- attachments (Content-Disposition: attachment) and attached messages
  (message/rfc822), the Subject and other headers, preamble and epilogue;
- a part that cannot be read: unknown charset, transfer encoding other than
  7bit, 8bit, binary, quoted-printable or base64, or broken MIME.

HTML is scanned as its source text, so offsets map straight to the source:
a value split by tags (``219-45-<b>6789</b>``) or written with character
references is not found, nor is one split by a format=flowed soft break.
Bytes that are not valid in the declared charset are carried through as
they are. A caller that must be sure nothing remains re-scans the result.

>>> from detectors.engine import default_detector
>>> raw = b"Subject: hi\\r\\n\\r\\nSSN 219-45-6789, call 213-555-0142\\r\\n"
>>> redact(raw, default_detector(), frozenset({"US_SSN"}))
b'Subject: hi\\r\\n\\r\\nSSN ***-**-6789, call 213-555-0142\\r\\n'
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email.message import Message
from functools import cache
from typing import Any

from detectors.engine import Detector
from detectors.extract.mime import Part, parse_part, split_multipart
from detectors.findings import Finding, mask
from detectors.segments import Limits
from gateway.disclaimer import set_encoded
from gateway.message import PGP_SIGNED, SIGNED_TYPES

Edit = tuple[int, int, bytes]  # content[start:end] becomes these bytes

_BODY_TYPES = ("text/plain", "text/html")
_ENCODINGS = frozenset({"", "7bit", "8bit", "binary", "quoted-printable", "base64"})
_LIMITS = Limits()
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:([^\r\n]*(?:\r?\n[ \t][^\r\n]*)*)",
                           re.IGNORECASE | re.MULTILINE)
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_BARE_LF = re.compile(rb"(?<!\r)\n")


def redact(content: bytes, detector: Detector, entities: frozenset[str]) -> bytes:
    """Return ``content`` with each value of ``entities`` in its visible bodies masked.

    Never raises: what cannot be parsed or decoded is returned as received.
    """
    if not entities:
        return content
    # An mbox "From " line before the header, as extraction skips it.
    start = content.index(b"\n") + 1 if content.startswith(b"From ") and b"\n" in content else 0
    redactor = _Redactor(content, detector, entities)
    try:
        edits = list(redactor.entity(parse_part(content, start), start, 0))
    except Exception:  # never raise: a message we cannot parse is sent as received
        return content
    return _apply(content, edits) if edits else content


class _Redactor:
    """Walks one message's MIME tree and collects the edits of its bodies."""

    def __init__(self, buf: bytes, detector: Detector, entities: frozenset[str]) -> None:
        self.buf = buf
        self.detector = detector
        self.entities = entities

    def entity(self, part: Part, head: int, nesting: int) -> Iterator[Edit]:
        """Yield the edits for one MIME entity whose header starts at ``head``."""
        if part.content_type in SIGNED_TYPES:  # the signature covers every byte
            return
        if part.is_multipart:
            yield from self.multipart(part, nesting)
        elif part.content_type in _BODY_TYPES and part.disposition != "attachment":
            try:
                edits = self.body(part, head)
            except Exception:  # never raise: a part we cannot redact is sent as received
                edits = []
            yield from edits

    def multipart(self, part: Part, nesting: int) -> Iterator[Edit]:
        """Yield the edits for each child of a multipart."""
        if nesting >= _LIMITS.max_mime_depth:
            return
        split = split_multipart(self.buf, part, _LIMITS.max_parts)
        if split is None:
            return
        default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
        for start, end in split.children:
            yield from self.entity(parse_part(self.buf, start, end, default), start, nesting + 1)

    def body(self, part: Part, head: int) -> list[Edit]:
        """Return the edits that mask the findings of one text body, if it has any."""
        if part.encoding not in _ENCODINGS:
            return []
        data = part.body(self.buf)
        if PGP_SIGNED in data:
            return []
        charset = (part.params.get("charset") or "us-ascii").strip()
        text = data.decode(charset, "surrogateescape")  # stray bytes survive the round trip
        findings = [f for f in self.detector.find("body", text) if f.entity in self.entities]
        if not findings:
            return []
        masked = _masked(text, findings)
        original = self.buf[head:part.end]
        try:
            new = masked.encode(charset, "surrogateescape")
        except UnicodeError:  # only then does the part's header change
            header = _utf8_header(self.buf[head:part.start])
            payload = _encoded(masked.encode("utf-8", "replace"), part, original)
            return [(head, part.start, header), (part.start, part.end, payload)]
        return [(part.start, part.end, _encoded(new, part, original))]


def _masked(text: str, findings: list[Finding]) -> str:
    """Return ``text`` with each finding replaced by its masked form."""
    # Here, not at the top: presidio-anonymizer loads presidio-analyzer and spaCy,
    # which a gateway that never redacts need not load (tests/unit/detectors/test_registry).
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult  # noqa: PLC0415
    results = [RecognizerResult(entity_type=f.entity, start=f.start, end=f.end, score=f.score)
               for f in findings]
    operators = {"DEFAULT": OperatorConfig("custom", {"lambda": mask})}
    # Merging same-type neighbours would mask "a b" as one value: each keeps its own form.
    result = _engine().anonymize(text, results, operators, merge_entities_with_spaces=False)
    return str(result.text)


@cache
def _engine() -> Any:
    from presidio_anonymizer import AnonymizerEngine  # noqa: PLC0415 - as in _masked: only once something is redacted
    return AnonymizerEngine()  # type: ignore[no-untyped-call]  # the library's __init__ is unannotated


def _encoded(data: bytes, part: Part, original: bytes) -> bytes:
    """Return ``data`` in the part's transfer encoding, with ``original``'s line ends."""
    if part.encoding not in ("base64", "quoted-printable"):
        return data  # 7bit, 8bit, binary: the bytes themselves
    holder = Message()
    holder["Content-Transfer-Encoding"] = part.encoding
    set_encoded(holder, data)
    out = str(holder.get_payload()).encode("ascii")  # set_encoded stores base64 or QP as str
    if b"\r\n" in original:
        out = _BARE_LF.sub(b"\r\n", out)
    if part.encoding == "base64" and not original.endswith(b"\n"):
        out = out.rstrip(b"\r\n")  # the line end before the next boundary is already there
    return out


def _utf8_header(header: bytes) -> bytes:
    """Return a part's header block with its Content-Type charset set to utf-8."""
    found = _CONTENT_TYPE.search(header)
    holder = Message()
    value = _FOLD.sub(b"", found.group(1)).decode("latin-1").strip() if found else "text/plain"
    holder["Content-Type"] = value
    holder.set_param("charset", "utf-8")
    field = f"Content-Type: {holder['Content-Type']}".encode("latin-1", "replace")
    if found:
        return header[:found.start()] + field + header[found.end():]
    eol = b"\r\n" if b"\r\n" in header else b"\n"
    return field + eol + (header or eol)


def _apply(content: bytes, edits: list[Edit]) -> bytes:
    """Return ``content`` with each edit's span replaced by its bytes."""
    out: list[bytes] = []
    pos = 0
    for start, end, data in sorted(edits):
        out += [content[pos:start], data]
        pos = end
    out.append(content[pos:])
    return b"".join(out)
