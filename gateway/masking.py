"""Masking what a sender wrote outside the scanned text: envelope addresses, header
values, file names, downstream replies that quote them.

The gateway scans the subject, the bodies and the attachments; the envelope
and the other header fields it does not. Wherever they are shown (logs, the
audit log, notices, the review app, the CLI) the detector runs over them, and
any digit run whose masked form is that of a finding of the message is masked
too (a number the detector needs context for: an SSN found in the body and
written bare into MAIL FROM). One function, so every place masks alike.

>>> from detectors.engine import default_detector
>>> masked_text("219-45-6789@cerritos.example", default_detector())
'***-**-6789@cerritos.example'
>>> masked_text("219456789@cerritos.example", default_detector(), masks={"*****6789"})
'*****6789@cerritos.example'
>>> masked_text("clerk@cerritos.example", default_detector(), masks={"*****6789"})
'clerk@cerritos.example'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from detectors.engine import Detector, default_detector
from detectors.findings import mask

__all__ = ["default_detector", "detector_for", "details", "envelope", "held", "masked_spans", "masked_text",
           "masks_of", "subject"]
if TYPE_CHECKING:
    from gateway.pipeline import Envelope
_DIGITS = re.compile(r"\d(?:[\d\s./-]*\d)?")
_ADDRESS_FIELDS = ("sender", "mail_from", "recipients", "rcpt_tos", "recipient_domains", "downstream", "error")


def masked_text(text: str, detector: Detector | None, context: str = "",
                masks: Collection[str] = ()) -> str:
    """``text`` with every value the detector finds in it masked, and every digit run
    whose masked form is in ``masks``; ``context`` (a header's name) is read before it."""
    if not any(ch.isdigit() for ch in text):   # every entity is written with digits
        return text
    spans: list[tuple[int, int]] = []
    if detector is not None:
        offset = len(context)
        spans += [(max(0, f.start - offset), f.end - offset)
                  for f in detector.find("header", context + text) if f.end > offset]
    if masks:
        spans += [(m.start(), m.end()) for m in _DIGITS.finditer(text) if mask(m.group()) in masks]
    return masked_spans(text, sorted(spans))


def masked_spans(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with every span (sorted, clipped to it) masked; overlapping spans merge."""
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


def masks_of(findings: Iterable[Mapping[str, object]] | Iterable[Any]) -> frozenset[str]:
    """The masked forms of a message's findings (stored dicts or Finding objects)."""
    out = set()
    for f in findings:
        value = f.get("masked") if isinstance(f, Mapping) else getattr(f, "masked", None)
        if isinstance(value, str) and value:
            out.add(value)
    return frozenset(out)


def envelope(env: Envelope, findings: Iterable[Any], detector: Detector | None) -> Envelope:
    """A copy of ``env`` with its addresses masked, for logs, records and notices."""
    masks = masks_of(findings)
    return replace(env, mail_from=masked_text(env.mail_from, detector, masks=masks),
                   rcpt_tos=tuple(masked_text(r, detector, masks=masks) for r in env.rcpt_tos))


def details(record: Mapping[str, object], detector: Detector | None) -> dict[str, object]:
    """Audit details with the sender-written fields (addresses, downstream replies) masked:
    records written before the gateway masked them show masked too."""
    out = dict(record)
    for key in _ADDRESS_FIELDS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = masked_text(value, detector)
        elif isinstance(value, list):
            out[key] = [masked_text(v, detector) if isinstance(v, str) else v for v in value]
    return out


def detector_for(settings: Any) -> Detector:
    """The gateway's detector as ``settings`` configure it (account formats, the EDM list),
    for masking where nothing else needs the scanner (the CLI)."""
    from detectors.edm import EdmStore
    from detectors.utility_account import AccountFormat
    formats = tuple(AccountFormat(f.name, f.utility, f.context, f.window, f.layout, f.digits, f.check)
                    for f in settings.detection.utility_accounts)
    return Detector(formats, EdmStore(settings.data_dir).load())


def subject(text: str, findings: Sequence[Mapping[str, object]]) -> str:
    """A held message's subject with its findings masked. The gateway stores the subject
    already masked; a seeded or older record may not be. When a finding cannot be
    placed, every digit run not already masked is.

    >>> f = ({"segment": "subject", "start": 4, "end": 15, "masked": "***-**-9999"},)
    >>> subject("SSN 219-09-9999 inside", f), subject("SSN ***-**-9999 inside", f)
    ('SSN ***-**-9999 inside', 'SSN ***-**-9999 inside')
    >>> subject("Account 1234567890, ***-**-9999", ({"segment": "subject", "start": 0, "end": 3, "masked": "x"},))
    'Account ******7890, ***-**-9999'
    """
    spans = sorted((f["start"], f["end"], str(f.get("masked"))) for f in findings
                   if f.get("segment") == "subject" and isinstance(f.get("start"), int)
                   and isinstance(f.get("end"), int))
    raw: list[tuple[int, int]] = []
    for start, end, masked in spans:
        assert isinstance(start, int) and isinstance(end, int)
        if not 0 <= start < end <= len(text) or masked not in (text[start:end], mask(text[start:end])):
            return _RUN.sub(_unmasked_run, text)
        if text[start:end] != masked:
            raw.append((start, end))
    return masked_spans(text, raw)


# Digits, separators and the stars of a masked value, as one run.
_RUN = re.compile(r"[\d*](?:[\d*\s./-]*[\d*])?")


def _unmasked_run(match: re.Match[str]) -> str:
    """A run masked, unless it is a masked value already (at most four digits shown) or short."""
    run = match.group()
    digits = sum(ch.isdigit() for ch in run)
    if ("*" in run and digits <= 4) or len(run) < 4 or not digits:
        return run
    return mask(run)


def held(message: Any, detector: Detector | None) -> tuple[str, tuple[str, ...], str]:
    """A held message's sender, recipients and subject as every view shows them
    (queue, message page, CLI): masked alike."""
    masks = masks_of(message.findings)
    return (masked_text(message.mail_from, detector, masks=masks),
            tuple(masked_text(r, detector, masks=masks) for r in message.rcpt_tos),
            subject(message.subject, message.findings))
