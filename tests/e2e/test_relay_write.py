"""gateway.relay writes DATA itself: dots stuffed, line ends kept, large
messages in slices of whole lines; a real aiosmtpd sink receives them."""

from __future__ import annotations

import asyncio

import pytest

from gateway import relay
from gateway.config import HostPort, RelaySettings
from gateway.relay import RelayPool, Transaction
from tests.e2e.harness import Sink, shared_sink

sink = shared_sink()


def deliver(sink: Sink, messages: list[bytes], head: bytes = b"") -> list[str]:
    async def main() -> list[str]:
        pool = RelayPool(RelaySettings(address=HostPort(host="127.0.0.1", port=sink.port), starttls="off"))
        replies = []
        for message in messages:   # one pooled connection, message after message
            transaction = Transaction(pool)
            transaction.mail("a@citrus.example", [])
            await transaction.rcpt("b@citrus.example")
            replies.append(await transaction.data(message, head))
        await pool.close()
        return replies
    return asyncio.run(main())


MESSAGES = [
    b"Subject: dots\r\n\r\n.leading\r\n..two\r\n.\r\n. \r\nend\r\n",
    b".first line is a dot\r\n",
    b"Subject: no final line end\r\n\r\nlast",
    b"",
]


@pytest.mark.parametrize("slice_size", [1 << 20, 16])
def test_delivered_as_given(sink: Sink, slice_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay, "_SLICE", slice_size)   # 16: every message goes in many slices
    before = len(sink.messages)
    big = b"".join(b".%d dotted line\r\n" % i if i % 3 == 0 else b"line %d\r\n" % i for i in range(500))
    replies = deliver(sink, [*MESSAGES, big])
    assert all(r.startswith("250") for r in replies), replies
    got = [m.content for m in sink.wait_for(before + len(MESSAGES) + 1)[before:]]
    assert got[:2] == MESSAGES[:2]
    assert got[2] == MESSAGES[2] + b"\r\n"   # the end marker needs a line end of its own
    assert got[3] == b""
    assert got[4] == big


def test_bare_line_ends_are_written_as_crlf(sink: Sink) -> None:
    before = len(sink.messages)
    deliver(sink, [b"Subject: x\n\nbare lf\rbare cr\r\n"])
    [got] = sink.wait_for(before + 1)[before:]
    assert got.content == b"Subject: x\r\n\r\nbare lf\r\nbare cr\r\n"


@pytest.mark.parametrize("slice_size", [1 << 20, 16])
def test_our_headers_go_before_the_message(sink: Sink, slice_size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(relay, "_SLICE", slice_size)
    head = b"Received: from x\r\n\tby y; now\r\nX-DLP-Verdict: deliver; profile=default\r\n"
    before = len(sink.messages)
    replies = deliver(sink, MESSAGES, head)
    assert all(r.startswith("250") for r in replies), replies
    got = [m.content for m in sink.wait_for(before + len(MESSAGES))[before:]]
    assert got[0] == head + MESSAGES[0] and got[1] == head + MESSAGES[1]
    assert got[2] == head + MESSAGES[2] + b"\r\n"
    assert got[3] == head


def test_line_ends_are_mended_wherever_they_are(sink: Sink) -> None:
    # the first and the last byte too: one pass finds a bare end between two bytes
    messages = [b"\nSubject: lf first\r\n", b"Subject: cr last\r\n\r\nbody\r", b"a\rb\r\n\r\r\n.\n"]
    before = len(sink.messages)
    deliver(sink, messages)
    got = [m.content for m in sink.wait_for(before + len(messages))[before:]]
    assert got == [b"\r\nSubject: lf first\r\n", b"Subject: cr last\r\n\r\nbody\r\n", b"a\r\nb\r\n\r\n\r\n.\r\n"]


def test_wire_form_agrees_with_a_rewrite_of_every_line_end() -> None:
    import itertools
    import re

    def reference(lines: bytes) -> bytes:   # aiosmtplib's way: every line end rewritten, then dots
        stuffed = re.sub(rb"\r\n|\r|\n", b"\r\n", lines).replace(b"\r\n.", b"\r\n..")
        return b"." + stuffed if stuffed[:1] == b"." else stuffed
    for size in range(7):
        for chars in itertools.product((b"a", b".", b"\r", b"\n"), repeat=size):
            lines = b"".join(chars)
            assert relay._wire(lines) == reference(lines), lines
