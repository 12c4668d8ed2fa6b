"""What the message page shows of a held message, with every finding masked.

The message is hostile input. Nothing here produces markup: the template
escapes every string (Jinja2 autoescape), so a ``<script>`` in a header, a
body or a file name shows as text. Values are masked wherever a finding
covers them: in the finding's context, in the bodies, in the subject.

>>> subject_masked("SSN 219-09-9999 inside", ({"segment": "subject", "start": 4, "end": 15,
...                                            "masked": "***-**-9999"},))
'SSN ***-**-9999 inside'
>>> subject_masked("Account 1234567890", ({"segment": "subject", "start": 0, "end": 3, "masked": "x"},))
'Account ******7890'
"""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from detectors.findings import mask
from detectors.segments import Limits, extract
from gateway.quarantine.store import HeldMessage

CONTEXT_CHARS = 40
BODY_CHARS = 20_000
_SPACE = re.compile(r"\s+")
_DIGITS = re.compile(r"\d[\d\s./-]{2,}\d")


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


def build(held: HeldMessage, content: bytes, limits: Limits) -> MessageView:
    """Return the page's view of ``content``, the stored original of ``held``."""
    texts = {segment.name: segment.text for segment in extract(content, limits).segments}
    spans = _spans(held.findings)
    findings = tuple(_finding(i, f, texts.get(str(f.get("segment")), ""), spans.get(str(f.get("segment")), []))
                     for i, f in enumerate(held.findings))
    bodies = tuple((name, _masked(text[:BODY_CHARS], spans.get(name, [])), len(text) > BODY_CHARS)
                   for name, text in texts.items() if name == "body" or name.endswith("/body"))
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    return MessageView(_headers(parsed, held), bodies, _attachments(parsed), findings)


def findings_only(held: HeldMessage) -> tuple[FindingView, ...]:
    """The stored findings without context (when the content cannot be read)."""
    return tuple(_finding(i, f, "", []) for i, f in enumerate(held.findings))


def subject_masked(subject: str, findings: Sequence[dict[str, object]]) -> str:
    """``subject`` with its findings masked; every long digit run when a finding cannot be placed."""
    spans = _spans(findings).get("subject", [])
    placeable = all(0 <= s < e <= len(subject) for s, e in spans)
    if placeable:
        placed = [(s, e) for s, e in spans if mask(subject[s:e]) == _masked_of(findings, s, e)]
        if len(placed) == len(spans):
            return _masked(subject, spans)
    return _DIGITS.sub(lambda m: mask(m.group()), subject)


def _masked_of(findings: Sequence[dict[str, object]], start: int, end: int) -> str:
    for f in findings:
        if f.get("segment") == "subject" and f.get("start") == start and f.get("end") == end:
            return str(f.get("masked"))
    return ""


def _spans(findings: Sequence[dict[str, object]]) -> dict[str, list[tuple[int, int]]]:
    """Finding spans per segment, sorted."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for f in findings:
        start, end = f.get("start"), f.get("end")
        if isinstance(start, int) and isinstance(end, int) and 0 <= start < end:
            spans.setdefault(str(f.get("segment")), []).append((start, end))
    return {name: sorted(found) for name, found in spans.items()}


def _masked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with every span (clipped to it) masked; overlapping spans merge."""
    out: list[str] = []
    at = 0
    for start, end in spans:
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        out.append(text[at:start])
        out.append(mask(text[start:end]))
        at = end
    out.append(text[at:])
    return "".join(out)


def _finding(index: int, f: dict[str, object], text: str, spans: list[tuple[int, int]]) -> FindingView:
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
    return FindingView(index, str(f.get("entity", "")), str(f.get("segment", "")),
                       float(score) if isinstance(score, (int, float)) else 0.0,
                       str(f.get("masked", "")), before, after)


def _headers(parsed: EmailMessage, held: HeldMessage) -> tuple[tuple[str, str], ...]:
    """Every header field, decoded; the subject masked like the queue shows it."""
    fields: list[tuple[str, str]] = []
    for name, value in parsed.items():
        try:
            text = str(value)
        except Exception:  # a malformed field is shown raw rather than failing the page
            text = str(parsed.get(name, failobj=""))
        if name.lower() == "subject":
            text = subject_masked(text, held.findings)
        fields.append((name, _SPACE.sub(" ", text)))
    return tuple(fields)


def _attachments(parsed: EmailMessage) -> tuple[Attachment, ...]:
    """Each part with a file name or disposition attachment: name, type and decoded size."""
    found: list[Attachment] = []
    for part in parsed.walk():
        if part.is_multipart():
            continue
        name = part.get_filename()
        if name is None and part.get_content_disposition() != "attachment":
            continue
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        found.append(Attachment(name or "(unnamed)", part.get_content_type(), size))
    return tuple(found)
