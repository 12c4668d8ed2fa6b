"""Deterministic, labeled corpus of municipal and utility mail for measuring detection.

``generate(seed, count)`` returns complete RFC 5322 messages (CRLF line ends) with
every sensitive value labeled by entity, segment and the exact text written.
About half the messages are clean but full of hard negatives (invalid or
placeholder SSNs, ATINs, unassigned EIN prefixes, Luhn failures, checksum
failures, numbers with no context, phone numbers in every format).  Labels are
re-derived from the finished bytes by ``validate`` (see reference.py), which
must report nothing.

    python tests/corpus/generate.py OUTDIR [--seed N] [--count N] [--check]

writes OUTDIR/NAME.eml, OUTDIR/labels.jsonl and OUTDIR/edm_accounts.csv.
PHONE_NUMBER labels are present in clean messages too: "clean" means no
sensitive label (CONTRACT.md: PHONE_NUMBER alone is never sensitive).  Labels are
distinct (entity, segment, value) triples; a value written twice in one
segment (say, in the plain and HTML alternatives of the body) is one label.

>>> from tests.corpus.generate import generate as _g
>>> s = _g(seed=7, count=4)
>>> [x.name for x in s] == [x.name for x in _g(seed=7, count=4)] and s[0].message.endswith(b"\\r\\n")
True
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
import textwrap
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from functools import lru_cache
from html import escape
from pathlib import Path
from typing import Any

from stdnum import luhn
from stdnum.us import ein as stdnum_ein
from stdnum.us import rtn as stdnum_rtn
from stdnum.us import ssn as stdnum_ssn

try:
    from . import reference as ref
    from . import templates as T
except ImportError:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.corpus import reference as ref
    from tests.corpus import templates as T

FORMS = ("plain", "html", "attachment:csv", "attachment:docx", "attachment:xlsx", "attachment:pdf",
         "attachment:zip", "attachment:eml")
FORM_WEIGHTS = (30, 22, 8, 8, 8, 8, 7, 9)
FOCUS_WEIGHTS = {"US_SSN": 22, "UTILITY_ACCOUNT": 22, "CREDIT_CARD": 16, "US_EIN": 14, "US_BANK_ROUTING": 14,
                 "US_ITIN": 12}
FOCUS_SLOTS = {
    "US_SSN": ("ssn", "ssn_plain", "ssn_num"),
    "US_ITIN": ("itin", "itin_plain", "ssn_or_itin"),
    "US_EIN": ("ein", "ein_plain"),
    "CREDIT_CARD": ("card",),
    "US_BANK_ROUTING": ("rtn", "rtn_dash"),
    "UTILITY_ACCOUNT": ("sce_cust", "sce_svc", "water", "edm"),
}
EDM_KINDS = ("billing-dispute", "collections", "refund", "service-request", "payment-arrangement")
BASE_TIME = datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=-8)))
ZIP_TIME = (2026, 3, 2, 8, 0, 0)
MAX_ATTEMPTS = 60

MIME = {
    "csv": ("text", "csv"),
    "txt": ("text", "plain"),
    "docx": ("application", "vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "pdf": ("application", "pdf"),
    "zip": ("application", "zip"),
}


@dataclass(frozen=True)
class Label:
    """One sensitive value, exactly as written, in one segment of a message."""

    entity: str
    segment: str
    value: str


@dataclass(frozen=True)
class Sample:
    """One message of the corpus and its labels."""

    name: str
    message: bytes
    labels: tuple[Label, ...]
    form: str
    kind: str

    @property
    def clean(self) -> bool:
        """No sensitive label (PHONE_NUMBER alone is never sensitive)."""
        return all(x.entity == "PHONE_NUMBER" for x in self.labels)


# ---- values -------------------------------------------------------------------------------


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(n))


@lru_cache(maxsize=1)
def _edm() -> tuple[str, ...]:
    rng = random.Random("dlp-gateway corpus EDM accounts v1")
    out: list[str] = []
    while len(out) < 200:
        d = _digits(rng, 10)
        if d not in out and len(set(d)) >= 4 and not ref.digits_are_phone(d):
            out.append(d)
    return tuple(out)


@lru_cache(maxsize=1)
def _edm_set() -> frozenset[str]:
    return frozenset(_edm())


def edm_accounts() -> list[str]:
    """The utility's customer account list (10-digit strings) behind the EDM samples."""
    return list(_edm())


def _inert(value: str) -> bool:
    """True when ``value`` alone is no finding, no ambiguity and no phone number."""
    found, problems = ref.scan(value, _edm_set())
    return not found and not problems and not ref.phone_spans(value)


def _until(rng: random.Random, make: Callable[[random.Random], str], ok: Callable[[str], bool]) -> str:
    for _ in range(1000):
        v = make(rng)
        if ok(v):
            return v
    raise RuntimeError("value generator did not converge")


def _fmt3(d: str, sep: str) -> str:
    return f"{d[:3]}{sep}{d[3:5]}{sep}{d[5:]}"


def _ssn_sep(rng: random.Random) -> str:
    return rng.choice("---- .")


def new_ssn(rng: random.Random, lead: int = 1) -> str:
    """Digits of a valid, non-placeholder SSN (area >= ``lead``)."""
    return _until(rng, lambda r: f"{r.randint(lead, 899):03d}{r.randint(1, 99):02d}{r.randint(1, 9999):04d}",
                  lambda d: ref.is_ssn(d) and stdnum_ssn.is_valid(d))


def new_itin(rng: random.Random) -> str:
    """Digits of a valid ITIN, including the 50-65 group range."""
    groups = sorted(ref.ITIN_GROUPS)
    return _until(rng, lambda r: f"9{_digits(r, 2)}{r.choice(groups):02d}{r.randint(1, 9999):04d}", ref.is_itin)


def new_ein(rng: random.Random) -> str:
    """Digits of an EIN with an assigned prefix."""
    return _until(rng, lambda r: _digits(r, 9), lambda d: ref.is_ein(d) and len(set(d)) > 2)


def new_rtn(rng: random.Random) -> str:
    """A routing number with a valid prefix and ABA checksum."""
    prefixes = sorted(ref.RTN_PREFIXES)

    def make(r: random.Random) -> str:
        body = f"{r.choice(prefixes):02d}{_digits(r, 6)}"
        return body + stdnum_rtn.calc_check_digit(body)

    return _until(rng, make, ref.is_rtn)


def _card_start(rng: random.Random) -> tuple[str, int]:
    brand = rng.choice(("visa",) * 4 + ("mastercard",) * 3 + ("amex",) * 2 + ("discover",) * 2
                       + ("jcb", "diners", "unionpay"))
    if brand == "visa":
        return "4", rng.choice((16, 16, 16, 16, 13, 19))
    if brand == "mastercard":
        return (str(rng.randint(51, 55)) if rng.random() < 0.7 else str(rng.randint(2221, 2720))), 16
    if brand == "amex":
        return rng.choice(("34", "37")), 15
    if brand == "discover":
        return rng.choice(("6011", "65", str(rng.randint(644, 649)), str(rng.randint(622126, 622925)))), \
            rng.choice((16, 16, 16, 19))
    if brand == "jcb":
        return str(rng.randint(3528, 3589)), 16
    if brand == "diners":
        return rng.choice(("36", "38", str(rng.randint(300, 305)))), rng.choice((14, 14, 16))
    return "62", rng.choice((16, 19))


def _with_luhn(start: str, n: int, rng: random.Random) -> str:
    body = start + _digits(rng, n - 1 - len(start))
    return body + luhn.calc_check_digit(body)


def new_card(rng: random.Random) -> str:
    """Digits of a Luhn-valid card number of a real brand and length."""
    def make(r: random.Random) -> str:
        start, n = _card_start(r)
        return _with_luhn(start, n, r)

    return _until(rng, make, ref.is_card)


def fmt_card(d: str, rng: random.Random) -> str:
    """Group a card number the way its brand prints it, or leave it ungrouped."""
    sep = rng.choice((" ", " ", "-", ""))
    layout = {14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 19: (4, 4, 4, 4, 3)}.get(len(d))
    if not sep or layout is None:
        return d
    out, i = [], 0
    for g in layout:
        out.append(d[i:i + g])
        i += g
    return sep.join(out)


def _phone_ok(value: str) -> bool:
    return ref.is_us_phone(value) and ref.phone_spans(f"Tel {value} ") == [(4, 4 + len(value), value)]


PHONE_STYLES = ("({a}) {e}-{l}",) * 6 + ("{a}-{e}-{l}",) * 5 + ("{a}.{e}.{l}",) * 2 + (
    "{a} {e} {l}", "+1 {a} {e} {l}", "+1 {a} {e} {l}", "+1-{a}-{e}-{l}", "+1 ({a}) {e}-{l}", "1-{a}-{e}-{l}",
    "{a}{e}{l}")


def new_phone(rng: random.Random, areas: tuple[str, ...], styles: tuple[str, ...] = PHONE_STYLES) -> str:
    """A valid US phone number (never 555 or N11 exchanges) in one of many formats."""
    def make(r: random.Random) -> str:
        e = r.randint(200, 999)
        while e % 100 == 11 or e in (555, 950, 958, 959, 976):
            e = r.randint(200, 999)
        return r.choice(styles).format(a=r.choice(areas), e=e, l=_digits(r, 4))

    return _until(rng, make, _phone_ok)


def fictional_phone(rng: random.Random) -> str:
    """A phone-shaped number phonenumbers rejects (555 or unassigned area, 0/1 exchange)."""
    def make(r: random.Random) -> str:
        a = r.choice(("555", "123", "211", "311", "999", "370", r.choice(T.AREA_CODES)))
        e = r.randint(200, 999) if a not in T.AREA_CODES else int(r.choice("01") + _digits(r, 2))
        return r.choice(("({a}) {e:03d}-{l}", "{a}-{e:03d}-{l}", "{a}.{e:03d}.{l}")).format(a=a, e=e, l=_digits(r, 4))

    return _until(rng, make, lambda v: not ref.is_us_phone(v) and _inert(v))


def bad_ssn(rng: random.Random, allow_9xx: bool = True) -> str:
    """Digits of an SSN-shaped number that is no SSN and no ITIN."""
    def make(r: random.Random) -> str:
        area, group, serial = f"{r.randint(1, 899):03d}", f"{r.randint(1, 99):02d}", f"{r.randint(1, 9999):04d}"
        choice = r.randrange(9 if allow_9xx else 8)
        if choice == 0:
            return "000" + group + serial
        if choice == 1:
            return "666" + group + serial
        if choice == 2:
            return area + "00" + serial
        if choice == 3:
            return area + group + "0000"
        if choice in (4, 5):
            return r.choice(("078051120", "219099999", "457555462", "123456789"))
        if choice == 6:
            return r.choice("12345678") * 9
        if choice == 7:
            return "9" + _digits(r, 2) + "93" + serial
        bad_groups = [g for g in range(100) if g not in ref.ITIN_GROUPS]
        return "9" + _digits(r, 2) + f"{r.choice(bad_groups):02d}" + serial

    return _until(rng, make, lambda d: not ref.is_ssn(d) and not ref.is_itin(d) and not ref.itin_undefined(d))


def bad_card(rng: random.Random) -> str:
    """A long number that is no card: Luhn failure, no brand prefix, or wrong length for its brand."""
    def make(r: random.Random) -> str:
        choice = r.randrange(3)
        if choice == 0:
            d = _with_luhn(*_card_start(r)[:1], 16, r) if r.random() < 0.5 else _with_luhn("4", 16, r)
            return d[:-1] + str((int(d[-1]) + r.randint(1, 9)) % 10)
        if choice == 1:
            return _with_luhn(r.choice(("1", "7", "8", "9", "31", "32", "33")), 16, r)
        start, n = r.choice((("4", 14), ("4", 15), ("4", 17), ("4", 18), ("34", 16), ("37", 16),
                             (str(r.randint(51, 55)), 15), (str(r.randint(51, 55)), 17)))
        return _with_luhn(start, n, r)

    def fmt(r: random.Random) -> str:
        d = make(r)
        return fmt_card(d, r) if len(d) == 16 else d

    return _until(rng, fmt, lambda v: not ref.is_card(re.sub(r"\D", "", v)) and _inert(v))


def bad_rtn(rng: random.Random) -> str:
    """Nine digits that fail as a routing number (checksum or prefix)."""
    def make(r: random.Random) -> str:
        if r.random() < 0.6:
            d = new_rtn(r)
            return d[:-1] + str((int(d[-1]) + r.randint(1, 9)) % 10)
        body = f"{r.choice([*range(13, 21), *range(33, 61), *range(73, 80), *range(81, 100)]):02d}{_digits(r, 6)}"
        return body + stdnum_rtn.calc_check_digit(body)

    return _until(rng, make, lambda d: not ref.is_rtn(d) and _inert(d))


def _sce(rng: random.Random, first: str, layout: tuple[int, ...]) -> str:
    def make(r: random.Random) -> str:
        d = first + _digits(r, 9)
        out, i = [], 0
        for g in layout:
            out.append(d[i:i + g])
            i += g
        return "-".join(out)

    return _until(rng, make, lambda v: _inert(v) and not ref.digits_are_phone(v.replace("-", "")))


def plain_number(rng: random.Random, n: int, lead: str = "123456789") -> str:
    """A plain digit run that is no phone number, no EDM account and no finding on its own."""
    return _until(rng, lambda r: r.choice(lead) + _digits(r, n - 1),
                  lambda d: d not in _edm_set() and len(set(d)) > 2 and not ref.digits_are_phone(d) and _inert(d))


def edm_near_miss(rng: random.Random) -> str:
    """An EDM account with one digit changed: same shape, not in the list."""
    def make(r: random.Random) -> str:
        d = list(r.choice(_edm()))
        i = r.randrange(10)
        d[i] = str((int(d[i]) + r.randint(1, 9)) % 10)
        return "".join(d)

    return _until(rng, make, lambda d: d not in _edm_set() and not ref.digits_are_phone(d) and _inert(d))


def _rand_date(rng: random.Random) -> date:
    return date(2026, 1, 1) + timedelta(days=rng.randrange(365 * 2) - 180)


def _amount(rng: random.Random, lo: int, hi: int) -> str:
    return f"${rng.randint(lo, hi):,}.{rng.randrange(100):02d}"


def _time(rng: random.Random) -> str:
    h = rng.choice((7, 8, 9, 10, 11, 1, 2, 3, 4))
    return f"{h}:{rng.choice(('00', '15', '30', '45'))} {'AM' if h >= 7 else 'PM'}"


def _tracking(rng: random.Random) -> str:
    if rng.random() < 0.5:
        d = "94001" + _digits(rng, 17)
        return " ".join(d[i:i + 4] for i in range(0, 22, 4))
    return "1Z" + "".join(rng.choice("ABCDEFGHJKRWXY0123456789") for _ in range(5)) + rng.choice("AEWXY") \
        + "03" + _digits(rng, 8)


def _ip(rng: random.Random) -> str:
    return rng.choice((f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                       f"203.0.113.{rng.randint(1, 254)}", f"198.51.100.{rng.randint(1, 254)}"))


def _case_no(rng: random.Random) -> str:
    y = rng.randint(2019, 2026)
    return rng.choice((f"{y}-CV-{rng.randint(1, 99999):06d}", f"CEB-{y}-{rng.randint(1, 9999):05d}",
                       f"{y % 100}CECG{rng.randint(1, 99999):05d}", f"BC{rng.randint(100000, 799999)}",
                       f"{y}-CE-{rng.randint(1, 9999):04d}"))


def _filler(rng: random.Random) -> dict[str, Callable[[], str]]:
    """Unlabeled slots: hard negatives and ordinary business numbers."""
    r = rng

    def d() -> date:
        return _rand_date(r)

    return {
        "month": lambda: r.choice(T.MONTHS),
        "date_iso": lambda: d().isoformat(),
        "date_us": lambda: d().strftime("%m/%d/%Y"),
        "date_long": lambda: d().strftime("%B %-d, %Y"),
        "time": lambda: _time(r),
        "time2": lambda: _time(r),
        "amount": lambda: _amount(r, 12, 4999),
        "big_amount": lambda: _amount(r, 10_000, 9_999_999),
        "ccf": lambda: str(r.randint(6, 95)),
        "reading": lambda: f"{r.randint(1000, 99999):05d}",
        "case_no": lambda: _case_no(r),
        "resolution": lambda: f"{r.randint(2019, 2026)}-{r.randint(1, 199):03d}",
        "ordinance": lambda: str(r.randint(1100, 1299)),
        "permit": lambda: r.choice((f"BLD{r.randint(19, 26)}-{r.randint(1, 99999):05d}",
                                    f"ENC-{r.randint(2020, 2026)}-{r.randint(1, 9999):04d}",
                                    f"B{r.randint(19, 26)}-{r.randint(1, 999999):06d}")),
        "invoice": lambda: r.choice((f"INV-{r.randint(1, 999999):06d}",
                                     f"{r.randint(2024, 2026)}-{r.randint(1, 99999):05d}")),
        "wo": lambda: f"WO-{r.randint(1, 999999):06d}",
        "guid": lambda: str(uuid.UUID(int=r.getrandbits(128), version=4)),
        "ip": lambda: _ip(r),
        "tracking": lambda: _until(r, _tracking, _inert),
        "emp_id": lambda: f"E{r.randint(1000, 99999):05d}",
        "check_no": lambda: str(r.randint(100000, 999999)),
        "pct": lambda: r.choice((str(r.randint(1, 30)), f"{r.randint(1, 12)}.{r.randint(1, 9)}")),
        "agenda_item": lambda: f"{r.randint(1, 14)}{r.choice('ABCDEFG')}",
        "ticket": lambda: r.choice((f"INC{r.randint(1, 9999999):07d}", f"REQ-{r.randint(1, 999999):06d}")),
        "vendor_no": lambda: f"V{r.randint(1, 999999):06d}",
        "exp": lambda: f"{r.randint(1, 12):02d}/{r.randint(26, 31)}",
        "license": lambda: str(r.randint(100000, 1099999)),
        "batch": lambda: f"PR-{r.randint(2024, 2026)}-{r.randint(1, 26):02d}",
        "pra_no": lambda: f"PRR-{r.randint(2024, 2026)}-{r.randint(1, 9999):04d}",
        "fund": lambda: _until(r, lambda q: f"{q.randint(100, 799)}-{q.randint(1000, 9999)}-{q.randint(50000, 59999)}",
                               _inert),
        "program": lambda: r.choice(T.PROGRAMS),
        "project": lambda: r.choice(T.PROJECTS),
        "result": lambda: r.choice(T.RESULTS),
        "arr_id": lambda: f"PA-{r.randint(1, 99999):05d}",
        "gb": lambda: f"{r.randint(10, 900)}.{r.randint(0, 9)}",
        "zoom": lambda: _until(r, lambda q: f"8{_digits(q, 2)} {_digits(q, 4)} {_digits(q, 4)}", _inert),
        "passcode": lambda: str(r.randint(100000, 999999)),
        "apn": lambda: _until(r, lambda q: f"{q.randint(2000, 8999)}-{q.randint(0, 99):03d}-{q.randint(0, 99):03d}",
                              _inert),
        "trace": lambda: plain_number(r, 15, "0"),
        "kwh": lambda: f"{r.randint(200, 2400):,}",
        "days": lambda: r.choice(("30", "60", "90", "120")),
        "bucket": lambda: r.choice(("0-30 days", "31-60 days", "61-90 days", "over 90 days")),
        "count": lambda: str(r.randint(1, 400)),
        "hours": lambda: f"{r.randint(0, 80)}.{r.choice(('0', '25', '5', '75'))}",
        "status": lambda: r.choice(("paid", "due", "missed", "scheduled")),
        "crew": lambda: f"Crew {r.randint(1, 12)}",
        "db_table": lambda: r.choice(("billing.payments", "cis.customers", "stage.refunds", "web.orders")),
        "dept_code": lambda: r.choice(("PW", "FIN", "HR", "CD", "IT", "WTR")),
        "small3": lambda: str(r.randint(100, 665)),
        "small2": lambda: str(r.randint(10, 99)),
        "small4": lambda: str(r.randint(1000, 9999)),
        "last4": lambda: _digits(r, 4),
        "masked_ssn": lambda: r.choice(("XXX-XX-", "***-**-", "xxx-xx-")) + _digits(r, 4),
        "fict_phone": lambda: fictional_phone(r),
        "meter": lambda: plain_number(r, 8),
        "po": lambda: plain_number(r, 10, "4"),
        "nine": lambda: plain_number(r, 9),
        "rtn_free": lambda: _until(r, new_rtn, lambda v: _inert(v) and not ref.digits_are_phone(v)),
        "acct10": lambda: plain_number(r, 10, "0123456789"),
        "acct10_near": lambda: edm_near_miss(r),
        "bad_ssn": lambda: _fmt3(bad_ssn(r), _ssn_sep(r)),
        "bad_ssn_plain": lambda: bad_ssn(r, allow_9xx=False),
        "atin": lambda: _fmt3("9" + _digits(r, 2) + "93" + f"{r.randint(1, 9999):04d}", _ssn_sep(r)),
        "atin_plain": lambda: "9" + _digits(r, 2) + "93" + f"{r.randint(1, 9999):04d}",
        "bad_ein": lambda: f"{r.choice(sorted(ref.UNASSIGNED_EIN_PREFIXES))}-{_digits(r, 7)}",
        "bad_ein_plain": lambda: _until(r, lambda q: q.choice(sorted(ref.UNASSIGNED_EIN_PREFIXES - {"00"}))
                                        + _digits(q, 7),
                                        _inert),
        "bad_card": lambda: bad_card(r),
        "bad_rtn": lambda: bad_rtn(r),
        "bad_sce": lambda: _sce(r, r.choice("2345678"), r.choice(((1, 2, 3, 4), (1, 3, 4, 2)))),
    }


# ---- one message being written ------------------------------------------------------------

_MARK = re.compile("\x00(\\d+)\x00")
_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class _Value:
    entity: str | None
    text: str
    numeric: bool = False
    free: bool = False  # a finding without context (may be printed in full-width digits)


class Draft:
    """One message being written: random source, sender, the values it holds, its labels."""

    def __init__(self, rng: random.Random, org: dict[str, object], fullwidth: bool = False) -> None:
        self.rng = rng
        self.org = org
        self.fullwidth = fullwidth
        self.values: list[_Value] = []
        self.labels: dict[Label, None] = {}
        self.texts: list[tuple[str, str]] = []
        self.edm_used = 0
        self.filler = _filler(rng)
        self.labeled = self._labeled()
        self.named = self._named_table()
        self.staff = f"{rng.choice(T.FIRST)} {rng.choice(T.LAST)}"
        self.first = rng.choice(T.FIRST)
        self.dept = rng.choice(org["dept"])  # type: ignore[arg-type]
        self.title = rng.choice(T.TITLES)
        self.plus4 = f"{rng.randint(1000, 9999)}"

    # slots
    def _mark(self, entity: str | None, text: str, numeric: bool = False, free: bool = False) -> str:
        self.values.append(_Value(entity, text, numeric, free))
        return f"\x00{len(self.values) - 1}\x00"

    def _addr(self) -> str:
        r = self.rng
        city, st, z = r.choice(T.CITIES)
        zip4 = f"{z}{r.randint(1, 99):02d}-{r.randint(1000, 9999)}"
        return f"{r.randint(100, 45999)} {r.choice(T.STREETS)}, {city}, {st} {zip4}"

    def _labeled(self) -> dict[str, Callable[[], str]]:
        """Labeled slots: each returns a marker for a fresh valid value."""
        r = self.rng
        m = self._mark
        own: tuple[str, ...] = self.org["area"]  # type: ignore[assignment]

        def ein() -> str:
            d = new_ein(r)
            return m("US_EIN", f"{d[:2]}-{d[2:]}", free=True)

        def rtn_dash() -> str:
            d = new_rtn(r)
            return m("US_BANK_ROUTING", f"{d[:4]}-{d[4:8]}-{d[8]}")

        def water() -> str:
            n = r.choice((8, 9, 10, 10, 11, 12))
            return m("UTILITY_ACCOUNT", plain_number(r, n, "0123456789" if n > 8 else "123456789"))

        def edm() -> str:
            self.edm_used += 1
            taken = {v.text for v in self.values}
            return m("UTILITY_ACCOUNT", r.choice([a for a in _edm() if a not in taken]))

        def edm_or_acct10() -> str:
            if self.edm_used == 0 or r.random() < 0.5:
                return edm()
            return self.slot("acct10_near" if r.random() < 0.3 else "acct10")

        return {
            "ssn": lambda: m("US_SSN", _fmt3(new_ssn(r), _ssn_sep(r)), free=True),
            "ssn_plain": lambda: m("US_SSN", new_ssn(r)),
            "ssn_num": lambda: m("US_SSN", new_ssn(r, lead=100), numeric=True),
            "itin": lambda: m("US_ITIN", _fmt3(new_itin(r), "-"), free=True),
            "itin_plain": lambda: m("US_ITIN", new_itin(r)),
            "ssn_or_itin": lambda: self.slot("itin" if r.random() < 0.3 else "ssn"),
            "ein": ein,
            "ein_plain": lambda: m("US_EIN", new_ein(r)),
            "card": lambda: m("CREDIT_CARD", fmt_card(new_card(r), r), free=True),
            "rtn": lambda: m("US_BANK_ROUTING", new_rtn(r)),
            "rtn_dash": rtn_dash,
            "sce_cust": lambda: m("UTILITY_ACCOUNT", _sce(r, "2", (1, 2, 3, 4))),
            "sce_svc": lambda: m("UTILITY_ACCOUNT", _sce(r, "3", (1, 3, 4, 2))),
            "water": water,
            "edm": edm,
            "edm_or_acct10": edm_or_acct10,
            "phone": lambda: m("PHONE_NUMBER", new_phone(r, own if r.random() < 0.6 else T.AREA_CODES)),
            "phone_tf": lambda: m("PHONE_NUMBER", new_phone(r, T.TOLL_FREE, ("1-{a}-{e}-{l}", "({a}) {e}-{l}",
                                                                               "{a}-{e}-{l}"))),
        }

    def slot(self, name: str) -> str:
        """Text (or a value marker) for one ``{slot}``."""
        for table in (self.labeled, self.filler, self.named):
            if name in table:
                return table[name]()
        raise KeyError(f"unknown slot {{{name}}}")

    def _named_table(self) -> dict[str, Callable[[], str]]:
        """Names, addresses and the sender's organisation."""
        r = self.rng
        o = self.org
        return {
            "name": lambda: f"{r.choice(T.FIRST)} {r.choice(T.LAST)}",
            "first": lambda: self.first,
            "staff": lambda: self.staff,
            "title": lambda: self.title,
            "dept": lambda: self.dept,
            "company": lambda: r.choice(T.COMPANIES),
            "bank": lambda: r.choice(T.BANKS),
            "addr": self._addr,
            "addr_short": lambda: f"{r.randint(100, 45999)} {r.choice(T.STREETS)}",
            "street": lambda: r.choice(T.STREETS),
            "orgname": lambda: str(o["name"]),
            "orgshort": lambda: str(o["short"]),
            "utility": lambda: str(o["utility"]),
            "org_addr": lambda: f"{o['street']}, {o['city']}, {o['state']} {o['zip']}-{self.plus4}",
        }

    def fill(self, template: str, **extra: str) -> str:
        """Fill every ``{slot}``; labeled values become markers resolved per segment."""
        return re.sub(r"\{(\w+)\}", lambda m: extra[m.group(1)] if m.group(1) in extra else self.slot(m.group(1)),
                      template)

    # rendering
    def _shown(self, v: _Value, segment: str) -> str:
        text = v.text
        if self.fullwidth and v.free and segment == "body" and v.entity in ("US_SSN", "CREDIT_CARD", "US_EIN"):
            text = text.translate(_FULLWIDTH)
        if v.entity:
            self.labels[Label(v.entity, segment, text)] = None
        return text

    def resolve(self, text: str, segment: str) -> str:
        """Plain text for ``segment``; labels every value written."""
        return _MARK.sub(lambda m: self._shown(self.values[int(m.group(1))], segment), text)

    def resolve_html(self, text: str, segment: str, split: bool) -> str:
        """HTML for ``segment``; labeled values are sometimes split by inline tags."""
        def one(m: re.Match[str]) -> str:
            v = self.values[int(m.group(1))]
            shown = self._shown(v, segment)
            if not (split and v.entity and self.rng.random() < 0.6 and len(shown) > 4):
                return escape(shown)
            i = self.rng.randrange(1, len(shown) - 2)
            j = self.rng.randrange(i + 1, len(shown))
            o, c = self.rng.choice(T.HTML_SPLIT_TAGS)
            return f"{escape(shown[:i])}{o}{escape(shown[i:j])}{c}{escape(shown[j:])}"

        return _MARK.sub(one, escape(text, quote=False))

    def cell(self, text: str, segment: str) -> str | int:
        """A spreadsheet cell: a lone numeric marker becomes a number."""
        m = _MARK.fullmatch(text)
        if m and self.values[int(m.group(1))].numeric:
            return int(self.resolve(text, segment))
        return self.resolve(text, segment)

    def record(self, segment: str, text: str) -> None:
        """Remember the text of a segment for the audit."""
        self.texts.append((segment, text))


# ---- documents ----------------------------------------------------------------------------

Block = tuple[Any, ...]  # ("h", text) | ("p", text) | ("t", header, rows)


def _card_cells(rng: random.Random) -> list[str]:
    """Four 4-digit cells that would read as a valid card number if merged."""
    d = _until(rng, lambda r: _with_luhn("4", 16, r), lambda v: ref.is_card(v) and "0" not in v[::4])
    return [d[i:i + 4] for i in range(0, 16, 4)]


def _table(d: Draft, spec: dict[str, Any]) -> Block:
    lo, hi = spec["rows"]
    rows: list[list[str]] = []
    for _ in range(d.rng.randint(lo, hi)):
        rows.append(_card_cells(d.rng) if spec["row"] == ("{card_cells}",) else [d.fill(c) for c in spec["row"]])
    return ("t", list(spec["header"]), rows)


def _flat_lines(d: Draft, blocks: list[Block], segment: str, sep: str) -> list[str]:
    lines: list[str] = []
    for b in blocks:
        if b[0] == "t":
            lines.append(sep.join(b[1]))
            lines += [sep.join(str(d.resolve(c, segment)) for c in row) for row in b[2]]
        else:
            lines.append(d.resolve(b[1], segment))
        lines.append("")
    return lines


def render_csv(d: Draft, blocks: list[Block], segment: str) -> bytes:
    """The first table of ``blocks`` as CSV (CRLF rows)."""
    t = next(b for b in blocks if b[0] == "t")
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(t[1])
    for row in t[2]:
        w.writerow([d.resolve(c, segment) for c in row])
    text = buf.getvalue()
    d.record(segment, text.replace("\r\n", "\n"))
    return text.encode()


def render_txt(d: Draft, blocks: list[Block], segment: str) -> bytes:
    """Paragraphs and ' | '-separated table rows as plain text."""
    text = "\n".join(_flat_lines(d, blocks, segment, " | "))
    d.record(segment, text)
    return text.replace("\n", "\r\n").encode()


def _rezip(data: bytes) -> bytes:
    """Rewrite an OOXML package with fixed timestamps so output is byte-identical."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            blob = src.read(info)
            if info.filename == "docProps/core.xml":
                blob = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", b"2026-03-02T08:00:00Z", blob)
            dst.writestr(_zinfo(info.filename), blob)
    return out.getvalue()


def _zinfo(name: str) -> zipfile.ZipInfo:
    zi = zipfile.ZipInfo(name, ZIP_TIME)
    zi.compress_type = zipfile.ZIP_DEFLATED
    zi.external_attr = 0o644 << 16
    return zi


_DOCX_STATIC = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/word/document.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
        '<Override PartName="/docProps/core.xml" '
        'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/></Types>'),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Target="word/document.xml" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
        '<Relationship Id="rId2" Target="docProps/core.xml" '
        'Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties"/>'
        '</Relationships>'),
}
_DOCX_CORE = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{title}</dc:title>'
    '<dc:creator>{creator}</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">2026-03-02T08:00:00Z'
    '</dcterms:created></cp:coreProperties>')
_BORDERS = "".join(f'<w:{side} w:val="single" w:sz="4" w:space="0" w:color="auto"/>'
                   for side in ("top", "left", "bottom", "right", "insideH", "insideV"))


def _runs(d: Draft, text: str, bold: bool = False) -> str:
    """A paragraph's runs; Word often splits text into several runs, sometimes inside a number."""
    cuts = sorted(d.rng.sample(range(1, len(text)), min(2, len(text) - 1))) if len(text) > 3 and \
        d.rng.random() < 0.3 else []
    pieces = [text[i:j] for i, j in zip([0, *cuts], [*cuts, len(text)])]
    rpr = "<w:rPr><w:b/></w:rPr>" if bold else ""
    return "".join(f'<w:r>{rpr}<w:t xml:space="preserve">{escape(p, quote=False)}</w:t></w:r>' for p in pieces)


def render_docx(d: Draft, blocks: list[Block], segment: str) -> bytes:
    """A minimal WordprocessingML document: paragraphs (runs split at random) and bordered tables."""
    body: list[str] = []
    lines: list[str] = []
    for b in blocks:
        if b[0] in ("h", "p"):
            text = d.resolve(b[1], segment)
            body.append(f"<w:p>{_runs(d, text, bold=b[0] == 'h')}</w:p>")
            lines.append(text)
            continue
        rows = [list(b[1])] + [[d.resolve(c, segment) for c in row] for row in b[2]]
        grid = "".join('<w:gridCol w:w="1900"/>' for _ in b[1])
        trs = "".join("<w:tr>" + "".join(f'<w:tc><w:tcPr><w:tcW w:w="1900" w:type="dxa"/></w:tcPr>'
                                         f"<w:p>{_runs(d, c, bold=i == 0)}</w:p></w:tc>" for c in row) + "</w:tr>"
                      for i, row in enumerate(rows))
        body.append(f'<w:tbl><w:tblPr><w:tblW w:w="0" w:type="auto"/><w:tblBorders>{_BORDERS}</w:tblBorders>'
                    f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>{trs}</w:tbl><w:p/>")
        lines += ["\t".join(row) for row in rows] + [""]
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
                + "".join(body) + '<w:sectPr><w:pgSz w:w="12240" w:h="15840"/><w:pgMar w:top="1440" '
                'w:right="1440" w:bottom="1440" w:left="1440" w:header="720" w:footer="720" w:gutter="0"/>'
                "</w:sectPr></w:body></w:document>")
    d.record(segment, "\n".join(lines))
    title = next((x[1] for x in blocks if x[0] == "h"), "")
    parts = dict(_DOCX_STATIC)
    parts["docProps/core.xml"] = _DOCX_CORE.format(title=escape(d.resolve(title, segment)),
                                                   creator=escape(str(d.org["name"])))
    parts["word/document.xml"] = document
    return render_zip([(k, v.encode()) for k, v in parts.items()])


def render_xlsx(d: Draft, blocks: list[Block], segment: str) -> bytes:
    """A workbook: one sheet per table, a title row, numeric cells where the value is numeric."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.properties.creator = str(d.org["name"])
    wb.properties.created = wb.properties.modified = datetime(2026, 3, 2, 8, 0)
    lines: list[str] = []
    first = True
    title = next((b[1] for b in blocks if b[0] == "h"), "Sheet")
    for b in blocks:
        if b[0] != "t":
            continue
        ws = wb.active if first else wb.create_sheet()
        ws.title = re.sub(r"[^A-Za-z ]", "", d.resolve(title, segment))[:28] or "Sheet"
        if not first:
            ws.title = f"{ws.title[:24]} {len(wb.worksheets)}"
        first = False
        rows: list[list[str | int]] = [[d.resolve(title, segment)], [], list(b[1])]
        rows += [[d.cell(c, segment) for c in row] for row in b[2]]
        width = len(b[1])
        for row in rows:
            ws.append(row)
            lines.append("\t".join(str(v) for v in (row + [""] * (width - len(row)))).rstrip("\t"))
    d.record(segment, "\n".join(lines))
    out = io.BytesIO()
    wb.save(out)
    return _rezip(out.getvalue())


def _pdf_escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def pdf_bytes(lines: list[str]) -> bytes:
    """A minimal PDF: Helvetica, one Tj per line, a real text layer, 50 lines a page."""
    pages = [lines[i:i + 50] for i in range(0, len(lines), 50)] or [[]]
    n = len(pages)
    objs: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>",
                         b"<< /Type /Pages /Kids [%s] /Count %d >>"
                         % (b" ".join(b"%d 0 R" % (4 + 2 * i) for i in range(n)), n),
                         b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"]
    for i, page in enumerate(pages):
        body = "BT\n/F1 10 Tf\n14 TL\n54 750 Td\n" + "".join(f"({_pdf_escape(t)}) Tj T*\n" for t in page) + "ET\n"
        content = body.encode("cp1252")
        objs.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                    b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (5 + 2 * i))
        objs.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"endstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, obj in enumerate(objs, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
    return bytes(out)


def _wrap(d: Draft, text: str, segment: str, width: int = 95) -> list[str]:
    """Wrap at spaces without ever breaking a value (markers are wrapped as units)."""
    return [d.resolve(line, segment) for line in textwrap.wrap(text, width, break_long_words=False,
                                                               break_on_hyphens=False)]


def render_pdf(d: Draft, blocks: list[Block], segment: str) -> bytes:
    """A PDF whose text layer holds the paragraphs (wrapped) and table rows (' | ')."""
    lines: list[str] = []
    for b in blocks:
        if b[0] == "t":
            lines.append(" | ".join(b[1]))
            lines += [" | ".join(d.resolve(c, segment) for c in row) for row in b[2]]
        else:
            lines += _wrap(d, b[1], segment)
    d.record(segment, "\n".join(lines))
    return pdf_bytes(lines)


def render_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip archive with fixed timestamps."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            z.writestr(_zinfo(name), data)
    return out.getvalue()


RENDER = {"csv": render_csv, "txt": render_txt, "docx": render_docx, "xlsx": render_xlsx, "pdf": render_pdf}


# ---- message composition ------------------------------------------------------------------

@dataclass(frozen=True)
class Plan:
    """What one sample should be."""

    index: int
    kind: str
    form: str
    positive: bool
    edm: bool
    fullwidth: bool
    focus: str | None = None

    def clean(self) -> Plan:
        """The same sample slot, without sensitive values."""
        return Plan(self.index, self.kind, self.form, False, False, False)


def _has_focus(template: str, focus: str | None) -> bool:
    return focus is not None and any("{" + slot + "}" in template for slot in FOCUS_SLOTS[focus])


def _paragraphs(d: Draft, p: Plan, n_clean: tuple[int, int] = (1, 3)) -> list[str]:
    sc = T.SCENARIOS[p.kind]
    r = d.rng
    chosen: list[str] = []
    if p.positive:
        focused = [t for t in sc["pos"] if _has_focus(t, p.focus)] or list(sc["pos"])
        chosen.append(r.choice(focused))
        if r.random() < 0.35:
            chosen.append(r.choice([t for t in sc["pos"] if t != chosen[0]]))
    if p.edm:
        chosen.append(r.choice(sc["edm"]))
    chosen += r.sample(sc["clean"], r.randint(*n_clean))
    if r.random() < 0.5:
        chosen.append(r.choice(T.COMMON_CLEAN))
    if not p.positive or r.random() < 0.3:
        chosen.append(r.choice(T.HARD_NEGATIVES))
    r.shuffle(chosen)
    return [d.fill(t) for t in chosen]


def _letter(d: Draft, paras: list[str]) -> tuple[str, list[str], str, list[str]]:
    """Greeting, paragraphs, closing and signature lines (all filled, with markers)."""
    greet = d.fill(d.rng.choice(T.GREETINGS), name=f"{d.first} {d.rng.choice(T.LAST)}")
    sig = d.fill(d.rng.choice(T.SIGNATURES)).split("\n")
    if d.org["domain"] == "pvestates.example":
        sig += ["", T.PVE_DISCLAIMER]
    return greet, paras, d.rng.choice(T.CLOSINGS), sig


def _plain_text(d: Draft, letter: tuple[str, list[str], str, list[str]], segment: str) -> str:
    greet, paras, closing, sig = letter
    text = "\n\n".join([greet, *paras, closing + "\n" + "\n".join(sig)])
    out = d.resolve(text, segment) + "\n"
    d.record(segment, out)
    return out


def _html_table(d: Draft, t: Block, segment: str, split: bool) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in t[1])
    rows = "".join("<tr>" + "".join(f"<td>{d.resolve_html(c, segment, split)}</td>" for c in row) + "</tr>\n"
                   for row in t[2])
    return f'<table border="1" cellpadding="4">\n<tr>{head}</tr>\n{rows}</table>\n'


def _html_text(d: Draft, letter: tuple[str, list[str], str, list[str]], segment: str, split: bool,
               table: Block | None = None) -> str:
    greet, paras, closing, sig = letter
    parts = [f"<p>{d.resolve_html(greet, segment, split)}</p>"]
    parts += [f"<p>{d.resolve_html(x, segment, split)}</p>" for x in paras]
    if table is not None:
        parts.append(_html_table(d, table, segment, split))
    parts.append(f"<p>{escape(closing)}<br>\n" + "<br>\n".join(d.resolve_html(x, segment, split) for x in sig) + "</p>")
    html = ('<html><head><meta charset="utf-8"><style>p{font-family:Calibri,sans-serif}</style></head>\n<body>\n'
            + "\n".join(parts) + "\n</body></html>\n")
    d.record(segment, ref.html_to_text(html))
    return html


def _cte(d: Draft, text: str) -> str:
    if d.fullwidth or not text.isascii():
        return d.rng.choice(("quoted-printable", "base64"))
    if max(len(line) for line in text.split("\n")) > 900:
        return "quoted-printable"
    return d.rng.choice(("7bit", "7bit", "quoted-printable", "quoted-printable", "base64"))


def _set_body(d: Draft, msg: EmailMessage, letter: tuple[str, list[str], str, list[str]], prefix: str,
              html: bool, split: bool = False, table: Block | None = None) -> None:
    seg = f"{prefix}body"
    if html and (split or table is not None):
        h = _html_text(d, letter, seg, split, table)
        msg.set_content(h, subtype="html", charset="utf-8", cte=_cte(d, h))
        return
    plain = _plain_text(d, letter, seg)
    msg.set_content(plain, charset="utf-8", cte=_cte(d, plain))
    if html:
        h = _html_text(d, letter, seg, False)
        msg.add_alternative(h, subtype="html", charset="utf-8", cte=_cte(d, h))


def _subject(d: Draft, p: Plan, prefix: str) -> str:
    sc = T.SCENARIOS[p.kind]
    r = d.rng
    if p.positive and r.random() < 0.2:
        s = d.fill(r.choice(sc["subjects_pos"]))
    else:
        s = d.fill(r.choice(sc["subjects"]))
    if r.random() < 0.25 and not s.startswith(("Re:", "[")):
        s = r.choice(("Re: ", "RE: ", "FW: ")) + s
    text = d.resolve(s, f"{prefix}subject")
    d.record(f"{prefix}subject", text)
    return text


def _headers(d: Draft, msg: EmailMessage, p: Plan, subject: str, seed: int, external: bool) -> None:
    r = d.rng
    dom = str(d.org["domain"])
    first, last = d.staff.split(" ", 1)
    msg["From"] = f"{d.staff} <{first[0].lower()}{last.lower()}@{dom}>"
    if external:
        who = r.choice(T.FIRST), r.choice(T.LAST)
        to_dom = r.choice(("mail.example.com", "example.net", "acmepaving.example.org", "agency.example.com"))
        msg["To"] = f"{who[0]} {who[1]} <{who[0].lower()}.{who[1].lower()}@{to_dom}>"
    else:
        msg["To"] = f"{d.first} {r.choice(T.LAST)} <{d.first.lower()}@{dom}>"
    if r.random() < 0.2:
        msg["Cc"] = f"{r.choice(('billing', 'records', 'finance', 'hr'))}@{dom}"
    msg["Subject"] = subject
    msg["Date"] = format_datetime(BASE_TIME + timedelta(minutes=53 * p.index))
    msg["Message-ID"] = f"<corpus.{seed}.{p.index:04d}@{dom}>"


def _document(d: Draft, p: Plan, ext: str, segment: str, taken: set[str] | None = None) -> tuple[str, bytes]:
    """Pick, fill and render one attachment of type ``ext`` (named apart from ``taken``)."""
    r = d.rng
    tables = T.TABLES[p.kind]
    table_only = ext in ("csv", "xlsx")
    if p.edm and "edm" in tables and d.edm_used == 0:
        spec = r.choice(tables["edm"])
    elif p.positive:
        focused = [x for x in tables["pos"] if _has_focus(" ".join(x["row"]), p.focus)] or list(tables["pos"])
        numeric = [x for x in focused if "{ssn_num}" in x["row"]]
        spec = r.choice(numeric if ext == "xlsx" and numeric and r.random() < 0.8 else focused)
    else:
        spec = r.choice(tables["clean"])
    blocks: list[Block] = [("h", spec["title"])]
    if not table_only and r.random() < 0.6:
        blocks += [("p", x) for x in _paragraphs(d, p.clean() if r.random() < 0.5 else p, (1, 2))]
    blocks.append(_table(d, spec))
    if ext == "docx" and r.random() < 0.25:
        blocks.append(_table(d, r.choice(T.TRAP_TABLES)))
    if not table_only and r.random() < 0.3:
        blocks.append(("p", d.fill(r.choice(T.COMMON_CLEAN))))
    name = f"{spec['file']}.{ext}"
    if taken is not None:
        if name in taken:
            name = f"{spec['file']}-{len(taken) + 1}.{ext}"
        taken.add(name)
    return name, RENDER[ext](d, blocks, f"{segment}{name}")


def _doc_title(name: str) -> str:
    stem = name.rsplit(".", 1)[0]
    for spec in (x for tables in T.TABLES.values() for group in tables.values() for x in group):
        if spec["file"] == stem:
            words = str(spec["title"]).lower().split()
            return " ".join(w.upper() if w in ("ssn", "sce", "tin", "fein", "itin", "ach") else w for w in words)
    return stem.replace("-", " ")


def _zip_attachment(d: Draft, p: Plan) -> tuple[str, bytes]:
    r = d.rng
    name = r.choice(("records", "export", "documents", "batch-files", "reports")) + ".zip"
    seg = f"attachment:{name}/"
    taken: set[str] = set()
    members = [_document(d, p, r.choice(("csv", "docx", "txt")), seg, taken)]
    if r.random() < 0.5:
        members.append(_document(d, p.clean(), r.choice(("csv", "txt", "docx")), seg, taken))
    if r.random() < 0.25:
        inner = "archive-2025.zip"
        members.append((inner, render_zip([_document(d, p, "csv", f"{seg}{inner}/")])))
    return name, render_zip(members)


def _forwarded(d: Draft, p: Plan) -> tuple[str, EmailMessage]:
    r = d.rng
    name = r.choice(("customer-email", "original-message", "fwd-request", "resident-inquiry")) + ".eml"
    prefix = f"attachment:{name}/"
    inner = EmailMessage(policy=SMTP)
    who = r.choice(T.FIRST), r.choice(T.LAST)
    inner["From"] = f"{who[0]} {who[1]} <{who[0].lower()}{r.randint(1, 99)}@mail.example.com>"
    inner["To"] = f"{d.staff} <{d.staff.split()[0].lower()}@{d.org['domain']}>"
    inner["Subject"] = _subject(d, p, prefix)
    inner["Date"] = format_datetime(BASE_TIME + timedelta(minutes=53 * p.index - 600))
    inner["Message-ID"] = f"<inner.{p.index:04d}@mail.example.com>"
    letter = _letter(d, _paragraphs(d, p))
    letter = (letter[0], letter[1], letter[2], [f"{who[0]} {who[1]}", d.fill("{phone}")])
    _set_body(d, inner, letter, prefix, html=r.random() < 0.3)
    return name, inner


def _compose(d: Draft, p: Plan, seed: int) -> EmailMessage:
    r = d.rng
    msg = EmailMessage(policy=SMTP)
    subject = _subject(d, p, "")
    _headers(d, msg, p, subject, seed, external=r.random() < 0.8)
    if p.form in ("plain", "html"):
        html = p.form == "html"
        split = html and r.random() < 0.5
        table = None
        if split and r.random() < 0.5:
            tables = T.TABLES[p.kind]
            key = "pos" if p.positive and r.random() < 0.5 else "clean"
            table = _table(d, r.choice(T.TRAP_TABLES if r.random() < 0.4 else tables[key]))
        _set_body(d, msg, _letter(d, _paragraphs(d, p)), "", html, split, table)
        return msg
    kind = p.form.split(":")[1]
    body_plan = p if p.positive and r.random() < 0.3 else p.clean()
    if kind == "eml":
        note = d.fill(r.choice(T.FORWARD_NOTES))
        _set_body(d, msg, _letter(d, [note] + _paragraphs(d, body_plan, (0, 1))), "", html=r.random() < 0.3)
        name, inner = _forwarded(d, p)
        msg.add_attachment(inner, filename=name)
        return msg
    if kind == "zip":
        name, data = _zip_attachment(d, p)
    else:
        ext = "txt" if kind == "csv" and r.random() < 0.25 else kind
        name, data = _document(d, p, ext, "attachment:")
    note = d.fill(r.choice(T.COVER_NOTES), doc="archive" if kind == "zip" else _doc_title(name))
    _set_body(d, msg, _letter(d, [note] + _paragraphs(d, body_plan, (0, 1))), "", html=r.random() < 0.3)
    maintype, subtype = MIME[name.rsplit(".", 1)[1]]
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return msg


def _fix_boundaries(msg: EmailMessage, index: int) -> None:
    """Deterministic boundaries; MIME-Version only on message roots (the top and attached messages)."""
    k = 0
    stack: list[tuple[EmailMessage, bool]] = [(msg, True)]
    while stack:
        part, root = stack.pop()
        if not root and "MIME-Version" in part:
            del part["MIME-Version"]
        if part.get_content_maintype() == "multipart":
            part.set_boundary(f"----=_corpus_{index:04d}_{k}")
            k += 1
        if part.is_multipart():
            inner_root = part.get_content_type() == "message/rfc822"
            stack.extend((p, inner_root) for p in reversed(part.get_payload()))  # type: ignore[union-attr]


def audit(texts: list[tuple[str, str]], labels: tuple[Label, ...], edm: frozenset[str]) -> list[str]:
    """Problems where labels and the rules disagree on the given segment texts (phones excepted)."""
    problems: list[str] = []
    expected: set[tuple[str, str, str]] = set()
    by_segment: dict[str, list[str]] = {}
    for seg, text in texts:
        by_segment.setdefault(seg, []).append(text)
        found, probs = ref.scan(text, edm)
        problems += [f"{seg}: {x}" for x in probs]
        expected |= {(f.entity, seg, f.value) for f in found}
    labeled = {(x.entity, x.segment, x.value) for x in labels if x.entity != "PHONE_NUMBER"}
    problems += [f"unlabeled {e} {v!r} in {s}" for e, s, v in sorted(expected - labeled)]
    problems += [f"label {e} {v!r} in {s} is no finding by the rules" for e, s, v in sorted(labeled - expected)]
    for x in labels:
        if not any(x.value in t for t in by_segment.get(x.segment, ())):
            problems.append(f"label {x.entity} {x.value!r} not in {x.segment}")
    return problems


def _build(seed: int, p: Plan) -> Sample:
    org_rng = random.Random(f"{seed}/{p.index}/org")
    org = _org_for(p.kind, org_rng)
    last: list[str] = []
    for attempt in range(MAX_ATTEMPTS):
        d = Draft(random.Random(f"{seed}/{p.index}/{attempt}"), org, p.fullwidth)
        msg = _compose(d, p, seed)
        labels = tuple(d.labels)
        ok = not p.edm or d.edm_used
        positive = any(x.entity != "PHONE_NUMBER" for x in labels)
        if positive != p.positive or not ok or len(str(msg["Subject"])) > 66:
            last = [f"positive={positive} edm={d.edm_used}"]
            continue
        last = audit(d.texts, labels, _edm_set())
        if last:
            continue
        _fix_boundaries(msg, p.index)
        return Sample(f"{p.kind}-{p.index:04d}.eml", msg.as_bytes(policy=SMTP), labels, p.form, p.kind)
    raise RuntimeError(f"sample {p.index} ({p.kind}, {p.form}) failed its audit: {last[:3]}")


def _org_for(kind: str, rng: random.Random) -> dict[str, object]:
    if kind == "cca-enrollment":
        return rng.choice([o for o in T.ORGS if o["domain"] in ("lancaster.example", "pomona.example")])
    return rng.choice(T.ORGS)


def _kinds_for(focus: str) -> list[str]:
    """Kinds whose positive paragraphs can carry ``focus``."""
    return [k for k, sc in T.SCENARIOS.items() if any(_has_focus(t, focus) for t in sc["pos"])]


def _spread(rng: random.Random, weights: dict[str, int] | tuple[int, ...], keys: tuple[str, ...], n: int) -> list[str]:
    """``n`` keys in proportion to ``weights``, shuffled."""
    ws = list(weights.values()) if isinstance(weights, dict) else list(weights)
    total = sum(ws)
    out: list[str] = []
    for k, w in zip(keys, ws):
        out += [k] * round(n * w / total)
    out = (out + list(keys) * n)[:n]
    rng.shuffle(out)
    return out


def plan(seed: int, count: int) -> list[Plan]:
    """Deterministic assignment of kind, form, polarity and focus entity to each sample."""
    rng = random.Random(f"{seed}/plan")
    forms = _spread(rng, FORM_WEIGHTS, FORMS, count)
    positive = [i % 2 == 1 for i in range(count)]
    rng.shuffle(positive)
    n_pos = sum(positive)
    focus = iter(_spread(rng, FOCUS_WEIGHTS, tuple(FOCUS_WEIGHTS), n_pos))
    kinds = list(T.SCENARIOS)
    turn: Counter[str] = Counter()
    n_edm = max(1, count // 40)
    n_fw = max(1, count // 100)
    plans: list[Plan] = []
    for i in range(count):
        if not positive[i]:
            plans.append(Plan(i, kinds[i % len(kinds)], forms[i], False, False, False))
            continue
        f = next(focus)
        edm = f == "UTILITY_ACCOUNT" and n_edm > 0 and turn[f] % 3 == 0
        options = list(EDM_KINDS) if edm else _kinds_for(f)
        if f == "US_SSN" and forms[i] == "attachment:xlsx":
            options = [k for k in options if any("{ssn_num}" in x["row"] for x in T.TABLES[k]["pos"])]
        kind = options[turn[f] % len(options)]
        turn[f] += 1
        n_edm -= edm
        fw = forms[i] == "plain" and f in ("US_SSN", "CREDIT_CARD", "US_EIN") and n_fw > 0 and turn[f] % 4 == 1
        n_fw -= fw
        plans.append(Plan(i, kind, forms[i], True, edm, fw, f))
    return plans


def generate(seed: int = 2026, count: int = 600) -> list[Sample]:
    """The corpus: ``count`` labeled messages, byte-identical for the same seed."""
    return [_build(seed, p) for p in plan(seed, count)]


# ---- validation, statistics, output -------------------------------------------------------

def _digits_of(value: str) -> str:
    return re.sub(r"\D", "", ref.normalize_digits(value))


def check_label(label: Label) -> str | None:
    """Re-verify one label's value with python-stdnum, Luhn or phonenumbers; None when fine."""
    d = _digits_of(label.value)
    ok = {
        "US_SSN": lambda: ref.is_ssn(d) and stdnum_ssn.is_valid(d),
        "US_ITIN": lambda: ref.is_itin(d) and d[0] == "9",
        "US_EIN": lambda: stdnum_ein.is_valid(d) and d[:2] not in ref.UNASSIGNED_EIN_PREFIXES,
        "CREDIT_CARD": lambda: luhn.is_valid(d) and ref.card_brand(d) is not None,
        "US_BANK_ROUTING": lambda: stdnum_rtn.is_valid(d) and int(d[:2]) in ref.RTN_PREFIXES,
        "UTILITY_ACCOUNT": lambda: 8 <= len(d) <= 12 and (d in _edm_set() or bool(
            re.fullmatch(r"\d{8,12}|\d-\d\d-\d{3}-\d{4}|\d-\d{3}-\d{4}-\d\d", ref.normalize_digits(label.value)))),
        "PHONE_NUMBER": lambda: ref.is_us_phone(ref.normalize_digits(label.value)),
    }[label.entity]()
    return None if ok else f"{label.entity} {label.value!r} fails its own validation"


def validate(samples: list[Sample]) -> list[str]:
    """Problems in the corpus: labels re-derived from the message bytes must match exactly."""
    problems: list[str] = []
    edm = _edm_set()
    names: set[str] = set()
    for s in samples:
        where = s.name
        if s.name in names:
            problems.append(f"{where}: duplicate name")
        names.add(s.name)
        if re.search(rb"(?<!\r)\n", s.message):
            problems.append(f"{where}: bare LF")
        if s.form not in FORMS:
            problems.append(f"{where}: unknown form {s.form}")
        segments = ref.message_segments(s.message)
        problems += [f"{where}: {x}" for x in audit(segments, s.labels, edm)]
        phones = {("PHONE_NUMBER", seg, raw) for seg, text in segments for _, _, raw in ref.phone_spans(text)}
        labeled = {(x.entity, x.segment, x.value) for x in s.labels if x.entity == "PHONE_NUMBER"}
        problems += [f"{where}: unlabeled phone {v!r} in {g}" for _, g, v in sorted(phones - labeled)]
        problems += [f"{where}: phone label {v!r} in {g} not found by phonenumbers"
                     for _, g, v in sorted(labeled - phones)]
        problems += [f"{where}: {x}" for x in map(check_label, s.labels) if x]
        if len(set(s.labels)) != len(s.labels):
            problems.append(f"{where}: duplicate labels")
    return problems


def stats(samples: list[Sample]) -> dict[str, dict[str, int]]:
    """Counts of labels per entity, messages per form and kind, and clean messages."""
    return {
        "labels_per_entity": dict(Counter(x.entity for s in samples for x in s.labels).most_common()),
        "messages_per_form": dict(Counter(s.form for s in samples).most_common()),
        "messages_per_kind": dict(Counter(s.kind for s in samples).most_common()),
        "messages": {"total": len(samples),
                     "clean": sum(s.clean for s in samples),
                     "edm_labels": sum(x.value in _edm_set() for s in samples for x in s.labels)},
        "labels_per_segment_type": dict(Counter(
            x.segment.split(":")[0] if "/" not in x.segment else "nested" for s in samples for x in s.labels)),
    }


def write(directory: Path, seed: int = 2026, count: int = 600) -> None:
    """Write NAME.eml files, labels.jsonl and edm_accounts.csv into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    samples = generate(seed, count)
    for s in samples:
        (directory / s.name).write_bytes(s.message)
    with open(directory / "labels.jsonl", "w", encoding="utf-8", newline="\n") as f:
        for s in samples:
            labels = [{"entity": x.entity, "segment": x.segment, "value": x.value} for x in s.labels]
            f.write(json.dumps({"file": s.name, "form": s.form, "kind": s.kind, "labels": labels},
                               ensure_ascii=False) + "\n")
    with open(directory / "edm_accounts.csv", "w", encoding="utf-8", newline="\n") as f:
        f.write("account\n" + "".join(a + "\n" for a in edm_accounts()))


def main(argv: list[str] | None = None) -> int:
    """Command line: write the corpus and/or check it."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("outdir", nargs="?", type=Path)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--check", action="store_true", help="re-derive every label from the bytes and report")
    args = ap.parse_args(argv)
    if args.outdir is None and not args.check:
        ap.error("give OUTDIR, --check, or both")
    t0 = time.perf_counter()
    if args.outdir is not None:
        write(args.outdir, args.seed, args.count)
        print(f"wrote {args.count} messages to {args.outdir} in {time.perf_counter() - t0:.1f}s", file=sys.stderr)
    if args.check:
        samples = generate(args.seed, args.count)
        problems = validate(samples)
        print(json.dumps(stats(samples), indent=1))
        for x in problems[:50]:
            print("PROBLEM", x, file=sys.stderr)
        print(f"{len(problems)} problems", file=sys.stderr)
        return 1 if problems else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
