"""What the message page shows of a held message, with every finding masked.

The message is hostile input. Nothing here produces markup: the template
escapes every string (Jinja2 autoescape), so a ``<script>`` in a header, a
body or a file name shows as text, and bidirectional controls show as
escapes (``visible``). Values are masked wherever a finding covers them: in
the finding's context, in the bodies, in the subject. Header fields and file
names are not scanned by the gateway, so the detector runs over each one as
it is shown (``masked_text``). A header or a structure that Python's email
package cannot parse is shown as sent, masked the same way.

The envelope, the subject and header values are masked by gateway.masking,
as the queue and the CLI mask them.

>>> from detectors.engine import default_detector
>>> masked_text("ssn-219-45-6789.txt", default_detector())
'ssn-***-**-6789.txt'
>>> print(visible("abc" + chr(0x202E) + "txt.exe"))
abc\\u202etxt.exe
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from detectors.engine import Detector
from detectors.segments import Limits, extract
from gateway import masking
from gateway.quarantine.records import HeldMessage

log = logging.getLogger("dlp.review")
CONTEXT_CHARS = 40
BODY_CHARS = 20_000
_SPACE = re.compile(r"\s+")
# Unicode Bidi_Control: they reorder the text around them (a file name "abc<RLO>txt.exe" reads "abcexe.txt").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_ATTACHMENT = "attachment:"
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "sender", "reply-to", "return-path", "delivered-to",
                              "resent-from", "resent-to", "resent-cc", "resent-sender", "envelope-to", "x-original-to"})


@dataclass(frozen=True, slots=True)
class FindingView:
    index: int
    entity: str
    segment: str
    score: float
    masked: str
    before: str
    after: str


@dataclass(frozen=True, slots=True)
class Attachment:
    name: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class MessageView:
    headers: tuple[tuple[str, str], ...]
    bodies: tuple[tuple[str, str, bool], ...]   # (segment, masked text, cut short)
    attachments: tuple[Attachment, ...]
    findings: tuple[FindingView, ...]


def build(held: HeldMessage, content: bytes, limits: Limits, detector: Detector) -> MessageView:
    """Return the page's view of ``content``, the stored original of ``held``."""
    try:
        texts = {segment.name: segment.text for segment in extract(content, limits).segments}
    except Exception as exc:   # the gateway scanned it once, but a page never fails on a message
        # The class only: a parser's text can quote the message.
        log.error("held message could not be split into segments",
                  extra={"fields": {"id": held.id, "problem": type(exc).__name__}})
        texts = {}
    spans = _spans(held.findings)
    findings = tuple(_finding(i, f, texts.get(str(f.get("segment")), ""), spans.get(str(f.get("segment")), []),
                              detector) for i, f in enumerate(held.findings))
    bodies = tuple((masked_text(name, detector), _masked(text[:BODY_CHARS], spans.get(name, [])),
                    len(text) > BODY_CHARS)
                   for name, text in texts.items() if name == "body" or name.endswith("/body"))
    try:
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        headers = _headers(parsed, held, detector)
    except Exception:   # Python's parser raises on some malformed input: show what was sent
        parsed, headers = None, _raw_headers(content, detector, masking.masks_of(held.findings))
    try:
        attachments = _attachments(parsed, detector) if parsed is not None else None
    except Exception:
        attachments = None
    if attachments is None:
        attachments = tuple(Attachment(masked_text(name[len(_ATTACHMENT):], detector), "", 0)
                            for name in texts if name.startswith(_ATTACHMENT) and "/" not in name)
    return MessageView(headers, bodies, attachments, findings)


def findings_only(held: HeldMessage, detector: Detector) -> tuple[FindingView, ...]:
    """The stored findings without context (when the content cannot be read)."""
    return tuple(_finding(i, f, "", [], detector) for i, f in enumerate(held.findings))


def masked_text(text: str, detector: Detector, context: str = "", masks: frozenset[str] = frozenset()) -> str:
    """``text`` with every value the detector finds in it masked (and every digit run whose
    masked form is in ``masks``); ``context`` (a header's name) is read before it."""
    return masking.masked_text(text, detector, context, masks)


def visible(text: str) -> str:
    """``text`` with each bidirectional control written as an escape (``\\u202e``)."""
    return _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def subject_masked(subject: str, findings: Sequence[dict[str, object]]) -> str:
    """``subject`` with its findings masked, as the queue and the CLI show it."""
    return masking.subject(subject, findings)


def _spans(findings: Sequence[dict[str, object]]) -> dict[str, list[tuple[int, int]]]:
    """Finding spans per segment, sorted."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for f in findings:
        start, end = f.get("start"), f.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.setdefault(str(f.get("segment")), []).append((start, end))
    return {name: sorted(found) for name, found in spans.items()}


def _masked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    return masking.masked_spans(text, spans)


def _finding(index: int, f: dict[str, object], text: str, spans: list[tuple[int, int]],
             detector: Detector) -> FindingView:
    """One finding with a few words either side, other findings there masked too."""
    start, end = f.get("start"), f.get("end")
    before = after = ""
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
        shifted = [(s - lo, e - lo) for s, e in spans if e > lo and s < hi]
        window = _masked(text[lo:hi], shifted)
        before = _SPACE.sub(" ", window[:start - lo])
        after = _SPACE.sub(" ", window[end - lo:])
        before, after = ("…" if lo > 0 else "") + before, after + ("…" if hi < len(text) else "")
    score = f.get("score")
    segment = masking.address(masked_text(str(f.get("segment", "")), detector))   # as the CLI shows it
    return FindingView(index, str(f.get("entity", "")), segment,
                       float(score) if isinstance(score, (int, float)) else 0.0,
                       str(f.get("masked", "")), before, after)


def _headers(parsed: EmailMessage, held: HeldMessage, detector: Detector) -> tuple[tuple[str, str], ...]:
    """Every header field, decoded where it can be, each value masked; the subject as the queue shows it."""
    fields: list[tuple[str, str]] = []
    for name, raw in parsed.raw_items():
        try:
            text = str(parsed.policy.header_fetch_parse(name, raw))
        except Exception:  # e.g. IndexError for "Message-ID: <": shown as sent rather than failing the page
            text = str(raw)
        if name.lower() == "subject":
            text = subject_masked(text, held.findings)
        fields.append(_field(name, text, detector, masking.masks_of(held.findings)))
    return tuple(fields)


def _raw_headers(content: bytes, detector: Detector,
                 masks: frozenset[str] = frozenset()) -> tuple[tuple[str, str], ...]:
    """The header block as sent, unfolded, one (name, masked value) per field."""
    block = re.split(rb"\r?\n\r?\n", content, maxsplit=1)[0].decode("utf-8", "replace")
    fields = []
    for line in re.sub(r"\r?\n[ \t]", " ", block).splitlines():
        name, colon, value = line.partition(":")
        fields.append(_field(name, value, detector, masks) if colon else _field("", line, detector, masks))
    return tuple(fields)


def _field(name: str, value: str, detector: Detector, masks: frozenset[str] = frozenset()) -> tuple[str, str]:
    shown = masked_text(_SPACE.sub(" ", value).strip(), detector, name + ": ", masks)
    if name.strip().lower() in _ADDRESS_HEADERS:   # masked as the envelope is
        shown = masking.address(shown)
    return masked_text(name, detector), shown


def _attachments(parsed: EmailMessage, detector: Detector) -> tuple[Attachment, ...]:
    """Each part with a file name or disposition attachment: name (masked), type and decoded size."""
    found: list[Attachment] = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name is None and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(Attachment(masked_text(name, detector) if name else "(unnamed)", part.get_content_type(), size))
    return tuple(found)
