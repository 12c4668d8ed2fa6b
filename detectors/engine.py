"""The detector: every entity's rules over one text, in one pass.

Candidates come from one multi-pattern pass (detectors.candidates); each is
labelled once, lazily (detectors.context: the words before it, its row
label, its column header); each entity module judges it (structure,
checksum, label); a number whose nearest label is a negative one (meeting
ID, PO, invoice, order, tracking...) is no finding, unless it is in the
utility's own customer list (exact data match); overlapping results are
resolved to the strongest, so one span is one entity.

>>> d = Detector()
>>> [(f.entity, f.masked) for f in d.find("body", "SSN 219-45-6789, card 4111-1111-1111-1111")]
[('US_SSN', '***-**-6789'), ('CREDIT_CARD', '****-****-****-1111')]
>>> d.find("body", "Invoice 219-45-6789")
[]
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from functools import lru_cache, partial
from operator import itemgetter
from typing import TYPE_CHECKING

from detectors import (
    bank_account,
    bank_routing,
    credit_card,
    driver_license,
    phone,
    us_ein,
    us_itin,
    us_ssn,
    utility_account,
)
from detectors.candidates import Candidate, normalize, scan_numbers
from detectors.context import NOT, Context, Label, Vocabulary
from detectors.edm import EdmSet
from detectors.findings import Finding
from detectors.prefilter import Marks, Prefilter
from detectors.recognizer import Judge
from detectors.tables import Blocks, Table
from detectors.utility_account import DEFAULT_FORMATS, AccountFormat, UtilityAccounts

if TYPE_CHECKING:
    from detectors.custom import CustomTypes

# Entity, judge, recognizer name, and rank among equal scores (lower wins).
FIXED: tuple[tuple[str, Judge, str, int], ...] = (
    (us_ssn.ENTITY, us_ssn.judge, "DlpUsSsnRecognizer", 0),
    (us_itin.ENTITY, us_itin.judge, "DlpUsItinRecognizer", 1),
    (credit_card.ENTITY, credit_card.judge, "DlpCreditCardRecognizer", 2),
    (us_ein.ENTITY, us_ein.judge, "DlpUsEinRecognizer", 3),
    (bank_routing.ENTITY, bank_routing.judge, "DlpBankRoutingRecognizer", 4),
    (bank_account.ENTITY, bank_account.judge, bank_account.NAME, 5),
)
MODULES = (us_ssn, us_itin, credit_card, us_ein, bank_routing, utility_account, phone, bank_account, driver_license)
ENTITIES = tuple(m.ENTITY for m in MODULES)
_SIZES = {m.ENTITY: m.SIZES for m in MODULES}
_BY_SIZE = {size: tuple(j for j in FIXED if size in _SIZES[j[0]]) for size in range(6, 20)}
# Each fixed judge's shape conditions (size, groups, separator): a judge is run only on the shapes
# it may accept (Detector._plan).
_SHAPE_FITS = {us_ssn.ENTITY: us_ssn.shape_fits, us_itin.ENTITY: us_itin.shape_fits,
               credit_card.ENTITY: credit_card.shape_fits, us_ein.ENTITY: us_ein.shape_fits,
               bank_routing.ENTITY: bank_routing.shape_fits, bank_account.ENTITY: bank_account.shape_fits}
_MAX_SHAPES = 4096  # shapes are few, but a sender chooses them
_Plan = tuple[tuple[tuple[str, Judge, str, int], ...], bool, bool]  # the fixed judges; utility; phone
_GROUPS = 6  # the prefilter's groups of patterns (Detector.__init__)
_Hit = tuple[float, int, int, int, str, str]  # score, start, end, rank, entity, recognizer
_PHONE = "DlpPhoneRecognizer"
# The words that make a row of labels a table's header: the same for every
# configuration, so extraction and the detector find the same tables.
HEADER_WORDS = Vocabulary({m.ENTITY: m.CONTEXT for m in MODULES})


def structure(text: str) -> Blocks:
    """The tables of an extracted text, as the detector reads them (for detectors.segments).

    Read block by block, where a number asks for its column header: a long
    text's blocks of prose cost nothing.
    """
    return Blocks(text, HEADER_WORDS.names)


class _LabelOf:
    """A candidate's label, computed on first use."""

    __slots__ = ("ctx", "c", "label", "bank", "bank_words")

    def __init__(self, ctx: Context, c: Candidate, bank: bool = True,
                 bank_words: bank_account.BankWords | None = None) -> None:
        self.ctx, self.c = ctx, c
        self.bank = bank  # whether the text may hold a bank account at all (detectors.bank_account)
        self.bank_words = bank_words  # where bank words are, if tables are read from the text's blocks
        self.label: Label | None = None

    def __call__(self) -> Label:
        if self.label is None:
            self.label = self.ctx.label(self.c.start, self.c.end, self.c.groups)
        return self.label


class Detector:
    """Finds every entity in a text; safe to share between threads."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS,
                 edm: EdmSet | None = None,
                 licenses: tuple[driver_license.LicenseFormat, ...] = driver_license.DEFAULT_FORMATS,
                 custom: CustomTypes | None = None) -> None:
        self.utility = UtilityAccounts(formats, edm)
        self.licenses = driver_license.Licenses(licenses)
        self.custom = custom  # an administrator's own types (detectors.custom), run after ours
        # One pass tells whether a text may hold a licence label, a bank-account label, a custom
        # type's pattern, any bank word, a tab-split bank-account header row (a body's HTML table)
        # or an account label with digits after it: the group of each pattern. (The header row
        # pattern costs the pass nothing measurable: a pass of its own cost as much as this one.)
        groups = (driver_license.LABEL_PATTERNS, bank_account.SHORT_LABEL_PATTERNS,
                  tuple(custom.patterns) if custom is not None else (), bank_account.BANK_PATTERNS,
                  bank_account.COLUMN_PATTERNS, bank_account.PLAIN_LABEL_PATTERNS)
        self._group_of = tuple(g for g, group in enumerate(groups) for _ in group)
        # Where, in a long text's window, a header row may name a bank column or a licence column
        # (in the same pass), or a bank word (in_headers): only those blocks' tables are read
        # (detectors.tables.Blocks.within).
        columns = (*bank_account.COLUMN_MARKS, *driver_license.COLUMN_MARKS, _FOREIGN)
        self._prefilter = Prefilter([p for group in groups for p in group], marks=columns)
        self._bank_marks = Marks((*bank_account.HEADER_MARKS, _FOREIGN))
        self._bank_columns = range(len(bank_account.COLUMN_MARKS))
        self._licence_columns = range(len(bank_account.COLUMN_MARKS), len(columns) - 1)
        self._foreign = len(columns) - 1
        words = {m.ENTITY: m.CONTEXT for m in MODULES}
        words[utility_account.ENTITY] = (*utility_account.CONTEXT, *self.utility.words())
        self.vocab = Vocabulary(words)
        # Which judges may accept a shape (digits, groups, separator), worked out on first sight;
        # None: no judge may (a dashed date, a spaced card number's pieces): the candidate is skipped.
        self._plans: dict[tuple[int, tuple[int, ...], str], _Plan | None] = {}

    def _plan(self, size: int, groups: tuple[int, ...], sep: str) -> _Plan | None:
        """The judges that may accept a number of this shape, from each judge's own shape conditions
        (a judge left out returns None for it whatever the text). The customer list (EDM) accepts
        any digits: with one, the utility judge runs on every shape."""
        key = (size, groups, sep)
        try:
            return self._plans[key]
        except KeyError:
            pass
        judges = tuple(j for j in _BY_SIZE.get(size, ()) if _SHAPE_FITS[j[0]](size, groups, sep))
        utility = self.utility.edm is not None or self.utility.shape_fits(groups, sep)
        number = phone.shape_fits(size, groups, sep)
        plan = (judges, utility, number) if judges or utility or number else None
        if len(self._plans) < _MAX_SHAPES:
            self._plans[key] = plan
        return plan

    def find(self, segment: str, text: str, tables: tuple[Table, ...] | Blocks | None = None,
             offset: int = 0, own: tuple[int, int] | None = None) -> list[Finding]:
        """Return the findings in ``text`` (offsets into it, plus ``offset``), ordered by position.

        ``tables`` is the segment's table structure from extraction; without
        it, tables are found in the text where a number needs its header.
        ``offset``: where ``text`` starts in its segment (a scan window).
        ``own``: the span of ``text`` whose findings the caller keeps (a scan
        window's own span, with ``tables`` a Blocks); numbers in the margins
        are judged only where their findings could overlap one kept.
        """
        if self.custom is None and _DIGIT.search(text) is None:
            return []  # no digit, no number (a subject line, say), and no type of the administrator's
        norm = normalize(text)
        found, breaks = scan_numbers(norm)
        # licence and short bank labels, bank words, custom patterns; and in a window of a long
        # text over several blocks, where its header rows may name a bank or licence column
        marks: list[tuple[int, int]] | None = None
        if isinstance(tables, Blocks) and tables.count(len(norm)) > 1:
            found_patterns, marks = self._prefilter.marked(norm)
        else:
            found_patterns = self._prefilter.found(norm)
        labels = [False] * _GROUPS  # which of the prefilter's groups of patterns occur
        for index in found_patterns:
            labels[self._group_of[index]] = True
        if not (found or breaks or any(labels[:4]) or labels[5]):
            return []  # group 4 (a tab-split header row) alone: as when it had a pass of its own
        joined = wrapped(norm, breaks) if breaks else []
        if own is not None and isinstance(tables, Blocks):
            found, joined = _near(found, own), _near(joined, own)
        ctx = Context(norm, self.vocab, tables, HEADER_WORDS)
        hits: list[_Hit] = []
        bank = labels[3] or bank_account.in_headers(
            _headed(norm, tables, None if marks is None else self._bank_marks.ends(norm),
                    range(len(bank_account.HEADER_MARKS)), len(bank_account.HEADER_MARKS)))
        # Tables read from the text's blocks (not handed in): a header sits in its number's block,
        # or above the text in a window of a long text.
        words = None if isinstance(tables, tuple) else bank_account.BankWords(
            norm, not isinstance(tables, Blocks) or tables.offset == 0)
        plans, plan_of = self._plans, self._plan
        for c in found:
            plan = plans[key] if (key := (len(c.digits), c.groups, c.sep)) in plans else plan_of(*key)
            if plan is not None:
                hits.extend(self._judge(c, norm, _LabelOf(ctx, c, bank, words), plan))
        for c in joined:  # after the others: labels are read in order of position
            plan = plan_of(len(c.digits), c.groups, c.sep)
            if plan is not None:
                hits.extend(self._judge(c, norm, _LabelOf(Context(norm, self.vocab, tables, HEADER_WORDS), c,
                                                          bank, words), plan))
        if tables or any(labels):  # else no licence, short account or custom type: no label, no table
            hits.extend(self._labelled(norm, tables, labels, marks))
        return [Finding(entity, segment, start + offset, end + offset, score, text[start:end], name)
                for score, start, end, _, entity, name in _resolve(hits)]

    def _labelled(self, norm: str, tables: tuple[Table, ...] | Blocks | None, found: list[bool],
                  marks: list[tuple[int, int]] | None) -> list[_Hit]:
        """Licences, four- and five-digit bank accounts and the custom types: each asks a
        prefilter first, so a text with none of their labels or patterns costs one pass."""
        def context() -> Context:
            return Context(norm, self.vocab, tables, HEADER_WORDS)
        licence, short, custom = found[:3]
        # a long text's window: its tables read only if it holds a licence-shaped value
        columns = partial(_headed, norm, tables, marks, self._licence_columns, self._foreign) \
            if isinstance(tables, Blocks) else tables
        hits: list[_Hit] = [(score, start, end, 7, driver_license.ENTITY, driver_license.NAME)
                            for score, start, end in self.licenses.hits(norm, columns, context, licence)]
        if short:
            hits.extend((score, start, end, 5, bank_account.ENTITY, bank_account.NAME)
                        for score, start, end in bank_account.short(norm))
        if found[5]:
            hits.extend((score, start, end, 5, bank_account.ENTITY, bank_account.NAME)
                        for score, start, end in bank_account.plain_short(norm))
        flat = _headed(norm, tables, marks, self._bank_columns, self._foreign)
        if flat is None and tables is None and found[4] and "\t" in norm:
            # a body's HTML table (cells split by tabs) under a bank-account header row; not prose
            # that commas make look like CSV
            flat = tuple(t for t in structure(norm).within(len(norm)) if t.sep == "\t")
        if flat:  # short_in_columns reads only tables with a bank-account column
            hits.extend((score, start, end, 5, bank_account.ENTITY, bank_account.NAME)
                        for score, start, end in bank_account.short_in_columns(norm, flat))
        if custom and self.custom is not None:
            hits.extend((score, start, end, 8, entity, name) for score, start, end, entity, name
                        in self.custom.hits(norm, prefiltered=True))
        return hits

    def _judge(self, c: Candidate, text: str, label_of: _LabelOf, plan: _Plan) -> list[_Hit]:
        """Every entity's verdict on one candidate (of the judges ``plan`` says may accept its shape).

        The label is computed only when a judge asks for it, or when the
        number is claimed by more than a phone number (a negative label then
        drops it; a phone label against an account label decides).
        """
        judges, utility, number_shaped = plan
        found: list[_Hit] = []
        for entity, judge, name, rank in judges:
            score = judge(c, label_of)
            if score is not None:
                found.append((score, c.start, c.end, rank, entity, name))
        if utility:
            account = self.utility.judge(c, label_of)
            if account is not None:
                found.append((account[0], c.start, c.end, 5, utility_account.ENTITY, account[1]))
        number = phone.judge(c, text) if number_shaped else None
        if not found:
            if number is None:
                return found
            if label_of.ctx.in_table(c.start):  # a column header may say what it is
                label = label_of()
                if NOT in label.nearest or (label.column and phone.ENTITY not in label.nearest
                                            and utility_account.WORDS.search(label.text)):
                    return []  # an account column's phone-shaped number (a bank account, say)
                return [(phone.score(label), number[0], number[1], 6, phone.ENTITY, _PHONE)]
            alone = phone.quick_score(text, number[0])
            return [] if alone is None else [(alone, number[0], number[1], 6, phone.ENTITY, _PHONE)]
        label = label_of()
        if NOT in label.nearest:  # the customer list beats any label
            found = [hit for hit in found if hit[5] == "DlpEdmRecognizer"]
        elif number is not None:
            found.append((phone.score(label), number[0], number[1], 6, phone.ENTITY, _PHONE))
        return found


# A formatted number wrapped inside a group or after a hyphen, its second line
# possibly quoted ("2-08-10\n9-1867", "2-79-\n> > 641-5622").
_WRAPPED = re.compile(r"(?<![\w-])(\d+(?:-\d+)*-?)\n([> \t]*)(\d+(?:-\d+)*)(?![\w-])")
_WRAP_REACH = 32  # characters read on each side of a line break: a formatted number is shorter
_DIGIT = re.compile(r"\d")  # any digit normalize() would map, ASCII or not


_local = threading.local()
try:
    import hyperscan
except ImportError:  # pragma: no cover - hyperscan wheels exist for Linux x86-64/arm64
    hyperscan = None  # type: ignore[assignment]
_HINT = re.compile(r"[\d-]\n[> \t]*\d")  # without hyperscan
if hyperscan is not None:
    _WRAP_DB = hyperscan.Database()
    _WRAP_DB.compile(expressions=[rb"[0-9-]\n[> \t]*[0-9]"], ids=[0], flags=[0])


def _line_breaks(text: str) -> list[int]:
    """Offsets of the line breaks with a digit or dash before and a digit after (one hyperscan pass)."""
    if hyperscan is None:  # pragma: no cover - as above
        return [m.start() + 1 for m in _HINT.finditer(text)]
    scratch = getattr(_local, "scratch", None)
    if scratch is None:
        scratch = _local.scratch = hyperscan.Scratch(_WRAP_DB)  # a scratch serves one thread
    ends: list[int] = []
    _WRAP_DB.scan(text.encode("ascii", "replace"), scratch=scratch,
                  match_event_handler=lambda _id, _from, to, _flags, _ctx: ends.append(to))
    return [text.rfind("\n", 0, end) for end in ends]


def wrapped(text: str, hints: list[int] | None = None) -> list[Candidate]:
    """Formatted numbers broken by a line wrap: three groups or more, joined by dashes.

    Plain digits are never joined across lines: two numbers on neighbouring
    lines must not merge into a false one. Only the few characters around
    each candidate line break are read.
    """
    out = []
    seen = -1
    for nl in _line_breaks(text) if hints is None else [text.rfind("\n", 0, end) for end in hints]:
        if nl <= seen:
            continue
        seen = nl
        match = _WRAPPED.search(text, max(0, nl - _WRAP_REACH), nl + _WRAP_REACH)
        if match is None or match.start(2) - 1 != nl:
            continue
        first, second = match.group(1), match.group(3)
        joined = first + second
        parts = joined.split("-")
        groups = tuple(len(g) for g in parts)
        if len(groups) < 3 or "" in parts or not 9 <= sum(groups) <= 19:
            continue
        if first.endswith("-") and not match.group(2):
            continue  # "219-45-\n6789" is one candidate already
        out.append(Candidate(match.start(), match.end(), joined.replace("-", ""), groups, "-"))
    return out


# How far left of its candidate a finding may start: a phone number's
# parenthesised area code and country code ("+1 (213) 555-0134").
_REACH_LEFT = 16


def _near(candidates: list[Candidate], own: tuple[int, int]) -> list[Candidate]:
    """The candidates whose findings may overlap a finding that starts in ``own``.

    A finding lies within its candidate's span widened by ``_REACH_LEFT``;
    findings overlap only where those spans do. So the candidates are grouped
    by overlap of their widened spans, and a group is kept whole when one of
    its spans reaches into ``own``: which of its findings wins is decided as
    if nothing were left out. The judges keep no state between candidates.
    """
    low, high = own
    if all(c.end > low and c.start - _REACH_LEFT < high for c in candidates):
        return candidates
    kept: list[int] = []
    group: list[int] = []
    reach, inside = -1, False
    for i in sorted(range(len(candidates)), key=lambda i: candidates[i].start):
        c = candidates[i]
        if group and c.start - _REACH_LEFT >= reach:
            if inside:
                kept.extend(group)
            group, inside = [], False
        group.append(i)
        reach = max(reach, c.end) if len(group) > 1 else c.end
        inside = inside or (c.end > low and c.start - _REACH_LEFT < high)
    if inside:
        kept.extend(group)
    return [candidates[i] for i in sorted(kept)]  # in the order found: ties between findings keep it


_FOREIGN = bank_account.FOREIGN  # Marks' last pattern: what may hide a header word


def _headed(norm: str, tables: tuple[Table, ...] | Blocks | None, marks: list[tuple[int, int]] | None,
            kinds: range, foreign: int) -> tuple[Table, ...] | None:
    """The tables (in ``norm``'s positions) whose header rows may hold a word that ``marks`` found
    (of ``kinds``): an ASCII match of its letters, or (pattern ``foreign``: _FOREIGN) a quote or a
    character that fold() makes a letter or drops. Without marks, every table of the window."""
    if not isinstance(tables, Blocks):
        return tables
    if marks is None:
        return tables.within(len(norm))  # one block: read whatever it holds
    return tables.within(len(norm), [end for kind, end in marks if kind in kinds
                                     or (kind == foreign and bank_account.hides_letters(norm[end - 1]))])


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep the strongest of overlapping hits: score, then length, then rank.

    Hits overlap only within one run of digits, so they are resolved cluster
    by cluster (linear in the number of hits, not quadratic).
    """
    kept: list[_Hit] = []
    cluster: list[_Hit] = []
    reach = -1
    for hit in sorted(hits, key=_START_END):
        if cluster and hit[1] >= reach:
            kept.extend(cluster if len(cluster) == 1 else _strongest(cluster))
            cluster = []
        cluster.append(hit)
        reach = max(reach, hit[2]) if len(cluster) > 1 else hit[2]
    kept.extend(cluster if len(cluster) <= 1 else _strongest(cluster))
    return kept


_START_END = itemgetter(1, 2)


def _strongest(cluster: list[_Hit]) -> list[_Hit]:
    chosen: list[_Hit] = []
    for hit in sorted(cluster, key=lambda h: (-h[0], h[1] - h[2], h[3], h[1])):
        if all(hit[2] <= k[1] or hit[1] >= k[2] for k in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda h: h[1])


@lru_cache(maxsize=1)
def default_detector() -> Detector:
    return Detector()


def find_entity(entity: str, text: str) -> list[Finding]:
    """Findings of one entity in ``text`` with the default detector."""
    return [f for f in default_detector().find("body", text) if f.entity == entity]


def finder(entity: str) -> Callable[[str], list[Finding]]:
    """``find(text)``: one entity's findings (the entity modules' doctests; they cannot import the engine).

    >>> [f.masked for f in finder("US_SSN")("SSN 219-45-6789")]
    ['***-**-6789']
    """
    return partial(find_entity, entity)
