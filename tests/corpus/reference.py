"""Ground truth for the corpus: the rules of DETECTION.md, applied independently.

The generator labels what it writes; this module checks those labels from the
outside.  It extracts every segment of a finished message the way the contract
names them, finds every number that could be a finding, and decides, with
windows deliberately tighter (for labels) and wider (for non-labels) than
DETECTION.md's, whether it is one.  A number in the grey zone between the two,
or one that could be two entities, is reported as a problem: the corpus must
not contain constructions whose truth depends on a detector's tuning.

>>> is_ssn("219456789"), is_ssn("078051120"), is_ssn("123456789"), is_ssn("666123456")
(True, False, False, False)
>>> is_itin("912501234"), is_itin("912931234"), is_ein("951234567"), is_ein("071234567")
(True, False, True, False)
>>> card_brand("4111111111111111"), card_brand("341111111111111"), card_brand("7111111111111111")
('visa', 'amex', None)
>>> [(f.entity, f.value) for f in scan("SSN 219-45-6789, card 4111 1111 1111 1111.", frozenset())[0]]
[('US_SSN', '219-45-6789'), ('CREDIT_CARD', '4111 1111 1111 1111')]
"""

from __future__ import annotations

import email
import email.policy
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser

from stdnum import luhn
from stdnum.us import ein as stdnum_ein
from stdnum.us import itin as stdnum_itin
from stdnum.us import rtn as stdnum_rtn
from stdnum.us import ssn as stdnum_ssn

SENSITIVE = ("US_SSN", "US_ITIN", "US_EIN", "CREDIT_CARD", "US_BANK_ROUTING", "UTILITY_ACCOUNT")
ENTITIES = SENSITIVE + ("PHONE_NUMBER",)

UNASSIGNED_EIN_PREFIXES = frozenset("00 07 08 09 17 18 19 28 29 49 69 70 78 79 89 96 97".split())
NOT_SSNS = frozenset({"078051120", "219099999", "457555462", "123456789"})
ITIN_GROUPS = frozenset([*range(50, 66), *range(70, 89), 90, 91, 92, *range(94, 100)])
RTN_PREFIXES = frozenset([*range(0, 13), *range(21, 33), *range(61, 73), 80])

# Context words a label needs (whole words, ending within the window before the number).
POS_WORDS = {
    "US_SSN": ("ssn", "social security", "soc sec", "ss#", "ssa number", "taxpayer"),
    "US_ITIN": ("itin", "taxpayer identification"),
    "US_EIN": ("ein", "employer identification", "fein", "tax id", "federal tax", "w-9"),
    "US_BANK_ROUTING": ("routing", "aba", "rtn", "transit", "bank"),
    "SCE": ("account", "acct", "customer account", "service account", "sce", "edison"),
    "WATER": ("account", "acct", "acct#", "account no.", "account number"),
}
POS_WINDOW = {"US_SSN": 30, "US_ITIN": 30, "US_EIN": 30, "US_BANK_ROUTING": 30, "SCE": 45, "WATER": 20}
# Word beginnings that make an unlabeled number ambiguous when they are anywhere near it.
NEAR_WORDS = {
    "US_SSN": ("ssn", "social", "soc", "ss#", "ss #", "ssa", "taxpayer", "tin"),
    "US_ITIN": ("itin", "taxpayer", "tin", "ssn"),
    "US_EIN": ("ein", "employer", "fein", "tax", "w-9", "w9", "tin"),
    "US_BANK_ROUTING": ("routing", "aba", "rtn", "transit", "bank", "ach", "direct deposit"),
    "SCE": ("account", "acct", "a/c", "sce", "edison"),
    "WATER": ("account", "acct", "a/c"),
}
NEAR_BEFORE = 100
NEAR_AFTER = 50

_TOKEN = re.compile(r"\d+(?:[-. ]\d+)*", re.ASCII)
_SEP = re.compile(r"[-. ]")


def _words(words: tuple[str, ...], whole: bool) -> re.Pattern[str]:
    tail = r"(?![a-z0-9])" if whole else ""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + ")" + tail)


_POS_RE = {k: _words(v, True) for k, v in POS_WORDS.items()}
_NEAR_RE = {k: _words(v, False) for k, v in NEAR_WORDS.items()}


def is_ssn(d: str) -> bool:
    """Valid, issuable, non-placeholder SSN digits (DETECTION.md)."""
    if len(d) != 9 or not d.isdigit():
        return False
    area, group, serial = d[:3], d[3:5], d[5:]
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    if d in NOT_SSNS or len(set(d)) == 1:
        return False
    return stdnum_ssn.is_valid(d)


def is_itin(d: str) -> bool:
    """ITIN: 9dd-dd-dddd with the fourth and fifth digits in the IRS ranges."""
    if len(d) != 9 or not d.isdigit() or d[0] != "9" or len(set(d)) == 1:
        return False
    if int(d[3:5]) not in ITIN_GROUPS:
        return False
    return int(d[3:5]) < 70 or stdnum_itin.is_valid(d)


def itin_undefined(d: str) -> bool:
    """An ITIN-shaped number whose status DETECTION.md does not settle (serial 0000)."""
    return len(d) == 9 and d[0] == "9" and int(d[3:5]) in ITIN_GROUPS and d[5:] == "0000"


def is_ein(d: str) -> bool:
    """EIN with an assigned campus prefix."""
    return len(d) == 9 and d.isdigit() and d[:2] not in UNASSIGNED_EIN_PREFIXES and stdnum_ein.is_valid(d)


def is_rtn(d: str) -> bool:
    """ABA routing number: valid first two digits and 3-7-1 checksum."""
    return len(d) == 9 and d.isdigit() and int(d[:2]) in RTN_PREFIXES and stdnum_rtn.is_valid(d)


def card_brand(d: str) -> str | None:
    """The brand whose prefix and length ``d`` has, or None."""
    n = len(d)
    if not d.isdigit() or not 13 <= n <= 19:
        return None
    if d[0] == "4":
        return "visa" if n in (13, 16, 19) else None
    if n == 16 and (51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720):
        return "mastercard"
    if d[:2] in ("34", "37"):
        return "amex" if n == 15 else None
    if n >= 16 and (d[:4] == "6011" or 622126 <= int(d[:6]) <= 622925 or 644 <= int(d[:3]) <= 649 or d[:2] == "65"):
        return "discover"
    if n >= 16 and 3528 <= int(d[:4]) <= 3589:
        return "jcb"
    if n >= 14 and (300 <= int(d[:3]) <= 305 or d[:3] == "309" or d[:2] in ("36", "38", "39")):
        return "diners"
    if n >= 16 and d[:2] == "62":
        return "unionpay"
    return None


def is_card(d: str) -> bool:
    """Luhn-valid number with a real brand prefix and length."""
    return card_brand(d) is not None and luhn.is_valid(d)


def normalize_digits(text: str) -> str:
    """Map every Unicode decimal digit to ASCII, keeping offsets."""
    if text.isascii():
        return text
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in text)


@dataclass(frozen=True)
class Found:
    """A number the rules make a finding."""

    entity: str
    value: str
    start: int
    end: int


def _zone(low: str, start: int, end: int, key: str) -> str | None:
    """'pos' when a context word sits just before, 'near' when one is anywhere close."""
    water = key == "WATER"
    for m in _POS_RE[key].finditer(low, max(0, start - POS_WINDOW[key] - 30), start):
        if m.start() >= start - POS_WINDOW[key] and m.end() <= start:
            if not (water and re.search(r"\d", low[m.end():start])):
                return "pos"
    for m in _NEAR_RE[key].finditer(low, max(0, start - NEAR_BEFORE), start):
        if not (water and re.search(r"\d", low[m.end():start])):
            return "near"
    if _NEAR_RE[key].search(low[end:end + NEAR_AFTER]):
        return "near"
    return None


def _classify(low: str, start: int, end: int, groups: list[str], seps: list[str],
              edm: frozenset[str]) -> tuple[dict[str, str], list[str]]:
    """Map entity -> 'pos'/'near' for one candidate span; also return problems."""
    if len(set(seps)) > 1:
        return {}, []
    sep = seps[0] if seps else ""
    digits = "".join(groups)
    shape = tuple(len(g) for g in groups)
    zones: dict[str, str] = {}
    problems: list[str] = []

    def ctx(entity: str, key: str) -> None:
        z = _zone(low, start, end, key)
        if z and zones.get(entity) != "pos":
            zones[entity] = z

    if shape == (9,):
        for entity, valid in (("US_SSN", is_ssn), ("US_ITIN", is_itin), ("US_EIN", is_ein),
                              ("US_BANK_ROUTING", is_rtn)):
            if valid(digits):
                ctx(entity, entity)
    if shape == (3, 2, 4) and sep in "-. ":
        if is_ssn(digits):
            zones["US_SSN"] = "pos"
        if is_itin(digits):
            zones["US_ITIN"] = "pos"
    if shape in ((9,), (3, 2, 4)) and itin_undefined(digits):
        problems.append(f"ITIN-shaped number with serial 0000: {digits}")
    if shape == (2, 7) and sep == "-" and is_ein(digits):
        zones["US_EIN"] = "pos"
    if shape == (4, 4, 1) and sep == "-" and is_rtn(digits):
        ctx("US_BANK_ROUTING", "US_BANK_ROUTING")
    if shape in ((1, 2, 3, 4), (1, 3, 4, 2)) and sep == "-":
        ctx("UTILITY_ACCOUNT", "SCE")
    if len(shape) == 1 and 8 <= shape[0] <= 12:
        ctx("UTILITY_ACCOUNT", "WATER")
        if digits in edm:
            zones["UTILITY_ACCOUNT"] = "pos"
    if 13 <= len(digits) <= 19 and sep in ("", " ", "-") and is_card(digits):
        zones["CREDIT_CARD"] = "pos"
    return zones, problems


def scan(text: str, edm: frozenset[str]) -> tuple[list[Found], list[str]]:
    """Every finding the rules require in ``text``, and every ambiguous construction."""
    norm = normalize_digits(text)
    low = norm.lower()
    found: list[Found] = []
    problems: list[str] = []
    for m in _TOKEN.finditer(norm):
        groups = _SEP.split(m.group())
        seps = _SEP.findall(m.group())
        offsets = [m.start()]
        for g in groups[:-1]:
            offsets.append(offsets[-1] + len(g) + 1)
        n = len(groups)
        full_hit = False
        for i in range(n):
            for j in range(n, i, -1):
                s, e = offsets[i], offsets[j - 1] + len(groups[j - 1])
                zones, probs = _classify(low, s, e, groups[i:j], seps[i:j - 1], edm)
                problems += probs
                pos = sorted(k for k, z in zones.items() if z == "pos")
                near = sorted(k for k, z in zones.items() if z == "near")
                whole = (i, j) == (0, n)
                if whole and len(pos) == 1 and not near:
                    found.append(Found(pos[0], text[s:e], s, e))
                    full_hit = True
                elif whole and (pos or near):
                    problems.append(f"ambiguous {text[s:e]!r}: pos={pos} near={near}")
                elif not whole and not full_hit and (pos or near):
                    problems.append(f"{text[s:e]!r} ({pos + near}) inside longer number {m.group()!r}")
    return found, problems


def phone_spans(text: str) -> list[tuple[int, int, str]]:
    """Valid phone numbers phonenumbers finds (region US), as (start, end, raw)."""
    import phonenumbers

    return [(m.start, m.end, m.raw_string) for m in phonenumbers.PhoneNumberMatcher(text, "US")]


def is_us_phone(value: str) -> bool:
    """A valid phone number of the United States."""
    import phonenumbers

    try:
        num = phonenumbers.parse(value, "US")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(num) and phonenumbers.region_code_for_number(num) == "US"


def digits_are_phone(digits: str) -> bool:
    """True when a digit string alone would parse as a valid NANP phone number."""
    import phonenumbers

    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(digits, "US"))
    except phonenumbers.NumberParseException:
        return False


# ---- segment extraction -------------------------------------------------------------------

_BLOCK_TAGS = frozenset("p div br tr td th li ul ol table thead tbody h1 h2 h3 h4 h5 h6 hr blockquote pre".split())
_SKIP_TAGS = frozenset(("style", "script", "head", "title"))


class _HtmlText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip -= 1
        elif tag in _BLOCK_TAGS:
            self.out.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.out.append(data)


def html_to_text(html: str) -> str:
    """Text of an HTML body: inline tags vanish, block tags and cells become line breaks."""
    p = _HtmlText()
    p.feed(html)
    p.close()
    return "".join(p.out)


def docx_text(data: bytes) -> str:
    """Paragraphs one per line, table rows one per line with cells joined by tabs."""
    import docx

    doc = docx.Document(io.BytesIO(data))
    lines: list[str] = []
    for block in doc.iter_inner_content():
        if hasattr(block, "rows"):
            for row in block.rows:
                lines.append("\t".join(c.text for c in row.cells))
        else:
            lines.append(block.text)
    return "\n".join(lines)


def xlsx_text(data: bytes) -> str:
    """Rows one per line, cells as displayed joined by tabs, sheets in order."""
    import openpyxl

    wb = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    lines: list[str] = []
    for ws in wb.worksheets:
        for row in ws.iter_rows(values_only=True):
            lines.append("\t".join("" if v is None else str(v) for v in row).rstrip("\t"))
    return "\n".join(lines)


def pdf_text(data: bytes) -> str:
    """The text layer of every page, as pypdf extracts it."""
    import pypdf

    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def file_segments(name: str, data: bytes, segment: str) -> list[tuple[str, str]]:
    """(segment, text) for one attached file; zip members nest with '/'."""
    ext = name.rsplit(".", 1)[-1].lower()
    if ext in ("csv", "txt"):
        return [(segment, data.decode("utf-8").replace("\r\n", "\n"))]
    if ext == "docx":
        return [(segment, docx_text(data))]
    if ext == "xlsx":
        return [(segment, xlsx_text(data))]
    if ext == "pdf":
        return [(segment, pdf_text(data))]
    if ext == "zip":
        out: list[tuple[str, str]] = []
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in z.infolist():
                out += file_segments(info.filename, z.read(info), f"{segment}/{info.filename}")
        return out
    raise ValueError(f"no extractor for {name}")


def _part_segments(part: EmailMessage, prefix: str) -> list[tuple[str, str]]:
    ctype = part.get_content_type()
    name = part.get_filename()
    if ctype == "message/rfc822":
        inner = part.get_payload(0)
        return message_segments_of(inner, f"{prefix}attachment:{name}/")
    if part.is_multipart():
        out: list[tuple[str, str]] = []
        for sub in part.iter_parts():
            out += _part_segments(sub, prefix)
        return out
    if name:
        return file_segments(name, part.get_payload(decode=True), f"{prefix}attachment:{name}")
    text = part.get_content().replace("\r\n", "\n")
    if ctype == "text/html":
        return [(f"{prefix}body", html_to_text(text))]
    return [(f"{prefix}body", text)]


def message_segments_of(msg: EmailMessage, prefix: str = "") -> list[tuple[str, str]]:
    """(segment, text) for a parsed message, subject first."""
    return [(f"{prefix}subject", str(msg.get("Subject", "")))] + _part_segments(msg, prefix)


def message_segments(raw: bytes) -> list[tuple[str, str]]:
    """(segment, text) for every text-bearing part of a raw message; a segment may repeat
    (the plain and HTML alternatives of one body)."""
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return message_segments_of(msg)  # type: ignore[arg-type]

