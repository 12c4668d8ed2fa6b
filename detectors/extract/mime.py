"""MIME on bytes: headers, parameters, multipart boundaries and transfer encodings.

A light parser for what extraction needs, not a general one: it reads four
header fields (Subject, Content-Type, Content-Transfer-Encoding,
Content-Disposition) and locates bodies as offsets into the original bytes,
so nothing is copied until a part is decoded, and only parts that can hold
text are. It is lenient the way mail readers are (RFC 2045-2047, 2231, 5322):
a line that is not a header field ends the header (the rest is body), a
missing Content-Type means text/plain, broken base64 decodes what it can.

>>> raw = b"Subject: hi\\r\\nContent-Type: text/plain; charset=\\"utf-8\\"\\r\\n\\r\\nbody"
>>> part = parse_part(raw)
>>> part.content_type, part.params["charset"], part.body(raw)
('text/plain', 'utf-8', b'body')
>>> decode_header(b"=?iso-8859-1?q?Caf=E9?= =?utf-8?b?4oCU?= ok")
'Café— ok'
>>> params("attachment; filename*=UTF-8''%E2%82%AC%20rates.csv")["filename"]
'€ rates.csv'
"""

from __future__ import annotations

import binascii
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.extract.text import decode_text

_FIELD_NAMES = rb"(subject|content-type|content-transfer-encoding|content-disposition)"
_FIELD_VALUE = rb"[ \t]*:(.*(?:\r?\n[ \t].*)*)"
_FIELDS = re.compile(rb"\n" + _FIELD_NAMES + _FIELD_VALUE, re.IGNORECASE)  # "\n" first: fast scan
_FIRST_FIELD = re.compile(_FIELD_NAMES + _FIELD_VALUE, re.IGNORECASE)
_FIELD_START = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")
_NOT_HEADER_LINE = re.compile(rb"\n(?![\x21-\x39\x3b-\x7e]+[ \t]*:|[ \t])")
_BLANK_LINE = re.compile(rb"\n\r?\n")
_FOLD = re.compile(rb"\r?\n(?=[ \t])")
_LINE_REST = re.compile(rb"[ \t]*(?:\r?\n|\r?\Z)")
_PARAM = re.compile(r';\s*([^\s=;"]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"?|[^;]*))?')
_QUOTED_PAIR = re.compile(r"\\(.)")
_CONTINUATION = re.compile(r"^(.*?)\*(\d+)\*?$")
_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?]*)\?=")
_SPACE_BETWEEN_WORDS = re.compile(r"(?<=\?=)[ \t\r\n]+(?==\?)")
_NOT_B64 = re.compile(rb"[^A-Za-z0-9+/]")
_DECODING = ("base64", "quoted-printable")
_MULTIPART = re.compile(rb"\s*multipart/", re.IGNORECASE)
_BOUNDARY = re.compile(r';\s*boundary\s*=\s*("[^"]*"?|[^;]*)', re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Split:
    """Where a multipart's children lie, and its hidden preamble and epilogue."""

    children: list[tuple[int, int]]
    hidden: list[tuple[int, int]]
    truncated: bool


@dataclass(frozen=True, slots=True)
class Part:
    """One MIME entity: the header fields extraction needs and its body's span."""

    content_type: str = "text/plain"
    params: Mapping[str, str] = field(default_factory=dict)
    disposition: str = ""
    disposition_params: Mapping[str, str] = field(default_factory=dict)
    encoding: str = ""
    subject: bytes | None = None
    start: int = 0
    end: int = 0
    other_encoding: str = ""  # a second, different Content-Transfer-Encoding field
    boundaries: tuple[str, ...] = ()  # every boundary parameter, in order

    def body(self, buf: bytes) -> bytes:
        """Return this part's body decoded from its transfer encoding.

        With two different encodings declared, readers differ on which one
        counts: a text part is decoded both ways (joined by a blank line),
        anything else by the one that is not an identity.
        """
        first = decode_transfer(buf, self.start, self.end, self.encoding)
        if not self.other_encoding:
            return first
        second = decode_transfer(buf, self.start, self.end, self.other_encoding)
        if self.content_type.startswith("text/"):
            return first + b"\n\n" + second
        return second if self.encoding not in _DECODING else first

    @property
    def filename(self) -> str | None:
        """Return the decoded file name, from Content-Disposition or Content-Type."""
        name = self.disposition_params.get("filename") or self.params.get("name")
        return decode_words(name).strip() if name else None

    @property
    def is_multipart(self) -> bool:
        """Return whether this part is a multipart container."""
        return self.content_type.startswith("multipart/")


def parse_part(
    buf: bytes, start: int = 0, end: int | None = None, default_type: str = "text/plain"
) -> Part:
    """Return the Part whose header starts at ``start`` in ``buf``."""
    end = len(buf) if end is None else end
    header_end, body_start = _header_span(buf, start, end)
    fields = _fields(buf, start, header_end)
    ctype, ctype_params = _split_field(fields.get(b"content-type"))
    if "/" not in ctype:
        ctype = default_type
    disposition, disposition_params = _split_field(fields.get(b"content-disposition"))
    encoding = _unfold(fields.get(b"content-transfer-encoding", b"")).decode("latin-1")
    other = _unfold(fields.get(b"content-transfer-encoding+", b"")).decode("latin-1").strip().lower()
    raw_type = _unfold(fields.get(b"content-type", b"")).decode("latin-1")
    boundaries = tuple(v.strip().strip('"') for v in _BOUNDARY.findall(raw_type))
    return Part(
        content_type=ctype,
        params=ctype_params,
        disposition=disposition,
        disposition_params=disposition_params,
        encoding=encoding.strip().lower(),
        subject=_unfold(fields[b"subject"]).strip() if b"subject" in fields else None,
        start=body_start,
        end=end,
        other_encoding=other if other != encoding.strip().lower() else "",
        boundaries=boundaries,
    )


def split_multipart(buf: bytes, part: Part, max_parts: int) -> Split | None:
    """Return the spans of a multipart's children, preamble and epilogue.

    None when the boundary never occurs. A missing close delimiter ends the
    last child at the end of the part (a truncated message); children past
    ``max_parts`` are dropped and the Split says so.
    """
    for boundary in dict.fromkeys((part.params.get("boundary", ""), *part.boundaries)):
        split = _split(buf, part, boundary, max_parts) if boundary else None
        if split is not None:  # readers differ on which boundary counts: the first that occurs
            return split
    return None


def _split(buf: bytes, part: Part, boundary: str, max_parts: int) -> Split | None:
    """Return split_multipart's answer for one boundary."""
    delimiter = b"--" + boundary.encode("latin-1", "replace")
    children: list[tuple[int, int]] = []
    hidden: list[tuple[int, int]] = []
    child_start = -1
    pos = part.start
    while (found := _find_delimiter(buf, delimiter, pos, part.end)) is not None:
        line_start, pos, closing = found
        if child_start < 0:
            hidden.append((part.start, _before_newline(buf, line_start, part.start)))
        elif len(children) == max_parts:
            return Split(children, hidden, truncated=True)
        else:
            children.append((child_start, _before_newline(buf, line_start, child_start)))
        child_start = pos
        if closing:
            hidden.append((pos, part.end))
            return Split(children, hidden, truncated=False)
    if child_start < 0:
        return None
    if len(children) == max_parts:
        return Split(children, hidden, truncated=True)
    children.append((child_start, part.end))
    return Split(children, hidden, truncated=False)


def decode_transfer(buf: bytes, start: int, end: int, encoding: str) -> bytes:
    """Return ``buf[start:end]`` decoded from a Content-Transfer-Encoding."""
    view = memoryview(buf)[start:end]
    if encoding == "base64":
        return decode_base64(view)
    if encoding == "quoted-printable":
        return binascii.a2b_qp(view)
    return bytes(view)


def decode_base64(data: bytes | memoryview) -> bytes:
    """Return base64 ``data`` decoded, repairing bad padding instead of failing."""
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        clean = _NOT_B64.sub(b"", data)
        extra = len(clean) % 4
        clean = clean[:-1] if extra == 1 else clean + b"=" * ((4 - extra) % 4)
        return binascii.a2b_base64(clean)


def decode_header(raw: bytes) -> str:
    """Return a header value as text: raw 8-bit bytes and RFC 2047 words decoded."""
    return decode_words(decode_text(raw, None))


def decode_words(value: str) -> str:
    """Return ``value`` with RFC 2047 encoded-words decoded; adjacent words join."""
    if "=?" not in value:
        return value
    value = _SPACE_BETWEEN_WORDS.sub("", value)
    out: list[str] = []
    pending: list[bytes] = []
    charset = ""
    pos = 0
    for match in _WORD.finditer(value):
        word_charset = match.group(1).split("*", 1)[0]
        if match.start() > pos or word_charset.lower() != charset.lower():
            out.append(decode_text(b"".join(pending), charset))
            pending = []
            out.append(value[pos : match.start()])
        charset = word_charset
        pending.append(_decode_word(match.group(2), match.group(3)))
        pos = match.end()
    out.append(decode_text(b"".join(pending), charset))
    out.append(value[pos:])
    return "".join(out)


def params(value: str) -> dict[str, str]:
    """Return the parameters of a structured field value; RFC 2231 names join.

    Names are lowercased and the first occurrence wins; values are unquoted.
    """
    simple: dict[str, str] = {}
    pieces: dict[str, list[tuple[int, bool, str]]] = {}
    for match in _PARAM.finditer(value):
        name, raw = match.group(1).lower(), (match.group(2) or "").strip()
        if raw.startswith('"'):
            raw = raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:]
            raw = _QUOTED_PAIR.sub(r"\1", raw) if "\\" in raw else raw
        if "*" not in name:
            simple.setdefault(name, raw)
        elif continued := _CONTINUATION.match(name):
            number, encoded = int(continued.group(2)), name.endswith("*")
            pieces.setdefault(continued.group(1), []).append((number, encoded, raw))
        else:
            pieces.setdefault(name.rstrip("*"), []).append((0, True, raw))
    for name, parts in pieces.items():
        simple[name] = _join_rfc2231(sorted(parts))
    return simple


def _join_rfc2231(parts: list[tuple[int, bool, str]]) -> str:
    """Return one RFC 2231 parameter from its numbered, maybe %-encoded pieces."""
    raw = "".join(
        urllib.parse.unquote(text, encoding="latin-1") if encoded else text
        for _, encoded, text in parts
    )
    if not any(encoded for _, encoded, _ in parts) or raw.count("'") < 2:
        return raw
    charset, _, text = raw.split("'", 2)
    return decode_text(text.encode("latin-1", "replace"), charset or None)


def _decode_word(kind: str, text: str) -> bytes:
    """Return the bytes of one encoded-word's payload (B or Q encoding)."""
    data = text.encode("utf-8")
    if kind in "bB":
        return decode_base64(data)
    return binascii.a2b_qp(data, header=True)


def _header_span(buf: bytes, start: int, end: int) -> tuple[int, int]:
    """Return where a part's header ends and where its body starts."""
    if buf.startswith(b"\n", start, end) or buf.startswith(b"\r\n", start, end):
        return start, buf.index(b"\n", start) + 1
    if not _FIELD_START.match(buf, start, end):
        return start, start
    blank = _BLANK_LINE.search(buf, start, end)
    header_end = blank.start() if blank else end
    stray = _NOT_HEADER_LINE.search(buf, start, header_end)
    if stray:
        return stray.start(), stray.start() + 1
    return header_end, blank.end() if blank else end


def _fields(buf: bytes, start: int, end: int) -> dict[bytes, bytes]:
    """Return the wanted header fields in ``buf[start:end]``, first occurrence each.

    Readers disagree on repeated fields, so the one that shows more wins: a
    multipart Content-Type over a single-part one, and a second, different
    Content-Transfer-Encoding is kept as ``content-transfer-encoding+``.
    """
    fields: dict[bytes, bytes] = {}
    found: list[tuple[bytes, bytes]] = []
    if start > 0 and buf[start - 1] == 0x0A:
        start -= 1
    elif first := _FIRST_FIELD.match(buf, start, end):
        found.append((first.group(1).lower(), first.group(2)))
    found.extend((m.group(1).lower(), m.group(2)) for m in _FIELDS.finditer(buf, start, end))
    for name, value in found:
        if name not in fields:
            fields[name] = value
        elif name == b"content-type" and _MULTIPART.match(value) and not _MULTIPART.match(fields[name]):
            fields[name] = value
        elif name == b"content-transfer-encoding":
            fields.setdefault(name + b"+", value)
    return fields


def _split_field(raw: bytes | None) -> tuple[str, dict[str, str]]:
    """Return a structured field's lowercased value and its parameters."""
    if raw is None:
        return "", {}
    text = _unfold(raw).decode("latin-1")
    value, _, _ = text.partition(";")
    return value.strip().lower(), params(text[len(value) :]) if ";" in text else {}


def _unfold(raw: bytes) -> bytes:
    """Return a header value with its folding line breaks removed."""
    return _FOLD.sub(b"", raw) if b"\n" in raw else raw.rstrip(b"\r")


def _find_delimiter(
    buf: bytes, delimiter: bytes, line: int, end: int
) -> tuple[int, int, bool] | None:
    """Return (line start, next line start, closing?) of the next boundary line.

    ``line`` is where the search starts, at the start of a line.
    """
    pos = line
    while (i := buf.find(delimiter, pos, end)) >= 0:
        pos = i + len(delimiter)
        closing = buf.startswith(b"--", pos, end)
        rest = _LINE_REST.match(buf, pos + 2 if closing else pos, end)
        if rest and (i == line or buf[i - 1] == 0x0A):
            return i, rest.end(), closing
    return None


def _before_newline(buf: bytes, line_start: int, floor: int) -> int:
    """Return the end of the content before a delimiter line (its CRLF excluded)."""
    end = line_start
    if end > floor and buf[end - 1] == 0x0A:
        end -= 1
        if end > floor and buf[end - 1] == 0x0D:
            end -= 1
    return end
