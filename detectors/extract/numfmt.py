"""Spreadsheet numbers as a reader sees them, where that matters for detection.

Excel stores numbers as decimal strings (``123456789``, ``4.1E+15``) and shows
them through a number format. Integers come out as plain digits, never
``123456789.0`` or ``1.23E+8``; formats made only of digit placeholders
(``0 # ?``) and literals are applied, because that is how identifiers are
kept: Excel's "Social Security Number" format ``000-00-0000`` shows
``12345678`` as ``012-34-5678``, and ``00000`` keeps ZIP codes' leading zeros.
Other formats (dates, decimals, percentages, thousands separators) leave the
plain number. Source: ECMA-376 Part 1, 18.8.31 (numFmts), 18.8.30 (numFmt).

>>> display("12345678", "000\\\\-00\\\\-0000"), display("219456789", None)
('012-34-5678', '219456789')
>>> display("1.23456789E8", "General"), display("0.25", "0%"), display("5.0", None)
('123456789', '0.25', '5')
>>> display("5551234567", '[<=9999999]###\\\\-####;\\\\(###\\\\)\\\\ ###\\\\-####')
'(555) 123-4567'
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_INTEGER = re.compile(r"-?\d+")
_TOKEN = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]|_.|\*.|.', re.DOTALL)
_CONDITION = re.compile(r"\[(<=|>=|<>|<|>|=)\s*(-?\d+(?:\.\d+)?)\]")
_LITERALS = frozenset(" -()/:+")
_PLACEHOLDERS = frozenset("0#?")
_MAX_EXPONENT = 30


def display(raw: str, code: str | None) -> str:
    """Return the number ``raw`` as shown under format ``code`` (digit formats only)."""
    plain = plain_number(raw)
    if not code or not plain.isdigit():
        return plain
    section = _section(code, int(plain))
    rendered = _render(plain, section) if section is not None else None
    return plain if rendered is None else rendered


def plain_number(raw: str) -> str:
    """Return a stored number without exponent or a spurious ``.0``."""
    raw = raw.strip()
    if _INTEGER.fullmatch(raw):
        return raw
    try:
        value = Decimal(raw)
    except InvalidOperation:
        return raw
    if not value.is_finite() or abs(value.adjusted()) > _MAX_EXPONENT:
        return raw
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def _section(code: str, value: int) -> str | None:
    """Return the format section that applies to the non-negative ``value``."""
    sections = _split_sections(code)
    first = _CONDITION.search(sections[0])
    if first is None:
        return sections[2] if value == 0 and len(sections) > 2 else sections[0]
    if _holds(first, value):
        return sections[0]
    if len(sections) < 2:
        return None
    second = _CONDITION.search(sections[1])
    if second is None or _holds(second, value):
        return sections[1]
    return sections[2] if len(sections) > 2 else None


def _split_sections(code: str) -> list[str]:
    """Return the ";"-separated sections of a format code, quotes respected."""
    sections = [""]
    for token in _TOKEN.findall(code):
        if token == ";":
            sections.append("")
        else:
            sections[-1] += token
    return sections


def _holds(condition: re.Match[str], value: int) -> bool:
    """Return whether ``value`` satisfies a ``[<=9999999]`` style condition."""
    op, limit = condition.group(1), Decimal(condition.group(2))
    return {
        "<": value < limit,
        "<=": value <= limit,
        ">": value > limit,
        ">=": value >= limit,
        "=": value == limit,
        "<>": value != limit,
    }[op]


def _render(digits: str, section: str) -> str | None:
    """Return ``digits`` laid into a digit-only format section, or None."""
    pieces: list[str] = []
    for token in _TOKEN.findall(section):
        if token in _PLACEHOLDERS:
            pieces.append(token)
        elif token.startswith('"'):
            pieces.append("L" + token[1:-1])
        elif token.startswith("\\") or token.startswith("_"):
            pieces.append("L" + (token[1] if token[0] == "\\" else " "))
        elif token.startswith("[") or token.startswith("*"):
            continue
        elif token in _LITERALS:
            pieces.append("L" + token)
        else:
            return None
    if not any(piece in _PLACEHOLDERS for piece in pieces):
        return None
    return _fill(digits, pieces)


def _fill(digits: str, pieces: list[str]) -> str:
    """Return ``digits`` filled from the right into placeholders among literals."""
    out: list[str] = []
    left = len(digits)
    first_placeholder = next(i for i, piece in enumerate(pieces) if piece in _PLACEHOLDERS)
    for index in range(len(pieces) - 1, -1, -1):
        piece = pieces[index]
        if piece not in _PLACEHOLDERS:
            out.append(piece[1:])
        elif left:
            out.append(digits[:left] if index == first_placeholder else digits[left - 1])
            left = 0 if index == first_placeholder else left - 1
        else:
            out.append({"0": "0", "#": "", "?": " "}[piece])
    return "".join(reversed(out))
