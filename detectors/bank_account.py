"""US_BANK_ACCOUNT: a deposit account number at a bank (checking, savings).

Four to seventeen digits: the account field of a NACHA entry detail record is
17 characters (NACHA Operating Rules, Appendix Three, "DFI Account Number");
banks print 4 to 17 digits, with no public structure and no check digit. So
only the label decides, as for utility accounts (DETECTION.md, "Labels and
structure"), and the two never share a number:

- a bank-account label nearest the number ("bank account", "checking
  account", "savings", "direct deposit", "DDA", "cuenta bancaria") makes it
  a bank account ("we are checking account 00123456" does not);
- an account label ("account", "acct", "cuenta", "account # at your bank")
  makes it one when a bank word stands before it on its line or in its
  table's header row (routing, ABA, bank, checking, savings, direct deposit,
  ACH), or when a routing label sits beside it (after it on its line, on the
  two lines above or the line below: an ACH form's fields; above, only
  from the nearest routing field down, as fields further up belong to
  another group), unless another account there is labelled the bank's
  (a bank-account label with a number after it on its line: then that one
  is the bank account, and this one the utility's: an autopay export's
  "Service Account" and "Bank Account" columns; "Account type: Checking"
  labels no number and says what this one is);
- a utility word in its own label (customer/service account, SCE, Edison,
  water) leaves it to UTILITY_ACCOUNT, and in prose a utility word before
  it on its line; so do a utility's layouts (``d-dd-ddd-dddd``);
- in a key/value table a row label beats the column header ("PO number",
  "Routing" under a "Direct deposit" header; "Account number" under a
  header row that names a card or nothing of ours), and nine digits passing the
  ABA checksum under a routing word are the routing number; ACH trace
  numbers are negatives (detectors.context).

Numbers of six to seventeen digits come from the shared candidate pass,
plain or printed in groups; four- and five-digit accounts only right after a
label (``short()``: a bank-account label; ``plain_short()``: "account", "acct", "cuenta",
"checking", "savings", "DDA" with a bank word before it on its line or a
routing label beside it as above, no utility word in or before it, no
negative label right before it ("invoice account"), and no year right
after it: "account 2024 review", though "Account: 2024" is one) or in a bank-account column of a table
(``short_in_columns()``: tables handed in, or a body's HTML table, cells
split by tabs, when a line holds a bank word and an account word), as a
short number anywhere else is a year, an amount or a ZIP code. The judge reads a number's label only where
the text holds a bank word at all (one prefilter pass, detectors.engine), a
bank or routing word is in the number's block or beside it (``BankWords``,
one pass on first use), and an account word is near or a column header is over it.

>>> from detectors.engine import finder   # the engine runs every entity's rules
>>> find = finder(ENTITY)
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
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from functools import lru_cache

from detectors.bank_routing import is_valid as rtn_valid
from detectors.candidates import Candidate
from detectors.context import NEGATIVE, Context, Label, fold, keywords
from detectors.prefilter import WORD_START, Finder, Marks
from detectors.recognizer import LabelOf
from detectors.tables import Table

ENTITY = "US_BANK_ACCOUNT"
NAME = "DlpBankAccountRecognizer"
CONTEXT = ("bank account", "bank account number", "bank account no", "bank account #", "bank acct", "bank acct#",
           "bank acct no", "checking", "checking account", "checking acct", "checking account number",
           "savings", "savings account", "savings acct", "savings account number", "direct deposit",
           "direct deposit account", "deposit account", "deposit account number", "dda", "dda#", "dda account",
           "ach account", "account to be credited", "depositor account number", "dfi account number",
           "cuenta bancaria", "número de cuenta bancaria", "numero de cuenta bancaria", "cuenta de cheques",
           "cuenta de ahorros", "número de cuenta de cheques", "numero de cuenta de cheques",
           "número de cuenta de ahorros", "numero de cuenta de ahorros", "depósito directo", "deposito directo")
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
# Every word of an account label (ours, and the utility account's we must tell apart) holds one of these.
_ACCOUNTISH = ("acc", "a/c", "cuenta", "checking", "savings", "deposit", "depósit", "dda", "ach", "dfi")


def _accountish(window: str) -> bool:
    return any(word in window for word in _ACCOUNTISH)  # str.find, faster than one regex here



_LOOKBACK = 260  # characters: the label's reach (detectors.context) and the line above
_NOT_ACCOUNT_SHAPES = frozenset({(5, 4), (3, 2, 4), (3, 3, 4), (1, 3, 3, 4), (2, 2, 4), (4, 2, 2), (2, 7),
                                 (1, 2, 3, 4), (1, 3, 4, 2)})
_ACCOUNT_WORD = keywords("account", "acct", "cuenta", "a/c")
_LINES_ABOVE = 3
_NEAR = 160  # characters looked at after the number and around its line for a routing label
_ROUTING_REACH = 4 * _NEAR + 20  # routing_beside reads no further (three lines above, one below)
_ROUTING_RAW = re.compile(r"(?i)rout|aba|rtn|ruta")  # what every _ROUTING word holds
_DIGIT = re.compile(r"\d")


def shape_fits(size: int, groups: tuple[int, ...], sep: str) -> bool:
    """Whether a number of this shape may be a bank account (judge's shape conditions: plain, or
    ``_grouped``; for detectors.engine)."""
    return 4 <= size <= 17 and (len(groups) == 1 or (sep in ("-", " ") and size >= 8
                                                     and groups not in _NOT_ACCOUNT_SHAPES))


def judge(c: Candidate, label_of: LabelOf) -> float | None:
    """Score a candidate as a bank account number, or None."""
    if not 4 <= len(c.digits) <= 17 or not (c.plain or _grouped(c)):
        return None  # dates, phone numbers, ZIP+4, a utility's layouts: not read further
    if not getattr(label_of, "bank", True):
        return None  # no bank word anywhere in the text: no number in it is a bank's
    ctx = getattr(label_of, "ctx", None)
    if getattr(label_of, "label", 0) is None and ctx is not None:
        words = getattr(label_of, "bank_words", None)
        if words is not None and not words.near(c.start, c.end):
            return None  # no label could make it a bank's (below): its label need not be read
        if not _accountish(ctx.text[max(0, c.start - _LOOKBACK):c.start].lower()) and not ctx.in_table(c.start):
            return None  # no account word before it, no column header over it: its label cannot be ours
    label = label_of()
    if label.column and not label.nearest & _ACCOUNT and ctx is not None:
        label = _row_label(ctx, c.start, label)  # a key/value table's "Account number" row
    if "US_BANK_ROUTING" in label.nearest and _ACCOUNT_WORD.search(label.text) \
            and not (len(c.digits) == 9 and rtn_valid(c.digits)):
        label = label._replace(nearest=frozenset({"UTILITY_ACCOUNT"}))  # "Account # at your bank"
    if not label.nearest & _ACCOUNT or (not c.plain and label.words > _GROUPED_WORDS):
        return None
    if label.column and ctx is not None and _other_row_label(ctx, c.start):
        return None  # a key/value table's row label ("PO number", "Routing") beats its column header
    if len(c.digits) == 9 and _ROUTING.search(label.text) and rtn_valid(c.digits):
        return None  # "routing number of the checking account": the routing number
    if ENTITY in label.nearest:  # "checking account", however a sentence began
        return None if _VERB.search(label.before) else 0.95
    # An account label: a bank word before it, or a routing label beside it, and no utility word.
    if another_is_the_banks(label.before, label.text):
        return None
    if BANK_WORDS.search(label.before):
        score = 0.9
    elif ctx is not None and not label.column and routing_beside(ctx.text, c.start, c.end):
        score = 0.91  # over the utility reading of the same account label (0.8-0.9)
    else:
        return None
    # A utility word in its own label; in prose also before it (a table's other headers are not its label).
    if UTILITY_WORDS.search(label.text) or (not label.column and UTILITY_WORDS.search(label.before)):
        return None
    return score


# Marks of a letter after a double quote that follows a letter (CSV quotes, which detectors.tables
# removes from headers, may split a word: ``ba"n"k``), a question mark, or what the encoded text
# (detectors.prefilter.one_byte) shows for a non-ASCII character: a Latin-1 byte, or "?" past
# Latin-1. hides_letters() tells which may hide a word.
FOREIGN = r'[a-z]"+[a-z]|\?|[\x80-\xff]'


@lru_cache(maxsize=4096)
def hides_letters(ch: str) -> bool:
    """Whether a FOREIGN mark's last character may hide a word: a letter after a CSV quote, or a
    character fold() turns into an ASCII letter (é, the Kelvin sign) or drops (an accent)."""
    if ch.isascii():
        return ch != "?"  # a letter after a quote, not a question mark as written
    folded = fold(ch)
    return not folded or any("a" <= c <= "z" for c in folded)


# A bank label word (CONTEXT) or a bank word (BANK_WORDS) as labels read them: where one may start,
# or a word inside one where a keyword's spaces may be left out ("directdeposit",
# "accounttobecredited"); a routing label's letters (_ROUTING_RAW); FOREIGN.
_BANK_NEAR = Marks((WORD_START + "(?:bank|banco|checking|savings|dda|ach|dfi|routing|aba|rtn)",
                    r"deposit|credited|cuenta|ruta|credit[^a-z0-9]*union", r"rout|aba|rtn|ruta", FOREIGN))
_BANKISH_AT = re.compile(r"bank|banco|checking|savings|dda|ach|dfi|routing|aba|rtn")  # where a read starts mid-word
_CUTS = (180, _LOOKBACK)  # where detectors.context and _row_label start reading before a number
_BLOCK_REACH = 2000  # characters back to the number's block start (a blank line); further, no quick answer


class BankWords:
    """Where one text may hold a bank word or a routing label, found in one pass on first use."""

    __slots__ = ("text", "whole", "_words", "_routing")

    def __init__(self, text: str, whole: bool) -> None:
        self.text = text
        self.whole = whole  # the text starts a block (not a window of a longer text)
        self._words: list[int] | None = None  # ends of the bank words, and of what may hide one
        self._routing: list[int] = []

    def near(self, start: int, end: int) -> bool:
        """Whether a label could make the number at ``start:end`` a bank's (False only when it cannot).

        ``judge`` scores a number only under a bank label, with a bank word
        in its label's text, or beside a routing label. Every label a number
        can have (the words before it, its row label, the line above, its
        column header) lies in its block before it (tables are read block by
        block, detectors.tables), so with no bank word there, none in the
        first characters a label reads, and no routing word within
        ``routing_beside``'s reach, it has none.
        """
        text = self.text
        block = text.rfind("\n\n", max(0, start - _BLOCK_REACH), start)
        if block < 0 and (start > _BLOCK_REACH or not self.whole):
            return True  # a long block, or one that may start above the text: read the label
        low = max(block, 0)
        if self._words is None:
            self._words = []
            for kind, at in _BANK_NEAR.ends(text):
                if kind == 2:
                    self._routing.append(at)
                elif kind < 2 or hides_letters(text[at - 1]):
                    self._words.append(at)
        words, routing = self._words, self._routing
        if (words and bisect_right(words, start) > bisect_right(words, low)) or (
                routing and bisect_right(routing, end + _ROUTING_REACH) > bisect_left(routing, start - _ROUTING_REACH)):
            return True
        for cut in _CUTS:
            if start - cut > low and _BANKISH_AT.match(text[start - cut:start - cut + 16].lower()):
                return True
        return False


def another_is_the_banks(before: str, text: str) -> bool:
    """Whether another account beside this one is labelled a bank's (its column header, or
    earlier on its line): this one, labelled only "account", is then the other (a utility's)."""
    return _STRONG.search(before) is not None and _STRONG.search(text) is None


def _row_label(ctx: Context, start: int, label: Label) -> Label:
    """``label`` with an account row label in its stead: the cells before ``start`` on its line
    end with an account label and no digit after it (a key/value table under a header row that
    names something else)."""
    line = ctx.text.rfind("\n", max(0, start - _LOOKBACK), start) + 1 or max(0, start - _LOOKBACK)
    head = fold(ctx.text[line:start])
    found = ctx.vocab.spans(head)
    if not found or _DIGIT.search(head, found[-1][1]):
        return label
    entities = ctx.vocab.entities(found[-1][2])
    if not entities or not entities <= _ACCOUNT:
        return label
    return Label(head[found[-1][0]:], entities, 0, label.before)


def _other_row_label(ctx: Context, start: int) -> bool:
    """Whether the cells before ``start`` on its line end with a label of something else."""
    line = ctx.text.rfind("\n", max(0, start - _LOOKBACK), start) + 1 or max(0, start - _LOOKBACK)
    found = ctx.vocab.spans(fold(ctx.text[line:start]))
    return bool(found) and not ctx.vocab.entities(found[-1][2]) <= _ACCOUNT


# Every path above needs one of these somewhere in the text (or in a table header handed in).
# (with every bank label of CONTEXT: "cuenta de ahorros", "cuenta de cheques", "depósito directo" and
# "account to be credited" name no other bank word; "dep.sito": "ó" is "?" in the prefilter's ASCII bytes)
BANK_PATTERNS = (r"rout|aba|rtn|bank|banco|bancari|checking|savings|deposit|ach|dda|dfi|credit\s+union|ruta|"
                 r"ahorro|cheque|dep.sito|credited",)
_BANK_RAW = re.compile("(?i)" + BANK_PATTERNS[0])


_UNION = r"credit[^\na-z0-9]*union"
# What a header row needs for in_headers(), for detectors.tables.Blocks.within: _BANK_RAW's words
# (a block with CSV quotes, which may split a word, is read whatever it holds).
HEADER_MARKS = (r"rout|aba|rtn|bank|banc|checking|savings|deposit|ach|dda|dfi|ruta|ahorro|cheque|dep.sito|credited",
                _UNION)
# What a header row needs for a bank column (_bank_column: a _STRONG or BANK_WORDS word): each word's
# start, or a word inside it where a keyword's spaces may be left out ("directdeposit").
COLUMN_MARKS = (WORD_START + "(?:bank|banco|checking|savings|dda|ach|dfi|routing|aba|rtn)",
                "deposit|credited|cuenta|ruta", _UNION)


def in_headers(tables: tuple[Table, ...] | None) -> bool:
    """Whether a table handed in has a bank word in its header row."""
    return bool(tables) and any(_BANK_RAW.search(h) for t in tables or () for h in t.headers)


def _grouped(c: Candidate) -> bool:
    """An account printed in groups ("1234 5678 9012", "4417-730982"); not a date, phone, SSN or ZIP+4."""
    return c.sep in ("-", " ") and len(c.digits) >= 8 and c.groups not in _NOT_ACCOUNT_SHAPES


def routing_beside(text: str, start: int, end: int) -> bool:
    """Whether a routing label sits beside the number: after it on its line, or on the line above or below."""
    line = text.rfind("\n", max(0, start - _NEAR), start) + 1  # 0: no break within reach, no line above read
    above = line
    for _ in range(_LINES_ABOVE):  # a form's routing field a line or two above
        if above:  # a line above longer than the reach is read from the reach on, not from the text's start
            above = text.rfind("\n", max(0, above - 1 - _NEAR), above - 1) + 1 or max(0, above - 1 - _NEAR)
    after = text.find("\n", end, end + _NEAR)
    after = min(len(text), end + _NEAR) if after < 0 else after
    below = text.find("\n", after + 1, after + 1 + _NEAR)
    below = min(len(text), after + 1 + _NEAR) if below < 0 else below
    if not (_ROUTING_RAW.search(text, above, line) or _ROUTING_RAW.search(text, end, below)):
        return False  # most numbers: no routing word near, nothing copied
    window = (text[above:line] + " " + text[end:below]).lower()
    if _ROUTING.search(window) is None:
        return False
    # A bank account labelled as one beside it is the bank's: this one is then the other account.
    if not UTILITY_WORDS.search(window) and not _labels_a_number(window):
        return True
    # The lines above the nearest routing field belong to another group of fields.
    first, found = line, False
    for _ in range(_LINES_ABOVE):  # the nearest of the lines above holding a routing word, read upwards
        if first <= above:
            break
        first = max(above, text.rfind("\n", above, first - 1) + 1)
        if _ROUTING_RAW.search(text, first, line):
            found = True
            break
    if not found or first <= above:
        return False  # none there, or on the first line read: nothing to leave out
    window = (text[first:line] + " " + text[end:below]).lower()
    return _ROUTING.search(window) is not None and not UTILITY_WORDS.search(window) and not _labels_a_number(window)


def _labels_a_number(window: str) -> bool:
    """Whether a bank-account label in ``window`` has a number after it on its line: another
    account labelled the bank's. "Account type: Checking" labels no number; it says what this one is."""
    for match in _STRONG.finditer(window):
        eol = window.find("\n", match.end())
        if _DIGIT.search(window, match.end(), len(window) if eol < 0 else eol):
            return True
    return False


# A short account: right after a bank-account label, its digits alone.
_SHORT_LABELS = Finder((r"(?:bank|checking|savings|deposit)[ \t]+(?:account|acct)|cuenta[ \t]+bancaria",),
                       caseless=True)
_SHORT_TAIL = re.compile(r"(?i)(?:[ \t]*(?:number|no\.?|num\.?|#))?[ \t]*[:#]?[ \t]*"
                         r"(?<![\d-])(\d{4,5})(?![\d,.-]?\d)")
# An account label alone ("Account number: 44177"): a bank's only by the words around it.
_PLAIN_LABELS = Finder((r"account|acct|a/c|cuenta|checking|savings|dda",), caseless=True)
_YEAR = re.compile(r"(?:19|20)\d\d")  # "checking 2025 statements"
_NOT_BEFORE = re.compile(keywords(*NEGATIVE).pattern + r"[\s#:.-]*\S+$")  # a negative label right before
# What short() needs in a text, for the caller's prefilter.
SHORT_LABEL_PATTERNS = _SHORT_LABELS.patterns
# What plain_short() needs: an account label with four digits or more after it.
PLAIN_LABEL_PATTERNS = (
    r"(?:acc(?:oun)?t|a/c|cuenta|checking|savings|dda)[ \t]*(?:number|no\.?|num\.?|#)?[ \t]*[:#]?[ \t]*[0-9]{4}",)


def short(text: str) -> Iterator[tuple[float, int, int]]:
    """Four- and five-digit accounts written right after a bank-account label: (score, start, end)."""
    for _, start, end in _SHORT_LABELS.spans(text):
        if start and text[start - 1].isalpha():
            continue  # "overdraft-savings" is fine, "unsavings" is no label
        match = _SHORT_TAIL.match(text, end)
        if match is not None and not (end < len(text) and text[end].isalpha()):
            yield 0.9, match.start(1), match.end(1)


def plain_short(text: str) -> Iterator[tuple[float, int, int]]:
    """Four- and five-digit accounts right after an account label, with a bank word before it on
    its line or a routing label beside it (``routing_beside``): (score, start, end)."""
    for _, start, end in _PLAIN_LABELS.spans(text):
        if (start and text[start - 1].isalpha()) or (end < len(text) and text[end].isalpha()):
            continue  # "accounts", "subaccount": not this label
        match = _SHORT_TAIL.match(text, end)
        if match is None or (_YEAR.fullmatch(match.group(1)) and match.start(1) - end <= 1):
            continue  # "account 2024 review", "checking 2025 statements": a year, unless marked ("Account: 2024")
        line = fold(text[text.rfind("\n", max(0, start - _NEAR), start) + 1 or max(0, start - _NEAR):end])
        if UTILITY_WORDS.search(line) or _NOT_BEFORE.search(line):
            continue  # "billing account", "water account"; "invoice account", "PO account"
        if BANK_WORDS.search(line) or routing_beside(text, match.start(1), match.end(1)):
            yield 0.9, match.start(1), match.end(1)


_SHORT_CELL = re.compile(r"(?<![\w.,/$-])\d{4,5}(?![\w/%-]|[.,]\d)")
_SHORT_CSV_CELL = re.compile(r"(?<![\w./$-])\d{4,5}(?![\w/%-]|\.\d)")  # commas split cells here


# A header row with a bank-account column, cells split by tabs: what short_in_columns needs in a
# text whose tables were not handed in (a message body's HTML table), for the caller's prefilter.
_COLUMN_BANK = r"(?:rout|aba|rtn|transit|bank|banco|checking|savings|deposit|dda|dfi|ruta)"
_COLUMN_ACCOUNT = r"(?:acc(?:oun)?t|a/c|cuenta)"
COLUMN_PATTERNS = (f"{_COLUMN_BANK}[^\\n]*\\t[^\\n]*{_COLUMN_ACCOUNT}|{_COLUMN_ACCOUNT}[^\\n]*\\t[^\\n]*{_COLUMN_BANK}",)


def short_in_columns(text: str, tables: tuple[Table, ...] | None) -> Iterator[tuple[float, int, int]]:
    """Four- and five-digit accounts in a bank-account column of the tables handed in."""
    for table in tables or ():
        if not any(_bank_column(h, table.headers) for h in table.headers):
            continue
        cell = _SHORT_CSV_CELL if table.sep == "," else _SHORT_CELL
        for match in cell.finditer(text, table.start, table.end):
            if _bank_column(table.header_at(text, match.start()), table.headers):
                yield 0.9, match.start(), match.end()


def _bank_column(header: str, headers: tuple[str, ...]) -> bool:
    """A bank account's column: labelled one, or "account" in a table with bank words and no other bank column."""
    header = fold(header)
    if not header or UTILITY_WORDS.search(header):
        return False
    if _STRONG.search(header):
        return True
    row = fold(" ".join(headers))
    return bool(_ACCOUNT_WORD.search(header)) and bool(BANK_WORDS.search(row)) and not _STRONG.search(row) \
        and not UTILITY_WORDS.search(row)

