from __future__ import annotations

import pytest

from gateway import replies


@pytest.mark.parametrize("reply", replies.ALL, ids=lambda r: f"{r.code}-{r.enhanced}")
def test_code_class_matches_enhanced_class(reply: replies.Reply) -> None:
    assert str(reply.code)[0] == reply.enhanced[0]
    assert 200 <= reply.code < 600


def test_all_replies_are_collected() -> None:
    assert replies.R451_RELAY_DOWN in replies.ALL and len(replies.ALL) >= 10


def test_format_fills_values() -> None:
    assert replies.R552_TOO_BIG.format(limit=10) == "552 5.3.4 Message size exceeds fixed limit of 10 bytes"
