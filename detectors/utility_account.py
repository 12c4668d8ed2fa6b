"""UTILITY_ACCOUNT: utility customer and service account numbers.

There is no public standard. Southern California Edison bills have shown a
10-digit customer account printed ``d-dd-ddd-dddd`` and a 10-digit service
account printed ``d-ddd-dddd-dd``; water utilities use 8 to 12 plain digits.
So the formats are configuration (gateway.yaml, ``detection.utility_accounts``),
each with the label words that must name the number (detectors.context: the
words before it in its sentence or cell, its row label, its column header).
A layout matches its groups whatever the separator (``2 12 345 6789``); plain
digits (8-12 for water, with their leading zeros; ten for an SCE account
written without dashes) need an account label as the nearest label, and so
do grouped digits of that length (``0012345-01``, a phone-shaped
``213-555-2368``) when the label is at most three words away. A label that
names a bank and no utility leaves the number to US_BANK_ACCOUNT. Any number
in the utility's own customer list (exact data match, detectors.edm) is an
account whatever surrounds it.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
>>> [f.masked for f in find("SCE customer account 2-12-345-6789")]
['*-**-***-6789']
>>> find("Part 2-12-345-6789 shipped")        # no context
[]
>>> [f.value for f in find("Water acct# 00123456 past due")]
['00123456']
>>> [f.value for f in find("Account: 2135552368")], find("Phone: 2135552368")
(['2135552368'], [])
"""

from __future__ import annotations

import re

from detectors import bank_account
from detectors.candidates import Candidate
from detectors.context import keywords
from detectors.credit_card import luhn_valid
from detectors.defaults import DEFAULT_FORMATS as DEFAULT_FORMATS  # re-exported: defined in detectors.defaults
from detectors.defaults import AccountFormat as AccountFormat
from detectors.edm import EdmSet
from detectors.recognizer import LabelOf

ENTITY = "UTILITY_ACCOUNT"
CONTEXT = ("account", "acct", "acct#", "acct #", "acct no", "account no", "account number", "account #",
           "account#", "a/c", "acc", "acc#", "customer account", "service account", "billing account",
           "utility account", "sce", "edison", "cuenta", "número de cuenta", "no de cuenta", "num de cuenta",
           "cuenta de servicio", "cuenta de cliente")
# Words that label a number printed in a utility's own layout (d-dd-ddd-dddd),
# not plain digits: a "customer number" is no account until the EDM list says so.
LAYOUT_CONTEXT = ("customer", "cust", "cust #", "cust no", "customer #", "customer no", "customer number",
                  "service", "cliente")
SIZES = tuple(range(6, 20))
WORDS = keywords(*CONTEXT)
# A bank's account is no utility's (US_BANK_ACCOUNT), unless the label names the utility.
_BANK = keywords("routing", "aba", "bank", "checking", "savings", "direct deposit", "ach", "banco",
                 "cuenta bancaria", "iban", "swift")
_UTILITY = keywords("sce", "edison", "water", "utility", "electric", "gas", "service account",
                    "customer account", "agua", "luz")
_GROUPED_WORDS = 3  # an account label this close makes grouped digits (213-555-2368) an account


def _grouped_account(groups: tuple[int, ...], sep: str) -> bool:
    """Dashed digits an account label can claim: phone-shaped, or a customer-location pair."""
    return sep == "-" and (groups == (3, 3, 4) or (len(groups) == 2 and groups != (5, 4)))


def _customer_column(c: Candidate, label_of: LabelOf) -> bool:
    """Plain digits in a customer-number column that are printed like accounts.

    A billing export's "Cust #" column holds the account: an SCE customer
    account written as ten plain digits starts with 2, a water account keeps
    its leading zeros. Elsewhere a customer number is left to the EDM list.
    """
    digits = c.digits
    if not ((len(digits) == 10 and digits[0] == "2") or (8 <= len(digits) <= 12 and digits[0] == "0")):
        return False
    label = label_of()
    return label.column and ENTITY in label.nearest and not _bank_only(label.before, label.text)


def _bank_only(before: str, text: str) -> bool:
    """Bank words and no utility word: unless another account there is labelled the bank's."""
    return bool(_BANK.search(before)) and not _UTILITY.search(before + " " + text) \
        and not bank_account.another_is_the_banks(before, text)


class UtilityAccounts:
    """Judges candidates against the configured formats and the EDM list."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS, edm: EdmSet | None = None) -> None:
        self.formats = tuple((f, f.groups, keywords(*f.context, *CONTEXT, *(LAYOUT_CONTEXT if f.layout else ())))
                             for f in formats)
        self.edm = edm
        # The formats a written shape (groups, separator) fits, each with the score of the shape: worked
        # out once per shape, as most candidates fit no format.
        self._by_shape: dict[tuple[tuple[int, ...], str], tuple[_Fit, ...]] = {}

    def words(self) -> tuple[str, ...]:
        """Every label word of the formats, for the label vocabulary."""
        return (*(word for fmt, _, _ in self.formats for word in fmt.context), *LAYOUT_CONTEXT)

    def judge(self, c: Candidate, label_of: LabelOf) -> tuple[float, str] | None:
        """Score and recognizer name for a candidate, or None."""
        if self.edm is not None and self.edm.contains(c.digits):
            return 1.0, "DlpEdmRecognizer"
        fits = self._fits(c.groups, c.sep)
        for fmt, words, score, name in fits:
            if _labelled(fmt, words, c, label_of):
                return score if fmt.layout is None or ENTITY not in label_of().nearest else 0.95, name
        if len(c.groups) == 1 and _customer_column(c, label_of):
            return 0.8, "DlpUtilityAccountRecognizer:customer-column"
        return None

    def shape_fits(self, groups: tuple[int, ...], sep: str) -> bool:
        """Whether judge may accept a number of this shape, outside the EDM list (whatever its
        digits and label): a format fits it, or it is plain (a customer-number column)."""
        return len(groups) == 1 or bool(self._fits(groups, sep))

    def _fits(self, groups: tuple[int, ...], sep: str) -> tuple[_Fit, ...]:
        shape = (groups, sep)
        fits = self._by_shape.get(shape)
        if fits is None:
            fits = self._fits_shape(groups, sep)
            if len(self._by_shape) < _MAX_SHAPES:  # shapes are few, but a sender chooses them
                self._by_shape[shape] = fits
        return fits

    def _fits_shape(self, shape: tuple[int, ...], sep: str) -> tuple[_Fit, ...]:
        """The formats whose shape (groups, separator) a number is written in, in order, with the
        score of the shape."""
        if sep == "mixed":
            return ()
        fits = []
        size = sum(shape)
        plain = len(shape) == 1
        for fmt, groups, words in self.formats:
            if fmt.layout is not None:
                if shape != groups:
                    continue
                score = 0.85
            else:
                if fmt.digits is None or not fmt.digits[0] <= size <= fmt.digits[1] \
                        or not (plain or _grouped_account(shape, sep)):
                    continue
                score = 0.8 if plain else 0.9
            fits.append((fmt, words, score, f"DlpUtilityAccountRecognizer:{fmt.name}"))
        return tuple(fits)


_Fit = tuple[AccountFormat, "re.Pattern[str]", float, str]
_MAX_SHAPES = 4096


def _labelled(fmt: AccountFormat, words: re.Pattern[str], c: Candidate, label_of: LabelOf) -> bool:
    """Whether a number written in ``fmt``'s shape passes its check and is labelled as one of its accounts."""
    if fmt.check == "luhn" and not luhn_valid(c.digits):
        return False
    label = label_of()
    if not words.search(label.text):
        return False
    if _bank_only(label.before, label.text):
        return False
    # plain digits: the nearest label must be an account label
    return fmt.layout is not None or (ENTITY in label.nearest and (c.plain or label.words <= _GROUPED_WORDS))
