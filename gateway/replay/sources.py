"""Where messages come from: mbox files, Maildirs, folders of .eml, one .eml.

A source is read as a stream of ``Ref``s, each naming one message by file and
byte range, so a worker process can read the message itself and the reader's
memory does not grow with the archive. An mbox is split on its ``From `` lines
(the boundaries Python's ``mailbox.mbox`` uses) by scanning blocks; a Maildir's
``new/`` and ``cur/`` files are taken in name order (names start with the
delivery time).

Input that is not a message is refused with its reason:

>>> refusal(b"")
'empty'
>>> refusal(bytes(range(256)))
'binary'
>>> refusal(b"just some text\\n")
'no header block'
>>> refusal(b"From: a@b.example\\r\\nSubject: hi\\r\\n\\r\\nbody") is None
True
>>> list(split_bytes(b"From a Mon\\nSubject: 1\\n\\nx\\n\\nFrom b Tue\\nSubject: 2\\n\\ny\\n"))
[b'Subject: 1\\n\\nx\\n', b'Subject: 2\\n\\ny']
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import getaddresses
from pathlib import Path
from typing import BinaryIO

from gateway import headers, pipeline

_BLOCK = 1 << 20
_LONGEST_FROM_LINE = 1 << 16   # past this, a From line is cut (bounded memory on junk)
_SNIFF = 4096
_FROM = b"\nFrom "
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
# Control bytes other than tab, line ends and form feed: text mail has next to none.
_CONTROL = re.compile(rb"[\x00-\x08\x0e-\x1f\x7f]")
# A header block names at least one of these; "Note: call me" is text, not a message.
_KNOWN = frozenset({"from", "to", "cc", "bcc", "subject", "date", "message-id", "received", "return-path",
                    "delivered-to", "x-original-to", "mime-version", "sender", "reply-to", "content-type"})


class SourceError(Exception):
    """A source that cannot be read; the text is one line naming it."""


@dataclass(frozen=True, slots=True)
class Ref:
    """One message: a whole file, or the byte range of one message in an mbox."""

    name: str                 # path, or path#N for the Nth message of an mbox
    path: str
    start: int = 0
    stop: int | None = None   # None: to the end of the file


def refs(source: str) -> Iterator[Ref]:
    """Every message of ``source``, in order; SourceError when it cannot be opened."""
    path = Path(source)
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            yield from _maildir(path)
        else:
            yield from (Ref(str(p), str(p)) for p in sorted(path.rglob("*.eml")) if p.is_file())
        return
    try:
        with open(path, "rb") as f:
            mbox = f.read(5) == b"From "
            if not mbox:
                yield Ref(source, source)
                return
            f.seek(0)
            for n, (start, stop) in enumerate(_spans(f), 1):
                yield Ref(f"{source}#{n}", source, start, stop)
    except OSError as exc:
        raise SourceError(f"cannot read {source}: {exc.strerror or exc}") from None


def _maildir(path: Path) -> Iterator[Ref]:
    names: list[tuple[str, str]] = []
    for sub in ("new", "cur"):
        with os.scandir(path / sub) as entries:
            names.extend((e.name, e.path) for e in entries if not e.name.startswith(".") and e.is_file())
    for _, full in sorted(names):
        yield Ref(full, full)


class Reader:
    """Reads refs, keeping the last file open (an mbox is read range by range)."""

    def __init__(self) -> None:
        self._path = ""
        self._file: BinaryIO | None = None

    def read(self, ref: Ref) -> bytes:
        if ref.stop is None:
            return Path(ref.path).read_bytes()
        if self._file is None or self._path != ref.path:
            self.close()
            self._file, self._path = open(ref.path, "rb"), ref.path
        self._file.seek(ref.start)
        return _trim(self._file.read(ref.stop - ref.start))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _trim(message: bytes) -> bytes:
    """An mbox message without the line end that separates it from the next From line."""
    if message.endswith(b"\r\n"):
        return message[:-2]
    return message[:-1] if message.endswith(b"\n") else message


def split_bytes(content: bytes) -> Iterator[bytes]:
    """The messages of an mbox held in memory (standard input)."""
    for start, stop in _spans(io.BytesIO(content)):
        yield _trim(content[start:stop])


def _spans(f: BinaryIO) -> Iterator[tuple[int, int]]:
    """(start, stop) of each message after its From line, reading block by block."""
    start: int | None = None
    for line_start, line_end in _from_lines(f):
        if start is not None:
            yield start, line_start
        start = line_end
    if start is not None:
        yield start, f.seek(0, os.SEEK_END)


def _from_lines(f: BinaryIO) -> Iterator[tuple[int, int]]:
    """(offset, end) of every line that starts with ``From ``: one find per block."""
    data, base, at, eof = b"\n", -1, 0, False   # a virtual line end before the file
    while True:
        hit = data.find(_FROM, at)
        if hit >= 0:
            end = data.find(b"\n", hit + 1)
            if end < 0 and (eof or len(data) - hit > _LONGEST_FROM_LINE):   # last line, or an absurd one
                end = len(data) - 1
            if end >= 0:
                yield base + hit + 1, base + end + 1
                at = end
                continue
        if eof:
            return
        keep = hit if hit >= 0 else max(at, len(data) - len(_FROM))
        base, data, at = base + keep, data[keep:], 0
        block = f.read(_BLOCK)
        eof = not block
        data += block


def refusal(content: bytes) -> str | None:
    """Why ``content`` is not a message (``empty``, ``binary``, ``no header block``), or None."""
    if not content.strip():
        return "empty"
    head = content[:_SNIFF]
    if b"\x00" in head or len(_CONTROL.findall(head)) * 100 > len(head):
        return "binary"
    if _FIELD.match(content.lstrip(b"\r\n")) is None:
        return "no header block"
    block, _ = headers.split(content.lstrip(b"\r\n"))
    if not any(name in _KNOWN for name, _, _ in headers.fields(block)):
        return "no header block"
    return None


ENVELOPE_FIELDS = ("return-path", "from", "delivered-to", "x-original-to", "to", "cc", "bcc")


def envelope(content: bytes, found: dict[str, list[str]] | None = None) -> pipeline.Envelope:
    """The envelope a message implies: Return-Path, else From, for the sender;
    Delivered-To and X-Original-To, else To, Cc and Bcc, for the recipients.
    ``found``: those fields when already read (all_values)."""
    found = found or all_values(content, ENVELOPE_FIELDS)
    sender = next((a for name in ("return-path", "from") for a in _addresses(found[name])), "")
    delivered = _addresses(found["delivered-to"] + found["x-original-to"])
    recipients = delivered or _addresses(found["to"] + found["cc"] + found["bcc"])
    return pipeline.Envelope(sender, tuple(dict.fromkeys(recipients)))


def _addresses(values: list[str]) -> list[str]:
    return [address for _, address in getaddresses(values) if "@" in address]


def all_values(content: bytes, names: tuple[str, ...]) -> dict[str, list[str]]:
    """Every field of each of ``names`` (lower-case), unfolded, in one pass over the header block."""
    head, _ = headers.split(content)
    found: dict[str, list[str]] = {name: [] for name in names}
    for name, start, end in headers.fields(head):
        if name in found:
            raw = head[start:end].split(b":", 1)[1]
            found[name].append(re.sub(rb"\r?\n[ \t]", b" ", raw).strip().decode("utf-8", "replace"))
    return found
