"""Extraction: a raw message, or a bare file, to the text segments detectors scan.

Segments are named as the contract says: ``subject``, ``body`` and
``attachment:<name>``, where parts inside containers join with "/":

- a ZIP member is named by its path in the archive:
  ``attachment:accounts.zip/march.csv``, ``attachment:a.zip/b.zip/c.csv``;
- an attached message (message/rfc822 or ``.eml``) brings its own
  ``subject``, ``body`` and ``attachment:<name>`` segments under its name:
  ``attachment:fwd.eml/body``, ``attachment:fwd.eml/attachment:x.pdf``.

Names are decoded (RFC 2231, RFC 2047); "/", "\\" and control characters in a
name become "_" (so a folder inside a ZIP cannot fake nesting); a part without
a name is ``part-<n>`` (its position among its message's leaf parts, with
.eml, .html or .txt for those types); a repeated name gets ``#2``, ``#3``.
Each message, nested ones too, always has a ``subject`` and a ``body``
segment, possibly empty.

``body`` is every inline text/plain and text/html part, both sides of a
multipart/alternative, joined by blank lines; HTML becomes text (html_text),
format=flowed soft breaks are joined (RFC 3676). The preamble and epilogue of
a multipart, which readers do not show but the message carries, are appended
when they hold a digit, so numbers cannot hide there.

What cannot be read becomes an Unscannable with one of these reasons:
``encrypted`` (password-protected ZIP member, PDF or Office file, S/MIME or
PGP), ``too-deep`` (containers nested past ``max_depth``, multiparts past
``max_mime_depth``), ``too-many-members`` (an archive past ``max_members`` or
a message past ``max_parts``; the rest is skipped), ``too-large`` (the
inflation or text budget ran out; a segment may hold the first part),
``compression-ratio`` (a likely ZIP bomb), ``corrupt`` (a damaged PDF,
Office file or archive, or a part that made a reader fail), ``image`` (a
picture, or a PDF with no text layer: no OCR here), ``signature`` (S/MIME or
PGP signature), ``unsupported-format`` (legacy Office, Outlook .msg, gzip,
RAR, 7z, tar) and ``unknown-binary``. The scan (detectors.scan) adds
``time-budget`` (its CPU budget ran out before this part was read or
scanned) and ``too-many-findings`` (a findings cap was reached; the rest of
the part was not scanned). A segment and an Unscannable can share a name
when only part of it was read.

>>> raw = b"Subject: =?utf-8?q?Q1_r=C3=A9sum=C3=A9?=\\r\\n\\r\\nSSN 219-45-6789\\r\\n"
>>> [(s.name, s.text) for s in extract(raw).segments]
[('subject', 'Q1 résumé'), ('body', 'SSN 219-45-6789\\n')]
>>> extract_file("notes.txt", b"Acct 12345").segments
(Segment(name='attachment:notes.txt'),)
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from detectors.budget import OutOfTime
from detectors.defaults import Limits as Limits  # re-exported: its home before detectors.defaults
from detectors.engine import structure as tables_of
from detectors.extract import Budget, Unreadable
from detectors.extract.archive import Archive, members, open_zip, read_member
from detectors.extract.html_text import html_to_text
from detectors.extract.mime import Part, decode_header, parse_part, split_multipart
from detectors.extract.ooxml import embedded as ooxml_embedded
from detectors.extract.ooxml import kind as ooxml_kind
from detectors.extract.ooxml import text as ooxml_text
from detectors.extract.pdf import pdf_text
from detectors.extract.sniff import READERS, sniff
from detectors.extract.text import decode_lines, looks_like_text
from detectors.findings import Unscannable as Unscannable  # re-exported: its home before
from detectors.tables import Blocks

_BODY_TYPES = frozenset({"text/plain", "text/html"})
_UNNAMED_EXT = {"message/rfc822": ".eml", "message/global": ".eml", "text/html": ".html", "text/plain": ".txt"}
_UNSAFE_IN_NAME = re.compile(r"[/\\\x00-\x1f\x7f]")
_MAX_NAME = 200
_DIGIT = re.compile(r"\d")
_DECODED = ("base64", "quoted-printable")  # the transfer encodings detectors.extract.mime decodes
_FLOWED_BREAK = re.compile(r"(?<!\n--) \n")
_PGP_ARMOR = "-----BEGIN PGP MESSAGE-----"
_REPEAT_SUFFIX = re.compile(r"#\d+$")


@dataclass(frozen=True, slots=True)
class Segment:
    """Text extracted from one part of a message, under its contract name."""

    name: str
    text: str = field(repr=False)  # message content: never in logs
    # Column headers over the text's table rows (CSV, XLSX, DOCX, HTML); None: not looked for.
    tables: Blocks | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything readable in a message, and notes on what was not."""

    segments: tuple[Segment, ...]
    unscannable: tuple[Unscannable, ...]


def structure(text: str) -> Blocks:
    """The tables of ``text`` as the detector reads them (found where a number asks)."""
    return tables_of(text)   # the detector's label words decide headers


def extract(message: bytes, limits: Limits = Limits(), crlf_only: bool = False) -> Extraction:
    """Return the segments of a raw RFC 5322 message and what could not be read.

    ``crlf_only``: every CR and LF of ``message`` is one of a CRLF
    (detectors.extract.lines.crlf made it so), so a body read as it is
    written need not be looked through for a lone CR again.
    """
    walker = _Walker(limits)
    walker.top = message if crlf_only else None
    start = message.index(b"\n") + 1 if message.startswith(b"From ") and b"\n" in message else 0
    try:
        walker.message(message, start, "", 0)
    except OutOfTime:  # the scan's CPU budget ran out (detectors.budget): keep what was read
        walker.note("body", "time-budget")
    except Exception:  # never raise: a message we cannot parse is a corrupt one
        walker.note("body", "corrupt")
    return walker.result()


def extract_file(name: str, data: bytes, limits: Limits = Limits()) -> Extraction:
    """Return the segments of one bare attachment file, named ``attachment:<name>``."""
    walker = _Walker(limits)
    walker.file(walker.child_name("attachment:", name, "part-1"), data, "", None, 0)
    return walker.result()


class _Scope:
    """One message being walked: its name prefix, body texts and leaf count."""

    __slots__ = ("prefix", "texts", "hidden", "attachments", "leaves")

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.texts: list[str] = []
        self.hidden: list[str] = []
        self.attachments: list[tuple[Part, str]] = []
        self.leaves = 0


class _Walker:
    """Walks one message or file, collecting segments and notes under a budget."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.budget = Budget(
            limits.max_inflated_bytes, limits.max_text_chars, limits.max_parts,
            limits.max_ratio, limits.ratio_floor_bytes,
        )
        self.segments: list[Segment] = []
        self.notes: list[Unscannable] = []
        self.used: dict[str, int] = {}
        self.top: bytes | None = None  # the message, when its line ends are all CRLF (extract's crlf_only)

    def result(self) -> Extraction:
        """Return what was collected."""
        return Extraction(tuple(self.segments), tuple(dict.fromkeys(self.notes)))

    def add(self, name: str, text: str, tabular: bool = False) -> None:
        """Record a segment, cut to what the text budget allows; find its tables if ``tabular``."""
        if len(text) > self.budget.text_left:
            text = text[: max(self.budget.text_left, 0)]
            self.note(name, "too-large")
        self.budget.text_left -= len(text)
        self.segments.append(Segment(name, text, structure(text) if tabular else None))

    def note(self, name: str, reason: str) -> None:
        """Record that the part ``name`` could not be (fully) read."""
        self.notes.append(Unscannable(name, reason))

    def child_name(self, prefix: str, raw: str | None, fallback: str) -> str:
        """Return a unique, sanitized segment name for a part inside ``prefix``."""
        clean = _UNSAFE_IN_NAME.sub("_", raw or "").strip()[:_MAX_NAME] or fallback
        base = prefix + clean
        count = self.used.get(base, 0)
        name = base if count == 0 else f"{base}#{count + 1}"
        while name in self.used:
            count += 1
            name = f"{base}#{count + 1}"
        self.used[base] = count + 1
        self.used.setdefault(name, 1)
        return name

    def message(self, buf: bytes, start: int, prefix: str, depth: int) -> None:
        """Extract subject, body and attachments of the message at ``buf[start:]``."""
        scope = _Scope(prefix)
        part = parse_part(buf, start)
        self.add(prefix + "subject", decode_header(part.subject) if part.subject else "")
        try:
            self.entity(buf, part, scope, depth, 0)
        except Exception:  # a parser bug must not lose what was found so far
            self.note(prefix + "body", "corrupt")
        self.add(prefix + "body", "\n\n".join(scope.texts + scope.hidden))
        for attached, fallback in scope.attachments:
            self.attachment(buf, attached, fallback, scope, depth)

    def entity(self, buf: bytes, part: Part, scope: _Scope, depth: int, nesting: int) -> None:
        """Extract one MIME entity: a multipart, an inline text or an attachment."""
        if part.is_multipart:
            self.multipart(buf, part, scope, depth, nesting)
            return
        scope.leaves += 1
        if part.content_type in _BODY_TYPES and part.disposition != "attachment" and not part.filename:
            scope.texts.append(self.inline(buf, part, scope))
        else:
            fallback = f"part-{scope.leaves}{_UNNAMED_EXT.get(part.content_type, '')}"
            scope.attachments.append((part, fallback))

    def multipart(self, buf: bytes, part: Part, scope: _Scope, depth: int, nesting: int) -> None:
        """Extract each child of a multipart, within the depth and part limits."""
        body = scope.prefix + "body"
        if part.content_type == "multipart/encrypted":
            self.note(body, "encrypted")
            return
        if nesting >= self.limits.max_mime_depth:
            self.note(body, "too-deep")
            return
        split = split_multipart(buf, part, max(self.budget.parts_left, 0))
        if split is None:  # no boundary: read it as the text it may be
            text = _text_or_none(part.body(buf), part.params.get("charset"))
            if text is None:
                self.note(body, "corrupt")
            scope.texts.extend([text] if text else [])
            return
        self.budget.parts_left -= len(split.children)
        if split.truncated:
            self.note(body, "too-many-members")
        default = "message/rfc822" if part.content_type == "multipart/digest" else "text/plain"
        for start, end in split.children:
            self.entity(buf, parse_part(buf, start, end, default), scope, depth, nesting + 1)
        for start, end in split.hidden:
            text = _text_or_none(buf[start:end], None)
            scope.hidden.extend([text] if text and _DIGIT.search(text) else [])

    def inline(self, buf: bytes, part: Part, scope: _Scope) -> str:
        """Return the text of an inline body part."""
        # A body as written (no transfer encoding) is a slice of the message: only its last CR may be lone.
        as_written = buf is self.top and not part.other_encoding and part.encoding not in _DECODED
        text = decode_lines(part.body(buf), part.params.get("charset"), as_written)
        if part.content_type == "text/html":
            return html_to_text(text)
        if part.params.get("format", "").lower() == "flowed":
            text = _FLOWED_BREAK.sub("" if part.params.get("delsp", "").lower() == "yes" else " ", text)
        if _PGP_ARMOR in text:
            self.note(scope.prefix + "body", "encrypted")
        return text

    def attachment(self, buf: bytes, part: Part, fallback: str, scope: _Scope, depth: int) -> None:
        """Extract an attachment part under its (unique) name."""
        name = self.child_name(scope.prefix + "attachment:", part.filename, fallback)
        self.file(name, part.body(buf), part.content_type, part.params.get("charset"), depth)

    def file(self, name: str, data: bytes, content_type: str, charset: str | None, depth: int) -> None:
        """Extract one file by what it is; what cannot be read becomes a note."""
        if self.budget.text_left <= 0:
            self.note(name, "too-large")
            return
        try:
            self.read(name, data, content_type, charset, depth)
        except Unreadable as problem:
            self.note(name, problem.reason)
        except Exception:  # a reader failing on hostile input means a corrupt part
            self.note(name, "corrupt")

    def read(self, name: str, data: bytes, content_type: str, charset: str | None, depth: int) -> None:
        """Dispatch ``data`` to the reader its content calls for."""
        kind = sniff(data, _REPEAT_SUFFIX.sub("", name), content_type)
        if kind not in READERS:
            raise Unreadable(kind)
        if kind == "zip":
            self.zip(name, data, depth)
        elif kind == "pdf":
            text, problem = pdf_text(data, self.limits.max_pdf_pages, self.budget.text_left)
            self.add(name, text)
            if problem:
                self.note(name, problem)
        elif kind == "message":
            if depth >= self.limits.max_depth:
                raise Unreadable("too-deep")
            self.message(data, 0, name + "/", depth + 1)
        else:
            text = decode_lines(data, charset)
            self.add(name, html_to_text(text) if kind == "html" else text, tabular=True)

    def zip(self, name: str, data: bytes, depth: int) -> None:
        """Extract an Office package as one segment, or each member of an archive."""
        with open_zip(data) as archive:
            package = ooxml_kind(archive)
            if package is not None and self.package(name, archive, package, depth):
                return
            if depth >= self.limits.max_depth:
                raise Unreadable("too-deep")
            for member in members(archive, self.limits.max_members, self.budget):
                if member.reason == "too-many-members":
                    self.note(name, member.reason)
                    break
                child = self.child_name(name + "/", member.name, "member")
                if member.data is None:
                    self.note(child, member.reason or "corrupt")
                else:
                    self.file(child, member.data, "", None, depth + 1)

    def package(self, name: str, archive: Archive, package: str, depth: int) -> bool:
        """Extract an Office package; False when its XML is broken (read it as a plain archive)."""
        try:
            text = ooxml_text(archive, package, self.budget)
        except Unreadable as problem:
            if problem.reason != "corrupt":
                raise
            self.note(name, "corrupt")
            return False
        except Exception:  # e.g. a prefix with no namespace: its members still hold text
            self.note(name, "corrupt")
            return False
        self.add(name, text, tabular=True)
        if ooxml_embedded(archive):
            self.embedded(name, archive, depth)
        return True

    def embedded(self, name: str, archive: Archive, depth: int) -> None:
        """Extract the files embedded in an Office package, one level down."""
        if depth >= self.limits.max_depth:
            self.note(name, "too-deep")
            return
        for info in ooxml_embedded(archive)[: self.limits.max_members]:
            child = self.child_name(name + "/", info.filename.rpartition("/")[2], "embedded")
            try:
                data = read_member(archive, info, self.budget)
            except Unreadable as problem:
                self.note(child, problem.reason)
                continue
            self.file(child, data, "", None, depth + 1)


def _text_or_none(data: bytes, charset: str | None) -> str | None:
    """Return ``data`` as text when it looks like text, else None."""
    if not looks_like_text(data):
        return None
    return decode_lines(data, charset)
