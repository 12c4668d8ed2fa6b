"""Declared business purpose: ``[purpose:CODE]`` in the subject (any case, anywhere)
or the ``X-DLP-Purpose: CODE`` header. The codes are the 6.9 a)-g) list of the
Lancaster and Pomona policies (shared/policies/README.md).

>>> declared("RE: refund [Purpose:Collections] for March", None)
'collections'
>>> declared("no tag", " customer-service ")
'customer-service'
>>> strip_tag("RE: refund [purpose:collections] for March")
'RE: refund for March'
"""

from __future__ import annotations

import re

CODES = ("legal-compliance", "customer-service", "collections", "credit-reporting",
         "dispute-resolution", "program-communication", "imminent-threat")
UNKNOWN = "unknown"   # what is recorded of a code that is not one of CODES
_UNSAFE = re.compile(r"[^a-z0-9-]")   # a header is free text: keep replies and logs clean
_TAG = re.compile(r"\s*\[purpose:\s*([a-z0-9-]+)\s*\]", re.IGNORECASE)


def declared(subject: str | None, header: str | None) -> str | None:
    """The purpose code the sender declared (lower-cased, unchecked), or None."""
    match = _TAG.search(subject or "")
    if match is not None:
        return match.group(1).lower()
    code = (header or "").strip().lower()
    return _UNSAFE.sub("?", code)[:40] or None


def valid(code: str | None, accepted: tuple[str, ...]) -> str | None:
    """The code when the profile accepts it; an unknown or refused code counts as none."""
    return code if code is not None and code in accepted else None


def strip_tag(subject: str) -> str:
    """The subject without its purpose tag (removed before delivery)."""
    return _TAG.sub("", subject, count=1).strip()
