"""Masking what a sender wrote outside the scanned text: envelope addresses, header
values, file names, downstream replies that quote them.

The gateway scans the subject, the bodies and the attachments; the envelope
and the other header fields it does not. Addresses, and the downstream
replies and errors that quote them, are shown with every run of six or more
digits masked (``address``): the detectors look at nothing shorter
(detectors.candidates.MIN_DIGITS), so this masks whatever they would find
there and also a bare number they would need context for (an SSN written as
``219456789@…``). It needs no detector, so logs, records, notices, the review
app and the CLI mask an address identically and cheaply. Header values and
file names on the message page go through the detector instead
(``masked_text``): a date or an IP address there is not a secret.

>>> address("219-45-6789@cerritos.example"), address("219456789@x.example"), address("clerk7@x.example")
('***-**-6789@cerritos.example', '*****6789@x.example', 'clerk7@x.example')
>>> from detectors.engine import default_detector
>>> masked_text("Payroll 219-45-6789", default_detector())
'Payroll ***-**-6789'
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from detectors.findings import mask

if TYPE_CHECKING:   # both load the detectors (Presidio): the CLI masks without them
    from detectors.engine import Detector
    from gateway.pipeline import Envelope
LONG_RUN = 6   # digits: detectors.candidates.MIN_DIGITS
# Digits joined by - . / _ (an address has no spaces; a reply's "550 5.1.1" is not one run).
_JOINED = re.compile(r"\d(?:[-./_]?\d)*")
_LONG_JOINED = re.compile(r"\d(?:[-./_]?\d){%d}" % (LONG_RUN - 1))   # some _JOINED run is long enough
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


def address(text: str) -> str:
    """``text`` (an address, or a reply or error that may quote one) with every run of
    ``LONG_RUN`` or more digits (joined by - . / _) masked."""
    if _LONG_JOINED.search(text) is None:   # the usual case, in one regex call
        return text
    return masked_spans(text, [(m.start(), m.end()) for m in _JOINED.finditer(text)
                               if sum(ch.isdigit() for ch in m.group()) >= LONG_RUN])


def masks_of(findings: Iterable[Mapping[str, object]] | Iterable[Any]) -> frozenset[str]:
    """The masked forms of a message's findings (stored dicts or Finding objects)."""
    out = set()
    for f in findings:
        value = f.get("masked") if isinstance(f, Mapping) else getattr(f, "masked", None)
        if isinstance(value, str) and value:
            out.add(value)
    return frozenset(out)


def envelope(env: Envelope) -> Envelope:
    """A copy of ``env`` with its addresses masked, for logs, records and notices."""
    return replace(env, mail_from=address(env.mail_from), rcpt_tos=tuple(address(r) for r in env.rcpt_tos))


def details(record: Mapping[str, object]) -> dict[str, object]:
    """Audit details with the sender-written fields (addresses, downstream replies) masked:
    records written before the gateway masked them show masked too."""
    out = dict(record)
    for key in _ADDRESS_FIELDS:
        value = out.get(key)
        if isinstance(value, str):
            out[key] = address(value)
        elif isinstance(value, list):
            out[key] = [address(v) if isinstance(v, str) else v for v in value]
    return out


def detector_for(settings: Any) -> Detector:
    """The gateway's detector as ``settings`` configure it (account formats, the EDM list),
    for masking where nothing else needs the scanner (the CLI, the review app).

    The review app may run in the SMTP worker's process (one worker); a
    Detector is safe to share with the scans there (hyperscan scratch is per
    thread)."""
    # Here, not at the top: the CLI masks addresses without loading the detector (hyperscan, phonenumbers).
    from detectors.edm import EdmStore  # noqa: PLC0415
    from detectors.engine import Detector  # noqa: PLC0415
    from gateway.detection import options  # noqa: PLC0415
    o = options(settings.detection)
    return Detector(o.formats, EdmStore(settings.data_dir).load(), o.licenses, o.custom)


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


def held(message: Any) -> tuple[str, tuple[str, ...], str]:
    """A held message's sender, recipients and subject as every view shows them
    (queue, message page, dashboard, CLI): masked alike."""
    return (address(message.mail_from), tuple(address(r) for r in message.rcpt_tos),
            subject(message.subject, message.findings))
