"""UTILITY_ACCOUNT: utility customer and service account numbers.

There is no public standard. Southern California Edison bills have shown a
10-digit customer account printed ``d-dd-ddd-dddd`` and a 10-digit service
account printed ``d-ddd-dddd-dd``; water utilities use 8 to 12 plain digits.
So the formats are configuration (gateway.yaml, ``detection.utility_accounts``),
each with the context words that must appear within its window before the
number. Any number in the utility's own customer list (exact data match,
detectors.edm) is an account whatever surrounds it.

>>> [f.masked for f in find("SCE customer account 2-12-345-6789")]
['*-**-***-6789']
>>> find("Part 2-12-345-6789 shipped")        # no context
[]
>>> [f.value for f in find("Water acct# 00123456 past due")]
['00123456']
"""

from __future__ import annotations

from dataclasses import dataclass

from presidio_analyzer import Pattern
from stdnum import luhn

from detectors.candidates import Candidate
from detectors.context import Context, keywords
from detectors.edm import EdmSet
from detectors.findings import Finding
from detectors.recognizer import DigitsRecognizer

ENTITY = "UTILITY_ACCOUNT"
CONTEXT = ("account", "acct", "acct#", "account no", "account number", "customer account",
           "service account", "sce", "edison")


@dataclass(frozen=True, slots=True)
class AccountFormat:
    """One utility's account number shape: grouped (``d-dd-ddd-dddd``) or plain digits."""

    name: str
    utility: str
    context: tuple[str, ...]
    window: int = 60
    layout: str | None = None  # "d-dd-ddd-dddd": digit groups and their separator
    digits: tuple[int, int] | None = None  # plain digits, min and max
    check: str | None = None  # "luhn"

    @property
    def groups(self) -> tuple[int, ...]:
        return tuple(len(part) for part in (self.layout or "").replace(".", "-").replace(" ", "-").split("-"))

    @property
    def sep(self) -> str:
        layout = self.layout or ""
        return next((ch for ch in layout if ch != "d"), "")


DEFAULT_FORMATS = (
    AccountFormat("sce-customer", "Southern California Edison",
                  ("account", "acct", "customer", "sce", "edison"), layout="d-dd-ddd-dddd"),
    AccountFormat("sce-service", "Southern California Edison",
                  ("account", "acct", "service", "sce", "edison"), layout="d-ddd-dddd-dd"),
    AccountFormat("water", "Water utility (generic)",
                  ("account", "acct", "acct#", "account no", "account number"), window=30, digits=(8, 12)),
)


class UtilityAccounts:
    """Judges candidates against the configured formats and the EDM list."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS, edm: EdmSet | None = None) -> None:
        self.formats = tuple((f, f.groups, f.sep, keywords(*f.context)) for f in formats)
        self.edm = edm

    def judge(self, c: Candidate, ctx: Context) -> tuple[float, str] | None:
        """Score and recognizer name for a candidate, or None."""
        if self.edm is not None and self.edm.contains(c.digits):
            return 1.0, "DlpEdmRecognizer"
        for fmt, groups, sep, near in self.formats:
            if fmt.layout is not None:
                fits = c.groups == groups and c.sep == sep
            else:
                low, high = fmt.digits or (0, 0)
                fits = c.plain and low <= len(c.digits) <= high
            # A plain-digit account's keyword must belong to it, not to an
            # earlier number; a formatted one may sit under a table header.
            nearest = fmt.layout is None
            if fits and ctx.near(near, c.start, c.end, before=fmt.window, after=0, nearest=nearest) \
                    and (fmt.check != "luhn" or luhn.is_valid(c.digits)):
                return (0.85 if fmt.layout else 0.7), f"DlpUtilityAccountRecognizer:{fmt.name}"
        return None


class DlpUtilityAccountRecognizer(DigitsRecognizer):
    ENTITY = ENTITY
    PATTERNS = [
        Pattern("sce customer (medium)", r"\b\d-\d{2}-\d{3}-\d{4}\b", 0.4),
        Pattern("sce service (medium)", r"\b\d-\d{3}-\d{4}-\d{2}\b", 0.4),
        Pattern("water account (weak)", r"\b\d{8,12}\b", 0.05),
    ]
    CONTEXT = list(CONTEXT)

    def check(self, digits: str) -> bool:
        return True  # no check digit: context decides


def find(text: str) -> list[Finding]:
    from detectors.engine import find_entity
    return find_entity(ENTITY, text)
