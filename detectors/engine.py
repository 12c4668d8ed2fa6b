"""The detector: every recognizer's rules over one text, in one pass.

Candidates come from one multi-pattern pass (detectors.candidates); each
entity module judges them (structure, checksum, context); overlapping
results are resolved to the strongest, so one span is one entity.

>>> d = Detector()
>>> [(f.entity, f.masked) for f in d.find("body", "SSN 219-45-6789, card 4111-1111-1111-1111")]
[('US_SSN', '***-**-6789'), ('CREDIT_CARD', '****-****-****-1111')]
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from detectors import bank_routing, credit_card, phone, us_ein, us_itin, us_ssn
from detectors.candidates import Candidate, candidates, normalize
from detectors.context import Context
from detectors.findings import Finding
from detectors.utility_account import DEFAULT_FORMATS, AccountFormat, UtilityAccounts
from detectors.edm import EdmSet

Judge = Callable[[Candidate, Context], "float | None"]

# Entity, judge, recognizer name, and rank among equal scores (lower wins).
_FIXED: tuple[tuple[str, Judge, str, int], ...] = (
    (us_ssn.ENTITY, us_ssn.judge, "DlpUsSsnRecognizer", 0),
    (us_itin.ENTITY, us_itin.judge, "DlpUsItinRecognizer", 1),
    (credit_card.ENTITY, credit_card.judge, "DlpCreditCardRecognizer", 2),
    (us_ein.ENTITY, us_ein.judge, "DlpUsEinRecognizer", 3),
    (bank_routing.ENTITY, bank_routing.judge, "DlpBankRoutingRecognizer", 4),
)
# Which judges can accept a candidate of so many digits (SSN, ITIN, EIN and
# routing numbers have nine; cards 13 to 19).
_SIZES = {us_ssn.ENTITY: (9,), us_itin.ENTITY: (9,), us_ein.ENTITY: (9,), bank_routing.ENTITY: (9,),
          credit_card.ENTITY: tuple(range(13, 20))}
_BY_SIZE = {size: tuple(j for j in _FIXED if size in _SIZES[j[0]]) for size in range(6, 20)}
_PHONE_SIZES = frozenset({7, 10, 11})  # 7: the part after a parenthesised area code
_Hit = tuple[float, int, int, int, str, str]  # score, start, end, rank, entity, recognizer


class Detector:
    """Finds every entity in a text; safe to share between threads."""

    def __init__(self, formats: tuple[AccountFormat, ...] = DEFAULT_FORMATS,
                 edm: EdmSet | None = None) -> None:
        self.utility = UtilityAccounts(formats, edm)

    def find(self, segment: str, text: str) -> list[Finding]:
        """Return the findings in ``text`` (offsets into it), ordered by position."""
        norm = normalize(text)
        ctx = Context(norm)
        hits: list[_Hit] = []
        for c in candidates(norm):
            size = len(c.digits)
            for entity, judge, name, rank in _BY_SIZE.get(size, ()):
                score = judge(c, ctx)
                if score is not None:
                    hits.append((score, c.start, c.end, rank, entity, name))
            account = self.utility.judge(c, ctx)
            if account is not None:
                hits.append((account[0], c.start, c.end, 5, "UTILITY_ACCOUNT", account[1]))
            if size in _PHONE_SIZES:
                number = phone.judge(c, ctx)
                if number is not None:
                    hits.append((number[2], number[0], number[1], 6, phone.ENTITY, "DlpPhoneRecognizer"))
        return [Finding(entity, segment, start, end, score, text[start:end], name)
                for score, start, end, _, entity, name in _resolve(hits)]


def _resolve(hits: list[_Hit]) -> list[_Hit]:
    """Keep the strongest of overlapping hits: score, then length, then rank.

    Hits overlap only within one run of digits, so they are resolved cluster
    by cluster (linear in the number of hits, not quadratic).
    """
    kept: list[_Hit] = []
    cluster: list[_Hit] = []
    reach = -1
    for hit in sorted(hits, key=lambda h: (h[1], h[2])):
        if cluster and hit[1] >= reach:
            kept.extend(_strongest(cluster))
            cluster = []
        cluster.append(hit)
        reach = max(reach, hit[2]) if len(cluster) > 1 else hit[2]
    kept.extend(_strongest(cluster))
    return kept


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
