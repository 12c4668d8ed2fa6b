"""gateway.smtpdata against aiosmtpd itself: the same body, the same refusals.

Every case is sent, over a real socket, to a stock aiosmtpd server (the
line-at-a-time reader the gateway replaced), and fed to DataReader in many
different chunkings; the content and the reply must agree.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

from gateway.smtpdata import TOO_LONG, TOO_MUCH, DataReader

LINE_LIMIT = 40
SIZE_LIMIT = 300


class _Keep:
    def __init__(self) -> None:
        self.content: bytes | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.content = envelope.original_content
        return "250 OK"


class _Small(SMTP):
    line_length_limit = LINE_LIMIT


class _Controller(Controller):
    def factory(self) -> SMTP:
        return _Small(self.handler, data_size_limit=SIZE_LIMIT, decode_data=False)


@pytest.fixture(scope="module")
def stock() -> Iterator[tuple[_Keep, int]]:
    handler = _Keep()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = _Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def _reply(sock: socket.socket, buf: bytearray) -> bytes:
    while True:
        end = buf.find(b"\r\n")
        if end >= 0:
            line = bytes(buf[:end])
            del buf[:end + 2]
            if line[3:4] != b"-":
                return line
            continue
        chunk = sock.recv(65536)
        assert chunk, "aiosmtpd closed the connection"
        buf += chunk


def aiosmtpd_says(stock: tuple[_Keep, int], stream: bytes) -> tuple[str, bytes | None]:
    """What stock aiosmtpd answers to ``stream`` after DATA: (reply code, content)."""
    handler, port = stock
    handler.content = None
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buf = bytearray()
        _reply(sock, buf)
        for command in (b"EHLO t", b"MAIL FROM:<a@b.example>", b"RCPT TO:<c@d.example>", b"DATA"):
            sock.sendall(command + b"\r\n")
            _reply(sock, buf)
        sock.sendall(stream)
        code = _reply(sock, buf)[:3].decode()
        sock.sendall(b"NOOP\r\n")
        assert _reply(sock, buf)[:3] == b"250"   # aiosmtpd reads commands again after the body
    return code, handler.content


def reader_says(stream: bytes, cuts: list[int]) -> tuple[str, bytes | None, bytes]:
    reader = DataReader(SIZE_LIMIT, LINE_LIMIT)
    rest = None
    pieces = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)])]
    for piece in pieces:
        if reader.done:
            rest += piece
            continue
        rest = reader.feed(piece)
    assert reader.done and rest is not None
    code = {TOO_LONG: "500", TOO_MUCH: "552"}.get(reader.state, "250")
    return code, reader.content() if code == "250" else None, rest


def chunkings(stream: bytes, rng: random.Random) -> Iterator[list[int]]:
    yield []
    yield list(range(1, len(stream)))   # a byte at a time
    for _ in range(6):
        yield sorted(rng.sample(range(1, len(stream)), min(len(stream) - 1, rng.randint(1, 8))))


CASES = [
    b"Subject: x\r\n\r\nhello\r\n",
    b"",
    b"\r\n",
    b"..\r\n",
    b".a\r\n..b\r\nc.\r\n...\r\n",
    b"a\rb\r\nc\nd\r\n\r\r\n",
    b"end with cr\r\r\n",
    b"x\r\n.\r",   # a dot line that does not end the body (no LF after its CR)... then CRLF
    b"y" * (LINE_LIMIT - 3) + b"\r\n",
    b"y" * (LINE_LIMIT - 2) + b"\r\n",
    b"y" * (LINE_LIMIT - 1) + b"\r\n",
    b"y" * LINE_LIMIT + b"\r\n",
    b"y" * (LINE_LIMIT + 1) + b"\r\n",
    b"y" * (LINE_LIMIT + 2) + b"\r\n",
    b"y" * (3 * LINE_LIMIT) + b"\r\nafter\r\n",
    b"." + b"y" * (LINE_LIMIT - 2) + b"\r\n",
    b"z" * 30 + b"\r\n" + b"w" * 30 + b"\r\n" + b"q" * 30 + b"\r\n",
]
# Near the size limit: lines of 30 + CRLF, so that the total falls on each side of it.
for total in range(SIZE_LIMIT - 40, SIZE_LIMIT + 40, 7):
    CASES.append(b"".join(b"s" * 30 + b"\r\n" for _ in range(total // 32)) + b"t" * (total % 32) + b"\r\n")
# Size and line length both broken: which comes first decides the reply.
CASES.append(b"s" * 30 + b"\r\n" + b"L" * (LINE_LIMIT + 5) + b"\r\n" + b"s" * 30 + b"\r\n" * 200)
CASES.append(b"s" * 30 + b"\r\n" * 150 + b"L" * (LINE_LIMIT + 5) + b"\r\n")
CASES.append(b"s\r\n" * 88 + b"L" * (LINE_LIMIT - 1) + b"\r\n")   # the line that crosses the size is long too
CASES.append(b"s\r\n" * 88 + b"L" * (LINE_LIMIT + 3) + b"\r\n")


def _random_bodies(rng: random.Random, count: int) -> Iterator[bytes]:
    alphabet = [b"a", b".", b"\r", b"\n", b"\r\n", b"\r\n.", b"b" * 17]
    while count:
        body = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        if b"\r\n.\r\n" in b"\r\n" + body + b"\r\n":
            continue   # the body would end early: aiosmtpd would read the rest as commands
        count -= 1
        yield body


@pytest.mark.parametrize("body", CASES + list(_random_bodies(random.Random(13), 150)))
def test_same_as_aiosmtpd(stock: tuple[_Keep, int], body: bytes) -> None:
    stream = body + (b"" if body.endswith(b"\r\n") or not body else b"\r\n") + b".\r\n"
    expected = aiosmtpd_says(stock, stream)
    rng = random.Random(len(stream))
    for cuts in chunkings(stream + b"NOOP\r\n", rng):
        code, content, rest = reader_says(stream + b"NOOP\r\n", cuts)
        assert (code, content) == expected, cuts
        assert rest == b"NOOP\r\n", cuts


def test_empty_body_at_once() -> None:
    assert reader_says(b".\r\nQUIT\r\n", []) == ("250", b"", b"QUIT\r\n")


def test_refused_bodies_keep_nothing() -> None:
    reader = DataReader(100, 1000)
    reader.feed(b"x" * 98 + b"\r\n")
    reader.feed(b"y" * 50 + b"\r\n")
    assert reader.state == TOO_MUCH and reader._chunks == []
    assert reader.feed(b"z\r\n" * 1000 + b".\r\n") == b""
