"""Values for the independent evaluation corpus, valid (or invalid) by construction.

Every generator draws from a ``random.Random`` it is given, so the corpus is
reproducible from its seed. The rules come from /work/shared/DETECTION.md
(the project's DETECTION.md), checked where it can be against python-stdnum
and phonenumbers. The validators at the bottom are what the corpus's own
tests use to show that every labelled value is what its label says.

>>> import random
>>> rng = random.Random(1)
>>> is_valid("US_SSN", ssn(rng))
True
>>> is_valid("US_SSN", "078-05-1120")   # the Woolworth wallet card
False
>>> is_valid("CREDIT_CARD", "4111 1111 1111 1112")   # fails Luhn
False
"""

from __future__ import annotations

import random
import re

import phonenumbers
from stdnum import luhn
from stdnum.us import ein as std_ein
from stdnum.us import rtn as std_rtn
from stdnum.us import ssn as std_ssn

SENSITIVE_CORE = (
    "US_SSN",
    "US_ITIN",
    "US_EIN",
    "CREDIT_CARD",
    "US_BANK_ROUTING",
    "UTILITY_ACCOUNT",
)
"""The sensitive entities the detectors have today."""

SENSITIVE_NEW = ("US_DRIVER_LICENSE", "US_BANK_ACCOUNT")
"""Sensitive entities issue 16 adds; full sensitive entities, also pooled apart from the core six."""

SENSITIVE_LATER = SENSITIVE_NEW
"""The old name of :data:`SENSITIVE_NEW` (kept for callers)."""

SENSITIVE = SENSITIVE_CORE + SENSITIVE_NEW
ENTITIES = SENSITIVE + ("PHONE_NUMBER",)

SAMPLE_SSNS = frozenset({"078051120", "219099999", "457555462", "123456789"})
INVALID_EIN_PREFIXES = frozenset(
    ["00", "07", "08", "09", "17", "18", "19", "28", "29", "49", "69", "70", "78", "79", "89", "96", "97"]
)
VALID_EIN_PREFIXES = tuple(
    f"{p:02d}" for p in range(1, 100) if f"{p:02d}" not in INVALID_EIN_PREFIXES
)
ITIN_GROUPS = tuple(
    list(range(50, 66)) + list(range(70, 89)) + [90, 91, 92] + list(range(94, 100))
)
ROUTING_PREFIXES = tuple(list(range(13)) + list(range(21, 33)) + list(range(61, 73)) + [80])
AREA_CODES = ("661", "909", "562", "626", "310", "213", "323", "818", "714", "951")


def digits(text: str) -> str:
    """The digits of ``text``, Unicode digits included, as ASCII.

    >>> digits("２-14 583\\n0912")
    '2145830912'
    """
    if text.isascii():
        return _NON_DIGITS.sub("", text)
    return "".join(str(int(c)) for c in text if c.isdecimal())


_NON_DIGITS = re.compile(r"[^0-9]")


def _placeholder(d: str) -> bool:
    return len(set(d)) == 1 or d in SAMPLE_SSNS


# --- US_SSN / US_ITIN -------------------------------------------------------

def ssn_digits(rng: random.Random, area_max: int = 899) -> str:
    while True:
        area = rng.randint(1, area_max)
        if area == 666:
            continue
        d = f"{area:03d}{rng.randint(1, 99):02d}{rng.randint(1, 9999):04d}"
        if not _placeholder(d) and std_ssn.is_valid(d):
            return d


def ssn(rng: random.Random, style: str = "dash") -> str:
    return fmt_ssn(ssn_digits(rng), style)


def fmt_ssn(d: str, style: str = "dash") -> str:
    if style == "dash":
        return f"{d[:3]}-{d[3:5]}-{d[5:]}"
    if style == "space":
        return f"{d[:3]} {d[3:5]} {d[5:]}"
    if style == "dot":
        return f"{d[:3]}.{d[3:5]}.{d[5:]}"
    return d


def itin(rng: random.Random, style: str = "dash") -> str:
    while True:
        d = f"9{rng.randint(0, 99):02d}{rng.choice(ITIN_GROUPS):02d}{rng.randint(1, 9999):04d}"
        if not _placeholder(d):
            return fmt_ssn(d, style)


def ein_digits(rng: random.Random, also_ssn: bool = False) -> str:
    while True:
        prefix = rng.choice(VALID_EIN_PREFIXES)
        d = prefix + f"{rng.randint(0, 9999999):07d}"
        if also_ssn and not (std_ssn.is_valid(d) and not _placeholder(d)):
            continue
        if std_ein.is_valid(d) and len(set(d)) > 1:
            return d


def ein(rng: random.Random, plain: bool = False, also_ssn: bool = False) -> str:
    d = ein_digits(rng, also_ssn)
    return d if plain else f"{d[:2]}-{d[2:]}"


# --- US_BANK_ROUTING / US_BANK_ACCOUNT ---------------------------------------

def _aba_check(d8: str) -> str:
    weights = (3, 7, 1, 3, 7, 1, 3, 7)
    total = sum(int(c) * w for c, w in zip(d8, weights))
    return str((10 - total % 10) % 10)


def routing(rng: random.Random, style: str = "plain") -> str:
    while True:
        d8 = f"{rng.choice(ROUTING_PREFIXES):02d}{rng.randint(0, 999999):06d}"
        d = d8 + _aba_check(d8)
        if std_rtn.is_valid(d) and len(set(d)) > 2:
            break
    return f"{d[:4]}-{d[4:8]}-{d[8]}" if style == "dash" else d


def bank_account(rng: random.Random) -> str:
    n = rng.choice((8, 9, 9, 10, 10, 10, 11, 12, 12, 12, 12, 13, 17))
    lead = rng.choice(("0", "00", "", "", ""))
    body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1 - len(lead)))
    return lead + body


def bank_account_any(rng: random.Random) -> str:
    """A bank account over the whole NACHA range, 4 to 17 digits.

    Credit unions still have short share/checking numbers (4 to 7 digits);
    big banks print 10 to 12; 13 to 17 are brokerage and prepaid accounts.
    Never a run of one digit (a placeholder, not an account).
    """
    while True:
        n = rng.choice((4, 5, 6, 7, 7, 8, 9, 9, 10, 10, 10, 11, 12, 12, 12, 13, 14, 15, 16, 17))
        lead = rng.choice(("0", "00", "000", "", "", "", "")) if n >= 8 else ""
        body = str(rng.randint(1, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(n - 1 - len(lead)))
        d = lead + body
        if len(set(d)) > 2 and d not in ("123456789", "1234567890", "12345678"):
            return d


def fmt_bank_account(d: str, style: str) -> str:
    """Accounts as clerks type them: plain, or grouped by dashes/spaces the way a bank prints them."""
    if style == "dash" and len(d) >= 8:
        return f"{d[:4]}-{d[4:]}" if len(d) <= 10 else f"{d[:3]}-{d[3:7]}-{d[7:]}"
    if style == "space" and len(d) >= 8:
        return " ".join(d[i:i + 4] for i in range(0, len(d), 4))
    return d


# --- CREDIT_CARD -----------------------------------------------------------

_BRANDS = (
    ("Visa", lambda r: "4", 16),
    ("Visa", lambda r: "4", 16),
    ("Mastercard", lambda r: str(r.randint(51, 55)), 16),
    ("Mastercard", lambda r: str(r.randint(2221, 2720)), 16),
    ("American Express", lambda r: r.choice(("34", "37")), 15),
    ("Discover", lambda r: "6011", 16),
    ("Discover", lambda r: str(r.randint(644, 649)), 16),
    ("JCB", lambda r: str(r.randint(3528, 3589)), 16),
    ("Diners Club", lambda r: "36", 14),
)


def card(rng: random.Random, style: str = "space") -> tuple[str, str]:
    """A Luhn-valid card number with a real brand prefix: (brand, written)."""
    brand, prefix, length = rng.choice(_BRANDS)
    p = prefix(rng)
    body = p + "".join(str(rng.randint(0, 9)) for _ in range(length - len(p) - 1))
    d = body + luhn.calc_check_digit(body)
    return brand, fmt_card(d, style)


def fmt_card(d: str, style: str) -> str:
    if style == "plain":
        return d
    sep = " " if style == "space" else "-"
    if len(d) == 15 or len(d) == 14:
        groups = [d[:4], d[4:10], d[10:]]
    else:
        groups = [d[i:i + 4] for i in range(0, len(d), 4)]
    return sep.join(groups)


def bad_card(rng: random.Random) -> str:
    """Sixteen digits with a Visa/Mastercard prefix that fail Luhn."""
    p = rng.choice(("4", "52", "54"))
    body = p + "".join(str(rng.randint(0, 9)) for _ in range(15 - len(p)))
    good = int(luhn.calc_check_digit(body))
    d = body + str((good + rng.randint(1, 9)) % 10)
    return fmt_card(d, rng.choice(("space", "dash")))


# --- UTILITY_ACCOUNT --------------------------------------------------------

def sce_customer(rng: random.Random, style: str = "dash") -> str:
    d = "2" + f"{rng.randint(0, 999999999):09d}"
    if style == "dash":
        return f"{d[0]}-{d[1:3]}-{d[3:6]}-{d[6:]}"
    if style == "space":
        return f"{d[0]} {d[1:3]} {d[3:6]} {d[6:]}"
    return d


def sce_service(rng: random.Random) -> str:
    d = "3" + f"{rng.randint(0, 999999999):09d}"
    return f"{d[0]}-{d[1:4]}-{d[4:8]}-{d[8:]}"


def water_account(rng: random.Random) -> str:
    n = rng.randint(8, 12)
    zeros = rng.randint(1, 3)
    return "0" * zeros + str(rng.randint(1, 9)) + "".join(
        str(rng.randint(0, 9)) for _ in range(n - zeros - 1)
    )


OTHER_AREA_CODES = ("201", "206", "212", "305", "312", "404", "415", "424", "442", "510", "559", "619",
                    "650", "657", "702", "707", "760", "805", "831", "858", "916", "925", "949")


def phone_shaped_account(rng: random.Random) -> str:
    """Ten plain digits that phonenumbers would also accept as a US number."""
    while True:
        d = phone_digits(rng, area=rng.choice(AREA_CODES + OTHER_AREA_CODES))
        if d:
            return d


# --- PHONE_NUMBER -----------------------------------------------------------

def phone_digits(rng: random.Random, area: str | None = None) -> str:
    for _ in range(50):
        a = area or rng.choice(AREA_CODES)
        exch = rng.randint(200, 999)
        if exch % 100 == 11 or exch == 555 or exch == 950 or exch == 958 or exch == 959:
            continue
        d = f"{a}{exch}{rng.randint(0, 9999):04d}"
        if _valid_exchange(d[:6]):  # the tests check every generated number in full
            return d
    return ""


_EXCHANGE_VALID: dict[str, bool] = {}


def _valid_exchange(prefix: str) -> bool:
    if prefix not in _EXCHANGE_VALID:
        _EXCHANGE_VALID[prefix] = _valid_phone(prefix + "2345")
    return _EXCHANGE_VALID[prefix]


def _valid_phone(d: str) -> bool:
    try:
        n = phonenumbers.parse("+1" + d)
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.is_valid_number(n) and phonenumbers.region_code_for_number(n) == "US"


def phone(rng: random.Random, style: str | None = None) -> str:
    d = phone_digits(rng)
    style = style or rng.choice(("paren", "paren", "dash", "dot", "plus"))
    return fmt_phone(d, style)


def fmt_phone(d: str, style: str) -> str:
    a, e, n = d[:3], d[3:6], d[6:]
    return {
        "paren": f"({a}) {e}-{n}",
        "dash": f"{a}-{e}-{n}",
        "dot": f"{a}.{e}.{n}",
        "plus": f"+1 {a} {e} {n}",
        "plain": d,
    }[style]


# --- US_DRIVER_LICENSE ------------------------------------------------------

CA_LICENSE_PLACEHOLDERS = frozenset({"I1234568", "A1234567", "X1234567", "D1234567", "B1234567",
                                     "A0000000", "X0000000", "Z9999999", "A7654321"})
"""The DMV's sample card (``I1234568``, as printed on the published sample licence images) and
the placeholders clerks type into forms and test systems: not anyone's licence."""


def ca_license(rng: random.Random) -> str:
    while True:
        v = rng.choice("ABCDEFGHJKLMNPRSTUVWYZ") + f"{rng.randint(0, 9999999):07d}"
        if v not in CA_LICENSE_PLACEHOLDERS and len(set(v[1:])) > 1 and v[1:] not in ("1234567", "7654321"):
            return v


# --- validators ---------------------------------------------------------------

def _itin_ok(d: str) -> bool:
    return len(d) == 9 and d[0] == "9" and int(d[3:5]) in ITIN_GROUPS and not _placeholder(d)


def _card_ok(d: str) -> bool:
    if not 13 <= len(d) <= 19 or not luhn.is_valid(d):
        return False
    n = len(d)
    if d[0] == "4":
        return n in (13, 16, 19)
    if 51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720:
        return n == 16
    if d[:2] in ("34", "37"):
        return n == 15
    if d[:4] == "6011" or 622126 <= int(d[:6]) <= 622925 or 644 <= int(d[:3]) <= 649 or d[:2] == "65":
        return 16 <= n <= 19
    if 3528 <= int(d[:4]) <= 3589:
        return 16 <= n <= 19
    if 300 <= int(d[:3]) <= 305 or d[:3] == "309" or d[:2] in ("36", "38", "39"):
        return 14 <= n <= 19
    if d[:2] == "62":
        return 16 <= n <= 19
    return False


_UTILITY_FORMS = (
    re.compile(r"2-\d\d-\d{3}-\d{4}"),
    re.compile(r"2 \d\d \d{3} \d{4}"),
    re.compile(r"3-\d{3}-\d{4}-\d\d"),
    re.compile(r"\d{8,12}"),
)


def is_valid(entity: str, written: str) -> bool:
    """Whether ``written`` is a valid value of ``entity`` by DETECTION.md's rules."""
    written = re.sub(r"\n(?:>\s?)+", "\n", written)  # a value wrapped inside a quoted reply
    d = digits(written)
    flat = " ".join(written.split())
    if entity == "US_SSN":
        return len(d) == 9 and std_ssn.is_valid(d) and not _placeholder(d)
    if entity == "US_ITIN":
        return _itin_ok(d)
    if entity == "US_EIN":
        return len(d) == 9 and d[:2] not in INVALID_EIN_PREFIXES and std_ein.is_valid(d)
    if entity == "CREDIT_CARD":
        return _card_ok(d)
    if entity == "US_BANK_ROUTING":
        return len(d) == 9 and int(d[:2]) in ROUTING_PREFIXES and std_rtn.is_valid(d)
    if entity == "UTILITY_ACCOUNT":
        compact = flat.replace("- ", "-")
        return any(p.fullmatch(compact) for p in _UTILITY_FORMS) or (
            8 <= len(d) <= 12 and re.fullmatch(r"[\d \-]+", compact) is not None
        )
    if entity == "PHONE_NUMBER":
        return len(d) in (10, 11) and _valid_phone(d[-10:])
    if entity == "US_DRIVER_LICENSE":
        return (re.fullmatch(r"[A-Z]\d{7}", flat) is not None and flat not in CA_LICENSE_PLACEHOLDERS
                and len(set(flat[1:])) > 1 and flat[1:] not in ("1234567", "7654321"))
    if entity == "US_BANK_ACCOUNT":
        return (4 <= len(d) <= 17 and len(set(d)) > 1
                and re.fullmatch(r"\d+(?:[ -]\d+)*", flat) is not None)
    raise ValueError(f"unknown entity {entity}")
