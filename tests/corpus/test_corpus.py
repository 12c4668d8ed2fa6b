"""The corpus generator: labels re-derived from the bytes, determinism, output files."""

from __future__ import annotations

import json
from pathlib import Path

from tests.corpus import generate as g
from tests.corpus import reference as ref


def test_labels_match_the_rules_exactly() -> None:
    samples = g.generate(seed=11, count=160)
    assert g.validate(samples) == []


def test_same_seed_same_bytes_other_seed_other_bytes() -> None:
    a, b, c = g.generate(seed=3, count=40), g.generate(seed=3, count=40), g.generate(seed=4, count=40)
    assert [(s.name, s.message, s.labels) for s in a] == [(s.name, s.message, s.labels) for s in b]
    assert [s.message for s in a] != [s.message for s in c]


def test_every_form_entity_and_half_clean() -> None:
    samples = g.generate(seed=5, count=200)
    assert {s.form for s in samples} == set(g.FORMS)
    assert {x.entity for s in samples for x in s.labels} == set(ref.ENTITIES)
    assert sum(s.clean for s in samples) == 100


def test_validate_catches_a_wrong_label() -> None:
    sample = next(s for s in g.generate(seed=6, count=20) if any(x.entity == "US_SSN" for x in s.labels))
    ssn = next(x for x in sample.labels if x.entity == "US_SSN")
    dropped = g.Sample(sample.name, sample.message, tuple(x for x in sample.labels if x != ssn), sample.form,
                       sample.kind)
    renamed = g.Sample(sample.name, sample.message, tuple(g.Label("US_EIN", x.segment, x.value) if x == ssn else x
                                                          for x in sample.labels), sample.form, sample.kind)
    assert g.validate([dropped]) and g.validate([renamed])


def test_write(tmp_path: Path) -> None:
    g.write(tmp_path, seed=8, count=12)
    lines = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(lines) == 12 and all((tmp_path / x["file"]).is_file() for x in lines)
    assert set(lines[0]) == {"file", "form", "kind", "labels"}
    accounts = (tmp_path / "edm_accounts.csv").read_text().splitlines()
    assert accounts[0] == "account" and accounts[1:] == g.edm_accounts() and len(accounts) == 201


def test_edm_accounts_are_ten_digits_and_no_phone_numbers() -> None:
    accounts = g.edm_accounts()
    assert len(set(accounts)) == 200
    assert all(len(a) == 10 and a.isdigit() and not ref.digits_are_phone(a) for a in accounts)
