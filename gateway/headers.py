"""Reading and editing the header block of a raw message, leaving the rest as is.

The gateway changes only what a verdict asks for (the purpose tag in Subject,
the X-DLP-Purpose header); every other byte passes on as received.

>>> raw = b"Subject: March [purpose:collections]\\r\\nX-DLP-Purpose: x\\r\\n\\tfolded\\r\\n\\r\\nbody\\r\\n"
>>> value(raw, "subject")
'March [purpose:collections]'
>>> value(b"Subject: =?x-unknown?B?U1NOIDIxOS00NS02Nzg5?=\\r\\n\\r\\n", "subject")   # as the scanner reads it
'SSN 219-45-6789'
>>> remove(raw, "x-dlp-purpose")
b'Subject: March [purpose:collections]\\r\\n\\r\\nbody\\r\\n'

``X-DLP-*`` fields are the gateway's own: the ones a sender wrote are removed at
the edge (all but the purpose the sender may declare) and again on release.

>>> forged = b"X-DLP-Verdict: deliver\\r\\nSubject: hi\\rX-Dlp-Released-By: boss\\r\\nX-DLP-Purpose: collections\\r\\n\\r\\nb"
>>> from_sender(forged)
b'Subject: hi X-Dlp-Released-By: boss\\r\\nX-DLP-Purpose: collections\\r\\n\\r\\nb'
>>> without_dlp(forged)
b'Subject: hi X-Dlp-Released-By: boss\\r\\n\\r\\nb'
"""

from __future__ import annotations

import re
from email.header import Header, decode_header, make_header

from detectors.extract.mime import decode_words

# The blank line after the header block, found from its first line end: a pattern that begins
# with a literal is searched for that byte, one that begins with an optional CR is tried at
# every byte of the header block (about ten times slower).
_END = re.compile(rb"\n\r?\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
_BREAKS = re.compile(rb"[\r\n]+")
_MAX_LINE = 998
_FOLDED = re.compile(rb"\r?\n[ \t]")
_FIELD = re.compile(rb"([!-9;-~]+)[ \t]*:")   # at the block's start (match) or after a line feed:
_NEXT_FIELD = re.compile(rb"\n([!-9;-~]+)[ \t]*:")   # as a MULTILINE "^", the line feed searched for
_DLP = b"x-dlp-"
# A CR alone ends a line for some parsers (Python's email package): before "X-DLP-" it would start a field.
_CR_BEFORE_DLP = re.compile(rb"\r(?!\n)(?=x-dlp-)", re.IGNORECASE)
PURPOSE = "x-dlp-purpose"


def split(content: bytes) -> tuple[bytes, bytes]:
    """The header block (with its last line end) and everything after it."""
    cut = head_end(content)
    return (content, b"") if cut == len(content) else (content[:cut], content[cut:])


def head_end(content: bytes) -> int:
    """Where the header block ends (after its last line end): ``split`` without
    copying the body."""
    end = _END.search(content)
    return len(content) if end is None else end.start() + 1


def fields(head: bytes) -> list[tuple[str, int, int]]:
    """Each header field as (lower-cased name, start, end) offsets into ``head``."""
    out: list[tuple[str, int, int]] = []
    lower = head.lower()   # a name's bytes lower-cased stay in _FIELD's class
    first = _FIELD.match(lower)
    name, start = ("", -1) if first is None else (first.group(1).decode("ascii"), 0)
    for m in _NEXT_FIELD.finditer(lower):
        if start >= 0:
            out.append((name, start, m.start() + 1))
        name, start = m.group(1).decode("ascii"), m.start() + 1
    if start >= 0:
        out.append((name, start, len(head)))
    return out


def raw_value(content: bytes, name: str) -> bytes | None:
    """The first ``name`` field's raw value, unfolded, or None."""
    head, _ = split(content)
    for field_name, start, end in fields(head):
        if field_name == name:
            return unfold(head[start:end].split(b":", 1)[1])
    return None


def value(content: bytes, name: str) -> str | None:
    """The first ``name`` field, RFC 2047 words decoded, or None."""
    return decoded(raw_value(content, name))


def values(content: bytes, names: tuple[str, ...]) -> tuple[str | None, ...]:
    """The first field of each of ``names`` (lower-case), decoded, in one pass."""
    head, _ = split(content)
    found: dict[str, bytes] = {}
    for field_name, start, end in fields(head):
        if field_name in names and field_name not in found:
            found[field_name] = unfold(head[start:end].split(b":", 1)[1])
    return tuple(decoded(found.get(name)) for name in names)


def unfold(text: bytes) -> bytes:
    return _FOLDED.sub(b" ", text).strip() if b"\n" in text.rstrip(b"\r\n") else text.strip()


def decoded(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    if "=?" not in text:
        return text
    try:
        return str(make_header(decode_header(text)))
    except (ValueError, LookupError, UnicodeError):
        # An unknown or broken charset: decode as the scanner did, or the values it
        # found stay encoded in what we mask (a base64 word is not masked, only hidden).
        return decode_words(text)


def remove(content: bytes, name: str) -> bytes:
    """``content`` without any ``name`` field (folded lines included)."""
    head, body = split(content)
    found = fields(head)
    if all(field_name != name for field_name, _, _ in found):
        return content
    kept = b"".join(head[start:end] for field_name, start, end in found if field_name != name)
    return head[:found[0][1]] + kept + body


def replace(content: bytes, name: str, new: str, canonical: str) -> bytes:
    """``content`` with the first ``name`` field set to ``new``: control characters
    become spaces (no header can be smuggled in), non-ASCII is RFC 2047 encoded."""
    return replace_raw(content, name, encoded_line(canonical, new))


def encoded_line(canonical: str, new: str) -> bytes:
    """The field ``canonical: new`` (no line end), control characters as spaces,
    non-ASCII RFC 2047 encoded."""
    new = _CONTROL.sub(" ", new).strip()
    if new.isascii():
        return f"{canonical}: {new}".encode("ascii")
    encoded = Header(new, "utf-8", header_name=canonical).encode(linesep="\r\n")
    return f"{canonical}: {encoded}".encode("ascii")


def replace_raw(content: bytes, name: str, line: bytes) -> bytes:
    """``content`` with the first ``name`` field made ``line`` (no line end; folded
    at spaces if longer than RFC 5322's 998 octets)."""
    head, body = split(content)
    return rebuilt(head, fields(head), (), {name: line}) + body


def rebuilt(head: bytes, found: list[tuple[str, int, int]] | tuple[tuple[str, int, int], ...],
            drop: tuple[str, ...], lines: dict[str, bytes]) -> bytes:
    """The header block ``head`` (its fields ``found``) in one pass: without the
    fields named in ``drop``, and the first field of each name in ``lines`` made
    that line (no line end; folded at spaces if longer than 998 octets)."""
    if not found or not (drop or lines):
        return head
    newline = b"\r\n" if b"\r\n" in head or not head.endswith(b"\n") else b"\n"
    out = [head[:found[0][1]]]
    done: set[str] = set()
    for name, start, end in found:
        if name in drop:
            continue
        if name in lines and name not in done:
            done.add(name)
            out += [_normal(lines[name]).replace(b"\r\n", newline), newline]
            continue
        out.append(head[start:end])
    return b"".join(out)


def _normal(line: bytes) -> bytes:
    line = _BREAKS.sub(b" ", line) if b"\r\n " not in line else line
    return _fold(line) if len(line) > _MAX_LINE else line


def _fold(line: bytes) -> bytes:
    out, current = [], b""
    for word in line.split(b" "):
        if current and len(current) + 1 + len(word) > 78:
            out.append(current)
            current = word
        else:
            current = current + b" " + word if current else word
    out.append(current)
    return b"\r\n ".join(out)


def without_dlp(content: bytes, keep: tuple[str, ...] = ()) -> bytes:
    """``content`` without any ``X-DLP-*`` field but those named in ``keep`` (lower case).

    A lone CR that would let a lenient parser read an ``X-DLP-`` field inside
    another one becomes a space; every other byte stays as it is. One pass
    over the header block.
    """
    end = _END.search(content)
    if _DLP not in (content[:end.end()] if end else content).lower():   # the usual case: no copy of the body
        return content
    head, body = split(content)
    head = _CR_BEFORE_DLP.sub(b" ", head)
    found = fields(head)
    if all(not name.startswith("x-dlp-") or name in keep for name, _, _ in found):
        return head + body
    kept = b"".join(head[start:end] for name, start, end in found
                    if not name.startswith("x-dlp-") or name in keep)
    return head[:found[0][1]] + kept + body


def from_sender(content: bytes) -> bytes:
    """A message as the gateway takes it from a sender: no ``X-DLP-*`` field but the
    declared purpose (which the pipeline reads and delivery removes), so downstream
    filters and auditors only ever see the gateway's own."""
    return without_dlp(content, keep=(PURPOSE,))
