"""The detector on the labeled corpus: every label found, nothing else, in every
form a message takes (plain, HTML, .csv/.txt, .docx, .xlsx, .pdf, .zip, attached .eml)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from functools import lru_cache

import pytest

from detectors.edm import EdmSet
from detectors.scan import Scanner
from tests.corpus import generate as corpus

SENSITIVE = {"US_SSN", "US_ITIN", "US_EIN", "CREDIT_CARD", "US_BANK_ROUTING", "UTILITY_ACCOUNT"}


@lru_cache(maxsize=1)
def results() -> dict[str, list[tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], str]]]:
    salt = b"test-salt"
    edm = EdmSet(salt, frozenset(hashlib.sha256(salt + a.encode()).digest() for a in corpus.edm_accounts()))
    scanner = Scanner(edm=edm)
    by_form: dict[str, list[tuple[set[tuple[str, str, str]], set[tuple[str, str, str]], str]]] = defaultdict(list)
    for sample in corpus.generate(count=300):
        want = {(l.entity, l.segment, l.value) for l in sample.labels}
        got = {(f.entity, f.segment, f.value) for f in scanner.scan(sample.message).findings}
        by_form[sample.form].append((want, got, sample.name))
    return by_form


FORMS = ["plain", "html", "attachment:csv", "attachment:docx", "attachment:xlsx", "attachment:pdf",
         "attachment:zip", "attachment:eml"]


@pytest.mark.parametrize("form", FORMS)
def test_every_label_and_nothing_else(form: str) -> None:
    samples = results()[form]
    assert samples, f"the corpus has no {form} messages"
    sensitive_found = 0
    for want, got, name in samples:
        missed, extra = want - got, got - want
        assert not missed and not extra, (name, sorted(k[:2] for k in missed), sorted(k[:2] for k in extra))
        sensitive_found += sum(k[0] in SENSITIVE for k in got)
    assert sensitive_found > 0, f"no sensitive number found in any {form} message"
