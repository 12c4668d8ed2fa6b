"""US_BANK_ACCOUNT: a deposit account number at a bank (checking, savings).

Four to seventeen digits: the account field of a NACHA entry detail record is
17 characters (NACHA Operating Rules, Appendix Three, "DFI Account Number");
banks print 4 to 17 digits, with no public structure and no check digit. So
only the label decides, as for utility accounts (DETECTION.md, "Labels and
structure"), and the two never share a number:

- a bank-account label nearest the number ("bank account", "checking",
  "savings", "direct deposit", "DDA", "cuenta bancaria") makes it a bank
  account;
- an account label ("account", "acct", "cuenta") makes it one when a bank
  word stands before it on its line or in its table's header row (routing,
  ABA, bank, checking, savings, direct deposit, ACH), or when a routing label
  sits right beside it (on its line after it, or on the line above or below:
  the ACH form's two fields) and no account there is labelled a bank's (then
  that one is the bank account, and this one the utility's);
- a utility word in its label (customer/service account, SCE, Edison,
  water, the utility's name) leaves it to UTILITY_ACCOUNT, whatever else is
  near; so does a utility's own layout (``d-dd-ddd-dddd``).

Numbers of six to seventeen digits come from the shared candidate pass;
four- and five-digit accounts only from right after a bank-account label
(``short()``), as a short number anywhere else is a year, an amount or a
ZIP code.

>>> [f.value for f in find("Routing 021000021, checking account 12345678")]
['12345678']
>>> [f.entity for f in find("Bank: Wells Fargo  Account: 4417730982")]
['US_BANK_ACCOUNT']
>>> find("SCE customer account 0012345678, routing 021000021")   # the utility's
[]
>>> find("Checking in on order 12345678")
[]
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from detectors.candidates import Candidate
from detectors.context import keywords
from detectors.findings import Finding
from detectors.prefilter import Prefilter
from detectors.recognizer import LabelOf

ENTITY = "US_BANK_ACCOUNT"
NAME = "DlpBankAccountRecognizer"
CONTEXT = ("bank account", "bank account number", "bank account no", "bank account #", "bank acct", "bank acct#",
           "bank acct no", "checking", "checking account", "checking acct", "checking account number",
           "savings", "savings account", "savings acct", "savings account number", "direct deposit",
           "direct deposit account", "deposit account", "deposit account number", "dda", "dda#", "dda account",
           "ach account", "account to be credited", "depositor account number", "dfi account number",
           "cuenta bancaria", "número de cuenta bancaria", "numero de cuenta bancaria", "cuenta de cheques",
           "cuenta de ahorros", "depósito directo", "deposito directo")
SIZES = tuple(range(6, 18))
_STRONG = keywords(*CONTEXT)
_ACCOUNT = frozenset({ENTITY, "UTILITY_ACCOUNT"})
# Words that, before an account label's number, say the account is at a bank.
BANK_WORDS = keywords("routing", "aba", "rtn", "bank", "banking", "checking", "savings", "direct deposit", "ach",
                      "dda", "banco", "cuenta bancaria", "ruta bancaria", "número de ruta", "credit union")
# Words that say the account is a utility's: they win over any bank word.
UTILITY_WORDS = keywords("sce", "edison", "water", "utility", "electric", "gas", "service account",
                         "customer account", "billing account", "utility account", "agua", "luz",
                         "cuenta de servicio", "cuenta de cliente", "customer", "service address")
_ROUTING = keywords("routing", "aba", "rtn", "routing/transit", "ruta bancaria", "número de ruta")
# "we are checking account 00123456": the verb, not the bank account
_VERB = re.compile(r"(?<![a-z])(?:am|is|are|was|were|be|been|i'm|we're|they're|you're|still|also|just|currently|"
                   r"now|not|keep|stop|start|finish|by|for)\s+checking\s+(?:on\s+|the\s+|your\s+|that\s+)?"
                   r"(?:account|acct)")
_GROUPED_WORDS = 3  # a bank label this close takes a grouped number (1234-567890)
_SCE_LAYOUTS = frozenset({(1, 2, 3, 4), (1, 3, 4, 2)})
_NEAR = 160  # characters looked at after the number and around its line for a routing label


def judge(c: Candidate, label_of: LabelOf) -> float | None:
    """Score a candidate as a bank account number, or None."""
    if c.sep == "mixed" or c.groups in _SCE_LAYOUTS or not 4 <= len(c.digits) <= 17:
        return None
    label = label_of()
    if not label.nearest & _ACCOUNT:
        return None
    if not c.plain and label.words > _GROUPED_WORDS:
        return None
    if ENTITY in label.nearest:  # "checking account", however a sentence began
        return None if _VERB.search(label.before) else 0.95
    if UTILITY_WORDS.search(label.text) or UTILITY_WORDS.search(label.before):
        return None
    if BANK_WORDS.search(label.before):
        return 0.9
    ctx = getattr(label_of, "ctx", None)
    if ctx is not None and routing_beside(ctx.text, c.start, c.end):
        return 0.91  # over the utility reading of the same account label (0.8-0.9)
    return None


def routing_beside(text: str, start: int, end: int) -> bool:
    """Whether a routing label sits beside the number: after it on its line, or on the line above or below."""
    line = text.rfind("\n", max(0, start - _NEAR), start) + 1
    above = text.rfind("\n", max(0, line - 1 - _NEAR), max(0, line - 1)) + 1 if line else line
    after = text.find("\n", end, end + _NEAR)
    after = min(len(text), end + _NEAR) if after < 0 else after
    below = text.find("\n", after + 1, after + 1 + _NEAR)
    below = min(len(text), after + 1 + _NEAR) if below < 0 else below
    window = (text[above:line] + " " + text[end:below]).lower()
    # A bank account labelled as one beside it is the bank's: this one is then the other account.
    return _ROUTING.search(window) is not None and not UTILITY_WORDS.search(window) and not _STRONG.search(window)


# A short account: right after a bank-account label, its digits alone.
_SHORT_LABEL = re.compile(
    r"(?i)(?<![a-z])(?:bank\s+(?:account|acct)|checking|savings|direct\s+deposit|dda|cuenta\s+bancaria)"
    r"(?:\s+(?:account|acct))?(?:\s*(?:number|no\.?|num\.?|#))?\s*[:#]?\s*(?<![\d-])(\d{4,5})(?![\d,.-]?\d)")


_SHORT_PREFILTER = Prefilter((r"bank\s+(?:account|acct)", r"checking|savings|\bdda\b|direct\s+deposit",
                              r"cuenta\s+bancaria"))


def maybe_short(text: str) -> bool:
    """Whether ``text`` holds a bank-account label at all (one hyperscan pass)."""
    return bool(_SHORT_PREFILTER.found(text))


def short(text: str) -> Iterator[tuple[float, int, int]]:
    """Four- and five-digit accounts written right after a bank-account label: (score, start, end)."""
    for match in _SHORT_LABEL.finditer(text):
        yield 0.9, match.start(1), match.end(1)


def find(text: str) -> list[Finding]:
    from detectors.engine import find_entity
    return find_entity(ENTITY, text)
