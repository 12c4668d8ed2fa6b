"""The runs of digits of detectors.candidates: their ends from one hyperscan pass, their starts
read back (candidates._run_start), against hyperscan's own leftmost start of match for the
same pattern, the way they were found before (asking for the start made the pass take twice as long)."""

from __future__ import annotations

import itertools
import random

import pytest

from detectors import candidates
from detectors.prefilter import one_byte

hyperscan = pytest.importorskip("hyperscan")

_SOM = hyperscan.Database()
_SOM.compile(expressions=[candidates.RUN_PATTERN], ids=[0], flags=[hyperscan.HS_FLAG_SOM_LEFTMOST])
_SCRATCH = hyperscan.Scratch(_SOM)


def _by_leftmost_start(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    _SOM.scan(one_byte(text), scratch=_SCRATCH,
              match_event_handler=lambda _id, start, to, _flags, _ctx: spans.append((start, to - 1)))
    return list(dict(sorted(spans)).items())


def _texts() -> list[str]:
    # every string of up to 7 of these (runs need six digits: "1" weighs more), then random longer ones
    pieces = ("1", "2", "-", ".", " ", "\r", "\n", "a", "é", "€")
    short = ["".join(p) for size in range(6, 8) for p in itertools.product(("1", "-", " ", "\n"), repeat=size)]
    rng = random.Random(11)
    weights = (6, 3, 2, 2, 2, 1, 1, 2, 1, 1)
    long = ["".join(rng.choices(pieces, weights, k=rng.randint(8, 80))) for _ in range(20_000)]
    shaped = ["SSN 219-45-6789, card 4111 1111 1111 1111; 12-\n345-6789; 1-\r\n23456; ...99.8.7 654321",
              "4111-1111-1111-1111\n" * 3, "1" * 40, "1 2 3 4 5 6 7", "123456-", "x123456", "-123456\n"]
    return short + long + shaped


def test_runs_start_where_the_leftmost_match_starts() -> None:
    for text in _texts():   # the runs in the same order too: scan_numbers makes candidates in it
        assert list(candidates._scan(text)[0].items()) == _by_leftmost_start(text), repr(text)
