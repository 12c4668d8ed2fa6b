"""The fast path for MAIL/RCPT addresses answers exactly as aiosmtpd's parser."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP

from gateway.smtp import simple_path

CASES = [
    "<a@b.example>", " <a.b+c@x-y.example> SIZE=100 BODY=8BITMIME", "<>", "a@b", '<"quoted"@x>',
    "<a..b@x>", "<a@b>   x", "<@route:a@b>", "<a@[1.2.3.4]>", "<jos\u00e9@x>", "<a@b", "<a@-b>",
    "<a@b.>", "<a@b..c>", "<.a@b>", "<a@b> ", "<A_Z~{x}@MAIL.EXAMPLE.ORG> SMTPUTF8", "<a b@c>",
    "<a@b>(comment)", "<a@b.c-d.e>",
]


@pytest.fixture(scope="module")
def parser() -> Iterator[SMTP]:
    loop = asyncio.new_event_loop()
    yield SMTP(object(), loop=loop)
    loop.close()


@pytest.mark.parametrize("arg", CASES)
def test_fast_path_agrees_with_aiosmtpd(parser: SMTP, arg: str) -> None:
    fast = simple_path(arg)
    if fast is not None:
        assert fast == SMTP._getaddr(parser, arg)


def test_fast_path_takes_the_common_shape() -> None:
    assert simple_path("<clerk@citrus.example> BODY=8BITMIME") == ("clerk@citrus.example", "BODY=8BITMIME")
    assert simple_path("<a@b>(comment)") is None
